"""A baseline that moves (mmm.model.baseline): the GP approximation against its kernel, one definition
for PyTensor and NumPy, the config section, the model's variables and its density."""

from __future__ import annotations

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest

from mmm.data.panel_design import PanelScaling, build_panel_design
from mmm.data.synth import SynthSpec, generate
from mmm.model import baseline
from mmm.model.build import build_model
from mmm.spec.config import Config, ConfigError


def _config(result, moving):
    model = {**result.config["model"], **({"baseline": moving} if moving is not None else {})}
    return Config.from_dict({**result.config, "model": model})


def _model(result, moving, **kwargs):
    from mmm.analysis.pipeline import load

    config = _config(result, moving)
    panel = load(config, result.data)
    return build_model(config, build_panel_design(panel, PanelScaling.compute(panel), 2), **kwargs)


def test_the_basis_reproduces_the_squared_exponential_kernel():
    """phi diag(S) phi' is the kernel amplitude^2 exp(-(t - t')^2 / 2 lengthscale^2), computed directly,
    up to the centring of the columns (which removes each function's mean)."""
    time = np.linspace(-1.5, 1.5, 157)  # three years, centred like the design's time
    phi, omega = baseline.smooth_basis(time, baseline.automatic_basis_size(time))
    assert phi.shape == (157, 27)
    for amplitude, lengthscale in ((0.1, 0.4), (0.2, 0.25), (0.05, 1.0), (0.1, 0.2)):
        scale = baseline.spectral_scale(np.array(amplitude), np.array(lengthscale), omega)
        approx = (phi * scale ** 2) @ phi.T
        kernel = amplitude ** 2 * np.exp(-0.5 * (time[:, None] - time[None, :]) ** 2 / lengthscale ** 2)
        centre = np.eye(len(time)) - 1.0 / len(time)
        exact = centre @ kernel @ centre
        assert np.max(np.abs(approx - exact)) < 0.03 * amplitude ** 2, (amplitude, lengthscale)
    assert np.allclose(phi.mean(axis=0), 0.0)


def test_the_basis_reproduces_the_matern_32_kernel():
    """The same check for Matern 3/2: amplitude^2 (1 + sqrt(3) r / l) exp(-sqrt(3) r / l), computed directly.
    Its spectral density falls off slowly, so it needs more basis functions for the same accuracy."""
    time = np.linspace(-1.5, 1.5, 157)
    n_basis = baseline.automatic_basis_size(time, "matern32")
    assert n_basis > baseline.automatic_basis_size(time, "exp_quad")
    phi, omega = baseline.smooth_basis(time, n_basis)
    distance = np.abs(time[:, None] - time[None, :])
    centre = np.eye(len(time)) - 1.0 / len(time)
    for amplitude, lengthscale in ((0.1, 0.4), (0.2, 0.25), (0.05, 1.0), (0.1, 0.2)):
        scale = baseline.spectral_scale(np.array(amplitude), np.array(lengthscale), omega, kernel="matern32")
        approx = (phi * scale ** 2) @ phi.T
        r = np.sqrt(3.0) * distance / lengthscale
        exact = centre @ (amplitude ** 2 * (1.0 + r) * np.exp(-r)) @ centre
        assert np.max(np.abs(approx - exact)) < 0.05 * amplitude ** 2, (amplitude, lengthscale)
    # not the squared exponential under another name
    se = baseline.spectral_scale(np.array(0.1), np.array(0.4), omega)
    assert not np.allclose(se, baseline.spectral_scale(np.array(0.1), np.array(0.4), omega, kernel="matern32"))


