"""Contributions by calendar period (stacked bars), the waterfall of the window's total, and paid media's
strength over time (a time-varying media effect)."""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from mmm.report.plots import (BASELINE_COLOR, CHANNEL_PALETTE, MIN_FONT_PT, _date_axis, channel_colors, compact_number,
                               interval_label, new_figure, require_columns)

MAX_PERIOD_TICKS = 12  # period labels shown at most; the rest of the bars keep their place unlabelled


def plot_contributions_by_period(table: pd.DataFrame, *, period: str = "quarter", kpi: str = "KPI",
                                 colors: Mapping[str, str] | None = None) -> Figure:
    """Stacked bars of mean contributions per calendar period (``mmm.analysis.periods.aggregate_contributions``)."""
    require_columns(table, ["period", "component", "mean"], "contributions")
    wide = table.pivot(index="period", columns="component", values="mean")
    components = ["baseline", *[c for c in dict.fromkeys(table["component"]) if c != "baseline"]]
    wide = wide[components]
    colors = dict(colors) if colors is not None else channel_colors(components[1:])
    # fixed width: a figure wider than the report column is scaled down and its text with it
    fig, ax = new_figure(8.0, 3.8)
    bottom = np.zeros(len(wide))
    x = np.arange(len(wide))
    for component in components:
        values = wide[component].to_numpy()
        ax.bar(x, values, bottom=bottom, color=BASELINE_COLOR if component == "baseline" else colors.get(component),
               label=component, width=0.8)
        bottom = bottom + values
    step = max(1, math.ceil(len(wide) / MAX_PERIOD_TICKS))
    ax.set_xticks(x[::step], [str(p) for p in wide.index[::step]], rotation=45, ha="right", fontsize=MIN_FONT_PT)
    ax.tick_params(axis="y", labelsize=MIN_FONT_PT)
    ax.yaxis.set_major_formatter(FuncFormatter(compact_number))  # 14M, not 1.4 under a small "1e7"
    ax.set_ylabel(f"{kpi} per {period}")
    ax.set_title(f"Contributions to {kpi} by {period} (posterior means)")
    ax.legend(fontsize=MIN_FONT_PT, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return fig


def plot_waterfall(totals: Mapping[str, Mapping[str, float]], *, kpi: str = "KPI",
                   colors: Mapping[str, str] | None = None) -> Figure:
    """From baseline to the window's total expected KPI, one step per channel (mean, with interval whiskers)."""
    steps = [k for k in totals if k not in ("total",)]
    if "baseline" not in steps or "total" not in totals:
        raise ValueError("contribution totals need 'baseline' and 'total' entries (summary.json contribution_totals)")
    steps = ["baseline", *[k for k in steps if k != "baseline"]]
    colors = dict(colors) if colors is not None else channel_colors(steps[1:])
    fig, ax = new_figure(7.0, 3.6)
    level = 0.0
    for i, name in enumerate(steps):
        stats = totals[name]
        mean = float(stats["mean"])
        color = BASELINE_COLOR if name == "baseline" else colors.get(name)
        ax.bar(i, mean, bottom=level, color=color, width=0.7)
        ax.errorbar(i, level + mean, yerr=[[mean - float(stats["lo"])], [float(stats["hi"]) - mean]],
                    color="black", capsize=3, linewidth=1)
        level += mean
    total = totals["total"]
    ax.bar(len(steps), float(total["mean"]), color="#555555", width=0.7)
    ax.set_xticks(range(len(steps) + 1), [*steps, "total"], rotation=30, ha="right", fontsize=MIN_FONT_PT)
    ax.tick_params(axis="y", labelsize=MIN_FONT_PT)
    ax.yaxis.set_major_formatter(FuncFormatter(compact_number))
    ax.set_ylabel(f"{kpi} over the window")
    # wrapped: one line of this title is wider than the figure, and constrained layout does not shrink titles
    ax.set_title(textwrap.fill(f"Where the window's {kpi} comes from (means; whiskers: interval of each part)",
                               width=60))
    return fig


def plot_media_strength(strength: pd.DataFrame, interval: float = 0.9) -> Figure:
    """Paid media's strength per period (``media_strength.csv``: a time-varying media effect's multiplier),
    with its interval band and the data's average strength (1) marked."""
    require_columns(strength, ["date", "strength_mean", "strength_lo", "strength_hi"], "media_strength")
    dates = pd.to_datetime(strength["date"]).to_numpy()
    fig, ax = new_figure(8.0, 3.0)
    ax.fill_between(dates, strength["strength_lo"].to_numpy(float), strength["strength_hi"].to_numpy(float),
                    color=CHANNEL_PALETTE[0], alpha=0.25, linewidth=0, label=f"{interval_label(interval)} interval")
    ax.plot(dates, strength["strength_mean"].to_numpy(float), color=CHANNEL_PALETTE[0], linewidth=1.5,
            label="posterior mean")
    ax.axhline(1.0, color=BASELINE_COLOR, linewidth=1, linestyle="--", label="average strength")
    ax.set_ylabel("media effect x its average")
    ax.set_title("Media strength over time")
    _date_axis(ax)
    ax.legend(loc="upper left", fontsize=MIN_FONT_PT, frameon=False)
    ax.grid(alpha=0.3)
    return fig
