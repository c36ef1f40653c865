"""Lift experiments on a geo model: geo-level tests and national tests as likelihood terms.

An experiment that names a ``geo`` measured the lift of switching the channel off in that
geo alone over the test (the usual geo lift test): its model counterpart is that geo's
counterfactual incremental KPI, ``coef_gk · kpi_scale_g · δ_gk`` with δ the channel's
saturated response with actual spend minus the one with its spend zeroed in the test,
through adstock and saturation, summed over the test and its carry-over tail
(:func:`mmm.model.lift_tests.unit_lift`, the national definition, run on every geo's spend).
An experiment without a geo is national: the channel is switched off in every geo and the
lift is the sum over geos. Each adds ``Normal(incremental_kpi | model lift, se)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from mmm.model import lift_tests as experiments

from mmm.model import media
from mmm.data.geo_design import GeoDesign, GeoScaling, geo_designs
from mmm.data.panel import GeoData


def tested_geos(config, geos: list[str]) -> np.ndarray:
    """(E, G) 1 where experiment e switched its channel off in geo g: its own geo, or every geo."""
    return np.array([[1.0 if e.geo in (None, geo) else 0.0 for geo in geos] for e in config.experiments])


def add_likelihood(config, design: GeoDesign, params: dict[str, Any]) -> None:
    """One Normal term per experiment in the geo model in context.

    ``params``: the media parameters with ``channel_coef`` per geo, (G, K) (the model's
    :func:`mmm.model.geo_terms.geo_terms`). Each term is in units of the tested market's KPI scale.
    """
    if not config.experiments:
        return
    rows = experiments.experiment_rows(config, design.dates, design.spend)  # lags (G, R, K, L)
    lift = experiments.unit_lift(config, rows, params)  # (G, E) per unit coefficient, model units
    by_geo = lift * params[media.COEF][:, rows.channel] * design.kpi_scale[:, None]  # KPI units
    weights = tested_geos(config, design.geos)
    scale = weights @ design.kpi_scale  # (E,) KPI units per model unit of the tested market
    experiments.observe((by_geo * weights.T).sum(axis=0) / scale, rows, scale)


def incremental_draws(config, panel: GeoData, scaling: GeoScaling, posterior: xr.Dataset) -> np.ndarray:
    """(D, E) the model's incremental KPI of each test per posterior draw (KPI units; NumPy twin of
    the likelihood term): :func:`mmm.model.lift_tests.incremental_draws` in each tested geo, summed."""
    from mmm.model.geo_terms import draw_terms, geo_posterior

    weights = tested_geos(config, panel.geos)
    designs = geo_designs(panel, scaling, config.model.seasonality_order)
    terms = draw_terms(posterior, panel.n_geos)
    total = np.zeros((posterior.sizes["chain"] * posterior.sizes["draw"], len(config.experiments)))
    for g in np.flatnonzero(weights.any(axis=0)):
        geo = geo_posterior(posterior, config, int(g), panel.n_geos, terms)
        total += weights[:, g] * experiments.incremental_draws(config, designs[g], geo)
    return total
