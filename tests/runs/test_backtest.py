"""Backtests (mmm backtest, and every refresh): a run's forecast of periods it never saw, scored.

Fast tests use the synthetic truth as the parent's posterior (no sampling): with the true parameters the
forecast's only uncertainty is the noise, so its intervals must be calibrated exactly and a changed effect must
show as bias. tests/runs/test_backtest_calibration.py (slow) does the same with fitted parents.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from mmm.analysis.forecast import crps, forecast, mixed_forecast, score
from mmm.cli.main import main
from mmm.data.load import DataError, load_data
from mmm.data.panel_design import series_scaling
from mmm.data.synth import ChannelTruth, SynthSpec, generate
from mmm.data.synth_truth import true_figures
from mmm.model.truth import truth_posterior
from mmm.report.backtest import write_backtest
from mmm.runs.backtest import backtest, default_dir, track_record
from mmm.spec.config import Config
from synthetic_runs import write_synthetic_run  # tests/ is on sys.path under pytest

HISTORY, QUARTER = 104, 13
CHANNELS = [ChannelTruth("tv", level=60_000, target_roas=1.5, pattern="flighted"),
            ChannelTruth("search", level=30_000, target_roas=3.0),
            ChannelTruth("social", level=10_000, target_roas=1.0)]


def parent_and_data(folder: Path, seed: int, *, change: float | None = None, noise: float = 0.06):
    """A parent run fitted (as the truth) on the first HISTORY periods, and the data with one more quarter.
    ``change``: the tv effect's factor from the new quarter on (the parent cannot know)."""
    channels = [replace(CHANNELS[0], effect_change_period=HISTORY, effect_change_factor=change)
                if change is not None else CHANNELS[0], *CHANNELS[1:]]
    result = generate(SynthSpec(seed=seed, n_periods=HISTORY + QUARTER, channels=channels, noise=noise))
    config = Config.from_dict(result.config)
    scaling = series_scaling(load_data(result.data, config.roles()))  # the truth's model units
    history = result.data.iloc[:HISTORY]
    posterior = truth_posterior(result.truth, config, load_data(history, config.roles()), n_draws=400)
    run = write_synthetic_run(folder / "q1", replace(result, data=history), posterior, scaling)
    data = folder / "next.csv"
    result.data.assign(date=result.data["date"].dt.strftime("%Y-%m-%d")).to_csv(data, index=False)
    return run, data, result


def test_true_parameters_forecast_calibrated_intervals(tmp_path):
    """Over 20 quarter-splits, the truth's 90% intervals hold the quarter's total and its periods ~90% of the
    time (the noise is all there is to forecast), the 50% ones ~50%."""
    inside_total, periods, periods_50 = [], [], []
    for seed in range(20):
        run, data, _ = parent_and_data(tmp_path / f"s{seed}", seed)
        s = backtest(run, data, seed=seed).score
        assert s["periods"] == QUARTER
        inside_total.append(s["total_inside_interval"])
        periods.append(s["coverage"])
        periods_50.append(s["coverage_50"])
    print(f"quarter totals inside the 90% interval: {np.mean(inside_total):.2f}; periods inside 90%: "
          f"{np.mean(periods):.3f}, inside 50%: {np.mean(periods_50):.3f}")
    assert 0.80 <= np.mean(inside_total) <= 0.97 + 1e-9
    assert 0.85 <= np.mean(periods) <= 0.95  # 260 periods
    assert 0.42 <= np.mean(periods_50) <= 0.58


def test_a_quarter_whose_effect_changed_is_flagged_by_the_bias(tmp_path):
    run, data, _ = parent_and_data(tmp_path, seed=3, change=0.3)  # tv loses 70% of its effect in the new quarter
    s = backtest(run, data).score
    assert s["bias"]["lo"] > 0 and not s["total_inside_interval"]
    assert "predicted more than happened" in s["flag"]
    same, same_data, _ = parent_and_data(tmp_path / "same", seed=3)
    assert backtest(same, same_data).score["flag"] is None


def test_crps_matches_its_definition_and_prefers_the_sharper_right_forecast():
    rng = np.random.default_rng(0)
    samples = rng.normal(0.0, 1.0, size=(400, 3))
    actual = np.array([0.0, 1.0, -2.0])
    brute = np.abs(samples - actual).mean(axis=0) - 0.5 * np.abs(samples[:, None, :] - samples[None, :, :]).mean(
        axis=(0, 1))
    np.testing.assert_allclose(crps(samples, actual), brute, rtol=1e-12)
    assert crps(samples * 0.5, np.zeros(3))[0] < crps(samples, np.zeros(3))[0]


