"""CLI end to end: synth → validate → fit → a complete run folder; exit codes; determinism."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from mmm.cli.main import main
from mmm.runs.folder import RUN_FILES

SMALL_FIT = ["--draws", "150", "--tune", "150", "--chains", "2", "--no-progress"]
SUMMARY_CHANNEL_KEYS = {"spend", "incremental_kpi", "roas", "profit_roi", "mroas", "marginal_profit_roi",
                        "immediate_share", "p_profitable"}
INTERVAL_KEYS = {"mean", "lo", "hi"}


@pytest.fixture(scope="module")
def synth_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("synth")
    assert main(["synth", "--seed", "3", "--out", str(out), "--periods", "104", "--channels", "3"]) == 0
    return out


def test_synth_writes_data_config_truth_and_refuses_overwrite(synth_dir, capsys):
    assert {p.name for p in synth_dir.iterdir()} >= {"data.csv", "config.yaml", "truth.json"}
    assert main(["synth", "--seed", "3", "--out", str(synth_dir)]) == 2
    assert "--force" in capsys.readouterr().err


def test_validate_ok_and_bad_input_exit_2(synth_dir, tmp_path, capsys):
    assert main(["validate", str(synth_dir / "config.yaml")]) == 0
    assert "104 weeks" in capsys.readouterr().out

    data = pd.read_csv(synth_dir / "data.csv")
    data.loc[10, "tv_spend"] = -5.0
    data.to_csv(tmp_path / "data.csv", index=False)
    (tmp_path / "config.yaml").write_text((synth_dir / "config.yaml").read_text())
    assert main(["validate", str(tmp_path / "config.yaml")]) == 2
    err = capsys.readouterr().err
    assert "tv_spend" in err and data.loc[10, "date"] in err

    assert main(["validate", str(tmp_path / "missing.yaml")]) == 2
    assert "missing.yaml" in capsys.readouterr().err


def test_validate_names_what_the_config_adds_beside_paid_media(tmp_path, capsys):
    from mmm.data.synth import ChannelTruth, SynthSpec, generate, write

    result = generate(SynthSpec(seed=3, n_periods=104, events=True, organic=True, promo_treatment=True, channels=[
        ChannelTruth("tv", pattern="flighted", level=50_000, target_roas=1.4),
        ChannelTruth("video", level=20_000, target_roas=2.0, exposure_cost=0.02, reach_frequency=True,
                     saturation="hill")]))
    write(result, tmp_path)
    assert main(["validate", str(tmp_path / "config.yaml")]) == 0
    out = capsys.readouterr().out
    assert "geo panel" not in out  # national data
    assert "reach and frequency: video" in out and "organic media: newsletter" in out
    assert "treatments: promo (from 0.0)" in out
    # Black Friday and its week before, Christmas and the week after
    assert "events: 2, 4 effects (one per event and window offset), 4 of them with periods in the data" in out


@pytest.mark.slow
def test_fit_writes_the_run_folder_contract(synth_dir, tmp_path, capsys):
    run = tmp_path / "run"
    raw = yaml.safe_load((synth_dir / "config.yaml").read_text())
    raw.setdefault("finance", {})["discount_rate"] = {"value": 0.08, "source": "FY26 WACC", "owner": "Treasury"}
    config = synth_dir / "config_discounted.yaml"  # beside the data: its path is relative
    config.write_text(yaml.safe_dump(raw, sort_keys=False))
    code = main(["fit", str(config), "--out", str(run), "--seed", "1", *SMALL_FIT])
    assert code in (0, 1)  # 1 = diagnostics failed on purpose-small draws; the run is still written
    for name in (*RUN_FILES, "contributions.csv", "fit.csv", "data.csv", "roi.xlsx"):
        assert (run / name).is_file(), name

    summary = json.loads((run / "summary.json").read_text())
    assert {"interval", "window", "kpi", "channels", "diagnostics", "fit"} <= set(summary)
    assert summary["interval"] == 0.9
    assert set(summary["channels"]) == {"tv", "search", "social"}
    for figures in summary["channels"].values():
        assert SUMMARY_CHANNEL_KEYS <= set(figures)
        for key in SUMMARY_CHANNEL_KEYS - {"spend", "p_profitable"}:
            assert INTERVAL_KEYS <= set(figures[key])
            assert figures[key]["lo"] <= figures[key]["mean"] <= figures[key]["hi"]
    margin = summary["finance"]["gross_margin"]
    roi = pd.read_csv(run / "roi.csv").set_index("channel")
    for name, figures in summary["channels"].items():  # mROAS x margin - 1 per draw; the map keeps quantiles
        for stat in ("mean", "lo", "hi"):
            assert figures["marginal_profit_roi"][stat] == pytest.approx(figures["mroas"][stat] * margin - 1)
            assert roi.loc[name, f"marginal_profit_roi_{stat}"] == pytest.approx(figures["marginal_profit_roi"][stat])
        assert figures["mroas_break_even"] == pytest.approx((1 + summary["finance"]["hurdle_rate"]) / margin)
    assert "Marginal profit ROI" in (run / "report.html").read_text()
    # present value beside face value: in summary.json, roi.csv, roi.xlsx and the report
    assert summary["finance"]["discount_rate"] == 0.08
    assert summary["finance"]["discount_rate_source"] == "FY26 WACC, Treasury"
    for name, figures in summary["channels"].items():
        assert figures["roas_npv"]["mean"] < figures["roas"]["mean"]
        assert figures["roas_npv"]["mean"] >= figures["roas_immediate"]["mean"]
        assert figures["profit_roi_npv"]["mean"] == pytest.approx(figures["roas_npv"]["mean"] * margin - 1)
        assert roi.loc[name, "roas_npv_mean"] == pytest.approx(figures["roas_npv"]["mean"])
        assert {"payback_50_npv", "payback_90_npv", "roas_lasting_npv", "p_profitable_npv"} <= set(figures)
    assert summary["totals"]["roas_npv"]["mean"] < summary["totals"]["roas"]["mean"]
    report_text = (run / "report.html").read_text()
    assert "Face value and present value" in report_text and "8.00% a year (source:" in report_text
    assert {"max_rhat", "min_ess_bulk", "divergences", "ok"} <= set(summary["diagnostics"])
    health = summary["health"]
    assert health["overall"] in ("PASS", "REVIEW", "FAIL")
    assert {c["name"] for c in health["checks"]} >= {"rhat", "r2", "negative_baseline", "prior_contraction",
                                                     "residual_autocorrelation"}
    assert (code == 0) == summary["diagnostics"]["ok"]
    assert {"sampler", "chains", "draws", "tune", "seed", "wall_s"} <= set(summary["fit"])
    assert summary["fit"] | {"wall_s": 0} == {"sampler": "nutpie", "chains": 2, "draws": 150, "tune": 150,
                                              "seed": 1, "wall_s": 0}

    manifest = json.loads((run / "manifest.json").read_text())
    data_bytes = (synth_dir / "data.csv").read_bytes()
    import hashlib

    assert manifest["data"]["sha256"] == hashlib.sha256(data_bytes).hexdigest()
    assert manifest["seed"] == 1 and manifest["diagnostics_ok"] == summary["diagnostics"]["ok"]
    for key in ("versions", "python", "config_sha256", "sampler", "timings", "created_at", "parent_run", "scaling"):
        assert key in manifest
    assert manifest["versions"]["pymc"] != "not installed"

    import openpyxl

    workbook = openpyxl.load_workbook(run / "roi.xlsx", read_only=True)
    assert "ROI" in workbook.sheetnames
    headers = [c.value for c in next(workbook["ROI"].iter_rows(min_row=2, max_row=2))]
    assert any(str(h).startswith("ROAS, present value") for h in headers), headers
    roi = pd.read_csv(run / "roi.csv")
    assert list(roi["channel"]) == ["tv", "search", "social"]
    assert roi.loc[0, "roas_mean"] == pytest.approx(summary["channels"]["tv"]["roas"]["mean"])

    stored = yaml.safe_load((run / "config.yaml").read_text())
    assert stored["fit"]["draws"] == 150 and stored["data"]["path"] == "data.csv"
    html = (run / "report.html").read_text()
    assert "tv" in html and "http://" not in html and "https://" not in html

    # the run refuses to be overwritten without --force
    assert main(["fit", str(config), "--out", str(run), *SMALL_FIT]) == 2
    # and its report can be re-rendered from the folder alone
    assert main(["report", str(run)]) == 0
    html = (run / "report.html").read_text()
    for section in ("Executive summary", "Assumptions register", "Reconciliation", "Response curves",
                    "Model health card"):
        assert section in html, section
    assert "Reconciliation failed" not in html
    # a tampered run folder is refused: its checksum no longer matches the manifest's
    data = pd.read_csv(run / "data.csv")
    data.loc[3, "tv_spend"] += 1.0
    data.to_csv(run / "data.csv", index=False)
    assert main(["report", str(run)]) == 2
    assert f"{run / 'data.csv'} was changed after the run was written" in capsys.readouterr().err
    # ...and a run from before checksums fails loudly too: in the report and in the exit code
    manifest = json.loads((run / "manifest.json").read_text())
    del manifest["files"]
    (run / "manifest.json").write_text(json.dumps(manifest))
    assert main(["report", str(run)]) == 2
    assert "Reconciliation failed" in (run / "report.html").read_text()


# same data, config and seed -> identical figures, cold or warm compile caches: tests/model/test_determinism.py


def test_no_command_prints_help_and_exits_2(capsys):
    assert main([]) == 2
    assert "demo" in capsys.readouterr().out


def test_window_problems_are_bad_input_before_any_sampling(synth_dir, tmp_path, capsys):
    raw = yaml.safe_load((synth_dir / "config.yaml").read_text())
    raw["data"]["path"] = str(synth_dir / "data.csv")
    for window, expected in (({"start": "2030-01-01"}, "outside the data"),
                             ({"start": "2022-06-06", "end": "2021-06-07"}, "after window.end")):
        raw["window"] = window
        (tmp_path / "config.yaml").write_text(yaml.safe_dump(raw))
        assert main(["validate", str(tmp_path / "config.yaml")]) == 2
        assert expected in capsys.readouterr().err


def test_a_channel_silent_inside_the_window_is_bad_input(synth_dir, tmp_path, capsys):
    data = pd.read_csv(synth_dir / "data.csv")
    data.loc[:30, "tv_spend"] = 0.0  # tv launches later
    data.to_csv(tmp_path / "data.csv", index=False)
    raw = yaml.safe_load((synth_dir / "config.yaml").read_text())
    raw["window"] = {"start": str(data.loc[0, "date"]), "end": str(data.loc[20, "date"])}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(raw))
    assert main(["validate", str(tmp_path / "config.yaml")]) == 2
    assert "tv have no spend inside the window" in capsys.readouterr().err


def test_existing_out_is_refused_before_fitting(synth_dir, tmp_path, capsys):
    out = tmp_path / "taken"
    out.mkdir()
    assert main(["fit", str(synth_dir / "config.yaml"), "--out", str(out), *SMALL_FIT]) == 2
    captured = capsys.readouterr()
    assert "--force" in captured.err and "fitting" not in captured.out


def test_bad_synth_options_are_bad_input(tmp_path, capsys):
    assert main(["synth", "--out", str(tmp_path / "s"), "--channels", "0"]) == 2
    assert "error:" in capsys.readouterr().err


from test_config import MINIMAL_YAML as MINIMAL_DESIGN_CONFIG  # noqa: E402  (DESIGN.md's, verbatim)


def test_design_minimal_config_works_as_written_on_a_geo_panel(tmp_path, capsys):
    """DESIGN.md's minimal config, verbatim, on a two-region panel: validated with its geo axis, modelled per geo."""
    import numpy as np

    from mmm.data.panel_design import PanelScaling, build_panel_design
    from mmm.model.build import build_model
    from mmm.analysis.pipeline import load, load_config

    rng = np.random.default_rng(0)
    dates = pd.date_range("2022-01-03", periods=60, freq="W-MON")
    rows = []
    for region in ("north", "south"):
        for date in dates:
            tv, search = rng.gamma(2, 500), rng.gamma(3, 200)
            rows.append({"date": date.date().isoformat(), "region": region, "revenue": 10_000 + 2 * tv + 3 * search,
                         "tv_spend": tv, "search_spend": search, "search_clicks": search * 4,
                         "price_index": 1 + rng.normal(0, 0.02), "promo": int(rng.random() < 0.2)})
    pd.DataFrame(rows).to_csv(tmp_path / "data.csv", index=False)
    (tmp_path / "config.yaml").write_text(MINIMAL_DESIGN_CONFIG)

    assert main(["validate", str(tmp_path / "config.yaml")]) == 0
    out = capsys.readouterr().out
    assert "60 weeks" in out and "2 geos (north, south)" in out

    config = load_config(tmp_path / "config.yaml")
    data = load(config)
    assert data.geos == ["north", "south"] and data.spend.shape == (2, 60, 2)
    assert data.spend[..., 0].sum() == pytest.approx(sum(r["tv_spend"] for r in rows))
    national = data.national()
    assert national.spend["tv"].sum() == pytest.approx(sum(r["tv_spend"] for r in rows))
    model = build_model(config, build_panel_design(data, PanelScaling.compute(data), config.model.seasonality_order))
    names = {rv.name for rv in model.free_RVs}
    # the default ROAS prior: each channel's ROAS is sampled, its coefficient follows from it
    assert {"geometric_alpha", "logistic_lam", "channel_roas"} <= names
    assert "channel_coef" in {v.name for v in model.deterministics}
    assert {"hill_half_saturation", "hill_slope"} <= names  # search's own saturation
    assert list(model.coords["channel_hill"]) == ["search"] and list(model.coords["channel_logistic"]) == ["tv"]