def test_the_design_basis_leaves_the_line_and_the_season_to_their_terms():
    from mmm.data.design import fourier_features
    import pandas as pd

    dates = pd.date_range("2021-01-04", periods=104, freq="W-MON")
    time = np.arange(104) / 52.18
    time = time - time.mean()
    fourier = fourier_features(dates, 2)
    phi, _ = baseline.design_basis(time, fourier, 20, trend=True)
    fixed = np.column_stack([np.ones(104), time, fourier])
    np.testing.assert_allclose(fixed.T @ phi, 0.0, atol=1e-9)
    no_trend, _ = baseline.design_basis(time, fourier[:, :0], 20, trend=False)
    assert abs(time @ no_trend).max() > 1e-3  # nothing modelled to leave the line to


@pytest.mark.parametrize("kernel", ["exp_quad", "matern32"])
def test_numpy_and_pytensor_give_the_same_movement(kernel):
    rng = np.random.default_rng(0)
    time = np.linspace(-1.0, 1.0, 53)
    phi, omega = baseline.smooth_basis(time, 12)
    draws = {baseline.AMPLITUDE: np.array([0.1, 0.2]), baseline.LENGTHSCALE: np.array([0.3, 0.6]),
             baseline.COEFS: rng.normal(size=(2, 12)), baseline.SHOCK_SD: np.array([0.02, 0.05]),
             baseline.SHOCKS: rng.normal(size=(2, 53))}
    expected = baseline.time_effect(draws, phi, omega, kernel=kernel)
    assert expected.shape == (2, 53)
    symbols = {baseline.AMPLITUDE: pt.dscalar(), baseline.LENGTHSCALE: pt.dscalar(), baseline.COEFS: pt.dvector(),
               baseline.SHOCK_SD: pt.dscalar(), baseline.SHOCKS: pt.dvector()}
    fn = pytensor.function(list(symbols.values()), baseline.time_effect(symbols, phi, omega, xp=pt, kernel=kernel))
    for d in range(2):
        np.testing.assert_allclose(fn(*(draws[n][d] for n in symbols)), expected[d], rtol=1e-12)
    # shocks are centred: they move weeks against each other, the intercepts hold the level
    only_shocks = {k: v for k, v in draws.items() if k in (baseline.SHOCK_SD, baseline.SHOCKS)}
    np.testing.assert_allclose(baseline.time_effect(only_shocks, None, None).mean(axis=1), 0.0, atol=1e-12)
    assert baseline.time_effect({}, None, None) is None


@pytest.mark.parametrize(("n_geos", "moving", "expected"), [
    (1, None, set()),
    (1, {"smooth": True}, {baseline.AMPLITUDE, baseline.LENGTHSCALE, baseline.COEFS}),
    (3, {"shocks": True}, {baseline.SHOCK_SD, baseline.SHOCKS}),
    (3, {"smooth": True, "shocks": True, "n_basis": 8}, set(baseline.VARIABLES)),
])
def test_the_model_has_the_components_asked_for(n_geos, moving, expected):
    result = generate(SynthSpec(n_periods=60, n_channels=2, controls=False, seed=3, n_geos=n_geos))
    model = _model(result, moving)
    names = {rv.name for rv in model.free_RVs}
    assert names & set(baseline.VARIABLES) == expected
    if baseline.COEFS in names:
        n_basis = moving.get("n_basis", baseline.automatic_basis_size(np.arange(60) / 52.18 - 59 / 104.36))
        assert len(model.coords["baseline_basis"]) == n_basis
    if baseline.SHOCKS in names:
        assert model.named_vars_to_dims[baseline.SHOCKS] == ("fit_date",)
    assert np.isfinite(model.compile_logp()(model.initial_point()))


@pytest.mark.parametrize("n_geos", [1, 3])
def test_sampling_the_level_keeps_the_density_with_a_moving_baseline(n_geos):
    from test_fit import assert_level_form_keeps_the_density  # tests/ is on sys.path under pytest

    result = generate(SynthSpec(n_periods=60, n_channels=2, controls=False, seed=3, n_geos=n_geos))
    moving = {"smooth": True, "shocks": n_geos > 1, "n_basis": 10}
    assert_level_form_keeps_the_density(_model(result, moving, n_train=50),
                                        _model(result, moving, n_train=50, centered_baseline=True))


