"""Did last quarter's model predict this quarter? ``mmm backtest PARENT_RUN --data NEW.csv`` (and every
``mmm refresh``): the parent run's posterior predicts the new periods' KPI from their actual spend and controls
(:mod:`mmm.analysis.forecast`), scored against what happened (docs/backtest.md).

The history is the parent's own data (what it was fitted on); the new file's periods after the parent's last
date are the ones predicted. Restated history in the new file is the refresh's business, not the forecast's.
When the parent has a plan (a plan folder beside it made from it), the plan is scored too: its spend and
expected return against the actual spend in its periods and the return the model now credits that spend with.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd
import xarray as xr

from mmm.analysis import forecast as forecasting
from mmm.analysis.effects import summarize
from mmm.analysis.geo_effects import compute_geo_effects
from mmm.data.load import DataError
from mmm.data.panel import Panel
from mmm.runs.folder import Run, load_run

BACKTEST_SUFFIX = "-backtest"


@dataclass
class Backtest:
    """A parent run's forecast of new periods, its score and (if the parent has a plan) the plan's check."""

    parent: str  # the parent run's id
    run: str | None  # the run fitted on the new data, when there is one (a refresh)
    forecast: forecasting.Forecast
    score: dict[str, Any]
    interval: float
    plan: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)

    def periods(self) -> pd.DataFrame:
        return forecasting.period_table(self.forecast, self.interval)

    def summary(self) -> dict[str, Any]:
        """backtest.json (docs/file-schemas.md)."""
        by_geo = forecasting.geo_scores(self.forecast, self.interval) if len(self.forecast.geos) > 1 else None
        return {"parent_run": self.parent, "run": self.run, "geos": self.forecast.geos, **self.score,
                "by_geo": by_geo, "plan": self.plan, "notes": self.notes}


def default_dir(run_dir: str | Path) -> Path:
    """Where a run's backtest lives: a sibling folder ``<run>-backtest``."""
    run_dir = Path(run_dir)
    return run_dir.with_name(run_dir.name + BACKTEST_SUFFIX)


def backtest(parent: str | Path | Run, data: str | Path | pd.DataFrame, *, new_run: Any = None,
             seed: int = 0) -> Backtest:
    """Score ``parent``'s forecast of ``data``'s periods after its last one.

    ``new_run``: the model fitted on the new data (a fitted model or a run folder), whose view of what the
    parent's plan returned is the one reported; without it the parent's own view is used (and said so).
    """
    from mmm.analysis.pipeline import load
    from mmm.runs.refresh import match_parent_geos

    parent = parent if isinstance(parent, Run) else load_run(parent)
    history = load(parent.config)  # the run folder's own copy of what it was fitted on
    new = match_parent_geos(load(parent.config, data), parent.scaling, parent.path.name)  # checked in full
    extended, notes = _extended(parent, history, new, data)
    n_fitted = history.n_periods
    stacked = parent.stacked()
    parts, weights, primary = (([(parent.config, parent.posterior()["posterior"].to_dataset())], [1.0], 0)
                               if stacked is None else stacked)
    if stacked is None:
        fc = forecasting.forecast(parts[0][1], parent.config, extended, parent.scaling, n_fitted, seed)
    else:
        fc = forecasting.mixed_forecast(parts, weights, extended, parent.scaling, n_fitted, seed)
        notes.append(f"the parent is a stacked run: its {len(parts)} candidates' forecasts are mixed by their "
                     "stacking weights")
    interval = parent.config.interval
    parent_id = str(parent.manifest.get("run_id", parent.path.name))
    plan = _plan_check(parent, parent_id, extended, new_run, interval, parts[primary][1])
    return Backtest(parent=parent_id, run=_run_name(new_run), forecast=fc, score=forecasting.score(fc, interval),
                    interval=interval, plan=plan, notes=notes)


def _run_name(new_run: Any) -> str | None:
    """The id of the run fitted on the new data: a run folder's; None for a fitted model not yet written (its
    caller names it, as ``RefreshedMMM.save`` does) or for no run."""
    if isinstance(new_run, (str, Path)):
        return Path(new_run).name
    if isinstance(new_run, Run):
        return str(new_run.manifest.get("run_id", new_run.path.name))
    return None


def _extended(parent: Run, history: Panel, new: Panel, data: str | Path | pd.DataFrame) -> tuple[Panel, list[str]]:
    """The parent's data followed by the new data's periods after it (``new``: ``data`` validated), as one panel."""
    from mmm.analysis.pipeline import load

    end = history.dates[-1]
    later = new.dates[new.dates > end]
    if not len(later):
        raise DataError(f"{new.source}: no period after {end.date()}, the last one run {parent.path.name} was "
                        f"fitted on; a backtest predicts periods the run did not see. Pass the data with the new "
                        f"periods appended (e.g. the next quarter's weeks).")
    date = parent.config.data.date
    own = pd.read_csv(parent.path / "data.csv")
    fresh = data.copy() if isinstance(data, pd.DataFrame) else pd.read_csv(data)
    missing = [c for c in own.columns if c not in fresh.columns]
    if missing:
        raise DataError(f"{new.source}: column(s) {', '.join(missing)} of run {parent.path.name}'s data are missing; "
                        "the new file needs the parent's columns")
    when = pd.to_datetime(fresh[date])
    rows = fresh.loc[when > end, list(own.columns)].copy()
    rows[date] = when[when > end].dt.strftime("%Y-%m-%d")
    combined = pd.concat([own, rows], ignore_index=True)
    notes = [f"predicted: {len(later)} period(s) from {later[0].date()} to {later[-1].date()}, from the actual "
             f"spend and controls; the history is run {parent.path.name}'s own data"]
    extended = load(parent.config, combined)
    return extended.select_geos(history.geos), notes


