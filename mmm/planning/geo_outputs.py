"""The per-geo files of a geo plan or scenario folder, beside the national ones of :mod:`mmm.planning.plans`.

- ``plan_by_geo.csv``: one row per (geo, channel) with current-mix and plan spend, limits and every
  figure with its interval, then a ``total`` row per geo;
- ``plan_periods.csv``: date, geo, channel, spend for every plan period;
- ``scenario_by_geo.csv``: each scenario plan's rows per (geo, channel) and geo totals;
- the ``geo`` section of ``plan.json`` / ``scenarios.json``: the split rule, each plan per geo,
  and for an optimized plan its limits per cell and how each geo fares against the current mix.

National figures are the per-draw sums over geos (:meth:`mmm.planning.geo_plan.GeoPlanModel.national`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from mmm.planning.geo_plan import DEFAULT_CELL_RANGE, GeoPlanModel, cell_name
from mmm.planning.optimize import OptimizedPlan, ScenarioComparison
from mmm.planning.outcome import PlanOutcome
from mmm.planning.tables import CVAR_ALPHA, allocation_table, flighting_table, with_total


def geo_plan_files(model: GeoPlanModel, result: OptimizedPlan) -> tuple[OptimizedPlan, dict[str, Any],
                                                                        dict[str, pd.DataFrame]]:
    """(the national view of ``result``, plan.json's ``geo`` section, the per-geo files)."""
    by_geo = result.plan.cells is None  # optimized over the cells themselves
    national, cells = model.views(result)
    section = geo_section(model, [national.plan, national.current])
    section["decision"] = ("spend per (geo, channel) cell (--by-geo)" if by_geo
                           else "national budget per channel, split over geos by budget_split")
    if by_geo:
        section["default_cell_limits"] = (f"each cell between {DEFAULT_CELL_RANGE[0]:g}x and {DEFAULT_CELL_RANGE[1]:g}x "
                                          "its spend in the current mix at this budget, unless a bounds row sets "
                                          "its channel or the cell")
    k = len(model.channels)
    section["bounds"] = {geo: {c: {"lower": float(cells.lower[g * k + j]), "locked": cell_name(geo, c) in cells.locked,
                                   "upper": float(cells.upper[g * k + j]) if np.isfinite(cells.upper[g * k + j])
                                   else None} for j, c in enumerate(model.channels)}
                         for g, geo in enumerate(model.geos)}
    section["comparison_by_geo"] = {
        geo: {"p_optimized_beats_current_mix": float((p.total_profit > c.total_profit).mean()),
              "profit_gain_mean": float((p.total_profit - c.total_profit).mean())}
        for geo, p, c in zip(model.geos, model.by_geo(cells.plan), model.by_geo(cells.current))}
    files = {"plan_by_geo.csv": plan_by_geo_table(model, cells), "plan_periods.csv": periods_by_geo(model, cells.plan)}
    return national, section, files


def geo_scenario_files(model: GeoPlanModel, comparison: ScenarioComparison) -> tuple[dict[str, Any],
                                                                                     dict[str, pd.DataFrame]]:
    """(scenarios.json's ``geo`` section, {scenario_by_geo.csv})."""
    rows = [with_total(g.channel_table(), g).assign(plan=o.name, geo=g.name)
            for o in comparison.outcomes for g in model.by_geo(o.cells)]
    table = pd.concat(rows, ignore_index=True)
    table = table[["plan", "geo", *[c for c in table.columns if c not in ("plan", "geo")]]]
    return geo_section(model, comparison.outcomes), {"scenario_by_geo.csv": table}


def geo_section(model: GeoPlanModel, outcomes: list[PlanOutcome]) -> dict[str, Any]:
    """Each plan per geo (channels and totals, with intervals) and the rule that splits national budgets."""
    return {"n_geos": len(model.geos), "national_is_sum_over_geos": True, "budget_split": model.split_assumption(),
            "plans": {o.name: {g.name: g.to_dict(CVAR_ALPHA) for g in model.by_geo(o.cells)} for o in outcomes}}


def plan_by_geo_table(model: GeoPlanModel, cells: OptimizedPlan) -> pd.DataFrame:
    """plan_by_geo.csv: per geo, one row per channel (plan.csv's columns) and the geo's ``total`` row."""
    k = len(model.channels)
    frames = []
    for g, (plan, current) in enumerate(zip(model.by_geo(cells.plan), model.by_geo(cells.current))):
        part = slice(g * k, (g + 1) * k)
        one = replace(cells, plan=plan, current=current, lower=cells.lower[part], upper=cells.upper[part],
                      locked=[c for c in model.channels if cell_name(plan.name, c) in cells.locked])
        frames.append(allocation_table(model.channels, model.cells.run_rate[part], one).assign(geo=plan.name))
    table = pd.concat(frames, ignore_index=True)
    return table[["geo", *[c for c in table.columns if c != "geo"]]]


def periods_by_geo(model: GeoPlanModel, cells: PlanOutcome) -> pd.DataFrame:
    """plan_periods.csv of a geo plan: date, geo, channel, spend (sums to each cell's plan spend)."""
    table = flighting_table(model.cells, cells)
    where = [model.cells.where[name] for name in table["channel"]]
    table["channel"] = [channel for _, channel in where]
    table.insert(1, "geo", [geo for geo, _ in where])
    return table
