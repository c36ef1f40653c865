"""``mmm optimize RUN_DIR --budget B``: next periods' budget split under uncertainty, written to a plan folder."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

EXIT_OK, EXIT_DIAGNOSTICS = 0, 1


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "optimize", help="split a budget over the next periods to maximize expected value, profit, profit at "
                         "present value or CVaR",
        description="Plan the next periods' spend from a run folder: carry-in from recent spend, per-channel bounds, "
                    "objectives over posterior draws. Writes plan.csv, plan_periods.csv, plan.json, plan.html.")
    p.add_argument("run_dir", type=Path)
    goal = p.add_mutually_exclusive_group(required=True)
    goal.add_argument("--budget", type=float, help="total spend over the plan periods (currency)")
    goal.add_argument("--target-roi", type=float, metavar="X",
                      help="largest budget whose optimized plan keeps expected profit ROI >= X")
    goal.add_argument("--target-mroas", type=float, metavar="X",
                      help="largest budget whose optimized plan's next unit of budget still returns >= X")
    goal.add_argument("--target-value", type=float, metavar="V",
                      help="smallest budget whose optimized plan returns expected incremental value >= V")
    plan_flags(p)
    p.add_argument("--objective", default="mean",
                   help="mean (expected incremental value), profit (expected profit), npv (expected profit "
                        "with lasting returns at present value; needs finance.discount_rate) or cvar:ALPHA "
                        "(mean profit of the worst ALPHA of draws), default mean")
    p.add_argument("--out", type=Path, help="plan folder to write (default: RUN_DIR-plan-<timestamp> beside the run)")
    p.add_argument("--force", action="store_true", help="replace an existing plan folder")
    p.set_defaults(handler=run)


def plan_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--periods", type=int, help="plan horizon in periods (default: a quarter: 13 weeks or 91 days)")
    p.add_argument("--bounds", type=Path, help="CSV or YAML of per-channel limits: min, max, min_change, "
                                               "max_change (vs the current run-rate), locked; with --by-geo an "
                                               "optional geo column bounds one geo's spend on the channel")
    p.add_argument("--flighting", default="constant",
                   help="spend pattern within the plan: constant (default), last-year, or a date YYYY-MM-DD "
                        "where a reference stretch of data starts")
    p.add_argument("--lookback", type=int, help="periods of recent spend that define the current run-rate "
                                                "(default: the plan periods)")
    p.add_argument("--max-draws", type=int, default=2000, help="posterior draws used (thinned evenly beyond it)")
    p.add_argument("--by-geo", action="store_true",
                   help="geo runs: optimize the spend of every (geo, channel) cell, moving money between markets "
                        "(default: the national budget per channel, split over geos by their recent shares); "
                        "each cell stays between 0.5x and 2x its current-mix spend unless the bounds file (optional "
                        "geo column) says otherwise")


def build_model(args):
    """(the plan model, the bounds, the model the optimizer searches: the geo cells with --by-geo)."""
    from mmm.spec.config import ConfigError
    from mmm.api import plan_model
    from mmm.planning.plans import load_bounds

    model = plan_model(args.run_dir, periods=args.periods, flighting=args.flighting, lookback=args.lookback,
                       max_draws=args.max_draws)
    geos = getattr(model, "geos", None)
    if args.by_geo and geos is None:
        raise ConfigError(f"--by-geo plans per (geo, channel), but {args.run_dir} is a run of national data (one geo; "
                          "its config has no data.geo); drop --by-geo, or fit the geo panel")
    bounds = load_bounds(args.bounds, model.channels, geos) if args.bounds else None
    return model, bounds, (model.cells if args.by_geo else model)


def run(args) -> int:
    from mmm.planning.optimize import optimize, optimize_to_target
    from mmm.api import write_plan
    from mmm.planning.plans import default_out_dir, is_by_geo
    from mmm.runs.folder import RunExistsError

    if args.budget is not None and not args.budget > 0:  # NaN too
        from mmm.spec.config import ConfigError

        raise ConfigError(f"--budget must be a positive amount (currency over the plan periods); got {args.budget:g}. "
                          "To see what cutting all media would cost, give a zero plan to `mmm scenario`.")
    out = args.out or default_out_dir(args.run_dir, "plan")
    if out.exists() and not args.force:
        raise RunExistsError(f"{out} already exists; choose another --out, or pass --force to replace it")
    model, bounds, decisions = build_model(args)
    source = str(args.bounds) if args.bounds else "bounds"
    targets = {"profit_roi": args.target_roi, "mroas": args.target_mroas, "value": args.target_value}
    target = next(((k, v) for k, v in targets.items() if v is not None), None)
    if target:
        result = optimize_to_target(decisions, target[0], target[1], bounds=bounds, objective=args.objective,
                                    bounds_source=source)
    else:
        result = optimize(decisions, args.budget, bounds=bounds, objective=args.objective, bounds_source=source)
    path = write_plan(out, model, result, force=args.force)
    print_plan(model, model.national_view(result))
    print(f"plan written: {path} (plan.csv, plan.json, plan.html{', plan_by_geo.csv' if is_by_geo(model) else ''})")
    if not model.diagnostics_ok:
        print("WARNING: the run failed its diagnostics; this plan rests on figures that are not trustworthy yet",
              file=sys.stderr)
        return EXIT_DIAGNOSTICS
    return EXIT_OK


def print_plan(model, result) -> None:
    plan, current = result.plan, result.current
    cur = model.currency
    if result.target:
        t = result.target
        print(f"target {t['metric']} {t['level']:,.3f}: budget {result.budget:,.0f} {cur} reaches {t['reached']:,.3f}")
    print(f"plan for {model.dates[0].date()}..{model.dates[-1].date()} ({model.periods} {model.period_word}s), "
          f"budget {result.budget:,.0f} {cur}, objective {result.objective.label}, {model.n_draws} draws")
    print(f"{'channel':<16}{'current mix':>14}{'plan':>14}{'value (mean)':>16}")
    for k, channel in enumerate(model.channels):
        print(f"{channel:<16}{current.spend[k]:>14,.0f}{plan.spend[k]:>14,.0f}{plan.value[:, k].mean():>16,.0f}")
    t = plan.totals()
    lo, hi = t["profit"]["lo"], t["profit"]["hi"]
    print(f"{'total':<16}{current.spend.sum():>14,.0f}{plan.budget:>14,.0f}{plan.total_value.mean():>16,.0f}")
    print(f"expected profit {t['profit']['mean']:,.0f} {cur} ({model.interval:.0%} interval {lo:,.0f} to {hi:,.0f}); "
          f"P(beats current mix) {result.p_beats_current:.0%}")
