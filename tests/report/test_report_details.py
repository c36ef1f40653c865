"""Report details a reader trips over (issue 13): paths, labels, versions, rounding, config notes, legible charts."""

from __future__ import annotations

import html as html_lib
import json
import re
from pathlib import Path

import pandas as pd
import pytest
import yaml
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from mmm.report import period_plots

from mmm.report import plots
from mmm.spec.config import Config
from mmm.report import render_report
from test_report import CHANNELS, make_run  # tests/ is on sys.path under pytest

DATA_NAME = "weekly_sales.csv"
DATA_SHA = "5e" * 32
UNUSED_NOTE = "data.population"  # set on national data: read, but the model has no geos to use it


def run_with_config(root: Path, *, unused_key: bool) -> Path:
    """make_run's folder plus what a real run adds: an absolute data path, a config, real manifest keys."""
    run_dir = make_run(root)
    source = root / "analyst" / "inputs" / DATA_NAME  # the folder the analyst read the data from
    dates = pd.date_range("2021-01-04", periods=156, freq="W-MON")
    data = pd.DataFrame({"date": dates.strftime("%Y-%m-%d"), "revenue": 100_000.0}
                        | {f"{c}_spend": spend / 156 for c, (spend, _, _) in CHANNELS.items()}
                        | {"search_clicks": 1000.0})
    source.parent.mkdir(parents=True)
    data.to_csv(source, index=False)
    data.to_csv(run_dir / "data.csv", index=False)
    channels = {c: {"spend": f"{c}_spend"} for c in CHANNELS}
    raw = {"data": {"path": str(source), "date": "date", "kpi": "revenue",
                    **({"population": "population"} if unused_key else {})}, "channels": channels,
           "window": {"start": "2021-01-04", "end": "2023-12-25"}}
    (run_dir / "config.yaml").write_text(yaml.safe_dump(Config.from_dict(raw).to_dict(), sort_keys=False))

    manifest = json.loads((run_dir / "manifest.json").read_text())
    manifest["data"] = {"path": str(source), "sha256": DATA_SHA, "n_periods": 156}
    manifest["package_version"] = "0.1.0"
    manifest["versions"] = {"mmm": "0.1.0", "pymc": "5.0.0", "arviz": "1.3.0", "nutpie": "0.16.0",
                            "numpy": "2.1.0"}
    manifest["sampler"] = {"sampler": "nutpie", "chains": 4, "draws": 1000, "tune": 1000, "seed": 0,
                           "target_accept": 0.8, "adaptation": "low-rank"}
    manifest["timings"] = {"compile_s": 9.014890621999996, "sampling_s": 3.2104817, "build_s": 0.0123456789,
                           "effects_s": 1.98765}
    (run_dir / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return run_dir


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> tuple[Path, str]:
    root = tmp_path_factory.mktemp("details")
    return root, render_report(run_with_config(root, unused_key=True))


def provenance_section(html: str) -> str:
    return html[html.index('<section id="provenance">'):html.index("</section>", html.index('id="provenance"'))]


def test_data_file_is_named_by_file_name_and_hash_never_by_its_folder(report):
    root, html = report
    text = html_lib.unescape(html)
    assert str(root) not in text and str(root.resolve()) not in text
    assert "analyst/inputs" not in text and "analyst\\inputs" not in text
    section = provenance_section(text)
    assert f"<code>{DATA_NAME}</code>" in section and DATA_SHA in section


def test_no_label_repeats_its_own_key(report):
    _, html = report
    assert "Sampler sampler" not in html
    assert not re.search(r"\b(\w+) \1\b", html_lib.unescape(provenance_section(html)).lower())


def test_each_package_is_listed_once(report):
    _, html = report
    section = provenance_section(html)
    names = [n.strip().lower() for n in re.findall(r"<dt>([^<]*)</dt>", section)]
    package_names = [n.removesuffix(" version") for n in names if n in {"mmm version", "pymc", "arviz", "nutpie",
                                                                          "numpy", "mmm"}]
    assert len(package_names) == len(set(package_names)) and "mmm" in package_names


def test_provenance_numbers_are_rounded_and_labelled(report):
    _, html = report
    section = html_lib.unescape(provenance_section(html))
    # hashes are hex, not decimals; any decimal number here has at most three digits after the point
    assert not re.findall(r"\d\.\d{4,}", section)
    assert "compile 9.0 s, sampling 3.2 s" in section and "effects 2.0 s" in section
    assert "nutpie: 4 chains, 1000 draws per chain, 1000 tuning draws per chain" in section
    assert "target acceptance 0.8" in section


def test_a_config_key_the_model_does_not_use_is_noted(report):
    _, html = report
    section = provenance_section(html)
    assert UNUSED_NOTE in section and "is not used" in section
    assert f"<li>{UNUSED_NOTE}" in section  # one item per note: a note's own ';' does not run into the next


def test_no_config_note_line_when_every_key_is_used(tmp_path):
    html = render_report(run_with_config(tmp_path, unused_key=False))
    assert UNUSED_NOTE not in html and 'id="config-notes"' not in html


def test_run_folder_without_config_still_renders_without_notes(tmp_path):
    assert 'id="config-notes"' not in render_report(make_run(tmp_path))


# ---------------------------------------------------------------- charts


def _drawn(fig: Figure) -> Figure:
    FigureCanvasAgg(fig).draw()
    return fig


def _displayed_scale(fig: Figure) -> float:
    """The report shows a figure at its natural pixel size up to the report column, scaled down beyond it."""
    return min(1.0, plots.REPORT_WIDTH_PX / (fig.get_figwidth() * fig.dpi))


def _assert_legible(fig: Figure) -> None:
    scale = _displayed_scale(fig)
    for ax in fig.axes:
        labels = [t for t in ax.get_xticklabels() + ax.get_yticklabels() if t.get_text() and t.get_visible()]
        assert labels
        for label in labels:
            assert label.get_fontsize() * scale >= plots.MIN_FONT_PT, label.get_text()
        for text in ([ax.xaxis.label, ax.yaxis.label]
                     + (list(ax.get_legend().get_texts()) if ax.get_legend() else [])):
            if text.get_text():
                assert text.get_fontsize() * scale >= plots.MIN_FONT_PT, text.get_text()


def _monthly_table(n: int = 36) -> pd.DataFrame:
    periods = pd.period_range("2021-01", periods=n, freq="M").astype(str)
    return pd.DataFrame([{"period": p, "component": c, "mean": 1000.0 + 10 * i}
                         for p in periods for i, c in enumerate(["baseline", *CHANNELS])])


TOTALS = {"baseline": {"mean": 5e6, "lo": 4.5e6, "hi": 5.5e6}, "tv": {"mean": 1e6, "lo": 8e5, "hi": 1.2e6},
          "search": {"mean": 5e5, "lo": 4e5, "hi": 6e5}, "social": {"mean": 2e5, "lo": 1e5, "hi": 3e5},
          "total": {"mean": 6.7e6, "lo": 6.1e6, "hi": 7.3e6}}


@pytest.mark.parametrize("n", [12, 36, 60])
def test_monthly_contributions_chart_text_is_legible_at_report_size(n):
    fig = _drawn(period_plots.plot_contributions_by_period(_monthly_table(n), period="month", kpi="revenue"))
    _assert_legible(fig)
    shown = [t for t in fig.axes[0].get_xticklabels() if t.get_text()]
    assert len(shown) <= period_plots.MAX_PERIOD_TICKS


def test_waterfall_text_is_legible():
    _assert_legible(_drawn(period_plots.plot_waterfall(TOTALS, kpi="revenue")))


@pytest.mark.parametrize("kpi", ["revenue", "new subscriptions across all regions"])
def test_waterfall_title_lies_inside_the_figure(kpi):
    fig = _drawn(period_plots.plot_waterfall(TOTALS, kpi=kpi))
    title = fig.axes[0].title.get_window_extent()
    box = fig.bbox
    assert box.x0 <= title.x0 and title.x1 <= box.x1 and box.y0 <= title.y0 and title.y1 <= box.y1


@pytest.mark.parametrize("make", [
    lambda: period_plots.plot_contributions_by_period(_monthly_table(48).assign(mean=lambda t: t["mean"] * 1e4),
                                                      period="month", kpi="revenue"),
    lambda: period_plots.plot_waterfall({k: {s: 100 * v for s, v in t.items()} for k, t in TOTALS.items()}),
])
def test_period_charts_print_amounts_without_a_scientific_offset(make):
    ax = _drawn(make()).axes[0]
    assert ax.yaxis.get_offset_text().get_text() == ""  # a tiny "1e7" in the corner is no unit finance reads
    assert any(t.get_text().endswith("M") for t in ax.get_yticklabels())


def _curves() -> pd.DataFrame:
    rows = []
    for c, (spend, value, _) in CHANNELS.items():
        for m in (0.0, 0.5, 1.0, 1.5, 2.0):
            mean = value * (1 - 0.5 ** (2 * m))
            rows.append({"channel": c, "multiplier": m, "spend": m * spend, "value_mean": mean,
                         "value_lo": 0.7 * mean, "value_hi": 1.3 * mean})
    return pd.DataFrame(rows)


def _carryover() -> pd.DataFrame:
    return pd.DataFrame([{"channel": c, "lag": lag, "share_mean": 1 - 0.5 ** (lag + 1),
                          "share_lo": 1 - 0.6 ** (lag + 1), "share_hi": 1.0} for c in CHANNELS for lag in range(8)])


def test_response_and_carryover_charts_are_legible_and_one_legend_serves_every_panel():
    from mmm.report import curve_plots

    fig = _drawn(curve_plots.plot_response_curves(_curves(), {"search": 700_000.0}, currency="USD"))
    _assert_legible(fig)
    legend = fig.legends[0]
    assert not any(ax.get_legend() for ax in fig.axes)  # no legend over a curve
    labels = [t.get_text() for t in legend.get_texts()]
    assert "break-even (after margin)" in labels  # drawn in the search panel only, still explained
    assert all(t.get_fontsize() >= plots.MIN_FONT_PT for t in legend.get_texts())
    _assert_legible(_drawn(curve_plots.plot_carryover(_carryover())))


def test_the_other_report_charts_are_legible():
    from test_plots import fit_table, roi_table

    _assert_legible(_drawn(plots.plot_roi(roi_table(), "roas", currency="USD")))
    _assert_legible(_drawn(plots.plot_fit(fit_table(), kpi="revenue", unit="USD per week")))
    _assert_legible(_drawn(plots.plot_immediate_lasting(roi_table(), currency="USD")))


def test_the_media_strength_chart_appears_only_with_its_table(tmp_path):
    """A run with a time-varying media effect has media_strength.csv and the chart; any other run neither."""
    run_dir = make_run(tmp_path)
    assert "Media strength over time" not in render_report(run_dir)
    dates = pd.date_range("2023-01-02", periods=12, freq="W-MON")
    pd.DataFrame({"date": dates.strftime("%Y-%m-%d"), "strength_mean": 1.0, "strength_lo": 0.8,
                  "strength_hi": 1.2}).to_csv(run_dir / "media_strength.csv", index=False)
    assert "Media strength over time" in render_report(run_dir)
    pd.DataFrame({"date": dates, "strength": 1.0}).to_csv(run_dir / "media_strength.csv", index=False)
    with pytest.raises(Exception, match="media_strength.csv lacks column"):
        render_report(run_dir)
