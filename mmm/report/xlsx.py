"""``roi.xlsx``: the tables finance works in, written with openpyxl.

Sheets, in order:

- **ROI** — one row per channel plus an "All media" row: spend and every headline
  figure (mean, interval low, interval high), CLV-basis ROAS and marginal profit ROI
  where the run has them, and P(profit ROI > hurdle); a note below states the break-even
  mROAS, (1 + hurdle) / margin. Row 1 is a title line (it carries the diagnostics
  warning when the fit failed its checks); row 2 holds the headers, which state
  units and the interval mass. ``pandas.read_excel(path, sheet_name="ROI", header=1)``
  reads it as a table.
- **Contributions (month)** / **Contributions (quarter)** — baseline and each
  channel per calendar bucket, summed per posterior draw before summarizing
  (:func:`mmm.analysis.periods.aggregate_contributions`), same two-row layout.
- **Assumptions** — every finance input with its source, plus interval mass,
  window, KPI and currency.
- **Provenance** — run id, timestamps, data and config hashes, seed, sampler
  settings and package versions from ``manifest.json``.

Per-channel figures are computed from the run's :class:`~mmm.analysis.effects.Effects` with
the same :func:`~mmm.analysis.effects.summarize` that builds ``summary.json``, and checked
against ``summary`` before anything is written: the workbook and ``summary.json``
never disagree. (openpyxl stores floats with 16 significant digits, ``"%.16g"``, so a
figure read back from the file can differ from its JSON form in the 17th digit.)
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from mmm.analysis.effects import Effects, summarize

# aggregate_contributions is the one definition of "contributions per calendar bucket,
# summed per draw"; reusing it keeps the CSV, the report and this workbook on the same numbers.
from mmm.atomic import write_atomically
from mmm.analysis.periods import CALENDAR_PERIODS, aggregate_contributions

SHEETS = ("ROI", "Contributions (month)", "Contributions (quarter)", "Assumptions", "Provenance")
TOTAL_LABEL = "All media"
HEADER_ROW = 2  # row 1 is the sheet's title/status line
AMOUNT = "#,##0"
RATIO = "0.00"
SHARE = "0.0%"
CHECK_RTOL = 1e-9  # workbook vs summary.json: same Effects, so any real difference is a different run

_HEADER_FONT = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="DDE4EE")
_TOTAL_FONT = Font(bold=True)
_WARN_FONT = Font(bold=True, color="9C0006")
_WARN_FILL = PatternFill("solid", fgColor="FFC7CE")


class XlsxInputError(ValueError):
    """The Effects and summary given do not describe the same run."""


def write_roi_xlsx(path: str | os.PathLike[str], effects: Effects, summary: Mapping[str, Any],
                   manifest: Mapping[str, Any]) -> Path:
    """Write ``roi.xlsx`` to ``path`` atomically (temp file in the same folder, then rename); returns the path."""
    path = Path(path)
    workbook = build_workbook(effects, summary, manifest)
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_atomically(path, workbook.save)


def build_workbook(effects: Effects, summary: Mapping[str, Any], manifest: Mapping[str, Any]) -> Workbook:
    """The workbook in memory (see the module docstring for its sheets)."""
    units = _Units.of(summary, effects)
    warning = _warning(summary)
    wb = Workbook()
    wb.remove(wb.active)
    _roi_sheet(wb.create_sheet(SHEETS[0]), effects, summary, units, warning)
    for freq, name in (("month", SHEETS[1]), ("quarter", SHEETS[2])):
        _contributions_sheet(wb.create_sheet(name), effects, freq, units, warning)
    _assumptions_sheet(wb.create_sheet(SHEETS[3]), effects, summary, units)
    _provenance_sheet(wb.create_sheet(SHEETS[4]), manifest, summary)
    return wb


# ---------------------------------------------------------------- units and labels


class _Units:
    def __init__(self, currency: str, kpi: str, kpi_type: str, interval: float):
        self.currency = currency
        self.kpi = kpi
        self.kpi_type = kpi_type
        self.interval = interval
        # a revenue KPI is money; a count KPI is counted in its own column's units
        self.kpi_unit = currency if kpi_type == "revenue" else kpi
        self.mass = f"{round(interval * 100, 6):g}%"

    @classmethod
    def of(cls, summary: Mapping[str, Any], effects: Effects) -> _Units:
        finance = summary.get("finance") or {}
        currency = str(summary.get("currency") or finance.get("currency") or "currency")
        interval = summary.get("interval", effects.interval)
        if not math.isclose(float(interval), effects.interval):
            raise XlsxInputError(f"summary interval {interval} differs from the effects' {effects.interval}; "
                                 f"they are not from the same run")
        return cls(currency, str(summary.get("kpi", "KPI")), str(summary.get("kpi_type", "revenue")),
                   effects.interval)

    def stat_headers(self, label: str, unit: str) -> tuple[str, str, str]:
        return (f"{label} ({unit}) — mean", f"{label} — {self.mass} interval low",
                f"{label} — {self.mass} interval high")


def _warning(summary: Mapping[str, Any]) -> str | None:
    diagnostics = summary.get("diagnostics") or {}
    if diagnostics.get("ok", True):
        return None
    problems = "; ".join(str(p) for p in diagnostics.get("problems") or []) or "see the report's model health card"
    return f"WARNING: the fit FAILED its diagnostics ({problems}). Do not use these figures for decisions."


# ---------------------------------------------------------------- ROI


def _roi_columns(units: _Units, clv: bool, npv: bool = False) -> list[tuple[str, str, str]]:
    """(metric, label, unit-and-format key) in column order."""
    c = units.currency
    cols = [
        ("incremental_kpi", f"Incremental {units.kpi}", units.kpi_unit, AMOUNT),
        ("incremental_value", "Incremental value", c, AMOUNT),
        ("roas", "ROAS", f"{c} per {c}", RATIO),
        ("profit_roi", "Profit ROI", f"{c} profit per {c} spent; 0 = break-even", RATIO),
        ("mroas", "mROAS", f"{c} per extra {c}", RATIO),
        ("marginal_profit_roi", "Marginal profit ROI", f"{c} profit per extra {c} spent; pays above the hurdle",
         RATIO),
        ("immediate_share", "Immediate share", "% of return", SHARE),
        ("roas_immediate", "ROAS immediate", f"{c} per {c}", RATIO),
        ("roas_lasting", "ROAS lasting", f"{c} per {c}", RATIO),
    ]
    if clv:
        cols.append(("roas_clv", "ROAS, CLV basis", f"{c} per {c}", RATIO))
        cols.append(("marginal_profit_roi_clv", "Marginal profit ROI, CLV basis",
                     f"{c} profit per extra {c} spent", RATIO))
    if npv:
        cols += [("roas_npv", "ROAS, present value", f"{c} per {c}, lasting part discounted", RATIO),
                 ("profit_roi_npv", "Profit ROI, present value", f"{c} profit per {c} spent, discounted", RATIO),
                 ("roas_lasting_npv", "ROAS lasting, present value", f"{c} per {c}", RATIO)]
    return cols


def roi_rows(effects: Effects, summary: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One dict per channel and one for all media: spend, {metric: {mean, lo, hi}}, p_profitable.

    Checked against ``summary`` (channels and totals) before it is returned.
    """
    channels = summary.get("channels") or {}
    if list(channels) and list(channels) != list(effects.channels):
        raise XlsxInputError(f"summary channels {list(channels)} differ from the effects' {effects.channels}")
    clv_value = _clv(summary) if any("roas_clv" in f for f in channels.values()) else None
    spend = np.asarray(effects.spend, dtype=float)
    per_draw = {m: np.asarray(effects.metric(m), dtype=float) for m in
                ("incremental_kpi", "incremental_value", "roas", "profit_roi", "mroas", "marginal_profit_roi",
                 "immediate_share", "roas_immediate", "roas_lasting")}
    if effects.has_present_value:
        per_draw.update({m: np.asarray(effects.metric(m), dtype=float)
                         for m in ("roas_npv", "profit_roi_npv", "roas_lasting_npv")})
    margins = np.asarray(effects.channel_margins, dtype=float)
    if clv_value is not None:
        per_draw["roas_clv"] = per_draw["incremental_kpi"] * clv_value / spend
        value_per_kpi = float((summary.get("finance") or {}).get("value_per_kpi") or 1.0)
        per_draw["marginal_profit_roi_clv"] = per_draw["mroas"] * clv_value / value_per_kpi * margins - 1.0
    p_profitable = effects.p_profitable

    rows = []
    for k, name in enumerate(effects.channels):
        row: dict[str, Any] = {"channel": name, "spend": float(spend[k]), "p_profitable": float(p_profitable[k])}
        for metric, values in per_draw.items():
            row[metric] = summarize(values[:, k], effects.interval)
        _check(row, channels.get(name), name)
        rows.append(row)

    # all media, per draw: money-weighted so each total is the ratio of the summed parts
    total_spend = float(spend.sum())
    inc_kpi = per_draw["incremental_kpi"].sum(axis=1)
    value = per_draw["incremental_value"].sum(axis=1)
    profit_roi = ((per_draw["profit_roi"] + 1.0) * spend).sum(axis=1) / total_spend - 1.0
    immediate = (per_draw["immediate_share"] * per_draw["incremental_kpi"]).sum(axis=1)
    totals = {
        "incremental_kpi": inc_kpi,
        "incremental_value": value,
        "roas": value / total_spend,
        "profit_roi": profit_roi,
        "mroas": (per_draw["mroas"] * spend).sum(axis=1) / total_spend,
        # the next unit spread over channels like today's spend: the margin-weighted extra value, less the unit
        "marginal_profit_roi": (per_draw["mroas"] * margins * spend).sum(axis=1) / total_spend - 1.0,
        "immediate_share": np.divide(immediate, inc_kpi, out=np.ones_like(immediate), where=inc_kpi != 0),
        "roas_immediate": (per_draw["roas_immediate"] * spend).sum(axis=1) / total_spend,
        "roas_lasting": (per_draw["roas_lasting"] * spend).sum(axis=1) / total_spend,
    }
    if effects.has_present_value:
        for metric in ("roas_npv", "roas_lasting_npv"):
            totals[metric] = (per_draw[metric] * spend).sum(axis=1) / total_spend
        totals["profit_roi_npv"] = ((per_draw["profit_roi_npv"] + 1.0) * spend).sum(axis=1) / total_spend - 1.0
    if clv_value is not None:
        totals["roas_clv"] = inc_kpi * clv_value / total_spend
        totals["marginal_profit_roi_clv"] = ((per_draw["marginal_profit_roi_clv"] + 1.0) * spend).sum(axis=1) \
            / total_spend - 1.0
    total: dict[str, Any] = {"channel": TOTAL_LABEL, "spend": total_spend,
                             "p_profitable": float(np.mean(profit_roi > effects.hurdle_rate))}
    for metric, values in totals.items():
        total[metric] = summarize(values, effects.interval)
    _check(total, summary.get("totals"), TOTAL_LABEL)
    rows.append(total)
    return rows


