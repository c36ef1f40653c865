"""Priors as tiny value objects: a distribution name and its parameters.

A :class:`Prior` is what a config writes (``{dist: Beta, alpha: 2, beta: 3}``),
what a transform declares as its default, and what the model turns into a PyMC
random variable (:mod:`mmm.model.distributions`: the spec never imports PyMC).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats

# distribution name -> (accepted parameter names, support)
DISTRIBUTIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "Normal": (("mu", "sigma"), "real"),
    "StudentT": (("nu", "mu", "sigma"), "real"),
    "HalfNormal": (("sigma",), "positive"),
    "HalfStudentT": (("nu", "sigma"), "positive"),
    "LogNormal": (("mu", "sigma"), "positive"),
    "Gamma": (("alpha", "beta"), "positive"),
    "Exponential": (("lam",), "positive"),
    "Beta": (("alpha", "beta"), "unit"),
    "Uniform": (("lower", "upper"), "interval"),
    "TruncatedNormal": (("mu", "sigma", "lower", "upper"), "interval"),
}


POSITIVE_PARAMS = {"sigma", "alpha", "beta", "lam", "nu"}  # scales, shapes and rates


class PriorError(ValueError):
    """A prior written in a config cannot be used as written."""


@dataclass(frozen=True)
class Prior:
    """A distribution name with its parameters, e.g. ``Prior("Beta", alpha=2, beta=3)``.

    Parameters are scalars or per-channel sequences (broadcast over the
    variable's dims).
    """

    dist: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def __init__(self, dist: str, params: Mapping[str, Any] | None = None, **kwargs: Any):
        if dist not in DISTRIBUTIONS:
            known = ", ".join(sorted(DISTRIBUTIONS))
            raise PriorError(f"unknown prior distribution {dist!r}; use one of: {known}")
        merged = {**(params or {}), **kwargs}
        allowed, _ = DISTRIBUTIONS[dist]
        missing = [p for p in allowed if p not in merged and not _has_default(dist, p)]
        extra = [p for p in merged if p not in allowed]
        if missing or extra:
            raise PriorError(
                f"prior {dist} takes parameters {', '.join(allowed)}; "
                + (f"missing {', '.join(missing)}" if missing else "")
                + ("; " if missing and extra else "")
                + (f"unknown {', '.join(extra)}" if extra else "")
            )
        for name, value in merged.items():
            arr = np.asarray(value, dtype=float)
            if not np.all(np.isfinite(arr)):
                raise PriorError(f"prior {dist}: parameter {name}={value!r} is not a finite number")
        for name in POSITIVE_PARAMS & set(merged):
            if not np.all(np.asarray(merged[name], dtype=float) > 0):
                raise PriorError(f"prior {dist}: parameter {name}={merged[name]!r} must be positive")
        lower, upper = merged.get("lower"), merged.get("upper")
        if lower is not None and upper is not None and not np.all(np.asarray(lower) < np.asarray(upper)):
            raise PriorError(f"prior {dist}: lower={lower!r} must be below upper={upper!r}")
        object.__setattr__(self, "dist", dist)
        object.__setattr__(self, "params", dict(merged))

    @classmethod
    def parse(cls, spec: Any, where: str = "prior") -> Prior:
        """Build a prior from a config value: a Prior, or ``{dist: Name, **params}``."""
        if isinstance(spec, Prior):
            return spec
        if not isinstance(spec, Mapping) or "dist" not in spec:
            raise PriorError(
                f"{where}: a prior is written as a mapping with a 'dist' key, "
                f"e.g. {{dist: Normal, mu: 0, sigma: 1}}; got {spec!r}"
            )
        params = {k: v for k, v in spec.items() if k != "dist"}
        try:
            return cls(str(spec["dist"]), params)
        except PriorError as err:
            raise PriorError(f"{where}: {err}") from None

    def to_dict(self) -> dict[str, Any]:
        def plain(v: Any) -> Any:
            arr = np.asarray(v)
            return arr.item() if arr.ndim == 0 else arr.tolist()

        return {"dist": self.dist, **{k: plain(v) for k, v in self.params.items()}}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"Prior({self.dist!r}, {args})"

    def _key(self) -> tuple:
        """Order- and int/float-insensitive identity (2 and 2.0 are the same parameter)."""
        return (self.dist, tuple(sorted((k, tuple(np.ravel(np.asarray(v, dtype=float)).tolist()))
                                        for k, v in self.params.items())))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Prior) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    @property
    def support(self) -> str:
        return DISTRIBUTIONS[self.dist][1]

    def fits(self, required: str) -> bool:
        """Whether every draw lies in ``required``: "real", "positive" or "unit" ([0, 1])."""
        if required == "real":
            return True
        lower = np.asarray(self.params.get("lower", -np.inf), dtype=float)
        upper = np.asarray(self.params.get("upper", np.inf), dtype=float)
        support = self.support
        if required == "positive":
            return support in ("positive", "unit") or (support == "interval" and bool(np.all(lower >= 0)))
        if required == "unit":
            return support == "unit" or (support == "interval" and bool(np.all(lower >= 0) and np.all(upper <= 1)))
        raise ValueError(f"unknown support {required!r}")

    def float_params(self) -> dict[str, np.ndarray]:
        """Parameters as float arrays (what PyMC and SciPy take)."""
        return {k: np.asarray(v, dtype=float) for k, v in self.params.items()}

    def scipy(self) -> Any:
        """The frozen SciPy distribution (for prior checks and synthetic draws)."""
        p = self.float_params()
        match self.dist:
            case "Normal":
                return stats.norm(p["mu"], p["sigma"])
            case "StudentT":
                return stats.t(p["nu"], p["mu"], p["sigma"])
            case "HalfNormal":
                return stats.halfnorm(0, p["sigma"])
            case "HalfStudentT":
                return _HalfT(p["nu"], p["sigma"])
            case "LogNormal":
                return stats.lognorm(p["sigma"], scale=np.exp(p["mu"]))
            case "Gamma":
                return stats.gamma(p["alpha"], scale=1 / p["beta"])
            case "Exponential":
                return stats.expon(scale=1 / p["lam"])
            case "Beta":
                return stats.beta(p["alpha"], p["beta"])
            case "Uniform":
                return stats.uniform(p["lower"], p["upper"] - p["lower"])
            case "TruncatedNormal":
                lo = p.get("lower", -np.inf)
                hi = p.get("upper", np.inf)
                return stats.truncnorm((lo - p["mu"]) / p["sigma"], (hi - p["mu"]) / p["sigma"], p["mu"], p["sigma"])
        raise PriorError(f"no SciPy form for {self.dist}")  # unreachable: dist validated


def _has_default(dist: str, param: str) -> bool:
    return dist == "TruncatedNormal" and param in ("lower", "upper")


class _HalfT:
    """|StudentT(nu, 0, sigma)|, enough of SciPy's interface for sampling and quantiles."""

    def __init__(self, nu: np.ndarray, sigma: np.ndarray):
        self._t = stats.t(nu, 0, sigma)

    def rvs(self, size=None, random_state=None):
        return np.abs(self._t.rvs(size=size, random_state=random_state))

    def ppf(self, q):
        return self._t.ppf(0.5 + np.asarray(q) / 2)

    def mean(self):
        return 2 * self._t.expect(lambda x: x, lb=0)
