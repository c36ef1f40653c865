"""Budget planning under uncertainty: what a plan for the next periods returns, per posterior draw,
and the split of a budget that maximizes the expected return, profit, or a risk-aware profit.

A *plan* is spend per channel (currency) over the next ``periods`` periods after the data,
laid out over those periods by a flighting pattern. Its outcome per draw and channel is

    incremental KPI_k = Σ_t  μ_k(history + plan)_t − μ_k(history + nothing)_t

summed over the plan periods and their carry-over tail, where ``history`` is the last
actual spend: carry-in from it is in both terms, so it shapes where the plan sits on
each saturation curve. The media response is :mod:`mmm.media`'s (the model's own
adstock and saturation); channels are additive, so channel outcomes sum exactly to the
plan's total. Value = incremental KPI × value per KPI; profit_k = value_k × margin_k −
spend_k (``config.finance.margin_for``).

The optimizer maximizes, over posterior draws (never the posterior mean's parameters):

- ``mean``: expected incremental value;
- ``profit``: expected profit (margin-aware);
- ``cvar:a``: the conditional value at risk of profit at level ``a`` — the mean
  profit of the worst ``a`` share of draws (Rockafellar–Uryasev, softplus-smoothed
  so gradients exist; the reported CVaR is the exact empirical one).

Variables are budget shares (spend / budget) and the objective is divided by the
budget, so gradients are marginal returns of order one whatever the currency:
the optimizer never stalls at its start point for lack of gradient.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from scipy.optimize import minimize

from mmm import media
from mmm.config import Config, ConfigError
from mmm.data import DataError, MMMData, Scaling
from mmm.design import build_design
from mmm.effects import in_config_order, posterior_draws, summarize
from mmm.transforms import SATURATIONS

DEFAULT_PERIODS = {"W": 13, "D": 91}  # one quarter
PERIOD_STEP = {"W": pd.Timedelta(weeks=1), "D": pd.Timedelta(days=1)}
MAX_PLAN_DRAWS = 2000  # thinned evenly beyond this: decisions need the posterior's shape, not every draw
MROAS_STEP = 0.01  # h in DESIGN.md's marginal ROAS
BUDGET_RTOL = 1e-9
MAX_RESTARTS = 3
KKT_TOL = 1e-4  # value per unit of budget: moving budget between channels gains less than this at the optimum
HILL_SLOPE_FLOOR = 1e-4  # x / half-saturation where a Hill curve's slope at zero input is taken


# ----------------------------------------------------------------------------- objectives


@dataclass(frozen=True)
class Objective:
    """What the optimizer maximizes over posterior draws: ``mean``, ``profit`` or ``cvar`` (at ``alpha``)."""

    kind: str = "mean"
    alpha: float = 0.1

    @classmethod
    def parse(cls, text: str | Objective) -> Objective:
        """``"mean"``, ``"profit"``, ``"cvar"`` or ``"cvar:0.1"``."""
        if isinstance(text, Objective):
            return text
        name, _, level = str(text).strip().lower().partition(":")
        if name not in ("mean", "profit", "cvar") or (level and name != "cvar"):
            raise ConfigError(f"objective {text!r} is not one of mean, profit, cvar:ALPHA (e.g. cvar:0.1)")
        if name != "cvar":
            return cls(name)
        try:
            alpha = float(level) if level else 0.1
        except ValueError:
            raise ConfigError(f"objective {text!r}: the CVaR level must be a number in (0, 1), e.g. cvar:0.1") from None
        if not 0 < alpha < 1:
            raise ConfigError(f"objective {text!r}: the CVaR level must be in (0, 1), e.g. cvar:0.1")
        return cls("cvar", alpha)

    @property
    def label(self) -> str:
        return {"mean": "expected incremental value", "profit": "expected profit",
                "cvar": f"CVaR {self.alpha:.0%} of profit (mean of the worst {self.alpha:.0%} of draws)"}[self.kind]

    def __str__(self) -> str:
        return f"cvar:{self.alpha:g}" if self.kind == "cvar" else self.kind


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
    """
    out = np.empty_like(adstocked)
    grad = np.empty_like(adstocked) if slope else None
    for kind, idx in media.groups(channels, "saturation").items():
        transform = SATURATIONS[kind]
        kind_params = {p: params[media.var_name(kind, p)] for p in transform.param_names}
        x = adstocked[..., idx]
        value = transform(x, kind_params)
        out[..., idx] = value
        if slope:
            grad[..., idx] = _saturation_slope(kind, x, value, kind_params, transform)
    return (out, grad) if slope else out


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
    def total_value(self) -> np.ndarray:
        return self.value.sum(axis=1)

    @property
    def total_profit(self) -> np.ndarray:
        return self.profit.sum(axis=1)

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
            for metric in ("incremental_kpi", "incremental_value", "profit", "roas", "profit_roi", "mroas"):
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
        return out

    def to_dict(self, cvar_alpha: float = 0.1) -> dict[str, Any]:
        table = self.channel_table()
        channels = {}
        for row in table.to_dict("records"):
            name = row.pop("channel")
            entry: dict[str, Any] = {"spend": row["spend"], "share": row["share"], "p_profitable": row["p_profitable"]}
            for metric in ("incremental_kpi", "incremental_value", "profit", "roas", "profit_roi", "mroas"):
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
        self.run_id: str | None = None  # set by mmm.planning.plan_model for the reports
        self.diagnostics_ok = True
        self.channels = config.channel_names
        self.freq = data.freq
        self.periods = int(periods or DEFAULT_PERIODS.get(data.freq, 13))
        if self.periods < 1:
            raise ConfigError(f"plan periods must be a positive number of {self.period_word}s; got {periods}")
        self.interval = config.interval
        self.currency = config.finance.currency
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
        self.flighting_name, self.flighting, self.flighting_notes = _flighting(flighting, data, self.channels,
                                                                               self.dates, step)

        design = build_design(data, scaling, config.model.seasonality_order)
        draws = posterior_draws(posterior, config, design)
        params = {name: draws[name] for name, *_ in media.parameter_layout(config.channels)}
        self.params = _thin(params, max_draws)
        self.n_draws = int(self.params[media.COEF].shape[0])
        n_channels = len(self.channels)
        max_lag = max(c.max_lag for c in config.channels)
        history = design.spend[max(0, data.n_periods - (max_lag - 1)):]
        n_hist, tail = len(history), max_lag - 1
        spend_scale = np.array([scaling.spend[c] for c in self.channels])
        zeros_after = np.zeros((self.periods + tail, n_channels))
        carry_in, _ = media.media_response(np.vstack([history, zeros_after]), config.channels, self.params)
        unit_plan = np.vstack([np.zeros((n_hist, n_channels)), self.flighting / spend_scale,
                               np.zeros((tail, n_channels))])  # scaled spend of one currency unit per channel
        unit_gain, _ = media.media_response(unit_plan, config.channels, self.params)
        # adstock is linear: the plan's adstocked input is carry_in + spend_k × unit_gain
        self._carry = np.ascontiguousarray(carry_in[:, n_hist:, :])
        self._unit = np.ascontiguousarray(unit_gain[:, n_hist:, :])
        self._base = saturate(self._carry, config.channels, self.params).sum(axis=1)  # (D, K)
        self._scale = self.params[media.COEF] * scaling.kpi * self.value_per_kpi  # (D, K) currency per saturation
        self.history_periods = n_hist
        self.tail_periods = tail

    @property
    def period_word(self) -> str:
        return {"W": "week", "D": "day"}.get(self.freq, "period")

    # ---- per-draw values -------------------------------------------------------------------
    def channel_values(self, spend: np.ndarray) -> np.ndarray:
        """(D, K) incremental value (currency) of spending ``spend`` (K,) over the plan periods."""
        x = self._carry + np.asarray(spend, dtype=float) * self._unit
        return (saturate(x, self.config.channels, self.params).sum(axis=1) - self._base) * self._scale

    def channel_values_and_slopes(self, spend: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(D, K) values and their derivatives in each channel's own spend (value per currency unit)."""
        x = self._carry + np.asarray(spend, dtype=float) * self._unit
        sat, slope = saturate(x, self.config.channels, self.params, slope=True)
        values = (sat.sum(axis=1) - self._base) * self._scale
        return values, (slope * self._unit).sum(axis=1) * self._scale

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
        # DESIGN.md's finite difference where there is spend; the derivative where there is none
        mroas = np.where(step > 0, (bumped - values) / np.where(step > 0, step, 1.0), slopes)
        return PlanOutcome(name=name, channels=list(self.channels), spend=spend, value=values,
                           margins=self.margins, value_per_kpi=self.value_per_kpi, interval=self.interval,
                           mroas=mroas)

    def current_mix(self, budget: float | None = None) -> np.ndarray:
        """The recent run-rate's mix over the horizon, scaled to ``budget`` (default: the run-rate itself)."""
        if budget is None:
            return self.run_rate.copy()
        total = self.run_rate.sum()
        if total <= 0:
            return np.full(len(self.channels), budget / len(self.channels))
        return self.run_rate / total * budget

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


def _thin(params: dict[str, np.ndarray], limit: int | None) -> dict[str, np.ndarray]:
    n = next(iter(params.values())).shape[0]
    if not n:
        raise ValueError("the posterior holds no draws")
    if limit is None or n <= limit:
        return params
    keep = np.unique(np.linspace(0, n - 1, limit).round().astype(int))
    return {k: v[keep] for k, v in params.items()}


def _flighting(flighting: Any, data: MMMData, channels: list[str], dates: pd.DatetimeIndex,
               step: pd.Timedelta) -> tuple[str, np.ndarray, list[str]]:
    """(name, (N, K) shares of each channel's plan spend per period summing to 1, notes)."""
    n = len(dates)
    constant = np.full((n, len(channels)), 1.0 / n)
    if flighting is None or (isinstance(flighting, str) and flighting.strip().lower() == "constant"):
        return "constant", constant, []
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
    return name, pattern, notes


# ----------------------------------------------------------------------------- bounds


@dataclass(frozen=True)
class ChannelBounds:
    """Limits on one channel's plan spend (currency over the plan periods).

    ``min_change``/``max_change`` are relative to the current run-rate (e.g. -0.2 and 0.3 for
    −20% / +30%); ``locked`` keeps the run-rate (or ``min`` when ``min == max`` are given).
    """

    min: float | None = None
    max: float | None = None
    min_change: float | None = None
    max_change: float | None = None
    locked: bool = False


def resolve_bounds(model: PlanModel, bounds: Mapping[str, ChannelBounds] | None,
                   source: str = "bounds") -> tuple[np.ndarray, np.ndarray]:
    """(lo, hi) spend per channel in the model's order; bounds are matched by channel name."""
    bounds = dict(bounds or {})
    unknown = sorted(set(bounds) - set(model.channels))
    if unknown:
        raise ConfigError(f"{source}: unknown channel(s) {', '.join(unknown)}; the run's channels are "
                          f"{', '.join(model.channels)}. Fix the channel names (they are matched by name).")
    lo = np.zeros(len(model.channels))
    hi = np.full(len(model.channels), np.inf)
    for k, channel in enumerate(model.channels):
        b = bounds.get(channel)
        if b is None:
            continue
        rate = model.run_rate[k]
        if b.locked:
            fixed = b.min if b.min is not None and b.min == b.max else rate
            lo[k] = hi[k] = fixed
            continue
        if b.min is not None:
            lo[k] = max(lo[k], b.min)
        if b.min_change is not None:
            lo[k] = max(lo[k], rate * (1 + b.min_change))
        if b.max is not None:
            hi[k] = min(hi[k], b.max)
        if b.max_change is not None:
            hi[k] = min(hi[k], rate * (1 + b.max_change))
        if lo[k] > hi[k] * (1 + 1e-12):
            raise ConfigError(f"{source}: channel {channel}: the lower limit {lo[k]:,.2f} is above the upper limit "
                              f"{hi[k]:,.2f} (run-rate {rate:,.2f} over {model.periods} periods); widen them")
    return lo, hi


def _check_budget(budget: float, lo: np.ndarray, hi: np.ndarray, channels: list[str]) -> None:
    if not np.isfinite(budget) or budget < 0:
        raise ConfigError(f"budget must be a non-negative amount; got {budget!r}")
    if lo.sum() > budget * (1 + BUDGET_RTOL):
        raise ConfigError(f"budget {budget:,.2f} is below the locked and minimum spend of the channels "
                          f"({lo.sum():,.2f}: " + ", ".join(f"{c} {v:,.0f}" for c, v in zip(channels, lo) if v > 0)
                          + "); raise the budget or lower the minimums")
    if hi.sum() < budget * (1 - BUDGET_RTOL):
        raise ConfigError(f"budget {budget:,.2f} is above what the channels may take ({hi.sum():,.2f}: "
                          + ", ".join(f"{c} {v:,.0f}" for c, v in zip(channels, hi)) + "); lower the budget or "
                          "raise the maximums")


def project_to_budget(x: np.ndarray, lo: np.ndarray, hi: np.ndarray, total: float) -> np.ndarray:
    """The point ``clip(x + λ, lo, hi)`` that sums to ``total`` (λ by bisection), residual put where there is room."""
    lo_lam, hi_lam = float(np.min(lo - x)) - 1.0, float(np.max(np.minimum(hi, total + abs(lo).sum()) - x)) + 1.0
    for _ in range(200):
        mid = 0.5 * (lo_lam + hi_lam)
        if np.clip(x + mid, lo, hi).sum() > total:
            hi_lam = mid
        else:
            lo_lam = mid
    out = np.clip(x + 0.5 * (lo_lam + hi_lam), lo, hi)
    for _ in range(3):  # the last rounding: move the residual onto channels with room
        residual = total - out.sum()
        room = (hi - out) if residual > 0 else (out - lo)
        if residual == 0 or room.sum() <= 0:
            break
        out = out + residual * room / room.sum()
        out = np.clip(out, lo, hi)
    return out


# ----------------------------------------------------------------------------- the optimizer


@dataclass
class OptimizedPlan:
    """The optimized plan, the current mix at the same budget, and how the optimum was found."""

    budget: float
    objective: Objective
    plan: PlanOutcome
    current: PlanOutcome
    lower: np.ndarray
    upper: np.ndarray
    locked: list[str]
    starts: list[dict[str, Any]] = field(default_factory=list)
    wall_s: float = 0.0
    target: dict[str, Any] | None = None

    @property
    def p_beats_current(self) -> float:
        """Share of draws where the plan's profit beats the current mix's (same draws: a paired comparison)."""
        return float((self.plan.total_profit > self.current.total_profit).mean())

    def allocation(self) -> dict[str, float]:
        return dict(zip(self.plan.channels, map(float, self.plan.spend)))


def objective_value(outcome_values: np.ndarray, spend: np.ndarray, margins: np.ndarray, objective: Objective) -> float:
    """The objective (currency) of a plan from its per-draw channel values (D, K)."""
    if objective.kind == "mean":
        return float(outcome_values.sum(axis=1).mean())
    profit = (outcome_values * margins).sum(axis=1) - spend.sum()
    return float(profit.mean()) if objective.kind == "profit" else cvar(profit, objective.alpha)


def optimize(model: PlanModel, budget: float, *, bounds: Mapping[str, ChannelBounds] | None = None,
             objective: str | Objective = "mean", bounds_source: str = "bounds",
             starts_from: Sequence[str] = ("current mix", "even split"),
             initial: np.ndarray | None = None) -> OptimizedPlan:
    """The split of ``budget`` (currency over the plan periods) that maximizes ``objective``.

    Starts from the current mix and from an even split (both moved inside the bounds; ``initial``
    adds a start) and keeps the best optimum; the plan's spend sums to the budget exactly.
    """
    t0 = time.perf_counter()
    objective = Objective.parse(objective)
    budget = float(budget)
    lo, hi = resolve_bounds(model, bounds, bounds_source)
    _check_budget(budget, lo, hi, model.channels)
    fixed = lo >= hi
    free = ~fixed
    free_budget = budget - lo[fixed].sum()
    starts: list[dict[str, Any]] = []
    if free.any() and free_budget > 0:
        lb, ub = lo[free] / free_budget, np.minimum(hi[free] / free_budget, 1.0)
        candidates = {"current mix": model.current_mix(budget)[free] / free_budget,
                      "even split": np.full(free.sum(), 1.0 / free.sum())}
        candidates = {k: v for k, v in candidates.items() if k in starts_from}
        if initial is not None:  # e.g. the plan at a nearby budget, scaled to this one
            given = np.asarray(initial, dtype=float)[free]
            candidates["given"] = given / given.sum() if given.sum() > 0 else candidates["even split"]
        best = None
        for label, x0 in candidates.items():
            x0 = project_to_budget(x0, lb, ub, 1.0)
            x, info = _solve(model, x0, lb, ub, free, lo, fixed, free_budget, objective)
            shares = project_to_budget(x, lb, ub, 1.0)
            dust = (shares < 1e-9) & (lb == 0)  # solver round-off, not a decision to spend
            if dust.any() and not dust.all():
                shares = project_to_budget(np.where(dust, 0.0, shares), np.where(dust, 0.0, lb),
                                           np.where(dust, 0.0, ub), 1.0)
            spend = lo.copy()
            spend[free] = shares * free_budget
            info["allocation"] = dict(zip([c for c, f in zip(model.channels, free) if f], map(float, spend[free])))
            score = objective_value(model.channel_values(spend), spend, model.margins, objective)
            starts.append({"start": label, "objective": score, **info})
            if best is None or score > best[0]:
                best = (score, spend)
        spend = best[1]
    else:
        spend = np.where(fixed, lo, 0.0)
        if free.any():
            spend[free] = 0.0
    plan = model.evaluate(dict(zip(model.channels, spend)), name="optimized")
    current = model.evaluate(dict(zip(model.channels, model.current_mix(budget))), name="current mix")
    return OptimizedPlan(budget=budget, objective=objective, plan=plan, current=current, lower=lo, upper=hi,
                         locked=[c for c, f in zip(model.channels, fixed) if f], starts=starts,
                         wall_s=time.perf_counter() - t0)


def _solve(model: PlanModel, x0: np.ndarray, lb: np.ndarray, ub: np.ndarray, free: np.ndarray, lo: np.ndarray,
           fixed: np.ndarray, free_budget: float, objective: Objective) -> tuple[np.ndarray, dict[str, Any]]:
    """SLSQP on budget shares with the exact gradient (vectorized over draws)."""
    margins = model.margins
    budget = free_budget + lo[fixed].sum()

    def spend_of(x: np.ndarray) -> np.ndarray:
        spend = lo.copy()
        spend[free] = np.maximum(x, 0.0) * free_budget
        return spend

    def draws(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per-draw objective quantity / budget and its gradient in x (D,) and (D, Kfree)."""
        values, slopes = model.channel_values_and_slopes(spend_of(x))
        if objective.kind == "mean":
            return values.sum(axis=1) / free_budget, slopes[:, free]
        profit = (values * margins).sum(axis=1) - budget
        return profit / free_budget, slopes[:, free] * margins[free] - 1.0

    n = int(free.sum())
    options = {"maxiter": 300, "ftol": 1e-12}
    if objective.kind in ("mean", "profit"):
        def fun(x):
            q, g = draws(x)
            return -q.mean(), -g.mean(axis=0)

        cons = [{"type": "eq", "fun": lambda z: z.sum() - 1.0, "jac": lambda z: np.ones(n)}]
        x, iterations, restarts, previous = x0, 0, 0, -fun(x0)[0]
        for restarts in range(MAX_RESTARTS + 1):
            result = minimize(fun, x, jac=True, method="SLSQP", bounds=list(zip(lb, ub)), constraints=cons,
                              options=options)
            x = project_to_budget(np.clip(result.x, lb, ub), lb, ub, 1.0)
            iterations += int(result.nit)
            # SLSQP may stop early after a long first step spoils its Hessian estimate; a point where moving
            # budget from one channel to another still pays is not an optimum, so restart from it
            value, grad = fun(x)
            gap = kkt_gap(x, -grad, lb, ub)
            if gap <= KKT_TOL or -value <= previous + 1e-12 * abs(previous) or result.status == 9:
                break  # optimal, or no longer improving, or out of iterations
            previous = -value
        return x, {"converged": bool(result.success) and gap <= KKT_TOL, "iterations": iterations,
                   "restarts": restarts, "kkt_gap": float(gap), "message": str(result.message)}

    # CVaR (Rockafellar–Uryasev): max over (x, eta) of eta - E[(eta - profit)+] / alpha, the hinge
    # smoothed by a softplus of width tau; each pass narrows tau to the spread at the current point
    alpha = objective.alpha
    cons = [{"type": "eq", "fun": lambda z: z[:n].sum() - 1.0, "jac": lambda z: np.append(np.ones(n), 0.0)}]
    bnds = list(zip(lb, ub)) + [(None, None)]
    x, iterations, success, message = x0, 0, True, ""
    for width in (1e-2, 1e-3, 1e-4):
        q0, _ = draws(x)
        tau = width * (float(np.std(q0)) or 1e-6)

        def fun(z, tau=tau):
            q, g = draws(z[:n])
            u = (z[n] - q) / tau
            soft = tau * np.logaddexp(0.0, u)
            weight = 0.5 * (1.0 + np.tanh(u / 2.0))  # sigmoid(u), overflow-free
            value = z[n] - soft.mean() / alpha
            grad_x = (weight[:, None] * g).mean(axis=0) / alpha
            return -value, -np.append(grad_x, 1.0 - weight.mean() / alpha)

        result = minimize(fun, np.append(x, np.quantile(q0, alpha)), jac=True, method="SLSQP", bounds=bnds,
                          constraints=cons, options=options)
        x = np.clip(result.x[:n], lb, ub)
        iterations += int(result.nit)
        success, message = bool(result.success), str(result.message)
    return x, {"converged": success, "iterations": iterations, "message": message}


def kkt_gap(x: np.ndarray, grad: np.ndarray, lb: np.ndarray, ub: np.ndarray, slack: float = 1e-9) -> float:
    """Largest gain per unit of budget from moving spend between two channels at ``x`` (0 at an optimum).

    ``grad`` is the objective's gradient in budget shares (marginal return per unit of budget).
    """
    can_grow = x < ub - slack
    can_shrink = x > lb + slack
    if not can_grow.any() or not can_shrink.any():
        return 0.0
    best_gap = 0.0
    for j in np.flatnonzero(can_grow):
        donors = can_shrink.copy()
        donors[j] = False
        if donors.any():
            best_gap = max(best_gap, float(grad[j] - grad[donors].min()))
    return best_gap


# ----------------------------------------------------------------------------- target mode

TARGETS = ("profit_roi", "mroas", "value")
# target mode searches budgets from 10% to 5x the current run-rate (within the locked/min and max spend):
# far outside that range the curves are extrapolations the data did not inform
TARGET_RANGE = (0.1, 5.0)


def optimize_to_target(model: PlanModel, target: str, level: float, *,
                       bounds: Mapping[str, ChannelBounds] | None = None, objective: str | Objective = "mean",
                       budget_range: tuple[float, float] | None = None, rtol: float = 2e-3,
                       bounds_source: str = "bounds") -> OptimizedPlan:
    """The budget that meets a target on the expected value of its optimized plan.

    - ``profit_roi`` / ``mroas`` (efficiency targets, which fall as the budget grows):
      the largest budget whose optimized plan still has expected profit ROI (resp.
      marginal ROAS of the next unit of budget) at or above ``level`` — "how much can we
      spend and still earn X per unit?".
    - ``value``: the smallest budget whose optimized plan's expected incremental value
      reaches ``level`` (currency).

    Bisection on the budget to ``rtol`` relative, between ``budget_range`` (default: 10% to 5x the
    current run-rate, within the channels' limits), each step warm-started from the last plan; the
    returned budget always meets the target.
    """
    if target not in TARGETS:
        raise ConfigError(f"target {target!r} is not one of {', '.join(TARGETS)}")
    objective = Objective.parse(objective)
    lo_b, hi_b = resolve_bounds(model, bounds, bounds_source)
    rate = model.run_rate.sum()
    floor = max(lo_b.sum(), TARGET_RANGE[0] * rate)
    cap = min(hi_b.sum(), max(TARGET_RANGE[1] * rate, floor))
    low, high = budget_range or (floor, cap)
    warm: list[np.ndarray] = []

    def metric(budget: float) -> tuple[float, OptimizedPlan]:
        start = warm[-1] * budget / warm[-1].sum() if warm else None
        result = optimize(model, budget, bounds=bounds, objective=objective, bounds_source=bounds_source,
                          starts_from=("current mix",) if warm else ("current mix", "even split"), initial=start)
        warm.append(result.plan.spend)
        return target_metric(model, result, target, bounds=bounds, objective=objective), result

    def meets(value: float) -> bool:
        return value >= level

    m_low, r_low = metric(low)
    m_high, r_high = metric(high)
    increasing = target == "value"
    if increasing:
        if not meets(m_high):
            raise ConfigError(f"target {target} {level:,.2f} is out of reach: the optimized plan at the largest "
                              f"budget tried ({high:,.0f}) returns {m_high:,.2f}; lower the target or lift the maximums")
        if meets(m_low):
            return _with_target(r_low, target, level, m_low)
    else:
        if not meets(m_low):
            raise ConfigError(f"target {target} {level:.3f} is out of reach: even the smallest budget tried "
                              f"({low:,.0f}) gives {m_low:.3f}; lower the target")
        if meets(m_high):
            return _with_target(r_high, target, level, m_high)
    good, bad = (high, low) if increasing else (low, high)
    good_metric, good_result = (m_high, r_high) if increasing else (m_low, r_low)
    while abs(good - bad) > rtol * good:
        mid = 0.5 * (good + bad)
        m_mid, r_mid = metric(mid)
        if meets(m_mid):
            good, good_metric, good_result = mid, m_mid, r_mid
        else:
            bad = mid
    return _with_target(good_result, target, level, good_metric)


def target_metric(model: PlanModel, result: OptimizedPlan, target: str, *,
                  bounds: Mapping[str, ChannelBounds] | None = None, objective: str | Objective = "mean") -> float:
    """The target's figure of an optimized plan, on the expected value."""
    plan = result.plan
    if target == "value":
        return float(plan.total_value.mean())
    if target == "profit_roi":
        return float(plan.total_profit.mean() / plan.budget) if plan.budget else float("inf")
    # mROAS of the budget: extra expected value per extra unit of budget, re-optimized (DESIGN.md's h)
    bigger = optimize(model, result.budget * (1 + MROAS_STEP), bounds=bounds, objective=objective,
                      starts_from=("current mix",), initial=plan.spend)
    return float((bigger.plan.total_value.mean() - plan.total_value.mean()) / (MROAS_STEP * result.budget))


def _with_target(result: OptimizedPlan, target: str, level: float, reached: float) -> OptimizedPlan:
    result.target = {"metric": target, "level": level, "reached": reached, "budget": result.budget}
    return result


# ----------------------------------------------------------------------------- scenarios


@dataclass
class ScenarioComparison:
    """Several plans on the same posterior draws, and P(plan A's profit beats plan B's) for each pair."""

    outcomes: list[PlanOutcome]

    def table(self, cvar_alpha: float = 0.1) -> pd.DataFrame:
        rows = []
        for outcome in self.outcomes:
            totals = outcome.totals(cvar_alpha)
            row: dict[str, Any] = {"plan": outcome.name, "spend": totals["spend"]}
            for metric in ("incremental_value", "profit", "roas", "profit_roi"):
                for stat in ("mean", "lo", "hi"):
                    row[f"{metric}_{stat}"] = totals.get(metric, {}).get(stat, float("nan"))
            row["p_profitable"] = totals["p_profitable"]
            row[f"cvar_{round(cvar_alpha * 100)}_profit"] = totals[f"cvar_{round(cvar_alpha * 100)}_profit"]
            rows.append(row)
        return pd.DataFrame(rows)

    def pairwise(self) -> pd.DataFrame:
        """Tidy: plan_a, plan_b, P(profit of A > profit of B), expected profit difference with interval."""
        rows = []
        for a in self.outcomes:
            for b in self.outcomes:
                if a is b:
                    continue
                diff = a.total_profit - b.total_profit
                stats = summarize(diff, a.interval)
                rows.append({"plan_a": a.name, "plan_b": b.name, "p_a_beats_b": float((diff > 0).mean()),
                             "profit_difference_mean": stats["mean"], "profit_difference_lo": stats["lo"],
                             "profit_difference_hi": stats["hi"]})
        return pd.DataFrame(rows)


def compare_plans(model: PlanModel, plans: Mapping[str, Mapping[str, float]],
                  extra: Sequence[PlanOutcome] = ()) -> ScenarioComparison:
    """Evaluate user plans (name -> channel -> spend over the horizon) on the same draws."""
    outcomes = [model.evaluate(plan, name=name) for name, plan in plans.items()]
    return ScenarioComparison(outcomes=outcomes + list(extra))
