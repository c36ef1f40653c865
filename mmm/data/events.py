"""Event indicators on a data calendar: which period each event date falls in, and its window.

A date belongs to the period whose label is the last one on or before it (a period's date labels its
first day: a weekly row dated Monday covers Monday to Sunday). Each (event, offset) column is 1 in the
periods ``offset`` periods from an event date's period, 0 elsewhere; a date outside the data adds
nothing, except through a window that reaches into the data.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from mmm.spec.events import EventSpec, event_columns


def event_matrix(dates: pd.DatetimeIndex, events: Sequence[EventSpec], geo: str | None = None) -> np.ndarray:
    """(T, E) indicators of every (event, offset) column (:func:`mmm.spec.events.event_columns`) on
    ``dates``; events limited to some geos are 0 outside them (``geo`` None: national data, every event)."""
    n_periods = len(dates)
    out = np.zeros((n_periods, len(event_columns(events))))
    if not n_periods:
        return out
    step = dates[1] - dates[0] if n_periods > 1 else pd.Timedelta(days=7)
    column = 0
    for event in events:
        acts = event.geos is None or geo is None or geo in event.geos
        when = pd.DatetimeIndex(pd.to_datetime(list(event.dates)))
        # the period each date falls in, possibly before the first (-1..) or after the last
        periods = np.floor((when - dates[0]) / step).astype(int)
        for offset in event.offsets:
            if acts:
                hit = periods + offset
                hit = hit[(hit >= 0) & (hit < n_periods)]
                out[hit, column] = 1.0
            column += 1
    return out
