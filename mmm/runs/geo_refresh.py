"""What a refresh of a geo run adds to the national one (:mod:`mmm.runs.refresh`).

* **The parent's geos, and only those.** A refresh keeps the parent's per-geo scaling
  (:class:`~mmm.data.geo_design.GeoScaling`), and an update carries its per-geo parameters
  forward; neither exists for a geo the parent never saw, and a dropped geo would leave
  the pooled means describing a different set of markets. A panel with geos added or
  removed is therefore refused, naming the geos (fit a new model instead). The same geos
  in another row order are put back in the parent's order.
* **The update's model.** The geo model is built with ``fit_start`` (earlier periods feed
  the adstock carry-in only) and every one of its free variables (per-geo intercepts,
  pooled and per-geo media terms, the geo spreads and their standard-normal offsets)
  gets the moment-matched prior of :mod:`mmm.model.update_prior`, with the bounds of the prior
  it was fitted under.
* **Re-centred time, per geo.** Each geo has its own trend, so each geo's intercept moves
  by its own ``trend_g × (new mean time − old)``, draw by draw.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pymc as pm
import xarray as xr

from mmm.spec.config import Config, ConfigError
from mmm.data.load import DataError
from mmm.data.geo_design import GeoScaling, build_geo_design
from mmm.analysis.geo_effects import draw_terms
from mmm.model.build import GEO_PRIORS, build_geo_model
from mmm.data.panel import GeoData
from mmm.model.update_prior import UpdatePrior, apply_to_model, parameter_bounds, posterior_to_prior, prior_bounds
from mmm.data.validation import listing


def match_parent_geos(panel: GeoData, scaling: GeoScaling, parent_name: str) -> GeoData:
    """``panel`` with the parent's geos in the parent's order; a clear error when geos were added or removed."""
    added = [g for g in panel.geos if g not in scaling.geos]
    removed = [g for g in scaling.geos if g not in panel.geos]
    if added or removed:
        found = []
        if added:
            found.append(f"geo(s) {listing(added)} are not in run {parent_name}")
        if removed:
            found.append(f"run {parent_name}'s geo(s) {listing(removed)} are missing")
        raise DataError(f"{panel.source}: {'; '.join(found)}. A refresh keeps the parent's per-geo scaling and "
                        f"per-geo parameters, which exist for its geos only ({listing(scaling.geos)}). Fit a new "
                        f"model on this panel (`mmm fit CONFIG` with data.path set to it), or refresh with a panel "
                        f"of the parent's geos.")
    return panel.select_geos(scaling.geos)


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

    ``config`` is the update's model spec (:func:`mmm.runs.refresh.update_model_config`).
    """
    if config.experiments:
        raise ConfigError(f"{config.source}: lift experiments {listing(e.label for e in config.experiments)} are "
                          f"new since the parent run, and a geo update cannot add them to its likelihood; "
                          f"use --mode refit")
    design = build_geo_design(data, scaling, config.model.seasonality_order)
    model = build_geo_model(config, design, n_train=n_train, fit_start=fit_start)
    names = [rv.name for rv in model.free_RVs]
    prior = posterior_to_prior(previous, config, names, bounds=geo_parameter_bounds(config, model),
                               intercept_shift=geo_intercept_shift(previous, data.n_geos, moved_years))
    return apply_to_model(model, prior), prior
