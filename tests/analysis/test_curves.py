"""Response and carry-over curves agree with the ROI figures and the true adstock."""

from __future__ import annotations

import numpy as np
import pytest

from mmm.spec.config import Config
from mmm.analysis.curves import break_even_spend, carryover_curves
from mmm.analysis.geo_effects import geo_response_curves
from mmm.data.panel_design import PanelScaling
from mmm.data.load import load_data
from mmm.data.panel import as_panel
from mmm.data.synth import SynthSpec, generate
from mmm.model.geo_terms import geo_posterior
from mmm.model.truth import truth_posterior


@pytest.fixture(scope="module")
def setup():
    """National data as the one model reads it: a panel of one geo, its scaling, and the truth as its posterior."""
    result = generate(SynthSpec(seed=0))
    config = Config.from_dict(result.config)
    data = as_panel(load_data(result.data, config.roles()))
    scaling = PanelScaling.compute(data)
    truth = truth_posterior(result.truth, config, data.geo(0))
    posterior = truth.assign(sigma=truth["sigma"].expand_dims(geo=list(data.geos), axis=-1))  # sigma per geo
    return result, config, data, scaling, posterior


def _carryover(posterior, config, data, scaling):
    """Carry-over curves of a one-geo panel, as a fitted run reads them (its geo's national-shaped parameters)."""
    return carryover_curves(geo_posterior(posterior, config, 0, data.n_geos), config, data.geo(0), scaling.geo(0))


def test_response_curve_at_actual_spend_is_the_roi_tables_incremental_value(setup):
    result, config, data, scaling, posterior = setup
    curves = geo_response_curves(posterior, config, data, scaling)
    for channel, figures in result.truth["figures"].items():
        curve = curves[curves["channel"] == channel].set_index("multiplier")
        assert curve.loc[0.0, "value_mean"] == 0.0
        assert curve.loc[1.0, "spend"] == pytest.approx(figures["spend"], rel=1e-12)
        assert curve.loc[1.0, "value_mean"] == pytest.approx(figures["incremental_kpi"], rel=1e-9)
        assert np.all(np.diff(curve["value_mean"].to_numpy()) > 0)  # more spend, more return...
        slopes = np.diff(curve["value_mean"].to_numpy()) / np.diff(curve["spend"].to_numpy())
        assert slopes[-1] < slopes[1]  # ...at a diminishing rate


def test_break_even_is_where_profit_crosses_zero(setup):
    result, config, data, scaling, posterior = setup
    curves = geo_response_curves(posterior, config, data, scaling)
    margin = config.finance.margin
    break_even = break_even_spend(curves, margin)
    for channel, spend in break_even.items():
        curve = curves[curves["channel"] == channel]
        if spend is None:  # never profitable on the grid, or still profitable at twice the spend
            profit = curve["value_mean"] * margin - curve["spend"]
            assert (profit.iloc[1:] <= 0).all() or (profit.iloc[1:] > 0).all()
            continue
        value = np.interp(spend, curve["spend"], curve["value_mean"])
        assert value * margin == pytest.approx(spend, rel=1e-2)
    # the unprofitable-at-current-spend channel (true profit ROI < 0) breaks even below its current spend
    tv = result.truth["figures"]["tv"]
    assert tv["profit_roi"] < 0
    assert break_even["tv"] is None or break_even["tv"] < tv["spend"]


def test_carryover_curve_is_the_true_cumulative_adstock(setup):
    result, config, data, scaling, posterior = setup
    curves = _carryover(posterior, config, data, scaling)
    for channel, params in result.truth["params"]["channels"].items():
        alpha, lags = params["adstock_params"]["alpha"], params["max_lag"]
        weights = alpha ** np.arange(lags)
        expected = np.cumsum(weights / weights.sum())
        got = curves[curves["channel"] == channel]["share_mean"].to_numpy()
        np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_curve_plots_draw_every_channel(setup):
    from mmm.report.curve_plots import plot_carryover, plot_response_curves

    result, config, data, scaling, posterior = setup
    curves = geo_response_curves(posterior, config, data, scaling, max_draws=1)
    fig = plot_response_curves(curves, break_even_spend(curves, 0.6), currency="USD")
    assert [ax.get_title() for ax in fig.axes] == config.channel_names
    fig = plot_carryover(_carryover(posterior, config, data, scaling))
    assert len(fig.axes[0].get_lines()) == len(config.channel_names) + 2  # + the 50% and 90% guides


def test_period_plots_and_waterfall(setup):
    from mmm.analysis.geo_effects import compute_geo_effects
    from mmm.report.period_plots import plot_contributions_by_period, plot_waterfall
    from mmm.analysis.periods import aggregate_contributions

    result, config, data, scaling, posterior = setup
    effects = compute_geo_effects(posterior, config, data, scaling).national
    quarterly = aggregate_contributions(effects, "quarter")
    fig = plot_contributions_by_period(quarterly, period="quarter")
    bars = fig.axes[0].patches
    assert len(bars) == quarterly["period"].nunique() * (1 + len(config.channel_names))
    totals = effects.contribution_totals()
    # the parts add up to the total: baseline + channels = expected KPI over the window
    parts = totals["baseline"]["mean"] + sum(totals[c]["mean"] for c in config.channel_names)
    assert parts == pytest.approx(totals["total"]["mean"], rel=1e-12)
    fig = plot_waterfall(totals)
    heights = [p.get_height() for p in fig.axes[0].patches]
    assert heights[-1] == pytest.approx(sum(heights[:-1]), rel=1e-12)
