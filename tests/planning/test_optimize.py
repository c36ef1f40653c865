"""Budget planning: plan outcomes, the optimizer and target mode, on synthetic truth (no fit needed).

The true parameters as a degenerate posterior (mmm.model.truth) make the response curves known,
so the optimizer's allocation can be checked against a brute-force grid search.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from mmm.data.panel_design import series_scaling
from mmm.model import media
from mmm.spec.config import Config, ConfigError
from mmm.data.load import load_data
from mmm.planning.optimize import (ChannelBounds, Objective, PlanModel, compare_plans, cvar, optimize, optimize_to_target,
                          saturate, target_metric)
from mmm.data.synth import ChannelTruth, SynthSpec, generate
from mmm.model.truth import truth_posterior

GRID = 200  # brute force on budget shares in steps of 0.5%


def _setup(spec: SynthSpec, n_draws: int = 1, jitter: float = 0.0, seed: int = 0):
    result = generate(spec)
    config = Config.from_dict(result.config)
    data = load_data(result.data, config.roles())
    scaling = series_scaling(data)
    posterior = truth_posterior(result.truth, config, data, n_draws=n_draws)
    if jitter:  # a posterior-like spread around the truth: independent lognormal noise per draw
        rng = np.random.default_rng(seed)
        for name, *_ in media.parameter_layout(config.channels):
            da = posterior[name]
            noise = np.exp(rng.normal(0.0, jitter, da.shape))
            values = da.values * noise
            if name.endswith("_alpha"):
                values = np.clip(values, 0.01, 0.95)
            posterior[name] = xr.DataArray(values, dims=da.dims, coords=da.coords)
    return result, config, data, scaling, posterior


@pytest.fixture(scope="module")
def truth4():
    _, config, data, scaling, posterior = _setup(SynthSpec(seed=0, n_channels=4))
    return config, data, scaling, posterior, PlanModel(posterior, config, data, scaling)


@functools.cache
def _share_combinations(k: int) -> np.ndarray:
    """Every split of GRID steps over k channels, (n, k) ints."""
    axes = np.meshgrid(*[np.arange(GRID + 1, dtype=np.int32)] * (k - 1), indexing="ij")
    partial = np.stack([a.ravel() for a in axes], axis=1)
    partial = partial[partial.sum(axis=1) <= GRID]
    return np.column_stack([partial, GRID - partial.sum(axis=1)])


def _grid_optimum(model: PlanModel, budget: float, objective: str = "mean") -> np.ndarray:
    """Best split of ``budget`` on a grid of shares; channels are additive, so per-channel curves suffice."""
    k = len(model.channels)
    shares = np.arange(GRID + 1) / GRID
    curves = np.stack([model.channel_values(np.full(k, s * budget))[0] for s in shares])  # (G+1, K), one draw
    if objective == "profit":
        curves = curves * model.margins
    combos = _share_combinations(k)
    totals = curves[combos, np.arange(k)].sum(axis=1)
    return combos[np.argmax(totals)] / GRID * budget


@pytest.mark.parametrize("multiplier", [0.6, 1.0, 1.8])
@pytest.mark.parametrize("objective", ["mean", "profit"])
def test_allocation_on_true_curves_matches_brute_force_grid(truth4, multiplier, objective):
    *_, model = truth4
    budget = model.run_rate.sum() * multiplier
    result = optimize(model, budget, objective=objective)
    grid = _grid_optimum(model, budget, objective)
    assert np.abs(result.plan.spend - grid).max() <= 0.02 * budget
    # and the optimizer is at least as good as the best grid point
    assert result.plan.total_value.mean() * (objective == "mean") + result.plan.total_profit.mean() * (
        objective == "profit") >= _objective(model, grid, objective) - 1e-9 * budget


def _objective(model, spend, objective):
    values = model.channel_values(spend)
    if objective == "mean":
        return values.sum(axis=1).mean()
    return ((values * model.margins).sum(axis=1) - spend.sum()).mean()


def test_totals_reconcile_and_spend_equals_budget(truth4):
    config, data, scaling, posterior, _ = truth4
    model = PlanModel(truth_posterior(generate(SynthSpec(seed=0)).truth, config, data, n_draws=3), config, data,
                      scaling)
    for objective in ("mean", "profit", "cvar:0.1"):
        result = optimize(model, 1_234_567.89, objective=objective)
        for outcome in (result.plan, result.current):
            assert outcome.spend.sum() == pytest.approx(1_234_567.89, rel=1e-9)
            table = outcome.channel_table()
            totals = outcome.totals()
            for metric in ("incremental_value", "profit", "incremental_kpi"):
                assert table[f"{metric}_mean"].sum() == pytest.approx(totals[metric]["mean"], rel=1e-6)
            assert totals["spend"] == pytest.approx(1_234_567.89, rel=1e-9)


def test_very_different_returns_give_an_unequal_split_and_equal_channels_an_equal_one():
    strong_weak = [ChannelTruth("weak", level=20_000, target_roas=0.4),
                   ChannelTruth("strong", level=20_000, target_roas=5.0),
                   ChannelTruth("middle", level=20_000, target_roas=1.5)]
    _, config, data, scaling, posterior = _setup(SynthSpec(seed=2, channels=strong_weak))
    model = PlanModel(posterior, config, data, scaling)
    result = optimize(model, model.run_rate.sum())
    share = dict(zip(model.channels, result.plan.spend / result.budget))
    assert share["strong"] > 0.5 and share["strong"] >= share["middle"] >= share["weak"]
    assert share["strong"] - share["weak"] > 0.3

    # identical channels (same spend history, same true parameters): the split is even,
    # from an uneven start too
    same = [ChannelTruth(name, level=20_000, coef=50_000.0, pattern="always_on") for name in ("a", "b", "c")]
    result_same = generate(SynthSpec(seed=4, channels=same))
    frame = result_same.data.copy()
    for name in ("b", "c"):
        frame[f"{name}_spend"] = frame["a_spend"]
    for name in ("b", "c"):
        result_same.truth["params"]["channels"][name] = result_same.truth["params"]["channels"]["a"]
    config = Config.from_dict(result_same.config)
    data = load_data(frame, config.roles())
    scaling = series_scaling(data)
    model = PlanModel(truth_posterior(result_same.truth, config, data), config, data, scaling)
    model.run_rate = model.run_rate * np.array([2.0, 0.5, 0.5])  # an uneven current mix to start from
    result = optimize(model, model.run_rate.sum() * 1.3, starts_from=("current mix",))
    assert result.plan.spend / result.budget == pytest.approx(np.full(3, 1 / 3), abs=1e-3)


def test_tiny_gradients_in_raw_currency_do_not_stall_at_the_start():
    # spend in the hundreds of millions and a tiny KPI: raw gradients are ~1e-8, the split must still move
    channels = [ChannelTruth("a", level=4e8, target_roas=0.5), ChannelTruth("b", level=4e8, target_roas=4.0)]
    _, config, data, scaling, posterior = _setup(SynthSpec(seed=3, channels=channels, kpi_scale=1e9))
    model = PlanModel(posterior, config, data, scaling)
    result = optimize(model, model.run_rate.sum(), starts_from=("even split",))
    share = dict(zip(model.channels, result.plan.spend / result.budget))
    assert share["b"] > 0.7


def test_bounds_apply_to_the_right_channels_in_a_non_alphabetical_order():
    channels = [ChannelTruth("tv", level=50_000, target_roas=1.0), ChannelTruth("search", level=30_000, target_roas=4.0),
                ChannelTruth("display", level=6_000, target_roas=2.0), ChannelTruth("radio", level=15_000,
                                                                                   target_roas=0.8)]
    _, config, data, scaling, posterior = _setup(SynthSpec(seed=5, channels=channels))
    model = PlanModel(posterior, config, data, scaling)
    assert model.channels == ["tv", "search", "display", "radio"]  # not sorted
    budget = model.run_rate.sum()
    rate = dict(zip(model.channels, model.run_rate))
    bounds = {"search": ChannelBounds(max=0.2 * budget), "radio": ChannelBounds(locked=True),
              "display": ChannelBounds(min=0.25 * budget), "tv": ChannelBounds(min_change=-0.5, max_change=0.1)}
    result = optimize(model, budget, bounds=bounds)
    spend = result.allocation()
    assert spend["search"] <= 0.2 * budget * (1 + 1e-9)
    assert spend["search"] == pytest.approx(0.2 * budget, rel=1e-6)  # the best channel sits at its cap
    assert spend["radio"] == pytest.approx(rate["radio"], rel=1e-12)
    assert spend["display"] >= 0.25 * budget * (1 - 1e-9)
    assert 0.5 * rate["tv"] * (1 - 1e-9) <= spend["tv"] <= 1.1 * rate["tv"] * (1 + 1e-9)
    assert sum(spend.values()) == pytest.approx(budget, rel=1e-9)
    assert result.locked == ["radio"]

    with pytest.raises(ConfigError, match=r"bounds.csv: unknown channel\(s\) Search.*tv, search, display, radio"):
        optimize(model, budget, bounds={"Search": ChannelBounds(max=1.0)}, bounds_source="bounds.csv")
    with pytest.raises(ConfigError, match="below the locked and minimum spend"):
        optimize(model, 0.01 * budget, bounds={"display": ChannelBounds(min=0.25 * budget)})


def test_carry_in_from_recent_spend_lowers_the_return_of_the_same_plan(truth4):
    config, data, scaling, posterior, model = truth4
    quiet = data.spend.copy()
    quiet.iloc[-10:] = 0.0  # no recent spend: no carry-in, the curves start unsaturated
    from dataclasses import replace
    model_quiet = PlanModel(posterior, config, replace(data, spend=quiet), scaling)
    plan = dict(zip(model.channels, model.run_rate + 1000.0))
    with_carry = model.evaluate(plan).total_value.mean()
    without = model_quiet.evaluate(plan).total_value.mean()
    assert without > with_carry > 0


def test_plan_value_is_the_model_contribution_difference_with_history(truth4):
    """An independent check: build the whole timeline and difference the media contributions."""
    config, data, scaling, posterior, model = truth4
    from mmm.data.design import build_design
    from mmm.analysis.effects import posterior_draws

    design = build_design(data, scaling, config.model.seasonality_order)
    params = posterior_draws(posterior, config, design)
    spend = np.array([100_000.0, 50_000.0, 20_000.0, 5_000.0])
    n, tail = model.periods, max(c.max_lag for c in config.channels) - 1
    scale = np.array([scaling.spend[c] for c in model.channels])
    planned = np.vstack([design.spend, np.tile(spend / n / scale, (n, 1)), np.zeros((tail, 4))])
    nothing = np.vstack([design.spend, np.zeros((n + tail, 4))])
    diff = (media.contributions(planned, config.channels, params) - media.contributions(nothing, config.channels,
                                                                                        params))
    expected = diff.sum(axis=1)[0] * scaling.kpi
    assert model.channel_values(spend)[0] == pytest.approx(expected, rel=1e-10)


def test_saturation_slopes_match_finite_differences():
    spec = SynthSpec(seed=1, channels=[ChannelTruth("h", saturation="hill", target_roas=2.0,
                                                    saturation_params={"half_saturation": 0.8, "slope": 1.7}),
                                       ChannelTruth("l", saturation="logistic", target_roas=2.0)])
    _, config, data, scaling, posterior = _setup(spec, n_draws=5, jitter=0.2)
    model = PlanModel(posterior, config, data, scaling)
    x = np.linspace(0.05, 3.0, 40)[None, :, None] * np.ones((5, 1, 2))
    value, slope = saturate(x, config.channels, model.params, slope=True)
    h = 1e-6
    numeric = (saturate(x + h, config.channels, model.params) - saturate(x - h, config.channels, model.params)) / (2 * h)
    np.testing.assert_allclose(slope, numeric, rtol=1e-5, atol=1e-9)
    spend = model.run_rate * 1.1
    _, grad = model.channel_values_and_slopes(spend)
    step = spend * 1e-6
    numeric = (model.channel_values(spend + step) - model.channel_values(spend - step)) / (2 * step)
    np.testing.assert_allclose(grad, numeric, rtol=1e-5)


def test_cvar_objective_trades_expected_value_for_a_better_worst_case():
    channels = [ChannelTruth("sure", level=20_000, target_roas=1.8), ChannelTruth("risky", level=20_000,
                                                                                   target_roas=2.0)]
    _, config, data, scaling, posterior = _setup(SynthSpec(seed=6, channels=channels), n_draws=400)
    rng = np.random.default_rng(1)
    coef = posterior["channel_coef"].values.copy()
    coef[..., 1] *= np.exp(rng.normal(0.0, 0.8, coef.shape[:-1]) - 0.32)  # risky: same mean, wide spread
    posterior["channel_coef"] = posterior["channel_coef"].copy(data=coef)
    model = PlanModel(posterior, config, data, scaling)
    budget = model.run_rate.sum()
    mean_plan = optimize(model, budget, objective="profit")
    safe_plan = optimize(model, budget, objective="cvar:0.1")
    assert safe_plan.allocation()["risky"] < mean_plan.allocation()["risky"] - 0.05 * budget
    assert cvar(safe_plan.plan.total_profit, 0.1) > cvar(mean_plan.plan.total_profit, 0.1)
    assert safe_plan.plan.total_profit.mean() <= mean_plan.plan.total_profit.mean() + 1e-9 * budget
    # the CVaR optimum is no worse than any split on a grid
    grid = [cvar(((model.channel_values(np.array([s, budget - s])) * model.margins).sum(axis=1) - budget), 0.1)
            for s in np.linspace(0, budget, 201)]
    assert cvar(safe_plan.plan.total_profit, 0.1) >= max(grid) - 1e-4 * budget


def test_cvar_is_the_mean_of_the_worst_share():
    values = np.arange(1.0, 101.0)
    assert cvar(values, 0.1) == pytest.approx(5.5)
    assert cvar(values, 0.105) == pytest.approx((55 + 0.5 * 11) / 10.5)
    assert Objective.parse("cvar:0.05") == Objective("cvar", 0.05)
    with pytest.raises(ConfigError, match="cvar:ALPHA"):
        Objective.parse("median")


@pytest.mark.parametrize("target", ["profit_roi", "mroas"])
def test_target_efficiency_budget_meets_the_target_and_is_the_boundary_on_a_grid(truth4, target):
    *_, model = truth4
    rate = model.run_rate.sum()
    level = 0.2 if target == "profit_roi" else 1.2
    result = optimize_to_target(model, target, level, budget_range=(0.05 * rate, 5 * rate))
    budget = result.budget
    assert result.target["reached"] >= level
    assert target_metric(model, result, target) >= level
    grid = np.linspace(0.05 * rate, 5 * rate, 41)
    metrics = [target_metric(model, optimize(model, b), target) for b in grid]
    # every grid budget that meets the target is at or below the returned one; the first above it fails
    meeting = grid[np.array(metrics) >= level]
    assert meeting.max() <= budget * (1 + 1e-3)
    assert all(m < level for b, m in zip(grid, metrics) if b > budget * 1.01)


def test_target_value_budget_is_the_smallest_that_reaches_it_on_a_grid(truth4):
    *_, model = truth4
    rate = model.run_rate.sum()
    level = optimize(model, rate).plan.total_value.mean() * 1.1
    result = optimize_to_target(model, "value", level, budget_range=(0.05 * rate, 5 * rate))
    assert result.plan.total_value.mean() >= level
    grid = np.linspace(0.05 * rate, 5 * rate, 41)
    reached = [b for b in grid if optimize(model, b).plan.total_value.mean() >= level]
    assert min(reached) >= result.budget * (1 - 1e-3)
    assert optimize(model, result.budget * 0.99).plan.total_value.mean() < level


def test_flighting_follows_a_reference_period(truth4):
    config, data, scaling, posterior, model = truth4
    start = data.dates[-52]
    flighted = PlanModel(posterior, config, data, scaling, flighting=start.date().isoformat())
    reference = data.spend.iloc[-52:-52 + flighted.periods][flighted.channels].to_numpy()
    for k, channel in enumerate(flighted.channels):
        if reference[:, k].sum() > 0:
            np.testing.assert_allclose(flighted.flighting[:, k], reference[:, k] / reference[:, k].sum())
    np.testing.assert_allclose(flighted.flighting.sum(axis=0), 1.0)
    assert np.allclose(model.flighting, 1 / model.periods)
    last_year = PlanModel(posterior, config, data, scaling, flighting="last-year")
    np.testing.assert_allclose(last_year.flighting, flighted.flighting)  # 52 weeks before the plan starts
    with pytest.raises(Exception, match="flighting reference needs 13 periods"):
        PlanModel(posterior, config, data, scaling, flighting=data.dates[-3].date().isoformat())


def test_scenarios_compare_plans_on_the_same_draws():
    _, config, data, scaling, posterior = _setup(SynthSpec(seed=0), n_draws=200, jitter=0.3)
    model = PlanModel(posterior, config, data, scaling)
    current = dict(zip(model.channels, model.run_rate))
    more_tv = {**current, "tv": current["tv"] * 1.2}
    optimized = optimize(model, sum(current.values()), objective="profit")
    comparison = compare_plans(model, {"current": current, "+20% tv": more_tv}, extra=[optimized.plan])
    pairs = comparison.pairwise().set_index(["plan_a", "plan_b"])
    p = pairs.loc[("optimized", "current"), "p_a_beats_b"]
    assert p == pytest.approx(1 - pairs.loc[("current", "optimized"), "p_a_beats_b"])
    assert p > 0.5
    table = comparison.table().set_index("plan")
    assert table.loc["optimized", "profit_mean"] >= table.loc["current", "profit_mean"]
    with pytest.raises(ConfigError, match="unknown channel"):
        compare_plans(model, {"bad": {**current, "Radio": 1.0}})


def test_a_channel_with_no_recent_spend_still_gets_budget_when_it_pays():
    # Hill with slope < 1 has an unbounded slope at zero input: a zero start must not read as "no return"
    channels = [ChannelTruth("steady", level=30_000, target_roas=0.8, saturation="hill",
                             saturation_params={"half_saturation": 1.0, "slope": 0.8}),
                ChannelTruth("dormant", level=30_000, target_roas=3.0, saturation="hill",
                             saturation_params={"half_saturation": 1.0, "slope": 0.6})]
    result = generate(SynthSpec(seed=8, channels=channels))
    frame = result.data.copy()
    frame.loc[frame.index[-20:], "dormant_spend"] = 0.0  # no spend lately: no carry-in, no current mix
    config = Config.from_dict(result.config)
    data = load_data(frame, config.roles())
    scaling = series_scaling(data)
    model = PlanModel(truth_posterior(result.truth, config, data), config, data, scaling)
    assert model.run_rate[1] == 0.0
    plan = optimize(model, model.run_rate.sum(), starts_from=("current mix",))
    assert plan.allocation()["dormant"] > 0.3 * plan.budget
    grid = _grid_optimum(model, plan.budget)
    assert np.abs(plan.plan.spend - grid).max() <= 0.02 * plan.budget


def test_daily_data_plans_a_quarter_of_days():
    _, config, data, scaling, posterior = _setup(SynthSpec(seed=5, freq="D", n_periods=400, adstock="weibull",
                                                           seasonality_order=3, controls=False))
    model = PlanModel(posterior, config, data, scaling)
    assert model.periods == 91
    assert model.dates[0] == data.dates[-1] + pd.Timedelta(days=1) and model.dates[-1] - model.dates[0] == pd.Timedelta(
        days=90)
    budget = model.run_rate.sum()
    result = optimize(model, budget)
    assert result.plan.budget == pytest.approx(budget, rel=1e-9)
    assert np.abs(result.plan.spend - _grid_optimum(model, budget)).max() <= 0.02 * budget
