"""Prior predictive check: what the priors alone say, before any fitting.

Samples every parameter from its prior (:func:`mmm.model.prior_sample.sample_prior`,
ROAS priors included) and runs the same effects as a fitted run
(:func:`mmm.analysis.geo_effects.compute_geo_effects`), so the team sees the implied ROAS,
contribution shares and KPI range per channel in the units they think in::

    from mmm.analysis.prior_check import prior_check
    check = prior_check(Config.load("config.yaml"))
    check.table            # one row per channel (+ "all media"): prior ROAS, share of KPI, incremental KPI
    check.kpi              # implied expected KPI per period vs the observed KPI
    prior_check_figure(check)   # matplotlib Figure (mmm.report.prior_check), and write_prior_check for files

For a panel of several geos the table holds the *national* figures the priors imply (sums over
geos per draw, ROAS as a ratio of sums) and ``check.by_geo`` the prior ROAS of every (geo, channel).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from mmm.spec.config import Config
from mmm.data.load import MMMData
from mmm.analysis.effects import Effects


@dataclass
class PriorCheck:
    config: Config
    effects: Effects  # per-draw figures implied by the priors alone
    table: pd.DataFrame
    kpi: pd.DataFrame  # date, actual, prior expected KPI median / lo / hi
    experiments: pd.DataFrame | None = None  # per lift test: measured vs the priors' incremental KPI of the test
    by_geo: pd.DataFrame | None = None  # geo configs: prior ROAS per (geo, channel)
    scale_notes: list[str] = field(default_factory=list)  # the data's scale against the priors (scale_check)


def prior_check(config: Config, data: MMMData | pd.DataFrame | str | Path | None = None, *,
                n_draws: int = 2000, seed: int | None = None) -> PriorCheck:
    """Sample the priors only and summarize what they imply (no fitting: the model's forward sampler only)."""
    from mmm.analysis.fitted_periods import as_fitted
    from mmm.analysis.pipeline import panel_of
    from mmm.data.panel_design import PanelScaling, build_panel_design
    from mmm.analysis.lift_tests import incremental_draws
    from mmm.analysis.geo_effects import prior_effects
    from mmm.model.roas_prior import resolve_media_scale
    from mmm.analysis.scale_check import scale_check

    seed = config.fit.seed if seed is None else seed
    panel = panel_of(config, data)
    config, _ = as_fitted(config, panel)  # the priors a fit will use
    scaling = PanelScaling.compute(panel)
    config = resolve_media_scale(config, build_panel_design(panel, scaling, config.design))  # as a fit works it out
    geo_effects, prior = prior_effects(config, panel, scaling, n_draws=n_draws, seed=seed)
    effects = geo_effects.national
    delta = incremental_draws(config, panel, scaling, prior) if config.experiments else None
    by_geo = (geo_effects.roi_by_geo()[["geo", "channel", "spend", "roas_median", "roas_lo", "roas_hi"]]
              if panel.n_geos > 1 else None)
    return PriorCheck(config=config, effects=effects, table=_table(config, effects), kpi=_kpi(effects),
                      experiments=_experiments(config, delta, effects.interval), by_geo=by_geo,
                      scale_notes=scale_check(config, panel).notes)


def _experiments(config: Config, delta: np.ndarray | None, interval: float) -> pd.DataFrame | None:
    """Measured lift vs what the priors alone imply for the same test (``delta``: (D, E) draws, KPI units)."""
    if delta is None:
        return None
    lo, med, hi = np.quantile(delta, [(1 - interval) / 2, 0.5, (1 + interval) / 2], axis=0)
    return pd.DataFrame({"experiment": [e.label for e in config.experiments],
                         "measured": [e.incremental_kpi for e in config.experiments],
                         "se": [e.se for e in config.experiments], "prior_median": med, "prior_lo": lo,
                         "prior_hi": hi, "prior_share_below_measured": (delta < np.array(
                             [e.incremental_kpi for e in config.experiments])).mean(axis=0)})


def _table(config: Config, e: Effects) -> pd.DataFrame:
    from mmm.analysis.effects import summarize
    from mmm.model.roas_prior import roas_prior

    rows = []
    share_all = e.contribution_share.sum(axis=1)
    for k, channel in enumerate(e.channels):
        own = roas_prior(config, channel)
        if own is not None:
            params = ", ".join(f"{p}={float(np.asarray(v)):.3g}" for p, v in own.params.items())
            written = config.channel(channel).roas_prior is not None or config.model.roas_prior is not None
            source = (f"{'national ' if config.data.geo else ''}{'roas_prior' if written else 'default ROAS prior'} "
                      f"{own.dist}({params}{'' if written else f'; median {config.model.roas_median:.3g}'})")
        else:
            source = "coefficient prior" + (" (override)" if "coef" in config.channel(channel).priors else " (default)")
        row = {"channel": channel, "prior": source, "spend": float(e.spend[k])}
        for metric, values in (("roas", e.roas[:, k]), ("contribution_share", e.contribution_share[:, k]),
                               ("incremental_kpi", e.incremental_kpi[:, k])):
            s = summarize(values, e.interval)
            row.update({f"{metric}_{stat}": s[stat] for stat in ("median", "lo", "hi")})
        rows.append(row)
    total = {"channel": "all media", "prior": "", "spend": float(e.spend.sum())}
    for metric, values in (("roas", e.incremental_value.sum(axis=1) / e.spend.sum()),
                           ("contribution_share", share_all), ("incremental_kpi", e.incremental_kpi.sum(axis=1))):
        s = summarize(values, e.interval)
        total.update({f"{metric}_{stat}": s[stat] for stat in ("median", "lo", "hi")})
    rows.append(total)
    return pd.DataFrame(rows)


def _kpi(e: Effects) -> pd.DataFrame:
    lo, med, hi = np.quantile(e.mu, [(1 - e.interval) / 2, 0.5, (1 + e.interval) / 2], axis=0)
    return pd.DataFrame({"date": e.dates, "actual": e.actual, "prior_median": med, "prior_lo": lo, "prior_hi": hi})


def kpi_summary(check: PriorCheck) -> dict[str, float]:
    """Observed mean KPI per period against the prior's: its interval and where the observed one falls."""
    e = check.effects
    per_draw = e.mu.mean(axis=1)
    lo, med, hi = np.quantile(per_draw, [(1 - e.interval) / 2, 0.5, (1 + e.interval) / 2])
    observed = float(np.mean(e.actual))
    return {"observed_mean": observed, "prior_median": float(med), "prior_lo": float(lo), "prior_hi": float(hi),
            "prior_share_below_observed": float(np.mean(per_draw < observed)),
            "share_of_periods_inside_prior_interval": float(np.mean((e.actual >= check.kpi["prior_lo"]) &
                                                                    (e.actual <= check.kpi["prior_hi"])))}
