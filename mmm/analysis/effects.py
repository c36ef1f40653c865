"""Business figures from the posterior, per draw: contributions, incremental KPI, ROAS,
profit ROI, marginal ROAS, immediate vs lasting split, payback (definitions: docs/figures.md).

Everything here is NumPy on posterior draws; parameters are looked up by
variable name and aligned to channels by coordinate *name*, never by position.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from mmm.model import media
from mmm.model import media_effect
from mmm.model import organic as organic_media
from mmm.model import baseline as baseline_terms
from mmm.model.baseline import design_basis, time_effect
from mmm.spec.config import Config, analysis_window
from mmm.data.load import MMMData, Scaling
from mmm.data.design import Design, build_design, fourier_features, weekly_pairs
from mmm.model.transforms import payback_periods
from mmm.analysis import present_value

MROAS_STEP = 0.01  # h in docs/figures.md's marginal ROAS


@dataclass
class Effects:
    """Per-draw figures (leading axis = posterior draw) and the tables built from them."""

    channels: list[str]
    dates: pd.DatetimeIndex  # data periods
    window: tuple[pd.Timestamp, pd.Timestamp]
    interval: float
    spend: np.ndarray  # (K,) spend in W, currency
    incremental_kpi: np.ndarray  # (D, K) over W and the carry-over tail, KPI units
    incremental_value: np.ndarray  # (D, K) currency
    roas: np.ndarray
    profit_roi: np.ndarray
    mroas: np.ndarray
    immediate_share: np.ndarray
    in_window_share: np.ndarray  # (D, K) share of the return realized inside W (the rest arrives after it)
    payback_50: np.ndarray  # (D, K) periods
    payback_90: np.ndarray
    contributions: np.ndarray  # (D, T, K) per period vs zero spend, KPI units
    mu: np.ndarray  # (D, T) expected KPI
    actual: np.ndarray  # (T,) observed KPI
    gross_margin: float
    hurdle_rate: float
    chains: int = 1  # draws are chain-major: reshape(chains, -1) restores (chain, draw)
    n_train: int | None = None  # periods in the likelihood; the rest were a holdout
    margins: np.ndarray | None = None  # (K,) gross margin per channel; None: gross_margin for every channel
    # events, organic channels and treatments: name -> (D, T) contribution per period, KPI units (part of the
    # baseline's total, reported on its own); their kinds: name -> "event" | "organic" | "treatment"
    components: dict[str, np.ndarray] = field(default_factory=dict)
    component_kinds: dict[str, str] = field(default_factory=dict)
    # present value (finance.discount_rate given): each return discounted to the period of its spend
    discount_rate: float | None = None  # annual
    incremental_value_npv: np.ndarray | None = None  # (D, K) currency
    payback_50_npv: np.ndarray | None = None  # (D, K) periods until half of the present value has arrived
    payback_90_npv: np.ndarray | None = None

    # ---- derived per-draw figures --------------------------------------------------
    @property
    def roas_immediate(self) -> np.ndarray:
        return self.roas * self.immediate_share

    @property
    def roas_lasting(self) -> np.ndarray:
        return self.roas * (1.0 - self.immediate_share)

    @property
    def roas_npv(self) -> np.ndarray:
        return self.incremental_value_npv / self.spend

    @property
    def profit_roi_npv(self) -> np.ndarray:
        return self.roas_npv * self.channel_margins - 1.0

    @property
    def roas_lasting_npv(self) -> np.ndarray:
        """The lasting part at present value (the immediate part is not discounted)."""
        return self.roas_npv - self.roas_immediate

    @property
    def has_present_value(self) -> bool:
        return self.incremental_value_npv is not None

    @property
    def channel_margins(self) -> np.ndarray:
        return np.full(len(self.channels), self.gross_margin) if self.margins is None else self.margins

    @property
    def marginal_profit_roi(self) -> np.ndarray:
        """(D, K) profit of the next unit of spend per unit: mROAS x margin - 1 (docs/figures.md).

        The next unit pays for itself when this beats the hurdle rate, i.e. when
        mROAS > (1 + hurdle) / margin, not when mROAS > 1.
        """
        return self.mroas * self.channel_margins - 1.0

    @property
    def mroas_break_even(self) -> np.ndarray:
        """(K,) the mROAS at which the next unit of spend just clears the hurdle: (1 + hurdle) / margin."""
        return (1.0 + self.hurdle_rate) / self.channel_margins

    @property
    def p_profitable(self) -> np.ndarray:
        """(K,) share of draws whose profit ROI beats the hurdle rate."""
        return (self.profit_roi > self.hurdle_rate).mean(axis=0)

    @property
    def baseline(self) -> np.ndarray:
        """(D, T) expected KPI less media and the reported components (events, organic, treatments)."""
        rest = self.mu - self.contributions.sum(axis=-1)
        for values in self.components.values():
            rest = rest - values
        return rest

    def grouped_components(self) -> dict[str, np.ndarray]:
        """The components as charts and tables show them: every event summed into ``events``, each organic
        channel and treatment on its own."""
        out: dict[str, np.ndarray] = {}
        for name, values in self.components.items():
            key = "events" if self.component_kinds[name] == "event" else name
            out[key] = out[key] + values if key in out else values
        return out

    def component_totals(self) -> dict[str, dict[str, Any]]:
        """Each event, organic channel and treatment: its contribution summed over W (per draw, then
        summarized, KPI units) and its share of the expected KPI in W."""
        w = self.in_window()
        total = self.mu[:, w].sum(axis=1)
        out = {}
        for name, values in self.components.items():
            inside = values[:, w].sum(axis=1)
            out[name] = {"kind": self.component_kinds[name], "contribution": summarize(inside, self.interval),
                         "share": summarize(inside / total, self.interval)}
        return out

    def in_window(self) -> np.ndarray:
        return (self.dates >= self.window[0]) & (self.dates <= self.window[1])

    @property
    def contribution_share(self) -> np.ndarray:
        """(D, K) each channel's share of expected KPI inside W."""
        w = self.in_window()
        return self.contributions[:, w, :].sum(axis=1) / self.mu[:, w].sum(axis=1, keepdims=True)

    # ---- tables ---------------------------------------------------------------------
    def metric(self, name: str) -> np.ndarray:
        return getattr(self, name)

    PER_CHANNEL = ("incremental_kpi", "incremental_value", "roas", "profit_roi", "mroas", "marginal_profit_roi",
                   "immediate_share",
                   "roas_immediate", "roas_lasting", "in_window_share", "payback_50", "payback_90",
                   "contribution_share")
    PRESENT_VALUE = ("roas_npv", "profit_roi_npv", "roas_lasting_npv", "payback_50_npv", "payback_90_npv")

    def channel_metrics(self) -> tuple[str, ...]:
        """The per-channel figures of this run: :attr:`PER_CHANNEL`, and the present-value ones when a discount
        rate was given."""
        return self.PER_CHANNEL + (self.PRESENT_VALUE if self.has_present_value else ())

    def summary_frame(self) -> pd.DataFrame:
        """Tidy: one row per (channel, metric) with mean, median, lo, hi."""
        rows = []
        for metric in self.channel_metrics():
            values = self.metric(metric)
            for k, channel in enumerate(self.channels):
                rows.append({"channel": channel, "metric": metric, **summarize(values[:, k], self.interval)})
        return pd.DataFrame(rows)

    def roi_table(self) -> pd.DataFrame:
        """One row per channel: spend, each headline figure's mean, median and interval, P(profitable) and
        the break-even mROAS, (1 + hurdle) / margin."""
        table = pd.DataFrame({"channel": self.channels, "spend": self.spend})
        present_value = ("roas_npv", "profit_roi_npv", "roas_lasting_npv") if self.has_present_value else ()
        for metric in ("incremental_kpi", "incremental_value", "roas", "profit_roi", "mroas", "marginal_profit_roi",
                       "immediate_share", "roas_immediate", "roas_lasting", *present_value):
            values = self.metric(metric)
            for stat in ("mean", "median", "lo", "hi"):
                table[f"{metric}_{stat}"] = [summarize(values[:, k], self.interval)[stat]
                                             for k in range(len(self.channels))]
        table["p_profitable"] = self.p_profitable
        if self.has_present_value:
            table["p_profitable_npv"] = (self.profit_roi_npv > self.hurdle_rate).mean(axis=0)
        table["mroas_break_even"] = self.mroas_break_even  # the next unit pays when mROAS is above this
        return table

    def contributions_table(self) -> pd.DataFrame:
        """Tidy: date, component (baseline, events, each organic channel and treatment, each channel), mean,
        lo, hi in KPI units per period."""
        parts = {"baseline": self.baseline, **self.grouped_components(),
                 **{c: self.contributions[..., k] for k, c in enumerate(self.channels)}}
        frames = []
        for component, values in parts.items():
            lo, hi = _quantiles(values, self.interval)
            frames.append(pd.DataFrame({"date": self.dates, "component": component, "mean": values.mean(axis=0),
                                        "lo": lo, "hi": hi}))
        return pd.concat(frames, ignore_index=True)

    def fit_table(self) -> pd.DataFrame:
        lo, hi = _quantiles(self.mu, self.interval)
        return pd.DataFrame({"date": self.dates, "actual": self.actual, "fitted_mean": self.mu.mean(axis=0),
                             "fitted_lo": lo, "fitted_hi": hi})

    def contribution_totals(self) -> dict[str, dict[str, float]]:
        """Baseline and each channel's contribution summed over W (per draw, then summarized), KPI units."""
        w = self.in_window()
        parts = {"baseline": self.baseline[:, w].sum(axis=1),
                 **{name: v[:, w].sum(axis=1) for name, v in self.grouped_components().items()},
                 **{c: self.contributions[:, w, k].sum(axis=1) for k, c in enumerate(self.channels)}}
        out = {name: summarize(values, self.interval) for name, values in parts.items()}
        out["total"] = summarize(self.mu[:, w].sum(axis=1), self.interval)
        return out

    def fit_quality(self) -> dict[str, Any]:
        """R², MAPE and residual sd of the posterior-mean fit: in sample, and on the holdout if any."""
        n_train = self.n_train or len(self.actual)
        fitted = self.mu.mean(axis=0)
        quality: dict[str, Any] = _accuracy(self.actual[:n_train], fitted[:n_train])
        if n_train < len(self.actual):
            lo, hi = _quantiles(self.mu[:, n_train:], self.interval)
            held = self.actual[n_train:]
            quality["holdout"] = {**_accuracy(held, fitted[n_train:]), "periods": int(len(held)),
                                  "start": self.dates[n_train].date().isoformat(),
                                  "share_inside_mean_interval": float(np.mean((held >= lo) & (held <= hi)))}
        return quality

    def totals(self) -> dict[str, Any]:
        spend = float(self.spend.sum())
        inc = self.incremental_kpi.sum(axis=1)
        value = self.incremental_value.sum(axis=1)
        return {"spend": spend, "incremental_kpi": summarize(inc, self.interval),
                "incremental_value": summarize(value, self.interval),
                "roas": summarize(value / spend, self.interval),
                **({"roas_npv": summarize(self.incremental_value_npv.sum(axis=1) / spend, self.interval)}
                   if self.has_present_value else {})}


