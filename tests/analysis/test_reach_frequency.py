"""Reach and frequency channels (Meridian's form): the effect is adstock(reach x saturation(frequency)),
linear in reach, with ROAS on spend. The generator splits each period's impressions into reach and a
frequency around its own level; its truth comes from per-period loops (mmm.data.synth_truth)."""

from __future__ import annotations

import numpy as np
import pytensor
import pytest

from mmm.analysis.effects import compute_effects
from mmm.analysis.geo_effects import compute_geo_effects
from mmm.analysis.pipeline import load
from mmm.data.load import DataError, load_data
from mmm.data.panel_design import PanelScaling, build_panel_design, series_scaling
from mmm.data.synth import ChannelTruth, SynthSpec, generate
from mmm.model.build import build_model
from mmm.model.prior_sample import sample_prior
from mmm.model.truth import truth_posterior
from mmm.spec.config import Config, ConfigError
from test_exposure import assert_reproduces_truth, true_parameter_effects  # tests/ folders are on sys.path

CHANNELS = [
    ChannelTruth("tv", pattern="flighted", level=50_000, target_roas=1.4),
    ChannelTruth("youtube", pattern="always_on", level=20_000, target_roas=2.0, exposure_cost=0.02,
                 reach_frequency=True, saturation="hill", saturation_params={"half_saturation": 1.0, "slope": 2.5}),
]


@pytest.fixture(scope="module")
def synthetic():
    result = generate(SynthSpec(seed=2, n_periods=104, channels=CHANNELS))
    return result, Config.from_dict(result.config)


def test_the_config_reads_reach_and_frequency(synthetic):
    result, config = synthetic
    youtube = config.channel("youtube")
    assert (youtube.reach, youtube.frequency, youtube.saturation) == ("youtube_reach", "youtube_frequency", "hill")
    assert config.to_dict()["channels"]["youtube"]["reach"] == "youtube_reach"
    assert Config.from_dict(config.to_dict()).to_dict() == config.to_dict()  # every prior written out
    base = {"data": {"date": "d", "kpi": "y"}}
    for entry, words in (({"spend": "s", "reach": "r"}, "without `frequency`"),
                         ({"spend": "s", "reach": "r", "frequency": "f", "exposure": "e"}, "drop `exposure`")):
        with pytest.raises(ConfigError, match=words):
            Config.from_dict({**base, "channels": {"c": entry}})
    rf = {"c": {"spend": "s", "reach": "r", "frequency": "f"}}
    with pytest.raises(ConfigError, match="geo.adstock: geo is not available"):
        Config.from_dict({**base, "data": {**base["data"], "geo": "g"}, "channels": rf,
                          "model": {"geo": {"adstock": "geo"}}})
    with pytest.raises(ConfigError, match="ROAS prior is not available"):
        Config.from_dict({**base, "channels": {"c": {**rf["c"], "roas_prior": {"dist": "LogNormal", "mu": 0,
                                                                                  "sigma": 1}}}})


def test_true_parameters_reproduce_the_true_figures(synthetic):
    """ROAS, mROAS (= ROAS: linear in reach at a held frequency) and the immediate share from the true
    parameters equal the generator's loops; read without the frequency curve, they do not."""
    result, config = synthetic
    data = load_data(result.data, config.roles())
    effects = true_parameter_effects(result, config)
    assert_reproduces_truth(effects, result)
    k = effects.channels.index("youtube")
    assert effects.mroas[0, k] == pytest.approx(effects.roas[0, k], rel=1e-9)
    as_reach = Config.from_dict({**result.config, "channels": {**result.config["channels"], "youtube": {
        "spend": "youtube_spend", "exposure": "youtube_reach", "saturation": "hill"}}})
    reach_only = compute_effects(truth_posterior(result.truth, as_reach, data), as_reach, data, series_scaling(
        load_data(result.data, as_reach.roles())))
    assert abs(reach_only.mu[0] - effects.mu[0]).max() > 0.01 * effects.mu[0].mean()


