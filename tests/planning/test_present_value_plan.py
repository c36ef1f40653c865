"""Plans at present value (``--objective npv``): on the synthetic truth as a posterior, against loops that
discount each return by its lag from the plan period of its spend."""

from __future__ import annotations

import numpy as np
import pytest

from mmm.analysis.present_value import period_discount
from mmm.data import synth_truth
from mmm.data.load import load_data
from mmm.data.panel_design import series_scaling
from mmm.data.synth import ChannelTruth, SynthSpec, generate
from mmm.model.truth import truth_posterior
from mmm.planning.optimize import PlanModel, optimize
from mmm.spec.config import Config, ConfigError

CHANNELS = [ChannelTruth("slow", level=30_000, adstock_params={"alpha": 0.85}, max_lag=13, target_roas=2.0),
            ChannelTruth("fast", level=30_000, adstock_params={"alpha": 0.1}, max_lag=4, target_roas=2.0)]


def _model(rate: float | None, periods: int | None = None):
    result = generate(SynthSpec(seed=4, channels=CHANNELS, n_periods=120, controls=False))
    raw = dict(result.config)
    raw["finance"] = {**(raw.get("finance") or {}), **({} if rate is None else {"discount_rate": rate})}
    config = Config.from_dict(raw)
    data = load_data(result.data, config.roles())
    scaling = series_scaling(data)
    posterior = truth_posterior(result.truth, config, data)
    return result, PlanModel(posterior, config, data, scaling, periods=periods)


def test_at_a_zero_rate_present_value_is_face_value_and_npv_plans_as_profit():
    _, model = _model(0.0)
    spend = model.current_mix(200_000.0)
    np.testing.assert_allclose(model.channel_values(spend, "present_value"), model.channel_values(spend), rtol=1e-9)
    by_npv, by_profit = optimize(model, 200_000.0, objective="npv"), optimize(model, 200_000.0, objective="profit")
    np.testing.assert_allclose(by_npv.plan.spend, by_profit.plan.spend, rtol=1e-6, atol=1e-3)
    np.testing.assert_allclose(by_npv.plan.value_npv, by_npv.plan.value, rtol=1e-9)


def test_one_period_plan_discounts_each_return_by_its_lag():
    """The truth, by loops: the data's spend and then one plan period, against the data's spend alone."""
    rate = 0.6
    result, model = _model(rate, periods=1)
    discount = period_discount(rate, "W")
    plan = np.array([50_000.0, 20_000.0])
    outcome = model.evaluate(plan)
    n = len(result.data)
    for k, (name, ch) in enumerate(result.truth["params_natural"]["channels"].items()):
        spend = result.data[ch["spend_column"]].to_numpy(dtype=float)
        weights = synth_truth.adstock_weights(ch["adstock"], ch["adstock_params"], ch["max_lag"])
        horizon = n + ch["max_lag"]
        scale = result.truth["scaling"]["spend"][name]
        with_plan, _ = synth_truth.contribution(np.append(spend, plan[k]) / scale, ch, weights, horizon)
        without, _ = synth_truth.contribution(spend / scale, ch, weights, horizon)
        gain = with_plan - without
        assert outcome.value[0, k] == pytest.approx(gain[n:].sum(), rel=1e-6)
        present = sum(gain[t] * discount ** (t - n) for t in range(n, horizon))
        assert outcome.value_npv[0, k] == pytest.approx(present, rel=1e-6)
        assert outcome.value_npv[0, k] < outcome.value[0, k]


