"""Calibrating a geo model with a geo lift test and a national ROAS prior (real fits, shared by the tests).

A panel of 4 geos x 104 weeks x 3 channels where ``display`` spends with the season
(the model's seasonality can absorb it, so its uncalibrated ROAS is wide and biased low).
Three fits of 2 chains x 300 draws: without calibration; with one 6-week display test in
geo_001 at its true lift (15% SE), which must narrow that geo's display ROAS interval by at
least 30% and keep the truth inside; and with a national display ROAS prior centred on the
national truth, which must move the national estimate toward the truth. A test at 3x the
true lift is checked against the uncalibrated (data-only) posterior and must be flagged.
"""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from mmm.cli.main import main
from mmm.spec.config import Config
from mmm.api import fit
from mmm.data.synth import ChannelTruth, SynthSpec, generate
from test_geo_calibration import true_geo_lift  # noqa: E402  (tests/ is on sys.path under pytest)

pytestmark = pytest.mark.slow
FIT = {"draws": 300, "tune": 300, "chains": 2, "seed": 0, "adaptation": "low_rank"}
GEO = "geo_001"


def confounded_panel(seed: int = 5):
    return generate(SynthSpec(n_periods=104, controls=False, seed=seed, channels=[
        ChannelTruth("tv", pattern="flighted", level=50_000, target_roas=1.4),
        ChannelTruth("search", pattern="always_on", level=30_000, target_roas=4.0),
        ChannelTruth("display", pattern="seasonal", level=20_000, target_roas=2.2, season_amplitude=1.0,
                     season_jitter=0.05),
    ], n_geos=4))


@pytest.fixture(scope="module")
def study():
    panel = confounded_panel()
    dates = sorted(panel.data["date"].unique())
    start, end = str(dates[60])[:10], str(dates[65])[:10]
    lift = true_geo_lift(panel, GEO, "display", start, end)
    test = {"channel": "display", "geo": GEO, "start": start, "end": end}
    base = {**panel.config, "fit": FIT}
    none = fit(Config.from_dict(base), panel.data)
    tested = fit(Config.from_dict({**base, "experiments": [{**test, "incremental_kpi": lift, "se": 0.15 * lift}]}),
                 panel.data, reference=none)
    national_truth = panel.truth["figures"]["display"]["roas"]
    channels = {k: dict(v) for k, v in panel.config["channels"].items()}
    channels["display"]["roas_prior"] = {"median": national_truth, "p90": 1.5 * national_truth}
    with_prior = fit(Config.from_dict({**base, "channels": channels}), panel.data)
    wrong = Config.from_dict({**base, "experiments": [{**test, "incremental_kpi": 3 * lift, "se": 0.15 * lift}]})
    return {"panel": panel, "none": none, "tested": tested, "with_prior": with_prior, "wrong": wrong,
            "lift": lift, "national_truth": national_truth,
            "geo_truth": panel.truth["geos"][GEO]["figures"]["display"]["roas"]}


def _interval(draws: np.ndarray) -> tuple[float, float, float]:
    lo, hi = np.quantile(draws, [0.05, 0.95])
    return float(draws.mean()), float(lo), float(hi)


def _geo_display(result) -> np.ndarray:
    ge = result.geo_effects
    return ge.by_geo["roas"][:, ge.geos.index(GEO), ge.channels.index("display")]


def _national_display(result) -> np.ndarray:
    return result.effects.roas[:, result.effects.channels.index("display")]


def test_a_true_geo_test_narrows_that_geos_roas_interval(study):
    truth = study["geo_truth"]
    (m0, lo0, hi0), (m1, lo1, hi1) = _interval(_geo_display(study["none"])), _interval(_geo_display(study["tested"]))
    narrowing = 1 - (hi1 - lo1) / (hi0 - lo0)
    print(f"\n{GEO} display: true ROAS {truth:.2f}, true lift of the test {study['lift']:,.0f}")
    print(f"  uncalibrated: mean {m0:.2f}  90% [{lo0:.2f}, {hi0:.2f}]")
    print(f"  geo test:     mean {m1:.2f}  90% [{lo1:.2f}, {hi1:.2f}]  narrowed by {narrowing:.0%}")
    assert narrowing >= 0.30
    assert lo1 <= truth <= hi1
    assert abs(m1 - truth) < abs(m0 - truth)
    (check,) = study["tested"].experiment_checks()
    print(f"  conflict check: z {check.z:+.2f}, p {check.p_value:.2f} ({check.method})")
    assert check.method == "reference fit without experiments"
    assert {c.name: c.status for c in study["tested"].health()}["experiment_conflict"] == "PASS"