def _accuracy(actual: np.ndarray, fitted: np.ndarray) -> dict[str, float]:
    residual = actual - fitted
    total = actual - actual.mean()
    nonzero = actual != 0
    return {"r2": float(1 - (residual @ residual) / (total @ total)),
            "mape": float(np.mean(np.abs(residual[nonzero] / actual[nonzero]))),
            "residual_sd": float(residual.std(ddof=1)) if len(residual) > 1 else float("nan")}


def summarize(values: np.ndarray, interval: float) -> dict[str, float]:
    """Mean, median and equal-tailed interval of draws."""
    lo, hi = np.quantile(values, [(1 - interval) / 2, (1 + interval) / 2])
    return {"mean": float(np.mean(values)), "median": float(np.median(values)), "lo": float(lo), "hi": float(hi)}


def _quantiles(values: np.ndarray, interval: float) -> tuple[np.ndarray, np.ndarray]:
    lo, hi = np.quantile(values, [(1 - interval) / 2, (1 + interval) / 2], axis=0)
    return lo, hi


# ---- computation ------------------------------------------------------------------------


def posterior_draws(posterior: xr.Dataset, config: Config, design: Design) -> dict[str, np.ndarray]:
    """Flatten (chain, draw) and align every parameter to the model's coordinate names."""
    stacked = posterior.stack(sample=("chain", "draw"))
    draws: dict[str, np.ndarray] = {}
    wanted = {"channel": config.channel_names, "fourier": design.fourier_names, "control": design.controls}
    for name, _param, dim, idx in media.parameter_layout(config.channels):
        wanted[dim] = [config.channel_names[i] for i in idx]
    for name, _param, dim, idx, _ in organic_media.parameter_layout(config.organic):
        wanted[dim] = [config.organic[i].name for i in idx]
    if design.event_names:
        wanted["event"] = design.event_names
    for name, da in stacked.data_vars.items():
        sel = {d: wanted[d] for d in da.dims if d in wanted}
        missing = {d: sorted(set(v) - set(map(str, da.coords[d].values))) for d, v in sel.items()}
        if any(missing.values()):
            raise ValueError(f"posterior variable {name} lacks coordinates {missing}; was it fitted with this config?")
        da = da.sel(sel) if sel else da
        draws[name] = np.asarray(da.transpose("sample", ...).values, dtype=float)
    return draws


