"""The plan / scenario page: allocation, expected outcome with interval, risk of each plan, response curves.

Every number is read from the plan summary (``plan.json`` / ``scenarios.json``) and the curves
table written beside it, so the page and the files always agree. Wording lives in
``templates/plan.html``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from mmm.report.curve_plots import curve_legend, style_curve_axes
from mmm.report.plots import channel_colors, interval_label
from mmm.report.render import format_amount, template_environment, png_data, format_ratio, format_share, format_with_interval

PLAN_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")


def render_plan(summary: Mapping[str, Any], curves: pd.DataFrame, comparison: Any = None) -> str:
    """HTML of a plan (``plan.json``'s dict) or of scenarios (``scenarios.json``'s dict)."""
    inputs = summary["inputs"]
    plans = summary["plans"]
    currency = inputs.get("currency") or ""
    interval = inputs.get("interval", 0.9)
    optimized = "optimized" in plans and "budget" in inputs
    channels = list(next(iter(plans.values()))["channels"])
    pairs = summary.get("pairs") or (comparison.pairwise().to_dict("records") if comparison is not None else [])
    context = {
        "title": "Budget plan" if optimized else "Budget scenarios",
        "inputs": inputs,
        "interval": interval_label(interval),
        "currency": currency,
        "optimized": optimized,
        "target": summary.get("target"),
        "objective": inputs.get("objective_label"),
        "budget": format_amount(inputs.get("budget")),
        "margins": ", ".join(f"{c} {m:.0%}" for c, m in inputs.get("margins", {}).items()),
        "mroas_note": _mroas_note(inputs.get("margins") or {}, currency),
        "allocation": _allocation(summary, channels) if optimized else None,
        "plans": [_plan_row(name, plan) for name, plan in plans.items()],
        "plan_channels": {name: [_channel_row(c, f) for c, f in plan["channels"].items()]
                          for name, plan in plans.items()},
        "pair_names": list(plans),
        "pairs": _pair_matrix(list(plans), pairs),
        "p_beats": summary.get("comparison", {}).get("p_optimized_beats_current_mix"),
        "figure": png_data(plot_plan_curves(curves, plans, interval=interval, currency=currency,
                                        margins=inputs.get("margins"))),
        "notes": inputs.get("flighting_notes", []),
        "diagnostics_ok": inputs.get("diagnostics_ok", True),
        "geo": _geo(summary.get("geo"), channels, optimized),
    }
    if context["p_beats"] is not None:
        context["p_beats"] = format_share(context["p_beats"])
    return template_environment().get_template("plan.html").render(**context)


def _mroas_note(margins: Mapping[str, float], currency: str) -> str:
    """What a marginal ROAS in the plan tables means for profit: the next unit pays above 1 / margin, not 1."""
    break_even = {c: format_ratio(1.0 / m) for c, m in margins.items() if m > 0}
    text = (next(iter(break_even.values())) if len(set(break_even.values())) == 1
            else ", ".join(f"{c} {b}" for c, b in break_even.items()))
    unit = currency or "unit"
    return (f"Marginal ROAS: the extra value of the next {unit} of spend at the plan's level. That {unit} pays for "
            f"itself only when marginal ROAS × gross margin − 1 (its marginal profit ROI) is above the hurdle rate, "
            f"i.e. when marginal ROAS is above (1 + hurdle) ÷ gross margin"
            + (f" ({text} at a 0% hurdle)" if break_even else "") + ", not when it is above 1.")


def _allocation(summary: Mapping[str, Any], channels: Sequence[str]) -> list[dict[str, str]]:
    plan = summary["plans"]["optimized"]
    current = summary["plans"]["current mix"]
    bounds = summary["inputs"]["bounds"]
    rows = []
    for c in channels:
        f, cur, b = plan["channels"][c], current["channels"][c], bounds[c]
        upper = "no limit" if b["upper"] is None else format_amount(b["upper"])
        rows.append({"channel": c, "current": format_amount(cur["spend"]), "spend": format_amount(f["spend"]),
                     "share": format_share(f["share"]), "change": _signed(f["spend"] - cur["spend"]),
                     "limits": "locked" if b["locked"] else f"{format_amount(b['lower'])} to {upper}",
                     "value": format_with_interval(f["incremental_value"], format_amount),
                     "profit": format_with_interval(f["profit"], format_amount), "roas": format_with_interval(f["roas"], format_ratio),
                     "mroas": format_with_interval(f["mroas"], format_ratio), "total": False})
    totals = plan["totals"]
    rows.append({"channel": "Total", "current": format_amount(sum(current["channels"][c]["spend"] for c in channels)),
                 "spend": format_amount(totals["spend"]), "share": "100%", "change": _signed(
                     totals["spend"] - current["totals"]["spend"]), "limits": "",
                 "value": format_with_interval(totals["incremental_value"], format_amount),
                 "profit": format_with_interval(totals["profit"], format_amount),
                 "roas": format_with_interval(totals.get("roas"), format_ratio), "mroas": "", "total": True})
    return rows


def _geo(geo: Mapping[str, Any] | None, channels: Sequence[str], optimized: bool) -> dict[str, Any] | None:
    """A geo plan's per-geo outcome of each plan and, for an optimized plan, its allocation per (geo, channel)."""
    if not geo:
        return None
    beats = geo.get("comparison_by_geo", {})
    totals = [{"name": name, "rows": [_plan_row(g, plan) | {"p_beats": format_share(beats.get(g, {}).get(
        "p_optimized_beats_current_mix")) if name == "optimized" and beats else None} for g, plan in per_geo.items()]}
        for name, per_geo in geo["plans"].items()]
    cells = []
    if optimized:
        for g, plan in geo["plans"]["optimized"].items():
            one = {"plans": {"optimized": plan, "current mix": geo["plans"]["current mix"][g]},
                   "inputs": {"bounds": geo["bounds"][g]}}
            cells += [row | {"geo": g} for row in _allocation(one, channels)]
    return {"decision": geo.get("decision"), "rule": geo["budget_split"]["rule"],
            "default_limits": geo.get("default_cell_limits"), "totals": totals, "cells": cells}


