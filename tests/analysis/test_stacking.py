"""Candidate specifications and stacking: the weights, the mixture of draws, the config variants, and a
real fit with the default candidates (marked slow)."""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import pytest
from scipy.special import logsumexp

from mmm.analysis.stacking import loo_score, mix_effects, mixture_picks, stacking_weights
from mmm.spec.candidates import apply_variant, label, variants_of
from mmm.spec.config import Config
from mmm.spec.errors import ConfigError


def objective(lpd: np.ndarray, w: np.ndarray) -> float:
    """Yao et al. (2018)'s stacking objective, written out directly."""
    with np.errstate(divide="ignore"):
        return float(logsumexp(lpd + np.log(w)[:, None], axis=0).sum())


def test_a_candidate_better_on_every_observation_takes_all_the_weight():
    rng = np.random.default_rng(0)
    worse = rng.normal(-3.0, 0.5, size=200)
    w = stacking_weights(np.stack([worse, worse + 1.0]))
    assert w[1] == pytest.approx(1.0, abs=1e-4)


def test_candidates_right_on_different_halves_share_the_weight():
    good, bad = np.full(100, -1.0), np.full(100, -6.0)
    lpd = np.stack([np.concatenate([good, bad]), np.concatenate([bad, good])])
    assert stacking_weights(lpd) == pytest.approx([0.5, 0.5], abs=1e-3)
    uneven = np.stack([np.concatenate([good, bad[:50]]), np.concatenate([bad, good[:50]])])  # 100 vs 50 points
    assert stacking_weights(uneven)[0] == pytest.approx(2 / 3, abs=0.01)


def test_the_weights_beat_every_point_of_a_fine_grid():
    rng = np.random.default_rng(3)
    lpd = rng.normal(-2.0, 1.0, size=(3, 120)) + rng.normal(0, 0.3, size=(3, 1))
    w = stacking_weights(lpd)
    assert w.sum() == pytest.approx(1.0) and (w >= 0).all()
    grid = [np.array([a, b, 1 - a - b]) for a, b in itertools.product(np.linspace(0, 1, 101), repeat=2)
            if a + b <= 1 + 1e-12]
    best = max(objective(lpd, np.clip(g, 0, 1)) for g in grid)
    assert objective(lpd, w) >= best - 1e-6


def test_one_candidate_has_weight_one():
    assert stacking_weights(np.zeros((1, 10))) == pytest.approx([1.0])


def test_mixture_picks_follow_the_weights_and_spread_over_the_draws():
    picks = mixture_picks(np.array([0.5, 0.0, 0.3, 0.2]), [1000, 1000, 800, 1000], 1000)
    assert [len(p) for p in picks] == [500, 0, 300, 200]
    assert picks[2].min() == 0 and picks[2].max() == 799  # every chain of an 800-draw candidate contributes
    odd = mixture_picks(np.array([1 / 3, 1 / 3, 1 / 3]), [10, 10, 10], 10)
    assert sum(len(p) for p in odd) == 10


def test_the_mixture_holds_each_candidates_own_draws(synthetic_effects):
    a, b = synthetic_effects(1.0), synthetic_effects(2.0)
    picks = mixture_picks(np.array([0.25, 0.75]), [a.roas.shape[0], b.roas.shape[0]], a.roas.shape[0])
    mixed = mix_effects([a, b], picks)
    assert mixed.roas.shape == a.roas.shape
    assert np.mean(mixed.roas[:, 0] == 2.0) == pytest.approx(0.75)
    assert mixed.contributions.shape == a.contributions.shape
    assert np.mean(mixed.contributions[:, 0, 0] == 2.0) == pytest.approx(0.75)  # the same draws in every figure
    assert mixed.actual is a.actual and (mixed.spend == a.spend).all()  # not per draw: unchanged
    assert mixed.components["event"].shape == a.components["event"].shape


