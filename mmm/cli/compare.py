"""``mmm compare RUN_A RUN_B [--out DIR]``: what changed between two runs and why (see mmm.runs.compare)."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("compare", help="compare two runs: figure changes, restated data, config diff, "
                                              "attribution",
                              description="Write comparison.json and comparison.html: per channel ROAS and "
                                          "profit ROI in A and B with the difference and P(increase), data "
                                          "revisions, config changes, attribution of the ROAS change and "
                                          "stability flags. Two geo runs are also compared per (geo, channel); "
                                          "a geo run and a national run are not compared.")
    p.add_argument("run_a", type=Path, metavar="RUN_A", help="the earlier run folder")
    p.add_argument("run_b", type=Path, metavar="RUN_B", help="the later run folder")
    p.add_argument("--out", type=Path, help="folder to write (default: compare-<A>-vs-<B> beside RUN_B)")
    p.add_argument("--force", action="store_true", help="replace an existing comparison folder")
    p.add_argument("--change-probability", type=float, default=0.9,
                   help="flag a channel whose P(increase) or P(decrease) is above this (default 0.9)")
    p.set_defaults(handler=run)


def run(args) -> int:
    import json

    from mmm.report.comparison import default_out, write_comparison

    from mmm.spec.config import ConfigError

    for path in (args.run_a, args.run_b):
        if not (path / "manifest.json").is_file():
            raise FileNotFoundError(f"{path} is not a run folder (no manifest.json); pass folders written by "
                                    f"`mmm fit` or `mmm refresh`")
    from mmm.runs.folder import verify_run

    for path in (args.run_a, args.run_b):
        verify_run(path)  # a changed or unfinished run is refused before anything is compared
    if args.run_a.resolve() == args.run_b.resolve():
        raise ConfigError(f"RUN_A and RUN_B are the same folder ({args.run_a}); compare a run with another one, "
                          "e.g. its refresh (mmm refresh) or a refit with a changed config")
    if (args.run_a / "manifest.json").read_bytes() == (args.run_b / "manifest.json").read_bytes():
        raise ConfigError(f"{args.run_b} is a copy of {args.run_a} (identical manifest.json): the same run twice. "
                          "Compare a run with another one, e.g. its refresh (mmm refresh)")
    if not 0.5 <= args.change_probability < 1:
        raise ConfigError("--change-probability must be in [0.5, 1), e.g. 0.9")
    out = write_comparison(args.run_a, args.run_b, args.out or default_out(args.run_a, args.run_b),
                           force=args.force, change_probability=args.change_probability)
    result = json.loads((out / "comparison.json").read_text())
    for channel, entry in result["channels"].items():
        roas = entry["roas"]
        flags = [f for f, on in (("CHANGED", entry["flags"]["changed"]), ("UNSTABLE", entry["flags"]["unstable"]))
                 if on]
        print(f"{channel:>12}: ROAS {roas['a']['mean']:.2f} -> {roas['b']['mean']:.2f} "
              f"(diff {roas['difference']['mean']:+.2f}, {roas['difference']['lo']:+.2f} to "
              f"{roas['difference']['hi']:+.2f}; P(increase) {roas['p_increase']:.2f}) {' '.join(flags)}")
    if result["geo"]:
        geo = result["geo"]
        pairs = sum(len(by_channel) for by_channel in geo["geos"].values())
        changed = ", ".join(f"{f['geo']}/{f['channel']} ({f['direction']})" for f in geo["flagged_changed"]) or "none"
        print(f"per geo: {pairs} (geo, channel) pairs compared over {len(geo['geos'])} geos; changed: {changed}")
    print(f"data revisions: {len(result['data_revisions'])} value(s) on {len(result['data_revised_dates'])} date(s); "
          f"config changes: {len(result['config_changes'])}")
    print(f"comparison: {out / 'comparison.html'}")
    return 0