def test_the_movement_changes_the_fit_not_the_counterfactual():
    """The same parameter draws with and without a movement: every ROAS and immediate share is the same,
    the fitted KPI differs by exactly the movement (KPI units)."""
    from mmm.analysis.geo_effects import compute_geo_effects
    from mmm.analysis.pipeline import load
    from mmm.model.prior_sample import sample_prior

    result = generate(SynthSpec(n_periods=60, n_channels=2, controls=False, seed=3, n_geos=2))
    config = _config(result, {"smooth": True, "shocks": True, "n_basis": 8})
    panel = load(config, result.data)
    scaling = PanelScaling.compute(panel)
    prior = sample_prior(config, panel, scaling, n_draws=50, seed=1)
    moving = compute_geo_effects(prior, config, panel, scaling).national
    still_config = _config(result, None)
    still = compute_geo_effects(prior.drop_vars([n for n in baseline.VARIABLES if n in prior]), still_config, panel,
                                scaling).national
    np.testing.assert_allclose(moving.roas, still.roas, rtol=1e-12)
    np.testing.assert_allclose(moving.immediate_share, still.immediate_share, rtol=1e-12)
    design = build_panel_design(panel, scaling, 2)
    phi, omega = baseline.design_basis(design.time, design.fourier, 8, trend=True)
    values = {n: prior[n].transpose("chain", "draw", ...).values.reshape(-1, *prior[n].shape[2:])
              for n in baseline.VARIABLES}
    fixed = baseline.shock_projection(design.time, design.fourier, trend=True)
    movement = baseline.time_effect(values, phi, omega, shock_fixed=fixed)  # (D, T) model units, in each geo
    kpi_scale = np.array([scaling.geo(g).kpi for g in range(2)]).sum()
    np.testing.assert_allclose(moving.mu - still.mu, movement * kpi_scale, rtol=1e-9, atol=1e-6)
    assert np.abs(movement).max() > 0
    # the shocks hold nothing the intercepts, the trend or the season could: no ridge with those terms
    only_shocks = baseline.time_effect({n: values[n] for n in (baseline.SHOCK_SD, baseline.SHOCKS)}, None, None,
                                       shock_fixed=fixed)
    np.testing.assert_allclose(only_shocks @ fixed[0], 0.0, atol=1e-9)


@pytest.mark.parametrize(("raw", "message"), [
    ({"shocks": True}, "model.baseline.shocks needs a geo panel"),
    ({"smooth": "yes"}, "model.baseline.smooth must be true or false"),
    ({"smooth": True, "n_basis": 2}, "model.baseline.n_basis must be auto"),
    ({"smooth": True, "wiggle": 1}, "wiggle"),
    ({"smooth": True, "kernel": "rbf"}, "model.baseline.kernel must be one of exp_quad, matern32"),
    ({"kernel": "matern32"}, "smooth component, which is off"),
    ({"n_basis": 12}, "smooth component, which is off"),
    ({"smooth": True, "priors": {"lengthscale": {"dist": "Normal", "mu": 0.4, "sigma": 0.1}}}, "must be positive"),
    ("smooth", "model.baseline is a mapping"),
])
def test_bad_baseline_config_is_refused(raw, message):
    result = generate(SynthSpec(n_periods=30, n_channels=1))
    with pytest.raises(ConfigError, match=message):
        _config(result, raw)


def test_the_baseline_section_round_trips_and_stays_out_of_configs_without_it():
    result = generate(SynthSpec(n_periods=30, n_channels=1))
    assert "baseline" not in _config(result, None).to_dict()["model"]
    config = _config(result, {"smooth": True, "n_basis": 12, "kernel": "matern32",
                              "priors": {"amplitude": {"dist": "HalfNormal", "sigma": 0.2}}})
    again = Config.from_dict(config.to_dict()).model.baseline
    assert (again.smooth, again.shocks, again.n_basis, again.kernel) == (True, False, 12, "matern32")
    assert again.prior("amplitude").params == {"sigma": 0.2}
    assert again.prior("lengthscale") == config.model.baseline.prior("lengthscale")



