"""The facts behind the report's plain-language executive summary.

:func:`executive_summary` reads only a run's ``summary.json`` (as a dict) and
returns what ``templates/executive_summary.html`` says: totals, which channels
are profitable and how likely, where the next unit of spend does most, how much
of each channel's return arrives at once, and any health warning. Every figure
is taken from the dict (never recomputed from the posterior), so the summary
cannot disagree with the ROI table. Wording lives in the template.

Number formats match :mod:`mmm.report.render` (same rules); they are kept here
rather than imported so that ``render`` can import this module without a cycle.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

# P(profit ROI > hurdle) bands, in plain words.
VERY_LIKELY = 0.9  # p >= VERY_LIKELY: "very likely profitable"
LIKELY = 0.7  # LIKELY <= p < VERY_LIKELY: "likely profitable"
UNLIKELY = 0.3  # p <= UNLIKELY: "likely unprofitable"; between UNLIKELY and LIKELY: "uncertain"
BANDS = (  # (key, words), in reading order
    ("very_likely", "very likely profitable"),
    ("likely", "likely profitable"),
    ("uncertain", "uncertain"),
    ("likely_unprofitable", "likely unprofitable"),
)
WARN_STATUSES = ("FAIL", "REVIEW")
FREQ_WORDS = {"D": "day", "W": "week", "M": "month", "MS": "month", "ME": "month", "Q": "quarter"}
MISSING = "n/a"


def executive_summary(summary: Mapping[str, Any]) -> dict[str, Any]:
    """The facts of the executive summary, derived only from ``summary.json``.

    Parameters
    ----------
    summary : mapping
        A run's ``summary.json`` (docs/file-schemas.md; optional ``totals``,
        ``finance``, ``health`` and per-channel ``roas_clv`` are used when present).

    Returns
    -------
    dict
        Every key is always present (the template may use ``StrictUndefined``):

        - ``currency``, ``kpi``, ``value_word`` ("revenue" or "value"), ``period`` ("week", ...),
          ``window`` ("2021-01-04 to 2023-12-25" or ``None``).
        - ``warning``: ``None``, or ``{"level": "FAIL" | "REVIEW", "diagnostics_failed": bool,
          "failing": [check "what" ...], "problems": [diagnostics problem ...]}``.
        - ``totals``: ``{"spend", "spend_text", "value" (stats or None), "value_text",
          "value_interval_text", "roas" (stats or None), "roas_text", "roas_interval_text"}``.
        - ``margin_text``, ``margin_defaulted`` (bool), ``hurdle_text``.
        - ``channels``: per channel, in the summary's order, ``{"name", "p_profitable", "p_text",
          "band", "band_words", "immediate", "immediate_text", "later_text"}``.
        - ``bands``: ``{band key: [channel names, most probable first]}`` for every key in :data:`BANDS`;
          ``band_list``: the non-empty bands as ``{"key", "words", "channels": [{"name", "p_text"}]}``.
        - ``next_unit``: per channel, in the summary's order, the next unit of spend on the profit
          basis (docs/figures.md): ``{"channel", "marginal" (marginal profit ROI stats: mROAS x margin - 1),
          "text", "interval_text", "hi_text", "mroas_text", "mroas_money_text", "break_even" (mROAS at
          which the next unit just clears the hurdle: (1 + hurdle) / margin), "break_even_text",
          "break_even_money_text", "margin_text", "recovered_money_text" (1 + hurdle: the gross profit
          the break-even leaves), "verdict"}``; verdict is ``"pays"`` (the whole
          interval above the hurdle), ``"loses"`` (the whole interval at or below it),
          ``"pays_on_average"`` or ``"loses_on_average"`` (mean above / below, interval across it).
        - ``best_next_unit``: the ``next_unit`` entry with the highest marginal profit ROI mean, or
          ``None``; ``best_pays`` (bool): whether its mean clears the hurdle.
        - ``next_unit_paying``: the other entries whose verdict is ``"pays"`` or ``"pays_on_average"``;
          ``next_unit_losing``: entries whose verdict is ``"loses"``; ``next_unit_losing_on_average``:
          those (other than the best) whose verdict is ``"loses_on_average"``.
        - ``next_unit_clv``: ``next_unit`` entries on the CLV basis (``mroas_clv`` /
          ``marginal_profit_roi_clv``) where the summary has them; ``hurdle_is_zero`` (bool): a shortfall
          is then a loss of money, otherwise a return below the hurdle.
        - ``timing``: ``[{"channel", "immediate_text", "later_text"}]`` for channels with an immediate share.
        - ``clv``: ``[{"channel", "text"}]``: CLV-basis ROAS where the summary has it.
    """
    finance = summary.get("finance") or {}
    currency = str(summary.get("currency") or finance.get("currency") or "")
    kpi = str(summary.get("kpi", "KPI"))
    revenue = summary.get("kpi_type", "revenue") == "revenue"
    channels_in = summary.get("channels") or {}
    window = summary.get("window") or {}

    channels, bands = [], {key: [] for key, _ in BANDS}
    for name, figures in channels_in.items():
        p = figures.get("p_profitable")
        band = band_of(p)
        immediate = _mean(figures.get("immediate_share"))
        channels.append({
            "name": str(name),
            "p_profitable": p if _is_number(p) else None,
            "p_text": _share(p),
            "band": band,
            "band_words": dict(BANDS).get(band, MISSING) if band else MISSING,
            "immediate": immediate,
            "immediate_text": _share(immediate),
            "later_text": _share(1.0 - immediate) if immediate is not None else MISSING,
        })
        if band:
            bands[band].append(str(name))
    p_of = {c["name"]: c["p_profitable"] for c in channels}
    for names in bands.values():
        names.sort(key=lambda n: -p_of[n])  # stable: ties keep the summary's order
    band_list = [
        {"key": key, "words": words,
         "channels": [{"name": n, "p_text": _share(p_of[n])} for n in bands[key]]}
        for key, words in BANDS if bands[key]
    ]

    margin = finance.get("gross_margin")
    margin_source = str(finance.get("gross_margin_source", ""))
    hurdle = finance.get("hurdle_rate")
    return {
        "currency": currency,
        "kpi": kpi,
        "value_word": "revenue" if revenue else "value",
        "period": FREQ_WORDS.get(str(summary.get("freq", "")), "period"),
        "window": (f"{window['start']} to {window['end']}"
                   if window.get("start") and window.get("end") else None),
        "warning": _warning(summary.get("diagnostics") or {}, summary.get("health")),
        "totals": _totals(summary.get("totals"), channels_in, currency, revenue),
        "margin_text": _share(margin) if _is_number(margin) else None,
        "margin_defaulted": margin_source.strip().lower().startswith("default"),
        "hurdle_text": _share(hurdle) if _is_number(hurdle) else None,
        "channels": channels,
        "bands": bands,
        "band_list": band_list,
        **_next_unit(channels_in, finance, currency),
        "timing": [{"channel": c["name"], "immediate_text": c["immediate_text"], "later_text": c["later_text"]}
                   for c in channels if c["immediate"] is not None],
        "clv": [{"channel": str(name), "text": _with_interval(f["roas_clv"], _ratio)}
                for name, f in channels_in.items() if isinstance(f.get("roas_clv"), Mapping)],
    }


def band_of(p: Any) -> str | None:
    """The plain-words band key of P(profit ROI > hurdle), or None when it is not a number."""
    if not _is_number(p):
        return None
    if p >= VERY_LIKELY:
        return "very_likely"
    if p >= LIKELY:
        return "likely"
    if p <= UNLIKELY:
        return "likely_unprofitable"
    return "uncertain"


# ---------------------------------------------------------------- parts


def _warning(diagnostics: Mapping[str, Any], health: Mapping[str, Any] | None) -> dict[str, Any] | None:
    diagnostics_failed = diagnostics.get("ok") is not True  # same rule as the report's banner
    overall = str((health or {}).get("overall", "")).upper()
    health_warns = overall in WARN_STATUSES
    if not diagnostics_failed and not health_warns:
        return None
    checks = (health or {}).get("checks") or []
    # name the worst checks: the FAILs when the card FAILs, else the REVIEWs
    wanted = "FAIL" if overall == "FAIL" else "REVIEW"
    failing = [str(c.get("what") or c.get("name") or "") for c in checks
               if str(c.get("status", "")).upper() == wanted] if health_warns else []
    return {
        "level": "FAIL" if diagnostics_failed or overall == "FAIL" else "REVIEW",
        "diagnostics_failed": diagnostics_failed,
        "failing": [f for f in failing if f],
        "problems": [str(p) for p in diagnostics.get("problems") or []],
    }


def _totals(totals: Mapping[str, Any] | None, channels: Mapping[str, Mapping[str, Any]],
            currency: str, revenue: bool) -> dict[str, Any]:
    totals = totals or {}
    spend = totals.get("spend")
    if not _is_number(spend):  # the exact sum of the recorded channel spends
        spends = [f.get("spend") for f in channels.values()]
        spend = float(sum(spends)) if spends and all(_is_number(s) for s in spends) else None
    value = totals.get("incremental_value")
    value_in_money = True
    if not isinstance(value, Mapping) and isinstance(totals.get("incremental_kpi"), Mapping):
        value, value_in_money = totals["incremental_kpi"], revenue  # KPI units unless the KPI is revenue
    value = value if isinstance(value, Mapping) and _is_number(value.get("mean")) else None
    roas = totals.get("roas")
    roas = roas if isinstance(roas, Mapping) and _is_number(roas.get("mean")) else None
    value_unit = currency if value_in_money else ""
    return {
        "spend": spend,
        "spend_text": _money(spend, currency),
        "value": dict(value) if value else None,
        "value_text": _money(value["mean"], value_unit) if value else MISSING,
        "value_interval_text": _interval(value, lambda v: _money(v, value_unit)) if value else None,
        "roas": dict(roas) if roas else None,
        "roas_text": _ratio(roas["mean"]) if roas else MISSING,
        "roas_interval_text": _interval(roas, _ratio) if roas else None,
    }


def _next_unit(channels: Mapping[str, Mapping[str, Any]], finance: Mapping[str, Any],
               currency: str) -> dict[str, Any]:
    """Where the next unit of spend pays, on the profit basis: marginal profit ROI against the hurdle.

    Runs written before ``marginal_profit_roi`` was stored get it from their mROAS: the map
    mROAS x margin - 1 is increasing, so it carries the mean and both interval ends exactly.
    Without a gross margin the margin is 1 (as for profit ROI), so the break-even is 1 + hurdle.
    """
    hurdle = float(finance["hurdle_rate"]) if _is_number(finance.get("hurdle_rate")) else 0.0
    entries, clv = [], []
    for name, figures in channels.items():
        margin = figures.get("gross_margin", finance.get("gross_margin"))
        margin = float(margin) if _is_number(margin) and margin > 0 else 1.0
        entry = _next_unit_entry(str(name), figures.get("mroas"), figures.get("marginal_profit_roi"),
                                 margin, hurdle, currency)
        if entry:
            entries.append(entry)
        entry = _next_unit_entry(str(name), figures.get("mroas_clv"), figures.get("marginal_profit_roi_clv"),
                                 margin, hurdle, currency)
        if entry:
            clv.append(entry)
    best = max(entries, key=lambda e: e["marginal"]["mean"], default=None)  # first of equals: summary order
    best_pays = best is not None and best["marginal"]["mean"] > hurdle
    return {"next_unit": entries, "best_next_unit": best, "best_pays": best_pays,
            "next_unit_paying": [e for e in entries if e["verdict"] in ("pays", "pays_on_average")
                                 and e is not best],
            "next_unit_losing": [e for e in entries if e["verdict"] == "loses"],
            "next_unit_losing_on_average": [e for e in entries if e["verdict"] == "loses_on_average"
                                            and e is not best],
            "next_unit_clv": clv, "hurdle_is_zero": hurdle == 0.0}


def _next_unit_entry(name: str, mroas: Any, marginal: Any, margin: float, hurdle: float,
                     currency: str) -> dict[str, Any] | None:
    """One channel's next unit on one basis, or None when the summary has neither figure."""
    if not isinstance(marginal, Mapping) and isinstance(mroas, Mapping):
        marginal = {k: v * margin - 1.0 for k, v in mroas.items() if _is_number(v)}
    if not isinstance(marginal, Mapping) or not _is_number(marginal.get("mean")):
        return None
    lo, hi, mean = marginal.get("lo"), marginal.get("hi"), marginal["mean"]
    if _is_number(lo) and lo > hurdle:
        verdict = "pays"
    elif _is_number(hi) and hi <= hurdle:
        verdict = "loses"
    else:
        verdict = "pays_on_average" if mean > hurdle else "loses_on_average"
    mroas_mean = _mean(mroas)
    if mroas_mean is None:  # a stored marginal profit ROI alone: its mean is the mean mROAS x margin - 1
        mroas_mean = (mean + 1.0) / margin
    break_even = (1.0 + hurdle) / margin
    return {"channel": name, "marginal": dict(marginal), "text": _signed(mean),
            "interval_text": _interval(marginal, _signed), "hi_text": _signed(hi),
            "mroas_text": _ratio(mroas_mean), "mroas_money_text": _money(mroas_mean, currency),
            "break_even": break_even, "break_even_text": _ratio(break_even),
            "break_even_money_text": _money(break_even, currency), "margin_text": _share(margin),
            "recovered_money_text": _money(1.0 + hurdle, currency),
            "verdict": verdict}


