"""Which periods a refresh fits (fast: no sampling)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest

from mmm.config import Config
from mmm.data import DataError
from mmm.pipeline import load
from mmm.refresh import _rolling, likelihood_periods
from mmm.synth import SynthSpec, generate


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
