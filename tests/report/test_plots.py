"""Figures of a run's tables: right elements, channel labels, robust to one channel."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from matplotlib.container import BarContainer, ErrorbarContainer
from matplotlib.figure import Figure

from mmm.report import plots

CHANNELS = ["tv", "search", "social"]


def roi_table(channels=CHANNELS) -> pd.DataFrame:
    rows = []
    for i, name in enumerate(channels):
        roas = 1.5 + 0.5 * i
        rows.append({
            "channel": name, "spend": 1000.0 * (i + 1),
            "roas_mean": roas, "roas_lo": roas - 0.4, "roas_hi": roas + 0.5,
            "profit_roi_mean": roas * 0.6 - 1, "profit_roi_lo": (roas - 0.4) * 0.6 - 1,
            "profit_roi_hi": (roas + 0.5) * 0.6 - 1,
            "roas_immediate_mean": roas * 0.4, "roas_lasting_mean": roas * 0.6,
        })
    return pd.DataFrame(rows)


def fit_table(n: int = 20) -> pd.DataFrame:
    dates = pd.date_range("2023-01-02", periods=n, freq="W-MON")
    fitted = 1000 + 50 * np.sin(np.arange(n))
    return pd.DataFrame({
        "date": dates.strftime("%Y-%m-%d"), "actual": fitted + 10,
        "fitted_mean": fitted, "fitted_lo": fitted - 40, "fitted_hi": fitted + 40,
    })


def contributions_table(channels=CHANNELS, n: int = 20) -> pd.DataFrame:
    dates = pd.date_range("2023-01-02", periods=n, freq="W-MON").strftime("%Y-%m-%d")
    rows = [
        {"date": d, "component": c, "mean": 100.0 + 10 * j, "lo": 80.0, "hi": 130.0}
        for d in dates for j, c in enumerate(["baseline", *channels])
    ]
    return pd.DataFrame(rows)


def tick_labels(fig: Figure) -> list[str]:
    return [t.get_text() for t in fig.axes[0].get_yticklabels()]


def test_plot_roi_one_interval_per_channel_and_break_even_line():
    fig = plots.plot_roi(roi_table(), "roas", 0.9, currency="USD")
    ax = fig.axes[0]
    assert isinstance(fig, Figure)
    assert sum(isinstance(c, ErrorbarContainer) for c in ax.containers) == 3
    assert tick_labels(fig) == CHANNELS
    vertical = [ln for ln in ax.get_lines() if ln.get_label() == "break-even"]
    assert len(vertical) == 1 and list(vertical[0].get_xdata()) == [1.0, 1.0]
    assert "90%" in ax.get_xlabel() and "ROAS" in ax.get_xlabel() and "USD" in ax.get_xlabel()


def test_plot_roi_profit_break_even_is_zero_and_overridable():
    ax = plots.plot_roi(roi_table(), "profit_roi").axes[0]
    assert [list(ln.get_xdata()) for ln in ax.get_lines() if ln.get_label() == "break-even"] == [[0.0, 0.0]]
    ax = plots.plot_roi(roi_table(), "roas", break_even=1.2).axes[0]
    assert [list(ln.get_xdata()) for ln in ax.get_lines() if ln.get_label() == "break-even"] == [[1.2, 1.2]]


def test_plot_roi_draws_no_break_even_at_one_for_marginal_roas():
    """The next unit breaks even at mROAS (1 + hurdle) / margin, so mROAS gets no default line at 1."""
    roi = roi_table()
    for stat in ("mean", "lo", "hi"):
        roi[f"mroas_{stat}"] = roi[f"roas_{stat}"] * 0.8
        roi[f"marginal_profit_roi_{stat}"] = roi[f"mroas_{stat}"] * 0.6 - 1

    def lines(ax):
        return [list(ln.get_xdata()) for ln in ax.get_lines() if ln.get_label() == "break-even"]

    assert lines(plots.plot_roi(roi, "mroas").axes[0]) == []
    assert lines(plots.plot_roi(roi, "mroas", break_even=1 / 0.6).axes[0]) == [[1 / 0.6, 1 / 0.6]]
    ax = plots.plot_roi(roi, "marginal_profit_roi", currency="USD").axes[0]
    assert lines(ax) == [[0.0, 0.0]] and "Marginal profit ROI" in ax.get_xlabel()


def test_plot_roi_names_missing_columns():
    with pytest.raises(ValueError, match="mroas_mean"):
        plots.plot_roi(roi_table(), "mroas")


def test_plot_fit_has_actual_fitted_and_band():
    fig = plots.plot_fit(fit_table(), 0.9, kpi="revenue", unit="USD per week")
    ax = fig.axes[0]
    labels = [ln.get_label() for ln in ax.get_lines()]
    assert labels == ["fitted (posterior mean)", "actual"]
    assert len(ax.collections) == 1  # the interval band
    assert "90%" in ax.collections[0].get_label()
    assert ax.get_ylabel() == "revenue (USD per week)"


def test_plot_contributions_stacks_baseline_then_channels():
    fig = plots.plot_contributions(contributions_table(), kpi="revenue")
    ax = fig.axes[0]
    assert len(ax.collections) == 4
    assert [c.get_label() for c in ax.collections] == ["baseline", *CHANNELS]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert set(legend) == {"baseline", *CHANNELS}


def test_plot_immediate_lasting_two_bars_per_channel():
    fig = plots.plot_immediate_lasting(roi_table(), currency="USD")
    ax = fig.axes[0]
    bars = [c for c in ax.containers if isinstance(c, BarContainer)]
    assert len(bars) == 2 and all(len(b) == 3 for b in bars)
    assert tick_labels(fig) == CHANNELS
    # lasting bars start where immediate bars end: the parts add up to ROAS
    for immediate, lasting, roas in zip(bars[0], bars[1], roi_table()["roas_mean"]):
        assert lasting.get_x() == pytest.approx(immediate.get_width())
        assert immediate.get_width() + lasting.get_width() == pytest.approx(roas)


def test_channel_colors_are_fixed_by_order_and_shared_across_figures():
    colors = plots.channel_colors(CHANNELS)
    assert colors == plots.channel_colors(CHANNELS)
    assert len(set(colors.values())) == 3
    roi_ax = plots.plot_roi(roi_table(), colors=colors).axes[0]
    contrib_ax = plots.plot_contributions(contributions_table(), colors=colors).axes[0]
    from matplotlib.colors import to_hex
    roi_color = to_hex(roi_ax.containers[1].lines[0].get_color())
    contrib_color = to_hex(contrib_ax.collections[2].get_facecolor()[0], keep_alpha=False)
    assert roi_color == contrib_color == colors["search"].lower()


@pytest.mark.parametrize("make", [
    lambda: plots.plot_roi(roi_table(["tv"])),
    lambda: plots.plot_roi(roi_table(["tv"]), "profit_roi"),
    lambda: plots.plot_fit(fit_table(1)),
    lambda: plots.plot_contributions(contributions_table(["tv"])),
    lambda: plots.plot_immediate_lasting(roi_table(["tv"])),
])
def test_single_channel_renders_to_png(make, tmp_path):
    fig = make()
    assert isinstance(fig, Figure)
    fig.savefig(tmp_path / "figure.png")
    assert (tmp_path / "figure.png").stat().st_size > 0


def test_import_does_not_touch_pyplot_or_backend():
    # no pyplot means no backend is chosen, so a notebook's inline backend stays as it is
    code = "import sys, mmm.report.plots; assert 'matplotlib.pyplot' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
