"""The nutpie bridge: compiled models are reused only when they are truly the same."""

from __future__ import annotations

import numpy as np
import pytest

from mmm.config import Config
from mmm.data import Scaling, load_data
from mmm.design import build_design
from mmm.fit import _structure_key
from mmm.model import build_model
from mmm.pipeline import fit
from mmm.synth import SynthSpec, generate


def _model(raw: dict, data):
    config = Config.from_dict(raw)
    mmm_data = load_data(data, config.roles())
    return build_model(config, build_design(mmm_data, Scaling.compute(mmm_data), 2))


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
    # two samplers, one posterior: posterior means agree within Monte-Carlo error
    np.testing.assert_allclose(figures["pymc"], figures["nutpie"], rtol=0.25)
