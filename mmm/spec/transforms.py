"""The adstock and saturation catalogue a config chooses from: names, parameters, default priors and
what each parameter means. The math behind each name is :mod:`mmm.model.transforms`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from mmm.spec.priors import Prior


@dataclass(frozen=True)
class TransformSpec:
    """One transform as a config sees it."""

    name: str
    kind: str  # "adstock" or "saturation"
    param_names: tuple[str, ...]
    default_priors: Mapping[str, Prior]
    param_support: Mapping[str, str]


def _spec(name: str, kind: str, priors: dict[str, Prior], support: dict[str, str]) -> TransformSpec:
    return TransformSpec(name, kind, tuple(priors), MappingProxyType(priors), MappingProxyType(support))


ADSTOCK_SPECS: Mapping[str, TransformSpec] = MappingProxyType({s.name: s for s in (
    # symmetric: carry-over is poorly identified, and a prior leaning to short carry-over biased TV-like
    # channels low in recovery tests
    _spec("geometric", "adstock", {"alpha": Prior("Beta", alpha=2, beta=2)},
          {"alpha": "[0, 1): share carried to the next period"}),
    _spec("delayed", "adstock", {"alpha": Prior("Beta", alpha=2, beta=3), "theta": Prior("HalfNormal", sigma=2)},
          {"alpha": "(0, 1): retention", "theta": "[0, ∞) periods: delay of the peak"}),
    _spec("weibull", "adstock", {"shape": Prior("LogNormal", mu=0, sigma=0.5),
                                 "scale": Prior("LogNormal", mu=float(np.log(2)), sigma=0.5)},
          {"shape": "(0, ∞): <1 front-loaded, >1 delayed peak", "scale": "(0, ∞) periods"}),
)})
# The default adstock priors above read in weeks. On daily data the same beliefs in days (moment-matched: a
# daily geometric retention d = r**(1/7), a delayed one r**(1/49), for the weekly r of the default Beta; delays
# and Weibull scales x 7), so a channel's carry-over prior does not shrink sevenfold with the data's periods.
DAILY_ADSTOCK_PRIORS: Mapping[str, Mapping[str, Prior]] = MappingProxyType({
    "geometric": {"alpha": Prior("Beta", alpha=15.8, beta=1.93)},
    "delayed": {"alpha": Prior("Beta", alpha=124.4, beta=2.77), "theta": Prior("HalfNormal", sigma=14)},
    "weibull": {"scale": Prior("LogNormal", mu=float(np.log(14)), sigma=0.5)},
})
SATURATION_SPECS: Mapping[str, TransformSpec] = MappingProxyType({s.name: s for s in (
    # Hill's slope: median 1.5, 90% within 0.66-3.4, so a Hill curve can be concave or S-shaped and the Hill
    # candidate carries the doubt about the curve's shape beside the concave logistic (LogNormal(0, 0.3) kept
    # it under 2, concave-like; on bench/truth_suite.py's S-curve world, slopes 2-3, one-shape Hill fits'
    # median ROAS error went from 0.57 to 0.37 over three seeds)
    _spec("hill", "saturation", {"half_saturation": Prior("LogNormal", mu=0, sigma=0.75),
                                 "slope": Prior("LogNormal", mu=float(np.log(1.5)), sigma=0.5)},
          {"half_saturation": "(0, ∞) scaled spend", "slope": "(0, ∞): >1 is S-shaped"}),
    _spec("logistic", "saturation", {"lam": Prior("Gamma", alpha=2, beta=2)},
          {"lam": "(0, ∞) per unit scaled spend: curvature"}),
)})
