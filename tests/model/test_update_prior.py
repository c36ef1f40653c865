"""The posterior-to-prior approximation behind `mmm refresh --mode update` (fast: no sampling)."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from mmm.spec.config import Config
from mmm.data.panel_design import PanelScaling, build_panel_design
from mmm.model.build import build_model
from mmm.analysis.pipeline import load
from mmm.data.synth import SynthSpec, generate
from mmm.model.update_prior import (EPS_NAME, apply_to_model, constrain, parameter_bounds, posterior_to_prior,
                              unconstrain)


@pytest.mark.parametrize("lower, upper, x", [
    (-np.inf, np.inf, [-3.0, 0.0, 2.5]),
    (0.0, np.inf, [1e-4, 1.0, 40.0]),
    (0.0, 1.0, [0.01, 0.5, 0.99]),
    (2.0, 5.0, [2.1, 3.0, 4.9]),
    (-np.inf, 1.0, [-7.0, 0.0, 0.9]),
])
def test_constrain_inverts_unconstrain(lower, upper, x):
    x = np.array(x)
    z = unconstrain(x[None, :], np.full(3, lower), np.full(3, upper))
    assert np.all(np.isfinite(z))
    np.testing.assert_allclose(constrain(z, np.full(3, lower), np.full(3, upper))[0], x, rtol=1e-10)


def _fake_posterior(config, design, rng, n_chain=2, n_draw=2000):
    """Draws of every free parameter of the model on ``design`` (a one-geo panel), in the model's order,
    dims and coordinates, whose unconstrained form is a known correlated Gaussian."""
    model = build_model(config, design)
    names = [rv.name for rv in model.free_RVs]
    bounds = parameter_bounds(config)
    blocks = []
    for name in names:
        dims = tuple(model.named_vars_to_dims.get(name, ()))
        blocks.append((name, dims, tuple(len(model.coords[d]) for d in dims)))
    assert dict((n, d) for n, d, _ in blocks)["sigma"] == ("geo",)  # one sigma per geo, here the one national geo
    total = sum(int(np.prod(s)) if s else 1 for *_, s in blocks)
    mean = rng.normal(0, 0.5, total)
    a = rng.normal(0, 0.3, (total, total))
    cov = a @ a.T / total + 0.05 * np.eye(total)
    z = rng.multivariate_normal(mean, cov, size=n_chain * n_draw)
    out, offset = {}, 0
    for name, dims, shape in blocks:
        size = int(np.prod(shape)) if shape else 1
        lo, hi = bounds[name]
        lo = np.broadcast_to(np.asarray(lo, float), shape or (1,)).reshape(-1)
        hi = np.broadcast_to(np.asarray(hi, float), shape or (1,)).reshape(-1)
        values = constrain(z[:, offset:offset + size], lo, hi).reshape(n_chain, n_draw, *shape)
        out[name] = xr.DataArray(values, dims=("chain", "draw", *dims), coords={d: list(model.coords[d]) for d in dims})
        offset += size
    return xr.Dataset(out), names, mean, cov


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    result = generate(SynthSpec(n_periods=60, n_channels=2, seed=4))
    config = Config.from_dict(result.config, base_dir=tmp_path_factory.mktemp("u"))
    data = load(config, result.data)  # national data: a panel of one geo
    assert data.n_geos == 1
    scaling = PanelScaling.compute(data)
    return config, data, scaling, build_panel_design(data, scaling, config.model.seasonality_order)


def test_moment_matching_recovers_mean_covariance_and_correlations(small):
    config, _, _, design = small
    posterior, names, mean, cov = _fake_posterior(config, design, np.random.default_rng(0))
    prior = posterior_to_prior(posterior, config, names)
    np.testing.assert_allclose(prior.mean, mean, atol=0.05)
    np.testing.assert_allclose(prior.cov, cov, atol=0.03)
    # the correlations are kept, not only the marginals
    sd = np.sqrt(np.diag(cov))
    assert np.max(np.abs(cov / np.outer(sd, sd) - np.eye(len(mean)))) > 0.3
    record = prior.to_dict()
    assert set(record["parameters"]) == set(prior.labels()) and len(prior.labels()) == len(mean)


def test_eps_maps_back_to_named_parameters_with_coordinates(small):
    config, _, _, design = small
    posterior, names, *_ = _fake_posterior(config, design, np.random.default_rng(1))
    prior = posterior_to_prior(posterior, config, names)
    eps = np.random.default_rng(2).standard_normal((2, 3000, prior.n_params))
    rebuilt = prior.posterior_dataset(eps)
    assert set(rebuilt.data_vars) == set(names)
    for name in names:
        assert rebuilt[name].dims == posterior[name].dims
        # the same distribution as the draws it was matched to (Gaussian there by construction)
        np.testing.assert_allclose(np.median(rebuilt[name].values, axis=(0, 1)),
                                   np.median(posterior[name].values, axis=(0, 1)), rtol=0.1, atol=0.02)
    assert np.all(rebuilt["geometric_alpha"].values > 0) and np.all(rebuilt["geometric_alpha"].values < 1)
    assert np.all(rebuilt["sigma"].values > 0)


def test_intercept_shift_moves_only_the_intercept(small):
    config, _, _, design = small
    posterior, names, *_ = _fake_posterior(config, design, np.random.default_rng(3))
    base = posterior_to_prior(posterior, config, names)
    shifted = posterior_to_prior(posterior, config, names, intercept_shift=0.25)
    at = base.labels().index("intercept")  # one scalar intercept for one geo
    assert shifted.mean[at] == pytest.approx(base.mean[at] + 0.25)
    rest = np.arange(base.n_params) != at
    np.testing.assert_allclose(shifted.mean[rest], base.mean[rest])


def test_update_model_observes_only_the_new_periods(small):
    config, _, _, design = small
    posterior, names, *_ = _fake_posterior(config, design, np.random.default_rng(5))
    prior = posterior_to_prior(posterior, config, names)
    model = apply_to_model(build_model(config, design, fit_start=45), prior)
    assert [rv.name for rv in model.free_RVs] == [EPS_NAME]  # the old priors are gone, replaced by the MvNormal
    assert model["kpi"].get_value().shape == (1, 15)  # 60 periods, 45 seen by the parent: old KPI not counted twice
    np.testing.assert_array_equal(model.coords["fit_date"], np.asarray(design.dates)[45:])
    assert set(names) <= {v.name for v in model.deterministics}
    logp = model.compile_logp()(model.initial_point())
    assert np.isfinite(logp)


def test_build_model_rejects_an_empty_likelihood(small):
    config, _, _, design = small
    with pytest.raises(ValueError, match="no period to fit"):
        build_model(config, design, fit_start=60)


def test_missing_parameter_is_a_clear_error(small):
    config, _, _, design = small
    posterior, names, *_ = _fake_posterior(config, design, np.random.default_rng(6))
    with pytest.raises(ValueError, match="refit"):
        posterior_to_prior(posterior.drop_vars("trend"), config, names)


def test_update_model_neither_recounts_a_used_experiment_nor_keeps_roas_priors(small):
    from mmm.model.update_prior import update_model
    from mmm.runs.refresh import update_model_config

    config, data, scaling, design = small
    first, second = config.channel_names
    dates = [d.date().isoformat() for d in data.dates]
    raw = config.to_dict()
    raw["data"]["path"] = None
    raw["model"]["roas_prior"] = {"median": 2.0, "p90": 5.0}
    raw["experiments"] = [{"channel": first, "start": dates[10], "end": dates[13], "incremental_kpi": 1000.0,
                           "se": 200.0}]
    parent = Config.from_dict(raw, base_dir=".")
    raw["experiments"].append({"channel": second, "start": dates[50], "end": dates[53],
                               "incremental_kpi": 900.0, "se": 300.0})
    child = Config.from_dict(raw, base_dir=".")
    model_config, used = update_model_config(parent, child)
    assert [e.channel for e in used] == [first]  # in the parent's posterior, hence in the carried prior
    assert [e.channel for e in model_config.experiments] == [second]
    assert not any(c.roas_prior for c in model_config.channels) and model_config.model.roas_prior is None

    # a parent fitted with ROAS priors stores channel_coef too (mmm.model.roas_prior.coef_from_roas): the update
    # carries the coefficients, so its parameters are those of the coefficient model
    posterior, names, *_ = _fake_posterior(model_config, design, np.random.default_rng(7))
    assert "channel_coef" in names and not any("roas" in n for n in names)
    # the update model refresh builds: the parent's posterior as prior, the new experiment in the likelihood
    model, prior = update_model(posterior, model_config, data, scaling, n_train=60, fit_start=45, moved_years=0.0)
    assert [b.name for b in prior.blocks] == names  # every parameter carried, ROAS-free channel_coef included
    assert model["kpi"].get_value().shape == (1, 15)
    assert [rv.name for rv in model.free_RVs] == [EPS_NAME]  # no stray ROAS variable left to sample
    assert list(model.coords["experiment"]) == [model_config.experiments[0].label]
    assert np.isfinite(model.compile_logp()(model.initial_point()))
