"""Per-geo and national figures of a fit, per posterior draw (national data: one geo).

Each geo's figures come from :func:`mmm.analysis.effects.compute_effects` on that geo's
data, scaling and parameters (the one definition of every figure of docs/figures.md).
The national figures are then *sums over geos per draw*: incremental KPI and
value, contributions and expected KPI add up exactly; ratios (ROAS, mROAS,
shares) are ratios of those sums. Per-period arrays are summed geo by geo and
not kept per geo, so memory stays bounded for hundreds of geos.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from mmm.spec.config import Config
from mmm.analysis.effects import Effects, compute_effects, summarize
from mmm.data.panel_design import PanelScaling
from mmm.model.geo_terms import draw_terms, geo_posterior
from mmm.data.panel import Panel

# per-geo figures kept per draw, (D, G, K)
BY_GEO = ("incremental_kpi", "incremental_value", "roas", "profit_roi", "mroas", "marginal_profit_roi",
          "immediate_share")


@dataclass
class GeoEffects:
    """Per-geo figures per draw, and the national :class:`Effects` (sums over geos per draw)."""

    geos: list[str]
    channels: list[str]
    interval: float
    spend: np.ndarray  # (G, K) spend in W, currency
    by_geo: dict[str, np.ndarray]  # metric -> (D, G, K)
    national: Effects
    hurdle_rate: float
    fit_quality: dict[str, dict[str, float]] = field(default_factory=dict)  # geo -> r2, mape
    # (D, G, T_fit) log density of each fitted observation given each draw (PSIS-LOO and stacking); None
    # unless asked for (compute_geo_effects(pointwise=True))
    log_lik: np.ndarray | None = None

    def draws(self) -> xr.Dataset:
        """Every per-geo figure per draw in one labelled Dataset, dims (draw, geo, channel), with ``spend``
        (geo, channel). National incremental KPI and value are its sums over ``geo``; national ratios are
        ratios of those sums (``national``), never means over geos. Undefined ROAS (no spend) is NaN."""
        coords = {"draw": np.arange(self.national.roas.shape[0]), "geo": list(self.geos), "channel": list(self.channels)}
        spent = self.spend > 0
        data = {m: (("draw", "geo", "channel"),
                    self.by_geo[m] if m.startswith("incremental") else np.where(spent, self.by_geo[m], np.nan))
                for m in BY_GEO}
        data["spend"] = (("geo", "channel"), self.spend)
        return xr.Dataset(data, coords=coords, attrs={"interval": self.interval, "hurdle_rate": self.hurdle_rate})

    def identified(self) -> np.ndarray:
        """(G, K) True where the geo spent on the channel inside W (its ROAS is defined)."""
        return self.spend > 0

    def roi_by_geo(self) -> pd.DataFrame:
        """One row per (geo, channel): spend and each figure's mean, median and interval; NaN where no spend.
        A view of :meth:`draws`."""
        draws = self.draws()
        values = {m: draws[m].values for m in BY_GEO}  # (D, G, K) each, read once: no per-cell lookups
        rows = []
        for g, geo in enumerate(self.geos):
            for k, channel in enumerate(self.channels):
                spend = float(draws["spend"].values[g, k])
                row: dict[str, Any] = {"geo": geo, "channel": channel, "spend": spend}
                for metric in BY_GEO:
                    stats = (summarize(values[metric][:, g, k], self.interval)
                             if spend > 0 or metric.startswith("incr")
                             else dict.fromkeys(("mean", "median", "lo", "hi"), float("nan")))
                    row |= {f"{metric}_{s}": v for s, v in stats.items()}
                row["p_profitable"] = (float((values["profit_roi"][:, g, k] > self.hurdle_rate).mean())
                                       if spend > 0 else float("nan"))
                rows.append(row)
        return pd.DataFrame(rows)


def compute_geo_effects(posterior: xr.Dataset, config: Config, panel: Panel, scaling: PanelScaling,
                        n_train: int | None = None, pointwise: bool = False) -> GeoEffects:
    """Every figure per geo and nationally (sum over geos per draw) for ``config``'s window; with
    ``pointwise`` also each fitted observation's log density per draw (:attr:`GeoEffects.log_lik`)."""
    n_geos = panel.n_geos
    parts: dict[str, list[np.ndarray]] = {m: [] for m in BY_GEO}
    sums: dict[str, Any] = {}
    spends, quality = [], {}
    immediate = in_window = extra_value = payback50 = payback90 = None
    npv: dict[str, np.ndarray] = {}  # present value: the national value and value-weighted paybacks
    terms = draw_terms(posterior, n_geos)
    components: dict[str, np.ndarray] = {}
    log_lik = []
    for g in range(n_geos):
        posterior_g = geo_posterior(posterior, config, g, n_geos, terms)
        with np.errstate(divide="ignore", invalid="ignore"):  # a geo without spend on a channel: ROAS undefined
            eff = compute_effects(posterior_g, config, panel.geo(g), scaling.geo(g))
        eff.n_train = n_train
        if pointwise:
            log_lik.append(observation_log_density(eff, posterior_g, float(scaling.geo(g).kpi), n_train))
        spends.append(eff.spend)
        for m in BY_GEO:
            parts[m].append(eff.metric(m))
        for name in ("contributions", "mu", "actual"):
            value = getattr(eff, name)
            sums[name] = value if g == 0 else sums[name] + value
        for name, value in eff.components.items():  # events, organic, treatments: sums over geos per draw
            components[name] = value if g == 0 else components[name] + value
        spent = eff.spend > 0
        value_g = eff.incremental_value
        # numerators of the national ratios: a ratio of sums, never an average of ratios
        imm = np.where(spent, eff.immediate_share * eff.incremental_kpi, 0.0)
        inw = np.where(spent, eff.in_window_share * eff.incremental_kpi, 0.0)
        ext = np.where(spent, eff.mroas * eff.spend, 0.0)
        p50 = eff.payback_50 * np.abs(value_g)
        p90 = eff.payback_90 * np.abs(value_g)
        immediate = imm if g == 0 else immediate + imm
        in_window = inw if g == 0 else in_window + inw
        extra_value = ext if g == 0 else extra_value + ext
        payback50 = p50 if g == 0 else payback50 + p50
        payback90 = p90 if g == 0 else payback90 + p90
        if eff.has_present_value:
            for name, part in (("value", eff.incremental_value_npv), ("p50", eff.payback_50_npv * np.abs(value_g)),
                               ("p90", eff.payback_90_npv * np.abs(value_g))):
                npv[name] = part if g == 0 else npv[name] + part
        quality[panel.geos[g]] = {k: v for k, v in eff.fit_quality().items() if k in ("r2", "mape")}
        window, chains = eff.window, eff.chains
    spend = np.stack(spends)  # (G, K)
    total_spend = spend.sum(axis=0)
    by_geo = {m: np.stack(parts[m], axis=1) for m in BY_GEO}
    inc = by_geo["incremental_kpi"].sum(axis=1)  # the national total IS the sum over geos, per draw
    value = by_geo["incremental_value"].sum(axis=1)
    roas = value / total_spend
    margins = np.array([config.finance.margin_for(c) for c in config.channel_names])
    weight = np.abs(value)
    shared_adstock = config.model.geo_adstock == "shared" or n_geos == 1
    national = Effects(
        channels=config.channel_names, dates=panel.dates, window=window, interval=config.interval,
        spend=total_spend, incremental_kpi=inc, incremental_value=value, roas=roas,
        profit_roi=roas * margins - 1.0, mroas=extra_value / total_spend,
        immediate_share=np.divide(immediate, inc, out=np.ones_like(inc), where=inc != 0),
        in_window_share=np.divide(in_window, inc, out=np.ones_like(inc), where=inc != 0),
        payback_50=parts_payback(payback50, weight, eff.payback_50, shared_adstock),
        payback_90=parts_payback(payback90, weight, eff.payback_90, shared_adstock),
        contributions=sums["contributions"], mu=sums["mu"], actual=sums["actual"],
        gross_margin=config.finance.margin, hurdle_rate=config.finance.hurdle_rate, chains=chains, n_train=n_train,
        margins=margins, components=components, component_kinds=dict(eff.component_kinds),
        **({} if not npv else {
            "discount_rate": eff.discount_rate, "incremental_value_npv": npv["value"],
            "payback_50_npv": parts_payback(npv["p50"], weight, eff.payback_50_npv, shared_adstock),
            "payback_90_npv": parts_payback(npv["p90"], weight, eff.payback_90_npv, shared_adstock)}))
    return GeoEffects(geos=list(panel.geos), channels=config.channel_names, interval=config.interval, spend=spend,
                      by_geo=by_geo, national=national, hurdle_rate=config.finance.hurdle_rate, fit_quality=quality,
                      log_lik=np.stack(log_lik, axis=1) if pointwise else None)


