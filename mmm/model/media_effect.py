"""A media effect that moves over time: one smooth multiplier on every paid channel's contribution.

``model.media_effect: time_varying`` (or the candidate ``{media_effect: time_varying}``) lets the strength of
paid media drift, as when creative wears out, a competitor enters, or the product's appeal changes::

    contribution_tk = m_t * channel_coef_k * saturation_k(adstock_k(spend_tk))
    log m_t         = sum_j phi_j(t) * sqrt(S(omega_j)) * media_effect_z_j          (Hilbert-space GP)

with the baseline's smooth machinery (:mod:`mmm.model.baseline`): the same eigenfunctions of the design's
time, centred, so ``log m`` averages 0 over the data's periods and ``channel_coef`` keeps its meaning (the
effect at the average strength); an exp-quad kernel with amplitude ``media_effect_amplitude`` (log scale)
and length scale ``media_effect_lengthscale`` (years). It is the same for every channel and geo: it
scales media as a whole, so the channels' relative strength, curves and carry-over stay as they are.
Its amplitude shrinks to 0 when the data show no drift.

Figures follow from it: the periods where a channel's spend lands are weighted by the multiplier then
(ROAS, contributions, mROAS); carry-over after the data keeps the last period's strength; a budget plan
for the periods after the data plans at the last period's strength (:mod:`mmm.planning.outcome`). A ROAS
prior (``roas_prior``) is a belief about the ROAS at the average strength. Lift tests are refused with it
(a test measures the effect at its own dates; :mod:`mmm.spec.parse`), and so is a refresh in update mode
(the path belongs to the periods it was fitted on; :mod:`mmm.runs.refresh`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from mmm.model.baseline import automatic_basis_size, smooth_basis, spectral_scale

AMPLITUDE, LENGTHSCALE, COEFS = "media_effect_amplitude", "media_effect_lengthscale", "media_effect_z"
BASIS_DIM = "media_effect_basis"
VARIABLES = (AMPLITUDE, LENGTHSCALE, COEFS)


def basis(time: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(T, J) centred eigenfunctions of the design's time and their (J,) frequencies."""
    return smooth_basis(time, automatic_basis_size(time))


def log_multiplier(values: Mapping[str, Any], phi: np.ndarray, omega: np.ndarray, xp: Any = np) -> Any:
    """(..., T) log m_t from the sampled values (leading draw dims with NumPy)."""
    coefs = spectral_scale(values[AMPLITUDE], values[LENGTHSCALE], omega, xp) * values[COEFS]
    return (coefs @ phi.T) if xp is np else xp.dot(phi, coefs)


def multiplier_draws(draws: Mapping[str, np.ndarray], time: np.ndarray, extra_periods: int = 0) -> np.ndarray | None:
    """(D, T + extra_periods) m_t per draw, the last period's value held after the data; None without
    a time-varying effect."""
    if COEFS not in draws:
        return None
    phi, omega = basis(time)
    log_m = log_multiplier(draws, phi, omega)
    if extra_periods:
        log_m = np.concatenate([log_m, np.repeat(log_m[:, -1:], extra_periods, axis=1)], axis=1)
    return np.exp(log_m)
