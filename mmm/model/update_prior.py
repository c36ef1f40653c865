"""A previous posterior as the next prior: the parametric approximation behind ``mmm refresh --mode update``.

Sequential Bayesian updating says: posterior(θ | old, new) ∝ p(new | θ, old) × posterior(θ | old).
The previous posterior is only available as draws, so it is replaced by a density:

1. every parameter is moved to the unconstrained real line, element by element, with the
   bounds of the prior it was fitted under: ``log(x)`` for a positive parameter (channel
   coefficients, scales, sigma), ``logit(x)`` for one in (0, 1) (geometric ``alpha``),
   ``logit((x - lo) / (hi - lo))`` for a bounded one, unchanged for a real one;
2. one multivariate normal is moment-matched to all of those draws jointly (their mean and
   covariance). Keeping the full covariance is cheap (a few dozen parameters) and keeps the
   posterior's correlations, e.g. the ridge between the intercept and the channel
   coefficients, which independent marginals would lose (and so overstate what is known);
3. the new model samples standard normals ``update_eps`` and maps them back,
   ``θ = back(mean + L @ eps)`` with ``L`` the Cholesky factor of the covariance, so the
   parameters keep their usual names, dims and coordinates and every downstream figure
   (effects, curves, reports) works unchanged.

What the approximation loses: skewness and curvature of the posterior beyond a Gaussian in
the unconstrained space (e.g. a banana-shaped saturation/coefficient ridge). It is exact for
a Gaussian posterior in that space. ``mmm refresh --mode refit`` needs no approximation;
use it for the quarterly figures of record and ``update`` when carrying knowledge forward
is the point (or the old data are gone).

The old data's evidence enters only through this prior; the likelihood of the update covers
only the periods the previous run did not fit (see :mod:`mmm.runs.refresh`), so nothing is
counted twice. :func:`update_model` builds the model with that prior on every free variable
(per-geo intercepts, pooled and per-geo media terms, the geo spreads and their offsets), with
the bounds of the prior each was fitted under, and each geo's intercept moved by its own trend
when time is re-centred (:func:`intercept_shift`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pymc as pm
import xarray as xr

from mmm.data.panel_design import PanelScaling, build_panel_design
from mmm.data.panel import Panel
from mmm.model import baseline
from mmm.model import media
from mmm.model import organic as organic_media
from mmm.model import roas_prior
from mmm.model.build import GEO_PRIORS, build_model
from mmm.model.geo_terms import draw_terms
from mmm.spec.config import Config, ConfigError
from mmm.spec.sections import default_coef_prior
from mmm.spec.priors import Prior

EPS_NAME = "update_eps"
EPS_DIM = "update_param"
_EDGE = 1e-12  # draws exactly on a bound (underflow) are moved just inside it
_JITTER = 1e-9  # added to the covariance's diagonal so the Cholesky factor exists

# model parameter name -> name of its prior in config.model.priors
MODEL_PRIOR_NAMES = {"intercept": "intercept", "trend": "trend", "season": "fourier",
                     "control_coef": "control_coef", "sigma": "sigma", "nu": "nu"}


@dataclass(frozen=True)
class Block:
    """One parameter's slice of the joint vector: its name, dims, coordinates and bounds."""

    name: str
    dims: tuple[str, ...]
    coords: dict[str, list[str]]
    shape: tuple[int, ...]
    offset: int
    lower: np.ndarray  # (size,) per element; -inf if none
    upper: np.ndarray  # (size,) per element; +inf if none

    @property
    def size(self) -> int:
        return int(np.prod(self.shape)) if self.shape else 1