def test_npv_moves_budget_from_the_late_channel_and_is_the_best_split_at_present_value():
    _, model = _model(0.9)
    budget = 400_000.0
    by_npv, by_profit = optimize(model, budget, objective="npv"), optimize(model, budget, objective="profit")
    slow = model.channels.index("slow")
    assert by_npv.plan.spend[slow] < by_profit.plan.spend[slow] - 0.01 * budget
    # brute force over the split, at present value
    shares = np.linspace(0.0, 1.0, 401)
    profit = [float((model.channel_values(np.array([s, 1 - s]) * budget, "present_value") * model.margins).sum()
                    - budget) for s in shares]
    best = shares[int(np.argmax(profit))] * budget
    assert by_npv.plan.spend[slow] == pytest.approx(best, abs=budget / 400 + 1e-6)
    npv_profit = by_npv.plan.profit_npv.sum(axis=1).mean()
    assert npv_profit >= by_profit.plan.profit_npv.sum(axis=1).mean()
    totals = by_npv.plan.totals()
    assert totals["profit_npv"]["mean"] == pytest.approx(npv_profit)
    assert totals["roas_npv"]["mean"] < totals["roas"]["mean"]


def test_npv_without_a_discount_rate_is_refused_with_the_fix():
    _, model = _model(None)
    assert model.evaluate(model.current_mix()).value_npv is None
    with pytest.raises(ConfigError, match="finance.discount_rate"):
        optimize(model, 200_000.0, objective="npv")


def test_cli_optimize_npv_writes_present_value_figures_and_refuses_a_run_without_a_rate(tmp_path, capsys):
    import json
    from dataclasses import replace

    import pandas as pd

    from mmm.cli.main import main
    from synthetic_runs import write_synthetic_run  # tests/ is on sys.path under pytest

    result = generate(SynthSpec(seed=4, channels=CHANNELS, n_periods=120, controls=False))
    runs = {}
    for name, rate in (("discounted", 0.5), ("face", None)):
        raw = json.loads(json.dumps(result.config))
        if rate is not None:
            raw.setdefault("finance", {})["discount_rate"] = {"value": rate, "source": "treasury"}
        config = Config.from_dict(raw)
        data = load_data(result.data, config.roles())
        runs[name] = write_synthetic_run(tmp_path / name, replace(result, config=raw),
                                         truth_posterior(result.truth, config, data, n_draws=20),
                                         series_scaling(data))
    out = tmp_path / "plan"
    assert main(["optimize", str(runs["discounted"]), "--budget", "400000", "--objective", "npv",
                 "--out", str(out)]) == 0
    table = pd.read_csv(out / "plan.csv").set_index("channel")
    assert table.loc["total", "profit_npv_mean"] < table.loc["total", "profit_mean"]
    assert table.loc["total", "spend"] == pytest.approx(400_000, rel=1e-9)
    plan = json.loads((out / "plan.json").read_text())
    assert plan["inputs"]["objective"] == "npv" and "present value" in plan["inputs"]["objective_label"]
    assert "Profit at present value" in (out / "plan.html").read_text()
    capsys.readouterr()
    assert main(["optimize", str(runs["face"]), "--budget", "400000", "--objective", "npv",
                 "--out", str(tmp_path / "refused")]) == 2
    assert "finance.discount_rate" in capsys.readouterr().err
    assert not (tmp_path / "refused").exists()


def test_a_geo_plan_sums_its_cells_at_present_value():
    from mmm.data.panel import load_panel
    from mmm.data.panel_design import PanelScaling
    from mmm.model.truth import truth_geo_posterior
    from mmm.planning.geo_plan import GeoPlanModel

    result = generate(SynthSpec(n_periods=80, n_channels=2, controls=False, seed=3, n_geos=3))
    for rate in (0.0, 0.5):
        raw = dict(result.config)
        raw["finance"] = {**(raw.get("finance") or {}), "discount_rate": rate}
        config = Config.from_dict(raw)
        panel = load_panel(result.data, config.roles())
        model = GeoPlanModel(truth_geo_posterior(result.truth, config, panel), config, panel,
                             PanelScaling.compute(panel))
        outcome = model.evaluate(model.current_mix())
        np.testing.assert_allclose(outcome.value_npv, model.per_geo(outcome.cells.value_npv).sum(axis=1), rtol=1e-12)
        if rate == 0.0:
            np.testing.assert_allclose(outcome.value_npv, outcome.value, rtol=1e-9)
        else:
            assert (outcome.value_npv < outcome.value).all()
            plan = optimize(model, float(model.run_rate.sum()), objective="npv")
            assert plan.plan.value_npv is not None
