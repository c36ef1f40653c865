"""The backtest page and folder: did the parent run predict the new periods? (:mod:`mmm.runs.backtest`).

Every number on the page is read from ``backtest.json`` and ``backtest_periods.csv``, written beside it, so the
page and the files agree. The same section is shown in the refreshed run's report and on the comparison page.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from mmm.report.plots import interval_label
from mmm.report.formatting import format_amount, format_share, format_with_interval, png_data, template_environment
from mmm.runs.backtest import BACKTEST_SUFFIX, Backtest
from mmm.runs.folder import write_run

SUMMARY, PERIODS, PAGE, PLAN = "backtest.json", "backtest_periods.csv", "backtest.html", "plan_check.csv"


def write_backtest(out_dir: str | Path, result: Backtest, *, force: bool = False) -> Path:
    """backtest.json, backtest_periods.csv, backtest.html (and plan_check.csv when the parent had a plan),
    written atomically."""
    summary = result.summary()
    periods = result.periods()
    files: dict[str, Any] = {SUMMARY: summary, PERIODS: periods, PAGE: render_backtest(summary, periods)}
    if summary.get("plan") and summary["plan"].get("scored"):
        files[PLAN] = plan_table(summary["plan"])
    return write_run(out_dir, files=files, force=force)


def read_backtest(folder: str | Path) -> tuple[dict[str, Any], pd.DataFrame] | None:
    """A backtest folder's summary and period table, or None when it is not a complete one."""
    folder = Path(folder)
    if not (folder / SUMMARY).is_file() or not (folder / PERIODS).is_file():
        return None
    import json

    return json.loads((folder / SUMMARY).read_text()), pd.read_csv(folder / PERIODS)


def section_for_run(run_dir: str | Path, run_id: str, parent_id: str | None = None) -> dict[str, Any] | None:
    """The backtest section of run ``run_id``'s pages: its sibling ``<run_id>-backtest`` folder when that holds a
    backtest of this run (and of ``parent_id``, when given); None otherwise. ``run_dir`` may be the run's
    temporary folder while it is written: the sibling is looked up by the run's id."""
    found = read_backtest(Path(run_dir).parent / f"{run_id}{BACKTEST_SUFFIX}")
    if found is None:
        return None
    summary, periods = found
    if summary.get("run") != run_id or (parent_id is not None and summary.get("parent_run") != parent_id):
        return None
    return section(summary, periods)


def plan_table(plan: Mapping[str, Any]) -> pd.DataFrame:
    """One row per channel and a total: planned and actual spend, the plan's expected value and the value
    the model credits the actual spend with (mean and interval)."""
    rows = []
    for name, c in [*plan["channels"].items(), ("total", plan["totals"])]:
        planned, credited = c.get("planned_value") or {}, c["credited_value"]
        rows.append({"channel": name, "planned_spend": c.get("planned_spend"), "actual_spend": c["actual_spend"],
                     "planned_value_mean": planned.get("mean"), "planned_value_lo": planned.get("lo"),
                     "planned_value_hi": planned.get("hi"), "credited_value_mean": credited["mean"],
                     "credited_value_lo": credited["lo"], "credited_value_hi": credited["hi"]})
    return pd.DataFrame(rows)


def section(summary: Mapping[str, Any], periods: pd.DataFrame) -> dict[str, Any]:
    """The figures of the backtest section, formatted (the page, the run report and the comparison use it)."""
    interval = float(summary.get("interval", 0.9))
    plan = summary.get("plan")
    return {
        "parent": summary.get("parent_run"), "run": summary.get("run"), "interval": interval_label(interval),
        "start": summary.get("start"), "end": summary.get("end"), "periods": summary.get("periods"),
        "coverage": format_share(summary.get("coverage")), "coverage_50": format_share(summary.get("coverage_50")),
        "crps": format_amount(summary.get("crps")), "crps_relative": format_share(summary.get("crps_relative"), 1),
        "actual_total": format_amount(summary.get("actual_total")),
        "predicted_total": format_with_interval(summary.get("predicted_total"), format_amount),
        "bias": format_with_interval(summary.get("bias"), format_amount),
        "bias_share": format_with_interval(summary.get("bias_share"), lambda v: format_share(v, 1)),
        "flag": summary.get("flag"), "notes": summary.get("notes") or [],
        "geos": [{"geo": geo, "coverage": format_share(g.get("coverage")),
                  "bias_share": format_with_interval(g.get("bias_share"), lambda v: format_share(v, 1)),
                  "crps_relative": format_share(g.get("crps_relative"), 1), "flagged": bool(g.get("flag"))}
                 for geo, g in (summary.get("by_geo") or {}).items()],
        "figure": png_data(plot_backtest(periods, interval)),
        "plan": None if not plan else {**plan, "rows": [
            {"channel": r["channel"], "planned_spend": format_amount(r["planned_spend"]),
             "actual_spend": format_amount(r["actual_spend"]),
             "planned_value": format_with_interval({"mean": r["planned_value_mean"], "lo": r["planned_value_lo"],
                                                    "hi": r["planned_value_hi"]}, format_amount),
             "credited_value": format_with_interval({"mean": r["credited_value_mean"], "lo": r["credited_value_lo"],
                                                     "hi": r["credited_value_hi"]}, format_amount)}
            for r in plan_table(plan).to_dict("records")] if plan.get("scored") else []},
    }


def render_backtest(summary: Mapping[str, Any], periods: pd.DataFrame) -> str:
    return template_environment().get_template("backtest.html").render(backtest=section(summary, periods))


def plot_backtest(periods: pd.DataFrame, interval: float) -> Figure:
    """Forecast bands (50% and ``interval``) against the actual KPI of each new period."""
    fig = Figure(figsize=(8, 3.6))
    ax = fig.subplots()
    dates = pd.to_datetime(periods["date"])
    ax.fill_between(dates, periods["lo"], periods["hi"], color="#9ecae1", alpha=0.6,
                    label=f"{interval_label(interval)} forecast interval")
    ax.fill_between(dates, periods["lo_50"], periods["hi_50"], color="#4292c6", alpha=0.6,
                    label="50% forecast interval")
    ax.plot(dates, periods["predicted_mean"], color="#08519c", lw=1.2, label="forecast mean")
    outside = ~periods["inside"].astype(bool)
    ax.plot(dates[~outside], periods["actual"][~outside], "o", color="black", ms=4, label="actual")
    if outside.any():
        ax.plot(dates[outside], periods["actual"][outside], "o", color="#d62728", ms=5,
                label=f"actual outside the {interval_label(interval)} interval")
    ax.set_ylabel("KPI per period")
    ax.set_title("What the previous run predicted for the new periods, and what happened", fontsize=10)
    ax.legend(fontsize=8, loc="best")
    ax.grid(alpha=0.3)
    fig.autofmt_xdate()
    fig.tight_layout()
    return fig