# ---------------------------------------------------------------- number formats (as in render.py)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _mean(stats: Any) -> float | None:
    if isinstance(stats, Mapping) and _is_number(stats.get("mean")):
        return float(stats["mean"])
    return None


def _amount(value: Any) -> str:
    """Thousands separators, decimals only for small amounts (render.py's rule)."""
    if not _is_number(value):
        return MISSING
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"


def _money(value: Any, currency: str) -> str:
    text = _amount(value)
    return f"{currency} {text}" if currency and text != MISSING else text


def _ratio(value: Any) -> str:
    return f"{value:,.2f}" if _is_number(value) else MISSING


def _signed(value: Any) -> str:
    return f"{value:+,.2f}" if _is_number(value) else MISSING


def _share(value: Any) -> str:
    return f"{value * 100:.0f}%" if _is_number(value) else MISSING


def _interval(stats: Mapping[str, Any] | None, fmt) -> str | None:
    """``"1.90 to 3.10"``, or None when the summary has no interval."""
    if not stats or not (_is_number(stats.get("lo")) and _is_number(stats.get("hi"))):
        return None
    return f"{fmt(stats['lo'])} to {fmt(stats['hi'])}"


def _with_interval(stats: Mapping[str, Any], fmt) -> str:
    point = fmt(stats.get("mean"))
    interval = _interval(stats, fmt)
    return f"{point} ({interval})" if interval else point
