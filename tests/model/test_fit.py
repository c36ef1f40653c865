"""The nutpie bridge: compiled models are reused only when they are truly the same."""

from __future__ import annotations

import numpy as np
import pytest

from mmm.spec.config import Config
from mmm.data.load import load_data
from mmm.data.panel_design import PanelScaling, build_panel_design
from mmm.data.panel import as_panel
from mmm.model.sample import _structure_key
from mmm.model.build import build_model
from mmm.api import fit
from mmm.data.synth import SynthSpec, generate
from test_effects import MIXED as ALL_MIXED  # tests/ is on sys.path under pytest


def _national_design(config: Config, data):
    """National data as the one model reads it: a panel of one geo, scaled and laid out (seasonality order 2)."""
    panel = as_panel(load_data(data, config.roles()))
    return build_panel_design(panel, PanelScaling.compute(panel), 2)


def _model(raw: dict, data):
    config = Config.from_dict(raw)
    return build_model(config, _national_design(config, data))


def test_structure_key_sees_prior_values_of_every_channel():
    result = generate(SynthSpec(seed=0, n_channels=5))
    base = _model(result.config, result.data)
    raw = {**result.config, "channels": {**result.config["channels"]}}
    raw["channels"]["social"] = {**raw["channels"]["social"],
                                 "priors": {"coef": {"dist": "HalfNormal", "sigma": 0.5}}}  # a middle channel
    assert _structure_key(_model(raw, result.data)) != _structure_key(base)
    # same spec and data: same key (compiled once, reused)
    assert _structure_key(_model(result.config, result.data)) == _structure_key(base)


@pytest.mark.slow
def test_pymc_sampler_gives_figures_consistent_with_nutpie():
    result = generate(SynthSpec(seed=4, n_periods=104, n_channels=2))
    figures = {}
    for sampler in ("nutpie", "pymc"):
        config = Config.from_dict({**result.config, "fit": {"draws": 300, "tune": 300, "chains": 2, "seed": 4,
                                                            "sampler": sampler}})
        fitted = fit(config, result.data)
        assert fitted.fit.sampler["sampler"] == sampler
        figures[sampler] = fitted.effects.roas.mean(axis=0)
    # two samplers, one posterior: posterior means agree within Monte-Carlo error. The gate is not asserted:
    # 2 x 300 draws is what CI affords for PyMC's slower sampler, and a miss there widens the tolerance used here
    np.testing.assert_allclose(figures["pymc"], figures["nutpie"], rtol=0.25)


MIXED = ALL_MIXED[:3]  # weibull/hill, geometric/logistic, delayed/hill with their own lags


@pytest.mark.parametrize(
    ("spec", "sigma_prior"),
    [(SynthSpec(seed=0, n_channels=3), 0.31), (SynthSpec(seed=0, n_channels=3), 0.77),
     pytest.param(SynthSpec(seed=2, channels=MIXED), 0.25, marks=pytest.mark.slow, id="mixed-kinds")],
)
def test_compiled_log_density_equals_pymcs_with_a_correct_gradient(spec, sigma_prior):
    """Per-channel transform kinds and lags are assembled by name inside the graph, too."""
    from mmm.model.sample import compile_nutpie

    result = generate(spec)
    raw = {**result.config, "model": {**result.config["model"],
                                      "priors": {"sigma": {"dist": "HalfNormal", "sigma": sigma_prior}}}}
    model = _model(raw, result.data)
    compiled = compile_nutpie(model)
    x = compiled.initial_point(3)
    value, gradient, code = compiled.log_density(x)  # through the C callback nutpie calls
    assert code == 0

    frozen, point = nutpie_point(model, x)
    assert value == pytest.approx(frozen.compile_logp()(point), rel=1e-10)

    step = 1e-6
    for i in range(0, len(x), 5):
        bumped = x.copy()
        bumped[i] += step
        numeric = (compiled.log_density(bumped)[0] - value) / step
        assert gradient[i] == pytest.approx(numeric, rel=1e-3, abs=1e-3)


def nutpie_point(model, x: np.ndarray):
    """The frozen model the nutpie bridge compiles and ``x``, a flat vector it samples, as a point of it."""
    from pymc.model.transform.optimization import freeze_dims_and_data

    frozen = freeze_dims_and_data(model, data=[])  # the variable order the bridge uses
    start = frozen.initial_point()
    point, offset = {}, 0
    for rv in frozen.free_RVs:
        name = frozen.rvs_to_values[rv].name
        point[name] = x[offset:offset + start[name].size].reshape(start[name].shape)
        offset += start[name].size
    return frozen, point


def implied_intercept(model):
    """The intercept a level-form model implies, as a function of a point of its value variables."""
    return model.compile_fn(model.replace_rvs_by_values([model["intercept"]])[0], inputs=model.value_vars,
                            on_unused_input="ignore")


def assert_level_form_keeps_the_density(plain, centered) -> None:
    """At random points, the level-form model's log density equals the plain model's at the intercept the
    level implies (unit Jacobian, same priors), and a wrong intercept would show."""
    from mmm.model.build import LEVEL

    assert LEVEL in centered.named_vars and "intercept" not in {rv.name for rv in centered.free_RVs}
    implied = implied_intercept(centered)
    logp_plain, logp_centered = plain.compile_logp(), centered.compile_logp()
    rng = np.random.default_rng(0)
    for _ in range(3):
        point = {k: v + rng.normal(0.0, 0.3, np.shape(v)) for k, v in centered.initial_point().items()}
        intercept = implied(point)
        assert np.all(np.abs(point[LEVEL] - intercept) > 1e-3)  # the media shift is real
        plain_point = {("intercept" if k == LEVEL else k): (intercept if k == LEVEL else v) for k, v in point.items()}
        assert logp_centered(point) == pytest.approx(logp_plain(plain_point), rel=1e-10)
        assert abs(logp_plain({**plain_point, "intercept": intercept + 0.01}) - logp_centered(point)) > 1e-3


def test_sampling_the_level_keeps_the_national_posterior_exactly():
    """The fit samples the level (intercept + mean media over the fitted periods), with the same posterior."""
    result = generate(SynthSpec(seed=0, n_channels=3))
    config = Config.from_dict(result.config)
    design = _national_design(config, result.data)
    assert design.geos == ["national"]
    assert_level_form_keeps_the_density(build_model(config, design, n_train=140, fit_start=4),
                                        build_model(config, design, n_train=140, fit_start=4, centered_baseline=True))

    bounded = {**result.config, "model": {**result.config["model"], "priors": {
        "intercept": {"dist": "TruncatedNormal", "mu": 0.7, "sigma": 0.5, "lower": 0.0, "upper": 5.0}}}}
    walled = build_model(Config.from_dict(bounded), design, centered_baseline=True)
    assert "intercept" in {rv.name for rv in walled.free_RVs}  # a bounded prior is sampled as it is
