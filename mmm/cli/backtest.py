"""``mmm backtest PARENT_RUN --data NEW.csv``: did the parent run predict the new periods? (mmm.runs.backtest)."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "backtest", help="score a run's forecast of new periods against what happened",
        description="The parent run's posterior predicts the KPI of NEW.csv's periods after its last one, from "
                    "their actual spend and controls. Writes backtest.json, backtest_periods.csv and "
                    "backtest.html: 50%% and 90%% interval coverage, CRPS, the bias of the total (predicted − "
                    "actual, with its interval) and, when the parent has a plan beside it, the plan against what "
                    "happened. mmm refresh runs it too.")
    p.add_argument("parent", type=Path, metavar="PARENT_RUN", help="the run folder that makes the forecast")
    p.add_argument("--data", type=Path, required=True, help="the new data (CSV, the parent config's columns)")
    p.add_argument("--run", type=Path, metavar="NEW_RUN",
                   help="the run fitted on the new data: its view of what the parent's plan returned is reported "
                        "(default: the parent's own view)")
    p.add_argument("--out", type=Path, help="folder to write (default: NEW_RUN-backtest, else "
                                            "PARENT_RUN-backtest-<last new date>, beside it)")
    p.add_argument("--seed", type=int, default=0, help="seed of the noise draws (default 0)")
    p.add_argument("--force", action="store_true", help="replace an existing backtest folder")
    p.set_defaults(handler=run)


def run(args) -> int:
    from mmm.report.backtest import write_backtest
    from mmm.runs.backtest import backtest, default_dir
    from mmm.runs.folder import RunExistsError, load_run

    if args.out is not None and args.out.exists() and not args.force:
        raise RunExistsError(f"{args.out} already exists; choose another --out, or pass --force to replace it")
    for path in (args.parent, args.run):
        if path is not None and not (path / "manifest.json").is_file():
            raise FileNotFoundError(f"{path} is not a run folder (no manifest.json); pass a folder written by "
                                    "`mmm fit` or `mmm refresh`")
    result = backtest(args.parent, args.data, new_run=load_run(args.run) if args.run else None, seed=args.seed)
    out = args.out or (default_dir(args.run) if args.run else
                       args.parent.with_name(f"{args.parent.name}-backtest-{result.score['end']}"))
    if out.exists() and not args.force:
        raise RunExistsError(f"{out} already exists; pass --out or --force")
    write_backtest(out, result, force=args.force)
    s = result.score
    print(f"{args.parent.name} predicted {s['periods']} new period(s) {s['start']} .. {s['end']}: "
          f"{s['coverage']:.0%} inside the {s['interval']:.0%} interval, {s['coverage_50']:.0%} inside the 50% one; "
          f"CRPS {s['crps_relative']:.1%} of the mean KPI; total predicted {s['predicted_total']['mean']:,.0f} "
          f"vs actual {s['actual_total']:,.0f} (bias {s['bias_share']['mean']:+.1%}, "
          f"{s['bias_share']['lo']:+.1%} to {s['bias_share']['hi']:+.1%})")
    if s["flag"]:
        print(f"FLAG: {s['flag']}")
    print(f"backtest: {out / 'backtest.html'}")
    return 0
