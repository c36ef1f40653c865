"""Events, an organic channel and a promotion treatment for synthetic data, with their true contributions.

Apart from the model's forms on purpose where it matters: each year's occurrence of an event has its own
size (the model fits one effect per event and offset), and the organic channel saturates along an S-shaped
Hill curve (the model's default for organic media is logistic) and is sent in some periods only. Every contribution is computed here by
plain loops (:mod:`mmm.data.synth_truth`), in KPI units per period.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mmm.data.synth_truth import adstock_weights, carryover, saturate

# kpi_scale units per period at each offset (periods from the event's date); year-to-year log-sd of the size
EVENT_EFFECTS = {"black_friday": {-1: 0.08, 0: 0.25}, "christmas": {0: 0.15, 1: -0.10}}
EVENT_YEAR_SPREAD = 0.2
ORGANIC = {"name": "newsletter", "column": "newsletter_sends", "level": 20_000.0, "alpha": 0.5,
           "half_saturation": 0.8, "slope": 1.5, "coef": 0.08, "max_lag": 6}


def event_dates(first: pd.Timestamp, last: pd.Timestamp) -> dict[str, list[pd.Timestamp]]:
    """Black Friday (the day after the fourth Thursday of November) and Christmas Day of every year that
    the data's span touches."""
    out: dict[str, list[pd.Timestamp]] = {"black_friday": [], "christmas": []}
    for year in range(first.year, last.year + 1):
        november = pd.Timestamp(year=year, month=11, day=1)
        first_thursday = november + pd.Timedelta(days=(3 - november.weekday()) % 7)
        out["black_friday"].append(first_thursday + pd.Timedelta(days=22))
        out["christmas"].append(pd.Timestamp(year=year, month=12, day=25))
    return out


def _period_of(dates: pd.DatetimeIndex, day: pd.Timestamp) -> int | None:
    """The period a day falls in: the last period starting on or before it (None outside the data)."""
    step = dates[1] - dates[0]
    for t, start in enumerate(dates):
        if start <= day < start + step:
            return t
    return None


def simulate_events(dates: pd.DatetimeIndex, kpi_scale: float, seed: int) -> tuple[dict[str, np.ndarray],
                                                                                    list[dict[str, Any]]]:
    """Per event, its (T,) contribution in KPI units, and the config entries that name it."""
    rng = np.random.default_rng([seed, 17])  # its own stream: the other draws stay as they were
    n = len(dates)
    contributions, entries = {}, []
    for name, days in event_dates(dates[0], dates[-1]).items():
        effects = EVENT_EFFECTS[name]
        values = np.zeros(n)
        for day in days:
            size = float(np.exp(rng.normal(-EVENT_YEAR_SPREAD ** 2 / 2, EVENT_YEAR_SPREAD)))
            t = _period_of(dates, day)
            if t is None:
                continue
            for offset, effect in effects.items():
                if 0 <= t + offset < n:
                    values[t + offset] += effect * size * kpi_scale
        contributions[name] = values
        entries.append({"name": name, "dates": [f"{d:%Y-%m-%d}" for d in days],
                        "before": max(0, -min(effects)), "after": max(0, max(effects))})
    return contributions, entries


def simulate_organic(season_driver: np.ndarray, kpi_scale: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(T,) organic exposure and its (T,) contribution in KPI units. Sends go out in about 60% of the periods,
    their size swinging a little with the season and a lot from send to send."""
    rng = np.random.default_rng([seed, 19])
    n = len(season_driver)
    shape = season_driver / max(float(np.max(np.abs(season_driver))), 1e-12)
    sent = rng.random(n) < 0.6
    size = np.clip(1.0 + 0.3 * shape, 0.1, None) * rng.lognormal(-0.08, 0.4, n)
    exposure = np.round(ORGANIC["level"] * np.where(sent, size, 0.0), 0)
    weights = adstock_weights("geometric", {"alpha": ORGANIC["alpha"]}, ORGANIC["max_lag"])
    adstocked = carryover(exposure / exposure.mean(), weights, n)
    saturated = saturate("hill", {"half_saturation": ORGANIC["half_saturation"], "slope": ORGANIC["slope"]},
                         adstocked)
    return exposure, ORGANIC["coef"] * kpi_scale * saturated


def promo_contribution(promo: np.ndarray, effect_per_sd: float, spread: float, kpi_scale: float) -> np.ndarray:
    """(T,) what the promotions added against no promotion (reference 0), KPI units."""
    return np.array([effect_per_sd * (value - 0.0) / spread * kpi_scale for value in promo])
