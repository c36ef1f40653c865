"""A plan or a set of scenarios as a folder of files: tables, plan.json and the HTML page, written atomically."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mmm.planning.geo_outputs import geo_plan_files, geo_scenario_files
from mmm.planning.optimize import OptimizedPlan, PlanModel, ScenarioComparison
from mmm.planning.plans import is_by_geo, plan_curves, plan_summary, scenario_summary
from mmm.planning.tables import CVAR_ALPHA, flighting_table, plan_table
from mmm.report.plan import render_plan
from mmm.runs.folder import write_run


def write_plan(out_dir: str | Path, model: PlanModel, result: OptimizedPlan, *, force: bool = False) -> Path:
    """Write plan.csv, plan_periods.csv, plan.json and plan.html into ``out_dir`` atomically; for a geo run
    also plan_by_geo.csv, with plan.csv the national sums over geos (per draw)."""
    geo_section, geo_files = None, {}
    if is_by_geo(model):
        result, geo_section, geo_files = geo_plan_files(model, result)
    summary = plan_summary(model, result) | ({"geo": geo_section} if geo_section else {})
    files = {"plan.csv": plan_table(model, result), "plan_periods.csv": flighting_table(model, result.plan),
             "plan.json": summary, "response_curves.csv": plan_curves(model, [result.plan, result.current]),
             **geo_files}
    files["plan.html"] = render_plan(summary, files["response_curves.csv"],
                                     comparison=ScenarioComparison([result.plan, result.current]))
    return write_run(out_dir, files=files, force=force)


def write_scenarios(out_dir: str | Path, model: PlanModel, comparison: ScenarioComparison, *,
                    force: bool = False) -> Path:
    """Write scenarios.csv, scenario_pairs.csv, scenario_channels.csv, scenarios.json and scenarios.html;
    for a geo run also scenario_by_geo.csv (the plans' channel figures, national = sums over geos)."""
    summary = scenario_summary(model, comparison)
    channels = pd.concat([o.channel_table().assign(plan=o.name) for o in comparison.outcomes], ignore_index=True)
    channels = channels[["plan", *[c for c in channels.columns if c != "plan"]]]
    curves = plan_curves(model, comparison.outcomes)
    files = {"scenarios.csv": comparison.table(CVAR_ALPHA), "scenario_pairs.csv": comparison.pairwise(),
             "scenario_channels.csv": channels, "scenarios.json": summary, "response_curves.csv": curves}
    if is_by_geo(model):
        summary["geo"], geo_files = geo_scenario_files(model, comparison)
        files |= geo_files
    files["scenarios.html"] = render_plan(summary, curves, comparison=comparison)
    return write_run(out_dir, files=files, force=force)
