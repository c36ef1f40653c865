"""The moving baseline integrated out of the sampled density, and drawn back after sampling.

With a normal likelihood the baseline's movement (:mod:`mmm.model.baseline`) enters every geo's expected KPI
linearly, with a Gaussian prior on its coefficients, so they can be integrated out exactly (a marginal
Gaussian process; Rasmussen & Williams 2006, ch. 2). The sampler then explores only the rest of the model and
the movement's hyperparameters (amplitude and length scale, or the shocks' spread) instead of 20-160 more
coordinates funnelled under them. After sampling, every draw's coefficients are drawn from their exact
conditional given that draw (:func:`draw_collapsed`), so the posterior holds the same variables with the same
joint distribution, and every figure is computed as before.

Notation over the fitted periods: ``r_g = kpi_g - mu_g`` is geo g's residual from everything but the movement,
``w_g = 1 / sigma_g^2``, ``W = sum_g w_g``, ``rw = sum_g w_g r_g``. The movement is ``u = B S z`` with
``z ~ N(0, I_k)`` (``B`` the basis on the fitted periods, ``S`` the coefficients' scales), the same in every geo::

    log p(kpi | rest) = sum_g log N(r_g | 0, sigma_g^2) + b' A^-1 b / 2 - log|A| / 2
    A = I + W S B'B S,    b = S B' rw,    z | kpi, rest ~ N(A^-1 b, A^-1)

For the smooth component ``S`` is the kernel's spectral scale, which moves with the length scale: ``A`` is
factored (Cholesky, k = the basis size). For the shocks ``S = baseline_shock_sd x I`` and ``B'B`` is fixed by
the design, so its eigenvectors are computed once (:func:`shock_rotation`) and ``A`` is diagonal in them.

A Student-t likelihood has no such closed form: its models sample the coefficients (``collapsible`` is False).
"""

from __future__ import annotations

import functools
import hashlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytensor
import pytensor.tensor as pt
import xarray as xr
from pytensor.gradient import grad_not_implemented
from pytensor.graph import Apply, Op, clone_replace
from pytensor.link.numba.dispatch import basic as numba_basic
from pytensor.link.numba.dispatch.basic import register_funcify_default_op_cache_key
from pytensor.tensor.random.op import RandomVariable


@dataclass
class Collapsed:
    """Variables integrated out of the sampled density and how to draw them back, jointly.

    ``draws`` are graphs in the model's variables and ``noises`` (standard normal vectors, one per variable):
    each ``mean + A^{-1/2} noise`` of its conditional, a later one conditional on the earlier ones too.
    ``substitutes`` maps a free variable sampled in another form to the name the posterior reports it under
    and the expression that recovers it from that (e.g. the level from the intercept,
    :data:`mmm.model.build.SAMPLED_FORMS`)."""
    names: tuple[str, ...]
    dims: tuple[tuple[str, ...], ...]
    noises: tuple[Any, ...]
    draws: tuple[Any, ...]
    substitutes: dict[Any, tuple[str, Callable[[Any], Any]]] = field(default_factory=dict)


def collapsible(likelihood: str) -> bool:
    return likelihood == "normal"


def gaussian_terms(residual, sigma):
    """(sum of log N(r | 0, sigma), W, rw) over geos (rows) and fitted periods (columns); sigma is (G, 1)."""
    weight = 1.0 / pt.sqr(sigma)
    n_periods = residual.shape[1]
    plain = (-0.5 * (weight * pt.sqr(residual)).sum() - n_periods * pt.log(sigma).sum()
             - 0.5 * np.log(2.0 * np.pi) * n_periods * residual.shape[0])
    return plain, weight.sum(), (weight * residual).sum(axis=0)