def compute_effects(posterior: xr.Dataset, config: Config, data: MMMData, scaling: Scaling, *,
                    fitted_periods: int | None = None) -> Effects:
    """All per-draw figures of ``config``'s window (default: the whole data range).

    ``fitted_periods``: ``data`` runs past the periods the posterior was fitted on (a forecast of later
    periods, :mod:`mmm.analysis.forecast`): the first ``fitted_periods`` rows are the fit's design. Time keeps
    the fit's centre, and a moving baseline and a time-varying media effect hold their last fitted value after
    it (what a plan assumes too).
    """
    data = in_config_order(data, config)
    design = build_design(data, scaling, config.design)
    if fitted_periods is not None:
        design = replace(design, time=design.time - design.time[:fitted_periods].mean())
    draws = posterior_draws(posterior, config, design)
    channels = config.channels
    if not next(iter(draws.values())).shape[0]:
        raise ValueError("the posterior holds no draws")
    tail = max(c.max_lag for c in channels) - 1
    start, end = analysis_window(config, data)
    in_w = np.asarray((data.dates >= start) & (data.dates <= end))
    in_w_ext = np.concatenate([in_w, np.zeros(tail, dtype=bool)])

    # spend over the data plus a zero-spend tail so carry-over after the window is counted
    spend_ext = np.vstack([design.spend, np.zeros((tail, len(channels)))])
    counterfactual = spend_ext * ~in_w_ext[:, None]  # each channel's own "zero inside W" scenario
    bumped = spend_ext * np.where(in_w_ext, 1 + MROAS_STEP, 1.0)[:, None]

    params = {name: draws[name] for name, *_ in media.parameter_layout(channels)}
    # reach-and-frequency channels: the frequency stays as it was in every scenario (1 in the tail)
    frequency = np.vstack([design.frequency, np.ones((tail, len(channels)))])
    adstocked, saturated = media.media_response(spend_ext, channels, params, frequency=frequency)
    coef = params[media.COEF][:, None, :]
    n_fit = design.n_periods if fitted_periods is None else fitted_periods
    # (D, T+tail) or None: steady
    strength = media_effect.multiplier_draws(draws, design.time[:n_fit], tail + design.n_periods - n_fit)
    if strength is not None:  # each period's effect at that period's strength (the tail: the last one's)
        coef = coef * strength[:, :, None]
    actual = saturated * coef * scaling.kpi
    # W covering every period with spend (the default) leaves no media at all: one zero period
    # broadcasts to the same numbers without a second pass over (draws, periods, channels)
    some = counterfactual.any()
    adstocked_cf, saturated_cf = media.media_response(counterfactual if some else counterfactual[:1], channels,
                                                      params, frequency=frequency if some else frequency[:1])
    cf = saturated_cf * coef * scaling.kpi
    up = media.contributions(bumped, channels, params, frequency=frequency) * scaling.kpi
    if strength is not None:
        up = up * strength[:, :, None]
    # additive channels: channel k's column of `cf` is exactly "k zeroed in W, others as they were"
    incremental_t = actual - cf  # (D, T+tail, K)
    incremental_kpi = incremental_t.sum(axis=1)

    spend_w = data.spend.loc[in_w, config.channel_names].sum(axis=0).to_numpy(dtype=float)
    value = config.finance.value_per_kpi
    incremental_value = incremental_kpi * value
    roas = incremental_value / spend_w
    mroas = (up - actual).sum(axis=1) * value / (MROAS_STEP * spend_w)

    # of the adstocked input that W's spend puts into period t, the share spent in t itself
    from_window = adstocked - adstocked_cf
    weights = weights_by_channel(channels, params)
    window_input = spend_ext * in_w_ext[:, None]
    if media.reach_frequency_mask(channels).any():  # reach x its frequency's gain enters the adstock
        window_input = window_input * media.frequency_gain(frequency, channels, params)
    same_period = weights[..., 0][:, None, :] * window_input  # w_0 * u_t
    share = np.divide(same_period, from_window, out=np.zeros_like(from_window), where=from_window > 0)
    immediate = (incremental_t * share).sum(axis=1)
    immediate_share = np.divide(immediate, incremental_kpi, out=np.ones_like(immediate),
                                where=incremental_kpi != 0)
    npv_fields = _present_value(config, data.freq, incremental_t * value, window_input, weights)

    margins = np.array([config.finance.margin_for(c) for c in config.channel_names])
    # the dates the shocks were fitted on (dims fit_date; runs written before that have them on every date)
    shocks = posterior.data_vars.get(baseline_terms.SHOCKS)
    shock_dates = None if shocks is None else pd.DatetimeIndex(shocks.coords[shocks.dims[-1]].values)
    components, kinds = _components(draws, config, data, scaling, design)  # model units
    # events and organic media are terms of the baseline; a treatment already is, as a control
    extra = sum((v for name, v in components.items() if kinds[name] != "treatment"), np.zeros(design.n_periods))
    baseline = _baseline(draws, config, design, shock_dates, n_fit) + extra
    n_periods = data.n_periods
    contributions = actual[:, :n_periods, :]
    components = {name: values * scaling.kpi for name, values in components.items()}
    return Effects(
        channels=config.channel_names, dates=data.dates, window=(start, end), interval=config.interval,
        spend=spend_w, incremental_kpi=incremental_kpi, incremental_value=incremental_value, roas=roas,
        profit_roi=roas * margins - 1.0, mroas=mroas, immediate_share=immediate_share,
        in_window_share=np.divide(incremental_t[:, in_w_ext, :].sum(axis=1), incremental_kpi,
                                  out=np.ones_like(incremental_kpi), where=incremental_kpi != 0),
        payback_50=payback_periods(weights, 0.5).astype(float), payback_90=payback_periods(weights, 0.9).astype(float),
        contributions=contributions, mu=baseline * scaling.kpi + contributions.sum(axis=-1),
        actual=data.kpi.to_numpy(dtype=float), gross_margin=config.finance.margin,
        hurdle_rate=config.finance.hurdle_rate, chains=int(posterior.sizes.get("chain", 1)), margins=margins,
        components=components, component_kinds=kinds, **npv_fields,
    )