def _clv(summary: Mapping[str, Any]) -> float:
    clv = (summary.get("finance") or {}).get("clv")
    if not _is_number(clv):
        raise XlsxInputError("summary channels carry roas_clv but summary.finance.clv is not set")
    return float(clv)


def _check(row: Mapping[str, Any], recorded: Mapping[str, Any] | None, name: str) -> None:
    """Every figure ``summary.json`` records for this row must equal the one about to be written."""
    if not recorded:
        return
    for key, value in row.items():
        if key == "channel" or key not in recorded:
            continue
        stored = recorded[key]
        pairs = ([(stat, value[stat], stored.get(stat)) for stat in ("mean", "lo", "hi")]
                 if isinstance(value, Mapping) and isinstance(stored, Mapping) else [("", value, stored)])
        for stat, mine, theirs in pairs:
            if not _is_number(theirs) or not _is_number(mine):
                continue  # JSON keeps NaN as null; nothing to compare
            if not math.isclose(float(mine), float(theirs), rel_tol=CHECK_RTOL, abs_tol=1e-12):
                raise XlsxInputError(f"{name} {key} {stat}: effects give {mine!r}, summary.json says {theirs!r}; "
                                     f"the effects and summary are not from the same run")


def _roi_sheet(ws: Worksheet, effects: Effects, summary: Mapping[str, Any], units: _Units,
               warning: str | None) -> None:
    rows = roi_rows(effects, summary)
    clv = "roas_clv" in rows[0]
    columns = _roi_columns(units, clv, npv=effects.has_present_value)
    hurdle = effects.hurdle_rate
    headers: list[tuple[str, str]] = [("Channel", "@"), (f"Spend ({units.currency})", AMOUNT)]
    for _metric, label, unit, fmt in columns:
        headers += [(h, fmt) for h in units.stat_headers(label, unit)]
    headers.append((f"P(profit ROI > {hurdle:g}) (probability)", SHARE))

    window = summary.get("window") or {}
    title = (f"Return on investment, {window.get('start', '?')} to {window.get('end', '?')}: posterior means and "
             f"{units.mass} equal-tailed intervals. KPI: {units.kpi} ({units.kpi_unit}).")
    _title(ws, warning or title, len(headers), warn=warning is not None)
    _header(ws, [h for h, _ in headers])
    for r, row in enumerate(rows, start=HEADER_ROW + 1):
        values: list[Any] = [row["channel"], row["spend"]]
        for metric, *_ in columns:
            values += [row[metric][s] for s in ("mean", "lo", "hi")]
        values.append(row["p_profitable"])
        for c, (value, (_h, fmt)) in enumerate(zip(values, headers, strict=True), start=1):
            cell = ws.cell(row=r, column=c, value=_cell_value(value))
            cell.number_format = fmt
            if row["channel"] == TOTAL_LABEL:
                cell.font = _TOTAL_FONT
    break_even = {f"{b:.2f}" for b in effects.mroas_break_even}
    break_even_text = (break_even.pop() if len(break_even) == 1 else
                       ", ".join(f"{c} {b:.2f}" for c, b in zip(effects.channels, effects.mroas_break_even)))
    notes = [
        f"Intervals are {units.mass} equal-tailed posterior intervals; 'mean' is the posterior mean.",
        "Incremental figures count the window and the carry-over after it. Profit ROI = ROAS × gross margin − 1.",
        f"Marginal profit ROI = mROAS × gross margin − 1: the next {units.currency} pays for itself only when this beats "
        f"the hurdle rate ({hurdle:g}), i.e. when mROAS is above (1 + hurdle) ÷ gross margin ({break_even_text}), "
        "not when mROAS is above 1.",
        f"'{TOTAL_LABEL}' is computed per posterior draw from the summed channels (ratios weighted by spend).",
    ]
    if clv:
        notes.append("ROAS, CLV basis: incremental customers × customer lifetime value ÷ spend (see Assumptions); "
                     "marginal profit ROI, CLV basis: the same for the next unit, against the same hurdle.")
    if effects.has_present_value:
        notes.append(f"Present value: each lasting return is discounted to the period of the spend behind it at "
                     f"{effects.discount_rate:.2%} a year (finance.discount_rate, see Assumptions); the immediate "
                     "part is not discounted. Profit ROI, present value = ROAS, present value × gross margin − 1.")
    if warning:
        notes.insert(0, warning)
    _notes(ws, notes, start=HEADER_ROW + len(rows) + 2, warn_first=warning is not None)
    _finish(ws, [h for h, _ in headers], first_width=max(12, max(len(r["channel"]) for r in rows) + 2))


