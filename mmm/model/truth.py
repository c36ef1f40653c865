"""The true parameters of a synthetic dataset as a degenerate posterior, in the model's own variable names.

Feeding it to :func:`mmm.analysis.effects.compute_effects` must reproduce ``truth.json``'s
figures exactly: that is how the effects math is checked, independently of
sampling. Later tools (e.g. the optimizer) use it as "the truth as a posterior".
:func:`truth_geo_posterior` lays a panel's per-geo truths out as the model's posterior.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from mmm.data.load import MMMData
from mmm.data.panel import Panel
from mmm.model import media
from mmm.spec.config import Config


def truth_posterior(truth: dict[str, Any], config: Config, data: MMMData, n_draws: int = 1) -> xr.Dataset:
    """Dataset with dims (chain=1, draw=n_draws) holding the true model-unit parameters.

    The model's trend runs on time centred over ``data`` (see :mod:`mmm.data.design`), so
    the true intercept is moved to the same origin.
    """
    params = truth["params"]
    mean_years = float(np.mean(data.years_since(truth["scaling"]["time_origin"])))
    channels = config.channel_names

    def var(values: Any, dims: tuple[str, ...] = (), coords: dict[str, list[str]] | None = None) -> xr.DataArray:
        arr = np.broadcast_to(np.asarray(values, dtype=float), (1, n_draws, *np.shape(values)))
        return xr.DataArray(arr.copy(), dims=("chain", "draw", *dims), coords=coords or {})

    out = {"intercept": var(params["intercept"] + params["trend"] * mean_years), "trend": var(params["trend"]),
           "sigma": var(params["sigma"])}
    if params.get("fourier"):
        names = list(params["fourier"])
        out["season"] = var([params["fourier"][n] for n in names], ("fourier",), {"fourier": names})
    if params.get("control_coef"):
        names = list(params["control_coef"])
        out["control_coef"] = var([params["control_coef"][n] for n in names], ("control",), {"control": names})
    if params.get("nu") is not None:
        out["nu"] = var(params["nu"])

    by_channel = params["channels"]
    for name, param, dim, idx in media.parameter_layout(config.channels):
        members = [channels[i] for i in idx]
        values = []
        for ch in members:
            entry = by_channel[ch]
            if param == "coef":
                values.append(entry["coef"])
            elif param == "half_saturation" and "reach_column" in entry:
                # the generator reads frequency / its level, the model frequency / its reach-weighted mean
                reach, frequency = data.exposure[ch].to_numpy(float), data.frequency[ch].to_numpy(float)
                values.append(entry["saturation_params"][param] * entry["frequency_level"]
                              / float((reach * frequency).sum() / reach.sum()))
            else:
                values.append({**entry["adstock_params"], **entry["saturation_params"]}[param])
        out[name] = var(values, (dim,), {dim: members})
    return xr.Dataset(out)


def truth_geo_posterior(truth: dict[str, Any], config: Config, panel: Panel, n_draws: int = 1) -> xr.Dataset:
    """Dataset with dims (chain=1, draw=n_draws, geo, ...) holding every geo's true model-unit parameters."""
    per_geo = [truth_posterior(truth["geos"][geo], config, panel.geo(g), n_draws) for g, geo in enumerate(panel.geos)]
    if len(per_geo) == 1:  # one geo: nothing pooled; sigma on the model's geo axis
        return per_geo[0].assign(sigma=per_geo[0]["sigma"].expand_dims(geo=list(panel.geos), axis=-1))
    if "control_coef" in per_geo[0]:
        raise ValueError("the synthetic panel's control effects differ by geo, which the model (one control "
                         "coefficient) cannot hold; generate the panel with controls=False")
    first = per_geo[0]
    shared = [name for name, *_ in media.parameter_layout(config.channels) if name != media.COEF]
    for name in shared:
        if any(not np.array_equal(p[name].values, first[name].values) for p in per_geo):
            raise ValueError(f"the synthetic geos differ in {name}; the model shares it across geos")

    def by_geo(name: str) -> xr.DataArray:
        return xr.concat([p[name] for p in per_geo], dim="geo").transpose("chain", "draw", "geo", ...)

    coef = by_geo(media.COEF)
    out = {name: first[name] for name in shared}
    out |= {"intercept": by_geo("intercept"), "sigma": by_geo("sigma"),
            media.COEF: xr.ones_like(first[media.COEF]), "channel_coef_geo_sd": xr.ones_like(first[media.COEF]),
            "channel_coef_geo_z": np.log(coef)}
    if "trend" in first:
        out |= {"trend": xr.zeros_like(first["trend"]), "trend_geo_sd": xr.ones_like(first["trend"]),
                "trend_geo_z": by_geo("trend")}
    if "season" in first:
        ratio = by_geo("season") / first["season"]  # every geo's season is geo 0's, scaled
        out |= {"season": first["season"], "season_amp_sd": xr.ones_like(first["intercept"]),
                "season_amp_z": np.log(ratio.isel(fourier=0))}
    return xr.Dataset(out).assign_coords(geo=list(panel.geos))