def _present_value(config: Config, freq: str, incremental_value_t: np.ndarray, window_input: np.ndarray,
                   weights: np.ndarray) -> dict[str, Any]:
    """The present-value fields of :class:`Effects` (none without ``finance.discount_rate``): each period's return
    discounted to the periods of the spend behind it (:mod:`mmm.analysis.present_value`)."""
    rate = config.finance.discount_rate
    if rate is None:
        return {}
    discount = present_value.period_discount(rate, freq)
    factor = present_value.present_value_factor(window_input, weights, discount)
    return {"discount_rate": rate, "incremental_value_npv": (incremental_value_t * factor).sum(axis=1),
            "payback_50_npv": present_value.discounted_payback(weights, discount, 0.5).astype(float),
            "payback_90_npv": present_value.discounted_payback(weights, discount, 0.9).astype(float)}


def in_config_order(data: MMMData, config: Config) -> MMMData:
    """Data columns in the config's channel order: parameters are aligned by name, and so is spend."""
    names = config.channel_names
    if list(data.channels) == names:
        return data
    missing = sorted(set(names) - set(data.channels))
    if missing:
        raise ValueError(f"the data has no channel(s) {', '.join(missing)} that the config names")
    exposure = data.exposure[[c for c in names if c in data.exposure]] if data.exposure is not None else None
    return replace(data, spend=data.spend[names], exposure=exposure)


