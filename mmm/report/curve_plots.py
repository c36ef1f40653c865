"""Plots of response and carry-over curves (tables from :mod:`mmm.analysis.curves`)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from mmm.report.plots import MIN_FONT_PT, new_figure, compact_number, require_columns, channel_colors, interval_label


def plot_response_curves(curves: pd.DataFrame, break_even: Mapping[str, float | None] | None = None, *,
                         interval: float = 0.9, currency: str | None = None,
                         colors: Mapping[str, str] | None = None) -> Figure:
    """Incremental value vs spend in the window, one panel per channel, with bands.

    The dot marks the current spend (multiplier 1); the dashed line the break-even
    spend (mean value x margin = spend), when the curve crosses it.
    """
    require_columns(curves, ["channel", "multiplier", "spend", "value_mean", "value_lo", "value_hi"], "curves")
    channels = list(dict.fromkeys(curves["channel"]))
    colors = dict(colors) if colors is not None else channel_colors(channels)
    cols = min(3, len(channels))
    rows = int(np.ceil(len(channels) / cols))
    fig, _ = new_figure(3.4 * cols, 2.7 * rows)
    fig.clear()
    unit = f" ({currency})" if currency else ""
    for i, channel in enumerate(channels):
        ax = fig.add_subplot(rows, cols, i + 1)
        curve = curves[curves["channel"] == channel].sort_values("spend")
        color = colors.get(channel, "C0")
        ax.fill_between(curve["spend"], curve["value_lo"], curve["value_hi"], color=color, alpha=0.25,
                        label=f"{interval_label(interval)} interval")
        ax.plot(curve["spend"], curve["value_mean"], color=color, label="incremental value (mean)")
        current = curve[np.isclose(curve["multiplier"], 1.0)]
        if len(current):
            ax.plot(current["spend"], current["value_mean"], "o", color="black", label="current spend")
        spend_line = curve["spend"].to_numpy()
        ax.plot(spend_line, spend_line, ":", color="grey", linewidth=1, label="value = spend")
        point = (break_even or {}).get(channel)
        if point is not None:
            ax.axvline(point, color="#c0392b", linestyle="--", linewidth=1, label="break-even (after margin)")
        style_curve_axes(ax, channel, f"spend in the window{unit}", f"incremental value{unit}")
    curve_legend(fig)
    return fig


def style_curve_axes(ax, title: str, xlabel: str, ylabel: str) -> None:
    """One response-curve panel's title, labels and compact currency ticks (report and plan pages)."""
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.xaxis.set_major_formatter(FuncFormatter(compact_number))
    ax.yaxis.set_major_formatter(FuncFormatter(compact_number))
    ax.xaxis.set_major_locator(MaxNLocator(4))
    ax.tick_params(labelsize=MIN_FONT_PT)


def curve_legend(fig: Figure) -> None:
    """One legend below the panels for every label any panel draws: legible, and it hides no curve."""
    handles: dict[str, object] = {}
    for ax in fig.axes:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(label, handle)
    if handles:
        fig.legend(list(handles.values()), list(handles), loc="outside lower center", ncols=min(5, len(handles)),
                   fontsize=MIN_FONT_PT, frameon=False)


def plot_carryover(carryover: pd.DataFrame, *, interval: float = 0.9, period: str = "period",
                   colors: Mapping[str, str] | None = None) -> Figure:
    """Cumulative share of a spend's effect arrived by each lag, per channel, with bands."""
    require_columns(carryover, ["channel", "lag", "share_mean", "share_lo", "share_hi"], "carryover")
    channels = list(dict.fromkeys(carryover["channel"]))
    colors = dict(colors) if colors is not None else channel_colors(channels)
    fig, ax = new_figure(7.0, 3.4)
    for channel in channels:
        curve = carryover[carryover["channel"] == channel]
        color = colors.get(channel, "C0")
        ax.fill_between(curve["lag"], curve["share_lo"], curve["share_hi"], color=color, alpha=0.15)
        ax.plot(curve["lag"], curve["share_mean"], marker="o", markersize=3, color=color, label=channel)
    ax.axhline(0.5, color="grey", linestyle=":", linewidth=1)
    ax.axhline(0.9, color="grey", linestyle=":", linewidth=1)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel(f"{period}s after the spend (0 = same {period})")
    ax.set_ylabel("share of the return arrived")
    ax.set_title(f"Carry-over: how fast each channel's return arrives ({interval_label(interval)} bands)")
    ax.legend(fontsize=MIN_FONT_PT, ncols=min(4, len(channels)))
    return fig