@dataclass(frozen=True)
class UpdatePrior:
    """A multivariate normal over all parameters in unconstrained space."""

    blocks: tuple[Block, ...]
    mean: np.ndarray  # (P,)
    cov: np.ndarray  # (P, P)
    n_draws: int  # draws it was matched to

    @property
    def n_params(self) -> int:
        return len(self.mean)

    @property
    def chol(self) -> np.ndarray:
        return np.linalg.cholesky(self.cov + _JITTER * np.eye(self.n_params))

    def labels(self) -> list[str]:
        """``name[coord]`` of every element of the joint vector."""
        out = []
        for block in self.blocks:
            if not block.dims:
                out.append(block.name)
            else:
                for index in np.ndindex(*block.shape):
                    names = [block.coords[d][i] for d, i in zip(block.dims, index, strict=True)]
                    out.append(f"{block.name}[{', '.join(names)}]")
        return out

    def to_dict(self) -> dict[str, Any]:
        """A readable record for the manifest: per element its unconstrained mean and sd, and the method."""
        sd = np.sqrt(np.diag(self.cov))
        corr = self.cov / np.outer(sd, sd)
        off = np.abs(corr - np.eye(self.n_params))
        worst = np.unravel_index(np.argmax(off), off.shape) if self.n_params > 1 else (0, 0)
        labels = self.labels()
        return {
            "method": "joint multivariate normal moment-matched to the previous posterior's draws in "
                      "unconstrained space (log for positive, logit for (0,1) and bounded parameters)",
            "n_draws": self.n_draws,
            "parameters": {lab: {"mean": float(m), "sd": float(s)} for lab, m, s in zip(labels, self.mean, sd)},
            "strongest_correlation": {"between": [labels[worst[0]], labels[worst[1]]],
                                      "value": float(corr[worst])} if self.n_params > 1 else None,
        }

    def draws(self, eps: np.ndarray) -> dict[str, np.ndarray]:
        """Parameters from standard-normal draws ``eps`` (..., P), each shaped (..., *block.shape)."""
        z = self.mean + eps @ self.chol.T
        return {b.name: constrain(z[..., b.offset:b.offset + b.size], b.lower, b.upper).reshape(
            *z.shape[:-1], *b.shape) for b in self.blocks}

    def posterior_dataset(self, eps: np.ndarray) -> xr.Dataset:
        """The parameters, named and with coordinates as a regular fit stores them, from ``eps`` (chain, draw, P)."""
        values = self.draws(eps)
        out = {}
        for b in self.blocks:
            out[b.name] = xr.DataArray(values[b.name], dims=("chain", "draw", *b.dims),
                                       coords={d: b.coords[d] for d in b.dims})
        return xr.Dataset(out, coords={"chain": np.arange(eps.shape[0]), "draw": np.arange(eps.shape[1])})


def parameter_bounds(config: Config) -> dict[str, tuple[Any, Any]]:
    """Per parameter name, the (lower, upper) of the prior it is fitted under (scalars or per channel).

    The default channel coefficient and ROAS priors (LogNormal) only need their support, which
    does not depend on the data's scale. A model with ROAS priors samples ``channel_roas`` (and
    ``channel_coef_free`` for the channels without one) instead of ``channel_coef``: both are listed.
    """
    opts = config.model
    out = {name: prior_bounds(opts.prior(prior)) for name, prior in MODEL_PRIOR_NAMES.items()}
    for name, param, _dim, idx in media.parameter_layout(config.channels):
        priors = [config.channels[i].prior(param) or default_coef_prior(1.0, 1.0) for i in idx]
        out[name] = _stacked_bounds(priors)
    if opts.media_roas_scale == "auto" and opts.resolved_roas_scale is None:  # the median moves no support
        config = replace(config, model=replace(opts, resolved_roas_scale=1.0))
    roi_idx = roas_prior.roas_channels(config)
    if roi_idx:
        names = config.channel_names
        out[roas_prior.ROAS_VAR] = _stacked_bounds([roas_prior.roas_prior(config, names[i]) for i in roi_idx])
        free = [i for i in range(len(names)) if i not in roi_idx]
        if free:
            out[roas_prior.FREE_VAR] = (out[media.COEF][0][free], out[media.COEF][1][free])
    for name, param, _dim, idx, _ in organic_media.parameter_layout(config.organic):
        out[name] = _stacked_bounds([config.organic[i].prior(param) for i in idx])
    if config.events:
        out["event_coef"] = prior_bounds(opts.prior("event_coef"))
    return out


def _stacked_bounds(priors: list[Prior]) -> tuple[np.ndarray, np.ndarray]:
    pairs = [prior_bounds(p) for p in priors]
    return np.array([lo for lo, _ in pairs], dtype=float), np.array([hi for _, hi in pairs], dtype=float)


def prior_bounds(prior: Prior) -> tuple[float, float]:
    """The (lower, upper) of ``prior``'s support."""
    support = prior.support
    if support == "positive":
        return 0.0, np.inf
    if support == "unit":
        return 0.0, 1.0
    if support == "interval":
        lo = np.asarray(prior.params.get("lower", -np.inf), dtype=float)
        hi = np.asarray(prior.params.get("upper", np.inf), dtype=float)
        return lo, hi
    return -np.inf, np.inf


def _bound_kinds(lower: np.ndarray, upper: np.ndarray, shape: tuple[int, ...]):
    """Bounds broadcast to ``shape`` and masks of the two-sided, lower-only and upper-only entries."""
    lower, upper = np.broadcast_to(lower, shape), np.broadcast_to(upper, shape)
    lo, hi = np.isfinite(lower), np.isfinite(upper)
    return lower, upper, lo & hi, lo & ~hi, ~lo & hi


