"""The tables of a plan folder (plan.csv, plan_periods.csv and their per-geo twins): one row per channel
and a total row, from an optimized plan's per-draw outcomes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from mmm.planning.optimize import OptimizedPlan
from mmm.planning.outcome import PlanModel, PlanOutcome

CVAR_ALPHA = 0.1  # the risk figure every plan reports (mean profit of its worst 10% of draws)


def plan_table(model: PlanModel, result: OptimizedPlan) -> pd.DataFrame:
    """plan.csv: one row per channel (in the run's order), then a ``total`` row that the rows sum to."""
    return allocation_table(model.channels, model.run_rate, result)


def allocation_table(channels: Sequence[str], run_rate: np.ndarray, result: OptimizedPlan) -> pd.DataFrame:
    """Each channel's run-rate, current-mix spend, plan spend and limits beside the plan's figures, and a total."""
    table = result.plan.channel_table()
    current = result.current.spend
    table.insert(1, "run_rate", run_rate)
    table.insert(2, "current_mix", current)
    table.insert(4, "change_vs_current_mix", table["spend"] - current)
    table.insert(5, "lower", result.lower)
    table.insert(6, "upper", result.upper)
    table.insert(7, "locked", [c in result.locked for c in channels])
    return with_total(table, result.plan, run_rate=run_rate.sum(), current_mix=current.sum(),
                      change_vs_current_mix=result.plan.budget - current.sum(), lower=result.lower.sum(),
                      upper=result.upper.sum(), locked=False)


def with_total(table: pd.DataFrame, outcome: PlanOutcome, **columns: Any) -> pd.DataFrame:
    """``table`` (a channel table of ``outcome``) and a ``total`` row: the outcome's totals per draw, summarized."""
    totals = outcome.totals(CVAR_ALPHA)
    total: dict[str, Any] = {"channel": "total", "spend": totals["spend"], "share": 1.0,
                             "p_profitable": totals["p_profitable"], **columns}
    for metric in ("incremental_kpi", "incremental_value", "profit", "roas", "profit_roi", "incremental_value_npv",
                   "profit_npv", "roas_npv"):
        for stat, value in totals.get(metric, {}).items():
            total[f"{metric}_{stat}"] = value
    return pd.concat([table, pd.DataFrame([total])], ignore_index=True)


def flighting_table(model: PlanModel, outcome: PlanOutcome) -> pd.DataFrame:
    """plan_periods.csv: date, channel, spend for every plan period (sums to each channel's plan spend)."""
    spend = model.flighting * outcome.spend
    return pd.DataFrame([{"date": d.date().isoformat(), "channel": c, "spend": float(spend[t, k])}
                         for t, d in enumerate(model.dates) for k, c in enumerate(model.channels)])
