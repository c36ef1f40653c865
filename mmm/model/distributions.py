"""Priors (:class:`mmm.spec.priors.Prior` value objects) as PyMC random variables and log densities."""

from __future__ import annotations

from typing import Any

import pymc as pm

from mmm.spec.priors import Prior


def to_pymc(prior: Prior, name: str, dims: str | tuple[str, ...] | None = None) -> Any:
    """Create the PyMC random variable of ``prior`` (inside a model context)."""
    return getattr(pm, prior.dist)(name, **prior.float_params(), dims=dims)


def prior_logp(prior: Prior, value: Any) -> Any:
    """PyTensor log density of ``prior`` at ``value`` (elementwise), for a prior placed on a derived quantity."""
    return pm.logp(getattr(pm, prior.dist).dist(**prior.float_params()), value)
