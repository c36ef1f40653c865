"""What the data of a truth case can say at best: least squares that is told each channel's true curve.

The oracle regresses the KPI (summed over geos) on each channel's true contribution series (its true
adstock, saturation and scale, from the world's own code) and a baseline of intercept, linear trend, yearly
Fourier pairs, the controls (averaged over geos) and, for daily data, day-of-week dummies. Its coefficient
m_k scales channel k's true effect, so its ROAS estimate is m_k x the true ROAS. Knowing the curves is
more than any model knows, so its error is a floor for what the data allow: where the oracle's own error is
large, no estimator can be accurate on that case and the posterior should stay wide instead.

Imports nothing from the package.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import norm

from bench.truth.scenarios import Case


def _baseline_design(dates: pd.DatetimeIndex, controls: pd.DataFrame, order: int = 2) -> np.ndarray:
    days = (dates - dates[0]).days.to_numpy(dtype=float)
    years = days / 365.25
    columns = [np.ones(len(dates)), years - years.mean()]
    for j in range(1, order + 1):
        columns += [np.sin(2 * np.pi * j * years), np.cos(2 * np.pi * j * years)]
    columns += [c - c.mean() for c in controls.to_numpy(dtype=float).T]
    if len(dates) > 1 and (dates[1] - dates[0]).days == 1:  # daily: the day of the week
        weekday = dates.dayofweek.to_numpy()
        columns += [(weekday == d).astype(float) for d in range(1, 7)]
    return np.column_stack(columns)


def oracle_roas(case: Case, interval: float = 0.9) -> pd.DataFrame:
    """Per channel: the oracle's ROAS estimate, its normal-theory interval and relative error."""
    frame = case.frame.copy()
    frame["date"] = pd.to_datetime(frame["date"])
    controls = list(case.config.get("controls", []))
    national = frame.groupby("date").agg({"revenue": "sum", **{c: "mean" for c in controls}})
    dates = pd.DatetimeIndex(national.index)
    channels = list(case.truth_contribution.columns)
    media = case.truth_contribution.reindex(dates).to_numpy(dtype=float)
    design = np.column_stack([media, _baseline_design(dates, national[controls])])
    y = national["revenue"].to_numpy(dtype=float)
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    resid = y - design @ coef
    dof = max(len(y) - design.shape[1], 1)
    cov = np.linalg.pinv(design.T @ design) * (resid @ resid / dof)
    z = float(norm.ppf((1 + interval) / 2))
    rows = []
    for k, channel in enumerate(channels):
        truth = case.truth_roas[channel]
        m, se = coef[k], float(np.sqrt(cov[k, k]))
        rows.append({"channel": channel, "oracle": m * truth, "oracle_lo": (m - z * se) * truth,
                     "oracle_hi": (m + z * se) * truth, "oracle_rel_error": abs(m - 1.0),
                     "oracle_rel_se": se})
    return pd.DataFrame(rows)
