"""Render a run folder's files into one self-contained ``report.html``.

Every number in the report is read from the run folder (``summary.json``,
``manifest.json``, ``fit.csv``, ``contributions.csv``); nothing is recomputed
from the posterior, so ``mmm report RUN_DIR`` can rebuild the page at any time
and it always agrees with the tables beside it. Formatting lives here, wording
lives in ``templates/report.html``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from mmm.report import curve_plots

from mmm.report import period_plots

from mmm.report import plots
from mmm.report.provenance import MISSING, is_number as _is_number, provenance_section
from mmm.report.structure import structure_section
from mmm.atomic import write_text_atomically
from mmm.spec.config import Config, ConfigError, ignored_config_notes
from mmm.report.register import ReconciliationError, assumptions_register, reconcile
from mmm.report.summary_text import executive_summary
from mmm.report.backtest import section_for_run
from mmm.report.formatting import (format_amount, format_ratio, format_share,  # noqa: F401 (re-exported)
                                   format_with_interval, png_data, template_environment)

REPORT_NAME = "report.html"
REQUIRED_SUMMARY_KEYS = ("interval", "window", "kpi", "channels", "diagnostics", "fit")
FREQ_WORDS = {"D": "day", "W": "week", "M": "month", "MS": "month", "ME": "month", "Q": "quarter"}


class ReportInputError(ValueError):
    """A run folder file exists but cannot be read into a report as written."""


def render_report(run_dir: str | os.PathLike[str]) -> str:
    """Return the HTML report of a run folder as a string.

    Parameters
    ----------
    run_dir : path
        A run folder holding at least ``summary.json`` and ``manifest.json``;
        ``fit.csv`` and ``contributions.csv`` add their figures when present.

    Raises
    ------
    FileNotFoundError
        The run folder, ``summary.json`` or ``manifest.json`` is missing.
    ReportInputError
        A file is not valid JSON/CSV or lacks a required key or column.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise FileNotFoundError(f"run folder {run_dir} does not exist (or is not a folder)")
    summary = _read_json(run_dir, "summary.json")
    manifest = _read_json(run_dir, "manifest.json")
    missing = [k for k in REQUIRED_SUMMARY_KEYS if k not in summary]
    if missing:
        raise ReportInputError(
            f"summary.json in run folder {run_dir} lacks key(s) {missing}; "
            "rewrite the run with `mmm fit` (or `mmm refresh`)."
        )
    fit = _read_csv(run_dir, "fit.csv", ["date", "actual", "fitted_mean", "fitted_lo", "fitted_hi"])
    contributions = _read_csv(run_dir, "contributions.csv", ["date", "component", "mean"])
    context = _context(run_dir, summary, manifest, fit, contributions)
    return template_environment().get_template("report.html").render(**context)


def write_report(run_dir: str | os.PathLike[str]) -> Path:
    """Write ``run_dir/report.html`` atomically and return its path.

    The page is rendered in full first, then written to a temporary file in
    the same folder and moved into place, so a reader never sees half a
    report and a failed render leaves the previous report untouched.
    """
    run_dir = Path(run_dir)
    html = render_report(run_dir)
    return write_text_atomically(run_dir / REPORT_NAME, html)


def roi_frame_from_summary(summary: Mapping[str, Any]) -> pd.DataFrame:
    """Per-channel table from ``summary.json``, in ``roi.csv``'s column names.

    Adds ``roas_immediate_mean`` / ``roas_lasting_mean`` (and their ``lo``/``hi``)
    where the summary has them, so the same frame feeds :func:`mmm.report.plots.plot_roi`
    and :func:`mmm.report.plots.plot_immediate_lasting`. Rows keep the summary's channel order.
    """
    rows = []
    for name, figures in summary["channels"].items():
        row: dict[str, Any] = {"channel": name, "spend": figures.get("spend")}
        for metric in ("incremental_kpi", "roas", "profit_roi", "mroas", "marginal_profit_roi", "immediate_share",
                       "roas_immediate", "roas_lasting"):
            stats = figures.get(metric)
            if isinstance(stats, Mapping):
                for stat in ("mean", "median", "lo", "hi"):
                    if stat in stats:
                        row[f"{metric}_{stat}"] = stats[stat]
        row["p_profitable"] = figures.get("p_profitable")
        if "mroas_break_even" in figures:
            row["mroas_break_even"] = figures["mroas_break_even"]
        rows.append(row)
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- reading files


