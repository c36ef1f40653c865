"""Power-scaling sensitivity of a geo run's national ROAS (the geo twin of :func:`mmm.analysis.sensitivity.power_scaling`).

The log prior of every parameter and the pointwise log likelihood (every geo's KPI periods,
and lift tests if any) are evaluated per draw by the geo model itself (PyMC), so they follow
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
    import pymc as pm

    from mmm.model.build import build_geo_model
    from mmm.analysis.pipeline import _training_periods
    from mmm.analysis.sensitivity import psense_table

    model = build_geo_model(config, build_geo_design(panel, scaling, config.model.seasonality_order),
                            n_train=_training_periods(config, panel.national()))
    free = xr.DataTree.from_dict({"/posterior": posterior[[rv.name for rv in model.free_RVs]]})
    options = {"model": model, "extend_inferencedata": False, "progressbar": False}
    log_prior = pm.stats.compute_log_prior(free, **options)
    log_likelihood = pm.stats.compute_log_likelihood(free, **options)

    def per_draw(tree) -> xr.Dataset:
        data = tree.to_dataset() if isinstance(tree, xr.DataTree) else tree
        return data.drop_vars(["chain", "draw"], errors="ignore")

    return psense_table(effects, per_draw(log_prior), per_draw(log_likelihood))
