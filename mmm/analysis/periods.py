"""Figures per calendar period (month, quarter, year): per-draw sums, then summaries."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mmm.analysis.effects import Effects

CALENDAR_PERIODS = {"month": "M", "quarter": "Q", "year": "Y"}


def aggregate_contributions(effects: Effects, freq: str) -> pd.DataFrame:
    """Sum contributions per draw within each calendar bucket, then summarize (intervals stay honest)."""
    if freq not in CALENDAR_PERIODS:
        raise ValueError(f"unknown period {freq!r}; use one of {', '.join(CALENDAR_PERIODS)}")
    # a week belongs to the month/quarter of its date label
    buckets = pd.Series(effects.dates).dt.to_period(CALENDAR_PERIODS[freq])
    codes, labels = pd.factorize(buckets, sort=True)
    parts = {"baseline": effects.baseline, **{c: effects.contributions[..., k] for k, c in enumerate(effects.channels)}}
    rows = []
    for component, values in parts.items():
        summed = np.stack([values[:, codes == i].sum(axis=1) for i in range(len(labels))], axis=1)
        lo, hi = np.quantile(summed, [(1 - effects.interval) / 2, (1 + effects.interval) / 2], axis=0)
        rows.append(pd.DataFrame({"period": labels.astype(str), "component": component,
                                  "mean": summed.mean(axis=0), "lo": lo, "hi": hi}))
    return pd.concat(rows, ignore_index=True)