def _read_json(run_dir: Path, name: str) -> dict[str, Any]:
    path = run_dir / name
    if not path.is_file():
        raise FileNotFoundError(
            f"{name} not found in run folder {run_dir}; a report is rendered only from a "
            "complete run folder written by `mmm fit`."
        )
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ReportInputError(f"{path} is not valid JSON ({err}); rewrite the run.") from err


def _read_csv(run_dir: Path, name: str, columns: list[str]) -> pd.DataFrame | None:
    path = run_dir / name
    if not path.is_file():
        return None  # the report says plainly that this figure is not in the run
    table = pd.read_csv(path)
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ReportInputError(f"{path} lacks column(s) {missing}; it has {list(table.columns)}.")
    return table


# ---------------------------------------------------------------- view model


def _context(
    run_dir: Path,
    summary: Mapping[str, Any],
    manifest: Mapping[str, Any],
    fit: pd.DataFrame | None,
    contributions: pd.DataFrame | None,
) -> dict[str, Any]:
    interval = float(summary["interval"])
    finance = summary.get("finance") or {}
    currency = summary.get("currency") or finance.get("currency") or ""
    kpi = str(summary["kpi"])
    period = FREQ_WORDS.get(str(summary.get("freq", "")), "period")
    revenue_kpi = summary.get("kpi_type", "revenue") == "revenue" and currency
    kpi_unit = f"{currency} per {period}" if revenue_kpi else f"per {period}"
    diagnostics = summary["diagnostics"]
    channels = list(summary["channels"])
    colors = plots.channel_colors(channels)
    roi = roi_frame_from_summary(summary)

    return {
        "run": _run_header(run_dir, summary, manifest),
        "interval": plots.interval_label(interval),
        "diagnostics_ok": diagnostics.get("ok") is True,
        "problems": [str(p) for p in diagnostics.get("problems", [])],
        "currency": currency,
        "kpi": kpi,
        "roi_rows": [_roi_row(name, summary["channels"][name]) for name in channels],
        "has_clv": any("roas_clv" in summary["channels"][name] for name in channels),
        "total_row": _total_row(summary.get("totals")),
        "finance": _finance(finance, currency, kpi),
        "break_even": _break_even_text(summary["channels"], finance),
        "carryover_rows": _carryover_rows(summary["channels"]),
        "present_value_rows": _present_value_rows(summary["channels"]),
        "backtest": section_for_run(run_dir, str(manifest.get("run_id", run_dir.name)),
                                    manifest.get("parent_run")) if manifest.get("parent_run") else None,
        "component_rows": _component_rows(summary.get("components") or {}),
        "frequency_rows": [{"channel": name, "mean": f"{float(c['frequency']['mean_frequency']):.2f}",
                            "optimal": format_with_interval(c["frequency"].get("optimal_frequency"),
                                                            lambda v: f"{float(v):.2f}")}
                           for name, c in summary["channels"].items() if c.get("frequency")],
        "geo": _geo_section(summary.get("geo")),
        "structure": structure_section(summary.get("structure"), summary["channels"],
                                       lambda stats: format_with_interval(stats, format_ratio)),
        "figures": _figures(roi, fit, contributions, interval, currency, kpi, kpi_unit, colors,
                            curves=_read_csv(run_dir, "response_curves.csv",
                                             ["channel", "multiplier", "spend", "value_mean", "value_lo", "value_hi"]),
                            carryover=_read_csv(run_dir, "carryover.csv",
                                                ["channel", "lag", "share_mean", "share_lo", "share_hi"]),
                            break_even={c: v.get("break_even_spend") for c, v in summary["channels"].items()},
                            by_period={p: _read_csv(run_dir, f"contributions_{p}.csv", ["period", "component", "mean"])
                                       for p in ("month", "quarter")},
                            contribution_totals=summary.get("contribution_totals"),
                            strength=_read_csv(run_dir, "media_strength.csv",
                                               ["date", "strength_mean", "strength_lo", "strength_hi"])),
        "checks": _checks(diagnostics),
        "fit_quality": _fit_quality(summary.get("fit_quality") or {}, kpi, kpi_unit),
        "health": _health(summary.get("health")),
        "health_failed": (summary.get("health") or {}).get("overall") == "FAIL",
        "untrusted": diagnostics.get("ok") is not True or (summary.get("health") or {}).get("overall") == "FAIL",
        "exec": executive_summary(summary),
        **_register(run_dir),
        "provenance": provenance_section(manifest),
        "config_notes": _config_notes(run_dir),
        "notes": [str(n) for n in summary.get("notes", [])],
    }


