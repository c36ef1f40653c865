"""Per-draw log prior and pointwise log likelihood of a posterior, evaluated by the PyMC model itself."""

from __future__ import annotations

import pymc as pm
import xarray as xr


def log_prior_and_likelihood(model: pm.Model, posterior: xr.Dataset) -> tuple[xr.Dataset, xr.Dataset]:
    """(log prior per free variable, log likelihood per observation), each per (chain, draw) of ``posterior``.

    Only the model's free variables are read from ``posterior`` (reported Deterministics are left out), so
    the densities follow the model's own parameterization (ROAS priors included).
    """
    free = xr.DataTree.from_dict({"/posterior": posterior[[rv.name for rv in model.free_RVs]]})
    options = {"model": model, "extend_inferencedata": False, "progressbar": False}
    return _per_draw(pm.stats.compute_log_prior(free, **options)), _per_draw(pm.stats.compute_log_likelihood(free, **options))


def _per_draw(tree) -> xr.Dataset:
    data = tree.to_dataset() if isinstance(tree, xr.DataTree) else tree
    return data.drop_vars(["chain", "draw"], errors="ignore")
