"""Model inputs in model units: scaled KPI, spend and controls, trend time and Fourier terms.

Pure NumPy, shared by the model (as data) and by the effects (to recompute the
expected KPI per draw), so both always see the same design.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from mmm.data.events import event_matrix
from mmm.data.load import MMMData, Scaling, scale
from mmm.spec.errors import ConfigError
from mmm.spec.events import event_columns
from mmm.spec.sections import WEEKLY_ORDER_DAILY, DesignOptions

DAYS_PER_YEAR = 365.25
EPOCH = pd.Timestamp("1970-01-01")


def fourier_names(order: int, weekly_order: int = 0) -> list[str]:
    return ([f"{kind}_{j}" for j in range(1, order + 1) for kind in ("sin", "cos")]
            + [f"week_{kind}_{j}" for j in range(1, weekly_order + 1) for kind in ("sin", "cos")])


def _pairs(days: np.ndarray, period: float, order: int) -> list[np.ndarray]:
    cols = []
    for j in range(1, order + 1):
        angle = 2 * np.pi * j * days / period
        cols += [np.sin(angle), np.cos(angle)]
    return cols


def fourier_features(dates: pd.DatetimeIndex, order: int, weekly_order: int = 0) -> np.ndarray:
    """Yearly Fourier terms of the absolute calendar day, then day-of-week ones, shape (T, 2*(order+weekly)).

    Using the absolute day (not the row number) keeps the seasonal pattern aligned
    when data is added or a window is cut.
    """
    days = np.asarray((dates - EPOCH).days, dtype=float)
    cols = _pairs(days, DAYS_PER_YEAR, order) + _pairs(days, 7.0, weekly_order)
    return np.column_stack(cols) if cols else np.zeros((len(dates), 0))


def weekly_order(options: DesignOptions, freq: str) -> int:
    """Day-of-week Fourier pairs for data of frequency ``freq`` ("W" or "D")."""
    if options.weekly_order == "auto":
        return WEEKLY_ORDER_DAILY if freq == "D" else 0
    if options.weekly_order and freq != "D":
        raise ConfigError(f"model.seasonality.weekly is {options.weekly_order}, but the data are weekly: a "
                         f"day-of-week pattern needs daily data. Remove the key or set it to auto or 0.")
    return int(options.weekly_order)


def weekly_pairs(names: list[str]) -> int:
    """How many day-of-week Fourier pairs a design's ``fourier_names`` hold."""
    return sum(name.startswith("week_sin_") for name in names)


@dataclass(frozen=True)
class Design:
    """Everything the model's likelihood reads, in model units, rows aligned with ``dates``."""

    dates: pd.DatetimeIndex
    channels: list[str]
    controls: list[str]
    kpi: np.ndarray  # (T,) KPI / scaling.kpi
    spend: np.ndarray  # (T, K) spend / scaling.spend[channel]
    control_values: np.ndarray  # (T, C) standardized
    time: np.ndarray  # (T,) years since scaling.time_origin, minus their mean (see build_design)
    fourier: np.ndarray  # (T, 2*order)
    fourier_names: list[str]
    spend_to_kpi: np.ndarray  # (K,) mean spend per period / mean KPI per period (sets default media priors)
    kpi_scale: float | None = None  # KPI units per model unit (Scaling.kpi): turns lift tests into model units
    organic: np.ndarray | None = None  # (T, O) organic exposure / its mean
    organic_names: list[str] = field(default_factory=list)
    events: np.ndarray | None = None  # (T, E) event indicators (mmm.data.events)
    event_names: list[str] = field(default_factory=list)
    frequency: np.ndarray | None = None  # (T, K) frequency / its scale (1 for channels without one)

    @property
    def n_periods(self) -> int:
        return len(self.dates)


def build_design(data: MMMData, scaling: Scaling, options: DesignOptions | int) -> Design:
    """The model's inputs for one series; ``options``: the config's :attr:`mmm.spec.config.Config.design`
    (a bare seasonality order means no events)."""
    if not isinstance(options, DesignOptions):
        options = DesignOptions(seasonality_order=int(options))
    seasonality_order = options.seasonality_order
    weekly = weekly_order(options, data.freq)
    scaled = scale(data, scaling)
    return Design(
        dates=data.dates,
        channels=list(data.channels),
        controls=list(data.controls.columns),
        kpi=np.asarray(scaled["kpi"], dtype=float),
        spend=np.asarray(scaled["spend"], dtype=float),
        control_values=np.asarray(scaled["controls"], dtype=float).reshape(data.n_periods, -1),
        # centred so intercept and trend are not correlated in the posterior (better mixing)
        time=np.asarray(scaled["time"], dtype=float) - np.mean(scaled["time"]),
        fourier=fourier_features(data.dates, seasonality_order, weekly),
        fourier_names=fourier_names(seasonality_order, weekly),
        spend_to_kpi=np.array([scaling.spend[c] / scaling.kpi for c in data.channels]),
        kpi_scale=float(scaling.kpi),
        organic=scaled["organic"],
        organic_names=[] if data.organic is None else list(data.organic.columns),
        events=event_matrix(data.dates, options.events, data.geo),
        event_names=event_columns(options.events),
        frequency=scaled["frequency"],
    )
