"""The quarter-over-quarter comparison as a derived folder: comparison.json, comparison.html, data_revisions.csv.

The figures come from :func:`mmm.runs.compare.compare`; this module renders and writes them.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mmm.report import plots
from mmm.report.backtest import section_for_run
from mmm.report.formatting import TEMPLATE_DIR
from mmm.runs.compare import CHANGE_PROBABILITY, METRICS, STEP_LABELS, STEPS, compare
from mmm.runs.folder import write_run
from mmm.runs.revisions import revision_columns


def default_out(run_a: str | Path, run_b: str | Path) -> Path:
    """``compare-<A>-vs-<B>`` beside run B (not inside it: a run folder is never modified)."""
    b = Path(run_b)
    return b.parent / f"compare-{Path(run_a).name}-vs-{b.name}"


def write_comparison(run_a: str | Path, run_b: str | Path, out: str | Path | None = None, *,
                     force: bool = False, change_probability: float = CHANGE_PROBABILITY) -> Path:
    """Write ``comparison.json`` and ``comparison.html`` into ``out`` (atomically, as a run folder is)."""
    out = Path(out) if out is not None else default_out(run_a, run_b)
    result = compare(run_a, run_b, change_probability=change_probability)
    backtest = section_for_run(run_b, str(_manifest(run_b).get("run_id", Path(run_b).name)),
                               str(_manifest(run_a).get("run_id", Path(run_a).name)))
    html = render_comparison(result, backtest)
    revisions = pd.DataFrame(result["data_revisions"], columns=revision_columns(result["geo"] is not None))
    return write_run(out, files={"comparison.json": result, "comparison.html": html, "data_revisions.csv": revisions},
                     force=force)


def _manifest(run_dir: str | Path) -> dict[str, Any]:
    import json

    return json.loads((Path(run_dir) / "manifest.json").read_text())


def render_comparison(result: dict[str, Any], backtest: dict[str, Any] | None = None) -> str:
    """The comparison as one self-contained HTML page, in the main report's style; ``backtest``: run B's
    backtest section when B was predicted by A (:func:`mmm.report.backtest.section_for_run`)."""
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATE_DIR), autoescape=True,
                             undefined=jinja2.StrictUndefined)
    rows = [_row(entry, channel=channel) for channel, entry in result["channels"].items()]
    geo_rows = [_row(entry, channel=channel, geo=geo) for geo, by_channel in (result["geo"] or {}).get("geos", {}).items()
                for channel, entry in by_channel.items()]
    return env.get_template("comparison.html").render(
        r=result, rows=rows, geo_rows=geo_rows, steps=STEPS, step_labels=STEP_LABELS,
        interval=plots.interval_label(result["interval"]), figure=_roas_figure(result),
        revisions=result["data_revisions"], changes=result["config_changes"],
        fmt=_number, backtest=backtest)


def _row(entry: dict[str, Any], **labels: str) -> dict[str, Any]:
    """One table row of a channel's (or a geo's channel's) figures, as the page prints them."""
    row: dict[str, Any] = {**labels, "note": entry.get("note")}
    if row["note"]:
        return row
    row["flags"] = entry["flags"]
    for metric in METRICS:
        m = entry[metric]
        row[metric] = {"a": _stat(m["a"]), "b": _stat(m["b"]), "difference": _stat(m["difference"], sign=True),
                       "p_increase": f"{m['p_increase']:.0%}", "p_decrease": f"{m['p_decrease']:.0%}"}
    if "attribution" in entry:
        att = entry["attribution"]["roas"]
        row["attribution"] = {k: f"{att[k]:+.2f}" for k in (*STEPS, "total")}
        row["attribution_interval"] = {k: f"{v['lo']:+.2f} to {v['hi']:+.2f}" for k, v in att["intervals"].items()}
    return row


def _stat(stats: dict[str, float], sign: bool = False) -> str:
    f = "{:+.2f}" if sign else "{:.2f}"
    return f"{f.format(stats['mean'])} ({f.format(stats['lo'])} to {f.format(stats['hi'])})"


def _number(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, (int, float)):
        if not np.isfinite(value):
            return "n/a"
        return f"{value:,.2f}" if abs(value) >= 1000 else f"{value:.6g}"  # currency amounts to the cent
    return str(value)


def _roas_figure(result: dict[str, Any]) -> str | None:
    """ROAS of A and B per channel with their intervals, as a base64 PNG."""
    from matplotlib.figure import Figure

    channels = list(result["channels"])
    if not channels:
        return None
    fig = Figure(figsize=(7.5, 0.55 * len(channels) + 1.4))
    ax = fig.add_subplot()
    y = np.arange(len(channels))
    for offset, key, color in ((-0.15, "a", "#8c8c8c"), (0.15, "b", "#1f5fa8")):
        stats = [result["channels"][c]["roas"][key] for c in channels]
        means = np.array([s["mean"] for s in stats])
        errors = np.array([[s["mean"] - s["lo"] for s in stats], [s["hi"] - s["mean"] for s in stats]])
        ax.errorbar(means, y + offset, xerr=errors, fmt="o", color=color, capsize=3,
                    label=f"{key.upper()}: {result['runs'][key]['run_id']}")
    ax.axvline(1.0, color="#b00020", lw=0.8, ls="--")
    ax.set_yticks(y, channels)
    ax.invert_yaxis()
    ax.set_xlabel(f"ROAS (posterior mean, {plots.interval_label(result['interval'])} interval)")
    ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=plots.DPI, metadata={"Software": None})
    return base64.b64encode(buffer.getvalue()).decode("ascii")
