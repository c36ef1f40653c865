"""A prior on a channel's ROAS, as the config writes it: ``{median, p90}``, ``{mean, sd}`` or a distribution.

Parsed here, with the spec; :mod:`mmm.model.roas_prior` puts it on the model's coefficients.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from mmm.spec.errors import ConfigError
from mmm.spec.priors import Prior, PriorError

Z90 = 1.2815515655446004  # standard normal 90th percentile


def parse_roas_prior(value: Any, where: str) -> Prior:
    """A ROAS prior from a config value; raises :class:`mmm.spec.config.ConfigError` naming ``where``."""
    example = "{median: 2.0, p90: 5.0}, {mean: 2.0, sd: 1.0} or {dist: LogNormal, mu: 0.7, sigma: 0.5}"
    if isinstance(value, Prior):
        prior = value
    elif not isinstance(value, Mapping):
        raise ConfigError(f"{where}: a ROAS prior is a mapping, e.g. {example}; got {value!r}")
    elif "dist" in value:
        try:
            prior = Prior.parse(value, where)
        except PriorError as err:
            raise ConfigError(str(err)) from None
    else:
        keys = set(map(str, value))
        numbers = {}
        for key in keys:
            number = value[key]
            if isinstance(number, bool) or not isinstance(number, (int, float)) or not math.isfinite(number):
                raise ConfigError(f"{where}.{key} must be a number; got {number!r}")
            numbers[key] = float(number)
        if keys == {"median", "p90"}:
            median, p90 = numbers["median"], numbers["p90"]
            if not 0 < median < p90:
                raise ConfigError(f"{where}: need 0 < median < p90 (a ROAS and a higher 90th percentile); "
                                  f"got median={median:g}, p90={p90:g}")
            prior = Prior("LogNormal", mu=math.log(median), sigma=math.log(p90 / median) / Z90)
        elif keys == {"mean", "sd"}:
            mean, sd = numbers["mean"], numbers["sd"]
            if not (mean > 0 and sd > 0):
                raise ConfigError(f"{where}: mean and sd of a ROAS prior must be positive; got mean={mean:g}, "
                                  f"sd={sd:g}")
            sigma2 = math.log(1.0 + (sd / mean) ** 2)
            prior = Prior("LogNormal", mu=math.log(mean) - sigma2 / 2, sigma=math.sqrt(sigma2))
        else:
            raise ConfigError(f"{where}: write the ROAS prior as {example}; got keys {sorted(keys)}")
    if not prior.fits("positive"):
        raise ConfigError(f"{where}: {prior.dist} can draw negative ROAS; use a positive prior "
                          f"(LogNormal, Gamma, HalfNormal, ...)")
    return prior
