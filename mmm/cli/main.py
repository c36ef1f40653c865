"""Command line: ``mmm demo | validate | fit | synth | report``.

Exit codes (README, "The command line at a glance"): 0 success; 1 the model ran but diagnostics failed (the
run is still written, marked not OK); 2 bad input, with a message naming the
file, column, date and the fix.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

EXIT_OK, EXIT_DIAGNOSTICS, EXIT_BAD_INPUT = 0, 1, 2
DEMO_CONFIG = Path(__file__).resolve().parents[2] / "data" / "robyn_weekly" / "config.yaml"


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return EXIT_BAD_INPUT
    from mmm.spec.config import ConfigError
    from mmm.data.load import DataError
    from mmm.spec.priors import PriorError
    from mmm.report import ReportInputError
    from mmm.runs.folder import RunExistsError

    try:
        return args.handler(args)
    except (ConfigError, DataError, PriorError, ReportInputError, RunExistsError, OSError) as err:
        # OSError covers missing files, existing outputs and folders we may not write to
        print(f"error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mmm", description="Bayesian marketing mix modeling that marketing and "
                                     "finance can co-own.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = sub.add_parser("demo", help="fit the bundled example and write a run folder with its report")
    demo.add_argument("--out", type=Path, help="run folder to write (default: reports/<name>-<timestamp>)")
    demo.add_argument("--force", action="store_true", help="replace an existing run folder")
    _fit_flags(demo)
    demo.set_defaults(handler=_demo)

    validate = sub.add_parser("validate", help="check a config and its data; non-zero exit with clear errors")
    validate.add_argument("config", type=Path)
    validate.set_defaults(handler=_validate)

    fit = sub.add_parser("fit", help="fit a config and write a run folder")
    fit.add_argument("config", type=Path)
    fit.add_argument("--out", type=Path, help="run folder to write (default: reports/<name>-<timestamp>)")
    fit.add_argument("--force", action="store_true", help="replace an existing run folder")
    _fit_flags(fit)
    fit.set_defaults(handler=_fit)

    synth = sub.add_parser("synth", help="write synthetic data with known truth (data.csv, config.yaml, truth.json)")
    synth.add_argument("--seed", type=int, default=0)
    synth.add_argument("--out", type=Path, required=True, help="folder to write into")
    synth.add_argument("--periods", type=int, default=156, help="number of periods (default 156)")
    synth.add_argument("--channels", type=int, default=4, help="number of channels (default 4)")
    synth.add_argument("--freq", choices=("W", "D"), default="W")
    synth.add_argument("--adstock", choices=("geometric", "delayed", "weibull"), default="geometric")
    synth.add_argument("--saturation", choices=("hill", "logistic"), default="logistic")
    synth.add_argument("--noise", type=float, default=0.06, help="noise sd as a share of mean KPI")
    synth.add_argument("--geos", type=int, default=1,
                       help="number of geos: 1 (default) is national data; more writes a panel with a geo column "
                            "(truth per geo and national)")
    synth.add_argument("--baseline-drift", type=float, default=0.0,
                       help="sd of a slowly moving baseline (AR(1), share of the KPI level; shared by geos)")
    synth.add_argument("--common-shocks", type=float, default=0.0,
                       help="sd of independent per-period baseline shocks (share of the KPI level; shared by geos)")
    synth.add_argument("--force", action="store_true", help="overwrite existing files")
    synth.set_defaults(handler=_synth)

    report = sub.add_parser("report", help="(re)write report.html of a run folder")
    report.add_argument("run_dir", type=Path)
    report.add_argument("--pdf", action="store_true",
                        help="also print report.pdf with headless Chromium (needs chromium installed)")
    report.set_defaults(handler=_report)

    from mmm.cli.commands import register_all

    register_all(sub)  # refresh, compare, optimize, ... (one module each)
    return parser


def _fit_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--draws", type=int)
    p.add_argument("--tune", type=int)
    p.add_argument("--chains", type=int)
    p.add_argument("--seed", type=int)
    p.add_argument("--sampler", choices=("nutpie", "pymc", "numpyro", "blackjax"),
                   help="nutpie (default); numpyro/blackjax run through JAX (pip install 'mmm[jax]'; GPU if JAX has one)")
    p.add_argument("--no-progress", action="store_true", help="hide the sampling progress bar")


def _validate(args) -> int:
    from mmm.analysis.pipeline import load, load_config

    config = load_config(args.config)
    warn_ignored(config)
    data = load(config)
    print(f"ok: {args.config} — {data.n_periods} {'weeks' if data.freq == 'W' else 'days'} "
          f"({data.dates[0].date()} .. {data.dates[-1].date()}), channels: {', '.join(data.channels)}; "
          f"controls: {', '.join(config.controls) or 'none'}")
    if not data.is_national:  # a panel (mmm.data.panel): one hierarchical model over the geos
        print(f"geo panel: {len(data.geos)} geos ({', '.join(data.geos[:5])}{' ...' if len(data.geos) > 5 else ''})")
    for line in _driver_lines(config, data):
        print(line)
    for note in data.notes:
        print(f"note: {note}")
    from mmm.analysis.scale_check import scale_check

    for note in scale_check(config, data).notes:  # the data's scale against the media priors
        print(f"warning: {note}")
    return EXIT_OK


def _driver_lines(config, data) -> list[str]:
    """What the config adds beside paid media: reach and frequency, organic media, treatments, events (how many
    fall inside the data)."""
    from mmm.data.events import event_matrix

    lines = []
    rf = [c.name for c in config.channels if c.frequency]
    if rf:
        lines.append(f"reach and frequency: {', '.join(rf)}")
    if config.organic:
        lines.append(f"organic media: {', '.join(o.name for o in config.organic)}")
    if config.treatments:
        lines.append("treatments: " + ", ".join(f"{t.name} (from {t.reference})" for t in config.treatments))
    if config.events:
        active = event_matrix(data.dates, config.events).sum(axis=0) > 0
        lines.append(f"events: {len(config.events)}, {len(active)} effects (one per event and window offset), "
                     f"{int(active.sum())} of them with periods in the data")
    return lines


def _fit(args, config_path: Path | None = None) -> int:
    from mmm.api import fit, load_config

    from mmm.runs.folder import RunExistsError

    config = load_config(config_path or args.config).with_fit(
        draws=args.draws, tune=args.tune, chains=args.chains, seed=args.seed, sampler=args.sampler)
    if args.out is not None and args.out.exists() and not args.force:  # say so before an hour of sampling
        raise RunExistsError(f"{args.out} already exists; choose another --out, or pass --force to replace it")
    warn_ignored(config)
    f = config.fit
    print(f"fitting {config.name}: {len(config.channels)} channels, {f.sampler}, {f.chains} chains x "
          f"({f.tune} tune + {f.draws} draws), seed {f.seed}", flush=True)
    result = fit(config, progress=not args.no_progress and sys.stderr.isatty())
    for note in result.data.notes:
        print(f"note: {note}")
    run_dir = result.save(args.out, force=args.force)
    diag = result.diagnostics
    print(f"run written: {run_dir}")
    print(f"report: {run_dir / 'report.html'}")
    return diagnostics_exit(diag)


def warn_ignored(config) -> None:
    """Say on stderr which config keys the model reads but does not use yet (one line each)."""
    from mmm.spec.config import ignored_config_notes

    for note in ignored_config_notes(config):
        print(f"warning: {note}", file=sys.stderr)


def diagnostics_exit(diag) -> int:
    """Print the diagnostics verdict of a fit; 1 (not trustworthy yet) when it failed, else 0."""
    if not diag.ok:
        print("DIAGNOSTICS FAILED — figures are not trustworthy yet:", file=sys.stderr)
        for problem in diag.problems:
            print(f"  - {problem}", file=sys.stderr)
        return EXIT_DIAGNOSTICS
    print(f"diagnostics ok: max R-hat {diag.max_rhat:.3f}, min bulk ESS {diag.min_ess_bulk:.0f}, "
          f"{diag.divergences} divergences")
    return EXIT_OK


def _demo(args) -> int:
    if not DEMO_CONFIG.is_file():
        print(f"error: bundled demo config not found at {DEMO_CONFIG}; reinstall from the repository "
              f"(pip install -e .)", file=sys.stderr)
        return EXIT_BAD_INPUT
    return _fit(args, config_path=DEMO_CONFIG)


def _synth(args) -> int:
    from mmm.data.synth import SynthSpec, generate, write

    try:
        result = generate(SynthSpec(n_periods=args.periods, n_channels=args.channels, freq=args.freq,
                                    adstock=args.adstock, saturation=args.saturation, noise=args.noise,
                                    seed=args.seed, n_geos=args.geos, baseline_drift=args.baseline_drift,
                                    common_shocks=args.common_shocks))
    except ValueError as err:  # the spec's own checks name the bad option
        print(f"error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    paths = write(result, args.out, force=args.force)
    for name, path in paths.items():
        print(f"wrote {name}: {path}")
    return EXIT_OK


def _report(args) -> int:
    from mmm.report import write_report
    from mmm.report.register import ReconciliationError, reconcile
    from mmm.runs.folder import verify_run

    verify_run(args.run_dir)  # never re-render a run whose files were changed or never finished
    path = write_report(args.run_dir)
    print(f"report: {path}")
    rc = EXIT_OK
    if getattr(args, "pdf", False):
        from mmm.report.pdf import ChromiumMissing, write_pdf

        try:
            print(f"pdf: {write_pdf(args.run_dir)}")
        except ChromiumMissing as err:  # the HTML is written; only the PDF needs the browser
            print(f"error: {err}", file=sys.stderr)
            rc = EXIT_BAD_INPUT
    try:
        reconcile(args.run_dir)
    except ReconciliationError as err:  # the report shows it too; say it here and fail
        print(f"error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return rc


if __name__ == "__main__":
    sys.exit(main())
