"""The true parameters of a synthetic geo panel (:func:`mmm.data.geo_synth.generate_panel`) as a
degenerate posterior in the geo model's layout: "the truth as a posterior" for geo figures and plans.

Each geo's true parameters are :func:`mmm.model.truth.truth_posterior`'s for that geo. The geo model
writes per-geo terms as pooled value x exp(sd x z) (:func:`mmm.model.geo_terms.geo_terms`), so the
truth sets the pooled value to 1 (or to geo 0's), sd to 1 and z to the log ratio: ``geo_terms``
then gives back every geo's true coefficient, trend and seasonal amplitude. Adstock and
saturation are shared across the synthetic geos, as in the default geo model.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from mmm.model import media
from mmm.spec.config import Config
from mmm.data.panel import GeoData
from mmm.model.truth import truth_posterior


def truth_geo_posterior(truth: dict[str, Any], config: Config, panel: GeoData, n_draws: int = 1) -> xr.Dataset:
    """Dataset with dims (chain=1, draw=n_draws, geo, ...) holding every geo's true model-unit parameters."""
    per_geo = [truth_posterior(truth["geos"][geo], config, panel.geo(g), n_draws) for g, geo in enumerate(panel.geos)]
    if len(per_geo) == 1:  # one geo: nothing pooled; sigma on the model's geo axis
        return per_geo[0].assign(sigma=per_geo[0]["sigma"].expand_dims(geo=list(panel.geos), axis=-1))
    if "control_coef" in per_geo[0]:
        raise ValueError("the synthetic panel's control effects differ by geo, which the geo model (one control "
                         "coefficient) cannot hold; generate the panel with controls=False")
    first = per_geo[0]
    shared = [name for name, *_ in media.parameter_layout(config.channels) if name != media.COEF]
    for name in shared:
        if any(not np.array_equal(p[name].values, first[name].values) for p in per_geo):
            raise ValueError(f"the synthetic geos differ in {name}; the geo model shares it across geos")

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
