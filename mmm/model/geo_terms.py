"""The per-geo terms of the model (pooled means and geo offsets), one definition for PyTensor
variables and NumPy draws.

:func:`geo_terms` builds each geo's intercept, trend, season amplitude and channel coefficients
from the pooled values and the geo offsets; the model calls it on PyTensor variables, and
:func:`draw_terms` / :func:`geo_posterior` on posterior draws, so the two cannot drift.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import xarray as xr

from mmm.model import baseline
from mmm.model import media
from mmm.model import media_effect
from mmm.model import organic as organic_media
from mmm.spec.config import Config


def hierarchical(n_geos: int) -> bool:
    return n_geos > 1


def geo_terms(values: Mapping[str, Any], n_geos: int, xp: Any = np) -> dict[str, Any]:
    """Per-geo intercept (..., G), trend (..., G), season amplitude (..., G) and coefficients (..., G, K).

    ``values`` maps free-variable names to tensors or arrays whose leading dims
    (draws, with NumPy) come before the model dims.
    """
    out: dict[str, Any] = {}
    coef = values[media.COEF]
    if not hierarchical(n_geos):
        one = xp.ones((1,))
        out["intercept"] = values["intercept"][..., None] * one
        out["trend"] = values["trend"][..., None] * one if "trend" in values else None
        out["season_amp"] = None
        out[media.COEF] = coef[..., None, :] * xp.ones((1, 1))
        return out
    out["intercept"] = values["intercept"]
    out["trend"] = (values["trend"][..., None] + values["trend_geo_sd"][..., None] * values["trend_geo_z"]
                    if "trend" in values else None)
    out["season_amp"] = (xp.exp(values["season_amp_sd"][..., None] * values["season_amp_z"])
                         if "season_amp_z" in values else None)
    out[media.COEF] = coef[..., None, :] * xp.exp(values["channel_coef_geo_sd"][..., None, :]
                                                  * values["channel_coef_geo_z"])
    return out


def geo_posterior(posterior: xr.Dataset, config: Config, g: int, n_geos: int,
                  parts: tuple[dict, dict] | None = None) -> xr.Dataset:
    """Geo ``g``'s parameters as one series' parameters (no geo axis), for the per-series figures
    (:func:`mmm.analysis.effects.compute_effects`, plans, curves).

    ``parts`` = :func:`draw_terms` of the posterior, to compute them once for all geos.
    """
    values, terms = parts if parts is not None else draw_terms(posterior, n_geos)
    base = xr.Dataset(coords={"chain": posterior.coords["chain"].values, "draw": posterior.coords["draw"].values})
    out = {"intercept": (("chain", "draw"), terms["intercept"][..., g]),
           "sigma": (("chain", "draw"), values["sigma"][..., g])}
    if terms["trend"] is not None:
        out["trend"] = (("chain", "draw"), terms["trend"][..., g])
    if "season" in values:
        amp = 1.0 if terms["season_amp"] is None else terms["season_amp"][..., g, None]
        out["season"] = (("chain", "draw", "fourier"), values["season"] * amp)
    if "control_coef" in values:
        out["control_coef"] = (("chain", "draw", "control"), values["control_coef"])
    if "nu" in values:
        out["nu"] = (("chain", "draw"), values["nu"])
    shared = [*baseline.VARIABLES, *media_effect.VARIABLES, "event_coef", *organic_media.variable_names(config.organic)]
    for name in shared:  # shared by every geo (mmm.model.baseline, media_effect, events, mmm.model.organic)
        if name in values:
            out[name] = (("chain", "draw", *(d for d in posterior[name].dims if d not in ("chain", "draw"))),
                         values[name])
    coords = {d: posterior.coords[d].values for d in posterior.coords
              if d in ("fourier", "control", "channel", "event", "date", "fit_date") or d.startswith("organic")}
    for name, *_ in media.parameter_layout(config.channels):
        da = posterior[name]
        value = terms[media.COEF][..., g, :] if name == media.COEF else values[name]
        if "geo" in da.dims and name != media.COEF:
            value = value[..., g, :]
        dim = [d for d in da.dims if d not in ("chain", "draw", "geo")][0]
        coords[dim] = da.coords[dim].values
        out[name] = (("chain", "draw", dim), value)
    return base.assign(out).assign_coords(coords)


def draw_terms(posterior: xr.Dataset, n_geos: int) -> tuple[dict, dict]:
    """The posterior's variables as (chain, draw, ...) float64 arrays, and the per-geo terms built from them."""
    values = {name: np.asarray(da.transpose("chain", "draw", ...).values, dtype=float)
              for name, da in posterior.data_vars.items()}
    return values, geo_terms(values, n_geos, xp=np)
