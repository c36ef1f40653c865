"""``mmm design-test RUN``: rank candidate lift tests by what they would settle (mmm.runs.experiment_choice)."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "design-test", help="rank candidate lift tests by how much they would narrow the decision's uncertainty",
        description="For each channel x duration x design (the channel's spend off nationally, or in one geo of a "
                    "panel), simulate the test's result from the run's posterior, update on it, and report the "
                    "expected lift, the power, the expected ROAS interval after the test and the value of the "
                    "information for the budget plan. Writes design_test.csv, design_test.json and "
                    "design_test.html beside the run.")
    p.add_argument("run_dir", type=Path, metavar="RUN")
    p.add_argument("--channels", nargs="+", help="channels to test (default: all)")
    p.add_argument("--weeks", nargs="+", type=int, default=[4, 6, 8], help="test durations in periods (default 4 6 8)")
    p.add_argument("--geos", nargs="+", help="panels: geos to switch off in a geo split (default: the three that "
                                             "spend most on the channel)")
    p.add_argument("--noise-factor", type=float, default=1.0,
                   help="the readout's noise as a multiple of the model's own (default 1; a weaker counterfactual "
                        "is noisier)")
    p.add_argument("--simulations", type=int, default=400, help="simulated results per test (default 400)")
    p.add_argument("--max-draws", type=int, default=1000, help="posterior draws used (default 1000)")
    p.add_argument("--rank-by", choices=("width", "error", "value"), default="width",
                   help="width: expected narrowing of the channel's profit ROI interval (default); error: expected "
                        "cut in the ROAS point figure's error; value: value of the information for the plan less "
                        "the test's cost")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, help="folder to write (default: RUN-design-test beside the run)")
    p.add_argument("--force", action="store_true", help="replace an existing folder")
    p.set_defaults(handler=run)


def run(args) -> int:
    from mmm.report.experiment_design import default_out, write_design
    from mmm.runs.experiment_choice import design_tests
    from mmm.runs.folder import RunExistsError

    out = args.out or default_out(args.run_dir)
    if out.exists() and not args.force:
        raise RunExistsError(f"{out} already exists; choose another --out, or pass --force to replace it")
    if not (args.run_dir / "manifest.json").is_file():
        raise FileNotFoundError(f"{args.run_dir} is not a run folder (no manifest.json); pass a folder written by "
                                "`mmm fit` or `mmm refresh`")
    result = design_tests(args.run_dir, channels=args.channels, weeks=args.weeks, geos=args.geos,
                          noise_factor=args.noise_factor, simulations=args.simulations, max_draws=args.max_draws,
                          rank_by=args.rank_by, seed=args.seed)
    write_design(out, result, force=args.force)
    for row in result.table.head(5).to_dict("records"):
        print(f"{row['rank']:>2}. {row['channel']} off, {row['weeks']} periods, {row['design']}: power {row['power']:.0%}, "
              f"ROAS interval {row['roas_now_lo']:.2f}-{row['roas_now_hi']:.2f} -> {row['roas_after_lo']:.2f}-"
              f"{row['roas_after_hi']:.2f} ({row['width_reduction']:.0%} narrower), value of information "
              f"{row['evsi']:,.0f} {result.currency}")
    for note in result.notes:
        print(f"note: {note}")
    print(f"design: {out / 'design_test.html'}")
    return 0
