"""Panels: one row per (geo, date), validated and held with a geo axis; national data is a panel of one geo.

:func:`load_panel` runs every check of :func:`mmm.data.load.load_data` (columns,
dates, values, one row per (geo, date), the same dates in every geo, calendar
regularity) and then keeps the geo axis instead of summing it away. On top it
checks the optional population column (positive, one value per geo) and
reports each (geo, channel) with no spend at all: such a channel's effect in
that geo is not identified by the data and is carried by the pooled prior.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from mmm.data import validation as checks
from mmm.data.load import DataError, MMMData, load_data, read_table
from mmm.spec.roles import DataRoles

_FRAME_SOURCE = "<DataFrame>"
NATIONAL_GEO = "national"  # the one geo of national data (no geo column)


@dataclass(frozen=True, eq=False)
class Panel:
    """Validated modeling data with a geo axis, on a regular calendar shared by every geo: a geo panel,
    or national data as a panel of one geo (:data:`NATIONAL_GEO`). Every model and workflow reads this;
    :meth:`geo` and :meth:`national` give one series (:class:`mmm.data.load.MMMData`).

    Attributes
    ----------
    geos
        Geo names in the order they first appear in the data.
    dates
        Sorted, evenly spaced period dates, the same for every geo.
    freq
        ``"W"`` or ``"D"``.
    channels, control_names
        Channel and control names in the user's order.
    kpi
        (G, T) KPI per geo and period, KPI units.
    spend
        (G, T, K) spend per geo, period and channel, currency.
    controls
        (G, T, C) control values per geo and period.
    population
        (G,) population per geo, or None (then geos are scaled by their own means).
    source, sha256, notes
        As in :class:`mmm.data.load.MMMData`.
    zero_spend
        ``(geo, channel)`` pairs with no spend in any period.
    exposure
        Channel name -> (G, T) exposure, for the channels that have an exposure column
        (when given, it drives the channel's effect: :class:`mmm.data.panel_design.PanelScaling`).
    organic
        Organic channel name -> (G, T) exposure (media without spend), in the config's order.
    frequency
        Reach-and-frequency channel name -> (G, T) average frequency (its reach is in ``exposure``).
    """

    geos: list[str]
    dates: pd.DatetimeIndex
    freq: str
    channels: list[str]
    control_names: list[str]
    kpi: np.ndarray
    spend: np.ndarray
    controls: np.ndarray
    population: np.ndarray | None
    source: str
    sha256: str
    notes: tuple[str, ...] = ()
    zero_spend: tuple[tuple[str, str], ...] = ()
    exposure: dict[str, np.ndarray] = field(default_factory=dict)
    organic: dict[str, np.ndarray] = field(default_factory=dict)
    frequency: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def n_geos(self) -> int:
        return len(self.geos)

    @property
    def n_periods(self) -> int:
        return len(self.dates)

    def geo(self, g: int | str) -> MMMData:
        """One geo's series as :class:`MMMData` (its own KPI, spend, exposure and controls)."""
        g = self.geos.index(g) if isinstance(g, str) else g
        return MMMData(
            dates=self.dates, freq=self.freq,
            kpi=pd.Series(self.kpi[g], index=self.dates, name="kpi"),
            spend=pd.DataFrame(self.spend[g], index=self.dates, columns=self.channels),
            exposure=self._exposure_frame(lambda v: v[g]),
            controls=pd.DataFrame(self.controls[g].reshape(self.n_periods, -1), index=self.dates,
                                  columns=self.control_names),
            source=self.source if self.is_national else f"{self.source} (geo {self.geos[g]})", sha256=self.sha256,
            notes=self.notes if self.is_national else (), organic=self._organic_frame(lambda v: v[g]),
            geo=self.geos[g],
            frequency=(pd.DataFrame({c: v[g] for c, v in self.frequency.items()}, index=self.dates)
                       if self.frequency else None))

    @property
    def is_national(self) -> bool:
        """True for national data: one geo, read from a file without a geo column."""
        return self.geos == [NATIONAL_GEO]

    def _exposure_frame(self, pick) -> pd.DataFrame | None:
        if not self.exposure:
            return None
        return pd.DataFrame({c: pick(v) for c, v in self.exposure.items()}, index=self.dates)

    def _organic_frame(self, pick) -> pd.DataFrame | None:
        if not self.organic:
            return None
        return pd.DataFrame({o: pick(v) for o, v in self.organic.items()}, index=self.dates)

    def national(self) -> MMMData:
        """The panel summed over geos (KPI and spend), controls averaged: the national series."""
        return MMMData(
            dates=self.dates, freq=self.freq,
            kpi=pd.Series(self.kpi.sum(axis=0), index=self.dates, name="kpi"),
            spend=pd.DataFrame(self.spend.sum(axis=0), index=self.dates, columns=self.channels),
            exposure=self._exposure_frame(lambda v: v.sum(axis=0)),
            controls=pd.DataFrame(self.controls.mean(axis=0).reshape(self.n_periods, -1), index=self.dates,
                                  columns=self.control_names),
            source=self.source, sha256=self.sha256, notes=self.notes,
            organic=self._organic_frame(lambda v: v.sum(axis=0)), frequency=self._national_frequency())

    def _national_frequency(self) -> pd.DataFrame | None:
        """Reach-weighted frequency over geos, per period (0 where no geo had reach)."""
        if not self.frequency:
            return None
        out = {}
        for c, v in self.frequency.items():
            reach = self.exposure[c]
            total = reach.sum(axis=0)
            out[c] = np.divide((v * reach).sum(axis=0), total, out=np.zeros_like(total), where=total > 0)
        return pd.DataFrame(out, index=self.dates)

    def slice(self, end: pd.Timestamp | str | None = None, *, start: pd.Timestamp | str | None = None) -> Panel:
        """Periods from ``start`` to ``end``, both inclusive; None leaves that side open (as ``MMMData.slice``)."""
        keep = np.ones(self.n_periods, dtype=bool)
        if end is not None:
            keep &= np.asarray(self.dates <= pd.Timestamp(end))
        if start is not None:
            keep &= np.asarray(self.dates >= pd.Timestamp(start))
        return replace(self, dates=self.dates[keep], kpi=self.kpi[:, keep], spend=self.spend[:, keep],
                       controls=self.controls[:, keep], exposure={c: v[:, keep] for c, v in self.exposure.items()},
                       organic={o: v[:, keep] for o, v in self.organic.items()},
                       frequency={c: v[:, keep] for c, v in self.frequency.items()})

    def select_geos(self, geos: list[str] | tuple[str, ...]) -> Panel:
        """The panel with its geos in the order ``geos`` (each must be in the panel), e.g. a stored scaling's order."""
        index = [self.geos.index(g) for g in geos]
        if index == list(range(self.n_geos)):
            return self
        return replace(self, geos=list(geos), kpi=self.kpi[index], spend=self.spend[index],
                       controls=self.controls[index],
                       population=None if self.population is None else self.population[index],
                       exposure={c: v[index] for c, v in self.exposure.items()},
                       organic={o: v[index] for o, v in self.organic.items()},
                       frequency={c: v[index] for c, v in self.frequency.items()},
                       zero_spend=tuple(sorted((pair for pair in self.zero_spend if pair[0] in geos),
                                               key=lambda pair: list(geos).index(pair[0]))))

    def to_frame(self, date: str = "date", geo: str | None = "geo", kpi: str = "kpi",
                 spend_columns: dict[str, str] | None = None, population: str | None = None,
                 exposure_columns: dict[str, str] | None = None,
                 organic_columns: dict[str, str] | None = None,
                 frequency_columns: dict[str, str] | None = None) -> pd.DataFrame:
        """The panel as a long table, one row per (geo, date), in the given column names; ``geo=None``
        (national data, one geo) leaves the geo column out."""
        if geo is None and self.n_geos != 1:
            raise ValueError(f"a panel of {self.n_geos} geos needs a geo column")
        spend_columns = spend_columns or {c: c for c in self.channels}
        rows = []
        for g, name in enumerate(self.geos):
            part = ({} if geo is None else {geo: name}) | {date: self.dates.strftime("%Y-%m-%d"), kpi: self.kpi[g]}
            part |= {spend_columns[c]: self.spend[g, :, k] for k, c in enumerate(self.channels)}
            part |= {(exposure_columns or {}).get(c, c): v[g] for c, v in self.exposure.items()}
            part |= {(organic_columns or {}).get(o, o): v[g] for o, v in self.organic.items()}
            part |= {(frequency_columns or {}).get(c, f"{c}_frequency"): v[g] for c, v in self.frequency.items()}
            part |= {c: self.controls[g, :, j] for j, c in enumerate(self.control_names)}
            if population is not None and self.population is not None:
                part[population] = self.population[g]
            rows.append(pd.DataFrame(part))
        return pd.concat(rows, ignore_index=True)


def as_panel(data: MMMData) -> Panel:
    """National data as a panel of one geo (:data:`NATIONAL_GEO`): what every model and workflow reads."""
    exposure = {} if data.exposure is None else {c: data.exposure[c].to_numpy(dtype=float)[None, :]
                                                 for c in data.exposure.columns}
    organic = {} if data.organic is None else {o: data.organic[o].to_numpy(dtype=float)[None, :]
                                               for o in data.organic.columns}
    frequency = {} if data.frequency is None else {c: data.frequency[c].to_numpy(dtype=float)[None, :]
                                                   for c in data.frequency.columns}
    return Panel(geos=[NATIONAL_GEO], dates=data.dates, freq=data.freq, channels=list(data.channels),
                   control_names=list(data.controls.columns), kpi=data.kpi.to_numpy(dtype=float)[None, :],
                   spend=data.spend.to_numpy(dtype=float)[None, :, :],
                   controls=data.controls.to_numpy(dtype=float).reshape(1, data.n_periods, -1), population=None,
                   source=data.source, sha256=data.sha256, notes=data.notes, exposure=exposure, organic=organic,
                   frequency=frequency)


def load_panel(source: str | Path | pd.DataFrame, roles: DataRoles, *, population: str | None = None,
               min_periods: int | None = None) -> Panel:
    """Load and validate a panel; without ``roles.geo`` (national data) a panel of one geo.

    Raises
    ------
    DataError
        Naming the file, column, geo and dates: everything :func:`mmm.data.load.load_data`
        checks, plus a bad population column.
    """
    if roles.geo is None:  # (a population column without geos is noted by the config: mmm.spec.config)
        return as_panel(load_data(source, roles, min_periods=min_periods))
    validated = load_data(source, roles, min_periods=min_periods, aggregate_geo=True)  # every shared check
    if isinstance(source, pd.DataFrame):
        frame = source.reset_index(drop=True)
        label = _FRAME_SOURCE
        digest = validated.sha256
    else:
        frame, label, digest = read_table(source), str(source), validated.sha256
    lines = "row " + pd.Series(np.arange(len(frame))).astype(str)
    dates, _ = checks.parse_dates(frame[roles.date], roles.date, lines)
    geo_names = list(dict.fromkeys(frame[roles.geo].astype(str)))
    frame = frame.assign(_geo=frame[roles.geo].astype(str), _date=dates.to_numpy())
    frame = frame.set_index(["_geo", "_date"]).sort_index()
    index = validated.dates
    full = pd.MultiIndex.from_product([geo_names, index])
    frame = frame.reindex(full)  # validated: every (geo, date) exists exactly once

    def numbers(column: str) -> np.ndarray:
        values, _ = checks.parse_numbers(frame[column], column, lines)
        return values.to_numpy(dtype=float).reshape(len(geo_names), len(index))

    channels = list(roles.channels)
    kpi = numbers(roles.kpi)
    spend = np.stack([numbers(cols.spend) for cols in roles.channels.values()], axis=-1)
    controls = (np.stack([numbers(c) for c in roles.controls], axis=-1) if roles.controls
                else np.zeros((len(geo_names), len(index), 0)))
    pop = _population(frame, population, geo_names, label) if population else None
    exposure = {name: numbers(cols.exposure) for name, cols in roles.channels.items() if cols.exposure}
    organic = {name: numbers(column) for name, column in roles.organic.items()}
    frequency = {name: numbers(cols.frequency) for name, cols in roles.channels.items() if cols.frequency}

    notes = []
    zero = tuple((geo_names[g], channels[k]) for g, k in zip(*np.nonzero(~(spend > 0).any(axis=1)), strict=True))
    if zero:
        notes.append(f"{len(zero)} (geo, channel) pair(s) have no spend in any period: "
                     f"{checks.listing(f'{g}/{c}' for g, c in zero)}. Their geo-level effect is not identified by "
                     "the data and comes from the pooled channel prior; their ROAS is not reported.")
    flat = [geo_names[g] for g in range(len(geo_names)) if not kpi[g].std() > 0]
    if flat:
        raise DataError(f"{label}: KPI column {roles.kpi!r} is constant in geo(s) {checks.listing(flat)}; "
                        "a geo model needs variation in every geo: drop those geos.")
    low = [geo_names[g] for g in range(len(geo_names)) if not kpi[g].mean() > 0]
    if low:
        raise DataError(f"{label}: KPI column {roles.kpi!r} averages <= 0 in geo(s) {checks.listing(low)}; "
                        "scaling needs a positive mean per geo: drop those geos or fix the KPI.")
    return Panel(geos=geo_names, dates=index, freq=validated.freq, channels=channels,
                   control_names=list(roles.controls), kpi=kpi, spend=spend, controls=controls, population=pop,
                   source=label, sha256=digest, notes=tuple(notes), zero_spend=zero, exposure=exposure,
                   organic=organic, frequency=frequency)


def _population(frame: pd.DataFrame, column: str, geos: list[str], label: str) -> np.ndarray:
    if column not in frame.columns:
        raise DataError(f"{label}: population column {column!r} (data.population) is not in the data; "
                        f"columns are {checks.listing(map(str, frame.columns), 12)}. Fix data.population.")
    values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float).reshape(len(geos), -1)
    bad = [geos[g] for g in range(len(geos)) if not (np.isfinite(values[g]).all() and (values[g] > 0).all())]
    if bad:
        raise DataError(f"{label}: population column {column!r} must be a positive number on every row; it is not "
                        f"in geo(s) {checks.listing(bad)}. Fill in each geo's population.")
    varying = [geos[g] for g in range(len(geos)) if values[g].max() != values[g].min()]
    if varying:
        raise DataError(f"{label}: population column {column!r} changes over time in geo(s) "
                        f"{checks.listing(varying)}; give one population per geo (e.g. the latest census figure).")
    return values[:, 0].copy()
