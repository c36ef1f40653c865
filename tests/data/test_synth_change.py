"""Synthetic data whose true channel effect changes from a given period on (for refresh/compare tests)."""

from __future__ import annotations

import numpy as np
import pytest

from mmm.data.synth import BUILTIN_CHANNELS, ChannelTruth, SynthSpec, generate
from mmm.data.synth_truth import true_figures

N, CHANGE, FACTOR = 80, 60, 2.5


def _spec(**tv):
    channels = [ChannelTruth(c, pattern=BUILTIN_CHANNELS[c][0], level=BUILTIN_CHANNELS[c][1],
                             coef=200_000.0, **(tv if c == "tv" else {})) for c in ("tv", "search")]
    return SynthSpec(n_periods=N, channels=channels, seed=5, noise=0.0)


def test_true_figures_scale_by_the_factor_after_the_change_only():
    steady, shifted = generate(_spec()), generate(
        _spec(effect_change_period=CHANGE, effect_change_factor=FACTOR))
    assert shifted.truth["params_natural"]["channels"]["tv"]["effect_change"] == {"period": CHANGE, "factor": FACTOR}
    assert "effect_change" not in shifted.truth["params_natural"]["channels"]["search"]
    after = (CHANGE, N)  # every period of this window and of its carry-over tail is after the change
    assert true_figures(shifted.data, shifted.truth, window=after)["tv"]["roas"] == pytest.approx(
        FACTOR * true_figures(steady.data, steady.truth, window=after)["tv"]["roas"], rel=1e-12)
    before = (0, CHANGE - 8)  # ends max_lag periods before the change: none of its return is affected
    assert true_figures(shifted.data, shifted.truth, window=before)["tv"]["roas"] == pytest.approx(
        true_figures(steady.data, steady.truth, window=before)["tv"]["roas"], rel=1e-12)
    for window in (before, after):  # the unchanged channel is unchanged
        assert true_figures(shifted.data, shifted.truth, window=window)["search"]["roas"] == pytest.approx(
            true_figures(steady.data, steady.truth, window=window)["search"]["roas"], rel=1e-12)
    # the KPI (noise-free here) moves from the change on, and only by tv's extra effect
    mu_steady, mu_shifted = np.array(steady.truth["mu"]), np.array(shifted.truth["mu"])
    np.testing.assert_allclose(mu_shifted[:CHANGE], mu_steady[:CHANGE], rtol=1e-12)
    assert np.all(mu_shifted[CHANGE:] >= mu_steady[CHANGE:]) and np.any(mu_shifted[CHANGE:] > mu_steady[CHANGE:])


def test_target_roas_holds_over_the_full_window_with_a_change():
    channels = [ChannelTruth("tv", pattern="flighted", level=50_000.0, target_roas=1.4, effect_change_period=50,
                             effect_change_factor=3.0)]
    result = generate(SynthSpec(n_periods=N, channels=channels, seed=2))
    assert result.truth["figures"]["tv"]["roas"] == pytest.approx(1.4, rel=1e-9)


def test_a_non_positive_factor_is_rejected():
    with pytest.raises(ValueError, match="effect_change_factor"):
        generate(_spec(effect_change_period=10, effect_change_factor=0.0))