@pytest.fixture
def synthetic_effects():
    from mmm.analysis.effects import Effects
    import pandas as pd

    def make(value: float, draws: int = 400, periods: int = 20, channels: int = 2) -> Effects:
        per_draw = np.full((draws, channels), value)
        return Effects(
            channels=[f"c{k}" for k in range(channels)], dates=pd.date_range("2024-01-01", periods=periods, freq="W"),
            window=(pd.Timestamp("2024-01-01"), pd.Timestamp("2024-06-01")), interval=0.9,
            spend=np.ones(channels), incremental_kpi=per_draw, incremental_value=per_draw, roas=per_draw,
            profit_roi=per_draw - 1, mroas=per_draw, immediate_share=per_draw, in_window_share=per_draw,
            payback_50=per_draw, payback_90=per_draw, contributions=np.full((draws, periods, channels), value),
            mu=np.full((draws, periods), value), actual=np.ones(periods), gross_margin=1.0, hurdle_rate=0.0,
            chains=4, components={"event": np.full((draws, periods), value)}, component_kinds={"event": "event"})
    return make


def test_loo_of_a_posterior_with_almost_no_spread_is_the_log_density_itself():
    rng = np.random.default_rng(2)
    # draws barely differ: leaving one observation out changes almost nothing
    log_lik = np.linspace(-3, -1, 30)[None, :] + rng.normal(0, 1e-4, size=(400, 30))
    score = loo_score(log_lik, chains=4)
    assert score.elpd_i == pytest.approx(log_lik.mean(axis=0), abs=1e-3)
    assert score.elpd == pytest.approx(log_lik.mean(axis=0).sum(), abs=1e-2)
    assert score.share_high_k == 0.0


def test_loo_favours_the_candidate_whose_predictions_are_right():
    rng = np.random.default_rng(1)
    y = rng.normal(0.0, 1.0, size=80)
    right = rng.normal(0.0, 0.05, size=(400, 1))  # posterior draws of the mean
    wrong = rng.normal(1.0, 0.05, size=(400, 1))

    def log_lik(mean):
        return -0.5 * np.log(2 * np.pi) - 0.5 * (y[None, :] - mean) ** 2

    assert loo_score(log_lik(right), 4).elpd > loo_score(log_lik(wrong), 4).elpd + 10


# ---- the config side -------------------------------------------------------------------------------


def small(**model):
    return {"data": {"path": "data.csv", "date": "date", "kpi": "revenue"},
            "channels": {"tv": {"spend": "tv", "priors": {"lam": {"dist": "Gamma", "alpha": 3, "beta": 1}}},
                         "search": "search"},
            "model": model}


@pytest.mark.candidates
def test_auto_flips_each_choice_and_drops_priors_of_parameters_that_no_longer_exist():
    config = Config.from_dict(small())
    assert config.model.candidates == "auto"
    variants = variants_of(config)
    assert variants == [{"saturation": "hill"}, {"adstock": "delayed"}, {"baseline": "smooth"}]
    assert apply_variant(config, {"media_effect": "time_varying"}).model.media_effect == "time_varying"
    hill = apply_variant(config, variants[0])
    assert [c.saturation for c in hill.channels] == ["hill", "hill"]
    assert "lam" not in hill.channel("tv").priors  # logistic's parameter: not a Hill prior
    assert apply_variant(config, variants[2]).model.baseline.smooth
    assert label(variants[1]) == "delayed adstock" and label({}) == "as configured"
    assert label({"media_effect": "time_varying"}) == "time-varying media effect"
    all_hill = Config.from_dict({**small(saturation="hill"), "channels": {"tv": "tv", "search": "search"}})
    assert variants_of(all_hill)[0] == {"saturation": "logistic"}
    # a time-varying media effect gets the steady one beside it; the other way round is opt-in
    drifting = Config.from_dict(small(media_effect="time_varying"))
    assert variants_of(drifting)[3] == {"media_effect": "steady"}
    assert apply_variant(drifting, variants_of(drifting)[3]).model.media_effect == "steady"
    assert "media_effect_amplitude" not in config.to_dict()["model"]["priors"]
    assert "media_effect_amplitude" in drifting.to_dict()["model"]["priors"]
    # whichever candidate becomes the run's config, a refit still weighs a steady against a drifting effect
    for variant in [{}, *variants_of(drifting)]:
        candidate = Config.from_dict(apply_variant(drifting, variant).to_dict())  # as a run's config.yaml
        refit = [candidate, *(apply_variant(candidate, v) for v in variants_of(candidate))]
        assert {c.model.media_effect for c in refit} == {"steady", "time_varying"}, variant
    assert {c.model.media_effect for c in [config, *(apply_variant(config, v) for v in variants)]} == {"steady"}


