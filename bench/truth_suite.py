"""Truth suite: fit the package to worlds that differ from its model (bench/truth/scenarios.py) and score
every channel's ROAS against the truth, beside the prior-only figure on the same case.

    python bench/truth_suite.py                       # every scenario, seeds 0 1 2, default config
    python bench/truth_suite.py --scenarios hill_s_curve --seeds 0 1 2 --candidates none
    python bench/truth_suite.py --out bench/results/2026-12-06-truth-suite  # writes .csv and .log

Per channel-case: truth, posterior mean and 90% interval, whether it covers, relative error of the mean,
interval width over the truth, the prior-only mean, interval and error, and the share of weeks whose
same-week media contribution share is off (mean absolute error of each week's channel share of the
KPI), and the oracle's estimate (least squares told the true curves, bench/truth/oracle.py: what the data
allow at best). Per scenario and pooled: 90% coverage, median relative ROAS error (posterior and prior-only)
and their ratio, the same ratio over the channel-cases the data can see (oracle standard error under 30%
of the truth), width against the prior's width, and the fit's convergence gate.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.truth.oracle import oracle_roas  # noqa: E402
from bench.truth.scenarios import SCENARIOS, make  # noqa: E402

DAILY = {"daily"}


def case_config(case, folder: Path, args) -> Path:
    """The case's minimal config, with the fit settings of this run (what a new user would write)."""
    data = folder / f"{case.name}-{case.seed}.csv"
    case.frame.to_csv(data, index=False)
    config = {**case.config, "data": {**case.config["data"], "path": data.name},
              "fit": {"draws": args.draws, "tune": args.tune, "chains": args.chains, "seed": case.seed}}
    config["model"] = {**config.get("model", {}), "candidates": args.candidates, **yaml.safe_load(args.model or "{}")}
    path = folder / f"{case.name}-{case.seed}.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def score_case(case, fitted, prior, interval: float) -> pd.DataFrame:
    eff = fitted.effects
    lo_q, hi_q = (1 - interval) / 2, (1 + interval) / 2
    truth_share = case.truth_contribution.to_numpy() / case.frame.groupby("date")["revenue"].sum().to_numpy()[:, None]
    fitted_share = eff.contributions.mean(axis=0) / eff.actual[:, None]
    rows = []
    for k, channel in enumerate(eff.channels):
        truth = case.truth_roas[channel]
        post = eff.roas[:, k]
        pri = prior.roas[:, k]
        lo, hi = np.quantile(post, [lo_q, hi_q])
        plo, phi = np.quantile(pri, [lo_q, hi_q])
        rows.append({
            "scenario": case.name, "seed": case.seed, "channel": channel, "truth": truth,
            "mean": post.mean(), "lo": lo, "hi": hi, "covered": bool(lo <= truth <= hi),
            "rel_error": abs(np.median(post) - truth) / abs(truth), "mean_rel_error": abs(post.mean() - truth) / abs(truth), "rel_width": (hi - lo) / abs(truth),
            "prior_mean": pri.mean(), "prior_median": np.median(pri), "prior_lo": plo, "prior_hi": phi,
            "prior_covered": bool(plo <= truth <= phi),
            "prior_rel_error": abs(np.median(pri) - truth) / abs(truth),
            "width_vs_prior": (hi - lo) / (phi - plo),
            "share_error": float(np.mean(np.abs(fitted_share[:, k] - truth_share[:, k]))),
            "gate_ok": bool(fitted.diagnostics.ok), "max_rhat": fitted.diagnostics.max_rhat,
            "divergences": fitted.diagnostics.divergences,
        })
    return pd.DataFrame(rows).merge(oracle_roas(case, interval), on="channel")


SEEN_SE = 0.3  # oracle standard error, share of the truth, below which a channel-case counts as seen by the data


def seen(table: pd.DataFrame) -> pd.Series:
    """Channel-cases whose data pin the ROAS down when the true curve is known (bench/truth/oracle.py)."""
    return table["oracle_rel_se"] < SEEN_SE