# ---------------------------------------------------------------- contributions


def _contributions_sheet(ws: Worksheet, effects: Effects, freq: str, units: _Units, warning: str | None) -> None:
    table = aggregate_contributions(effects, freq)
    buckets = pd.Series(effects.dates).dt.to_period(CALENDAR_PERIODS[freq]).astype(str).value_counts()
    headers = ["Period", "Component", "Data periods", *units.stat_headers("Contribution", units.kpi_unit)]
    formats = ["@", "@", "0", AMOUNT, AMOUNT, AMOUNT]
    title = (f"Contributions per {freq} in {units.kpi} ({units.kpi_unit}): each posterior draw summed within "
             f"the {freq}, then summarized ({units.mass} equal-tailed intervals). Covers every data period; "
             f"'Data periods' shows partial {freq}s.")
    _title(ws, warning or title, len(headers), warn=warning is not None)
    _header(ws, headers)
    table = table.sort_values(["period"], kind="stable")  # period-major: each period's components together
    for r, rec in enumerate(table.itertuples(index=False), start=HEADER_ROW + 1):
        values = [rec.period, rec.component, int(buckets[rec.period]), rec.mean, rec.lo, rec.hi]
        for c, (value, fmt) in enumerate(zip(values, formats, strict=True), start=1):
            ws.cell(row=r, column=c, value=_cell_value(value)).number_format = fmt
    ws.auto_filter.ref = f"A{HEADER_ROW}:{get_column_letter(len(headers))}{HEADER_ROW + len(table)}"
    _finish(ws, headers, first_width=12)


