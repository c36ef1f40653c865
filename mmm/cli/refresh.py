"""``mmm refresh PREV_RUN --data NEW.csv [--mode refit|update]``: rerun a model on new data (see mmm.runs.refresh)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "refresh", help="refit (same scaling) or update (previous posterior as prior) a run on new data",
        description="Rerun PREV_RUN's model on NEW.csv. refit: the same spec on the new data with the parent's "
                    "scaling constants fixed. update: the parent's posterior (moment-matched multivariate normal) "
                    "is the prior and only the periods after the parent's last fitted period are in the "
                    "likelihood; old data are never counted twice. A geo run refreshes per geo on a panel of "
                    "its geos (a geo added or removed needs a new fit).")
    p.add_argument("previous", type=Path, metavar="PREV_RUN", help="the parent run folder")
    p.add_argument("--data", type=Path, required=True, help="the new dataset (CSV, the parent config's columns)")
    p.add_argument("--mode", choices=("refit", "update"), default="refit")
    p.add_argument("--config", type=Path, help="a changed config (same channels and controls); default: the parent's")
    p.add_argument("--out", type=Path, help="run folder to write (default: beside the parent, <name>-<timestamp>)")
    p.add_argument("--force", action="store_true", help="replace an existing run folder")
    for flag in ("draws", "tune", "chains", "seed"):
        p.add_argument(f"--{flag}", type=int)
    p.add_argument("--sampler", choices=("nutpie", "pymc"))
    p.add_argument("--no-progress", action="store_true", help="hide the sampling progress bar")
    p.set_defaults(handler=run)


def run(args) -> int:
    from mmm.cli.main import diagnostics_exit
    from mmm.api import refresh
    from mmm.runs.folder import RunExistsError

    if args.out is not None and args.out.exists() and not args.force:
        raise RunExistsError(f"{args.out} already exists; choose another --out, or pass --force to replace it")
    if not (args.previous / "manifest.json").is_file():
        raise FileNotFoundError(f"{args.previous} is not a run folder (no manifest.json); pass the folder "
                                f"`mmm fit` or `mmm refresh` wrote")
    print(f"refreshing {args.previous} ({args.mode}) with {args.data}", flush=True)
    result = refresh(args.previous, args.data, mode=args.mode, config=args.config,
                     progress=not args.no_progress and sys.stderr.isatty(), draws=args.draws, tune=args.tune,
                     chains=args.chains, seed=args.seed, sampler=args.sampler)
    record = result.record
    run_dir = result.save(args.out, force=args.force)  # default: beside the parent run
    print(f"run written: {run_dir} (parent {record['parent_run']}, {record['new_periods']} new periods, "
          f"{record['revised_values']} restated value(s), {len(record['config_changes'])} config change(s))")
    if record.get("revised_geos"):
        print(f"restated values in geo(s): {', '.join(record['revised_geos'])}")
    if "likelihood" in record:
        lk = record["likelihood"]
        print(f"likelihood: {lk['periods']} periods {lk['start']} .. {lk['end']} (earlier periods: carry-in only)")
    from mmm.runs.backtest import default_dir

    backtest = default_dir(run_dir) / "backtest.json"
    if backtest.is_file():
        import json

        b = json.loads(backtest.read_text())
        print(f"backtest: {args.previous.name} predicted the {b['periods']} new period(s) with "
              f"{b['coverage']:.0%} inside its {b['interval']:.0%} interval; total bias {b['bias_share']['mean']:+.1%} "
              f"({b['bias_share']['lo']:+.1%} to {b['bias_share']['hi']:+.1%}) -> {backtest.parent / 'backtest.html'}")
        if b.get("flag"):
            print(f"FLAG: {b['flag']}")
    for warning in (record.get("warning"), record.get("update_prior", {}).get("warning")):
        if warning:
            print(f"warning: {warning}", file=sys.stderr)
    return diagnostics_exit(result.fitted.diagnostics)
