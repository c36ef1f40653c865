"""The portfolio page of a batch (``mmm batch``): every model's status, ROAS per channel with its interval, the
health verdict, the change since last quarter and the backtest's coverage, read from the folders the batch
wrote. ``portfolio.csv`` is the tidy table (one row per model and channel; a model without a run has one row
with no channel), ``portfolio.xlsx`` holds it and a one-row-per-model sheet, ``portfolio.html`` shows both.
Each file is written whole or not at all; a resumed batch writes them again with what is done by then."""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from mmm.atomic import write_atomically, write_text_atomically
from mmm.report.formatting import format_ratio, format_share, template_environment
from mmm.report.plots import interval_label

MODEL_COLUMNS = ["model", "status", "exit_code", "message", "steps", "run", "parent", "diagnostics_ok", "health",
                 "backtest_periods", "backtest_coverage_50", "backtest_coverage", "backtest_flag",
                 "changed_channels", "seconds"]
CHANNEL_COLUMNS = ["channel", "spend", "roas_mean", "roas_lo", "roas_hi", "profit_roi_mean", "p_profitable",
                   "roas_change_mean", "roas_change_lo", "roas_change_hi", "p_roas_increase", "roas_changed"]


def portfolio_tables(book, statuses: Mapping[str, Mapping[str, Any]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(one row per model, the tidy table: one row per model and channel)."""
    models, rows = [], []
    for job in book.models:
        status = statuses.get(job.id) or {"rc": None, "status": "not run", "message": "", "steps": []}
        outputs = book.outputs(job)
        summary = _json(outputs.get("fit", outputs.get("refresh")), "summary.json")
        backtest = _json(outputs.get("backtest") or _sibling(outputs, "-backtest"), "backtest.json")
        comparison = _json(outputs.get("compare"), "comparison.json")
        model = {
            "model": job.id, "status": status["status"], "exit_code": status["rc"], "message": status["message"],
            "steps": " ".join(job.steps), "run": str(book.run_dir(job)) if summary else None,
            "parent": str(job.parent) if job.parent else None,
            "diagnostics_ok": summary["diagnostics"].get("ok") if summary else None,
            "health": (summary.get("health") or {}).get("overall") if summary else None,
            "backtest_periods": backtest.get("periods") if backtest else None,
            "backtest_coverage_50": backtest.get("coverage_50") if backtest else None,
            "backtest_coverage": backtest.get("coverage") if backtest else None,
            "backtest_flag": backtest.get("flag") if backtest else None,
            "changed_channels": " ".join(comparison.get("flagged_changed", [])) if comparison else None,
            "seconds": status.get("seconds"),
        }
        models.append(model)
        if not summary:
            rows.append({**model, **{c: None for c in CHANNEL_COLUMNS}})
            continue
        interval = summary.get("interval", 0.9)
        for channel, figures in summary["channels"].items():
            change = ((comparison or {}).get("channels") or {}).get(channel, {}).get("roas")
            rows.append({**model, "channel": channel, "spend": figures["spend"],
                         "roas_mean": figures["roas"]["mean"], "roas_lo": figures["roas"]["lo"],
                         "roas_hi": figures["roas"]["hi"], "profit_roi_mean": (figures.get("profit_roi") or {}).get("mean"),
                         "p_profitable": figures.get("p_profitable"),
                         "roas_change_mean": change["difference"]["mean"] if change else None,
                         "roas_change_lo": change["difference"]["lo"] if change else None,
                         "roas_change_hi": change["difference"]["hi"] if change else None,
                         "p_roas_increase": change["p_increase"] if change else None,
                         "roas_changed": (channel in comparison.get("flagged_changed", [])) if comparison else None,
                         "interval": interval})
    tidy = pd.DataFrame(rows)
    tidy = tidy[[c for c in ["model", *CHANNEL_COLUMNS, "interval", *MODEL_COLUMNS[1:]] if c in tidy.columns]]
    return pd.DataFrame(models, columns=MODEL_COLUMNS), tidy


def write_portfolio(out: str | Path, book, statuses: Mapping[str, Mapping[str, Any]]) -> dict[str, Path]:
    """portfolio.csv, portfolio.xlsx and portfolio.html in ``out``."""
    out = Path(out)
    models, tidy = portfolio_tables(book, statuses)
    paths = {"csv": write_text_atomically(out / "portfolio.csv", tidy.to_csv(index=False))}
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        models.to_excel(writer, sheet_name="models", index=False)
        tidy.to_excel(writer, sheet_name="channels", index=False)
    paths["xlsx"] = write_atomically(out / "portfolio.xlsx", lambda handle: handle.write(buffer.getvalue()))
    paths["html"] = write_text_atomically(out / "portfolio.html", render_portfolio(book, models, tidy))
    return paths


def render_portfolio(book, models: pd.DataFrame, tidy: pd.DataFrame) -> str:
    interval = float(tidy["interval"].dropna().iloc[0]) if "interval" in tidy and tidy["interval"].notna().any() \
        else 0.9
    cards = []
    for model in models.to_dict(orient="records"):
        channels = tidy[(tidy["model"] == model["model"]) & tidy["channel"].notna()]
        cards.append({
            **{k: ("" if _missing(v) else v) for k, v in model.items()},
            "ok": model["exit_code"] == 0,
            "coverage": "" if _missing(model["backtest_coverage"]) else
            f"{format_share(model['backtest_coverage'])} of {int(model['backtest_periods'])} periods",
            "channels": [{
                "channel": r["channel"], "roas": f"{format_ratio(r['roas_mean'])} ({format_ratio(r['roas_lo'])} to "
                                                 f"{format_ratio(r['roas_hi'])})",
                "change": "" if _missing(r["roas_change_mean"]) else
                f"{r['roas_change_mean']:+.2f} ({r['roas_change_lo']:+.2f} to {r['roas_change_hi']:+.2f})"
                + (" flagged" if r["roas_changed"] else ""),
                "p_profitable": "" if _missing(r["p_profitable"]) else format_share(r["p_profitable"]),
            } for r in channels.to_dict(orient="records")],
        })
    counts = models["status"].value_counts().to_dict()
    return template_environment().get_template("portfolio.html").render(
        name=book.name, label=book.label, models=cards, counts=counts, interval=interval_label(interval),
        source=book.source.name)


def _sibling(outputs: Mapping[str, Path], suffix: str) -> Path | None:
    """The refresh's own backtest (``mmm refresh`` writes ``<run>-backtest``) when no backtest step is listed."""
    run = outputs.get("refresh")
    return run.with_name(run.name + suffix) if run is not None else None


def _json(folder: Path | None, name: str) -> dict[str, Any] | None:
    if folder is None or not (Path(folder) / name).is_file():
        return None
    return json.loads((Path(folder) / name).read_text())


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value)
