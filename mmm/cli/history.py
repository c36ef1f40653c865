"""``mmm history [RUNS_DIR]``: a table of the runs in a folder, from its SQLite catalog (see mmm.runs.catalog)."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("history", help="list the runs in a folder: dates, data range, parent, figures",
                              description="One row per run folder: created, data range, number of geos (geo "
                                          "runs; their figures are national sums over geos), parent run, mode, "
                                          "diagnostics verdict and a headline figure per channel (mean and "
                                          "interval). Reads a catalog.sqlite beside the runs, rebuilt from the "
                                          "run folders when missing or stale. Then the track record: each "
                                          "backtest in the folder (a run's forecast of the next run's periods) "
                                          "with its interval coverage, CRPS and bias.")
    p.add_argument("runs_dir", type=Path, nargs="?", default=Path("reports"), metavar="RUNS_DIR",
                   help="the folder holding the run folders (default: reports)")
    p.add_argument("--metric", choices=("roas", "profit_roi", "mroas", "incremental_kpi"), default="roas")
    p.add_argument("--csv", type=Path, help="also write the table to this CSV file")
    p.add_argument("--track-record-csv", type=Path, help="also write the track record to this CSV file")
    p.set_defaults(handler=run)


def run(args) -> int:
    import pandas as pd

    from mmm.atomic import write_text_atomically
    from mmm.runs.backtest import track_record
    from mmm.runs.catalog import history

    table = history(args.runs_dir, metric=args.metric)
    if table.empty:
        print(f"no runs in {args.runs_dir}")
        return 0
    with pd.option_context("display.max_columns", None, "display.width", 250, "display.max_colwidth", 40):
        print(table.fillna("").to_string(index=False))
        record = track_record(args.runs_dir)
        if record.empty:
            print("\ntrack record: no backtests yet (mmm refresh writes one beside each refreshed run)")
        else:
            print("\ntrack record: each run's forecast of the next run's new periods")
            print(record.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    if args.csv is not None:
        write_text_atomically(args.csv, table.to_csv(index=False))
        print(f"wrote {args.csv}")
    if args.track_record_csv is not None:
        write_text_atomically(args.track_record_csv, record.to_csv(index=False))
        print(f"wrote {args.track_record_csv}")
    return 0