@pytest.mark.parametrize("n_geos", [1, 3])
def test_the_graph_and_the_figures_agree(n_geos):
    result = generate(SynthSpec(seed=4, n_periods=60, channels=CHANNELS if n_geos == 1 else
                                [ChannelTruth(**{**vars(c)}) for c in CHANNELS], n_geos=n_geos))
    config = Config.from_dict({**result.config, "data": {**result.config["data"], "min_periods": 26}})
    panel = load(config, result.data)
    scaling = PanelScaling.compute(panel)
    assert set(scaling.frequency) == {"youtube"}
    model = build_model(config, build_panel_design(panel, scaling, config.design))
    prior = sample_prior(config, panel, scaling, n_draws=3, seed=1)
    expected = pytensor.function(model.free_RVs, model["kpi_obs"].owner.inputs[2], on_unused_input="ignore")
    figures = compute_geo_effects(prior, config, panel, scaling).national
    for d in range(3):
        point = [prior[rv.name].isel(chain=0, draw=d).values for rv in model.free_RVs]
        np.testing.assert_allclose(figures.mu[d], (expected(*point) * scaling.kpi[:, None]).sum(axis=0), rtol=1e-9)


def test_reach_without_frequency_is_refused_with_the_date(synthetic):
    result, config = synthetic
    data = result.data.copy()
    row = int(np.flatnonzero(data["youtube_reach"] > 0)[3])
    data.loc[row, "youtube_frequency"] = 0.0
    with pytest.raises(DataError) as err:
        PanelScaling.compute(load(config, data))
    assert "reach but no frequency" in str(err.value) and f"{data.loc[row, 'date']:%Y-%m-%d}" in str(err.value)


@pytest.mark.slow
def test_reach_and_frequency_are_recovered_saved_and_planned(tmp_path):
    """A national fit (156 weeks, 4 x (500 + 500)) passes the package's gate; the reach-and-frequency channel's
    ROAS is covered, with an error at most 0.7x and an interval at most 0.7x the prior's; its optimal
    frequency (true 3.53: level 3 x half-saturation 1 x 1.5^(1/2.5)) is covered and narrower than the prior's;
    the run folder states it; and a plan buys reach at the recent cost per unit of reach, holding the
    recent frequency, and says so in plan.json."""
    import json

    from mmm.api import fit, plan_model, write_plan
    from mmm.planning.optimize import optimize

    youtube = ChannelTruth(**{**vars(CHANNELS[1]), "target_roas": 5.0})  # far from the prior's mean (~2.4)
    result = generate(SynthSpec(seed=0, n_periods=156, channels=[
        CHANNELS[0], youtube, ChannelTruth("search", pattern="always_on", level=30_000, target_roas=3.0)]))
    config = Config.from_dict({**result.config, "fit": {"draws": 500, "tune": 500, "chains": 4, "seed": 0}})
    fitted = fit(config, result.data, reference=False)
    prior = fitted._prior_figures(2000)
    k = fitted.effects.channels.index("youtube")
    truth = result.truth["figures"]["youtube"]
    post = fitted.effects.roas[:, k]
    lo, hi = np.quantile(post, [0.05, 0.95])
    prior_lo, prior_hi = np.quantile(prior.roas[:, k], [0.05, 0.95])
    error, prior_error = abs(post.mean() / truth["roas"] - 1), abs(prior.roas[:, k].mean() / truth["roas"] - 1)
    optimal = fitted.optimal_frequency()["youtube"]
    f_lo, f_hi = np.quantile(optimal, [0.05, 0.95])
    print(f"  youtube ROAS {post.mean():.2f} [{lo:.2f}, {hi:.2f}] true {truth['roas']:.2f} (prior [{prior_lo:.2f}, "
          f"{prior_hi:.2f}], error {error:.1%} vs prior {prior_error:.1%}); optimal frequency {optimal.mean():.2f} "
          f"[{f_lo:.2f}, {f_hi:.2f}] true {truth['optimal_frequency']:.2f}")
    assert fitted.diagnostics.ok, fitted.diagnostics.problems
    assert lo <= truth["roas"] <= hi
    assert error <= 0.7 * prior_error and (hi - lo) <= 0.7 * (prior_hi - prior_lo)
    assert f_lo <= truth["optimal_frequency"] <= f_hi
    run = fitted.save(tmp_path / "run", report=False)
    summary = json.loads((run / "summary.json").read_text())
    stated = summary["channels"]["youtube"]["frequency"]
    assert stated["reach_column"] == "youtube_reach" and stated["optimal_frequency"]["lo"] == pytest.approx(f_lo)
    model = plan_model(run)
    plan = write_plan(tmp_path / "plan", model, optimize(model, float(model.run_rate.sum())))
    inputs = json.loads((plan / "plan.json").read_text())["inputs"]
    held = inputs["frequency_held"]["youtube"]["frequency"]
    recent = result.data.tail(model.lookback)
    assert held == pytest.approx((recent["youtube_frequency"] * recent["youtube_reach"]).sum()
                                 / recent["youtube_reach"].sum(), rel=1e-9)
    assert "youtube" in inputs["exposure_cost_per_unit"]
