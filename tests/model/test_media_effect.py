"""A media effect that moves over time (mmm.model.media_effect): one multiplier for model and figures,
centred on the data, held after them, and carried into ROAS, curves and plans."""

from __future__ import annotations

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest

from mmm.data.panel_design import PanelScaling, build_panel_design
from mmm.data.synth import SynthSpec, generate
from mmm.model import media_effect
from mmm.spec.config import Config


def _draws(rng, n_draws: int, n_basis: int) -> dict[str, np.ndarray]:
    return {media_effect.AMPLITUDE: rng.uniform(0.1, 0.5, n_draws), media_effect.LENGTHSCALE: rng.uniform(0.2, 1.0, n_draws),
            media_effect.COEFS: rng.normal(size=(n_draws, n_basis))}


def test_the_multiplier_averages_one_on_the_log_scale_and_holds_its_last_value_after_the_data():
    rng = np.random.default_rng(0)
    time = np.linspace(-1.5, 1.5, 157)
    phi, _ = media_effect.basis(time)
    draws = _draws(rng, 5, phi.shape[1])
    strength = media_effect.multiplier_draws(draws, time, extra_periods=7)
    assert strength.shape == (5, 164)
    # centred: channel_coef stays the effect at the data's average strength, not at some date's
    np.testing.assert_allclose(np.log(strength[:, :157]).mean(axis=1), 0.0, atol=1e-12)
    np.testing.assert_array_equal(strength[:, 157:], np.repeat(strength[:, 156:157], 7, axis=1))
    assert np.ptp(np.log(strength[:, :157]), axis=1).min() > 0.05  # it does move
    assert media_effect.multiplier_draws({}, time) is None


def test_numpy_and_pytensor_give_the_same_multiplier():
    rng = np.random.default_rng(1)
    time = np.linspace(-1.0, 1.0, 105)
    phi, omega = media_effect.basis(time)
    draws = _draws(rng, 3, phi.shape[1])
    expected = media_effect.log_multiplier(draws, phi, omega)
    symbols = {media_effect.AMPLITUDE: pt.dscalar(), media_effect.LENGTHSCALE: pt.dscalar(),
               media_effect.COEFS: pt.dvector()}
    fn = pytensor.function(list(symbols.values()), media_effect.log_multiplier(symbols, phi, omega, xp=pt))
    for d in range(3):
        np.testing.assert_allclose(fn(*(draws[n][d] for n in symbols)), expected[d], rtol=1e-12)


def _drifting(n_geos: int):
    from mmm.analysis.pipeline import load
    from mmm.model.prior_sample import sample_prior

    result = generate(SynthSpec(n_periods=80, n_channels=2, controls=False, seed=4, n_geos=n_geos))
    config = Config.from_dict({**result.config, "model": {**result.config.get("model", {}),
                                                           "media_effect": "time_varying"}})
    panel = load(config, result.data)
    scaling = PanelScaling.compute(panel)
    prior = sample_prior(config, panel, scaling, n_draws=40, seed=2)
    return result, config, panel, scaling, prior


@pytest.fixture(scope="module")
def drifting():
    return _drifting(1)


def test_the_figures_weigh_each_period_by_its_strength(drifting):
    """The same draws with and without the multiplier: each period's contribution is m_t times the steady
    one, ROAS is their sum over spend, and a plan after the data uses the last period's strength."""
    from mmm.analysis.curves import response_gains
    from mmm.analysis.geo_effects import compute_geo_effects
    from mmm.planning.outcome import PlanModel

    result, config, panel, scaling, prior = drifting
    steady_config = Config.from_dict(result.config)
    steady_prior = prior.drop_vars(list(media_effect.VARIABLES))
    moving = compute_geo_effects(prior, config, panel, scaling).national
    steady = compute_geo_effects(steady_prior, steady_config, panel, scaling).national
    design = build_panel_design(panel, scaling, config.design)
    values = {n: prior[n].transpose("chain", "draw", ...).values.reshape(-1, *prior[n].shape[2:])
              for n in media_effect.VARIABLES}
    tail = max(c.max_lag for c in config.channels) - 1
    strength = media_effect.multiplier_draws(values, design.time, tail)
    n = panel.n_periods
    np.testing.assert_allclose(moving.contributions, steady.contributions * strength[:, :n, None], rtol=1e-9)
    assert not np.allclose(moving.roas, steady.roas, rtol=1e-3)
    # ROAS: the in-data contributions plus the carry-over after the data at the last period's strength
    after = steady.incremental_kpi - steady.contributions.sum(axis=1)  # (D, K) the steady tail
    expected = ((steady.contributions * strength[:, :n, None]).sum(axis=1) + after * strength[:, -1:]) / moving.spend
    np.testing.assert_allclose(moving.roas, expected * config.finance.value_per_kpi, rtol=1e-9)
    # curves at 1x the spend give the ROAS's value
    gains, spend = response_gains(prior, config, panel.geo(0), scaling.geo(0), multipliers=np.array([1.0]),
                                  max_draws=10_000)
    np.testing.assert_allclose(gains[0] / spend, moving.roas, rtol=1e-9)
    # a plan values every future period at the last period's strength
    plan_moving = PlanModel(prior, config, panel.geo(0), scaling.geo(0))
    plan_steady = PlanModel(steady_prior, steady_config, panel.geo(0), scaling.geo(0))
    np.testing.assert_allclose(plan_moving._scale, plan_steady._scale * strength[:, -1:], rtol=1e-12)


@pytest.mark.parametrize("n_geos", [1, 3])
def test_the_model_likelihood_and_the_figures_see_the_same_expected_kpi(n_geos):
    """The stacking scores (NumPy, from the figures) and the PyMC model's own likelihood differ only by each
    geo's KPI scale: the multiplier the model fits is the one the figures use, in every geo."""
    from mmm.analysis.geo_effects import compute_geo_effects
    from mmm.model.build import build_model
    from mmm.model.pointwise import log_prior_and_likelihood

    _, config, panel, scaling, prior = _drifting(n_geos)
    design = build_panel_design(panel, scaling, config.design)
    model = build_model(config, design)
    assert {v.name for v in model.free_RVs} >= set(media_effect.VARIABLES)
    _, model_ll = log_prior_and_likelihood(model, prior)
    ours = compute_geo_effects(prior, config, panel, scaling, pointwise=True).log_lik  # (D, G, T)
    theirs = model_ll["kpi_obs"].transpose("chain", "draw", ...).values.reshape(ours.shape)
    scales = np.array([scaling.geo(g).kpi for g in range(n_geos)])
    np.testing.assert_allclose(ours - theirs, -np.log(scales)[None, :, None] + 0 * ours, atol=1e-6)
