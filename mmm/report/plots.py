"""Matplotlib figures of a run's tables, for notebooks and the HTML report.

Every function takes an in-memory pandas table with the run folder's column
names (``roi.csv``, ``fit.csv``, ``contributions.csv``) and returns a
:class:`matplotlib.figure.Figure`. Figures are built directly, never through
``pyplot``, so importing this module neither picks nor changes a backend: a
notebook's inline backend keeps working and a headless CI renders to PNG.

Channel colors come from one fixed palette keyed by channel order, so a
channel has the same color in every figure given the same order (pass
``colors=channel_colors(names)`` to pin it across figures).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib import dates as mdates
from matplotlib import ticker
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch

# Okabe-Ito colors (readable for color-blind readers) first, then a few extras.
CHANNEL_PALETTE: tuple[str, ...] = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#D55E00",
    "#CC79A7",
    "#56B4E9",
    "#8C6D31",
    "#6A3D9A",
    "#B8860B",
    "#1B9E77",
)
BASELINE_COLOR = "#BDBDBD"
ACTUAL_COLOR = "#222222"
DPI = 100
# The report shows a figure at its natural size up to this width (report body 1100px less padding) and
# scales wider ones down; text must stay at least MIN_FONT_PT at the displayed size.
REPORT_WIDTH_PX = 1052
MIN_FONT_PT = 9.0

# metric -> (short name, axis wording with {currency}, default break-even)
_METRICS: dict[str, tuple[str, str, float | None]] = {
    "roas": ("ROAS", "value returned per 1 {currency} spent", 1.0),
    "profit_roi": ("Profit ROI", "profit per 1 {currency} spent, after margin and the spend itself", 0.0),
    # no default line for mROAS: the next unit breaks even at (1 + hurdle) / margin, not at 1 (docs/figures.md)
    "mroas": ("Marginal ROAS", "value of the next 1 {currency} spent", None),
    "marginal_profit_roi": ("Marginal profit ROI", "profit of the next 1 {currency} spent, after margin and "
                            "the spend itself", 0.0),
    "roas_immediate": ("Immediate ROAS", "value per 1 {currency} spent, same period", None),
    "roas_lasting": ("Lasting ROAS", "value per 1 {currency} spent, later periods", None),
}


def channel_colors(channels: Sequence[str]) -> dict[str, str]:
    """Map channel names to palette colors by their order (the palette repeats past 10)."""
    return {name: CHANNEL_PALETTE[i % len(CHANNEL_PALETTE)] for i, name in enumerate(channels)}


def compact_number(value: float, _pos: int | None = None) -> str:
    """1,500,000 -> 1.5M: readable axis ticks for money and KPI amounts (a tick formatter)."""
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"{value / size:g}{suffix}"
    return f"{value:g}"


def interval_label(interval: float) -> str:
    """``0.9`` -> ``"90%"``: the interval mass as printed in every figure and table."""
    return f"{interval * 100:g}%"


def plot_roi(
    roi: pd.DataFrame,
    metric: str = "roas",
    interval: float = 0.9,
    break_even: float | None = None,
    *,
    currency: str | None = None,
    colors: Mapping[str, str] | None = None,
) -> Figure:
    """Posterior mean and interval of a return metric, one row per channel.

    Parameters
    ----------
    roi : DataFrame
        One row per channel with columns ``channel``, ``{metric}_mean``,
        ``{metric}_lo`` and ``{metric}_hi`` (the layout of ``roi.csv``).
    metric : str
        Column stem: ``"roas"``, ``"profit_roi"``, ``"mroas"``, ``"marginal_profit_roi"``
        or any other stem present in ``roi``.
    interval : float
        Mass of the ``lo``/``hi`` interval, printed on the axis (0.9 -> "90%").
    break_even : float, optional
        Where a vertical break-even line goes. Default: 1.0 for ROAS, 0.0 for
        profit ROI and marginal profit ROI, no line for other metrics. Marginal ROAS
        breaks even at (1 + hurdle) / margin, not at 1: pass ``roi.csv``'s
        ``mroas_break_even`` when every channel shares it.
    currency : str, optional
        Currency of spend (e.g. ``"USD"``), used in the axis wording.
    colors : mapping, optional
        Channel -> color; default :func:`channel_colors` of the row order.

    Returns
    -------
    Figure
        One error-bar container per channel, plus the break-even line.
    """
    columns = [f"{metric}_mean", f"{metric}_lo", f"{metric}_hi"]
    require_columns(roi, ["channel", *columns], "roi")
    short, wording, default_break_even = _METRICS.get(metric, (metric, "", None))
    if break_even is None:
        break_even = default_break_even
    channels = [str(c) for c in roi["channel"]]
    colors = dict(colors) if colors is not None else channel_colors(channels)

    fig, ax = new_figure(7.0, 1.2 + 0.45 * len(channels))
    positions = np.arange(len(channels))
    for pos, (_, row) in zip(positions, roi.iterrows()):
        mean, lo, hi = (float(row[c]) for c in columns)
        ax.errorbar(
            [mean], [pos],
            xerr=[[max(mean - lo, 0.0)], [max(hi - mean, 0.0)]],
            fmt="o", color=colors.get(str(row["channel"]), ACTUAL_COLOR),
            capsize=4, markersize=6, linewidth=2, label=str(row["channel"]),
        )
    if break_even is not None:
        ax.axvline(break_even, color="#B00020", linestyle="--", linewidth=1, label="break-even")
        ax.text(break_even, 1.0, " break-even", transform=ax.get_xaxis_transform(),
                color="#B00020", fontsize=MIN_FONT_PT, va="bottom", ha="left")
    ax.set_yticks(positions, channels)
    ax.set_ylim(len(channels) - 0.5, -0.5)  # first channel on top
    unit = wording.format(currency=currency or "unit of currency")
    ax.set_xlabel(
        f"{short}" + (f": {unit}" if unit else "")
        + f"\n(posterior mean and {interval_label(interval)} interval)"
    )
    ax.set_title(f"{short} by channel")
    ax.grid(axis="x", alpha=0.3)
    return fig


def plot_fit(
    fit: pd.DataFrame,
    interval: float = 0.9,
    *,
    kpi: str = "KPI",
    unit: str = "per period",
) -> Figure:
    """Actual KPI against the model's fitted KPI with its interval band.

    Parameters
    ----------
    fit : DataFrame
        Columns ``date``, ``actual``, ``fitted_mean``, ``fitted_lo``,
        ``fitted_hi`` in KPI units per period (the layout of ``fit.csv``).
    interval : float
        Mass of the fitted band, printed in the legend.
    kpi : str
        KPI name for the axis, e.g. ``"revenue"``.
    unit : str
        Unit wording after the KPI name, e.g. ``"USD per week"``.

    Returns
    -------
    Figure
        Two lines (actual, fitted mean) and one band.
    """
    require_columns(fit, ["date", "actual", "fitted_mean", "fitted_lo", "fitted_hi"], "fit")
    dates = pd.to_datetime(fit["date"]).to_numpy()
    fig, ax = new_figure(8.0, 3.4)
    ax.fill_between(
        dates, fit["fitted_lo"].to_numpy(float), fit["fitted_hi"].to_numpy(float),
        color=CHANNEL_PALETTE[0], alpha=0.25, linewidth=0,
        label=f"fitted, {interval_label(interval)} interval",
    )
    ax.plot(dates, fit["fitted_mean"].to_numpy(float), color=CHANNEL_PALETTE[0],
            linewidth=1.5, label="fitted (posterior mean)")
    ax.plot(dates, fit["actual"].to_numpy(float), color=ACTUAL_COLOR,
            linewidth=1, marker=".", markersize=3, label="actual")
    ax.set_ylabel(f"{kpi} ({unit})")
    ax.set_title(f"Actual vs fitted {kpi}")
    _date_axis(ax)
    ax.legend(loc="upper left", fontsize=MIN_FONT_PT, frameon=False)
    ax.grid(alpha=0.3)
    return fig


def plot_contributions(
    contributions: pd.DataFrame,
    *,
    kpi: str = "KPI",
    unit: str = "per period",
    colors: Mapping[str, str] | None = None,
) -> Figure:
    """Stacked area of the mean contribution of the baseline and each channel over time.

    Parameters
    ----------
    contributions : DataFrame
        Long table with columns ``date``, ``component``, ``mean`` (KPI units
        per period), as in ``contributions.csv``. ``baseline`` is drawn at the
        bottom, channels above it in order of first appearance.
    kpi, unit : str
        Axis wording, e.g. ``"revenue"`` and ``"USD per week"``.
    colors : mapping, optional
        Channel -> color; default :func:`channel_colors` of the channel order.

    Returns
    -------
    Figure
        One filled area per component.
    """
    require_columns(contributions, ["date", "component", "mean"], "contributions")
    order = list(dict.fromkeys(str(c) for c in contributions["component"]))
    channels = [c for c in order if c != "baseline"]
    components = (["baseline"] if "baseline" in order else []) + channels
    colors = dict(colors) if colors is not None else channel_colors(channels)

    wide = (
        contributions.assign(date=pd.to_datetime(contributions["date"]),
                             component=contributions["component"].astype(str))
        .pivot_table(index="date", columns="component", values="mean", aggfunc="sum")
        .reindex(columns=components)
        .fillna(0.0)
        .sort_index()
    )
    fig, ax = new_figure(8.0, 3.6)
    ax.stackplot(
        wide.index.to_numpy(), *(wide[c].to_numpy(float) for c in components),
        labels=components,
        colors=[BASELINE_COLOR if c == "baseline" else colors.get(c, ACTUAL_COLOR) for c in components],
        alpha=0.85, linewidth=0,
    )
    ax.set_ylabel(f"{kpi} ({unit})")
    ax.set_title(f"Contributions to {kpi} over time (posterior means)")
    _date_axis(ax)
    # legend reversed so it reads top-down like the stack
    handles, labels = ax.get_legend_handles_labels()
    ax.legend(handles[::-1], labels[::-1], loc="upper left", bbox_to_anchor=(1.01, 1.0),
              fontsize=MIN_FONT_PT, frameon=False)
    ax.grid(alpha=0.3)
    return fig


def plot_immediate_lasting(
    frame: pd.DataFrame,
    *,
    currency: str | None = None,
    colors: Mapping[str, str] | None = None,
) -> Figure:
    """Stacked bar per channel: the ROAS that arrives immediately vs later (carry-over).

    Parameters
    ----------
    frame : DataFrame
        Columns ``channel``, ``roas_immediate_mean``, ``roas_lasting_mean``
        (value per unit of spend); the two parts add up to the channel's ROAS.
    currency : str, optional
        Currency of spend, used in the axis wording.
    colors : mapping, optional
        Channel -> color; default :func:`channel_colors` of the row order.

    Returns
    -------
    Figure
        Two bars per channel (immediate solid, lasting hatched).
    """
    require_columns(frame, ["channel", "roas_immediate_mean", "roas_lasting_mean"], "frame")
    channels = [str(c) for c in frame["channel"]]
    colors = dict(colors) if colors is not None else channel_colors(channels)
    bar_colors = [colors.get(c, ACTUAL_COLOR) for c in channels]
    immediate = frame["roas_immediate_mean"].to_numpy(float)
    lasting = frame["roas_lasting_mean"].to_numpy(float)

    fig, ax = new_figure(7.0, 1.2 + 0.45 * len(channels))
    positions = np.arange(len(channels))
    ax.barh(positions, immediate, color=bar_colors, height=0.6, label="immediate (same period)")
    ax.barh(positions, lasting, left=immediate, color=bar_colors, alpha=0.45, hatch="//",
            edgecolor="white", height=0.6, label="lasting (later periods)")
    ax.set_yticks(positions, channels)
    ax.set_ylim(len(channels) - 0.5, -0.5)
    ax.set_xlabel(f"ROAS parts: value per 1 {currency or 'unit of currency'} spent (posterior means)")
    ax.set_title("Immediate vs lasting return by channel")
    ax.legend(
        handles=[Patch(facecolor="#777777", label="immediate (same period)"),
                 Patch(facecolor="#777777", alpha=0.45, hatch="//", edgecolor="white",
                       label="lasting (later periods)")],
        loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=MIN_FONT_PT, frameon=False,
    )
    ax.grid(axis="x", alpha=0.3)
    return fig


def new_figure(width: float, height: float) -> tuple[Figure, Axes]:
    # Figure() directly: no pyplot state, no backend choice, safe in notebooks and headless.
    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    return fig, fig.add_subplot()


def _date_axis(ax: Axes) -> None:
    locator = mdates.AutoDateLocator(minticks=4, maxticks=10)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.yaxis.set_major_formatter(ticker.StrMethodFormatter("{x:,.0f}"))


def require_columns(table: pd.DataFrame, columns: Sequence[str], name: str) -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ValueError(
            f"{name} table is missing column(s) {missing}; it has {list(table.columns)}. "
            "Pass the table as written in the run folder."
        )
