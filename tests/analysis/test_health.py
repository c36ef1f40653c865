"""The health card: the true parameters as a posterior pass every check; each broken variant trips its own.

No sampling: posteriors are the synthetic truth (mmm.model.truth) or edited copies of it.
"""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
from scipy import stats

from mmm.data.panel_design import PanelScaling, build_panel_design, series_scaling
from mmm.model import media
from mmm.spec.config import Config
from mmm.spec.sections import DiagnosticThresholds, default_coef_prior
from mmm.data.load import load_data
from mmm.data.design import build_design
from mmm.analysis.effects import compute_effects
from mmm.model.sample import Diagnostics
from mmm.analysis.health import (FAIL, PASS, REVIEW, Check, HealthThresholds, _convergence, checks_to_dict, grade,
                        health_checks, overall, prior_sd)
from mmm.spec.priors import Prior
from mmm.data.synth import SynthSpec, generate
from mmm.model.truth import truth_posterior
from mmm.model.roas_prior import resolve_media_scale
from mmm.analysis.pipeline import load

N_DRAWS = 8


@pytest.fixture(scope="module")
def run():
    result = generate(SynthSpec(seed=0))
    config = Config.from_dict(result.config)
    panel = load(config, result.data)  # the default ROAS prior's median, worked out from the data as a fit does
    config = resolve_media_scale(config, build_panel_design(panel, PanelScaling.compute(panel), config.design))
    data = load_data(result.data, config.roles())
    scaling = series_scaling(data)
    posterior = truth_posterior(result.truth, config, data, n_draws=N_DRAWS)
    effects = compute_effects(posterior, config, data, scaling)
    spend_to_kpi = build_design(data, scaling, config.model.seasonality_order).spend_to_kpi
    return effects, posterior, config, spend_to_kpi


def good_diagnostics(**changes) -> Diagnostics:
    base = Diagnostics(max_rhat=1.002, min_ess_bulk=1500.0, divergences=0, thresholds=DiagnosticThresholds(),
                       chains=4)
    return replace(base, **changes)


def card(run, effects=None, diagnostics=None, posterior=None, thresholds=HealthThresholds()):
    eff, post, config, spend_to_kpi = run
    checks = health_checks(effects or eff, diagnostics or good_diagnostics(),
                           post if posterior is None else posterior, config, spend_to_kpi, thresholds)
    return {c.name: c for c in checks}, checks


def statuses(by_name):
    return {name: c.status for name, c in by_name.items()}


def test_true_parameters_pass_every_check(run):
    by_name, checks = card(run)
    assert set(by_name) == {"rhat", "ess", "divergences", "r2", "mape", "negative_baseline", "roas_mean",
                            "roas_tail", "prior_contraction", "residual_autocorrelation"}
    assert statuses(by_name) == dict.fromkeys(by_name, PASS), [c for c in checks if c.status != PASS]
    assert overall(checks) == PASS
    assert by_name["r2"].value > 0.5 and by_name["mape"].value < 0.1
    assert abs(by_name["residual_autocorrelation"].value) < 0.3
    assert "Durbin–Watson" in by_name["residual_autocorrelation"].detail
    for c in checks:  # every check says in words what it measures, and its thresholds are shown
        assert len(c.what) > 20 and c.review is not None


def test_bad_convergence_fails(run):
    by_name, checks = card(run, diagnostics=good_diagnostics(max_rhat=1.2, divergences=50, min_ess_bulk=150.0))
    assert by_name["rhat"].status == FAIL
    assert by_name["divergences"].status == FAIL  # 50 of 8 draws: far above 1%
    assert by_name["ess"].status == FAIL  # below half the fit's gate of 100 per chain x 4
    assert overall(checks) == FAIL


def test_mild_convergence_problems_are_review():
    t = HealthThresholds()
    n_draws = 4000
    d = good_diagnostics(max_rhat=1.02, divergences=3, min_ess_bulk=300.0)
    got = {c.name: c.status for c in _convergence(d, n_draws, t)}
    assert got == {"rhat": REVIEW, "divergences": REVIEW, "ess": REVIEW}  # 3 of 4000 < 1%; 200 <= 300 < 400
    nan_rhat = {c.name: c.status for c in _convergence(good_diagnostics(max_rhat=float("nan")), n_draws, t)}
    assert nan_rhat["rhat"] == FAIL  # one chain: R-hat cannot be computed, which is no evidence of convergence


