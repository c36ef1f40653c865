"""The model's lift of each lift test per posterior draw: the NumPy twin of the likelihood term of
:mod:`mmm.model.lift_tests` (the same counterfactual: the channel's spend zeroed over the test, in its
geo or in every geo, through adstock and saturation, summed over the test and its carry-over tail)."""

from __future__ import annotations

import numpy as np
import xarray as xr

from mmm.analysis.effects import posterior_draws
from mmm.data.panel_design import PanelScaling, series_designs
from mmm.data.panel import Panel
from mmm.model import media
from mmm.model.geo_terms import draw_terms, geo_posterior
from mmm.model.lift_tests import experiment_mask, tested_geos
from mmm.model.roas_prior import extended_spend, tail_length


def incremental_draws(config, panel: Panel, scaling: PanelScaling, posterior: xr.Dataset) -> np.ndarray:
    """(D, E) the model's incremental KPI of each test per posterior draw (KPI units; NumPy twin of
    the likelihood term): :func:`series_incremental_draws` in each tested geo, summed."""
    weights = tested_geos(config, panel.geos)
    designs = series_designs(panel, scaling, config.design)
    terms = draw_terms(posterior, panel.n_geos)
    total = np.zeros((posterior.sizes["chain"] * posterior.sizes["draw"], len(config.experiments)))
    for g in np.flatnonzero(weights.any(axis=0)):
        geo = geo_posterior(posterior, config, int(g), panel.n_geos, terms)
        total += weights[:, g] * series_incremental_draws(config, designs[g], geo)
    return total


def series_incremental_draws(config, design, posterior) -> np.ndarray:
    """(D, E) the model's incremental KPI of each experiment's test, per posterior draw (KPI units).

    One geo's (a national-shaped design and posterior); draws chain-major, like :mod:`mmm.analysis.effects`.
    """
    draws = posterior_draws(posterior, config, design)
    params = {name: draws[name] for name, *_ in media.parameter_layout(config.channels)}
    tail = tail_length(config)
    spend = extended_spend(config, design.spend)
    _, actual = media.media_response(spend, config.channels, params)
    out = np.zeros((actual.shape[0], len(config.experiments)))
    for i, e in enumerate(config.experiments):
        k = config.channel_names.index(e.channel)
        counterfactual = spend.copy()
        counterfactual[experiment_mask(e, design.dates, tail), k] = 0.0
        _, without = media.media_response(counterfactual, config.channels, params)
        out[:, i] = (actual[..., k] - without[..., k]).sum(axis=-1) * params[media.COEF][:, k]
    return out * _kpi_scale(design)


def _kpi_scale(design) -> float:
    scale = getattr(design, "kpi_scale", None)
    if scale is None:
        raise ValueError("the design has no kpi_scale; build it with mmm.data.design.build_design")
    return float(scale)