@pytest.mark.candidates
def test_a_time_varying_media_effect_is_refused_beside_lift_tests():
    test = {"channel": "tv", "start": "2023-03-06", "end": "2023-04-24", "incremental_kpi": 5e4, "se": 1e4}
    assert Config.from_dict({**small(), "experiments": [test]}).experiments
    for model in ({"media_effect": "time_varying"}, {"candidates": [{"media_effect": "time_varying"}]}):
        with pytest.raises(ConfigError, match="lift tests .* time-varying media effect are not available"):
            Config.from_dict({**small(**model), "experiments": [test]})
    with pytest.raises(ConfigError, match="model.priors.media_effect_amplitude .* neither"):
        Config.from_dict(small(candidates="none", priors={"media_effect_amplitude": {"dist": "HalfNormal",
                                                                                      "sigma": 0.1}}))
    with pytest.raises(ConfigError, match="model.media_effect must be one of steady, time_varying"):
        Config.from_dict(small(media_effect="drifting"))


def test_none_and_a_written_list():
    assert variants_of(Config.from_dict(small(candidates="none"))) == []
    written = Config.from_dict(small(candidates=[{"saturation": "hill", "adstock": "delayed"}]))
    assert variants_of(written) == [{"saturation": "hill", "adstock": "delayed"}]
    assert written.to_dict()["model"]["candidates"] == [{"saturation": "hill", "adstock": "delayed"}]
    assert Config.from_dict(written.to_dict()).model.candidates == written.model.candidates
    assert variants_of(Config.from_dict(small()).with_candidates("none")) == []
    assert Config.from_dict(small(candidates="none")).with_candidates([{"adstock": "delayed"}]).model.candidates \
        == written.with_candidates([{"adstock": "delayed"}]).model.candidates == ({"adstock": "delayed"},)
    with pytest.raises(ConfigError, match="auto, none"):
        Config.from_dict(small()).with_candidates("some")


@pytest.mark.parametrize("bad, words", [
    ([{"curve": "hill"}], "unknown key"), ([{"saturation": "tanh"}], "must be one of"), ("some", "auto, none"),
    ([{"baseline": "smooth"}, {"baseline": "smooth"}], "twice"), ([], "auto, none")])
def test_bad_candidates_are_refused_with_the_fix(bad, words):
    with pytest.raises(ConfigError, match=words):
        Config.from_dict(small(candidates=bad))


# ---- a real fit with the default candidates --------------------------------------------------------


@pytest.fixture(scope="module")
def stacked(tmp_path_factory):
    from mmm.analysis.pipeline import fit
    from mmm.data.synth import ChannelTruth, SynthSpec, generate

    synth = generate(SynthSpec(seed=2, n_periods=104, channels=[
        ChannelTruth("tv", pattern="flighted", level=50_000, saturation="hill", target_roas=1.5),
        ChannelTruth("search", pattern="always_on", level=30_000, target_roas=3.0)]))
    config = Config.from_dict({**synth.config, "model": {"candidates": "auto"},
                               "fit": {"draws": 300, "tune": 300, "chains": 4, "seed": 0}})
    return config, fit(config, synth.data)