# ---------------------------------------------------------------- assumptions and provenance

_FINANCE_LABELS = {
    "currency": ("Currency", "@"),
    "gross_margin": ("Gross margin (share of value kept after cost of goods)", SHARE),
    "value_per_kpi": ("Value per KPI unit ({c} per {kpi})", "#,##0.00##"),
    "hurdle_rate": ("Hurdle rate (profit ROI a channel must beat)", SHARE),
    "clv": ("Customer lifetime value ({c} per customer)", "#,##0.00"),
    "discount_rate": ("Discount rate (annual; lasting returns at present value)", "0.00%"),
}


def _assumptions_sheet(ws: Worksheet, effects: Effects, summary: Mapping[str, Any], units: _Units) -> None:
    headers = ["Assumption", "Value", "Source"]
    _header(ws, headers, row=1)
    finance = dict(summary.get("finance") or {})
    rows: list[tuple[str, Any, str, str]] = []
    by_channel = finance.pop("gross_margin_by_channel", None) or {}
    by_channel_source = finance.pop("gross_margin_by_channel_source", None) or {}
    # per-channel margins override the default margin for that channel
    channel_rows = [(f"Finance: gross margin, {channel}", float(margin),
                     str(by_channel_source.get(channel) or "no source recorded in the config"), "0.0%")
                    for channel, margin in by_channel.items()]
    for key, value in finance.items():
        if key.endswith("_source") and key[: -len("_source")] in finance:
            continue  # shown beside its value
        label, fmt = _FINANCE_LABELS.get(key, (key.replace("_", " ").capitalize(), "General"))
        label = label.format(c=units.currency, kpi=units.kpi)
        source = finance.get(f"{key}_source")
        if key.endswith("_source"):
            source, value, fmt = "", value, "@"
        elif value is None:
            value, fmt, source = "not set", "@", source or "not given in the config"
        else:
            source = source or "no source recorded in the config"
        rows.append((f"Finance: {label}", value, str(source), fmt))
    rows += channel_rows
    window = summary.get("window") or {}
    rows += [
        ("Interval mass (equal-tailed posterior interval)", effects.interval, "report setting", "0%"),
        ("Analysis window start", str(window.get("start", effects.window[0].date().isoformat())), "config", "@"),
        ("Analysis window end", str(window.get("end", effects.window[1].date().isoformat())), "config", "@"),
        ("KPI", units.kpi, "config (data.kpi)", "@"),
        ("KPI type", units.kpi_type, "config (data.kpi_type)", "@"),
        ("Currency", units.currency, "config (finance.currency)", "@"),
        ("Gross margin used in profit ROI", effects.gross_margin, "finance.gross_margin (100% when not given)",
         SHARE),
    ]
    for r, (label, value, source, fmt) in enumerate(rows, start=2):
        ws.cell(row=r, column=1, value=label)
        ws.cell(row=r, column=2, value=_cell_value(value)).number_format = fmt
        ws.cell(row=r, column=3, value=source)
    notes = [str(n) for n in summary.get("notes") or []]
    if notes:
        _notes(ws, ["Notes:", *notes], start=len(rows) + 3)
    ws.freeze_panes = "A2"
    _widths(ws, [60, 22, 60])