def observation_log_density(eff: Effects, posterior: xr.Dataset, kpi_scale: float, n_train: int | None) -> np.ndarray:
    """(D, T_fit) log density of one geo's fitted KPI given each draw: the model's likelihood (normal or
    Student-t) around the expected KPI, in KPI units (a constant shift per geo, the same for every candidate)."""
    from scipy import stats

    rows = slice(0, n_train or len(eff.actual))
    sd = np.asarray(posterior["sigma"].values, dtype=float).reshape(-1, 1) * kpi_scale
    z = (eff.actual[rows][None, :] - eff.mu[:, rows]) / sd
    if "nu" in posterior:
        nu = np.asarray(posterior["nu"].values, dtype=float).reshape(-1, 1)
        return stats.t.logpdf(z, nu) - np.log(sd)
    return stats.norm.logpdf(z) - np.log(sd)


def parts_payback(weighted: np.ndarray, weight: np.ndarray, last: np.ndarray, shared: bool) -> np.ndarray:
    """National payback: the common value when adstock is shared, else the value-weighted mean over geos."""
    if shared:
        return last
    return np.divide(weighted, weight, out=last.copy(), where=weight > 0)


def geo_response_curves(posterior: xr.Dataset, config: Config, panel: Panel, scaling: PanelScaling,
                        max_draws: int | None = None) -> pd.DataFrame:
    """National response curves of a panel (:func:`mmm.analysis.curves.response_curves` semantics): each
    channel's spend is scaled in every geo at once, and the incremental value is summed over
    geos draw by draw before it is summarized (so the interval is the national one)."""
    from mmm.analysis.curves import MAX_CURVE_DRAWS, MULTIPLIERS, response_gains, summarize_curves

    n_geos = panel.n_geos
    terms = draw_terms(posterior, n_geos)
    gains = spend = 0.0
    for g in range(n_geos):
        geo_gains, geo_spend = response_gains(geo_posterior(posterior, config, g, n_geos, terms), config,
                                              panel.geo(g), scaling.geo(g), MULTIPLIERS, max_draws or MAX_CURVE_DRAWS)
        gains, spend = gains + geo_gains, spend + geo_spend
    return summarize_curves(gains, spend, MULTIPLIERS, config)


def prior_effects(config: Config, panel: Panel, scaling: PanelScaling, n_draws: int = 1000,
                  seed: int = 0) -> tuple[GeoEffects, xr.Dataset]:
    """The figures the priors alone imply (per geo and national) and the prior draws behind them."""
    from mmm.model.prior_sample import sample_prior

    prior = sample_prior(config, panel, scaling, n_draws=n_draws, seed=seed)
    return compute_geo_effects(prior, config, panel, scaling), prior