def summarize(table: pd.DataFrame) -> pd.DataFrame:
    def one(g: pd.DataFrame) -> pd.Series:
        return pd.Series({
            "cases": len(g), "coverage": g["covered"].mean(), "prior_coverage": g["prior_covered"].mean(),
            "median_error": g["rel_error"].median(), "prior_median_error": g["prior_rel_error"].median(),
            "error_ratio": g["rel_error"].median() / g["prior_rel_error"].median(),
            "mean_error": g["rel_error"].mean(), "prior_mean_error": g["prior_rel_error"].mean(),
            "width_vs_prior": g["width_vs_prior"].median(), "share_error": g["share_error"].mean(),
            "gate_ok": g.groupby("seed")["gate_ok"].first().mean(),
            "oracle_median_error": g["oracle_rel_error"].median(),
            # the channel-cases the data can see: the oracle's standard error under SEEN_SE of the truth
            "seen_cases": int(seen(g).sum()),
            "seen_error_ratio": g.loc[seen(g), "rel_error"].median() / g.loc[seen(g), "prior_rel_error"].median(),
        })

    per = pd.DataFrame({name: one(g) for name, g in table.groupby("scenario", sort=False)}).T
    per.loc["POOLED"] = one(table.assign(seed=table["scenario"] + table["seed"].astype(str)))
    return per


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenarios", nargs="*", default=list(SCENARIOS))
    parser.add_argument("--seeds", nargs="*", type=int, default=[0, 1, 2])
    parser.add_argument("--draws", type=int, default=500)
    parser.add_argument("--tune", type=int, default=500)
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--candidates", default="auto")
    parser.add_argument("--model", default=None, help="extra model keys, YAML, e.g. '{media_roas_sigma: 0.8}'")
    parser.add_argument("--out", type=Path, default=None, help="prefix of the .csv and .log written")
    parser.add_argument("--work", type=Path, default=Path("/tmp/mmm-truth-suite"))
    args = parser.parse_args(argv)

    from mmm import Config
    from mmm.analysis.pipeline import fit

    args.work.mkdir(parents=True, exist_ok=True)
    tables = []
    for name in args.scenarios:
        seeds = [0] if name.startswith("pymc_marketing") else args.seeds
        for seed in seeds:
            case = make(name, seed)
            config = Config.load(case_config(case, args.work, args))
            t0 = time.perf_counter()
            fitted = fit(config)
            prior = fitted.prior_effects()
            table = score_case(case, fitted, prior, config.interval)
            table["wall_s"] = time.perf_counter() - t0
            if fitted.structure is not None:
                table["weights"] = " ".join(f"{c.label}={w:.2f}" for c, w in
                                            zip(fitted.structure.candidates, fitted.structure.weights, strict=True))
            tables.append(table)
            if args.out:  # after every case: a crash (e.g. LLVM running out of section memory after ~150
                # compiled models in one process) keeps what was measured
                args.out.parent.mkdir(parents=True, exist_ok=True)
                pd.concat(tables, ignore_index=True).to_csv(args.out.with_suffix(".csv"), index=False)
            cols = ["channel", "truth", "mean", "lo", "hi", "covered", "rel_error", "prior_median", "prior_rel_error"]
            print(f"\n## {name} seed {seed} ({table['wall_s'].iloc[0]:.0f} s, gate "
                  f"{'ok' if fitted.diagnostics.ok else 'FAIL ' + '; '.join(fitted.diagnostics.problems)}, "
                  f"max R-hat {fitted.diagnostics.max_rhat:.3f})"
                  + (f"  weights: {table['weights'].iloc[0]}" if "weights" in table else ""))
            print(table[cols].to_string(index=False, float_format=lambda v: f"{v:.3g}"), flush=True)
    table = pd.concat(tables, ignore_index=True)
    summary = summarize(table)
    print("\n# per scenario (90% intervals; errors: |median - truth| / truth, posterior and prior-only)")
    print(summary.to_string(float_format=lambda v: f"{v:.3f}"))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(args.out.with_suffix(".csv"), index=False)
        summary.to_csv(args.out.with_name(args.out.name + "-summary.csv"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