def _register(run_dir: Path) -> dict[str, Any]:
    """Assumptions register and spend/KPI reconciliation; a failed reconciliation is shown, not hidden."""
    if not (run_dir / "config.yaml").is_file():
        return {"register": [], "reconciliation": None}
    try:
        reconciliation = reconcile(run_dir)
    except ReconciliationError as err:
        reconciliation = err.result
    return {"register": assumptions_register(run_dir), "reconciliation": reconciliation}


def _health(health: Mapping | None) -> dict[str, Any] | None:
    """The health card rows (summary.json ``health``), values and thresholds as written there."""
    if not health:
        return None

    def number(value: Any) -> str:
        return f"{float(value):.3g}" if _is_number(value) else MISSING

    rows = [{"what": str(c.get("what", c.get("name", ""))), "value": number(c.get("value")),
             "review": ("< " if c.get("worse") == "below" else "> ") + number(c.get("review")),
             "fail": (("< " if c.get("worse") == "below" else "> ") + number(c["fail"])) if c.get("fail") is not None
             else "—",
             "status": str(c.get("status", MISSING)), "detail": str(c.get("detail", ""))}
            for c in health.get("checks", [])]
    return {"overall": str(health.get("overall", MISSING)), "rows": rows}


def _run_header(run_dir: Path, summary: Mapping, manifest: Mapping) -> dict[str, Any]:
    fit = summary["fit"]
    window = summary["window"]
    sampler = (
        f"{fit.get('sampler', MISSING)}: {fit.get('chains', MISSING)} chains × "
        f"{fit.get('draws', MISSING)} draws ({fit.get('tune', MISSING)} tuning), "
        f"seed {fit.get('seed', MISSING)}"
    )
    if _is_number(fit.get("wall_s")):
        sampler += f", {float(fit['wall_s']):,.1f} s"
    n_periods = summary.get("n_periods")
    return {
        "run_id": manifest.get("run_id") or run_dir.name,
        "created_at": manifest.get("created_at", MISSING),
        "window": f"{window.get('start', MISSING)} to {window.get('end', MISSING)}"
        + (f" ({n_periods} periods)" if n_periods is not None else ""),
        "kpi": summary["kpi"] if summary.get("kpi_type", summary["kpi"]) == summary["kpi"]
        else f"{summary['kpi']} ({summary['kpi_type']})",
        "currency": summary.get("currency") or (summary.get("finance") or {}).get("currency") or MISSING,
        "sampler": sampler,
        "parent_run": manifest.get("parent_run"),
    }


def _roi_row(name: str, figures: Mapping[str, Any]) -> dict[str, str]:
    return {
        "channel": name,
        "spend": format_amount(figures.get("spend")),
        "incremental_kpi": format_with_interval(figures.get("incremental_kpi"), format_amount),
        "roas": format_with_interval(figures.get("roas"), format_ratio),
        "profit_roi": format_with_interval(figures.get("profit_roi"), format_ratio),
        "mroas": format_with_interval(figures.get("mroas"), format_ratio),
        "marginal_profit_roi": format_with_interval(figures.get("marginal_profit_roi"), format_ratio),
        "immediate_share": format_with_interval(figures.get("immediate_share"), format_share),
        "p_profitable": format_share(figures.get("p_profitable")),
        "roas_clv": format_with_interval(figures.get("roas_clv"), format_ratio),
        "marginal_profit_roi_clv": format_with_interval(figures.get("marginal_profit_roi_clv"), format_ratio),
    }