def test_folder_page_and_track_record(tmp_path, capsys):
    run, data, _ = parent_and_data(tmp_path, seed=1)
    out = tmp_path / "q1-backtest-2023-03-27"
    assert main(["backtest", str(run), "--data", str(data), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "predicted 13 new period(s)" in printed and "inside the 90% interval" in printed
    summary = json.loads((out / "backtest.json").read_text())
    periods = pd.read_csv(out / "backtest_periods.csv")
    assert summary["parent_run"] == "q1" and summary["periods"] == len(periods) == QUARTER
    assert summary["coverage"] == pytest.approx(periods["inside"].mean())
    assert summary["actual_total"] == pytest.approx(periods["actual"].sum())
    html = (out / "backtest.html").read_text()
    assert "data:image/png;base64," in html and "http://" not in html and "https://" not in html
    assert main(["backtest", str(run), "--data", str(data), "--out", str(out)]) == 2  # never overwrites
    # the track record lists backtests named <run>-backtest
    write_backtest(default_dir(tmp_path / "q2"), replace(backtest(run, data), run="q2"))
    record = track_record(tmp_path)
    assert list(record["run"]) == ["q2"] and record.loc[0, "periods"] == QUARTER


def test_bad_input_names_the_problem(tmp_path, capsys):
    run, data, result = parent_and_data(tmp_path, seed=2)
    old = tmp_path / "old.csv"
    result.data.iloc[:HISTORY].assign(date=lambda d: d["date"].dt.strftime("%Y-%m-%d")).to_csv(old, index=False)
    with pytest.raises(DataError, match=r"no period after 2022-12-26.*append"):
        backtest(run, old)
    assert main(["backtest", str(run), "--data", str(old)]) == 2
    assert "no period after" in capsys.readouterr().err
    assert not list(tmp_path.glob("q1-backtest*"))


def test_a_mixture_with_all_weight_on_one_candidate_is_that_candidates_forecast(tmp_path):
    from mmm.analysis.pipeline import load
    from mmm.runs.folder import load_run

    run, data, _ = parent_and_data(tmp_path, seed=4)
    parent = load_run(run)
    posterior = parent.posterior()["posterior"].to_dataset()
    extended = load(parent.config, data)
    wider = posterior.assign(sigma=posterior["sigma"] * 3)
    one = forecast(posterior, parent.config, extended, parent.scaling, HISTORY, seed=5)
    mixed = mixed_forecast([(parent.config, wider), (parent.config, posterior)], [0.0, 1.0], extended,
                           parent.scaling, HISTORY, seed=5)
    np.testing.assert_allclose(mixed.predictive, one.predictive)
    assert score(one)["crps"] < score(forecast(wider, parent.config, extended, parent.scaling, HISTORY))["crps"]


def test_the_parents_plan_is_scored_against_what_happened(tmp_path):
    from mmm.api import plan_model, write_plan
    from mmm.planning.optimize import optimize

    run, data, synthetic = parent_and_data(tmp_path, seed=6)
    model = plan_model(run)
    write_plan(tmp_path / "q1-plan", model, optimize(model, float(model.run_rate.sum())))
    result = backtest(run, data)
    plan = result.plan
    assert plan["scored"] and plan["folder"] == "q1-plan" and "parent run" in plan["view"]
    actual = pd.read_csv(data).iloc[HISTORY:]
    # the truth's return on the actual spend of the plan's periods (loops over the true parameters)
    truth = true_figures(synthetic.data, synthetic.truth, window=(plan["start"], plan["end"]))
    for name, c in plan["channels"].items():
        assert c["actual_spend"] == pytest.approx(actual[f"{name}_spend"].sum(), rel=1e-9)
        assert c["credited_value"]["mean"] == pytest.approx(truth[name]["incremental_kpi"], rel=1e-6)
    assert plan["totals"]["planned_spend"] == pytest.approx(sum(c["planned_spend"] for c in plan["channels"].values()))
    assert plan["totals"]["planned_value"]["mean"] > 0
    out = write_backtest(tmp_path / "bt", result)
    table = pd.read_csv(out / "plan_check.csv")
    assert list(table["channel"]) == [*plan["channels"], "total"]
    assert "The previous plan against what happened" in (out / "backtest.html").read_text()


def test_the_fitted_periods_keep_their_figures_when_later_periods_are_appended():
    """A forecast appends periods to the design: the fitted ones must see the same time, the same moving
    baseline and the same media strength as the fit; after them both hold their last value."""
    from mmm.analysis.effects import compute_effects
    from mmm.data.panel import load_panel
    from mmm.data.panel_design import PanelScaling
    from mmm.model.geo_terms import geo_posterior
    from mmm.model.prior_sample import sample_prior

    result = generate(SynthSpec(seed=8, n_periods=HISTORY + QUARTER, n_channels=2, controls=False))
    raw = dict(result.config)
    raw["model"] = {**(raw.get("model") or {}), "baseline": {"smooth": True}, "media_effect": "time_varying",
                    "candidates": "none"}
    config = Config.from_dict(raw)
    full = load_panel(result.data, config.roles())
    history = load_panel(result.data.iloc[:HISTORY], config.roles())
    scaling = PanelScaling.compute(history)
    posterior = geo_posterior(sample_prior(config, history, scaling, n_draws=8, seed=1), config, 0, 1)
    fitted = compute_effects(posterior, config, history.geo(0), scaling.geo(0))
    extended = compute_effects(posterior, config, full.geo(0), scaling.geo(0), fitted_periods=HISTORY)
    np.testing.assert_allclose(extended.mu[:, :HISTORY], fitted.mu, rtol=1e-9)
    np.testing.assert_allclose(extended.contributions[:, :HISTORY], fitted.contributions, rtol=1e-9)
    # after the fitted periods the moving baseline holds its last value: the change is media and season only
    assert np.isfinite(extended.mu[:, HISTORY:]).all()


def stacked(run: Path, factor: float = 3.0) -> Path:
    """``run`` as a stacked run of two candidates with equal weights: its own posterior, and one whose noise sd
    is ``factor`` times larger (summary.json's ``structure``, as a fit with candidates writes it)."""
    import xarray as xr

    from synthetic_runs import reseal

    tree = xr.open_datatree(run / "posterior.nc", engine="h5netcdf").load()
    posterior = tree["posterior"].to_dataset()
    xr.DataTree.from_dict({"posterior": posterior.assign(sigma=posterior["sigma"] * factor)}).to_netcdf(
        run / "posterior-1.nc", engine="h5netcdf")
    summary = json.loads((run / "summary.json").read_text())
    summary["structure"] = {"method": "stacking", "primary": "as configured", "candidates": [
        {"label": "as configured", "weight": 0.5, "posterior": "posterior.nc", "config": "config.yaml"},
        {"label": "noisy", "weight": 0.5, "posterior": "posterior-1.nc", "config": "config.yaml"}]}
    (run / "summary.json").write_text(json.dumps(summary))
    return reseal(run)


def test_a_stacked_parent_forecasts_with_the_mixture_of_its_candidates(tmp_path):
    run, data, _ = parent_and_data(tmp_path, seed=5)
    alone = backtest(run, data, seed=2)
    mixed = backtest(stacked(run), data, seed=2)
    assert any("stacked run" in note for note in mixed.notes)
    spread_alone, spread_mixed = (np.std(b.forecast.national_predictive, axis=0).mean() for b in (alone, mixed))
    assert spread_mixed > 1.5 * spread_alone  # half the draws carry 3x the noise
    assert mixed.forecast.predictive.shape == alone.forecast.predictive.shape


def test_cli_with_the_refreshed_run_names_it_and_writes_beside_it(tmp_path, capsys):
    run, data, result = parent_and_data(tmp_path, seed=7)
    config = Config.from_dict(result.config)
    full = load_data(result.data, config.roles())
    refreshed = write_synthetic_run(tmp_path / "q2", result, truth_posterior(result.truth, config, full),
                                    series_scaling(full))
    assert main(["backtest", str(run), "--data", str(data), "--run", str(refreshed)]) == 0
    summary = json.loads((default_dir(refreshed) / "backtest.json").read_text())
    assert (summary["parent_run"], summary["run"]) == ("q1", "q2")
    assert "backtest: " in capsys.readouterr().out
