"""Calibration with a lift experiment, on synthetic data where the data alone cannot tell (real fits).

130 weeks, three channels; ``display`` spends with the season (correlation ~0.85
with the expected KPI), so the model's seasonality can absorb its effect and the
uncalibrated ROAS of display is wide and biased. One 6-week experiment with the
true incremental KPI and a 15% standard error must narrow display's 90% ROAS
interval by at least 30% and move its mean toward the truth; a wrong experiment
(8x the truth with a 1% SE: beyond what the data alone allow, whose 90% interval under the heavy-tailed
default ROAS prior reaches ~3.5x the truth; a 3x test sat inside it and could not be called a conflict)
must visibly shift it and be flagged
on the health card. The three fits share one module fixture.
"""

from __future__ import annotations

import json

import pandas as pd

import numpy as np
import pytest

from mmm.cli.main import main
from mmm.spec.config import Config
from mmm.api import fit
from mmm.data.synth import ChannelTruth, SynthSpec, generate
from mmm.data.synth_truth import true_figures

FIT = {"draws": 400, "tune": 400, "chains": 2, "seed": 0}
WRONG = 8.0  # the wrong experiment's lift, in multiples of the truth


def confounded_synth(seed: int = 0):
    return generate(SynthSpec(seed=seed, n_periods=130, channels=[
        ChannelTruth("tv", pattern="flighted", level=50_000, target_roas=1.4),
        ChannelTruth("search", pattern="always_on", level=30_000, target_roas=4.0),
        ChannelTruth("display", pattern="seasonal", level=20_000, target_roas=2.2, season_amplitude=1.0,
                     season_jitter=0.05),
    ]))


@pytest.fixture(scope="module")
def study():
    synth = confounded_synth()
    dates = synth.data["date"]
    start, end = dates.iloc[60].date().isoformat(), dates.iloc[65].date().isoformat()
    true_lift = true_figures(synth.data, synth.truth, window=(start, end))["display"]["incremental_kpi"]
    base = {**synth.config, "fit": FIT}
    test = {"channel": "display", "start": start, "end": end}
    none = fit(Config.from_dict(base), synth.data)
    true = fit(Config.from_dict({**base, "experiments": [{**test, "incremental_kpi": true_lift,
                                                          "se": 0.15 * true_lift}]}), synth.data, reference=none)
    wrong = fit(Config.from_dict({**base, "experiments": [{**test, "incremental_kpi": WRONG * true_lift,
                                                           "se": 0.01 * WRONG * true_lift}]}), synth.data, reference=none)
    return {"synth": synth, "none": none, "true": true, "wrong": wrong, "true_lift": true_lift,
            "truth": synth.truth["figures"]["display"]["roas"]}


def _display(fitted):
    k = fitted.effects.channels.index("display")
    draws = fitted.effects.roas[:, k]
    lo, hi = np.quantile(draws, [0.05, 0.95])
    return float(draws.mean()), float(lo), float(hi)


@pytest.mark.slow
def test_spend_is_confounded_with_season(study):
    synth = study["synth"]
    assert np.corrcoef(synth.data["display_spend"], synth.truth["mu"])[0, 1] > 0.7


@pytest.mark.slow
def test_a_true_experiment_narrows_the_interval_and_moves_toward_the_truth(study):
    truth = study["truth"]
    (m0, lo0, hi0), (m1, lo1, hi1) = _display(study["none"]), _display(study["true"])
    narrowing = 1 - (hi1 - lo1) / (hi0 - lo0)
    print(f"\ndisplay true ROAS {truth:.2f} (true lift of the test {study['true_lift']:,.0f})")
    print(f"  uncalibrated: mean {m0:.2f}  90% [{lo0:.2f}, {hi0:.2f}]  width {hi0 - lo0:.2f}  error {m0 - truth:+.2f}")
    print(f"  calibrated:   mean {m1:.2f}  90% [{lo1:.2f}, {hi1:.2f}]  width {hi1 - lo1:.2f}  error {m1 - truth:+.2f}")
    print(f"  interval narrowed by {narrowing:.0%}")
    assert narrowing >= 0.30
    # the uncalibrated mean can land near the truth by chance inside its wide interval (it did on this seed
    # under the default ROAS prior: +0.06): the experiment must keep the calibrated one close as well
    assert abs(m1 - truth) <= max(abs(m0 - truth), 0.1 * truth)
    assert lo1 <= truth <= hi1
    (check,) = study["true"].experiment_checks()
    print(f"  conflict check: z {check.z:+.2f}, p {check.p_value:.2f}, experiment share {check.experiment_share:.2f}")
    assert {c.name: c.status for c in study["true"].health()}["experiment_conflict"] == "PASS"


