"""The update-mode prior of a run: the model with the parent's posterior as its prior (:mod:`mmm.runs.refresh`)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pymc as pm
import xarray as xr

from mmm.data.geo_design import GeoScaling, build_geo_design
from mmm.data.panel import GeoData
from mmm.model.build import GEO_PRIORS, build_model
from mmm.model.geo_terms import draw_terms
from mmm.model.update_prior import UpdatePrior, apply_to_model, parameter_bounds, posterior_to_prior, prior_bounds
from mmm.spec.config import Config


def geo_parameter_bounds(config: Config, model: pm.Model) -> dict[str, tuple[Any, Any]]:
    """Per free variable of the geo ``model``, the (lower, upper) of the prior it is fitted under.

    The national parameters' bounds come from ``config`` (:func:`mmm.model.update_prior.parameter_bounds`),
    the geo spreads' from :data:`mmm.model.build.GEO_PRIORS`; a variable PyMC samples untransformed
    (the standard-normal per-geo offsets) is unbounded. Anything else is an error, never a guess.
    """
    bounds = parameter_bounds(config)
    bounds.update({name: prior_bounds(prior) for name, prior in GEO_PRIORS.items()})
    for rv in model.free_RVs:
        if rv.name not in bounds and model.rvs_to_transforms.get(rv) is None:
            bounds[rv.name] = (-np.inf, np.inf)
    unknown = [rv.name for rv in model.free_RVs if rv.name not in bounds]
    if unknown:
        raise ValueError(f"no bounds known for geo model parameter(s) {', '.join(unknown)}; add their prior to "
                         f"GEO_PRIORS so an update can carry them forward")
    return bounds


def geo_intercept_shift(previous: xr.Dataset, n_geos: int, moved_years: float) -> np.ndarray | float:
    """Per draw (and geo), how each geo's intercept moves when time is centred ``moved_years`` later.

    Shaped like the intercept's draws: (draws, geos), or (draws,) for a one-geo panel.
    """
    if "trend" not in previous.data_vars:
        return 0.0
    _, terms = draw_terms(previous, n_geos)
    trend = terms["trend"].reshape(-1, n_geos)  # (chain x draw, geo), chain-major like Dataset.stack
    if "geo" not in previous["intercept"].dims:
        trend = trend[:, 0]
    return trend * moved_years


def geo_update_model(previous: xr.Dataset, config: Config, data: GeoData, scaling: GeoScaling, *,
                     n_train: int, fit_start: int, moved_years: float) -> tuple[pm.Model, UpdatePrior]:
    """The geo model on ``data`` observing periods ``fit_start .. n_train - 1``, with ``previous`` as its prior.

    ``config`` is the update's model spec (:func:`mmm.runs.refresh.update_model_config`): lift tests new
    since the parent enter the likelihood.
    """
    design = build_geo_design(data, scaling, config.model.seasonality_order)
    model = build_model(config, design, n_train=n_train, fit_start=fit_start)
    names = [rv.name for rv in model.free_RVs]
    prior = posterior_to_prior(previous, config, names, bounds=geo_parameter_bounds(config, model),
                               intercept_shift=geo_intercept_shift(previous, data.n_geos, moved_years))
    return apply_to_model(model, prior), prior
