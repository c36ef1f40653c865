"""Effects math is exact: the true parameters as a posterior reproduce truth.json's figures.

synth.py computes its truth with plain loops, independently of the vectorized
media/effects code, so agreement here checks the finance figures themselves.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from mmm.data.panel_design import series_scaling
from mmm.spec.config import Config
from mmm.data.load import load_data
from mmm.analysis.effects import compute_effects
from mmm.data.synth import ChannelTruth, SynthSpec, generate
from mmm.data.synth_truth import true_figures
from mmm.model.truth import truth_posterior

RTOL = 1e-6
FIGURES = ("incremental_kpi", "roas", "profit_roi", "mroas", "immediate_share", "roas_immediate", "roas_lasting",
           "in_window_share")


def _setup(spec: SynthSpec, window=None):
    result = generate(spec)
    raw = dict(result.config)
    if window:
        raw["window"] = {"start": window[0], "end": window[1]}
    config = Config.from_dict(raw)
    data = load_data(result.data, config.roles())
    scaling = series_scaling(data)
    return result, config, data, scaling


MIXED = [
    ChannelTruth("tv", pattern="flighted", level=40_000, adstock="weibull", saturation="hill", max_lag=10,
                 target_roas=1.6),
    ChannelTruth("search", pattern="always_on", level=20_000, adstock="geometric", saturation="logistic",
                 max_lag=4, target_roas=3.0),
    ChannelTruth("social", pattern="pulsed", level=8_000, adstock="delayed", saturation="hill", max_lag=8,
                 target_roas=0.9),
    ChannelTruth("radio", pattern="seasonal", level=12_000, adstock="geometric", saturation="hill", max_lag=6,
                 target_roas=1.2),
]


@pytest.mark.parametrize(
    "spec",
    [
        SynthSpec(seed=0),
        SynthSpec(seed=3, n_channels=6, adstock="delayed", saturation="logistic", likelihood="student_t"),
        SynthSpec(seed=5, adstock="weibull", freq="D", n_periods=400, seasonality_order=3, controls=False),
        SynthSpec(seed=7, channels=MIXED),  # different kinds and lags per channel
    ],
    ids=["geometric-hill", "delayed-logistic-6ch", "weibull-daily", "mixed-kinds"],
)
def test_true_parameters_reproduce_true_figures(spec):
    result, config, data, scaling = _setup(spec)
    assert scaling.to_dict() == result.truth["scaling"]  # the truth is stated in the model's units
    effects = compute_effects(truth_posterior(result.truth, config, data), config, data, scaling)
    truth = result.truth["figures"]
    for k, channel in enumerate(effects.channels):
        assert effects.spend[k] == pytest.approx(truth[channel]["spend"], rel=1e-12)
        for figure in FIGURES:
            got = getattr(effects, figure)[0, k]
            assert got == pytest.approx(truth[channel][figure], rel=RTOL), (channel, figure)
        assert effects.payback_50[0, k] == truth[channel]["payback_50"]
        assert effects.payback_90[0, k] == truth[channel]["payback_90"]
    # the model's expected KPI equals the generator's
    np.testing.assert_allclose(effects.mu[0], result.truth["mu"], rtol=1e-9)


def test_sub_window_figures_match_truth_recomputed_for_that_window():
    start, end = "2021-07-05", "2022-06-27"
    result, config, data, scaling = _setup(SynthSpec(seed=11), window=(start, end))
    effects = compute_effects(truth_posterior(result.truth, config, data), config, data, scaling)
    truth = true_figures(result.data, result.truth, window=(start, end))
    full = result.truth["figures"]
    for k, channel in enumerate(effects.channels):
        for figure in ("incremental_kpi", "roas", "mroas", "immediate_share", "in_window_share"):
            assert getattr(effects, figure)[0, k] == pytest.approx(truth[channel][figure], rel=RTOL)
        # a window is not the whole data: carry-in from before it must not count as its return
        assert truth[channel]["incremental_kpi"] != pytest.approx(full[channel]["incremental_kpi"], rel=1e-3)


def test_channels_are_matched_by_name_not_position():
    result, config, data, scaling = _setup(SynthSpec(seed=0))
    posterior = truth_posterior(result.truth, config, data)
    reversed_coords = posterior.isel(channel=slice(None, None, -1))
    a = compute_effects(posterior, config, data, scaling)
    b = compute_effects(reversed_coords, config, data, scaling)
    np.testing.assert_allclose(a.roas, b.roas, rtol=0)
    assert a.roas[0, 0] != pytest.approx(a.roas[0, -1])


def test_immediate_and_lasting_parts_sum_to_roas_per_draw():
    result, config, data, scaling = _setup(SynthSpec(seed=2))
    posterior = truth_posterior(result.truth, config, data, n_draws=3)
    rng = np.random.default_rng(0)
    for name in ("channel_coef", "geometric_alpha", "logistic_lam"):
        posterior[name] = posterior[name] * rng.uniform(0.7, 1.3, posterior[name].shape)
    effects = compute_effects(posterior, config, data, scaling)
    np.testing.assert_allclose(effects.roas_immediate + effects.roas_lasting, effects.roas, rtol=1e-12)
    assert np.all((effects.immediate_share > 0) & (effects.immediate_share < 1))
    # draws differ, so the figures must too
    assert np.ptp(effects.roas[:, 0]) > 0


def test_contributions_and_baseline_add_up_to_expected_kpi():
    result, config, data, scaling = _setup(SynthSpec(seed=4))
    effects = compute_effects(truth_posterior(result.truth, config, data), config, data, scaling)
    np.testing.assert_allclose(effects.baseline + effects.contributions.sum(axis=-1), effects.mu, rtol=1e-12)
    table = effects.contributions_table()
    assert set(table["component"]) == {"baseline", *config.channel_names}
    assert len(table) == data.n_periods * (1 + len(config.channel_names))
    roi = effects.roi_table()
    assert list(roi["channel"]) == config.channel_names
    assert roi.loc[0, "roas_mean"] == pytest.approx(result.truth["figures"]["tv"]["roas"], rel=RTOL)


def test_margin_and_hurdle_drive_profit_roi_and_p_profitable():
    result, _, data, scaling = _setup(SynthSpec(seed=0))
    raw = dict(result.config)
    raw["finance"] = {"gross_margin": 0.5, "hurdle_rate": 0.1}
    config = Config.from_dict(raw)
    effects = compute_effects(truth_posterior(result.truth, config, data), config, data, scaling)
    truth = result.truth["figures"]
    for k, channel in enumerate(effects.channels):
        expected = truth[channel]["roas"] * 0.5 - 1
        assert effects.profit_roi[0, k] == pytest.approx(expected, rel=RTOL)
        assert effects.p_profitable[k] == float(expected > 0.1)


def test_data_loaded_in_another_channel_order_gives_the_same_figures():
    result, config, data, scaling = _setup(SynthSpec(seed=0))
    roles = config.roles()
    reversed_roles = replace(roles, channels=dict(reversed(list(roles.channels.items()))))
    reversed_data = load_data(result.data, reversed_roles)
    assert reversed_data.channels == list(reversed(config.channel_names))
    effects = compute_effects(truth_posterior(result.truth, config, data), config, reversed_data, scaling)
    for k, channel in enumerate(effects.channels):
        assert effects.roas[0, k] == pytest.approx(result.truth["figures"][channel]["roas"], rel=RTOL)


def test_model_graph_media_equals_numpy_media_for_mixed_kinds():
    """The PyTensor path (lag stack, per-kind blocks reassembled by name) computes what effects compute."""
    import pytensor
    import pytensor.tensor as pt

    from mmm.model import media
    from mmm.data.design import build_design
    from mmm.model.transforms import lag_stack

    result, config, data, scaling = _setup(SynthSpec(seed=7, channels=MIXED))
    design = build_design(data, scaling, config.model.seasonality_order)
    posterior = truth_posterior(result.truth, config, data)
    params = {name: posterior[name].values[0, 0] for name, *_ in media.parameter_layout(config.channels)}
    lagged = lag_stack(design.spend, max(c.max_lag for c in config.channels))
    symbolic = media.contributions(pt.as_tensor(lagged), config.channels,
                                   {k: pt.as_tensor(v) for k, v in params.items()}, xp=pt, lagged=True)
    graph_values = pytensor.function([], symbolic, mode="FAST_COMPILE")()
    numpy_values = media.contributions(design.spend, config.channels, params)
    np.testing.assert_allclose(graph_values, numpy_values, rtol=1e-10, atol=1e-14)
    assert np.all(numpy_values.max(axis=0) > 0)  # every channel contributes: a real comparison


def test_per_channel_gross_margin_drives_each_channels_profit_roi():
    result, _, data, scaling = _setup(SynthSpec(seed=0))
    raw = dict(result.config)
    raw["finance"] = {"gross_margin": {"tv": 0.3, "search": 0.8, "default": 0.5}}
    config = Config.from_dict(raw)
    effects = compute_effects(truth_posterior(result.truth, config, data), config, data, scaling)
    truth = result.truth["figures"]
    for k, channel in enumerate(effects.channels):
        margin = {"tv": 0.3, "search": 0.8}.get(channel, 0.5)
        assert effects.profit_roi[0, k] == pytest.approx(truth[channel]["roas"] * margin - 1, rel=RTOL)


def test_marginal_profit_roi_is_mroas_times_each_channels_margin_less_one():
    result, _, data, scaling = _setup(SynthSpec(seed=0))
    raw = dict(result.config)
    first = list(raw["channels"])[0]
    raw["finance"] = {"gross_margin": 0.6, "gross_margin_by_channel": {first: 0.9}, "hurdle_rate": 0.1}
    config = Config.from_dict(raw)
    effects = compute_effects(truth_posterior(result.truth, config, data), config, data, scaling)
    truth = result.truth["figures"]  # the generator's own finite difference, not the model's
    table = effects.roi_table().set_index("channel")
    for k, channel in enumerate(effects.channels):
        margin = 0.9 if channel == first else 0.6
        expected = truth[channel]["mroas"] * margin - 1
        assert effects.marginal_profit_roi[0, k] == pytest.approx(expected, rel=RTOL)
        assert effects.mroas_break_even[k] == pytest.approx(1.1 / margin)
        # pays at the margin exactly when mROAS clears (1 + hurdle) / margin, not 1
        assert (effects.marginal_profit_roi[0, k] > 0.1) == (truth[channel]["mroas"] > 1.1 / margin)
        assert table.loc[channel, "marginal_profit_roi_mean"] == pytest.approx(expected, rel=RTOL)
        assert table.loc[channel, "mroas_break_even"] == pytest.approx(1.1 / margin)  # roi.csv states it
    assert "marginal_profit_roi" in effects.PER_CHANNEL  # so summary.json carries it per channel
