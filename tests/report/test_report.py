"""The finance report: rendered only from run-folder files, self-contained, honest about diagnostics."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mmm.report import ReportInputError, render_report, roi_frame_from_summary, write_report

BANNER = "Diagnostics failed: these figures are not trustworthy yet"
DEFAULT_MARGIN = "default (not given: profit ROI assumes 100% margin)"
# channel -> (spend, incremental revenue, immediate share); numbers chosen to format unambiguously
CHANNELS = {
    "tv": (1_250_000.0, 3_087_500.0, 0.35),      # ROAS 2.47
    "search": (480_000.0, 1_512_000.0, 0.80),    # ROAS 3.15
    "social": (260_000.0, 208_000.0, 0.55),      # ROAS 0.80
}


def stats(mean: float, spread: float) -> dict[str, float]:
    return {"mean": mean, "median": mean, "lo": mean - spread, "hi": mean + spread}


def make_run(root: Path, *, ok: bool = True, margin_source: str = "config") -> Path:
    """Write a small, internally consistent run folder (revenue KPI, 60% margin)."""
    run_dir = root / "run-2024-01-01T000000"
    run_dir.mkdir()
    margin = 0.6 if margin_source == "config" else 1.0
    channels, roi_rows = {}, []
    for name, (spend, incremental, immediate) in CHANNELS.items():
        roas = incremental / spend
        figures = {
            "spend": spend,
            "incremental_kpi": stats(incremental, 0.2 * incremental),
            "incremental_value": stats(incremental, 0.2 * incremental),
            "roas": {"mean": roas, "median": roas, "lo": roas - 0.57, "hi": roas + 0.63},
            "profit_roi": stats(roas * margin - 1, 0.4),
            "mroas": stats(0.7 * roas, 0.3),
            "immediate_share": stats(immediate, 0.1),
            "roas_immediate": stats(roas * immediate, 0.2),
            "roas_lasting": stats(roas * (1 - immediate), 0.2),
            "payback_50": stats(1.5, 0.5),
            "payback_90": stats(6.0, 1.0),
            "p_profitable": 0.93 if roas * margin > 1 else 0.12,
            "contribution_share": stats(0.1, 0.02),
        }
        channels[name] = figures
        roi_rows.append({"channel": name, "spend": spend} | {
            f"{m}_{s}": figures[m][s]
            for m in ("incremental_kpi", "roas", "profit_roi", "mroas", "immediate_share")
            for s in ("mean", "lo", "hi")
        } | {"roas_median": roas, "p_profitable": figures["p_profitable"]})
    total_spend = sum(v[0] for v in CHANNELS.values())
    total_incremental = sum(v[1] for v in CHANNELS.values())
    summary = {
        "interval": 0.9,
        "window": {"start": "2021-01-04", "end": "2023-12-25"},
        "kpi": "revenue", "kpi_type": "revenue", "currency": "USD", "n_periods": 156, "freq": "W",
        "finance": {"gross_margin": margin, "gross_margin_source": margin_source,
                    "value_per_kpi": 1.0, "hurdle_rate": 0.0, "currency": "USD"},
        "totals": {"spend": total_spend,
                   "incremental_kpi": stats(total_incremental, 1e5),
                   "incremental_value": stats(total_incremental, 1e5),
                   "roas": stats(total_incremental / total_spend, 0.3)},
        "channels": channels,
        "diagnostics": {
            "max_rhat": 1.003 if ok else 1.05, "min_ess_bulk": 812.0 if ok else 95.0,
            "divergences": 0 if ok else 7, "ok": ok,
            "thresholds": {"max_rhat": 1.01, "min_ess_bulk": 400, "max_divergences": 0},
            "problems": [] if ok else ["R-hat 1.05 > 1.01 for channel_coef[tv]",
                                       "7 divergent transitions > 0"],
        },
        "fit_quality": {"r2": 0.934, "mape": 0.041, "residual_sd": 12345.6},
        "fit": {"sampler": "nutpie", "chains": 4, "draws": 1000, "tune": 1000, "seed": 0, "wall_s": 42.5},
        "notes": ["Holiday weeks are flagged by the config's holiday list."],
    }
    manifest = {
        "run_id": run_dir.name, "created_at": "2024-01-01T00:00:00+00:00",
        "package_version": "0.1.0", "python": "3.12.3",
        "versions": {"pymc": "5.0.0", "arviz": "1.3.0", "nutpie": "0.16.0"},
        "data": {"path": "data/example.csv", "sha256": "ab" * 32},
        "config_sha256": "cd" * 32, "seed": 0,
        "sampler": {"name": "nutpie", "chains": 4, "draws": 1000, "tune": 1000},
        "timings": {"fit_s": 42.5}, "diagnostics_ok": ok, "parent_run": None,
    }
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2))
    (run_dir / "manifest.json").write_text(json.dumps(manifest, indent=2))
    pd.DataFrame(roi_rows).to_csv(run_dir / "roi.csv", index=False)

    dates = pd.date_range("2021-01-04", periods=156, freq="W-MON").strftime("%Y-%m-%d")
    weekly = {name: v[1] / 156 for name, v in CHANNELS.items()} | {"baseline": 50_000.0}
    contributions = pd.DataFrame([
        {"date": d, "component": c, "mean": m, "lo": 0.8 * m, "hi": 1.2 * m}
        for d in dates for c, m in [("baseline", weekly["baseline"])]
        + [(n, weekly[n]) for n in CHANNELS]
    ])
    contributions.to_csv(run_dir / "contributions.csv", index=False)
    fitted = sum(weekly.values()) + 3000 * np.sin(np.arange(156) / 8)
    pd.DataFrame({"date": dates, "actual": fitted + 500 * np.cos(np.arange(156)),
                  "fitted_mean": fitted, "fitted_lo": fitted - 4000, "fitted_hi": fitted + 4000}
                 ).to_csv(run_dir / "fit.csv", index=False)
    return run_dir


@pytest.fixture(scope="module")
def ok_report(tmp_path_factory) -> tuple[Path, str]:
    run_dir = make_run(tmp_path_factory.mktemp("ok"))
    path = write_report(run_dir)
    return path, path.read_text(encoding="utf-8")


def test_write_report_returns_report_html_in_run_folder(ok_report):
    path, html = ok_report
    assert path.name == "report.html" and path.is_file()
    assert html.startswith("<!DOCTYPE html>")


def test_every_channel_and_its_formatted_figures_appear(ok_report):
    _, html = ok_report
    for name in CHANNELS:
        assert f"<td>{name}</td>" in html
    # tv: ROAS 3,087,500 / 1,250,000 = 2.47, interval 1.90 to 3.10; spend with separators
    assert "2.47 (1.90 to 3.10)" in html
    assert "1,250,000" in html
    assert "3,087,500 (2,470,000 to 3,705,000)" in html  # incremental revenue
    assert "35% (25% to 45%)" in html  # immediate share
    assert "93%" in html  # P(profitable)


def test_interval_mass_is_stated(ok_report):
    _, html = ok_report
    assert "90%" in html
    assert "Return on media spend (90% interval)" in html


def test_report_is_self_contained(ok_report):
    _, html = ok_report
    assert "http://" not in html and "https://" not in html
    assert "<script src" not in html.lower()
    images = re.findall(r'<img src="([^"]*)"', html)
    assert len(images) == 4
    assert all(src.startswith("data:image/png;base64,") for src in images)


def test_diagnostics_table_and_fit_quality(ok_report):
    _, html = ok_report
    for label in ("Max R-hat", "Min bulk ESS", "Divergences"):
        assert label in html
    assert html.count(">PASS<") == 4  # overall verdict + three checks
    assert ">FAIL<" not in html
    assert "0.93" in html and "4.1%" in html  # R², MAPE


def test_provenance_is_printed(ok_report):
    _, html = ok_report
    assert "ab" * 32 in html and "cd" * 32 in html
    assert "<code>example.csv</code>" in html and "data/example.csv" not in html  # the file, not its folder
    assert "nutpie" in html and "0.16.0" in html
    assert "Holiday weeks are flagged" in html
    assert "Gross margin 60% (source: config)" in html


def test_no_banner_when_diagnostics_pass(ok_report):
    _, html = ok_report
    assert BANNER not in html


def test_banner_at_top_and_above_roi_table_when_diagnostics_fail(tmp_path):
    html = write_report(make_run(tmp_path, ok=False)).read_text(encoding="utf-8")
    assert html.count(BANNER) == 4  # top, ROI table, figures, immediate-vs-lasting table
    first_banner = html.index(BANNER)
    roi_heading = html.index("Return on media spend")
    roi_table = html.index("<table", roi_heading)
    assert first_banner < roi_heading < html.index(BANNER, first_banner + 1) < roi_table
    assert "R-hat 1.05 &gt; 1.01 for channel_coef[tv]" in html  # problems listed, escaped
    assert ">FAIL<" in html


def test_default_margin_is_said_plainly(tmp_path):
    html = render_report(make_run(tmp_path, margin_source=DEFAULT_MARGIN))
    assert "Gross margin was not given: profit ROI assumes 100% margin" in html


def test_write_is_atomic_and_leaves_no_temp_file(tmp_path):
    run_dir = make_run(tmp_path)
    before = {p.name for p in run_dir.iterdir()}
    write_report(run_dir)
    write_report(run_dir)  # a rerun replaces the report in place
    assert {p.name for p in run_dir.iterdir()} == before | {"report.html"}


def test_failed_render_keeps_previous_report_and_leaves_nothing(tmp_path):
    run_dir = make_run(tmp_path)
    previous = write_report(run_dir).read_bytes()
    (run_dir / "summary.json").write_text("{not json")
    with pytest.raises(ReportInputError, match="summary.json"):
        write_report(run_dir)
    assert (run_dir / "report.html").read_bytes() == previous
    assert not [p for p in run_dir.iterdir() if p.name.endswith(".tmp")]


def test_missing_summary_names_file_and_run_folder(tmp_path):
    run_dir = make_run(tmp_path)
    (run_dir / "summary.json").unlink()
    with pytest.raises(FileNotFoundError) as err:
        render_report(run_dir)
    assert "summary.json" in str(err.value) and str(run_dir) in str(err.value)
    assert not (run_dir / "report.html").exists()


def test_missing_optional_table_is_said_not_hidden(tmp_path):
    run_dir = make_run(tmp_path)
    (run_dir / "contributions.csv").unlink()
    html = render_report(run_dir)
    assert "contributions.csv is not in this run folder" in html
    assert html.count("data:image/png;base64,") == 3


def test_same_run_folder_renders_the_same_bytes(tmp_path):
    run_dir = make_run(tmp_path)
    assert render_report(run_dir) == render_report(run_dir)


def test_roi_frame_from_summary_matches_roi_csv(tmp_path):
    run_dir = make_run(tmp_path)
    frame = roi_frame_from_summary(json.loads((run_dir / "summary.json").read_text()))
    csv = pd.read_csv(run_dir / "roi.csv")
    assert list(frame["channel"]) == list(CHANNELS)
    pd.testing.assert_frame_equal(frame[csv.columns], csv, check_dtype=False)


def test_health_card_is_rendered_from_summary(tmp_path):
    run = make_run(tmp_path)
    summary = json.loads((run / "summary.json").read_text())
    assert "Model health card" not in render_report(run)  # older runs without a card still render
    summary["health"] = {"overall": "FAIL", "checks": [
        {"name": "residual_autocorrelation", "what": "Are the model's errors random over time?", "value": 0.71,
         "review": 0.3, "fail": 0.6, "worse": "above", "status": "FAIL", "detail": "Durbin-Watson 0.55"},
        {"name": "prior_contraction", "what": "Did the data speak?", "value": 0.04, "review": 0.1, "fail": None,
         "worse": "below", "status": "REVIEW", "detail": "The data barely moved the prior of tv"}]}
    (run / "summary.json").write_text(json.dumps(summary))
    html = render_report(run)
    assert "Model health card: FAIL" in html
    assert "Are the model&#39;s errors random over time?" in html and "Durbin-Watson 0.55" in html
    assert "&gt; 0.6" in html and "&lt; 0.1" in html and "0.71" in html


def test_per_channel_margins_are_printed_with_their_source(tmp_path):
    run = make_run(tmp_path)
    summary = json.loads((run / "summary.json").read_text())
    summary["finance"]["gross_margin_by_channel"] = {"tv": 0.45}
    summary["finance"]["gross_margin_by_channel_source"] = {"tv": "broadcast P&L"}
    (run / "summary.json").write_text(json.dumps(summary))
    assert "per channel: tv 45% (source: broadcast P&amp;L)" in render_report(run)


def test_a_failed_health_check_puts_the_banner_on_every_roi_section(tmp_path):
    run = make_run(tmp_path)  # diagnostics pass...
    summary = json.loads((run / "summary.json").read_text())
    summary["health"] = {"overall": "FAIL", "checks": [
        {"name": "roas_mean", "what": "Are the returns believable?", "value": 80.0, "review": 20, "fail": 50,
         "worse": "above", "status": "FAIL", "detail": "mean ROAS: tv 80"}]}
    (run / "summary.json").write_text(json.dumps(summary))
    html = render_report(run)  # ...but the health card fails
    banner = "A model health check failed"
    assert html.count(banner) == 4 and "Are the returns believable? — mean ROAS: tv 80" in html
    for section in ('id="roi"', 'id="plots"', "Immediate vs lasting return and payback"):
        start = html.index(section)
        assert banner in html[start:start + 3000], section


def test_clv_basis_roas_column_appears_beside_first_purchase_roas(tmp_path):
    run = make_run(tmp_path)
    summary = json.loads((run / "summary.json").read_text())
    assert "ROAS, CLV basis" not in render_report(run)
    for figures in summary["channels"].values():
        figures["roas_clv"] = {"mean": 7.25, "median": 7.2, "lo": 5.5, "hi": 9.0}
    (run / "summary.json").write_text(json.dumps(summary))
    html = render_report(run)
    roi_section = html[html.index('id="roi"'):html.index('id="plots"')]
    assert "ROAS, CLV basis" in roi_section
    assert roi_section.count("7.25 (5.50 to 9.00)") == len(summary["channels"])


def test_clv_basis_marginal_profit_roi_appears_beside_marginal_profit_roi(tmp_path):
    run = make_run(tmp_path)
    summary = json.loads((run / "summary.json").read_text())
    for figures in summary["channels"].values():
        figures["roas_clv"] = {"mean": 7.25, "median": 7.2, "lo": 5.5, "hi": 9.0}
        figures["marginal_profit_roi_clv"] = {"mean": 1.35, "median": 1.3, "lo": 0.45, "hi": 2.2}
    (run / "summary.json").write_text(json.dumps(summary))
    html = render_report(run)
    roi_section = html[html.index('id="roi"'):html.index('id="plots"')]
    headers = re.findall(r"<th>([^<]*)</th>", roi_section)
    assert headers.index("Marginal profit ROI, CLV basis") == headers.index("Marginal profit ROI") + 1
    assert roi_section.count("1.35 (0.45 to 2.20)") == len(summary["channels"])
    row_cells = [len(re.findall(r"<td", row)) for row in re.findall(r"<tr.*?</tr>", roi_section, re.S)[1:]]
    assert set(row_cells) == {len(headers)}  # the All media row keeps its columns aligned


@pytest.mark.parametrize(("margins", "hurdle", "stated"), [
    ({}, 0.0, "(1.67 here)"),  # 1 / 0.6
    ({}, 0.2, "(2.00 here)"),  # 1.2 / 0.6
    ({"tv": 0.4}, 0.0, "(tv 2.50, search 1.67, social 1.67 here)"),
])
def test_roi_table_states_the_break_even_marginal_roas(tmp_path, margins, hurdle, stated):
    run = make_run(tmp_path)
    summary = json.loads((run / "summary.json").read_text())
    summary["finance"]["hurdle_rate"] = hurdle
    for name, margin in margins.items():
        summary["channels"][name]["gross_margin"] = margin
    (run / "summary.json").write_text(json.dumps(summary))
    note = " ".join(html_text(render_report(run)).split("Each cell:")[1].split())
    assert f"marginal ROAS is above (1 + hurdle) ÷ gross margin {stated}, not when it is above 1" in note


def test_geo_table_has_marginal_roas_and_marginal_profit_roi(tmp_path):
    run = make_run(tmp_path)
    summary = json.loads((run / "summary.json").read_text())
    north = {"spend": 1000.0, "incremental_kpi": stats(2500.0, 500.0), "roas": stats(2.5, 0.5),
             "profit_roi": stats(0.5, 0.3), "mroas": stats(1.9, 0.4), "marginal_profit_roi": stats(0.14, 0.24),
             "p_profitable": 0.9}
    summary["geo"] = {"n_geos": 1, "geos": {"north": {"channels": {"tv": north}}}, "zero_spend": []}
    (run / "summary.json").write_text(json.dumps(summary))
    html = render_report(run)
    geo_section = html[html.index('id="geos"'):html.index('id="diagnostics"')]
    assert "<th>Marginal profit ROI</th>" in geo_section
    assert "1.90 (1.50 to 2.30)" in geo_section and "0.14 (-0.10 to 0.38)" in geo_section


def html_text(html: str) -> str:
    from html import unescape

    return unescape(re.sub(r"<[^>]+>", " ", html))


def test_committed_example_report_is_small_self_contained_and_consistent():
    example = Path(__file__).resolve().parents[2] / "reports" / "example"
    files = {p.name: p for p in example.iterdir()}
    assert {"report.html", "roi.xlsx", "summary.json", "roi.csv"} <= set(files)
    assert sum(p.stat().st_size for p in files.values()) < 2 * 1024 * 1024
    html = files["report.html"].read_text(encoding="utf-8")
    assert "http://" not in html and "https://" not in html and "<script src" not in html
    summary = json.loads(files["summary.json"].read_text())
    for channel, figures in summary["channels"].items():
        roas = figures["roas"]
        assert f"{roas['mean']:.2f} ({roas['lo']:.2f} to {roas['hi']:.2f})" in html, channel


def test_print_stylesheet_breaks_pages_between_sections(ok_report):
    _, html = ok_report
    css = html[html.index("@media print"):html.index("</style>")]
    assert "break-before: page" in css and "break-inside: avoid" in css


def test_events_organic_and_treatments_have_their_own_table_and_frequency_its_own(tmp_path):
    """summary.json ``components`` (events, organic media, treatments) and a channel's ``frequency`` are
    printed with their intervals and what each is measured against; without them neither table appears."""
    run_dir = make_run(tmp_path)
    assert "Events, organic media and treatments" not in render_report(run_dir)
    summary = json.loads((run_dir / "summary.json").read_text())
    summary["components"] = {
        "black_friday": {"kind": "event", "against": "no event", "contribution": stats(412_345.0, 100_000.0),
                         "share": stats(0.0123, 0.004)},
        "newsletter": {"kind": "organic", "against": "no organic exposure",
                       "contribution": stats(1_234_567.0, 400_000.0), "share": stats(0.0456, 0.01)},
        "promo": {"kind": "treatment", "against": "promo at reference 0.0", "contribution": stats(-52_000.0, 9_000.0),
                  "share": stats(-0.002, 0.001)}}
    summary["channels"]["tv"]["frequency"] = {"column": "tv_frequency", "reach_column": "tv_reach",
                                              "mean_frequency": 2.87, "optimal_frequency": stats(3.41, 0.52)}
    (run_dir / "summary.json").write_text(json.dumps(summary))
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", render_report(run_dir)))
    assert "black_friday event no event 412,345 (312,345 to 512,345) 1.2% (0.8% to 1.6%)" in text
    assert "newsletter organic media no organic exposure 1,234,567" in text
    assert "promo treatment promo at reference 0.0 -52,000 (-61,000 to -43,000) -0.2% (-0.3% to -0.1%)" in text
    assert "tv 2.87 3.41 (2.89 to 3.93)" in text
