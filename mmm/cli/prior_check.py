"""``mmm prior-check CONFIG``: what the priors imply before fitting (ROAS, KPI shares, KPI range)."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("prior-check", help="sample the priors only and show the ROAS, contribution shares and "
                                                  "KPI range they imply, before fitting")
    p.add_argument("config", type=Path)
    p.add_argument("--out", type=Path, help="folder for prior_check.csv/.png (default: reports/<name>-prior-check)")
    p.add_argument("--draws", type=int, default=2000, help="prior draws (default 2000)")
    p.add_argument("--seed", type=int, help="random seed (default: fit.seed of the config)")
    p.add_argument("--force", action="store_true", help="replace existing prior-check files in --out")
    p.set_defaults(handler=run)


def run(args) -> int:
    from mmm.spec.config import ConfigError
    from mmm.analysis.pipeline import load_config
    from mmm.report.plots import interval_label
    from mmm.analysis.prior_check import kpi_summary, prior_check
    from mmm.report.prior_check import write_prior_check

    if args.draws < 100:
        raise ConfigError(f"--draws must be at least 100 (got {args.draws}); quantiles need draws")
    config = load_config(args.config)
    check = prior_check(config, n_draws=args.draws, seed=args.seed)
    label = interval_label(config.interval)
    print(f"prior check of {config.name}: {args.draws} draws from the priors alone (median [{label} interval])")
    if check.by_geo is not None:
        print(f"geo panel: national figures are sums over {check.by_geo['geo'].nunique()} geos per draw "
              f"(prior ROAS per geo in prior_check_by_geo.csv)")
    print(f"{'channel':14s} {'ROAS':>22s} {'share of KPI':>24s} {'incremental KPI':>34s}  prior")
    for row in check.table.itertuples():
        print(f"{row.channel:14s} {row.roas_median:7.2f} [{row.roas_lo:5.2f}, {row.roas_hi:6.2f}] "
              f"{row.contribution_share_median:8.1%} [{row.contribution_share_lo:5.1%}, "
              f"{row.contribution_share_hi:5.1%}] {row.incremental_kpi_median:12,.0f} "
              f"[{row.incremental_kpi_lo:9,.0f}, {row.incremental_kpi_hi:10,.0f}]  {row.prior}")
    kpi = kpi_summary(check)
    print(f"mean KPI per period: observed {kpi['observed_mean']:,.0f}; priors imply {kpi['prior_median']:,.0f} "
          f"[{kpi['prior_lo']:,.0f}, {kpi['prior_hi']:,.0f}]; {kpi['share_of_periods_inside_prior_interval']:.0%} "
          f"of observed periods lie inside the prior's {label} band")
    if check.experiments is not None:
        for row in check.experiments.itertuples():
            print(f"experiment {row.experiment}: measured {row.measured:,.0f} ± {row.se:,.0f}; the priors imply "
                  f"{row.prior_median:,.0f} [{row.prior_lo:,.0f}, {row.prior_hi:,.0f}]")
    for note in check.scale_notes:
        print(f"warning: {note}")
    out = args.out or Path("reports") / f"{config.name}-prior-check"
    paths = write_prior_check(check, out, force=args.force)
    for name, path in paths.items():
        print(f"wrote {name}: {path}")
    return 0
