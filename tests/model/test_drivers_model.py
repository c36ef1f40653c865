"""Events, organic media and treatments in the model: the PyMC graph's expected KPI equals the one the figures
recompute from the same parameters (one definition each), the components add up to the fit, and a
treatment's contribution is counted from its reference level."""

from __future__ import annotations

import numpy as np
import pytensor
import pytest

from mmm.analysis.geo_effects import compute_geo_effects
from mmm.analysis.pipeline import load
from mmm.data.panel_design import PanelScaling, build_panel_design
from mmm.data.synth import SynthSpec, generate
from mmm.model.build import build_model
from mmm.model.prior_sample import sample_prior
from mmm.spec.config import Config


def _case(n_geos: int):
    result = generate(SynthSpec(seed=3, n_periods=60, n_channels=2, n_geos=n_geos, events=True, organic=True,
                                promo_treatment=True))
    config = Config.from_dict({**result.config, "data": {**result.config["data"], "min_periods": 26}})
    panel = load(config, result.data)
    return result, config, panel, PanelScaling.compute(panel)


@pytest.mark.parametrize("n_geos", [1, 3])
def test_the_graph_and_the_figures_give_the_same_expected_kpi(n_geos):
    _, config, panel, scaling = _case(n_geos)
    model = build_model(config, build_panel_design(panel, scaling, config.design))
    assert {"event_coef", "organic_coef", "organic_geometric_alpha", "organic_logistic_lam"} <= set(model.named_vars)
    prior = sample_prior(config, panel, scaling, n_draws=3, seed=1)
    mu = model["kpi_obs"].owner.inputs[2]  # (G, T) expected KPI in each geo's model units
    expected = pytensor.function(model.free_RVs, mu, on_unused_input="ignore")
    figures = compute_geo_effects(prior, config, panel, scaling).national
    for d in range(3):
        point = [prior[rv.name].isel(chain=0, draw=d).values for rv in model.free_RVs]
        national = (expected(*point) * scaling.kpi[:, None]).sum(axis=0)
        np.testing.assert_allclose(figures.mu[d], national, rtol=1e-9)


def test_components_add_up_and_a_treatment_counts_from_its_reference():
    result, config, panel, scaling = _case(1)
    prior = sample_prior(config, panel, scaling, n_draws=4, seed=2)
    effects = compute_geo_effects(prior, config, panel, scaling).national
    assert effects.component_kinds == {"black_friday": "event", "christmas": "event", "newsletter": "organic",
                                       "promo": "treatment"}
    parts = effects.baseline + effects.contributions.sum(axis=-1) + sum(effects.components.values())
    np.testing.assert_allclose(parts, effects.mu, rtol=1e-12)
    # promo against no promotion: zero in every week without one, coef x promo / sd in the others
    promo = result.data["promo"].to_numpy()
    coef = prior["control_coef"].sel(control="promo").values.ravel()
    per_week = coef[:, None] * promo[None, :] / scaling.control_scale["promo"] * scaling.kpi[0]
    np.testing.assert_allclose(effects.components["promo"], per_week, rtol=1e-9, atol=1e-6)
    # an event acts only in its periods
    quiet = ~np.asarray(result.truth["components"]["christmas"]["per_period"], dtype=bool)
    assert np.all(effects.components["christmas"][:, quiet] == 0.0)
    totals = effects.component_totals()
    assert totals["newsletter"]["contribution"]["lo"] > 0  # organic media only adds
    table = effects.contributions_table()
    assert {"baseline", "events", "newsletter", "promo", "tv", "search"} == set(table["component"])
