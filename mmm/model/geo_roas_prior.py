"""ROAS priors on a geo model: the prior is on each channel's **national** ROAS.

National ROAS_k is the sum over geos of incremental value over the sum of spend, on the
same window W and carry-over tail as :mod:`mmm.analysis.geo_effects`. A geo's incremental KPI is
linear in the pooled coefficient, ``coef_k · m_gk · U_gk(θ) · kpi_scale_g`` with the geo
multiplier ``m_gk`` of :func:`mmm.model.geo_terms.geo_terms` (``exp(sd_k · z_gk)``) and ``U_gk``
geo g's unit incremental (:mod:`mmm.model.roas_prior`), so the *unit ROAS* — the national ROAS a
pooled coefficient of 1 would give — is::

    r_k(θ, sd, z) = value_per_kpi · Σ_g m_gk · U_gk(θ) · kpi_scale_g / Σ_g spend_gk(W)

and the model samples ``roas_k`` from its prior and sets ``channel_coef_k = roas_k / r_k``
per draw (:func:`mmm.model.roas_prior.coef_from_sampled_roas`).
The national ROAS the effects report is then the sampled one, whatever the geo spread:
the requested prior *is* the implied national ROAS prior; how it splits over geos is
left to the data and the pooling. The multipliers come from ``geo_terms`` itself (with a
pooled coefficient of 1), so this holds for any per-geo parameterization that keeps each
geo's coefficient linear in the pooled one.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from mmm.model import media

from mmm.model import roas_prior as roi_prior
from mmm.data.geo_design import GeoDesign, GeoScaling, geo_designs
from mmm.data.panel import GeoData


def channel_coef(config, design: GeoDesign, params: dict[str, Any], values: dict[str, Any], coef_prior) -> Any:
    """The pooled ``channel_coef`` (K,) of the PyMC geo model, from ROAS priors on the national ROAS.

    ``params``: the media parameters (adstock per geo or shared); ``values``: the per-geo term
    variables :func:`mmm.model.geo_terms.geo_terms` reads. Call inside the model.
    """
    import pytensor.tensor as pt

    from mmm.model.geo_terms import geo_terms

    n_channels = len(config.channel_names)
    multipliers = geo_terms({**values, media.COEF: pt.ones(n_channels)}, len(design.geos), xp=pt)[media.COEF]
    unit = roi_prior.unit_incremental_graph(config, design.dates, design.spend, params)  # (G, K)
    unit_value = (multipliers * unit * design.kpi_scale[:, None]).sum(axis=0) * float(config.finance.value_per_kpi)
    return roi_prior.coef_from_sampled_roas(config, unit_value / window_spend(config, design), coef_prior)


def window_spend(config, design: GeoDesign) -> np.ndarray:
    """(K,) spend of each channel in W summed over geos, currency."""
    in_w = roi_prior.window_mask(config, design.dates)[: design.n_periods]
    return (design.spend[:, in_w, :] * design.spend_scale[:, None, :]).sum(axis=(0, 1))


def coef_from_roas(config, panel: GeoData, scaling: GeoScaling, posterior: xr.Dataset) -> xr.Dataset:
    """``posterior`` with the pooled ``channel_coef`` computed from ``channel_roas`` (NumPy twin of
    :func:`channel_coef`; the sampler stores free parameters only). Unchanged without ROAS priors."""
    from mmm.model.geo_terms import draw_terms, geo_posterior

    if not roi_prior.roas_channels(config) or roi_prior.ROAS_VAR not in posterior:
        return posterior
    n_geos = panel.n_geos
    names = config.channel_names
    ones = xr.DataArray(np.ones((posterior.sizes["chain"], posterior.sizes["draw"], len(names))),
                        dims=("chain", "draw", "channel"),
                        coords={"chain": posterior["chain"].values, "draw": posterior["draw"].values, "channel": names})
    unit = posterior.assign({media.COEF: ones})  # a pooled coefficient of 1: each geo's coefficient is m_gk
    terms = draw_terms(unit, n_geos)
    designs = geo_designs(panel, scaling, config.model.seasonality_order)
    unit_value = 0.0
    for g in range(n_geos):
        geo = geo_posterior(unit, config, g, n_geos, terms)  # coefficient: the geo multiplier m_gk
        multiplier = np.asarray(geo[media.COEF].stack(sample=("chain", "draw")).transpose("sample", ...).values)
        incremental = roi_prior.unit_incremental_np(config, designs[g], roi_prior.media_draws(config, geo))
        unit_value = unit_value + multiplier * incremental * scaling.kpi[g]
    in_w = roi_prior.window_mask(config, panel.dates)[: panel.n_periods]
    spend = panel.spend[:, in_w, :].sum(axis=(0, 1))
    return roi_prior.coef_given_unit_roas(config, posterior, unit_value * config.finance.value_per_kpi / spend)
