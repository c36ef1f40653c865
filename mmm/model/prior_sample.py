"""Draws from the model's priors, shaped like a posterior.

Feeding them to :func:`mmm.analysis.effects.compute_effects` gives the figures the priors
alone imply (e.g. the prior ROAS of each channel), which is how the health card
tells "the data spoke" from "this is our assumption". Plain SciPy sampling; no
PyMC model is compiled.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from mmm.model import media

from mmm.model import roas_prior as roi_prior
from mmm.spec.config import Config, default_coef_prior
from mmm.data.design import Design


def sample_prior(config: Config, design: Design, n_draws: int = 1000, seed: int = 0) -> xr.Dataset:
    """(chain=1, draw=n_draws) draws of every model parameter from its prior."""
    rng = np.random.default_rng(seed)
    opts = config.model

    def draw(prior, size) -> np.ndarray:
        return np.asarray(prior.scipy().rvs(size=size, random_state=rng), dtype=float)

    def var(values: np.ndarray, dim: str | None = None, labels: list[str] | None = None) -> xr.DataArray:
        dims = ("chain", "draw") if dim is None else ("chain", "draw", dim)
        return xr.DataArray(values[None], dims=dims, coords={dim: labels} if dim else {})

    out = {"intercept": var(draw(opts.prior("intercept"), n_draws)), "sigma": var(draw(opts.prior("sigma"), n_draws))}
    if opts.trend:
        out["trend"] = var(draw(opts.prior("trend"), n_draws))
    if design.fourier.shape[1]:
        out["season"] = var(draw(opts.prior("fourier"), (n_draws, len(design.fourier_names))), "fourier",
                            design.fourier_names)
    if design.control_values.shape[1]:
        out["control_coef"] = var(draw(opts.prior("control_coef"), (n_draws, len(design.controls))), "control",
                                  design.controls)
    if opts.likelihood == "student_t":
        out["nu"] = var(draw(opts.prior("nu"), n_draws))
    names = config.channel_names
    for name, param, dim, idx in media.parameter_layout(config.channels):
        columns = []
        for i in idx:
            channel = config.channels[i]
            prior = channel.prior(param)
            if prior is None:  # coef: its default depends on the channel's size
                prior = default_coef_prior(float(design.spend_to_kpi[i]), opts.media_roas_scale)
            columns.append(draw(prior, n_draws))
        out[name] = var(np.column_stack(columns), dim, [names[i] for i in idx])
    roi_idx = roi_prior.roas_channels(config)
    if roi_idx:  # ROAS priors: draw ROAS, then the coefficient follows from it (mmm.model.roas_prior)
        roas = np.column_stack([draw(roi_prior.roas_prior(config, names[i]), n_draws) for i in roi_idx])
        roas_dim = "channel" if len(roi_idx) == len(names) else roi_prior.ROAS_DIM
        out[roi_prior.ROAS_VAR] = var(roas, roas_dim, [names[i] for i in roi_idx])
        free_idx = [i for i in range(len(names)) if i not in roi_idx]
        if free_idx:
            out[roi_prior.FREE_VAR] = var(out[media.COEF].values[0][:, free_idx], roi_prior.FREE_DIM,
                                           [names[i] for i in free_idx])
        return roi_prior.coef_from_roas(config, design, xr.Dataset(out))
    return xr.Dataset(out)