def smooth_terms(projected, gram, scale, total_weight, noise):
    """(log-likelihood gain from the movement, draw) for the smooth component.

    ``projected`` = B' rw (k,) with ``B`` the basis on the fitted periods, ``gram`` = B'B (k, k), ``scale``
    (k,) the spectral scale.
    The gain is one fused operation with its gradient in closed form (:class:`SmoothMarginal`): the same
    arithmetic through PyTensor's Cholesky and its symbolic gradient is 80 graph nodes and about doubled
    the cost of a national model's gradient. The draw (after sampling only) keeps the plain graph."""
    gain = SMOOTH_MARGINAL(projected, gram, scale, total_weight)
    k = gram.shape[0]
    chol = pt.linalg.cholesky(pt.eye(k) + total_weight * (scale[:, None] * gram * scale[None, :]))
    whitened = pt.linalg.solve_triangular(chol, scale * projected, lower=True)
    draw = pt.linalg.solve_triangular(chol.T, whitened + noise, lower=False)  # A^-1 b + L^-T noise
    return gain, draw


def smooth_marginal(projected, gram, scale, total_weight):
    """b' A^-1 b / 2 - log|A| / 2 and its gradient with respect to (B' rw, S, W), A = I + W S G S, b = S B' rw.

    With x = A^-1 b:  d/d(B'rw) = S x;  d/ds_i = x_i (B'rw)_i - W x_i (G S x)_i - W (G S A^-1)_ii;
    d/dW = -(x' S G S x + tr(A^-1 S G S)) / 2. A non-finite or non-positive-definite input gives NaN (the
    sampler rejects the step). Plain loops, so numba compiles it into the log-density without LAPACK calls."""
    k = projected.shape[0]
    weighted_gram = np.empty((k, k))
    chol = np.zeros((k, k))
    for i in range(k):
        for j in range(k):
            weighted_gram[i, j] = scale[i] * gram[i, j] * scale[j]
    for j in range(k):  # Cholesky of A = I + W S G S
        diagonal = 1.0 + total_weight * weighted_gram[j, j]
        for m in range(j):
            diagonal -= chol[j, m] * chol[j, m]
        if not diagonal > 0.0:
            nan = np.full(k, np.nan)
            return np.nan, nan, nan.copy(), np.nan
        chol[j, j] = np.sqrt(diagonal)
        for i in range(j + 1, k):
            value = total_weight * weighted_gram[i, j]
            for m in range(j):
                value -= chol[i, m] * chol[j, m]
            chol[i, j] = value / chol[j, j]
    inverse_chol = np.zeros((k, k))  # L^-1, lower triangular
    for i in range(k):
        inverse_chol[i, i] = 1.0 / chol[i, i]
        for j in range(i):
            value = 0.0
            for m in range(j, i):
                value -= chol[i, m] * inverse_chol[m, j]
            inverse_chol[i, j] = value / chol[i, i]
    b = scale * projected
    whitened = inverse_chol @ b  # L^-1 b
    x = inverse_chol.T @ whitened  # A^-1 b
    log_det = 0.0
    for i in range(k):
        log_det += np.log(chol[i, i])
    gain = 0.5 * np.sum(whitened * whitened) - log_det
    # (G S A^-1)_ii = (1 - (A^-1)_ii) / (W s_i), since S G S = (A - I) / W; a row whose W s_i^2 G_ii is
    # negligible would lose that to cancellation, so it is summed directly from its row of A^-1
    d_scale = np.empty(k)
    quadratic = 0.0  # x' S G S x
    trace = 0.0  # tr(A^-1 S G S) = (k - tr A^-1) / W
    for i in range(k):
        inverse_ii = 0.0
        for m in range(i, k):
            inverse_ii += inverse_chol[m, i] * inverse_chol[m, i]
        trace += 1.0 - inverse_ii
        if total_weight * weighted_gram[i, i] > 1e-8:
            trace_term = (1.0 - inverse_ii) / (total_weight * scale[i])
        else:
            trace_term = 0.0
            for j in range(k):
                inverse_ji = 0.0
                for m in range(max(i, j), k):
                    inverse_ji += inverse_chol[m, j] * inverse_chol[m, i]
                trace_term += gram[i, j] * scale[j] * inverse_ji
        gram_scale_x = 0.0
        for j in range(k):
            gram_scale_x += gram[i, j] * scale[j] * x[j]
        d_scale[i] = x[i] * projected[i] - total_weight * (x[i] * gram_scale_x + trace_term)
        quadratic += scale[i] * x[i] * gram_scale_x
    d_weight = -0.5 * (quadratic + trace / total_weight)
    return gain, scale * x, d_scale, d_weight