def _provenance_sheet(ws: Worksheet, manifest: Mapping[str, Any], summary: Mapping[str, Any]) -> None:
    _header(ws, ["Item", "Value"], row=1)
    data = manifest.get("data") or {}
    rows: list[tuple[str, Any]] = [
        ("Run id", manifest.get("run_id")),
        ("Created at (UTC)", manifest.get("created_at")),
        ("mmm version", manifest.get("package_version")),
        ("Python", manifest.get("python")),
        ("Platform", manifest.get("platform")),
        ("Data path", data.get("path")),
        ("Data SHA-256", data.get("sha256")),
        ("Data periods", data.get("n_periods")),
        ("Data start", data.get("start")),
        ("Data end", data.get("end")),
        ("Data frequency", data.get("freq")),
        ("Config SHA-256 (of the run's config.yaml)", manifest.get("config_sha256")),
        ("Seed", manifest.get("seed")),
    ]
    rows += [(f"Sampler: {k}", v) for k, v in (manifest.get("sampler") or {}).items()]
    rows += [(f"Timing: {k}", v) for k, v in (manifest.get("timings") or {}).items()]
    diagnostics_ok = manifest.get("diagnostics_ok", (summary.get("diagnostics") or {}).get("ok"))
    rows += [
        ("Diagnostics verdict", None if diagnostics_ok is None else ("PASS" if diagnostics_ok else "FAIL")),
        ("Parent run", manifest.get("parent_run") or "none (first run)"),
    ]
    rows += [(f"Version: {k}", v) for k, v in sorted((manifest.get("versions") or {}).items())]
    for r, (label, value) in enumerate(rows, start=2):
        ws.cell(row=r, column=1, value=label)
        cell = ws.cell(row=r, column=2, value=_provenance_value(value))
        cell.alignment = Alignment(horizontal="left")
    ws.freeze_panes = "A2"
    _widths(ws, [44, 70])


