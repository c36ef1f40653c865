"""Power-scaling sensitivity of a geo run's national ROAS (the geo twin of :func:`mmm.analysis.sensitivity.power_scaling`).

The log prior of every parameter and the pointwise log likelihood (every geo's KPI periods,
and lift tests if any) are evaluated per draw by the geo model itself (:mod:`mmm.model.pointwise`), so they follow
its parameterization, ROAS priors included; the reading is :func:`mmm.analysis.sensitivity.psense_table`'s.
"""

from __future__ import annotations

import pandas as pd
import xarray as xr

from mmm.spec.config import Config
from mmm.analysis.effects import Effects
from mmm.data.geo_design import GeoScaling, build_geo_design
from mmm.data.panel import GeoData


def geo_power_scaling(config: Config, panel: GeoData, scaling: GeoScaling, posterior: xr.Dataset,
                      effects: Effects) -> pd.DataFrame:
    """Prior and likelihood sensitivity of each channel's national ROAS (``effects``: the run's national figures)."""
    from mmm.model.build import build_geo_model
    from mmm.model.pointwise import log_prior_and_likelihood
    from mmm.analysis.pipeline import _training_periods
    from mmm.analysis.sensitivity import psense_table

    model = build_geo_model(config, build_geo_design(panel, scaling, config.model.seasonality_order),
                            n_train=_training_periods(config, panel.national()))
    return psense_table(effects, *log_prior_and_likelihood(model, posterior))