class SmoothMarginal(Op):
    """:func:`smooth_marginal` as a PyTensor Op: outputs the gain and its three gradients; the gradient of the
    gain is read from the latter. ``implementation`` (a hash of the function's source) keeps compiled caches of
    an older version from being reused."""
    __props__ = ("implementation",)

    def __init__(self, implementation: str):
        self.implementation = implementation

    def make_node(self, projected, gram, scale, total_weight):
        inputs = [pt.as_tensor_variable(v).astype("float64") for v in (projected, gram, scale, total_weight)]
        outputs = [pt.dscalar(), pt.dvector(), pt.dvector(), pt.dscalar()]
        return Apply(self, inputs, outputs)

    def perform(self, node, inputs, output_storage):  # the C backend (PyMC's own NUTS, compile_logp): jitted too
        projected, gram, scale, total_weight = inputs
        values = _jitted_smooth_marginal()(projected, gram, scale, float(total_weight))
        for storage, value in zip(output_storage, values, strict=True):
            storage[0] = np.asarray(value, dtype="float64")

    def __call__(self, *inputs):
        return super().__call__(*inputs)[0]

    def pullback(self, inputs, outputs, output_grads):
        gain_grad = output_grads[0]
        _, d_projected, d_scale, d_weight = outputs
        return [gain_grad * d_projected, grad_not_implemented(self, 1, inputs[1]), gain_grad * d_scale,
                gain_grad * d_weight]


@functools.cache
def _jitted_smooth_marginal():
    import numba

    return numba.njit(cache=True)(smooth_marginal)


SMOOTH_MARGINAL = SmoothMarginal(hashlib.sha256(inspect.getsource(smooth_marginal).encode()).hexdigest()[:16])


@register_funcify_default_op_cache_key(SmoothMarginal)
def _numba_smooth_marginal(op, node, **kwargs):
    kernel = numba_basic.numba_njit(smooth_marginal)

    @numba_basic.numba_njit
    def smooth_marginal_op(projected, gram, scale, total_weight):
        gain, d_projected, d_scale, d_weight = kernel(projected, gram, scale, total_weight.item())
        return np.asarray(gain), d_projected, d_scale, np.asarray(d_weight)

    return smooth_marginal_op


