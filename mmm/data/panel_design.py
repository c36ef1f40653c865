"""The scaling and the model inputs of a panel (national data: one geo), in each geo's model units.

Each geo is scaled by its own constants so that partial pooling compares like
with like: without a population column, KPI and spend are divided by the geo's
own means; with one, by population x the panel-wide mean per capita (KPI and
spend per capita, as in per-capita models). Controls share one centre and
scale across geos. The constants are stored with the run (``to_dict``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from mmm.data.load import DataError, MMMData, Scaling
from mmm.data.design import Design, build_design
from mmm.spec.sections import DesignOptions
from mmm.data.panel import NATIONAL_GEO, Panel, as_panel


@dataclass(frozen=True)
class PanelScaling:
    """Per-geo model-unit constants.

    Attributes
    ----------
    geos, channels
        Names, in the panel's order.
    kpi
        (G,) KPI units per model unit, per geo.
    spend
        (G, K) currency per unit of scaled spend; 1.0 where a geo never spent on a channel.
    control_center, control_scale, time_origin
        As in :class:`mmm.data.load.Scaling`, shared by all geos.
    per_capita
        True when the constants come from a population column.
    exposure
        Channel -> (G,) mean exposure, for channels whose effect is driven by exposure (config
        ``exposure:``); their ``spend`` entries are currency per unit of model input at the channel's
        :attr:`cost_per_unit`.
    cost_per_unit
        Channel -> recent cost per unit of exposure, over all geos (spend / exposure over the last
        :data:`RECENT_PERIODS` fitted periods; all of them where those had no exposure).
    organic
        Organic channel -> (G,) mean exposure (per capita like spend when there is a population): the
        model sees exposure / this.
    frequency
        Reach-and-frequency channel -> its reach-weighted mean frequency over all geos: the frequency curve
        reads frequency / this (its reach is the channel's ``exposure``).
    """

    geos: tuple[str, ...]
    channels: tuple[str, ...]
    kpi: np.ndarray
    spend: np.ndarray
    control_center: dict[str, float]
    control_scale: dict[str, float]
    time_origin: str
    per_capita: bool = False
    exposure: dict[str, np.ndarray] = field(default_factory=dict)
    cost_per_unit: dict[str, float] = field(default_factory=dict)
    organic: dict[str, np.ndarray] = field(default_factory=dict)
    frequency: dict[str, float] = field(default_factory=dict)

    @classmethod
    def compute(cls, panel: Panel) -> PanelScaling:
        """Constants from the rows of ``panel`` (slice it first to leave out a holdout)."""
        controls = panel.controls.reshape(panel.n_geos * panel.n_periods, len(panel.control_names))
        center = {c: float(controls[:, j].mean()) for j, c in enumerate(panel.control_names)}
        spread = {c: float(controls[:, j].std()) for j, c in enumerate(panel.control_names)}
        flat = [c for c, s in spread.items() if not s > 0]
        if flat:
            raise DataError(f"{panel.source}: control(s) {', '.join(map(repr, flat))} are constant "
                            f"{'' if panel.is_national else 'over every geo and date '}between "
                            f"{panel.dates[0]:%Y-%m-%d} and {panel.dates[-1]:%Y-%m-%d}; drop them from controls "
                            "or widen the window.")
        span = f"{panel.dates[0]:%Y-%m-%d} and {panel.dates[-1]:%Y-%m-%d}"
        idle = [c for k, c in enumerate(panel.channels) if not panel.spend[:, :, k].sum() > 0]
        if idle:
            raise DataError(f"{panel.source}: channel(s) {', '.join(map(repr, idle))} have no spend between {span}; "
                            "drop them from channels or widen the window.")
        low = [g for i, g in enumerate(panel.geos) if not panel.kpi[i].mean() > 0]
        if low:
            where = "" if panel.is_national else f" in geo(s) {', '.join(low)}"
            raise DataError(f"{panel.source}: the KPI mean between {span} is not positive{where}; scaling needs a "
                            "positive mean. Fit a window where the KPI is positive.")
        if panel.population is not None:
            pop = panel.population
            kpi = pop * float((panel.kpi / pop[:, None]).mean())
            spend = pop[:, None] * (panel.spend / pop[:, None, None]).mean(axis=(0, 1))[None, :]
        else:
            kpi = panel.kpi.mean(axis=1)
            spend = panel.spend.mean(axis=1)
        spend = np.where(spend > 0, spend, 1.0)  # a geo that never spent on a channel: scaled spend stays 0
        exposure, cost = exposure_constants(panel)
        for c, scale in exposure.items():  # currency per unit of model input, at the recent cost per unit
            spend[:, panel.channels.index(c)] = cost[c] * scale
        return cls(geos=tuple(panel.geos), channels=tuple(panel.channels), kpi=np.asarray(kpi, dtype=float),
                   spend=np.asarray(spend, dtype=float), control_center=center, control_scale=spread,
                   time_origin=f"{panel.dates[0]:%Y-%m-%d}", per_capita=panel.population is not None,
                   exposure=exposure, cost_per_unit=cost, organic=organic_constants(panel),
                   frequency=frequency_constants(panel))

    @classmethod
    def of_one_geo(cls, scaling: Scaling, geo: str = NATIONAL_GEO) -> PanelScaling:
        """A national :class:`Scaling` as the scaling of a panel with one geo."""
        channels = tuple(scaling.spend)
        return cls(geos=(geo,), channels=channels, kpi=np.array([scaling.kpi]),
                   spend=np.array([[scaling.spend[c] for c in channels]]),
                   control_center=dict(scaling.control_center), control_scale=dict(scaling.control_scale),
                   time_origin=scaling.time_origin)

    def geo(self, g: int) -> Scaling:
        """The national-shaped :class:`Scaling` of geo ``g`` (its KPI and spend constants)."""
        return Scaling(kpi=float(self.kpi[g]), spend={c: float(self.spend[g, k]) for k, c in enumerate(self.channels)},
                       control_center=dict(self.control_center), control_scale=dict(self.control_scale),
                       time_origin=self.time_origin, exposure={c: float(v[g]) for c, v in self.exposure.items()},
                       cost_per_unit=dict(self.cost_per_unit), organic={o: float(v[g]) for o, v in self.organic.items()},
                       frequency=dict(self.frequency))

    def to_dict(self) -> dict[str, Any]:
        return {"geos": list(self.geos), "channels": list(self.channels),
                "kpi": {g: float(v) for g, v in zip(self.geos, self.kpi, strict=True)},
                "spend": {g: {c: float(self.spend[i, k]) for k, c in enumerate(self.channels)}
                          for i, g in enumerate(self.geos)},
                "control_center": dict(self.control_center), "control_scale": dict(self.control_scale),
                "time_origin": self.time_origin, "per_capita": self.per_capita,
                **({"exposure": {c: {g: float(x) for g, x in zip(self.geos, v, strict=True)}
                                 for c, v in self.exposure.items()},
                    "cost_per_unit": dict(self.cost_per_unit)} if self.exposure else {}),
                **({"organic": {o: {g: float(x) for g, x in zip(self.geos, v, strict=True)}
                                for o, v in self.organic.items()}} if self.organic else {}),
                **({"frequency": dict(self.frequency)} if self.frequency else {})}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PanelScaling:
        """Rebuild from :meth:`to_dict`, or from a national run's scaling written before national data
        became a panel of one geo (``kpi`` a number, ``spend`` channel -> number)."""
        if "geos" not in d:
            return cls.of_one_geo(Scaling.from_dict(d))
        geos, channels = tuple(d["geos"]), tuple(d["channels"])
        return cls(geos=geos, channels=channels, kpi=np.array([d["kpi"][g] for g in geos], dtype=float),
                   spend=np.array([[d["spend"][g][c] for c in channels] for g in geos], dtype=float),
                   control_center=dict(d["control_center"]), control_scale=dict(d["control_scale"]),
                   time_origin=d["time_origin"], per_capita=bool(d.get("per_capita", False)),
                   exposure={c: np.array([v[g] for g in geos], dtype=float) for c, v in d.get("exposure", {}).items()},
                   cost_per_unit={c: float(v) for c, v in d.get("cost_per_unit", {}).items()},
                   organic={o: np.array([v[g] for g in geos], dtype=float) for o, v in d.get("organic", {}).items()},
                   frequency={c: float(v) for c, v in d.get("frequency", {}).items()})


def series_scaling(data: MMMData) -> Scaling:
    """The scaling constants of one series: those of the panel of one geo it is (one definition)."""
    return PanelScaling.compute(as_panel(data)).geo(0)


RECENT_PERIODS = 13  # a quarter of weeks: the cost per unit a plan in currency is turned into exposure at


def exposure_constants(panel: Panel) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """Per exposure channel: (G,) mean exposure (per capita like spend when there is a population) and the
    recent cost per unit of exposure over all geos."""
    scales, costs = {}, {}
    span = f"{panel.dates[0]:%Y-%m-%d} and {panel.dates[-1]:%Y-%m-%d}"
    for c, values in panel.exposure.items():
        k = panel.channels.index(c)
        if not values.sum() > 0:
            raise DataError(f"{panel.source}: channel {c!r} has no exposure between {span}; drop `exposure:` for "
                            "it (the model then uses spend) or widen the window.")
        spent_without = (panel.spend[:, :, k] > 0) & (values <= 0)
        if spent_without.any():
            g, t = map(int, np.argwhere(spent_without)[0])
            where = "" if panel.is_national else f" in geo {panel.geos[g]}"
            what = "reach" if c in panel.frequency else "exposure"
            raise DataError(f"{panel.source}: channel {c!r} has spend but no {what} on {panel.dates[t]:%Y-%m-%d}"
                            f"{where} ({int(spent_without.sum())} period(s) in all); {what} drives the effect, so "
                            f"fill in the {what} those periods bought, or drop `{what}:` for the channel.")
        if panel.population is not None:
            pop = panel.population
            scale = pop * (values / pop[:, None]).mean()
        else:
            scale = values.mean(axis=1)
        scales[c] = np.where(scale > 0, scale, 1.0)
        recent = slice(max(0, panel.n_periods - RECENT_PERIODS), panel.n_periods)
        window = recent if values[:, recent].sum() > 0 else slice(0, panel.n_periods)
        costs[c] = float(panel.spend[:, window, k].sum() / values[:, window].sum())
    return scales, costs


def organic_constants(panel: Panel) -> dict[str, np.ndarray]:
    """Per organic channel, (G,) mean exposure (per capita with a population), as spend is scaled."""
    span = f"{panel.dates[0]:%Y-%m-%d} and {panel.dates[-1]:%Y-%m-%d}"
    out = {}
    for o, values in panel.organic.items():
        if not values.sum() > 0:
            raise DataError(f"{panel.source}: organic channel {o!r} has no exposure between {span}; drop it from "
                            "`organic` or widen the window.")
        if panel.population is not None:
            scale = panel.population * (values / panel.population[:, None]).mean()
        else:
            scale = values.mean(axis=1)
        out[o] = np.where(scale > 0, scale, 1.0)
    return out


def frequency_constants(panel: Panel) -> dict[str, float]:
    """Per reach-and-frequency channel, its reach-weighted mean frequency; a period with reach but no
    frequency is refused (the frequency curve would read it as no effect)."""
    out = {}
    for c, frequency in panel.frequency.items():
        reach = panel.exposure[c]
        missing = (reach > 0) & ~(frequency > 0)
        if missing.any():
            g, t = map(int, np.argwhere(missing)[0])
            where = "" if panel.is_national else f" in geo {panel.geos[g]}"
            raise DataError(f"{panel.source}: channel {c!r} has reach but no frequency on {panel.dates[t]:%Y-%m-%d}"
                            f"{where} ({int(missing.sum())} period(s) in all); fill in the average frequency those "
                            "periods reached people with (1 or more).")
        out[c] = float((frequency * reach).sum() / reach.sum())
    return out


@dataclass(frozen=True)
class PanelDesign:
    """Stacked per-geo designs: what the model's likelihood reads."""

    geos: list[str]
    dates: pd.DatetimeIndex
    channels: list[str]
    controls: list[str]
    kpi: np.ndarray  # (G, T)
    spend: np.ndarray  # (G, T, K) the media input: scaled spend, or scaled exposure (PanelScaling.exposure)
    control_values: np.ndarray  # (G, T, C)
    time: np.ndarray  # (T,)
    fourier: np.ndarray  # (T, F)
    fourier_names: list[str]
    spend_to_kpi: np.ndarray  # (K,) mean over geos of spend scale / KPI scale (sets the pooled coef prior)
    kpi_scale: np.ndarray | None = None  # (G,) KPI units per model unit, per geo (ROAS priors, lift tests)
    spend_currency: np.ndarray | None = None  # (G, T, K) spend as paid (ROAS denominators)
    organic: np.ndarray | None = None  # (G, T, O) organic exposure / its scale
    organic_names: list[str] = field(default_factory=list)
    events: np.ndarray | None = None  # (G, T, E) event indicators (mmm.data.events)
    event_names: list[str] = field(default_factory=list)
    frequency: np.ndarray | None = None  # (G, T, K) frequency / its scale (1 for channels without one)

    @property
    def n_periods(self) -> int:
        return len(self.dates)


def series_designs(panel: Panel, scaling: PanelScaling, options: DesignOptions | int) -> list[Design]:
    """One national-shaped :class:`Design` per geo (the effects reuse them)."""
    return [build_design(panel.geo(g), scaling.geo(g), options) for g in range(panel.n_geos)]


def build_panel_design(panel: Panel, scaling: PanelScaling, options: DesignOptions | int) -> PanelDesign:
    """The model's inputs for every geo; ``options``: the config's :attr:`mmm.spec.config.Config.design`
    (a bare seasonality order means no events)."""
    designs = series_designs(panel, scaling, options)
    first = designs[0]
    return PanelDesign(
        geos=list(panel.geos), dates=panel.dates, channels=list(panel.channels), controls=list(panel.control_names),
        kpi=np.stack([d.kpi for d in designs]), spend=np.stack([d.spend for d in designs]),
        control_values=np.stack([d.control_values for d in designs]), time=first.time, fourier=first.fourier,
        fourier_names=first.fourier_names,
        spend_to_kpi=_pooled_spend_to_kpi(panel, scaling), kpi_scale=scaling.kpi,
        spend_currency=np.asarray(panel.spend, dtype=float),
        organic=np.stack([d.organic for d in designs]), organic_names=first.organic_names,
        events=np.stack([d.events for d in designs]), event_names=first.event_names,
        frequency=np.stack([d.frequency for d in designs]),
    )


def _pooled_spend_to_kpi(panel: Panel, scaling: PanelScaling) -> np.ndarray:
    """(K,) mean over the geos that spent on each channel of spend scale / KPI scale."""
    spent = panel.spend.sum(axis=1) > 0  # (G, K)
    ratio = scaling.spend / scaling.kpi[:, None]
    return np.array([ratio[spent[:, k], k].mean() for k in range(ratio.shape[1])])
