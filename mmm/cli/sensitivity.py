"""``mmm sensitivity RUN_DIR``: refit with media priors narrower and wider; how far does each ROAS move?"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("sensitivity", help="refit a run with its media priors scaled narrower/wider and "
                                                  "report how much each channel's ROAS moves")
    p.add_argument("run_dir", type=Path)
    p.add_argument("--factors", type=float, nargs="+", default=[0.5, 2.0],
                   help="prior spread multipliers (default: 0.5 2)")
    p.add_argument("--draws", type=int, help="draws per refit (default: the run's)")
    p.add_argument("--tune", type=int)
    p.add_argument("--chains", type=int)
    p.add_argument("--out", type=Path, help="folder for sensitivity.csv/.json or psense.csv "
                                            "(default: <RUN_DIR>-sensitivity beside the run)")
    p.add_argument("--force", action="store_true", help="replace existing sensitivity files")
    p.add_argument("--psense", action="store_true",
                   help="power-scaling sensitivity only (arviz_stats psense): no refits, seconds instead of minutes")
    p.set_defaults(handler=run)


def run(args) -> int:
    from mmm.atomic import write_text_atomically
    from mmm.spec.config import ConfigError
    from mmm.runs.folder import load_run
    from mmm.analysis.sensitivity import SENSITIVE_SHIFT, prior_sensitivity

    if any(not f > 0 or f == 1.0 for f in args.factors):
        raise ConfigError(f"--factors must be positive and not 1 (1 is the run itself); got {args.factors}")
    run_ = load_run(args.run_dir)
    out = args.out or sensitivity_dir(args.run_dir)  # beside the run: a run folder is never edited
    paths = ({"psense": out / "psense.csv"} if args.psense else
             {"csv": out / "sensitivity.csv", "json": out / "sensitivity.json"})
    existing = [p.name for p in paths.values() if p.exists()]
    if existing and not args.force:
        raise FileExistsError(f"{out}: {', '.join(existing)} already exist(s); pass --force to replace them")
    data, scaling, posterior, baseline = run_inputs(run_)
    if args.psense:
        from mmm.analysis.sensitivity import PSENSE_THRESHOLD, power_scaling

        table = power_scaling(run_.config, data, scaling, posterior, baseline)
        print(f"power-scaling sensitivity of {'national ' if data.n_geos > 1 else ''}ROAS "
              f"(≥ {PSENSE_THRESHOLD} means the posterior reacts):")
        for row in table.itertuples():
            print(f"  {row.channel:14s} prior {row.prior_sensitivity:.3f}  likelihood "
                  f"{row.likelihood_sensitivity:.3f}  {row.diagnosis}")
        out.mkdir(parents=True, exist_ok=True)
        write_text_atomically(paths["psense"], table.to_csv(index=False, lineterminator="\n"))
        print(f"wrote psense: {paths['psense']}")
        return 0
    overrides = {k: getattr(args, k) for k in ("draws", "tune", "chains")}
    print(f"refitting {run_.config.name} with media priors x{', x'.join(f'{f:g}' for f in args.factors)} ...",
          flush=True)
    result = prior_sensitivity(run_.config, data, scaling, baseline, factors=tuple(args.factors),
                               fit_overrides=overrides, baseline_ok=bool(run_.summary["diagnostics"].get("ok")))
    print(f"{'channel':14s} " + " ".join(f"{'x' + format(f, 'g'):>20s}" for f in sorted(set(result.table['factor'])))
          + "   max shift")
    for channel, group in result.table.groupby("channel", sort=False):
        cells = " ".join(f"{r.roas_mean:6.2f} [{r.roas_lo:5.2f},{r.roas_hi:5.2f}]" for r in
                         group.sort_values("factor").itertuples())
        move = result.movement.set_index("channel").loc[channel]
        print(f"{channel:14s} {cells}   {move.max_shift:6.1%}{'  PRIOR-SENSITIVE' if move.sensitive else ''}")
    print(f"(ROAS mean [{run_.summary.get('interval', 0.9):.0%} interval]; a channel is prior-sensitive when its "
          f"mean moves more than {SENSITIVE_SHIFT:.0%})")
    out.mkdir(parents=True, exist_ok=True)
    write_text_atomically(paths["csv"], result.table.to_csv(index=False, lineterminator="\n"))
    write_text_atomically(paths["json"], json.dumps(result.to_dict(), indent=2) + "\n")
    for name, path in paths.items():
        print(f"wrote {name}: {path}")
    return 0 if bool(result.table["diagnostics_ok"].all()) else 1


def run_inputs(run_) -> tuple:
    """A run's data, scaling, posterior and headline figures (national; for a panel, sums over geos)."""
    from mmm.analysis.geo_effects import compute_geo_effects
    from mmm.analysis.pipeline import load

    data = load(run_.config)
    posterior = run_.posterior()["posterior"].to_dataset()
    scaling = run_.scaling
    return data, scaling, posterior, compute_geo_effects(posterior, run_.config, data, scaling).national


def sensitivity_dir(run_dir: Path) -> Path:
    """Where ``mmm sensitivity`` writes by default: a sibling of the run folder, which stays as written."""
    return run_dir.parent / f"{run_dir.name}-sensitivity"
