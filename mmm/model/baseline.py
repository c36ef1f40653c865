"""A baseline that moves: a smooth time-varying component and per-period shocks shared by all geos.

One definition for PyTensor variables (the model) and NumPy draws (the figures), like
:mod:`mmm.model.geo_terms`. In model units (a geo's KPI / its own KPI scale), added to every geo's
expected KPI::

    time_effect_t = smooth_t + shock_t
    smooth_t      = sum_j phi_j(t) * sqrt(S(omega_j)) * baseline_z_j          (Hilbert-space GP)
    shock_t       = baseline_shock_sd * baseline_shock_z_t                    (panels: one per period)

``smooth`` is a Gaussian process with a squared-exponential kernel (``kernel: exp_quad``, the default;
``matern32`` swaps in the Matern 3/2 spectral density, see :func:`spectral_scale`) (amplitude
``baseline_amplitude``, length scale ``baseline_lengthscale`` in years), approximated on
``n_basis`` Laplacian eigenfunctions of [-L, L] (Solin & Sarkka 2020; Riutort-Mayol et al. 2023):
``phi_j(t) = sin(pi j (t + L) / 2L) / sqrt(L)``, ``omega_j = pi j / 2L``, and the kernel's spectral
density ``S(w) = amplitude^2 sqrt(2 pi) lengthscale exp(-(lengthscale w)^2 / 2)``. ``L`` is 1.5 times the
half-range of the design's (centred) time; by default ``n_basis`` is
``1.75 c S / 0.2 years`` (S the half-range, c = 2; Riutort-Mayol et al.'s rule for the shortest length
scale to resolve): 26 for three years of data, 18 for two. Each basis column is projected off the intercept, the trend
and the Fourier terms (:func:`design_basis`): the component moves the baseline around what those already
describe instead of trading with them along a ridge (which cost the sampler its convergence gate on
every seed of bench/moving_baseline.py before). Its smoothness is learned: the length scale has a prior,
not a fixed value.

``shock`` gives a panel one effect per period that every geo shares (in its own model units), with
a learned spread, projected off the intercept, the trend and the season like the smooth component
(:func:`shock_projection`): a week that moves every geo's KPI is baseline, not media. A national series has
only one observation per period, so shocks there would be indistinguishable from noise and are refused
(:mod:`mmm.spec.parse`).

The counterfactuals do not change: the baseline is the same with and without a channel's spend, so
incremental KPI, ROAS and the immediate share keep their definitions (docs/figures.md); the component
enters the fitted KPI, the baseline and R².
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

BOUNDARY_FACTOR = 2.0  # L = 2 x the half-range of time: within 2% of the kernel for length scales 0.1-0.7 x it
SHORTEST_LENGTHSCALE = 0.2  # years; about the default prior's 5% quantile: the automatic basis resolves it
AMPLITUDE, LENGTHSCALE, COEFS = "baseline_amplitude", "baseline_lengthscale", "baseline_z"
SHOCK_SD, SHOCKS = "baseline_shock_sd", "baseline_shock_z"
VARIABLES = (AMPLITUDE, LENGTHSCALE, COEFS, SHOCK_SD, SHOCKS)


def smooth_basis(time: np.ndarray, n_basis: int, fixed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(T, n_basis) eigenfunctions and their (n_basis,) frequencies for the design's time.

    Each column is centred, and with ``fixed`` ((T, F) columns the model already has, e.g. the trend's
    time and the Fourier terms) it is projected off them too: the component then holds only the movement
    a line and the seasonality cannot, instead of a ridge along which it trades with them.
    """
    time = np.asarray(time, dtype=float)
    half_range = max(float(np.max(np.abs(time))), 1e-6)
    boundary = BOUNDARY_FACTOR * half_range
    j = np.arange(1, n_basis + 1)
    omega = np.pi * j / (2.0 * boundary)
    phi = np.sin(np.outer(time + boundary, omega)) / np.sqrt(boundary)
    columns = np.ones((len(time), 1)) if fixed is None else np.column_stack([np.ones(len(time)), fixed])
    coef, *_ = np.linalg.lstsq(columns, phi, rcond=None)
    return phi - columns @ coef, omega