def test_a_national_roas_prior_on_the_truth_moves_the_national_estimate_toward_it(study):
    truth = study["national_truth"]
    (m0, lo0, hi0), (m1, lo1, hi1) = (_interval(_national_display(study[k])) for k in ("none", "with_prior"))
    print(f"\nnational display: true ROAS {truth:.2f}; uncalibrated {m0:.2f} [{lo0:.2f}, {hi0:.2f}]; "
          f"with the ROAS prior {m1:.2f} [{lo1:.2f}, {hi1:.2f}]")
    assert abs(m1 - truth) < 0.5 * abs(m0 - truth)
    assert lo1 <= truth <= hi1 and hi1 - lo1 < hi0 - lo0
    moved = study["with_prior"].prior_vs_posterior()["display"]
    assert moved["prior_roas"]["median"] == pytest.approx(truth, rel=0.1)  # the prior on the national ROAS


def test_a_wrong_geo_test_is_flagged_by_the_conflict_check(study):
    """3x the true lift, judged against what the panel alone says (the uncalibrated fit)."""
    none = study["none"]
    judged = replace(none, config=study["wrong"], reference_posterior=none.posterior, _cache={})
    (check,) = judged.experiment_checks()
    print(f"\nwrong test (3x the true lift): z {check.z:+.2f}, p {check.p_value:.4f}; the panel alone says "
          f"{check.data_mean:,.0f} ± {check.data_sd:,.0f}, measured {check.observed:,.0f}")
    assert check.z > 2.0 and check.p_value < 0.05
    health = {c.name: c for c in judged.health()}
    assert health["experiment_conflict"].status in ("REVIEW", "FAIL")
    assert "Conflict: display geo_001" in health["experiment_conflict"].detail


def test_a_calibrated_geo_run_folder_and_sensitivity(study, tmp_path, monkeypatch, capsys):
    run = study["tested"].save(tmp_path / "tested")
    summary = json.loads((run / "summary.json").read_text())
    (experiment,) = summary["experiments"]
    assert experiment["label"].startswith("display geo_001") and experiment["method"].startswith("reference")
    assert set(summary["channels"]["display"]["prior_posterior"]) >= {"prior_roas", "overlap", "verdict"}
    checks = {c["name"]: c for c in summary["health"]["checks"]}
    assert {"experiment_conflict", "prior_conflict", "prior_contraction"} <= set(checks)
    html = (run / "report.html").read_text()
    assert "Do the lift experiments agree" in html and "Do the data contradict" in html

    from mmm.cli.sensitivity import sensitivity_dir

    assert main(["sensitivity", str(run), "--psense"]) == 0  # the geo model's own densities, no refit
    psense = pd.read_csv(sensitivity_dir(run) / "psense.csv")
    assert list(psense["channel"]) == ["tv", "search", "display"]
    assert (psense[["prior_sensitivity", "likelihood_sensitivity"]] >= 0).all().all()
    assert "national ROAS" in capsys.readouterr().out

    # refits: the geo panel, its stored scaling and the scaled priors reach fit(); the refit itself
    # is stood in by the ROAS-prior fit (a real geo refit compiles a new model: too slow for CI)
    import mmm.analysis.pipeline

    calls = []

    def refit(config, data, **kwargs):
        calls.append((config, data, kwargs))
        return study["with_prior"]

    monkeypatch.setattr(mmm.analysis.pipeline, "fit", refit)
    assert main(["sensitivity", str(run), "--factors", "2", "--out", str(tmp_path / "sens")]) in (0, 1)
    ((config, data, kwargs),) = calls
    assert list(data.geos) == list(study["panel"].truth["geos"])
    assert kwargs["scaling"].to_dict() == study["tested"].scaling.to_dict() and kwargs["reference"] is False
    # the default ROAS prior: twice the log-scale sd around the same median
    assert config.model.media_roas_sigma == 2 * study["tested"].config.model.media_roas_sigma
    assert config.model.media_roas_scale == study["tested"].config.model.media_roas_scale
    table = pd.DataFrame(json.loads((tmp_path / "sens" / "sensitivity.json").read_text())["table"])
    base = table[(table["channel"] == "display") & (table["factor"] == 1.0)].iloc[0]
    assert base["roas_mean"] == pytest.approx(summary["channels"]["display"]["roas"]["mean"])
    doubled = table[(table["channel"] == "display") & (table["factor"] == 2.0)].iloc[0]
    assert doubled["roas_mean"] == pytest.approx(float(_national_display(study["with_prior"]).mean()))
