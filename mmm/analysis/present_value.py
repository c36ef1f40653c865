"""Present value of lasting returns (docs/figures.md, "Present value").

A return that arrives ``l`` periods after the spend that caused it is worth ``d^l`` of its face value,
with ``d = (1 + r)^(-years per period)`` and ``r`` the annual ``finance.discount_rate``. The immediate part
(``l = 0``) is not discounted. A period's return is attributed to the periods of spend behind it in
proportion to what each put into that period's adstocked input (the same rule that splits immediate from
lasting), so its present value is the return times

    Σ_l w_l d^l u_{t-l}  /  Σ_l w_l u_{t-l}

(``u`` the spend that is being measured, ``w`` the adstock weights): 1 when ``r = 0``, exactly.
"""

from __future__ import annotations

import numpy as np

from mmm.data.load import PERIODS_PER_YEAR
from mmm.model.transforms import adstock_np, payback_periods


def period_discount(annual_rate: float, freq: str) -> float:
    """The factor ``d`` on a return one period later: ``(1 + r)^(-1 / periods per year)``."""
    if annual_rate < 0:
        raise ValueError(f"a discount rate is 0 or more; got {annual_rate!r}")
    return float((1.0 + annual_rate) ** (-1.0 / PERIODS_PER_YEAR[freq]))


def lag_discounts(n_lags: int, discount: float) -> np.ndarray:
    """(L,) ``d^l`` for lags 0..L-1."""
    return discount ** np.arange(n_lags, dtype=float)


def present_value_factor(inputs: np.ndarray, weights: np.ndarray, discount: float) -> np.ndarray:
    """(..., T, K) the share of each period's return worth keeping at present value.

    ``inputs`` (..., T, K): the adstock input of the spend being measured (0 elsewhere); ``weights``
    (D, K, L): adstock weights. Periods the spend does not reach get 1 (their return is 0 anyway).
    """
    plain = adstock_np(inputs, weights)
    if discount == 1.0:  # the same numbers, not a division that could round
        return np.ones_like(plain)
    discounted = adstock_np(inputs, weights * lag_discounts(weights.shape[-1], discount))
    return np.divide(discounted, plain, out=np.ones_like(plain), where=plain > 0)


def discounted_payback(weights: np.ndarray, discount: float, share: float) -> np.ndarray:
    """(D, K) periods after a spend until ``share`` of its present value has arrived (0 = same period)."""
    discounted = weights * lag_discounts(weights.shape[-1], discount)
    total = discounted.sum(axis=-1, keepdims=True)
    return payback_periods(np.divide(discounted, total, out=np.zeros_like(discounted), where=total > 0), share)
