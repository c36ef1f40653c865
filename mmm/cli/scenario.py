"""``mmm scenario RUN_DIR plans.csv``: compare user-written plans (and the optimized one) with P(A beats B)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mmm.cli.optimize import EXIT_DIAGNOSTICS, EXIT_OK, build_model, plan_flags


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "scenario", help="compare plans (plan,channel,spend CSV) with the optimized plan: outcomes, risk, P(A beats B)",
        description="Evaluate each plan of PLANS_CSV (long: plan,channel,spend; or wide: plan plus one column per "
                    "channel; spend over the plan periods) on the same posterior draws, beside the optimized plan. "
                    "For a geo run, a geo column gives a plan per (geo, channel); plans without it are national, "
                    "split over geos by their shares. Writes scenarios.csv, scenario_pairs.csv, "
                    "scenario_channels.csv, scenarios.json, scenarios.html (geo runs: also scenario_by_geo.csv).")
    p.add_argument("run_dir", type=Path)
    p.add_argument("plans", type=Path)
    plan_flags(p)
    p.add_argument("--budget", type=float, help="budget of the optimized plan (default: the first plan's spend)")
    p.add_argument("--objective", default="mean", help="objective of the optimized plan (mean, profit, npv, cvar:ALPHA)")
    p.add_argument("--no-optimized", action="store_true", help="compare the given plans only")
    p.add_argument("--out", type=Path, help="folder to write (default: RUN_DIR-scenarios-<timestamp>)")
    p.add_argument("--force", action="store_true", help="replace an existing folder")
    p.set_defaults(handler=run)


def run(args) -> int:
    from mmm.planning.optimize import compare_plans, optimize
    from mmm.api import write_scenarios
    from mmm.planning.plans import default_out_dir, load_plans
    from mmm.runs.folder import RunExistsError

    out = args.out or default_out_dir(args.run_dir, "scenarios")
    if out.exists() and not args.force:
        raise RunExistsError(f"{out} already exists; choose another --out, or pass --force to replace it")
    model, bounds, decisions = build_model(args)
    plans = load_plans(args.plans, model.channels, getattr(model, "geos", None))
    extra = []
    if not args.no_optimized:
        budget = args.budget if args.budget is not None else sum(next(iter(plans.values())).values())
        result = optimize(decisions, budget, bounds=bounds, objective=args.objective,
                          bounds_source=str(args.bounds or "bounds"))
        extra.append(model.national_view(result).plan)
        if "optimized" in plans:
            extra[0].name = "optimized (mmm)"
    comparison = compare_plans(model, plans, extra=extra)
    path = write_scenarios(out, model, comparison, force=args.force)
    table = comparison.table()
    print(f"{'plan':<22}{'spend':>14}{'profit (mean)':>16}{'P(profit>0)':>13}")
    for row in table.to_dict("records"):
        print(f"{row['plan']:<22}{row['spend']:>14,.0f}{row['profit_mean']:>16,.0f}{row['p_profitable']:>13.0%}")
    print(f"scenarios written: {path} (scenarios.csv, scenario_pairs.csv, scenarios.html)")
    if not model.diagnostics_ok:
        print("WARNING: the run failed its diagnostics; these outcomes are not trustworthy yet", file=sys.stderr)
        return EXIT_DIAGNOSTICS
    return EXIT_OK
