"""Which periods a refresh fits (fast: no sampling)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest

from mmm.spec.config import Config, ConfigError
from mmm.data.load import DataError
from mmm.analysis.pipeline import load
from mmm.runs.refresh import _rolling, likelihood_periods
from mmm.data.synth import SynthSpec, generate


@pytest.fixture(scope="module")
def quarters(tmp_path_factory):
    result = generate(SynthSpec(n_periods=80, n_channels=2, seed=9))
    config = Config.from_dict(result.config, base_dir=tmp_path_factory.mktemp("r"))
    return config, load(config, result.data.iloc[:60]), load(config, result.data)


def _parent(config):
    return SimpleNamespace(config=config, path=Path("runs/q1"))


def test_update_fits_only_the_periods_after_the_parent(quarters):
    config, old, new = quarters
    assert likelihood_periods(_parent(config), old, config, new) == (60, 80)


def test_the_parents_holdout_was_never_fitted_so_it_counts_as_new(quarters):
    config, old, new = quarters
    parent = _parent(replace(config, holdout_periods=8))
    assert likelihood_periods(parent, old, config, new) == (52, 80)
    # this run's own holdout stays out of its likelihood
    assert likelihood_periods(_parent(config), old, replace(config, holdout_periods=4), new) == (60, 76)


def test_an_update_without_new_periods_is_an_error(quarters):
    config, old, _ = quarters
    with pytest.raises(DataError, match="no periods after .* --mode refit"):
        likelihood_periods(_parent(config), old, config, old)


def test_rolling_window_keeps_the_last_periods(quarters):
    config, _, new = quarters
    assert _rolling(new, config) is new
    cut = _rolling(new, replace(config, refresh_window_periods=52))
    assert cut.n_periods == 52 and cut.dates[-1] == new.dates[-1] and cut.dates[0] == new.dates[28]


def test_intercept_shift_keeps_the_baseline_when_time_is_recentred(quarters):
    """The model centres time over its data; the update moves the intercept so the baseline is unchanged."""
    import json

    import numpy as np
    import xarray as xr

    from mmm.data.load import Scaling
    from mmm.analysis.effects import compute_effects
    from mmm.model.update_prior import intercept_shift
    from mmm.runs.refresh import _time_moved
    from mmm.model.truth import truth_posterior

    config, old_panel, new_panel = quarters
    old, new = old_panel.geo(0), new_panel.geo(0)  # national data: a panel of one geo
    result = generate(SynthSpec(n_periods=80, n_channels=2, seed=9))
    truth = json.loads(json.dumps(result.truth))
    posterior = truth_posterior(truth, config, old, n_draws=3)
    posterior["trend"] = posterior["trend"] * xr.DataArray(np.array([[0.5, 1.0, 2.0]]), dims=("chain", "draw"))
    scaling = Scaling.from_dict(truth["scaling"])
    shift = intercept_shift(posterior, 1, _time_moved(old_panel, new_panel, scaling.time_origin))
    moved = posterior.copy()
    moved["intercept"] = posterior["intercept"] + xr.DataArray(np.reshape(shift, (1, 3)), dims=("chain", "draw"))
    before = compute_effects(posterior, config, old, scaling).mu
    after = compute_effects(moved, config, new, scaling).mu[:, :old.n_periods]
    np.testing.assert_allclose(after, before, rtol=1e-12)
    assert not np.allclose(compute_effects(posterior, config, new, scaling).mu[:, :old.n_periods], before)


def _baseline_config(moving):
    result = generate(SynthSpec(n_periods=30, n_channels=1))
    model = {**result.config["model"], **({"baseline": moving} if moving is not None else {})}
    return Config.from_dict({**result.config, "model": model})


def test_update_mode_refuses_a_smooth_moving_baseline():
    """Its path belongs to the periods it was fitted on: a sequential update cannot carry it on. (A panel's
    per-period shocks are carried by their spread: tests/runs/test_geo_refresh.py.)"""
    from mmm.runs.refresh import update

    moving, still = _baseline_config({"smooth": True}), _baseline_config(None)
    for parent, config in ((SimpleNamespace(config=moving), still), (SimpleNamespace(config=still), moving)):
        with pytest.raises(ConfigError, match="update mode cannot carry a smooth moving baseline"):
            update(parent, None, config, None)


def test_update_mode_refuses_a_time_varying_media_effect():
    """Its multiplier's path, like a smooth baseline's, belongs to the periods it was fitted on."""
    from mmm.runs.refresh import update

    result = generate(SynthSpec(n_periods=30, n_channels=1))
    drifting = Config.from_dict({**result.config, "model": {**result.config["model"], "media_effect": "time_varying"}})
    steady = Config.from_dict(result.config)
    for parent, config in ((SimpleNamespace(config=drifting), steady), (SimpleNamespace(config=steady), drifting)):
        with pytest.raises(ConfigError, match="update mode cannot carry a time-varying media effect"):
            update(parent, None, config, None)
