"""Bounded posterior storage: thin the draws and store them as float32 where precision allows.

A 200-geo model holds ~1,000 geo-level parameters per draw; at 4 chains x 1000
draws that is 32 MB in float64 per 1,000 parameters, before any figure is
computed. ``fit.thin`` keeps every n-th draw and ``fit.posterior_dtype:
float32`` halves what is stored (and written to posterior.nc). Figures are
computed from the stored draws, so what the report shows is what the run holds.
float32 keeps ~7 significant digits: far below the Monte Carlo error of any
posterior summary, which is why it is safe for storage (not for sampling).
"""

from __future__ import annotations

import numpy as np
import xarray as xr


def bound_posterior(idata: xr.DataTree, thin: int = 1, dtype: str = "float64") -> xr.DataTree:
    """``idata`` with every ``thin``-th draw and floating variables cast to ``dtype``."""
    if thin == 1 and dtype == "float64":
        return idata
    groups = {}
    for name in ("posterior", "sample_stats"):
        if name not in idata:
            continue
        ds = idata[name].to_dataset()
        if thin > 1 and "draw" in ds.dims:
            ds = ds.isel(draw=slice(None, None, thin))
        if name == "posterior" and dtype != "float64":
            ds = ds.map(lambda da: da.astype(dtype) if np.issubdtype(da.dtype, np.floating) else da)
        groups["/" + name] = ds
    return xr.DataTree.from_dict(groups)


def posterior_nbytes(idata: xr.DataTree) -> int:
    """Bytes the stored posterior draws occupy in memory (variables, not coordinates)."""
    return int(sum(da.nbytes for da in idata["posterior"].to_dataset().data_vars.values()))
