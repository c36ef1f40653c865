"""Present value of lasting returns: the true parameters as a posterior reproduce the truth's discounted figures.

The truth (:func:`mmm.data.synth_truth.true_figures`) discounts with plain loops over periods and lags, apart
from the package's vectorized adstock; a one-period window checks that truth against the definition itself.
"""

from __future__ import annotations

import numpy as np
import pytest

from mmm.analysis.effects import compute_effects
from mmm.analysis.present_value import period_discount
from mmm.data import synth_truth
from mmm.data.load import load_data
from mmm.data.panel_design import series_scaling
from mmm.data.synth import SynthSpec, generate
from mmm.model.truth import truth_posterior
from mmm.spec.config import Config, ConfigError

SPECS = [SynthSpec(seed=0), SynthSpec(seed=3, n_channels=6, adstock="delayed", saturation="logistic"),
         SynthSpec(seed=5, adstock="weibull", freq="D", n_periods=400, seasonality_order=3, controls=False)]
IDS = ["geometric-hill", "delayed-logistic-6ch", "weibull-daily"]


def _effects(spec: SynthSpec, rate: float | None, window=None):
    result = generate(spec)
    raw = dict(result.config)
    raw["finance"] = {**(raw.get("finance") or {}), **({} if rate is None else {"discount_rate": rate})}
    if window:
        raw["window"] = {"start": window[0], "end": window[1]}
    config = Config.from_dict(raw)
    data = load_data(result.data, config.roles())
    return result, compute_effects(truth_posterior(result.truth, config, data, n_draws=2), config, data,
                                   series_scaling(data))


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_a_zero_rate_gives_the_face_value_figures(spec):
    _, effects = _effects(spec, 0.0)
    for npv, face in (("roas_npv", "roas"), ("profit_roi_npv", "profit_roi"), ("roas_lasting_npv", "roas_lasting"),
                      ("payback_50_npv", "payback_50"), ("payback_90_npv", "payback_90")):
        np.testing.assert_allclose(getattr(effects, npv), getattr(effects, face), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_a_positive_rate_discounts_exactly_the_lasting_part(spec):
    rate = 0.5  # high, so a week's discount shows well above rounding
    result, effects = _effects(spec, rate)
    discount = period_discount(rate, spec.freq)
    truth = synth_truth.true_figures(result.data, result.truth, discount=discount)
    for k, channel in enumerate(effects.channels):
        for figure in ("roas_npv", "profit_roi_npv"):
            assert getattr(effects, figure)[0, k] == pytest.approx(truth[channel][figure], rel=1e-6), (channel, figure)
        for figure in ("payback_50_npv", "payback_90_npv"):
            assert effects.metric(figure)[0, k] == truth[channel][figure]
        # the immediate part is untouched; the lasting part is lower, and only it
        assert effects.roas_npv[0, k] == pytest.approx(effects.roas_immediate[0, k] + effects.roas_lasting_npv[0, k])
        assert effects.roas_lasting_npv[0, k] < effects.roas_lasting[0, k]
        assert effects.roas_lasting_npv[0, k] > 0
        assert effects.payback_50_npv[0, k] <= effects.payback_50[0, k]
    assert effects.totals()["roas_npv"]["mean"] < effects.totals()["roas"]["mean"]


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")  # a channel without spend that period
def test_one_spend_period_is_discounted_by_each_returns_lag():
    """A window of one period: every return in W's tail comes from that period's spend, so its present value
    is Σ_t return_t d^(t - s), whatever the saturation. Checks the truth's loops against the definition."""
    spec = SynthSpec(seed=2)
    result = generate(spec)
    data = result.data
    s = 60
    day = str(data["date"].iloc[s].date())
    rate = 0.3
    discount = period_discount(rate, "W")
    truth = synth_truth.true_figures(data, result.truth, window=(day, day), discount=discount)
    _, effects = _effects(spec, rate, window=(day, day))
    for k, (name, ch) in enumerate(result.truth["params_natural"]["channels"].items()):
        spend = data[ch["spend_column"]].to_numpy(dtype=float)
        if spend[s] == 0:
            continue
        weights = synth_truth.adstock_weights(ch["adstock"], ch["adstock_params"], ch["max_lag"])
        horizon = len(spend) + ch["max_lag"] - 1
        scale = result.truth["scaling"]["spend"][name]
        actual, _ = synth_truth.contribution(spend / scale, ch, weights, horizon)
        without = np.where(np.arange(len(spend)) == s, 0.0, spend)
        cf, _ = synth_truth.contribution(without / scale, ch, weights, horizon)
        present = sum((actual[t] - cf[t]) * discount ** (t - s) for t in range(s, s + ch["max_lag"]))
        assert truth[name]["roas_npv"] == pytest.approx(present / spend[s], rel=1e-9)
        assert effects.roas_npv[0, k] == pytest.approx(present / spend[s], rel=1e-6)


def test_without_a_rate_there_are_no_present_value_figures():
    _, effects = _effects(SynthSpec(seed=0), None)
    assert not effects.has_present_value
    assert "roas_npv" not in effects.channel_metrics()
    assert "roas_npv_mean" not in effects.roi_table().columns


@pytest.mark.parametrize("rate", [-0.1, 1.0, 8])
def test_a_rate_outside_0_to_1_is_refused_with_the_fix(rate):
    result = generate(SynthSpec(seed=0))
    raw = dict(result.config)
    raw["finance"] = {**(raw.get("finance") or {}), "discount_rate": rate}
    with pytest.raises(ConfigError, match=r"finance.discount_rate .*0.08 for 8%"):
        Config.from_dict(raw)


def test_the_rate_keeps_its_source():
    result = generate(SynthSpec(seed=0))
    raw = dict(result.config)
    raw["finance"] = {**(raw.get("finance") or {}),
                      "discount_rate": {"value": 0.09, "source": "FY26 WACC", "owner": "Treasury"}}
    config = Config.from_dict(raw)
    assert config.finance.discount_rate == 0.09
    assert config.finance.discount_rate_source == "FY26 WACC, Treasury"
    assert Config.from_dict(config.to_dict()).finance == config.finance  # a run's config.yaml reads back


def test_period_discount_compounds_to_the_annual_rate():
    assert period_discount(0.1, "W") ** 52.1775 == pytest.approx(1 / 1.1, rel=1e-12)
    assert period_discount(0.1, "D") ** 365.25 == pytest.approx(1 / 1.1, rel=1e-12)
    assert period_discount(0.0, "W") == 1.0


def test_a_panels_national_present_value_is_the_sum_of_its_geos():
    from mmm.analysis.geo_effects import compute_geo_effects
    from mmm.data.panel import load_panel
    from mmm.data.panel_design import PanelScaling
    from mmm.model.geo_terms import draw_terms, geo_posterior
    from mmm.model.truth import truth_geo_posterior

    result = generate(SynthSpec(n_periods=80, n_channels=2, controls=False, seed=5, n_geos=3))
    for rate in (0.0, 0.4):
        raw = dict(result.config)
        raw["finance"] = {**(raw.get("finance") or {}), "discount_rate": rate}
        config = Config.from_dict(raw)
        panel = load_panel(result.data, config.roles())
        scaling = PanelScaling.compute(panel)
        posterior = truth_geo_posterior(result.truth, config, panel, n_draws=2)
        national = compute_geo_effects(posterior, config, panel, scaling).national
        terms = draw_terms(posterior, panel.n_geos)
        per_geo = [compute_effects(geo_posterior(posterior, config, g, panel.n_geos, terms), config, panel.geo(g),
                                   scaling.geo(g)) for g in range(panel.n_geos)]
        np.testing.assert_allclose(national.incremental_value_npv,
                                   sum(e.incremental_value_npv for e in per_geo), rtol=1e-12)
        if rate == 0.0:
            np.testing.assert_allclose(national.roas_npv, national.roas, rtol=1e-9)
        else:
            assert (national.roas_npv < national.roas).all()