def weights_by_channel(channels, params) -> np.ndarray:
    """(D, K, L_max) adstock weights in channel order (zero-padded past each channel's lag)."""
    by_kind = media.adstock_weights(channels, params)
    max_lag = max(c.max_lag for c in channels)
    n_draws = params[media.COEF].shape[0]
    out = np.zeros((n_draws, len(channels), max_lag))
    for kind, idx in media.groups(channels, "adstock").items():
        w = by_kind[kind]
        out[:, idx, : w.shape[-1]] = w
    return out


def _components(draws: dict[str, np.ndarray], config: Config, data: MMMData, scaling: Scaling,
                design: Design) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """(D, T) contribution of each event (its offsets summed), organic channel and treatment, model units.

    A treatment's is ``coef x (value - reference)``: what it added against its reference level
    (min / max / mean over this series' periods, or the stated number)."""
    out: dict[str, np.ndarray] = {}
    kinds: dict[str, str] = {}
    column = 0
    for event in config.events:
        n = len(event.offsets)
        out[event.name] = draws["event_coef"][:, column:column + n] @ design.events[:, column:column + n].T
        kinds[event.name] = "event"
        column += n
    if config.organic:
        organic = organic_media.contributions(design.organic, config.organic, draws, xp=np)
        for j, spec in enumerate(config.organic):
            out[spec.name], kinds[spec.name] = organic[..., j], "organic"
    for treatment in config.treatments:
        j = design.controls.index(treatment.column)
        column_values = data.controls[treatment.column].to_numpy(dtype=float)
        reference = (treatment.reference_value(column_values) - scaling.control_center[treatment.column]) \
            / scaling.control_scale[treatment.column]
        out[treatment.name] = draws["control_coef"][:, j:j + 1] * (design.control_values[:, j] - reference)[None, :]
        kinds[treatment.name] = "treatment"
    return out, kinds