@pytest.mark.slow
@pytest.mark.candidates
def test_a_default_fit_stacks_four_candidates_and_reports_the_mixture(stacked, tmp_path):
    config, fitted = stacked
    structure = fitted.structure
    assert [c.label for c in structure.candidates] == [
        "as configured", "hill saturation", "delayed adstock", "smooth baseline"]
    assert structure.weights.sum() == pytest.approx(1.0)
    # the figures of record are the mixture: each candidate's ROAS draws in proportion to its weight
    for k, channel in enumerate(fitted.effects.channels):
        expected = sum(w * c.fitted.effects.roas[:, k].mean()
                       for c, w in zip(structure.candidates, structure.weights, strict=True))
        spread = max(c.fitted.effects.roas[:, k].std() for c in structure.candidates)
        assert fitted.effects.roas[:, k].mean() == pytest.approx(expected, abs=0.05 * spread + 1e-9)
    # the posterior, curves and plans are the primary (largest-weight) candidate's, with its own config
    primary = structure.candidates[structure.primary]
    assert fitted.config == primary.fitted.config
    summary = fitted.summary()
    written = summary["structure"]
    assert written["primary"] == primary.label
    assert fitted.summary() == summary  # no wall time or other run-to-run noise in the figures of record
    assert [c["label"] for c in written["candidates"]] == [c.label for c in structure.candidates]
    assert all(set(c["roas"]) == {"tv", "search"} for c in written["candidates"])
    assert summary["channels"]["tv"]["roas"]["mean"] == pytest.approx(float(fitted.effects.roas[:, 0].mean()))


@pytest.mark.slow
@pytest.mark.candidates
def test_a_stacked_run_folder_gives_back_the_combined_figures(stacked, tmp_path):
    from mmm.api import FittedMMM
    from mmm.runs.compare import RunInputs

    _, fitted = stacked
    run = FittedMMM.of(fitted).save(tmp_path / "run")
    html = (run / "report.html").read_text()
    assert "Which model shapes the figures come from" in html and "Stacking weight" in html
    structure = fitted.structure
    kept = [k for k, w in enumerate(structure.weights) if w > 0]
    for k in kept:
        assert (run / structure.posterior_file(k)).is_file() and (run / structure.config_file(k)).is_file()
    assert not any((run / f"candidate-{k}.nc").exists() for k, w in enumerate(structure.weights) if w == 0)
    # compare and history re-evaluate a run from its folder: the same mixture, draw for draw
    again = RunInputs.load(run).evaluate().national
    assert np.array_equal(again.roas, fitted.effects.roas)


@pytest.mark.slow
@pytest.mark.candidates
def test_a_candidate_that_fails_the_gate_takes_no_weight(stacked):
    from mmm.analysis.pipeline import combined_diagnostics
    from mmm.analysis.stacking import Candidate, stack

    _, fitted = stacked
    candidates = fitted.structure.candidates
    failed = replace(candidates[0].fitted.diagnostics, problems=["R-hat 1.2 > 1.01"])
    broken = replace(candidates[0], fitted=replace(candidates[0].fitted, fit=replace(
        candidates[0].fitted.fit, diagnostics=failed)))
    structure, _ = stack([broken, *candidates[1:]])
    assert structure.weights[0] == 0.0
    # the run's gate: the worst over the candidates that carry weight
    weighted = [c for c, w in zip(structure.candidates, structure.weights, strict=True) if w > 0]
    assert weighted and all(c is not broken for c in weighted)
    assert combined_diagnostics(structure).ok == all(c.ok for c in weighted)


@pytest.mark.slow
@pytest.mark.candidates
def test_candidates_fitted_side_by_side_give_the_same_figures():
    """Threads (fit.candidate_workers) change only the wall time: every candidate is seeded on its own."""
    from mmm.analysis.pipeline import fit
    from mmm.data.synth import SynthSpec, generate

    synth = generate(SynthSpec(seed=5, n_periods=80, n_channels=2, controls=False))
    base = {**synth.config, "model": {"candidates": [{"saturation": "hill"}]},
            "fit": {"draws": 60, "tune": 60, "chains": 2, "seed": 3}}
    one = fit(Config.from_dict({**base, "fit": {**base["fit"], "candidate_workers": 1}}), synth.data)
    two = fit(Config.from_dict({**base, "fit": {**base["fit"], "candidate_workers": 2}}), synth.data)
    assert np.array_equal(one.structure.weights, two.structure.weights)
    assert np.array_equal(one.effects.roas, two.effects.roas)