def shock_rotation(basis: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Eigenvectors V (n, n) and eigenvalues (n,) of B'B for the shocks, and V' B' (n, n).

    ``basis`` is the matrix ``I - fixed @ pinv`` the fitted periods' shocks are multiplied by
    (:func:`mmm.model.baseline.shock_projection` over those periods)."""
    eigenvalues, vectors = np.linalg.eigh(basis.T @ basis)
    eigenvalues = np.clip(eigenvalues, 0.0, None)  # exact zeros come out as -1e-16
    return vectors, eigenvalues, np.ascontiguousarray(vectors.T @ basis.T)


def shock_terms(vectors, eigenvalues, rotated_basis, shock_sd, weighted_residual, total_weight, noise):
    """(log-likelihood gain, draw) for the shocks: A = V diag(1 + W sd^2 lambda) V'."""
    stretch = 1.0 + total_weight * pt.sqr(shock_sd) * eigenvalues
    projected = shock_sd * pt.dot(rotated_basis, weighted_residual)  # V' b
    gain = 0.5 * (pt.sqr(projected) / stretch).sum() - 0.5 * pt.log(stretch).sum()
    draw = pt.dot(vectors, projected / stretch + noise / pt.sqrt(stretch))
    return gain, draw


def smooth_and_shock_terms(basis, gram, scale, shock_sd, shock_pieces, weighted_residual, total_weight,
                           smooth_noise, shock_noise):
    """(gain, (smooth draw, shock draw)) with both integrated out, when the smooth basis on the fitted periods
    is orthogonal to what the shocks are projected off (``P B = 0``; no holdout).

    With the shocks integrated out first, the geos' weighted mean residual has covariance
    ``K = P / W + (I - P)(1 / W + sd^2)``, so ``B' K^-1 B = W B'B / (1 + a)`` and ``B' K^-1 rbar = B' rw / (1 + a)``
    with ``a = W sd^2``: the smooth part's marginal is the same fused op with ``W / (1 + a)`` and ``B' rw / (1 + a)``.
    The shocks are then drawn given the smooth draw (their residual less its movement)."""
    vectors, eigenvalues, rotated = shock_pieces
    shrink = 1.0 / (1.0 + total_weight * pt.sqr(shock_sd))
    smooth_gain, smooth_draw = smooth_terms(pt.dot(basis.T, weighted_residual) * shrink, gram, scale,
                                            total_weight * shrink, smooth_noise)
    shock_gain, _ = shock_terms(vectors, eigenvalues, rotated, shock_sd, weighted_residual, total_weight, shock_noise)
    smooth_movement = pt.dot(basis, scale * smooth_draw)
    _, shock_draw = shock_terms(vectors, eigenvalues, rotated, shock_sd,
                                weighted_residual - total_weight * smooth_movement, total_weight, shock_noise)
    return smooth_gain + shock_gain, (smooth_draw, shock_draw)


def draw_collapsed(model, posterior: xr.Dataset, seed: int) -> xr.Dataset:
    """``posterior`` with the model's collapsed variables (``model.collapsed``, a :class:`Collapsed`) drawn
    from their conditional given every (chain, draw)."""
    return posterior.assign(_conditional_draws(model, model.collapsed, posterior, seed))


def _conditional_draws(model, collapsed: Collapsed, posterior: xr.Dataset, seed: int) -> dict[str, xr.DataArray]:
    plain = [rv for rv in model.free_RVs if rv not in collapsed.substitutes]
    inputs: dict[str, Any] = {rv.name: rv.type(name=rv.name) for rv in plain}
    replacements = {rv: inputs[rv.name] for rv in plain}
    for rv, (name, recover) in collapsed.substitutes.items():  # a sampled form, from what the posterior reports
        inputs[name] = model[name].type(name=name)
        replacements[rv] = clone_replace(recover(inputs[name]), {r: inputs[r.name] for r in plain})
    # one simultaneous replacement: a second pass would miss variables cloned inside the first's replacements
    draws = clone_replace(list(collapsed.draws), replacements)
    function = pytensor.function([*inputs.values(), *collapsed.noises], draws, on_unused_input="ignore")
    if any(isinstance(node.op, RandomVariable) for node in function.maker.fgraph.apply_nodes):
        raise RuntimeError(f"the conditional draw of {', '.join(collapsed.names)} still samples a model variable: "
                           "a free variable was not replaced by its posterior value")
    values = {name: posterior[name].transpose("chain", "draw", ...).to_numpy() for name in inputs}
    n_chains, n_draws = posterior.sizes["chain"], posterior.sizes["draw"]
    rng = np.random.default_rng([seed, 20261206])
    sizes = [int(noise.type.shape[0]) for noise in collapsed.noises]
    noises = [rng.standard_normal((n_chains, n_draws, size)) for size in sizes]
    drawn = [np.empty((n_chains, n_draws, size)) for size in sizes]
    for c in range(n_chains):
        for d in range(n_draws):
            results = function(*(values[name][c, d] for name in inputs), *(noise[c, d] for noise in noises))
            for out, result in zip(drawn, results, strict=True):
                out[c, d] = result
    out = {}
    for name, dims, values_drawn in zip(collapsed.names, collapsed.dims, drawn, strict=True):
        # as the sampler labels them (strings), unless the posterior already has the dimension
        coords = {dim: posterior[dim].values if dim in posterior.coords else [str(x) for x in model.coords[dim]]
                  for dim in dims}
        out[name] = xr.DataArray(values_drawn, dims=("chain", "draw", *dims),
                                 coords={"chain": posterior["chain"], "draw": posterior["draw"], **coords})
    return out