# Riutort-Mayol et al. (2023): basis functions per (boundary / shortest length scale) for each kernel
BASIS_PER_RANGE = {"exp_quad": 1.75, "matern32": 3.42}


def automatic_basis_size(time: np.ndarray, kernel: str = "exp_quad") -> int:
    """Basis functions that resolve :data:`SHORTEST_LENGTHSCALE` over the design's time (10..80)."""
    half_range = float(np.max(np.abs(np.asarray(time, dtype=float))))
    wanted = BASIS_PER_RANGE[kernel] * BOUNDARY_FACTOR * half_range / SHORTEST_LENGTHSCALE
    return int(np.clip(np.ceil(wanted), 10, 80))


def design_basis(time: np.ndarray, fourier: np.ndarray, n_basis: int | None,
                 trend: bool, kernel: str = "exp_quad") -> tuple[np.ndarray, np.ndarray]:
    """The smooth component's basis for a design (``n_basis`` None: automatic), projected off the trend
    (if modelled) and the season."""
    n_basis = automatic_basis_size(time, kernel) if n_basis is None else n_basis
    fixed = [fourier] if fourier.shape[1] else []
    if trend:
        fixed.insert(0, time[:, None])
    return smooth_basis(time, n_basis, np.column_stack(fixed) if fixed else None)


def spectral_scale(amplitude: Any, lengthscale: Any, omega: np.ndarray, xp: Any = np,
                   kernel: str = "exp_quad") -> Any:
    """sqrt(S(omega_j)) of the kernel, (..., n_basis) from (...,) hyperparameters.

    ``exp_quad``: S(w) = a^2 sqrt(2 pi) l exp(-(l w)^2 / 2). ``matern32``: S(w) = a^2 4 lam^3 / (lam^2 + w^2)^2
    with lam = sqrt(3) / l; its density falls off polynomially, so the weight of a fast basis function
    changes gently with the length scale instead of as exp(-l^2 w^2 / 4).
    """
    amplitude, lengthscale = amplitude[..., None], lengthscale[..., None]
    if kernel == "matern32":
        rate = np.sqrt(3.0) / lengthscale
        return amplitude * 2.0 * rate ** 1.5 / (rate ** 2 + omega ** 2)
    return amplitude * xp.sqrt(np.sqrt(2.0 * np.pi) * lengthscale) * xp.exp(-0.25 * (lengthscale * omega) ** 2)


def shock_projection(time: np.ndarray, fourier: np.ndarray, trend: bool) -> tuple[np.ndarray, np.ndarray]:
    """(T, F) the columns the shocks are projected off (a constant, the trend's time if modelled, the
    Fourier terms) and their (F, T) pseudo-inverse: ``z - fixed @ (pinv @ z)`` holds what they cannot."""
    columns = [np.ones(len(time))]
    if trend:
        columns.append(np.asarray(time, dtype=float))
    fixed = np.column_stack([*columns, fourier]) if fourier.shape[1] else np.column_stack(columns)
    return fixed, np.linalg.pinv(fixed)


def time_effect(values: Mapping[str, Any], phi: np.ndarray | None, omega: np.ndarray | None,
                xp: Any = np, shock_fixed: tuple[np.ndarray, np.ndarray] | None = None,
                kernel: str = "exp_quad") -> Any:
    """(..., T) baseline movement from the sampled values (leading draw dims with NumPy), or None
    when the model has neither component.

    Shocks are projected off ``shock_fixed`` (:func:`shock_projection`: the intercepts, the trend and the
    season), so a shared shock never trades with those terms along a ridge; without it (runs written before
    the projection) they are only centred."""
    out = None
    if COEFS in values:
        coefs = spectral_scale(values[AMPLITUDE], values[LENGTHSCALE], omega, xp, kernel) * values[COEFS]
        out = (coefs @ phi.T) if xp is np else xp.dot(phi, coefs)
    if SHOCKS in values:
        z = values[SHOCKS]
        if shock_fixed is None:
            held = z - z.mean(axis=-1, keepdims=True)
        else:
            fixed, pinv = shock_fixed
            held = z - ((z @ pinv.T) @ fixed.T if xp is np else xp.dot(fixed, xp.dot(pinv, z)))
        shocks = values[SHOCK_SD][..., None] * held
        out = shocks if out is None else out + shocks
    return out