def _baseline(draws: dict[str, np.ndarray], config: Config, design: Design,
              shock_dates: pd.DatetimeIndex | None = None, fitted_periods: int | None = None) -> np.ndarray:
    """(D, T) intercept + trend + seasonality + controls and a moving baseline, model units (events and organic
    media are added from :func:`_components`). Per-period shocks belong to the dates they were fitted on (``shock_dates``): a period the fit did
    not see has no shock (its expected value)."""
    base = draws["intercept"][:, None] * np.ones(design.n_periods)
    if "trend" in draws:
        base = base + draws["trend"][:, None] * design.time[None, :]
    if "season" in draws:
        base = base + draws["season"] @ design.fourier.T
    if "control_coef" in draws:
        base = base + draws["control_coef"] @ design.control_values.T
    moving = config.model.baseline
    if moving.on:  # the same in the factual and every counterfactual: it enters the baseline only
        n_fit = design.n_periods if fitted_periods is None else fitted_periods
        phi, omega = (design_basis(design.time[:n_fit], design.fourier[:n_fit], moving.n_basis, config.model.trend,
                                   moving.kernel) if moving.smooth else (None, None))
        smooth = time_effect({k: v for k, v in draws.items() if k != baseline_terms.SHOCKS}, phi, omega,
                             kernel=moving.kernel)
        if smooth is not None:  # after the fitted periods: its last fitted value
            base = base + np.concatenate([smooth, np.repeat(smooth[:, -1:], design.n_periods - n_fit, axis=1)],
                                         axis=1)
        if baseline_terms.SHOCKS in draws:  # absent: shocks "auto" on one geo
            # projected off the fitted dates' intercept, trend and season, as in the model (any affine time will
            # do: the projection only depends on the span of [1, t])
            fixed_time = np.asarray((shock_dates - shock_dates[0]).days, dtype=float) / 365.25
            shock_fixed = baseline_terms.shock_projection(
                fixed_time, fourier_features(shock_dates, config.model.seasonality_order,
                                             weekly_pairs(design.fourier_names)), config.model.trend)
            fitted = time_effect({k: draws[k] for k in (baseline_terms.SHOCK_SD, baseline_terms.SHOCKS)}, None, None,
                                 shock_fixed=shock_fixed)
            where = design.dates.get_indexer(shock_dates)
            seen = where >= 0
            shocks = np.zeros_like(base)
            shocks[:, where[seen]] = fitted[:, seen]
            base = base + shocks
    return base