def unconstrain(x: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """Map values inside (lower, upper) to the real line (elementwise; bounds broadcast on the last axis)."""
    x = np.asarray(x, dtype=float)
    lower, upper, both, only_lo, only_hi = _bound_kinds(lower, upper, x.shape[-1:])
    out = x.copy()
    if both.any():
        u = np.clip((x[..., both] - lower[both]) / (upper[both] - lower[both]), _EDGE, 1 - _EDGE)
        out[..., both] = np.log(u) - np.log1p(-u)
    if only_lo.any():
        out[..., only_lo] = np.log(np.maximum(x[..., only_lo] - lower[only_lo], 1e-300))
    if only_hi.any():
        out[..., only_hi] = np.log(np.maximum(upper[only_hi] - x[..., only_hi], 1e-300))
    return out


def constrain(z: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """The inverse of :func:`unconstrain`."""
    z = np.asarray(z, dtype=float)
    lower, upper, both, only_lo, only_hi = _bound_kinds(lower, upper, z.shape[-1:])
    out = z.copy()
    if both.any():
        out[..., both] = lower[both] + (upper[both] - lower[both]) / (1 + np.exp(-z[..., both]))
    if only_lo.any():
        out[..., only_lo] = lower[only_lo] + np.exp(z[..., only_lo])
    if only_hi.any():
        out[..., only_hi] = upper[only_hi] - np.exp(z[..., only_hi])
    return out


def constrain_pt(z, lower: np.ndarray, upper: np.ndarray):
    """:func:`constrain` on a PyTensor vector (the same maps, for the model graph)."""
    import pytensor.tensor as pt

    lower, upper = np.asarray(lower, dtype=float), np.asarray(upper, dtype=float)
    lo_f, hi_f = np.isfinite(lower), np.isfinite(upper)
    width = np.where(lo_f & hi_f, upper - lower, 1.0)
    lo0 = np.where(lo_f, lower, 0.0)
    hi0 = np.where(hi_f, upper, 0.0)
    return pt.switch(lo_f & hi_f, lo0 + width * pt.sigmoid(z),
                     pt.switch(lo_f, lo0 + pt.exp(z), pt.switch(hi_f, hi0 - pt.exp(z), z)))


def posterior_to_prior(posterior: xr.Dataset, config: Config, names: list[str], *,
                       intercept_shift: np.ndarray | float = 0.0,
                       bounds: dict[str, tuple[Any, Any]] | None = None) -> UpdatePrior:
    """Moment-match one multivariate normal to ``posterior``'s draws of ``names`` (unconstrained).

    Parameters
    ----------
    posterior : Dataset
        The previous run's posterior (dims chain, draw, ...).
    config : Config
        The spec it was fitted under (its priors give each parameter's bounds).
    names : list of str
        The parameters, in the order of the model (its free variables).
    intercept_shift : float or array
        Added to the intercept draws first: the model centres time over its data, so when the
        data grow the same baseline has another intercept (``trend × (new mean time − old)``,
        computed per draw by the caller; shaped like the intercept's draws, e.g. (draws, geos)).
    bounds : dict, optional
        Per parameter name, its (lower, upper); default :func:`parameter_bounds` of ``config``
        (a model with more parameters, like a panel of several geos, passes its own).
    """
    missing = [n for n in names if n not in posterior.data_vars]
    if missing:
        raise ValueError(f"the previous posterior lacks parameter(s) {', '.join(missing)}; it was fitted with "
                         f"another model spec. Refresh with --mode refit instead.")
    bounds = parameter_bounds(config) if bounds is None else bounds
    stacked = posterior.stack(sample=("chain", "draw"))
    blocks, columns, offset = [], [], 0
    for name in names:
        da = stacked[name].transpose("sample", ...)
        values = np.asarray(da.values, dtype=float)
        if name == "intercept":
            values = values + np.asarray(intercept_shift, dtype=float)
        shape = values.shape[1:]
        flat = values.reshape(len(values), -1)
        lo, hi = bounds[name]
        lo = np.broadcast_to(np.asarray(lo, dtype=float), shape).reshape(-1)
        hi = np.broadcast_to(np.asarray(hi, dtype=float), shape).reshape(-1)
        dims = tuple(d for d in da.dims if d != "sample")
        coords = {d: [str(c) for c in da.coords[d].values] for d in dims}
        blocks.append(Block(name=name, dims=dims, coords=coords, shape=shape, offset=offset,
                            lower=lo.copy(), upper=hi.copy()))
        columns.append(unconstrain(flat, lo, hi))
        offset += flat.shape[1]
    matrix = np.concatenate(columns, axis=1)
    if len(matrix) < 2:
        raise ValueError("the previous posterior has fewer than 2 draws; cannot match a covariance")
    cov = np.atleast_2d(np.cov(matrix, rowvar=False))
    return UpdatePrior(blocks=tuple(blocks), mean=matrix.mean(axis=0), cov=cov, n_draws=len(matrix))


def apply_to_model(model, prior: UpdatePrior):
    """``model`` (extended in place) turned into a new model whose parameters are ``back(mean + L @ eps)`` with ``eps ~ N(0, I)``.

    The parameters become deterministics of ``update_eps``; the mean and Cholesky factor enter
    as data, so the compiled model is reused across updates of the same structure.
    """
    import pymc as pm
    import pytensor.tensor as pt

    with model:
        model.add_coord(EPS_DIM, prior.labels())
        model.add_coord(f"{EPS_DIM}_", prior.labels())
        mean = pm.Data("update_prior_mean", prior.mean, dims=EPS_DIM)
        chol = pm.Data("update_prior_chol", prior.chol, dims=(EPS_DIM, f"{EPS_DIM}_"))
        eps = pm.Normal(EPS_NAME, 0.0, 1.0, dims=EPS_DIM)
        z = mean + pt.dot(chol, eps)
    interventions = {}
    for b in prior.blocks:
        value = constrain_pt(z[b.offset:b.offset + b.size], b.lower, b.upper)
        interventions[b.name] = value.reshape(b.shape) if b.shape else value[0]
    return pm.do(model, interventions)


def model_parameter_bounds(config: Config, model: pm.Model) -> dict[str, tuple[Any, Any]]:
    """Per free variable of the geo ``model``, the (lower, upper) of the prior it is fitted under.

    The national parameters' bounds come from ``config`` (:func:`mmm.model.update_prior.parameter_bounds`),
    the geo spreads' from :data:`mmm.model.build.GEO_PRIORS`; a variable PyMC samples untransformed
    (the standard-normal per-geo offsets) is unbounded. Anything else is an error, never a guess.
    """
    bounds = parameter_bounds(config)
    bounds.update({name: prior_bounds(prior) for name, prior in GEO_PRIORS.items()})
    if baseline.SHOCK_SD in model.named_vars:
        bounds[baseline.SHOCK_SD] = prior_bounds(config.model.baseline.prior("shock_sd"))
    for rv in model.free_RVs:
        if rv.name not in bounds and model.rvs_to_transforms.get(rv) is None:
            bounds[rv.name] = (-np.inf, np.inf)
    unknown = [rv.name for rv in model.free_RVs if rv.name not in bounds]
    if unknown:
        raise ValueError(f"no bounds known for model parameter(s) {', '.join(unknown)}; add their prior to "
                         f"GEO_PRIORS so an update can carry them forward")
    return bounds


def intercept_shift(previous: xr.Dataset, n_geos: int, moved_years: float) -> np.ndarray | float:
    """Per draw (and geo), how each geo's intercept moves when time is centred ``moved_years`` later.

    Shaped like the intercept's draws: (draws, geos), or (draws,) for a one-geo panel.
    """
    if "trend" not in previous.data_vars:
        return 0.0
    _, terms = draw_terms(previous, n_geos)
    trend = terms["trend"].reshape(-1, n_geos)  # (chain x draw, geo), chain-major like Dataset.stack
    if "geo" not in previous["intercept"].dims:
        trend = trend[:, 0]
    return trend * moved_years


def update_model(previous: xr.Dataset, config: Config, data: Panel, scaling: PanelScaling, *,
                     n_train: int, fit_start: int, moved_years: float) -> tuple[pm.Model, UpdatePrior]:
    """The model on ``data`` observing periods ``fit_start .. n_train - 1``, with ``previous`` as its prior.

    ``config`` is the update's model spec (:func:`mmm.runs.refresh.update_model_config`): lift tests new
    since the parent enter the likelihood.
    """
    design = build_panel_design(data, scaling, config.design)
    model = build_model(config, design, n_train=n_train, fit_start=fit_start)
    # per-period shocks belong to their periods: each period's shock starts from its own prior, while their
    # spread (baseline_shock_sd) is carried forward like every other parameter
    names = [rv.name for rv in model.free_RVs if rv.name != baseline.SHOCKS]
    missing = [n for n in names if n not in previous.data_vars]
    if missing:
        raise ConfigError(f"the previous run has no posterior for {', '.join(missing)}: it was fitted without "
                         "them, so an update cannot carry them forward; refresh with --mode refit")
    prior = posterior_to_prior(previous, config, names, bounds=model_parameter_bounds(config, model),
                               intercept_shift=intercept_shift(previous, data.n_geos, moved_years))
    return apply_to_model(model, prior), prior
