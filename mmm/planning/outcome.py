"""What a plan for the next periods returns, per posterior draw: :class:`PlanModel` evaluates any
split of spend over the ``periods`` after the data, with carry-in from the last actual spend,
into a :class:`PlanOutcome` (incremental KPI, value, profit and mROAS per draw and channel).

    incremental KPI_k = Σ_t  μ_k(history + plan)_t − μ_k(history + nothing)_t

summed over the plan periods and their carry-over tail. A time-varying media effect
(:mod:`mmm.model.media_effect`) is planned at its strength in the data's last period. The media response is
:mod:`mmm.model.media`'s (the model's own adstock and saturation); channels are additive, so
channel outcomes sum exactly to the plan's total. :mod:`mmm.planning.optimize` searches over these.
:meth:`PlanModel.side_by_side` evaluates several such models as one (a geo plan's cells).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from mmm.model import media
from mmm.model import media_effect
from mmm.spec.config import Config, ConfigError
from mmm.data.load import DataError, MMMData, Scaling
from mmm.data.design import build_design
from mmm.analysis import present_value
from mmm.analysis.effects import in_config_order, posterior_draws, summarize, weights_by_channel
from mmm.model.transforms import SATURATIONS

DEFAULT_PERIODS = {"W": 13, "D": 91}  # one quarter
PERIOD_STEP = {"W": pd.Timedelta(weeks=1), "D": pd.Timedelta(days=1)}
MAX_PLAN_DRAWS = 2000  # thinned evenly beyond this: decisions need the posterior's shape, not every draw
MROAS_STEP = 0.01  # h in docs/figures.md's marginal ROAS
HILL_SLOPE_FLOOR = 1e-4  # x / half-saturation where a Hill curve's slope at zero input is taken


def cvar(values: np.ndarray, alpha: float) -> float:
    """Mean of the worst ``alpha`` share of draws (lower tail), with the boundary draw weighted in part."""
    ordered = np.sort(np.asarray(values, dtype=float))
    mass = alpha * len(ordered)
    whole = int(np.floor(mass))
    total = ordered[:whole].sum() + (mass - whole) * (ordered[whole] if whole < len(ordered) else 0.0)
    return float(total / mass)


# ----------------------------------------------------------------------------- saturation and its slope


def saturate(adstocked: np.ndarray, channels, params: Mapping[str, np.ndarray], *, slope: bool = False):
    """Each channel's saturation of adstocked scaled spend (..., T, K), and optionally d/dx.

    The values come from the registered transforms (the model's own definitions); the
    slopes are their analytic derivatives (checked against finite differences in tests).
    Reach-and-frequency channels are linear in their adstocked input (their saturation acted on
    frequency before it): value ``x``, slope 1.
    """
    rf = media.reach_frequency_mask(channels)
    if rf.any():
        out = _saturate_all(adstocked, channels, params, slope)
        if slope:
            return np.where(rf, adstocked, out[0]), np.where(rf, 1.0, out[1])
        return np.where(rf, adstocked, out)
    return _saturate_all(adstocked, channels, params, slope)


def recent_frequency(design, data, config, lookback: int) -> np.ndarray:
    """(K,) each reach-and-frequency channel's reach-weighted scaled frequency over the last ``lookback``
    periods (what a plan holds); 1 for the other channels."""
    out = np.ones(len(config.channels))
    if data.frequency is None:
        return out
    for k, channel in enumerate(config.channels):
        if channel.frequency:
            reach = data.exposure[channel.name].to_numpy(dtype=float)[-lookback:]
            scaled = design.frequency[-lookback:, k]
            out[k] = float((scaled * reach).sum() / reach.sum()) if reach.sum() > 0 else float(scaled.mean())
    return out


def _saturate_all(adstocked: np.ndarray, channels, params: Mapping[str, np.ndarray], slope: bool):
    groups = media.groups(channels, "saturation")
    if len(groups) == 1:  # every channel of one kind: no gathering of columns (the optimizer calls this often)
        return _saturate_kind(next(iter(groups)), adstocked, params, slope)
    out = np.empty_like(adstocked)
    grad = np.empty_like(adstocked) if slope else None
    for kind, idx in groups.items():
        parts = _saturate_kind(kind, adstocked[..., idx], params, slope)
        if slope:
            out[..., idx], grad[..., idx] = parts
        else:
            out[..., idx] = parts
    return (out, grad) if slope else out


def _saturate_kind(kind: str, x: np.ndarray, params: Mapping[str, np.ndarray], slope: bool):
    transform = SATURATIONS[kind]
    kind_params = {p: params[media.var_name(kind, p)] for p in transform.param_names}
    value = transform(x, kind_params)
    return (value, _saturation_slope(kind, x, value, kind_params, transform)) if slope else value


def _saturation_slope(kind: str, x: np.ndarray, value: np.ndarray, params: Mapping[str, np.ndarray],
                      transform) -> np.ndarray:
    if kind == "logistic":  # tanh(lam x / 2)' = lam / 2 (1 - tanh²)
        return params["lam"][..., None, :] / 2.0 * (1.0 - value ** 2)
    if kind == "hill":  # (x^s / (x^s + K^s))' = s h (1 - h) / x
        s, half = params["slope"][..., None, :], params["half_saturation"][..., None, :]
        # at x -> 0 the slope goes to 0 (s > 1) or without bound (s < 1): below a floor far under the
        # half-saturation it is taken at the floor, so a channel with no carry-in and no spend shows the
        # optimizer a large but finite return on its first unit (an unbounded one derails the line search)
        floor = HILL_SLOPE_FLOOR * half
        at = np.maximum(x, floor)
        h = np.where(x >= floor, value, transform(at, params))
        return s * h * (1.0 - h) / at
    step = 1e-6 * np.maximum(np.abs(x), 1e-3)  # a transform added later: central differences of its values
    return (transform(x + step, params) - transform(np.maximum(x - step, 0.0), params)) / (
        x + step - np.maximum(x - step, 0.0))


# ----------------------------------------------------------------------------- plan outcomes


@dataclass
class PlanOutcome:
    """One plan's outcome per posterior draw (leading axis) and channel, in currency."""

    name: str
    channels: list[str]
    spend: np.ndarray  # (K,) currency over the plan periods
    value: np.ndarray  # (D, K) incremental value
    margins: np.ndarray  # (K,)
    value_per_kpi: float
    interval: float
    mroas: np.ndarray  # (D, K) marginal value per extra unit of spend at this plan
    cells: PlanOutcome | None = None  # a geo plan's same outcome per (geo, channel) cell; channels sum them per draw
    value_npv: np.ndarray | None = None  # (D, K) incremental value at present value (finance.discount_rate given)

    @property
    def budget(self) -> float:
        return float(self.spend.sum())

    @property
    def incremental_kpi(self) -> np.ndarray:
        return self.value / self.value_per_kpi

    @property
    def profit(self) -> np.ndarray:
        """(D, K) value × margin − spend."""
        return self.value * self.margins - self.spend

    @property
    def profit_npv(self) -> np.ndarray:
        """(D, K) value at present value × margin − spend."""
        return self.value_npv * self.margins - self.spend

    @property
    def total_value(self) -> np.ndarray:
        return self.value.sum(axis=1)

    @property
    def total_profit(self) -> np.ndarray:
        return self.profit.sum(axis=1)

    @property
    def metrics(self) -> tuple[str, ...]:
        """The per-channel figures of :meth:`channel_table` (present value ones when a discount rate was given)."""
        face = ("incremental_kpi", "incremental_value", "profit", "roas", "profit_roi", "mroas")
        return face + (("incremental_value_npv", "profit_npv", "roas_npv") if self.value_npv is not None else ())

    def channel_table(self) -> pd.DataFrame:
        """One row per channel: spend, share, incremental KPI / value / profit, ROAS, profit ROI, mROAS."""
        rows = []
        for k, channel in enumerate(self.channels):
            spend = float(self.spend[k])
            row: dict[str, Any] = {"channel": channel, "spend": spend,
                                   "share": spend / self.budget if self.budget else 0.0}
            figures = {"incremental_kpi": self.incremental_kpi[:, k], "incremental_value": self.value[:, k],
                       "profit": self.profit[:, k], "mroas": self.mroas[:, k]}
            if spend > 0:
                figures["roas"] = self.value[:, k] / spend
                figures["profit_roi"] = self.profit[:, k] / spend
            if self.value_npv is not None:
                figures["incremental_value_npv"] = self.value_npv[:, k]
                figures["profit_npv"] = self.profit_npv[:, k]
                if spend > 0:
                    figures["roas_npv"] = self.value_npv[:, k] / spend
            for metric in self.metrics:
                stats = summarize(figures[metric], self.interval) if metric in figures else dict.fromkeys(
                    ("mean", "median", "lo", "hi"), float("nan"))
                for stat, number in stats.items():
                    row[f"{metric}_{stat}"] = number
            row["p_profitable"] = float((self.profit[:, k] > 0).mean()) if spend > 0 else float("nan")
            rows.append(row)
        return pd.DataFrame(rows)

    def totals(self, cvar_alpha: float = 0.1) -> dict[str, Any]:
        """The plan's totals per draw, summarized. The channel figures sum to these, draw by draw."""
        budget = self.budget
        total_profit = self.total_profit
        out: dict[str, Any] = {
            "spend": budget,
            "incremental_kpi": summarize(self.incremental_kpi.sum(axis=1), self.interval),
            "incremental_value": summarize(self.total_value, self.interval),
            "profit": summarize(total_profit, self.interval),
            "p_profitable": float((total_profit > 0).mean()),
            f"cvar_{round(cvar_alpha * 100)}_profit": cvar(total_profit, cvar_alpha),
        }
        if budget > 0:
            out["roas"] = summarize(self.total_value / budget, self.interval)
            out["profit_roi"] = summarize(total_profit / budget, self.interval)
        if self.value_npv is not None:
            out["incremental_value_npv"] = summarize(self.value_npv.sum(axis=1), self.interval)
            out["profit_npv"] = summarize(self.profit_npv.sum(axis=1), self.interval)
            out["p_profitable_npv"] = float((self.profit_npv.sum(axis=1) > 0).mean())
            if budget > 0:
                out["roas_npv"] = summarize(self.value_npv.sum(axis=1) / budget, self.interval)
        return out

    def to_dict(self, cvar_alpha: float = 0.1) -> dict[str, Any]:
        table = self.channel_table()
        channels = {}
        for row in table.to_dict("records"):
            name = row.pop("channel")
            entry: dict[str, Any] = {"spend": row["spend"], "share": row["share"], "p_profitable": row["p_profitable"]}
            for metric in self.metrics:
                entry[metric] = {stat: row[f"{metric}_{stat}"] for stat in ("mean", "median", "lo", "hi")}
            channels[name] = entry
        return {"name": self.name, "channels": channels, "totals": self.totals(cvar_alpha)}


class PlanModel:
    """Outcome of any plan for the ``periods`` periods after the data, vectorized over posterior draws.

    Parameters
    ----------
    posterior : xarray Dataset of the posterior (chain, draw, ...)
    config, data, scaling : the run's config, modeled data and scaling constants
    periods : plan horizon in periods (default: a quarter, 13 weeks or 91 days)
    flighting : ``"constant"`` (the same spend every period), ``"last-year"`` (proportional to each
        channel's spend in the same periods a year earlier) or a date (``"YYYY-MM-DD"``): proportional
        to the ``periods`` periods of data starting there.
    lookback : periods of recent spend that define the current run-rate (default: ``periods``)
    max_draws : posterior draws used (thinned evenly beyond it)
    """

    def __init__(self, posterior: xr.Dataset, config: Config, data: MMMData, scaling: Scaling, *,
                 periods: int | None = None, flighting: str | pd.Timestamp = "constant",
                 lookback: int | None = None, max_draws: int | None = MAX_PLAN_DRAWS) -> None:
        data = in_config_order(data, config)
        self.config = config
        self.run_id: str | None = None  # set by mmm.planning.plans.plan_model for the reports
        self.diagnostics_ok = True
        self.channels = config.channel_names
        self.freq = data.freq
        self.periods = int(periods or DEFAULT_PERIODS.get(data.freq, 13))
        if self.periods < 1:
            raise ConfigError(f"plan periods must be a positive number of {self.period_word}s; got {periods}")
        self.interval = config.interval
        self.currency = config.finance.currency
        # channels driven by exposure: planned spend buys exposure at this recent cost per unit (Scaling)
        self.cost_per_unit = dict(scaling.cost_per_unit)
        self.value_per_kpi = config.finance.value_per_kpi
        self.margins = np.array([config.finance.margin_for(c) for c in self.channels])
        step = PERIOD_STEP[data.freq]
        self.dates = pd.DatetimeIndex([data.dates[-1] + step * (i + 1) for i in range(self.periods)])

        lookback = int(lookback) if lookback is not None else min(self.periods, data.n_periods)
        if not 1 <= lookback <= data.n_periods:
            raise ConfigError(f"lookback must be 1..{data.n_periods} periods (the data's length); got {lookback}")
        recent = data.spend.iloc[-lookback:][self.channels]
        self.lookback = lookback
        self.run_rate = recent.mean(axis=0).to_numpy(dtype=float) * self.periods  # currency over the horizon
        self.current_window = (data.dates[-lookback].date().isoformat(), data.dates[-1].date().isoformat())
        self.flighting_name, self.flighting, self.flighting_notes, reference = _flighting(
            flighting, data, self.channels, self.dates, step)
        # each channel's spend over the reference periods of the flighting; with constant flighting its run-rate
        # (the lookback's spend, rescaled to the plan periods): a geo plan splits channel budgets in these shares
        self.reference_window = (tuple(d.date().isoformat() for d in reference[[0, -1]]) if reference is not None
                                 else self.current_window)
        self.reference_spend = (data.spend.loc[reference, self.channels].sum(axis=0).to_numpy(dtype=float)
                                if reference is not None else self.run_rate.copy())

        self.specs = list(config.channels)  # the transforms of each channel (cell) of the plan
        design = build_design(data, scaling, config.design)
        draws = posterior_draws(posterior, config, design)
        params = {name: draws[name] for name, *_ in media.parameter_layout(config.channels)}
        strength = media_effect.multiplier_draws(draws, design.time)  # a time-varying effect: plan at the latest
        if strength is not None:
            params[media.COEF] = params[media.COEF] * strength[:, -1:]
        self.params = _thin(params, max_draws)
        self.n_draws = int(self.params[media.COEF].shape[0])
        n_channels = len(self.channels)
        max_lag = max(c.max_lag for c in config.channels)
        history = design.spend[max(0, data.n_periods - (max_lag - 1)):]
        n_hist, tail = len(history), max_lag - 1
        spend_scale = np.array([scaling.spend[c] for c in self.channels])
        zeros_after = np.zeros((self.periods + tail, n_channels))
        # reach and frequency: a plan buys reach at the recent cost per unit and holds the recent frequency
        planned_frequency = recent_frequency(design, data, config, lookback)
        self.held_frequency = {c: float(planned_frequency[k] * scaling.frequency[c])  # in the data's units
                               for k, c in enumerate(self.channels) if c in scaling.frequency}
        frequency = np.vstack([design.frequency[max(0, data.n_periods - (max_lag - 1)):],
                               np.tile(planned_frequency, (self.periods + tail, 1))])
        carry_in, _ = media.media_response(np.vstack([history, zeros_after]), config.channels, self.params,
                                           frequency=frequency)
        unit_plan = np.vstack([np.zeros((n_hist, n_channels)), self.flighting / spend_scale,
                               np.zeros((tail, n_channels))])  # scaled spend of one currency unit per channel
        unit_gain, _ = media.media_response(unit_plan, config.channels, self.params, frequency=frequency)
        # adstock is linear: the plan's adstocked input is carry_in + spend_k × unit_gain
        self._carry = np.ascontiguousarray(carry_in[:, n_hist:, :])
        self._unit = np.ascontiguousarray(unit_gain[:, n_hist:, :])
        self._carry_saturated = saturate(self._carry, self.specs, self.params)  # (D, P + tail, K)
        self._base = self._carry_saturated.sum(axis=1)  # (D, K)
        self._scale = self.params[media.COEF] * scaling.kpi * self.value_per_kpi  # (D, K) currency per saturation
        # present value (finance.discount_rate): the share of each period's plan return kept when each return is
        # discounted to the plan period of the spend behind it; a channel's plan spend has one shape over the
        # periods (its flighting), so the share does not depend on the amount
        self.discount_rate = config.finance.discount_rate
        self._present_value = None
        if self.discount_rate is not None:
            discount = present_value.period_discount(self.discount_rate, data.freq)
            self._present_value = np.ascontiguousarray(present_value.present_value_factor(
                unit_plan, weights_by_channel(config.channels, self.params), discount)[:, n_hist:, :])
        self.history_periods = n_hist
        self.tail_periods = tail

    @classmethod
    def side_by_side(cls, models: Sequence[PlanModel], names: Sequence[str]) -> PlanModel:
        """One plan model whose channels are ``models``' channels side by side, renamed ``names``.

        E.g. the (geo, channel) cells of a geo plan: one national-shaped model per geo (its own
        carry-in, scaling and parameter draws), evaluated together. Channels stay additive, so
        each cell's outcome is exactly what its own model gives. The models must share the plan
        periods, the carry-over tail and the number of draws.
        """
        first = models[0]
        for m in models[1:]:
            if not (m.dates.equals(first.dates) and m.tail_periods == first.tail_periods
                    and m.n_draws == first.n_draws):
                raise ValueError("side_by_side needs models with the same plan periods, tail and draws")
        specs = [spec for m in models for spec in m.specs]
        if len(names) != len(specs) or len(set(names)) != len(names):
            raise ValueError(f"side_by_side needs {len(specs)} distinct names; got {len(names)}")
        out = cls.__new__(cls)
        out.__dict__.update(vars(first))
        out.channels = list(names)
        out.specs = [replace(spec, name=name) for spec, name in zip(specs, names)]
        # every parameter group lists its channels in channel order, so per-model blocks side by side keep it
        out.params = {name: np.concatenate([m.params[name] for m in models], axis=-1) for name in first.params}
        for name in ("margins", "run_rate", "reference_spend"):
            setattr(out, name, np.concatenate([getattr(m, name) for m in models]))
        out.flighting = np.concatenate([m.flighting for m in models], axis=1)
        out.flighting_notes = [note for m in models for note in m.flighting_notes]
        for name in ("_carry", "_unit", "_base", "_scale", "_carry_saturated"):
            setattr(out, name, np.ascontiguousarray(np.concatenate([getattr(m, name) for m in models], axis=-1)))
        if first._present_value is not None:
            out._present_value = np.ascontiguousarray(np.concatenate([m._present_value for m in models], axis=-1))
        return out

    @property
    def period_word(self) -> str:
        return {"W": "week", "D": "day"}.get(self.freq, "period")

    def national_view(self, result: Any) -> Any:
        """An optimized plan (:class:`mmm.planning.optimize.OptimizedPlan`) over the run's channels: itself here;
        a geo plan's optimized per (geo, channel) is summed over geos per draw."""
        return result

    def expand_bounds(self, bounds: Mapping[str, Any] | None, budget: float | None = None,
                      source: str = "bounds") -> dict[str, Any]:
        """Bounds keyed by this model's channels, at ``budget``; a national plan takes them as given.
        (A by-geo plan adds default limits per cell and spreads a channel's row over its geos.)"""
        return dict(bounds or {})

    # ---- per-draw values -------------------------------------------------------------------
    def _weights(self, basis: str) -> np.ndarray | None:
        """Per (draw, period, channel) weight of each period's return: None at face value."""
        if basis == "face":
            return None
        if basis != "present_value":
            raise ValueError(f"basis is face or present_value; got {basis!r}")
        if self._present_value is None:
            raise ConfigError("a present-value plan needs finance.discount_rate in the run's config (an annual "
                              "rate, e.g. 0.08); set it and refit, or plan at face value")
        return self._present_value

    def channel_values(self, spend: np.ndarray, basis: str = "face") -> np.ndarray:
        """(D, K) incremental value (currency) of spending ``spend`` (K,) over the plan periods; ``basis``
        ``present_value`` discounts each return to the period of its spend."""
        x = self._carry + np.asarray(spend, dtype=float) * self._unit
        weights = self._weights(basis)
        if weights is None:
            return (saturate(x, self.specs, self.params).sum(axis=1) - self._base) * self._scale
        return ((saturate(x, self.specs, self.params) - self._carry_saturated) * weights).sum(axis=1) * self._scale

    def channel_values_and_slopes(self, spend: np.ndarray, basis: str = "face") -> tuple[np.ndarray, np.ndarray]:
        """(D, K) values and their derivatives in each channel's own spend (value per currency unit)."""
        x = self._carry + np.asarray(spend, dtype=float) * self._unit
        sat, slope = saturate(x, self.specs, self.params, slope=True)
        weights = self._weights(basis)
        if weights is None:
            values = (sat.sum(axis=1) - self._base) * self._scale
            return values, (slope * self._unit).sum(axis=1) * self._scale
        values = ((sat - self._carry_saturated) * weights).sum(axis=1) * self._scale
        return values, (slope * self._unit * weights).sum(axis=1) * self._scale

    def vector(self, plan: Mapping[str, float] | Sequence[float] | np.ndarray, where: str = "plan") -> np.ndarray:
        """Spend per channel, in this model's channel order, from a mapping matched by *name*."""
        if isinstance(plan, Mapping):
            unknown = sorted(set(plan) - set(self.channels))
            missing = [c for c in self.channels if c not in plan]
            if unknown or missing:
                raise ConfigError(f"{where}: " + "; ".join(
                    ([f"unknown channel(s) {', '.join(unknown)}"] if unknown else [])
                    + ([f"no spend for channel(s) {', '.join(missing)}"] if missing else []))
                    + f". The run's channels are: {', '.join(self.channels)}")
            values = np.array([float(plan[c]) for c in self.channels])
        else:
            values = np.asarray(plan, dtype=float)
            if values.shape != (len(self.channels),):
                raise ConfigError(f"{where}: expected {len(self.channels)} spends ({', '.join(self.channels)}); "
                                  f"got shape {values.shape}. Pass a mapping channel -> spend.")
        bad = [c for c, v in zip(self.channels, values) if not np.isfinite(v) or v < 0]
        if bad:
            raise ConfigError(f"{where}: spend of {', '.join(bad)} must be a non-negative number")
        return values

    def evaluate(self, plan: Mapping[str, float] | np.ndarray, name: str = "plan") -> PlanOutcome:
        """Outcome per draw of a plan (a mapping channel -> spend over the horizon, currency)."""
        spend = self.vector(plan, where=name)
        values, slopes = self.channel_values_and_slopes(spend)
        bumped = self.channel_values(spend * (1 + MROAS_STEP))
        step = MROAS_STEP * spend
        # docs/figures.md's finite difference where there is spend; the derivative where there is none
        mroas = np.where(step > 0, (bumped - values) / np.where(step > 0, step, 1.0), slopes)
        return PlanOutcome(name=name, channels=list(self.channels), spend=spend, value=values,
                           margins=self.margins, value_per_kpi=self.value_per_kpi, interval=self.interval,
                           mroas=mroas, value_npv=None if self._present_value is None
                           else self.channel_values(spend, "present_value"))

    def current_mix(self, budget: float | None = None) -> np.ndarray:
        """The recent run-rate's mix over the horizon, scaled to ``budget`` (default: the run-rate itself)."""
        return mix_at(self.run_rate, budget)

    def response_curve(self, channel: str, spends: np.ndarray) -> pd.DataFrame:
        """Incremental value of ``channel`` over the plan periods at each spend, with its interval."""
        k = self.channels.index(channel)
        lo_q, hi_q = (1 - self.interval) / 2, (1 + self.interval) / 2
        rows = []
        for s in np.asarray(spends, dtype=float):
            spend = np.zeros(len(self.channels))
            spend[k] = s
            v = self.channel_values(spend)[:, k]
            lo, hi = np.quantile(v, [lo_q, hi_q])
            rows.append({"channel": channel, "spend": float(s), "value_mean": float(v.mean()), "value_lo": float(lo),
                         "value_hi": float(hi)})
        return pd.DataFrame(rows)


def mix_at(run_rate: np.ndarray, budget: float | None) -> np.ndarray:
    """``run_rate``'s mix scaled to ``budget`` (an even split when nothing runs; the run-rate itself for None)."""
    if budget is None:
        return run_rate.copy()
    total = run_rate.sum()
    if total <= 0:
        return np.full(len(run_rate), budget / len(run_rate))
    return run_rate / total * budget


def _thin(params: dict[str, np.ndarray], limit: int | None) -> dict[str, np.ndarray]:
    n = next(iter(params.values())).shape[0]
    if not n:
        raise ValueError("the posterior holds no draws")
    if limit is None or n <= limit:
        return params
    keep = np.unique(np.linspace(0, n - 1, limit).round().astype(int))
    return {k: v[keep] for k, v in params.items()}


def _flighting(flighting: Any, data: MMMData, channels: list[str], dates: pd.DatetimeIndex,
               step: pd.Timedelta) -> tuple[str, np.ndarray, list[str], pd.DatetimeIndex | None]:
    """(name, (N, K) shares of each channel's plan spend per period summing to 1, notes, reference dates)."""
    n = len(dates)
    constant = np.full((n, len(channels)), 1.0 / n)
    if flighting is None or (isinstance(flighting, str) and flighting.strip().lower() == "constant"):
        return "constant", constant, [], None
    if isinstance(flighting, str) and flighting.strip().lower() == "last-year":
        start = dates[0] - (pd.Timedelta(weeks=52) if step == pd.Timedelta(weeks=1) else pd.Timedelta(days=364))
        name = "last-year"
    else:
        try:
            start = pd.Timestamp(flighting)
        except (ValueError, TypeError):
            raise ConfigError(f"flighting {flighting!r} is not constant, last-year or a date (YYYY-MM-DD) "
                              "where the reference periods start") from None
        name = f"reference from {start.date()}"
    first = int(np.searchsorted(data.dates, start))
    if first >= data.n_periods or data.dates[first] != start or first + n > data.n_periods:
        raise DataError(f"{data.source}: flighting reference needs {n} periods of data starting {start.date()}; "
                        f"the data covers {data.dates[0].date()}..{data.dates[-1].date()} on its own dates. "
                        "Pick a reference start that is a data date with enough periods after it, or use constant.")
    reference = data.spend.iloc[first:first + n][channels].to_numpy(dtype=float)
    totals = reference.sum(axis=0)
    pattern = np.where(totals > 0, reference / np.where(totals > 0, totals, 1.0), 1.0 / n)
    notes = [f"{c} had no spend in the reference periods; its plan spend is spread evenly"
             for c, t in zip(channels, totals) if t <= 0]
    return name, pattern, notes, data.dates[first:first + n]