def test_garbage_fit_fails_r2_and_mape(run):
    effects = run[0]
    rng = np.random.default_rng(1)
    garbage = replace(effects, mu=effects.mu * rng.uniform(0.3, 1.7, effects.mu.shape[1]))
    by_name, checks = card(run, effects=garbage)
    assert by_name["r2"].status == FAIL and by_name["r2"].value < 0.2
    assert by_name["mape"].status == FAIL
    assert overall(checks) == FAIL


def test_autocorrelated_residuals_are_flagged(run):
    effects = run[0]
    n = len(effects.actual)
    rng = np.random.default_rng(2)
    drift = np.zeros(n)
    for i in range(1, n):  # AR(1) with phi 0.95, sized like the KPI's own noise x 4
        drift[i] = 0.95 * drift[i - 1] + rng.normal()
    drift *= 4 * effects.fit_quality()["residual_sd"] / drift.std()
    by_name, checks = card(run, effects=replace(effects, actual=effects.actual + drift))
    check = by_name["residual_autocorrelation"]
    assert check.status == FAIL and check.value > 0.6
    dw = float(check.detail.split("Durbin–Watson ")[1].split()[0])
    assert dw < 1.0  # strong positive autocorrelation pulls DW well below 2
    assert overall(checks) == FAIL