def _plan_row(name: str, plan: Mapping[str, Any]) -> dict[str, str]:
    t = plan["totals"]
    cvar_key = next((k for k in t if k.startswith("cvar_")), None)
    return {"name": name, "spend": format_amount(t["spend"]), "value": format_with_interval(t["incremental_value"], format_amount),
            "profit": format_with_interval(t["profit"], format_amount), "roi": format_with_interval(t.get("profit_roi"), format_ratio),
            "p_profitable": format_share(t["p_profitable"]), "cvar": format_amount(t[cvar_key]) if cvar_key else "n/a",
            "cvar_label": f"{cvar_key.split('_')[1]}%" if cvar_key else "",
            "profit_npv": format_with_interval(t["profit_npv"], format_amount) if "profit_npv" in t else None}


def _channel_row(channel: str, f: Mapping[str, Any]) -> dict[str, str]:
    return {"channel": channel, "spend": format_amount(f["spend"]), "value": format_with_interval(f["incremental_value"], format_amount),
            "profit": format_with_interval(f["profit"], format_amount), "roas": format_with_interval(f["roas"], format_ratio),
            "mroas": format_with_interval(f["mroas"], format_ratio)}


def _pair_matrix(names: list[str], pairs: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    lookup = {(p["plan_a"], p["plan_b"]): p["p_a_beats_b"] for p in pairs}
    return [{"name": a, "cells": ["—" if a == b else format_share(lookup.get((a, b))) for b in names]} for a in names]


def _signed(value: float) -> str:
    text = format_amount(abs(value))
    return text if abs(value) < 0.5 else ("+" if value > 0 else "−") + text


def plot_plan_curves(curves: pd.DataFrame, plans: Mapping[str, Mapping[str, Any]], *, interval: float = 0.9,
                     currency: str = "", margins: Mapping[str, float] | None = None) -> Figure:
    """One panel per channel: incremental value over the plan periods vs spend, with each plan's point."""
    channels = list(dict.fromkeys(curves["channel"]))
    colors = channel_colors(channels)
    cols = min(3, len(channels))
    rows = int(np.ceil(len(channels) / cols))
    fig = Figure(figsize=(3.4 * cols, 2.8 * rows), dpi=100, layout="constrained")
    unit = f" ({currency})" if currency else ""
    for i, channel in enumerate(channels):
        ax = fig.add_subplot(rows, cols, i + 1)
        curve = curves[curves["channel"] == channel].sort_values("spend")
        color = colors[channel]
        ax.fill_between(curve["spend"], curve["value_lo"], curve["value_hi"], color=color, alpha=0.25,
                        label=f"{interval_label(interval)} interval")
        ax.plot(curve["spend"], curve["value_mean"], color=color, label="incremental value (mean)")
        for j, (name, plan) in enumerate(plans.items()):
            f = plan["channels"][channel]
            ax.plot(f["spend"], f["incremental_value"]["mean"], PLAN_MARKERS[j % len(PLAN_MARKERS)], color="black",
                    markerfacecolor="white" if j else "black", label=name)
        margin = (margins or {}).get(channel)
        if margin:
            spend = curve["spend"].to_numpy()
            ax.plot(spend, spend / margin, ":", color="grey", linewidth=1, label="break-even (value x margin = spend)")
            ax.set_ylim(0, max(curve["value_hi"].max(), 1.0) * 1.05)
        style_curve_axes(ax, channel, f"plan spend{unit}", f"incremental value{unit}")
    curve_legend(fig)
    return fig
