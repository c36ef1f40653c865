"""Priors (:class:`mmm.spec.priors.Prior` value objects) as PyMC random variables and log densities."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pymc as pm

from mmm.spec.errors import ConfigError
from mmm.spec.priors import Prior


def to_pymc(prior: Prior, name: str, dims: str | tuple[str, ...] | None = None) -> Any:
    """Create the PyMC random variable of ``prior`` (inside a model context)."""
    return getattr(pm, prior.dist)(name, **prior.float_params(), dims=dims)


def prior_logp(prior: Prior, value: Any) -> Any:
    """PyTensor log density of ``prior`` at ``value`` (elementwise), for a prior placed on a derived quantity."""
    return pm.logp(getattr(pm, prior.dist).dist(**prior.float_params()), value)


def stack_priors(priors: Sequence[Prior], labels: Sequence[str], what: str, fix: str) -> Prior:
    """One prior for a vector of parameters (e.g. one per channel): the common prior, or the per-position
    parameters stacked. ``labels`` name the positions and ``what``/``fix`` word the error when the
    families differ (a vector variable has one family)."""
    if len({p.dist for p in priors}) > 1:
        listed = ", ".join(f"{label}: {p.dist}" for label, p in zip(labels, priors, strict=True))
        raise ConfigError(f"{what} must use one distribution family across channels ({listed}); {fix}")
    if all(p == priors[0] for p in priors):
        return priors[0]
    return Prior(priors[0].dist, {k: np.array([np.asarray(p.params[k], dtype=float) for p in priors])
                                  for k in priors[0].params})