@pytest.mark.slow
def test_a_wrong_experiment_shifts_the_estimate_and_is_flagged(study):
    truth = study["truth"]
    (m1, *_), (m2, lo2, hi2) = _display(study["true"]), _display(study["wrong"])
    (check,) = study["wrong"].experiment_checks()
    print(f"\nwrong experiment ({WRONG:g}x the true lift, 1% SE): display mean {m2:.2f} 90% [{lo2:.2f}, {hi2:.2f}] "
          f"vs truth {truth:.2f}; z {check.z:+.2f}, p {check.p_value:.4f}")
    assert m2 > 2 * truth and m2 > 2 * m1  # the experiment visibly drags the estimate
    health = {c.name: c for c in study["wrong"].health()}
    assert health["experiment_conflict"].status in ("REVIEW", "FAIL")
    assert "Conflict" in health["experiment_conflict"].detail


@pytest.mark.slow
def test_summary_and_report_show_prior_vs_posterior_and_the_conflict(study, tmp_path):
    run_dir = study["wrong"].save(tmp_path / "wrong")
    summary = json.loads((run_dir / "summary.json").read_text())
    display = summary["channels"]["display"]["prior_posterior"]
    assert set(display) >= {"prior_roas", "contraction", "shift", "overlap", "prior_tail", "verdict"}
    assert display["verdict"] == "data"  # the experiment (part of the evidence) moved it far from the prior
    (experiment,) = summary["experiments"]
    assert experiment["method"] == "reference fit without experiments" and experiment["z"] > 2.0
    checks = {c["name"]: c for c in summary["health"]["checks"]}
    assert checks["experiment_conflict"]["status"] != "PASS" and "prior_conflict" in checks
    html = (run_dir / "report.html").read_text()
    assert "Do the lift experiments agree" in html and "Do the data contradict" in html


@pytest.mark.slow
def test_sensitivity_cli_refits_with_scaled_priors(study, tmp_path, capsys):
    from mmm.cli.sensitivity import sensitivity_dir

    run_dir = study["none"].save(tmp_path / "none", report=False)
    rc = main(["sensitivity", str(run_dir), "--factors", "2", "--draws", "150", "--tune", "150"])
    assert rc in (0, 1)  # 1: a refit's diagnostics failed at these tiny draws (the table is still written)
    printed = capsys.readouterr().out
    assert not (run_dir / "sensitivity.json").exists()  # the run folder stays as it was written
    result = json.loads((sensitivity_dir(run_dir) / "sensitivity.json").read_text())
    assert result["factors"] == [1.0, 2.0] and set(result["channels"]) == {"tv", "search", "display"}
    summary_roas = json.loads((run_dir / "summary.json").read_text())["channels"]["display"]["roas"]["mean"]
    row = next(r for r in result["table"] if r["channel"] == "display" and r["factor"] == 1.0)
    assert row["roas_mean"] == pytest.approx(summary_roas)
    assert "max shift" in printed
    assert main(["sensitivity", str(run_dir), "--factors", "1"]) == 2  # 1 is the run itself
    assert main(["sensitivity", str(run_dir), "--psense"]) == 0  # power-scaling: no refits
    psense = pd.read_csv(sensitivity_dir(run_dir) / "psense.csv")
    assert list(psense["channel"]) == ["tv", "search", "display"]
    assert (psense[["prior_sensitivity", "likelihood_sensitivity"]] >= 0).all().all()
    assert psense["diagnosis"].isin(["prior-data conflict", "strong prior / weak data", "data dominate"]).all()