@pytest.mark.slow
def test_an_under_sampled_fit_reports_with_warnings_on_every_roi_section(synth_dir, tmp_path):
    run = tmp_path / "undersampled"
    code = main(["fit", str(synth_dir / "config.yaml"), "--out", str(run), "--draws", "15", "--tune", "15",
                 "--chains", "2", "--no-progress"])
    assert code == 1  # fitted, but the diagnostics gate failed
    html = (run / "report.html").read_text()
    banner = "Diagnostics failed: these figures are not trustworthy yet."
    assert html.count(banner) >= 4
    for section in ('id="roi"', 'id="plots"', "Immediate vs lasting return and payback"):
        start = html.index(section)
        assert banner in html[start:start + 3000], section
    assert "Caution" in html or "Warning" in html  # the executive summary says it first, in words


@pytest.mark.slow
def test_a_holdout_is_predicted_not_fitted_and_reported(synth_dir, tmp_path):
    raw = yaml.safe_load((synth_dir / "config.yaml").read_text())
    raw["data"]["path"] = str(synth_dir / "data.csv")
    raw["holdout"] = {"periods": 12}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(raw))
    run = tmp_path / "run"
    assert main(["fit", str(tmp_path / "config.yaml"), "--out", str(run), *SMALL_FIT]) in (0, 1)
    summary = json.loads((run / "summary.json").read_text())
    held = summary["fit_quality"]["holdout"]
    dates = pd.read_csv(synth_dir / "data.csv")["date"]
    assert held["periods"] == 12 and held["start"] == dates.iloc[-12]
    assert summary["window"]["end"] == dates.iloc[-13]  # ROI figures describe the fitted periods
    assert 0 <= held["mape"] < 0.5  # predicted from the model, so close but not fitted
    assert "holdout_mape" in {c["name"] for c in summary["health"]["checks"]}
    assert "Holdout MAPE" in (run / "report.html").read_text()
    manifest = json.loads((run / "manifest.json").read_text())
    # scaling comes from the fitted periods only: the holdout's KPI does not leak into the model
    train = pd.read_csv(synth_dir / "data.csv").iloc[:-12]
    assert manifest["scaling"]["kpi"] == {"national": pytest.approx(train["revenue"].mean(), rel=1e-12)}
