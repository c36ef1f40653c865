"""Budget plans for geo runs: per (geo, channel) cells, national = sum over geos per draw.

The posteriors here are synthetic truths (mmm.model.truth), some with a posterior-like spread, so no
fit is needed; the slow test at the end fits a tiny panel and runs the CLI on its run folder.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import xarray as xr
import yaml
from synthetic_runs import write_synthetic_run
from test_optimize import _grid_optimum

from mmm.data.panel_design import series_scaling
from mmm.model import media
from mmm.cli.main import main
from mmm.spec.config import Config, ConfigError
from mmm.data.load import load_data
from mmm.data.panel import load_panel
from mmm.data.panel_design import PanelScaling
from mmm.model.geo_terms import geo_posterior
from mmm.planning.geo_plan import DEFAULT_CELL_RANGE, GeoPlanModel
from mmm.model.truth import truth_geo_posterior
from mmm.planning.optimize import ChannelBounds, Objective, objective_value, optimize
from mmm.planning.outcome import PlanModel
from mmm.api import plan_model
from mmm.planning.plans import load_bounds, load_plans
from mmm.data.synth import SynthSpec, generate
from mmm.model.truth import truth_posterior

WIDE = ChannelBounds(min_change=-1.0, max_change=100.0)  # per geo: no limit a test budget reaches


def _panel(seed: int, n_geos: int, n_channels: int = 2, n_periods: int = 104, **spread):
    result = generate(SynthSpec(n_periods=n_periods, n_channels=n_channels, controls=False, seed=seed, n_geos=n_geos,
                                **spread))
    config = Config.from_dict(result.config)
    panel = load_panel(result.data, config.roles())
    return result, config, panel, PanelScaling.compute(panel)


def _spread(posterior: xr.Dataset, config: Config, sd: float = 0.15, seed: int = 0) -> xr.Dataset:
    """A posterior-like spread around a truth: lognormal noise on every media parameter, draw by draw."""
    rng = np.random.default_rng(seed)
    out = posterior.copy()
    names = [name for name, *_ in media.parameter_layout(config.channels)] + [
        n for n in ("channel_coef_geo_sd",) if n in out]
    for name in names:
        values = out[name].values * np.exp(rng.normal(0.0, sd, out[name].shape))
        out[name] = out[name].copy(data=np.clip(values, 0.01, 0.95) if name.endswith("_alpha") else values)
    return out


@pytest.fixture(scope="module")
def three_geos():
    result, config, panel, scaling = _panel(seed=3, n_geos=3)
    posterior = _spread(truth_geo_posterior(result.truth, config, panel, n_draws=120), config)
    return result, config, panel, scaling, posterior, GeoPlanModel(posterior, config, panel, scaling)


def test_truth_posterior_gives_each_geos_true_roas():
    result, config, panel, scaling = _panel(seed=5, n_geos=3)
    from mmm.analysis.geo_effects import compute_geo_effects

    effects = compute_geo_effects(truth_geo_posterior(result.truth, config, panel), config, panel, scaling)
    for g, geo in enumerate(panel.geos):
        for k, channel in enumerate(config.channel_names):
            assert effects.by_geo["roas"][0, g, k] == pytest.approx(
                result.truth["geos"][geo]["figures"][channel]["roas"], rel=1e-9)


def test_one_geo_plans_exactly_as_the_national_planner():
    synthetic = generate(SynthSpec(seed=4, n_periods=104, n_channels=3, controls=False))
    config = Config.from_dict(synthetic.config)
    data = load_data(synthetic.data, config.roles())
    posterior = _spread(truth_posterior(synthetic.truth, config, data, n_draws=80), config, seed=4)
    national = PlanModel(posterior, config, data, series_scaling(data))

    geo_config = Config.from_dict({**synthetic.config, "data": {**synthetic.config["data"], "geo": "region"}})
    panel = load_panel(synthetic.data.assign(region="all"), geo_config.roles())
    one_geo = posterior.assign(sigma=posterior["sigma"].expand_dims(geo=["all"], axis=-1))  # the geo model's layout
    geo = GeoPlanModel(one_geo, geo_config, panel, PanelScaling.compute(panel))
    np.testing.assert_array_equal(geo.split, np.ones((1, 3)))
    np.testing.assert_allclose(geo.run_rate, national.run_rate, rtol=1e-12)
    budget = national.run_rate.sum() * 1.1
    for objective in ("mean", "profit", "cvar:0.1"):
        a, b = optimize(national, budget, objective=objective), optimize(geo, budget, objective=objective)
        # the same spend gives the same figures; only the order of the sums differs (round-off ~1e-15)
        same_spend = geo.evaluate(dict(zip(geo.channels, a.plan.spend)))
        np.testing.assert_allclose(same_spend.value, a.plan.value, rtol=1e-12)
        np.testing.assert_allclose(b.current.value, a.current.value, rtol=1e-12)
        # the two searches see that round-off and stop at slightly different points: SLSQP stops once the
        # objective moves by < ftol 1e-12 of itself, which pins the spends only to ~sqrt(ftol) of the budget
        # and the (flat, at an optimum) objective to a few ftol
        np.testing.assert_allclose(b.plan.spend, a.plan.spend, rtol=0, atol=1e-6 * budget)
        scores = [objective_value(o.plan.value, o.plan.spend, national.margins, Objective.parse(objective))
                  for o in (a, b)]
        np.testing.assert_allclose(scores[1], scores[0], rtol=1e-10)
    # planning the one geo's cells, with no limits in the way, finds the national optimum too
    cells = optimize(geo.cells, budget, bounds={c: WIDE for c in config.channel_names})
    np.testing.assert_allclose(cells.plan.spend, optimize(national, budget).plan.spend, rtol=1e-6, atol=1e-6 * budget)


def test_each_cell_is_its_geos_own_plan_and_national_is_the_sum_per_draw(three_geos):
    _, config, panel, scaling, posterior, model = three_geos
    budget = model.run_rate.sum()
    cells = [(g, c) for g in panel.geos for c in config.channel_names]
    for outcome in (model.evaluate(model.current_mix(budget * 1.2), name="national"),
                    model.evaluate({cell: 20_000.0 * (i + 1) for i, cell in enumerate(cells)}, name="by geo")):
        cells = outcome.cells
        per_geo = model.per_geo(cells.value)
        np.testing.assert_array_equal(outcome.value, per_geo.sum(axis=1))  # exactly, draw by draw
        np.testing.assert_array_equal(outcome.spend, model.per_geo(cells.spend).sum(axis=0))
        np.testing.assert_allclose(outcome.total_value, cells.total_value, rtol=1e-12)
        for g in range(panel.n_geos):  # each cell is what that geo's own plan model gives
            own = PlanModel(geo_posterior(posterior, config, g, panel.n_geos), config, panel.geo(g), scaling.geo(g))
            spend = model.per_geo(cells.spend)[g]
            np.testing.assert_allclose(per_geo[:, g], own.channel_values(spend), rtol=1e-12)
            assert own.history_periods == model.history_periods  # carry-in from that geo's last actual spend
        # national mROAS: every geo's spend on the channel scaled by 1 + h together
        bumped = model.cells.channel_values(cells.spend * 1.01)
        expected = (model.per_geo(bumped).sum(axis=1) - outcome.value) / (0.01 * outcome.spend)
        np.testing.assert_allclose(outcome.mroas, expected, rtol=1e-9)


def test_geos_with_their_own_adstock_carry_over_in_their_own_way():
    from test_geo_panel import random_posterior

    result, _, panel, scaling = _panel(seed=3, n_geos=3)
    config = Config.from_dict({**result.config, "model": {**result.config["model"], "geo": {"adstock": "geo"}}})
    posterior = random_posterior(3, config.channel_names, per_geo_adstock=True)
    model = GeoPlanModel(posterior, config, panel, scaling)
    spend = model.cells.current_mix(model.run_rate.sum())
    values = model.per_geo(model.cells.channel_values(spend))
    for g in range(3):
        own = PlanModel(geo_posterior(posterior, config, g, 3), config, panel.geo(g), scaling.geo(g))
        np.testing.assert_allclose(values[:, g], own.channel_values(model.per_geo(spend)[g]), rtol=1e-12)
    alphas = posterior["geometric_alpha"].values[0, 0]  # (geo, channel): they differ, so must the carry-in
    assert not np.allclose(alphas[0], alphas[1])


def test_national_budgets_split_by_each_geos_share_of_the_reference_spend(three_geos):
    result, config, panel, scaling, posterior, model = three_geos
    recent = panel.spend[:, -model.lookback:, :].sum(axis=1)  # the lookback that sets the current run-rate
    np.testing.assert_allclose(model.split, recent / recent.sum(axis=0), rtol=1e-12)
    spend = np.array([700_000.0, 300_000.0])
    np.testing.assert_allclose(model.per_geo(model.evaluate(spend).cells.spend), model.split * spend, rtol=1e-15)
    # a dated flighting reference sets the shares too
    start = panel.dates[40]
    dated = GeoPlanModel(posterior, config, panel, scaling, flighting=start.date().isoformat())
    stretch = panel.spend[:, 40:40 + dated.periods, :].sum(axis=1)
    np.testing.assert_allclose(dated.split, stretch / stretch.sum(axis=0), rtol=1e-12)
    assert dated.split_assumption()["reference"]["start"] == start.date().isoformat()


def test_by_geo_optimum_on_true_curves_matches_a_brute_force_grid():
    result, config, panel, scaling = _panel(seed=8, n_geos=2, geo_roas_spread=0.4)
    model = GeoPlanModel(truth_geo_posterior(result.truth, config, panel), config, panel, scaling)
    wide = {c: WIDE for c in config.channel_names}
    for multiplier in (0.7, 1.4):
        budget = model.run_rate.sum() * multiplier
        found = optimize(model.cells, budget, bounds=wide)
        grid = _grid_optimum(model.cells, budget)
        assert np.abs(found.plan.spend - grid).max() <= 0.02 * budget
        assert found.plan.total_value.mean() >= model.cells.channel_values(grid).sum() - 1e-9 * budget
        # moving money between markets returns at least what the national split does
        assert found.plan.total_value.mean() >= optimize(model, budget).plan.total_value.mean() - 1e-9 * budget


def test_by_geo_moves_budget_to_the_geo_with_the_higher_true_marginal_roas():
    result, config, panel, scaling = _panel(seed=2, n_geos=2)
    truth = truth_geo_posterior(result.truth, config, panel)
    stronger = truth["channel_coef_geo_z"].copy(data=truth["channel_coef_geo_z"].values + np.log([[1.0], [1.6]]))
    model = GeoPlanModel(truth.assign(channel_coef_geo_z=stronger), config, panel, scaling)  # geo_001 pays 1.6x
    budget = model.run_rate.sum()
    current = model.cells.evaluate(model.cells.current_mix(budget))
    mroas = model.per_geo(current.mroas)[0]
    assert (mroas[1] > mroas[0]).all()
    plan = optimize(model.cells, budget)
    before, after = model.per_geo(current.spend), model.per_geo(plan.plan.spend)
    print(f"\nmROAS at the current mix {mroas.round(2).tolist()}; spend {before.round(0).tolist()} -> "
          f"{after.round(0).tolist()}")
    assert (after[1] / after.sum(axis=0) > before[1] / before.sum(axis=0)).all()  # geo_001's share of each channel
    assert after[1].sum() > before[1].sum() and after[0].sum() < before[0].sum()
    # within the default limits: each cell between 0.5x and 2x its current-mix spend
    ratio = plan.plan.spend / current.spend
    assert (ratio >= DEFAULT_CELL_RANGE[0] * (1 - 1e-9)).all() and (ratio <= DEFAULT_CELL_RANGE[1] * (1 + 1e-9)).all()
    assert plan.plan.spend.sum() == pytest.approx(budget, rel=1e-9)
    assert plan.plan.total_value.mean() > current.total_value.mean()


def test_by_geo_bounds_name_geos_channels_or_cells(three_geos, tmp_path):
    _, config, panel, _, _, model = three_geos
    channels, geos = config.channel_names, panel.geos
    path = tmp_path / "bounds.csv"
    path.write_text(f"geo,channel,min,max,max_change,locked\n,{channels[0]},,,0.5,\n{geos[1]},{channels[1]},,1000,,\n"
                    f"{geos[2]},{channels[1]},,,,yes\n")
    bounds = load_bounds(path, channels, geos)
    assert bounds == {channels[0]: ChannelBounds(max_change=0.5), (geos[1], channels[1]): ChannelBounds(max=1000.0),
                      (geos[2], channels[1]): ChannelBounds(locked=True)}
    yml = tmp_path / "bounds.yaml"
    yml.write_text(yaml.safe_dump({"channels": {channels[0]: {"max_change": 0.5}},
                                   "geos": {geos[1]: {channels[1]: {"max": 1000}},
                                            geos[2]: {channels[1]: {"locked": True}}}}))
    assert load_bounds(yml, channels, geos) == bounds
    budget = model.run_rate.sum() * 0.8
    result = optimize(model.cells, budget, bounds=bounds, bounds_source=str(path))
    spend = model.per_geo(result.plan.spend)
    rate = model.per_geo(model.cells.run_rate)
    assert (spend[:, 0] <= 1.5 * rate[:, 0] * (1 + 1e-9)).all()  # the channel row, in every geo
    assert spend[1, 1] <= 1000 * (1 + 1e-9) and spend[2, 1] == pytest.approx(rate[2, 1], rel=1e-12)
    current = model.per_geo(model.cells.current_mix(budget))  # the other cell keeps the default limits
    assert DEFAULT_CELL_RANGE[0] - 1e-9 <= spend[0, 1] / current[0, 1] <= DEFAULT_CELL_RANGE[1] + 1e-9

    path.write_text(f"geo,channel,max\natlantis,{channels[0]},10\n")
    with pytest.raises(ConfigError, match=r"bounds.csv: row 2: unknown geo 'atlantis'; the run's geos are geo_000"):
        load_bounds(path, channels, geos)
    with pytest.raises(ConfigError, match=r"bounds.csv: row 2: names geo 'atlantis', but the run is national"):
        load_bounds(path, channels)
    with pytest.raises(ConfigError, match=rf"names geo '{geos[1]}'.*--by-geo"):
        optimize(model, budget, bounds={(geos[1], channels[1]): ChannelBounds(max=10.0)})
    with pytest.raises(ConfigError, match=rf"channel {channels[0]}: a min/max amount without a geo is ambiguous"):
        optimize(model.cells, budget, bounds={channels[0]: ChannelBounds(max=10.0)})


def test_geo_plans_file_and_errors(tmp_path):
    channels, geos = ["tv", "search"], ["north", "south"]
    path = tmp_path / "plans.csv"
    path.write_text("plan,geo,tv,search\nshift,north,10,20\nshift,south,30,40\nflat,,50,50\n")
    assert load_plans(path, channels, geos) == {
        "shift": {("north", "tv"): 10.0, ("north", "search"): 20.0, ("south", "tv"): 30.0, ("south", "search"): 40.0},
        "flat": {"tv": 50.0, "search": 50.0}}
    path.write_text("plan,geo,channel,spend\nshift,north,tv,10\nshift,north,search,20\nshift,south,tv,30\n")
    with pytest.raises(ConfigError, match="plan 'shift' gives no spend for search in geo south"):
        load_plans(path, channels, geos)
    path.write_text("plan,geo,channel,spend\nx,west,tv,10\n")
    with pytest.raises(ConfigError, match="row 2: unknown geo 'west'; the run's geos are north, south"):
        load_plans(path, channels, geos)
    path.write_text("plan,geo,channel,spend\nx,north,tv,10\nx,north,search,10\nx,south,tv,1\nx,south,search,1\n"
                    "x,,tv,5\n")
    with pytest.raises(ConfigError, match="gives a geo on some rows and none on others"):
        load_plans(path, channels, geos)


# ----------------------------------------------------------------------------- the CLI on a geo run folder


@pytest.fixture(scope="module")
def geo_run(tmp_path_factory, three_geos):
    """A geo run folder (the contract files) holding the spread-around-truth posterior."""
    result, config, panel, scaling, posterior, _ = three_geos
    return write_synthetic_run(tmp_path_factory.mktemp("geo") / "geo-run", result, posterior, scaling)


def _reconciles(folder, by_geo_name="plan_by_geo.csv", national_name="plan.csv", plan=None):
    """Per channel, the geos' rows sum to the national row; per geo, the channel rows to the geo's total."""
    national, by_geo = pd.read_csv(folder / national_name), pd.read_csv(folder / by_geo_name)
    if plan is not None:
        national, by_geo = national[national["plan"] == plan], by_geo[by_geo["plan"] == plan]
    cells = by_geo[by_geo["channel"] != "total"]
    sums = cells.groupby("channel", sort=False)[["spend", "incremental_value_mean", "profit_mean"]].sum()
    national = national.set_index("channel")
    for metric in sums.columns:
        assert national.loc[sums.index, metric].to_numpy() == pytest.approx(sums[metric].to_numpy(), rel=1e-9)
    totals = by_geo[by_geo["channel"] == "total"].set_index("geo")
    per_geo = cells.groupby("geo")[["spend", "incremental_value_mean"]].sum()
    assert totals.loc[per_geo.index, "spend"].to_numpy() == pytest.approx(per_geo["spend"].to_numpy(), rel=1e-9)
    return national, cells


def test_cli_optimize_a_geo_run_nationally_and_by_geo(geo_run, three_geos, tmp_path, capsys):
    _, config, panel, *_, model = three_geos
    budget = model.run_rate.sum()
    assert main(["optimize", str(geo_run), "--budget", str(budget), "--out", str(tmp_path / "plan")]) == 0
    national, cells = _reconciles(tmp_path / "plan")
    assert national.loc["total", "spend"] == pytest.approx(budget, rel=1e-9)
    summary = json.loads((tmp_path / "plan" / "plan.json").read_text())
    shares = summary["geo"]["budget_split"]["shares"]
    assert shares[panel.geos[1]][config.channel_names[0]] == pytest.approx(model.split[1, 0], rel=1e-12)
    assert "split over geos" in summary["geo"]["decision"]
    html = (tmp_path / "plan" / "plan.html").read_text()
    assert "By geo" in html and "each geo gets its share of the channel" in html

    bounds = tmp_path / "bounds.csv"
    bounds.write_text(f"geo,channel,max\n{panel.geos[0]},{config.channel_names[1]},5000\n")
    assert main(["optimize", str(geo_run), "--budget", str(budget), "--by-geo", "--bounds", str(bounds),
                 "--objective", "profit", "--out", str(tmp_path / "by-geo")]) == 0
    national, cells = _reconciles(tmp_path / "by-geo")
    capped = cells[(cells["geo"] == panel.geos[0]) & (cells["channel"] == config.channel_names[1])]
    assert capped["spend"].iloc[0] <= 5000 * (1 + 1e-9)
    summary = json.loads((tmp_path / "by-geo" / "plan.json").read_text())
    assert summary["geo"]["decision"].startswith("spend per (geo, channel)")
    assert summary["geo"]["bounds"][panel.geos[0]][config.channel_names[1]]["upper"] == pytest.approx(5000)
    periods = pd.read_csv(tmp_path / "by-geo" / "plan_periods.csv")
    assert periods.groupby(["geo", "channel"])["spend"].sum().to_numpy() == pytest.approx(
        cells.set_index(["geo", "channel"]).sort_index()["spend"].to_numpy(), rel=1e-9)
    assert "Allocation per geo and channel" in (tmp_path / "by-geo" / "plan.html").read_text()
    assert main(["optimize", str(geo_run), "--target-roi", "0.2", "--by-geo", "--out", str(tmp_path / "target")]) == 0
    target = json.loads((tmp_path / "target" / "plan.json").read_text())
    assert target["target"]["reached"] >= 0.2 and target["geo"]["decision"].startswith("spend per (geo, channel)")
    _reconciles(tmp_path / "target")

    bounds.write_text(f"geo,channel,max\nnowhere,{config.channel_names[1]},5000\n")
    assert main(["optimize", str(geo_run), "--budget", "1e6", "--by-geo", "--bounds", str(bounds), "--out",
                 str(tmp_path / "bad")]) == 2
    assert "bounds.csv: row 2: unknown geo 'nowhere'" in capsys.readouterr().err
    assert not (tmp_path / "bad").exists()


def test_cli_by_geo_on_a_national_run_is_refused(tmp_path, capsys):
    synthetic = generate(SynthSpec(seed=1, n_periods=60, n_channels=2, controls=False))
    config = Config.from_dict(synthetic.config)
    data = load_data(synthetic.data, config.roles())
    folder = write_synthetic_run(tmp_path / "national", synthetic, truth_posterior(synthetic.truth, config, data),
                                 series_scaling(data))
    assert main(["optimize", str(folder), "--budget", "1e5", "--by-geo", "--out", str(tmp_path / "plan")]) == 2
    assert "--by-geo plans per (geo, channel), but" in capsys.readouterr().err
    assert not (tmp_path / "plan").exists()


def test_cli_scenarios_of_national_and_per_geo_plans(geo_run, three_geos, tmp_path):
    _, config, panel, *_, model = three_geos
    rate = model.per_geo(model.cells.run_rate)
    tv, search = config.channel_names
    rows = ["plan,geo,channel,spend"]
    rows += [f"current,,{c},{model.run_rate[k]}" for k, c in enumerate(config.channel_names)]
    shift = rate.copy()
    shift[0], shift[1] = rate[0] * 0.5, rate[1] + rate[0] * 0.5  # geo 0's money to geo 1
    rows += [f"to {panel.geos[1]},{g},{c},{shift[i, k]}" for i, g in enumerate(panel.geos)
             for k, c in enumerate(config.channel_names)]
    plans = tmp_path / "plans.csv"
    plans.write_text("\n".join(rows) + "\n")
    assert main(["scenario", str(geo_run), str(plans), "--by-geo", "--out", str(tmp_path / "sc")]) == 0
    folder = tmp_path / "sc"
    for name in ("current", f"to {panel.geos[1]}", "optimized"):
        _reconciles(folder, "scenario_by_geo.csv", "scenario_channels.csv", plan=name)
    pairs = pd.read_csv(folder / "scenario_pairs.csv").set_index(["plan_a", "plan_b"])["p_a_beats_b"]
    assert pairs[("optimized", "current")] + pairs[("current", "optimized")] == pytest.approx(1.0)
    # P(A beats B) on the same draws, from the national totals (sums over geos)
    a = model.evaluate({(g, c): shift[i, k] for i, g in enumerate(panel.geos) for k, c in enumerate(config.channel_names)})
    b = model.evaluate(dict(zip(config.channel_names, model.run_rate)))
    assert pairs[(f"to {panel.geos[1]}", "current")] == pytest.approx((a.total_profit > b.total_profit).mean())
    summary = json.loads((folder / "scenarios.json").read_text())
    assert set(summary["geo"]["plans"]["current"]) == set(panel.geos)
    assert "outcome per geo" in (folder / "scenarios.html").read_text()


def test_plan_model_of_a_geo_run_folder(geo_run, three_geos):
    *_, model = three_geos
    loaded = plan_model(geo_run)
    assert isinstance(loaded, GeoPlanModel) and loaded.geos == model.geos
    np.testing.assert_allclose(loaded.run_rate, model.run_rate, rtol=1e-12)
    spend = model.current_mix()
    np.testing.assert_allclose(loaded.evaluate(spend).value, model.evaluate(spend).value, rtol=1e-12)


def test_a_cell_without_recent_spend_stays_at_zero_unless_a_bound_opens_it():
    result, config, panel, scaling = _panel(seed=3, n_geos=3)
    data = result.data.copy()
    quiet = (data["geo"] == "geo_002") & (data["date"] > data["date"].max() - pd.Timedelta(weeks=20))
    data.loc[quiet, "search_spend"] = 0.0  # geo_002 paused search over the run-rate's lookback
    panel = load_panel(data, config.roles())
    model = GeoPlanModel(truth_geo_posterior(result.truth, config, panel), config, panel, scaling)
    assert model.split[2, 1] == 0.0
    budget = model.run_rate.sum()
    assert optimize(model.cells, budget).plan.spend[5] == 0.0  # the data say nothing about it now: it stays off
    opened = optimize(model.cells, budget, bounds={("geo_002", "search"): ChannelBounds(max=50_000.0)})
    assert 0.0 < opened.plan.spend[5] <= 50_000.0 * (1 + 1e-9)


@pytest.mark.slow
def test_cli_plans_on_a_fitted_geo_run(tmp_path):
    """Fit a tiny panel, save the run, plan it by geo and compare scenarios through the CLI."""
    from mmm.api import fit

    truth = generate(SynthSpec(n_periods=80, n_channels=2, controls=False, seed=6, n_geos=3))
    config = Config.from_dict({**truth.config, "fit": {"draws": 300, "tune": 300, "chains": 2, "seed": 6}})
    fitted = fit(config, truth.data)
    run = fitted.save(tmp_path / "run", report=False)
    expected_rc = 0 if fitted.diagnostics.ok else 1
    geos, (tv, search) = fitted.data.geos, config.channel_names
    budget = float(fitted.data.spend[:, -13:, :].sum())
    bounds = tmp_path / "bounds.csv"
    bounds.write_text(f"geo,channel,min_change,max_change\n,{tv},-50%,50%\n{geos[0]},{search},0,0.1\n")
    assert main(["optimize", str(run), "--budget", str(budget), "--by-geo", "--bounds", str(bounds),
                 "--out", str(tmp_path / "plan")]) == expected_rc
    national, cells = _reconciles(tmp_path / "plan")
    assert national.loc["total", "spend"] == pytest.approx(budget, rel=1e-9)

    model = plan_model(run)  # the run folder's posterior, every draw
    assert model.n_draws == 600 and model.geos == geos
    spend = {(g, c): s for g, c, s in cells[["geo", "channel", "spend"]].itertuples(index=False)}
    outcome = model.evaluate(spend)
    np.testing.assert_array_equal(outcome.value, model.per_geo(outcome.cells.value).sum(axis=1))
    assert national.loc[[tv, search], "incremental_value_mean"].to_numpy() == pytest.approx(
        outcome.value.mean(axis=0), rel=1e-9)
    rate = model.per_geo(model.cells.run_rate)
    assert cells.set_index(["geo", "channel"]).loc[(geos[0], search), "spend"] <= 1.1 * rate[0, 1] * (1 + 1e-9)

    plans = tmp_path / "plans.csv"
    plans.write_text("plan,geo,tv,search\n" + f"national,,{budget / 2},{budget / 2}\n"
                     + "".join(f"even,{g},{budget / 6},{budget / 6}\n" for g in geos))
    assert main(["scenario", str(run), str(plans), "--out", str(tmp_path / "sc")]) == expected_rc
    for name in ("national", "even", "optimized"):
        _reconciles(tmp_path / "sc", "scenario_by_geo.csv", "scenario_channels.csv", plan=name)
    pairs = pd.read_csv(tmp_path / "sc" / "scenario_pairs.csv").set_index(["plan_a", "plan_b"])["p_a_beats_b"]
    assert pairs[("even", "national")] + pairs[("national", "even")] == pytest.approx(1.0)
