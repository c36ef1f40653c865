"""The design-test folder and its one-page summary for finance (:mod:`mmm.runs.experiment_choice`):
design_test.csv, design_test.json and design_test.html, written atomically beside the run."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mmm.report.formatting import format_amount, format_ratio, format_share, template_environment
from mmm.report.plots import interval_label
from mmm.runs.experiment_choice import DesignResult
from mmm.runs.folder import write_run


def default_out(run_dir: str | Path) -> Path:
    run_dir = Path(run_dir)
    return run_dir.with_name(f"{run_dir.name}-design-test")


def write_design(out_dir: str | Path, result: DesignResult, *, force: bool = False) -> Path:
    summary = result.summary()
    return write_run(out_dir, files={"design_test.csv": result.table, "design_test.json": summary,
                                     "design_test.html": render_design(summary)}, force=force)


def render_design(summary: Mapping[str, Any]) -> str:
    currency = summary.get("currency") or ""
    rows = [{
        "rank": c["rank"], "channel": c["channel"], "weeks": c["weeks"], "design": c["design"],
        "when": f"{c['start']} to {c['end']}", "spend": format_amount(c["spend_switched_off"]),
        "lift": f"{format_amount(c['lift_mean'])} ({format_amount(c['lift_lo'])} to {format_amount(c['lift_hi'])})",
        "se": format_amount(c["se"]), "power": format_share(c["power"]),
        "roas_now": f"{format_ratio(c['roas_now_lo'])} to {format_ratio(c['roas_now_hi'])}",
        "roas_after": f"{format_ratio(c['roas_after_lo'])} to {format_ratio(c['roas_after_hi'])}",
        "narrowing": format_share(c["width_reduction"]), "evsi": format_amount(c["evsi"]),
        "plan_width": f"{format_amount(c['plan_profit_width_now'])} to {format_amount(c['plan_profit_width_after'])}",
        "cost": format_amount(c["test_cost"]), "thin": c["effective_draws"] < 30,
    } for c in summary["candidates"]]
    inputs = summary["inputs"]
    return template_environment().get_template("design_test.html").render(
        run=summary["run"], interval=interval_label(summary["interval"]), currency=currency, rows=rows,
        best=rows[0] if rows else None, inputs=inputs, notes=summary.get("notes") or [],
        ranked_by={"width": "the expected narrowing of the channel's ROAS (and so profit ROI) interval",
                   "error": "the expected cut in the error of the channel's ROAS figure",
                   "value": "the expected value of the information for the plan, less what the test costs"}
        [inputs["rank_by"]])