def _provenance_value(value: Any) -> Any:
    if value is None:
        return "not recorded"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, float, np.integer, np.floating)):
        return _cell_value(value)
    return str(value)


# ---------------------------------------------------------------- layout helpers


def _title(ws: Worksheet, text: str, width: int, *, warn: bool = False) -> None:
    cell = ws.cell(row=1, column=1, value=text)
    cell.font = _WARN_FONT if warn else Font(bold=True, size=12)
    if warn:
        for c in range(1, width + 1):
            ws.cell(row=1, column=c).fill = _WARN_FILL
        ws.sheet_properties.tabColor = "C00000"


def _header(ws: Worksheet, headers: list[str], row: int = HEADER_ROW) -> None:
    for c, text in enumerate(headers, start=1):
        cell = ws.cell(row=row, column=c, value=text)
        cell.font = _HEADER_FONT
        cell.fill = _HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="top")


def _notes(ws: Worksheet, notes: list[str], start: int, *, warn_first: bool = False) -> None:
    for i, note in enumerate(notes):
        cell = ws.cell(row=start + i, column=1, value=note)
        if i == 0 and warn_first:
            cell.font = _WARN_FONT


def _finish(ws: Worksheet, headers: list[str], first_width: int) -> None:
    """Freeze title + header rows and the first column; widths fit the longest header word."""
    ws.freeze_panes = ws.cell(row=HEADER_ROW + 1, column=2).coordinate
    widths = [first_width] + [max(14, min(24, max(len(w) for w in h.split()) + 4)) for h in headers[1:]]
    _widths(ws, widths)
    longest = max(len(h) / w for h, w in zip(headers, widths, strict=True))
    ws.row_dimensions[HEADER_ROW].height = 15 * max(2, math.ceil(longest * 1.15))


def _widths(ws: Worksheet, widths: list[float]) -> None:
    for c, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(c)].width = width


def _cell_value(value: Any) -> Any:
    """Plain Python numbers (openpyxl writes them exactly); NaN/inf become empty cells, never invalid XML."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool) \
        and math.isfinite(float(value))


__all__ = ["SHEETS", "TOTAL_LABEL", "XlsxInputError", "build_workbook", "roi_rows", "write_roi_xlsx"]
