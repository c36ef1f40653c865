"""Budget planning under uncertainty: the split of a budget that maximizes the expected return,
profit, or a risk-aware profit (what a plan returns per draw is :mod:`mmm.planning.outcome`'s).

A *plan* is spend per channel (currency) over the next ``periods`` periods after the data,
laid out over those periods by a flighting pattern. Its outcome per draw and channel is

    incremental KPI_k = Σ_t  μ_k(history + plan)_t − μ_k(history + nothing)_t

summed over the plan periods and their carry-over tail, where ``history`` is the last
actual spend: carry-in from it is in both terms, so it shapes where the plan sits on
each saturation curve. The media response is :mod:`mmm.model.media`'s (the model's own
adstock and saturation); channels are additive, so channel outcomes sum exactly to the
plan's total. Value = incremental KPI × value per KPI; profit_k = value_k × margin_k −
spend_k (``config.finance.margin_for``).

The optimizer maximizes, over posterior draws (never the posterior mean's parameters):

- ``mean``: expected incremental value;
- ``profit``: expected profit (margin-aware);
- ``cvar:a``: the conditional value at risk of profit at level ``a`` — the mean
  profit of the worst ``a`` share of draws (Rockafellar–Uryasev, softplus-smoothed
  so gradients exist; the reported CVaR is the exact empirical one);
- ``npv``: expected profit at present value — each lasting return discounted to the
  plan period of the spend behind it at ``finance.discount_rate`` (docs/figures.md).

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
from scipy.optimize import minimize

from mmm.spec.config import ConfigError
from mmm.analysis.effects import summarize
from mmm.planning.outcome import MROAS_STEP, PlanModel, PlanOutcome, cvar, saturate  # noqa: F401 (public API)

BUDGET_RTOL = 1e-9
MAX_RESTARTS = 3
KKT_TOL = 1e-4  # value per unit of budget: moving budget between channels gains less than this at the optimum


# ----------------------------------------------------------------------------- objectives


@dataclass(frozen=True)
class Objective:
    """What the optimizer maximizes over posterior draws: ``mean``, ``profit``, ``cvar`` (at ``alpha``) or ``npv``
    (profit with lasting returns at present value)."""

    kind: str = "mean"
    alpha: float = 0.1

    @classmethod
    def parse(cls, text: str | Objective) -> Objective:
        """``"mean"``, ``"profit"``, ``"npv"``, ``"cvar"`` or ``"cvar:0.1"``."""
        if isinstance(text, Objective):
            return text
        name, _, level = str(text).strip().lower().partition(":")
        if name not in ("mean", "profit", "npv", "cvar") or (level and name != "cvar"):
            raise ConfigError(f"objective {text!r} is not one of mean, profit, npv, cvar:ALPHA (e.g. cvar:0.1)")
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
                "npv": "expected profit at present value (lasting returns discounted at finance.discount_rate)",
                "cvar": f"CVaR {self.alpha:.0%} of profit (mean of the worst {self.alpha:.0%} of draws)"}[self.kind]

    @property
    def basis(self) -> str:
        """The value basis the objective reads (:meth:`mmm.planning.outcome.PlanModel.channel_values`)."""
        return "present_value" if self.kind == "npv" else "face"

    def __str__(self) -> str:
        return f"cvar:{self.alpha:g}" if self.kind == "cvar" else self.kind


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


def resolve_bounds(model: PlanModel, bounds: Mapping[str, ChannelBounds] | None, source: str = "bounds",
                   budget: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(lo, hi) spend per channel in the model's order; bounds are matched by channel name.

    ``budget``: the plan's budget, where the model's default limits depend on it (a by-geo plan's).
    """
    bounds = model.expand_bounds(bounds, budget, source)
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
    """The objective (currency) of a plan from its per-draw channel values (D, K), on the objective's basis."""
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
    lo, hi = resolve_bounds(model, bounds, bounds_source, budget)
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
            score = objective_value(model.channel_values(spend, objective.basis), spend, model.margins, objective)
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
        values, slopes = model.channel_values_and_slopes(spend_of(x), objective.basis)
        if objective.kind == "mean":
            return values.sum(axis=1) / free_budget, slopes[:, free]
        profit = (values * margins).sum(axis=1) - budget
        return profit / free_budget, slopes[:, free] * margins[free] - 1.0

    n = int(free.sum())
    options = {"maxiter": 300, "ftol": 1e-12}
    if objective.kind in ("mean", "profit", "npv"):
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
    # mROAS of the budget: extra expected value per extra unit of budget, re-optimized (docs/figures.md's h)
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
