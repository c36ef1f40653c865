"""The true parameters of a synthetic dataset as a degenerate posterior, in the model's own variable names.

Feeding it to :func:`mmm.analysis.effects.compute_effects` must reproduce ``truth.json``'s
figures exactly: that is how the effects math is checked, independently of
sampling. Later tools (e.g. the optimizer) use it as "the truth as a posterior".
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from mmm.model import media
from mmm.spec.config import Config
from mmm.data.load import MMMData


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
            else:
                values.append({**entry["adstock_params"], **entry["saturation_params"]}[param])
        out[name] = var(values, (dim,), {dim: members})
    return xr.Dataset(out)