def test_negative_baseline_is_flagged(run):
    effects = run[0]
    # shift the baseline of half the draws below zero by moving mu (contributions unchanged)
    mu = effects.mu.copy()
    mu[: N_DRAWS // 2] -= effects.baseline[: N_DRAWS // 2].max() * 1.1
    by_name, _ = card(run, effects=replace(effects, mu=mu))
    assert by_name["negative_baseline"].value == pytest.approx(0.5)
    assert by_name["negative_baseline"].status == FAIL
    mu = effects.mu.copy()
    mu[0] -= effects.baseline[0].max() * 1.1  # 1 of 8 draws: 12.5%, between 5% and 20%
    by_name, _ = card(run, effects=replace(effects, mu=mu))
    assert by_name["negative_baseline"].status == REVIEW


def test_implausible_roas(run):
    effects = run[0]
    roas = effects.roas.copy()
    roas[:, 1] = 100.0
    by_name, checks = card(run, effects=replace(effects, roas=roas))
    assert by_name["roas_mean"].status == FAIL and by_name["roas_tail"].status == FAIL
    assert "search 100" in by_name["roas_mean"].detail
    assert overall(checks) == FAIL
    roas = effects.roas.copy()
    roas[:, 0] = 25.0  # high, not absurd
    roas[0, 0] = 60.0  # one draw of eight above 50: 12.5%
    by_name, checks = card(run, effects=replace(effects, roas=roas))
    assert by_name["roas_mean"].status == REVIEW and by_name["roas_tail"].status == REVIEW
    assert overall(checks) == REVIEW


def test_posterior_equal_to_prior_is_review_never_fail(run):
    effects, posterior, config, spend_to_kpi = run
    n = 4000
    big = posterior.isel(draw=[0] * n).assign_coords(draw=np.arange(n))
    coef = big[media.COEF].copy()
    rng = np.random.default_rng(3)
    # "search" keeps its prior: the data did not speak; the others are pinned by the data
    k = config.channel_names.index("search")
    prior = default_coef_prior(spend_to_kpi[k], config.model.roas_median, config.finance.value_per_kpi,
                               config.model.media_roas_sigma)
    coef.loc[{"channel": "search"}] = prior.scipy().rvs(size=(1, n), random_state=rng)
    big[media.COEF] = coef
    by_name, checks = card(run, posterior=big)
    check = by_name["prior_contraction"]
    assert check.status == REVIEW and check.fail is None
    assert abs(check.value) < 0.1  # sample variance of prior draws ~ prior variance
    assert "search" in check.detail.split("barely moved")[1] and "tv 1.00" in check.detail
    assert overall(checks) == REVIEW
    assert grade(-5.0, 0.1, None, "below") == REVIEW  # however little it moved: never FAIL


def test_contraction_uses_the_channels_own_coef_prior(run):
    effects, posterior, config, spend_to_kpi = run
    wide = Prior("HalfStudentT", nu=3.0, sigma=1.0)
    channels = tuple(replace(c, priors={**c.priors, "coef": wide}) if c.name == "tv" else c for c in config.channels)
    custom = replace(config, channels=channels)
    n = 2000
    big = posterior.isel(draw=[0] * n).assign_coords(draw=np.arange(n))
    coef = big[media.COEF].copy()
    rng = np.random.default_rng(4)
    coef.loc[{"channel": "tv"}] = rng.normal(0.2, 0.5, (1, n))  # sd 0.5 vs the HalfT's sd ~1.13
    big[media.COEF] = coef
    checks = health_checks(effects, good_diagnostics(), big, custom, spend_to_kpi)
    check = next(c for c in checks if c.name == "prior_contraction")
    expected = 1 - 0.25 / prior_sd(wide.scipy()) ** 2
    assert check.value == pytest.approx(expected, abs=0.05)
    assert check.status == PASS


def test_prior_sd_of_half_t_by_sampling_is_reproducible():
    dist = Prior("HalfStudentT", nu=5.0, sigma=2.0).scipy()
    assert prior_sd(dist) == prior_sd(dist)
    # |T| has E|T|^2 = var(T), so sd(|T|) = sqrt(var(T) - E|T|^2)
    t = stats.t(5, 0, 2.0)
    exact = np.sqrt(t.var() - (2 * t.expect(lambda x: x, lb=0)) ** 2)
    assert prior_sd(dist) == pytest.approx(exact, rel=0.02)
    assert prior_sd(Prior("HalfNormal", sigma=2.0).scipy()) == pytest.approx(2.0 * np.sqrt(1 - 2 / np.pi))


def test_grade_and_overall():
    assert grade(1.0, 1.01, 1.05, "above") == PASS
    assert grade(1.03, 1.01, 1.05, "above") == REVIEW
    assert grade(1.06, 1.01, 1.05, "above") == FAIL
    assert grade(0.4, 0.5, 0.2, "below") == REVIEW
    assert grade(float("nan"), 0.5, 0.2, "below") == FAIL

    def c(status):
        return Check("x", "something measured", 0.0, 1.0, 2.0, "above", status)

    assert overall([c(PASS), c(PASS)]) == PASS
    assert overall([c(PASS), c(REVIEW)]) == REVIEW
    assert overall([c(REVIEW), c(FAIL), c(PASS)]) == FAIL
    assert overall([]) == PASS


def test_checks_to_dict_is_json_ready(run):
    _, checks = card(run, diagnostics=good_diagnostics(max_rhat=float("nan")))
    rows = checks_to_dict(checks)
    text = json.dumps(rows, allow_nan=False)  # strict JSON: no NaN
    back = json.loads(text)
    assert [r["name"] for r in back] == [c.name for c in checks]
    rhat = back[0]
    assert rhat["value"] is None and rhat["status"] == FAIL
    assert set(rhat) == {"name", "what", "value", "review", "fail", "worse", "status", "detail"}
    contraction = next(r for r in back if r["name"] == "prior_contraction")
    assert contraction["fail"] is None


def test_thresholds_live_in_one_place(run):
    loose = HealthThresholds(r2_review=0.99, r2_fail=0.9)
    by_name, checks = card(run, thresholds=loose)
    assert by_name["r2"].status == FAIL  # the true model explains ~64% of this noisy KPI
    assert (by_name["r2"].review, by_name["r2"].fail) == (0.99, 0.9)


def test_roas_based_data_influence_uses_narrowing_or_shift(run):
    """With prior ROAS draws, a channel counts as data-driven when its ROAS narrowed OR moved."""
    eff, post, config, spend_to_kpi = run
    rng = np.random.default_rng(1)
    k = len(eff.channels)
    effects = replace(eff, roas=2.0 + 0.1 * rng.standard_normal((eff.roas.shape[0] * 100, k)))
    # prior: same centre and width as the posterior for channel 0 (data silent), much wider for the others
    prior = 2.0 + 5.0 * rng.standard_normal((4000, k))
    prior[:, 0] = 2.0 + 0.1 * rng.standard_normal(4000)

    def influence():
        checks = health_checks(effects, good_diagnostics(), post, config, spend_to_kpi, prior_roas=prior)
        return next(c for c in checks if c.name == "prior_contraction")

    check = influence()
    assert check.status == "REVIEW" and eff.channels[0] in check.detail.split("prior of")[1]
    prior[:, 0] = 0.5 + 0.1 * rng.standard_normal(4000)  # same width, far away: the data spoke
    assert influence().status == "PASS"
