"""Draws from the model's priors, shaped like its posterior (national data: a panel of one geo).

The draws come from the model itself (PyMC forward sampling of its free variables), so
they follow whatever per-geo parameterization :func:`mmm.model.build.build_model` has.
The pooled coefficients of ROAS-prior channels then follow from the sampled national ROAS
(:mod:`mmm.model.roas_prior`). Feeding the draws to :func:`mmm.analysis.geo_effects.compute_geo_effects`
gives the figures the priors alone imply, per geo and nationally
(:func:`mmm.analysis.geo_effects.prior_effects`).
"""

from __future__ import annotations

import logging

import xarray as xr

from mmm.spec.config import Config
from mmm.data.panel_design import PanelScaling, build_panel_design
from mmm.data.panel import Panel
from mmm.model.roas_prior import coef_from_roas, resolve_media_scale


def sample_prior(config: Config, panel: Panel, scaling: PanelScaling, n_draws: int = 1000,
                 seed: int = 0) -> xr.Dataset:
    """(chain=1, draw=n_draws) draws of every model parameter from its prior."""
    import pymc as pm

    from mmm.model.build import build_model

    design = build_panel_design(panel, scaling, config.design)
    config = resolve_media_scale(config, design)  # a fitted config keeps the median it was fitted with
    model = build_model(config, design)
    pymc_log = logging.getLogger("pymc")
    level = pymc_log.level
    pymc_log.setLevel(logging.WARNING)  # no "Sampling: [...]" line in the CLI's output
    try:
        with model:
            drawn = pm.sample_prior_predictive(n_draws, var_names=[rv.name for rv in model.free_RVs],
                                               random_seed=seed, compile_kwargs={"mode": "FAST_COMPILE"})
    finally:
        pymc_log.setLevel(level)
    return coef_from_roas(config, panel, scaling, drawn["prior"].to_dataset())