def test_a_panel_has_shared_shocks_by_default_and_one_geo_has_none():
    """The default chosen by the rolling-origin holdout (docs/baseline-choice.md): shocks "auto", on with
    several geos; a file with a geo column but one geo gets none, and asking for them there is refused."""
    from mmm.analysis.pipeline import load
    from mmm.runs.folder import as_written

    panel = generate(SynthSpec(n_periods=40, n_channels=1, controls=False, seed=2, n_geos=3))
    config = Config.from_dict({**panel.config, "data": {**panel.config["data"], "min_periods": 26}})
    assert config.model.baseline.shocks == "auto" and config.to_dict()["model"]["baseline"]["shocks"] == "auto"
    data = load(config, panel.data)
    assert baseline.SHOCKS in build_model(config, build_panel_design(data, PanelScaling.compute(data), 2)).named_vars
    one = panel.data[panel.data["geo"] == "geo_000"]
    single = load(config, one)
    model = build_model(config, build_panel_design(single, PanelScaling.compute(single), 2))
    assert baseline.SHOCKS not in model.named_vars
    forced = Config.from_dict({**config.to_dict(), "model": {**config.to_dict()["model"], "baseline": {"shocks": True}}})
    with pytest.raises(ConfigError, match="needs several geos"):
        build_model(forced, build_panel_design(single, PanelScaling.compute(single), 2))
    off = Config.from_dict({**panel.config, "model": {**panel.config["model"], "baseline": {"shocks": False}}})
    assert Config.from_dict(off.to_dict()).model.baseline.shocks is False  # written, so it reads back off
    # a panel run written before the default has no model.baseline: it was fitted without shocks
    old = {**panel.config, "model": {k: v for k, v in panel.config["model"].items() if k != "baseline"}}
    assert Config.from_dict(as_written(old)).model.baseline.shocks is False
    national = generate(SynthSpec(n_periods=40, n_channels=1, seed=2)).config
    assert Config.from_dict(national).model.baseline.shocks is False
    assert "baseline" not in Config.from_dict(national).to_dict()["model"]


def test_shocks_belong_to_the_dates_they_were_fitted_on():
    """Figures of a panel posterior on longer data (a refresh, a comparison): the fitted weeks keep their
    shocks, a week the fit never saw has none (its expected value); nothing is shifted by position."""
    from mmm.analysis.geo_effects import compute_geo_effects
    from mmm.analysis.pipeline import load
    from mmm.model.prior_sample import sample_prior

    result = generate(SynthSpec(n_periods=60, n_channels=1, controls=False, seed=5, n_geos=2))
    config = Config.from_dict({**result.config, "data": {**result.config["data"], "min_periods": 26}})
    still = Config.from_dict({**config.to_dict(), "model": {**config.to_dict()["model"],
                                                            "baseline": {"shocks": False}}})
    full = load(config, result.data)
    short = full.slice(full.dates[49])
    scaling = PanelScaling.compute(short)
    prior = sample_prior(config, short, scaling, n_draws=5, seed=3)
    plain = prior.drop_vars([baseline.SHOCKS, baseline.SHOCK_SD])

    def shocks(data):  # the national baseline's shock part, KPI units
        return (compute_geo_effects(prior, config, data, scaling).national.baseline
                - compute_geo_effects(plain, still, data, scaling).national.baseline)

    fitted_weeks, longer = shocks(short), shocks(full)
    assert np.abs(fitted_weeks).max() > 0
    np.testing.assert_allclose(longer[:, :50], fitted_weeks, rtol=1e-9)
    np.testing.assert_array_equal(longer[:, 50:], 0.0)