def _plan_check(parent: Run, parent_id: str, extended: Panel, new_run: Any, interval: float,
                posterior: xr.Dataset) -> dict[str, Any] | None:
    """The parent's latest plan (a plan folder beside it made from it): its spend and expected value per
    channel against the actual spend in its periods and what the model credits that spend with
    (``posterior``: the parent's own, the view used without ``new_run``)."""
    plan_file = _latest_plan(parent.path.parent, parent_id)
    if plan_file is None:
        return None
    plan = json.loads(plan_file.read_text())
    inputs = plan["inputs"]
    start, end = pd.Timestamp(inputs["start"]), pd.Timestamp(inputs["end"])
    out: dict[str, Any] = {"folder": plan_file.parent.name, "start": inputs["start"], "end": inputs["end"],
                           "objective": inputs.get("objective")}
    if end > extended.dates[-1] or start < extended.dates[0]:
        out["scored"] = False
        out["reason"] = (f"the new data end {extended.dates[-1].date()}, before the plan's last period {end.date()}; "
                         "it is scored once its periods are in the data")
        return out
    config, posterior, panel, scaling, view = _viewer(parent, posterior, extended, new_run)
    config = replace(config, window=(start.date().isoformat(), end.date().isoformat()))
    effects = compute_geo_effects(posterior, config, panel, scaling).national
    planned = plan["plans"]["optimized"]["channels"]
    channels = {}
    for k, name in enumerate(effects.channels):
        expected = planned.get(name, {}).get("incremental_value")
        channels[name] = {"planned_spend": planned.get(name, {}).get("spend"), "actual_spend": float(effects.spend[k]),
                          "planned_value": expected,
                          "credited_value": summarize(effects.incremental_value[:, k], interval)}
    total = plan["plans"]["optimized"]["totals"]
    out.update(scored=True, view=view, channels=channels, totals={
        "planned_spend": total["spend"], "actual_spend": float(effects.spend.sum()),
        "planned_value": total["incremental_value"],
        "credited_value": summarize(effects.incremental_value.sum(axis=1), interval)})
    return out


def _viewer(parent: Run, posterior: xr.Dataset, extended: Panel, new_run: Any):
    """(config, posterior, panel, scaling, label) of the model whose view of the plan periods is reported."""
    if new_run is None:
        return parent.config, posterior, extended, parent.scaling, "the parent run (no refreshed run given)"
    if isinstance(new_run, (str, Path)):
        new_run = load_run(new_run)
    if isinstance(new_run, Run):
        from mmm.analysis.pipeline import load

        return (new_run.config, new_run.posterior()["posterior"].to_dataset(), load(new_run.config),
                new_run.scaling, f"run {new_run.path.name}, fitted on the new data")
    return (new_run.config, new_run.fit.idata["posterior"].to_dataset(), new_run.data, new_run.scaling,
            "the refreshed run, fitted on the new data")


def _latest_plan(folder: Path, parent_id: str) -> Path | None:
    """The newest ``plan.json`` beside the runs that was made from run ``parent_id``."""
    found = []
    for path in folder.glob("*/plan.json"):
        try:
            plan = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            continue
        if plan.get("inputs", {}).get("run") == parent_id and "optimized" in plan.get("plans", {}):
            found.append((str(plan.get("created_at", "")), path))
    return max(found)[1] if found else None


def track_record(folder: str | Path) -> pd.DataFrame:
    """One row per backtest folder in ``folder``: which run predicted which periods, and how well."""
    rows = []
    for path in sorted(Path(folder).glob(f"*{BACKTEST_SUFFIX}/backtest.json")):
        try:
            b = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            continue
        rows.append({"parent_run": b.get("parent_run"), "run": b.get("run"), "start": b.get("start"),
                     "end": b.get("end"), "periods": b.get("periods"),
                     f"coverage_{round(100 * b.get('interval', 0.9))}": b.get("coverage"),
                     "coverage_50": b.get("coverage_50"), "crps_relative": b.get("crps_relative"),
                     "bias_share_mean": (b.get("bias_share") or {}).get("mean"),
                     "bias_share_lo": (b.get("bias_share") or {}).get("lo"),
                     "bias_share_hi": (b.get("bias_share") or {}).get("hi"),
                     "flagged": bool(b.get("flag"))})
    return pd.DataFrame(rows)