def _break_even_text(channels: Mapping[str, Mapping[str, Any]], finance: Mapping[str, Any]) -> str:
    """The mROAS each channel's next unit must beat, (1 + hurdle) / margin: one figure, or one per channel."""
    hurdle = float(finance["hurdle_rate"]) if _is_number(finance.get("hurdle_rate")) else 0.0
    per_channel = {}
    for name, figures in channels.items():
        value = figures.get("mroas_break_even")  # runs before it was stored: from the margin
        if not _is_number(value):
            margin = figures.get("gross_margin", finance.get("gross_margin"))
            value = (1.0 + hurdle) / (margin if _is_number(margin) and margin > 0 else 1.0)
        per_channel[name] = format_ratio(value)
    if len(set(per_channel.values())) == 1:
        return next(iter(per_channel.values()))
    return ", ".join(f"{name} {text}" for name, text in per_channel.items())


def _geo_section(geo: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """ROI by geo and channel (geo runs only): the national table above is the sum of these, per draw."""
    if not geo:
        return None
    rows = [{"geo": name, **_roi_row(channel, figures)}
            for name, entry in geo.get("geos", {}).items() for channel, figures in entry.get("channels", {}).items()]
    zero = [f"{z['geo']}/{z['channel']}" for z in geo.get("zero_spend", [])]
    return {"n_geos": geo.get("n_geos", len(rows)), "rows": rows, "zero_spend": zero,
            "per_capita": bool(geo.get("per_capita")), "adstock": geo.get("adstock", "shared")}


def _total_row(totals: Mapping[str, Any] | None) -> dict[str, str] | None:
    if not totals:
        return None
    return {
        "spend": format_amount(totals.get("spend")),
        "incremental_kpi": format_with_interval(totals.get("incremental_kpi"), format_amount),
        "roas": format_with_interval(totals.get("roas"), format_ratio),
    }


COMPONENT_KINDS = {"event": "event", "organic": "organic media", "treatment": "treatment"}


def _component_rows(components: Mapping[str, Mapping[str, Any]]) -> list[dict[str, str]]:
    """Events, organic channels and treatments (summary.json ``components``): contribution and share."""
    return [{"name": name, "kind": COMPONENT_KINDS.get(str(c.get("kind")), str(c.get("kind", MISSING))),
             "against": str(c.get("against", MISSING)),
             "contribution": format_with_interval(c.get("contribution"), format_amount),
             "share": format_with_interval(c.get("share"), lambda v: format_share(v, 1))}
            for name, c in components.items()]


def _carryover_rows(channels: Mapping[str, Mapping[str, Any]]) -> list[dict[str, str]]:
    rows = []
    for name, figures in channels.items():
        if not any(k in figures for k in ("roas_immediate", "roas_lasting", "payback_50", "payback_90")):
            continue
        rows.append({
            "channel": name,
            "immediate_share": format_with_interval(figures.get("immediate_share"), format_share),
            "roas_immediate": format_with_interval(figures.get("roas_immediate"), format_ratio),
            "roas_lasting": format_with_interval(figures.get("roas_lasting"), format_ratio),
            "payback_50": format_with_interval(figures.get("payback_50"), _periods),
            "payback_90": format_with_interval(figures.get("payback_90"), _periods),
            "in_window_share": format_with_interval(figures.get("in_window_share"), format_share),
        })
    return rows


def _present_value_rows(channels: Mapping[str, Mapping[str, Any]]) -> list[dict[str, str]]:
    """Face value beside present value (runs with finance.discount_rate): ROAS, profit ROI and payback."""
    return [{
        "channel": name,
        "roas": format_with_interval(figures.get("roas"), format_ratio),
        "roas_npv": format_with_interval(figures.get("roas_npv"), format_ratio),
        "profit_roi": format_with_interval(figures.get("profit_roi"), format_ratio),
        "profit_roi_npv": format_with_interval(figures.get("profit_roi_npv"), format_ratio),
        "p_profitable_npv": format_share(figures.get("p_profitable_npv")),
        "payback_50_npv": format_with_interval(figures.get("payback_50_npv"), _periods),
        "payback_90_npv": format_with_interval(figures.get("payback_90_npv"), _periods),
    } for name, figures in channels.items() if "roas_npv" in figures]


def _finance(finance: Mapping[str, Any], currency: str, kpi: str) -> dict[str, Any]:
    source = str(finance.get("gross_margin_source", "not recorded"))
    rate = finance.get("discount_rate")
    return {
        "discount_rate": None if not _is_number(rate) else f"{float(rate):.2%} a year",
        "discount_rate_source": str(finance.get("discount_rate_source") or "not recorded"),
        "gross_margin": format_share(finance.get("gross_margin")),
        "gross_margin_source": source,
        "margin_is_default": source.strip().lower().startswith("default"),
        "value_per_kpi": format_ratio(finance.get("value_per_kpi")),
        "hurdle_rate": format_share(finance.get("hurdle_rate")),
        "currency": finance.get("currency") or currency or MISSING,
        "kpi": kpi,
        "recorded": bool(finance),
        "by_channel": "; ".join(
            f"{c} {format_share(m)} (source: {(finance.get('gross_margin_by_channel_source') or {}).get(c) or 'not recorded'})"
            for c, m in (finance.get("gross_margin_by_channel") or {}).items()),
    }


def _checks(diagnostics: Mapping[str, Any]) -> list[dict[str, str]]:
    """One row per sampler check: value, threshold and PASS/FAIL against the recorded threshold."""
    thresholds = diagnostics.get("thresholds") or {}
    specs = [  # (label, value key, threshold key, sign, passes, format)
        ("Max R-hat", "max_rhat", "max_rhat", "≤", lambda v, t: v <= t, _rhat),
        ("Min bulk ESS", "min_ess_bulk", "min_ess_bulk", "≥", lambda v, t: v >= t, _count),
        ("Divergences", "divergences", "max_divergences", "≤", lambda v, t: v <= t, _count),
    ]
    rows = []
    for label, key, threshold_key, sign, passes, fmt in specs:
        value, threshold = diagnostics.get(key), thresholds.get(threshold_key)
        if _is_number(value) and _is_number(threshold):
            status = "PASS" if passes(float(value), float(threshold)) else "FAIL"
        elif not _is_number(value):
            status = "FAIL"  # a missing or NaN diagnostic is never a pass
        else:
            status = MISSING
        rows.append({
            "label": label,
            "value": fmt(value),
            "threshold": f"{sign} {threshold:g}" if _is_number(threshold) else "not recorded",
            "status": status,
        })
    return rows


def _fit_quality(quality: Mapping[str, Any], kpi: str, kpi_unit: str) -> list[dict[str, str]]:
    rows = []
    if "r2" in quality:
        rows.append({"label": "R² (share of KPI variation explained)", "value": format_ratio(quality["r2"])})
    if "mape" in quality:
        rows.append({"label": "MAPE (mean absolute % error)", "value": format_share(quality["mape"], digits=1)})
    if "residual_sd" in quality:
        rows.append({"label": f"Residual SD ({kpi}, {kpi_unit})", "value": format_amount(quality["residual_sd"])})
    held = quality.get("holdout")
    if isinstance(held, Mapping):
        where = f"{held.get('periods', MISSING)} held-out periods from {held.get('start', MISSING)}, never fitted"
        rows.append({"label": f"Holdout R² ({where})", "value": format_ratio(held.get("r2"))})
        rows.append({"label": f"Holdout MAPE ({where})", "value": format_share(held.get("mape"), digits=1)})
        # the interval of the expected KPI, without noise or the shared shocks of weeks never fitted: not a forecast
        # interval, so it is low even for a good model
        rows.append({"label": "Holdout periods inside the expected KPI's interval (no noise)",
                     "value": format_share(held.get("share_inside_mean_interval"))})
    return rows


def _config_notes(run_dir: Path) -> list[str]:
    """Config keys the run's config sets that the model reads but does not use yet (empty when none)."""
    path = run_dir / "config.yaml"
    if not path.is_file():
        return []
    try:
        return [str(n) for n in ignored_config_notes(Config.load(path))]
    except ConfigError:
        return []  # an unreadable config is the register's and reconciliation's to report


# ---------------------------------------------------------------- figures


def _figures(
    roi: pd.DataFrame,
    fit: pd.DataFrame | None,
    contributions: pd.DataFrame | None,
    interval: float,
    currency: str,
    kpi: str,
    kpi_unit: str,
    colors: Mapping[str, str],
    curves: pd.DataFrame | None = None,
    carryover: pd.DataFrame | None = None,
    break_even: Mapping[str, float | None] | None = None,
    by_period: Mapping[str, pd.DataFrame | None] | None = None,
    contribution_totals: Mapping[str, Any] | None = None,
    strength: pd.DataFrame | None = None,
) -> list[dict[str, str | None]]:
    """Each figure as a base64 PNG, or None with the reason it is absent."""
    figures: list[dict[str, str | None]] = []

    def add(title: str, alt: str, make, absent: str | None) -> None:
        png = None if absent else png_data(make())
        figures.append({"title": title, "alt": alt, "png": png, "absent": absent})

    has_roas = all(f"roas_{s}" in roi.columns for s in ("mean", "lo", "hi"))
    add("Return on ad spend by channel",
        f"ROAS per channel with {plots.interval_label(interval)} intervals and the break-even line at 1",
        lambda: plots.plot_roi(roi, "roas", interval, currency=currency or None, colors=colors),
        None if has_roas else "ROAS is not in summary.json of this run.")
    add(f"Actual vs fitted {kpi}",
        f"Actual {kpi} and the model's fitted {kpi} with its interval band over time",
        lambda: plots.plot_fit(fit, interval, kpi=kpi, unit=kpi_unit),
        None if fit is not None else "fit.csv is not in this run folder.")
    add(f"Contributions to {kpi} over time",
        f"Stacked area of baseline and channel contributions to {kpi}",
        lambda: plots.plot_contributions(contributions, kpi=kpi, unit=kpi_unit, colors=colors),
        None if contributions is not None else "contributions.csv is not in this run folder.")
    add("Response curves",
        "Per channel, incremental value against spend in the window, with the current spend and break-even marked",
        lambda: curve_plots.plot_response_curves(curves, break_even, interval=interval, currency=currency or None,
                                                 colors=colors),
        None if curves is not None else "response_curves.csv is not in this run folder.")
    add("Carry-over",
        "Per channel, the cumulative share of a spend's return that has arrived after each period",
        lambda: curve_plots.plot_carryover(carryover, interval=interval, colors=colors),
        None if carryover is not None else "carryover.csv is not in this run folder.")
    for period, table in (by_period or {}).items():
        add(f"Contributions by {period}",
            f"Stacked bars of baseline and channel contributions to {kpi} per {period}",
            lambda table=table, period=period: period_plots.plot_contributions_by_period(
                table, period=period, kpi=kpi, colors=colors),
            None if table is not None else f"contributions_{period}.csv is not in this run folder.")
    add("Waterfall of the window's total",
        f"From the baseline to the total expected {kpi} over the window, one step per channel",
        lambda: period_plots.plot_waterfall(contribution_totals, kpi=kpi, colors=colors),
        None if contribution_totals else "contribution_totals is not in summary.json of this run.")
    if strength is not None:  # only a run with a time-varying media effect has it
        add("Media strength over time",
            "Paid media's effect in each period relative to its average (1), with its interval band",
            lambda: period_plots.plot_media_strength(strength, interval), None)
    has_parts = {"roas_immediate_mean", "roas_lasting_mean"} <= set(roi.columns)
    add("Immediate vs lasting return",
        "Per channel, the ROAS that arrives in the same period and the part that arrives later",
        lambda: plots.plot_immediate_lasting(roi, currency=currency or None, colors=colors),
        None if has_parts else "The immediate/lasting ROAS split is not in summary.json of this run.")
    return figures


# ---------------------------------------------------------------- number formats


def _rhat(value: Any) -> str:
    return f"{value:.3f}" if _is_number(value) else MISSING


def _count(value: Any) -> str:
    return f"{value:,.0f}" if _is_number(value) else MISSING


def _periods(value: Any) -> str:
    return f"{value:,.1f}" if _is_number(value) else MISSING
