"""Budget plans for geo runs: what a plan returns per (geo, channel) cell and draw, and nationally.

Each geo gets the national :class:`~mmm.planning.outcome.PlanModel` of its own data, scaling and
parameter draws (:func:`mmm.analysis.geo_effects.geo_posterior`): carry-in from that geo's last actual
spend, its own flighting, its own point on the saturation curves. The geos' models sit side
by side as one model whose channels are the (geo, channel) cells (:class:`GeoCells`), all
evaluated in one vectorized pass. A national figure is the sum over geos, draw by draw.

Two ways to plan:

- **national budget per channel** (default, :class:`GeoPlanModel`): the decision is each
  channel's national budget, split over geos in fixed shares (:attr:`GeoPlanModel.split`):
  each geo's share of the channel's spend over the reference periods (the flighting's
  reference stretch; with constant flighting, the lookback that sets the current run-rate);
- **by geo** (``mmm optimize --by-geo``, :attr:`GeoPlanModel.cells`): the decision is each
  cell's spend, so money moves between markets, within per-cell limits. Default limits keep
  each cell between half and twice its spend in the current mix at the plan's budget (the
  national split of that budget is inside them, so planning by geo returns at least what the
  split does in most cases); a cell with no spend there stays at 0: the data say nothing of it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from mmm.spec.config import Config, ConfigError
from mmm.data.panel_design import PanelScaling
from mmm.model.geo_terms import draw_terms, geo_posterior
from mmm.data.panel import Panel
from mmm.planning.optimize import ChannelBounds, OptimizedPlan
from mmm.planning.outcome import MAX_PLAN_DRAWS, PlanModel, PlanOutcome, mix_at

# by-geo default limits on a cell's spend, as multiples of its spend in the current mix at the plan's budget
# (Robyn's default channel range): wide enough for the national plan's moves, near the data's range
DEFAULT_CELL_RANGE = (0.5, 2.0)


def cell_name(geo: str, channel: str) -> str:
    return f"{geo}/{channel}"


class GeoCells(PlanModel):
    """The (geo, channel) cells of a geo plan as the channels of one plan model, geo-major.

    Made by :class:`GeoPlanModel`. Its current mix is the national current mix split over geos by
    the plan's rule, and its default limits keep each cell near that mix (:meth:`expand_bounds`).
    """

    geos: list[str]
    geo_channels: list[str]  # the national channels
    split: np.ndarray  # (G, K) each geo's share of each channel's national budget
    where: dict[str, tuple[str, str]]  # cell name -> (geo, channel)

    def current_mix(self, budget: float | None = None) -> np.ndarray:
        national_rate = self.run_rate.reshape(self.split.shape).sum(axis=0)
        return (self.split * mix_at(national_rate, budget)).ravel()

    def locate(self, key: Any, source: str = "bounds") -> tuple[str | None, str]:
        """(geo or None, channel) of a bounds/plan key: ``(geo, channel)``, ``"geo/channel"`` or a channel."""
        geo, channel = key if isinstance(key, tuple) else self.where.get(key, (None, key))
        if channel not in self.geo_channels:
            raise ConfigError(f"{source}: unknown channel {channel!r}; the run's channels are "
                              f"{', '.join(self.geo_channels)}. Channels are matched by name.")
        if geo is not None and geo not in self.geos:
            raise ConfigError(f"{source}: unknown geo {geo!r}; the run's geos are {', '.join(self.geos)}. "
                              "Geos are matched by name, as in the data's geo column.")
        return geo, channel

    def expand_bounds(self, bounds: Mapping[Any, ChannelBounds] | None, budget: float | None = None,
                      source: str = "bounds") -> dict[str, ChannelBounds]:
        """Limits per cell: the defaults around the current mix at ``budget``, replaced for every geo of a
        channel by that channel's row, and for one cell by a row that names its geo."""
        out: dict[str, ChannelBounds] = {}
        if budget is not None:
            low, high = DEFAULT_CELL_RANGE
            out = {cell: ChannelBounds(min=low * spend, max=high * spend)
                   for cell, spend in zip(self.channels, self.current_mix(budget))}
        per_cell = {}
        for key, limits in (bounds or {}).items():
            geo, channel = self.locate(key, source)
            if geo is not None:
                per_cell[cell_name(geo, channel)] = limits
                continue
            if limits.min is not None or limits.max is not None:
                raise ConfigError(f"{source}: channel {channel}: a min/max amount without a geo is ambiguous when "
                                  f"planning by geo; give it per geo (fill the geo column), or use min_change/"
                                  f"max_change/locked, which apply to each geo's {channel} spend")
            out |= {cell_name(geo, channel): limits for geo in self.geos}
        return out | per_cell


class GeoPlanModel(PlanModel):
    """Plans for a geo run, over the national channels; :attr:`cells` plans per (geo, channel).

    Parameters as :class:`~mmm.planning.outcome.PlanModel`, with the geo run's posterior (geo model
    layout), its panel and per-geo scaling. A national plan's spend on a channel is split over
    geos by :attr:`split`; every outcome carries its per-cell outcome (``outcome.cells``), and
    its national figures are the sums of the cells' over geos, per draw.
    """

    def __init__(self, posterior: xr.Dataset, config: Config, panel: Panel, scaling: PanelScaling, *,
                 periods: int | None = None, flighting: str | pd.Timestamp = "constant",
                 lookback: int | None = None, max_draws: int | None = MAX_PLAN_DRAWS) -> None:
        if list(scaling.geos) != list(panel.geos):
            raise ConfigError(f"{panel.source}: the run's geo scaling covers geos {list(scaling.geos)}, not the "
                              f"panel's {list(panel.geos)}; plan from the run folder as written")
        n_geos = panel.n_geos
        parts = draw_terms(posterior, n_geos)
        per_geo = [PlanModel(geo_posterior(posterior, config, g, n_geos, parts), config, panel.geo(g),
                             scaling.geo(g), periods=periods, flighting=flighting, lookback=lookback,
                             max_draws=max_draws) for g in range(n_geos)]
        for geo, model in zip(panel.geos, per_geo):
            model.flighting_notes = [f"{geo}: {note}" for note in model.flighting_notes]
        channels = config.channel_names
        cells = GeoCells.side_by_side(per_geo, [cell_name(geo, c) for geo in panel.geos for c in channels])
        # the horizon, calendar, finance and draws are every geo's; per-channel figures are set below
        self.__dict__.update({k: v for k, v in vars(per_geo[0]).items() if not k.startswith("_") and k != "params"})
        self.geos = list(panel.geos)
        shape = (n_geos, len(channels))
        whole = panel.spend.sum(axis=1)[:, [panel.channels.index(c) for c in channels]]
        self.split, split_notes = budget_split(cells.reference_spend.reshape(shape), whole, self.geos, channels)
        cells.geos, cells.geo_channels, cells.split = self.geos, channels, self.split
        cells.where = {cell_name(geo, c): (geo, c) for geo in self.geos for c in channels}
        self.cells = cells
        self.run_rate = cells.run_rate.reshape(shape).sum(axis=0)
        self.reference_spend = cells.reference_spend.reshape(shape).sum(axis=0)
        self.flighting = (self.per_geo(cells.flighting) * self.split).sum(axis=1)  # (N, K) national pattern
        self.flighting_notes = cells.flighting_notes + split_notes

    def expand_bounds(self, bounds: Mapping[Any, ChannelBounds] | None, budget: float | None = None,
                      source: str = "bounds") -> dict[str, ChannelBounds]:
        """National limits per channel; a row naming a geo needs a by-geo plan (:attr:`cells`)."""
        for key in bounds or {}:
            geo, channel = self.cells.locate(key, source)
            if geo is not None:
                raise ConfigError(f"{source}: names geo {geo!r} ({channel}), but this plan decides national budgets "
                                  "per channel, split over geos by their shares; plan by geo (--by-geo) to bound "
                                  "single geos")
        return dict(bounds or {})

    # ---- from national channels to cells and back --------------------------------------------
    def per_geo(self, cell_values: np.ndarray) -> np.ndarray:
        """(..., G*K) cell figures as (..., G, K)."""
        return cell_values.reshape(*cell_values.shape[:-1], *self.split.shape)

    def cell_spend(self, spend: np.ndarray) -> np.ndarray:
        """(G*K,) spend per cell of national spend per channel (K,), split over geos by the rule."""
        return (self.split * np.asarray(spend, dtype=float)).ravel()

    def split_limits(self, limits: np.ndarray) -> np.ndarray:
        """(G*K,) national limits per channel (K,) split by the rule; a geo without a share gets 0."""
        with np.errstate(invalid="ignore"):  # 0 share x no limit (inf)
            return np.where(self.split > 0, self.split * np.asarray(limits, dtype=float), 0.0).ravel()

    def channel_values(self, spend: np.ndarray, basis: str = "face") -> np.ndarray:
        return self.per_geo(self.cells.channel_values(self.cell_spend(spend), basis)).sum(axis=1)

    def channel_values_and_slopes(self, spend: np.ndarray, basis: str = "face") -> tuple[np.ndarray, np.ndarray]:
        values, slopes = self.cells.channel_values_and_slopes(self.cell_spend(spend), basis)
        return self.per_geo(values).sum(axis=1), (self.per_geo(slopes) * self.split).sum(axis=1)

    def evaluate(self, plan: Mapping[Any, float] | np.ndarray, name: str = "plan") -> PlanOutcome:
        """Outcome per draw of national spend per channel (split by the rule) or of spend per cell (a
        mapping ``(geo, channel) -> spend``); the national figures are the cells' summed over geos."""
        if isinstance(plan, Mapping) and any(isinstance(key, tuple) for key in plan):
            spend = self.cells.vector(self._cell_plan(plan, name), where=name)
        else:
            spend = self.cell_spend(self.vector(plan, where=name))
        return self.national(self.cells.evaluate(spend, name=name))

    def _cell_plan(self, plan: Mapping[Any, float], name: str) -> dict[str, float]:
        out = {}
        for key, spend in plan.items():
            geo, channel = self.cells.locate(key, name)
            if geo is None:
                raise ConfigError(f"{name}: give every row a geo, or none (a national plan split by the rule); "
                                  f"channel {channel} has none")
            out[cell_name(geo, channel)] = spend
        missing = [c for c in self.cells.channels if c not in out]
        if missing:
            raise ConfigError(f"{name}: no spend for {len(missing)} (geo, channel) cell(s): "
                              f"{', '.join(missing[:8])}{' ...' if len(missing) > 8 else ''}; give every geo and "
                              "channel (0 to cut one)")
        return out

    def national(self, cells: PlanOutcome) -> PlanOutcome:
        """The national outcome of a per-cell outcome: spend and value summed over geos per draw; mROAS
        the national one (every geo's spend on the channel scaled by 1 + h, or along the split at 0)."""
        spend = self.per_geo(cells.spend)
        total = spend.sum(axis=0)
        weight = np.where(total > 0, spend / np.where(total > 0, total, 1.0), self.split)
        return PlanOutcome(name=cells.name, channels=list(self.channels), spend=total,
                           value=self.per_geo(cells.value).sum(axis=1), margins=self.margins,
                           value_per_kpi=self.value_per_kpi, interval=self.interval,
                           mroas=(self.per_geo(cells.mroas) * weight).sum(axis=1), cells=cells,
                           value_npv=None if cells.value_npv is None else self.per_geo(cells.value_npv).sum(axis=1))

    def by_geo(self, cells: PlanOutcome) -> list[PlanOutcome]:
        """One outcome per geo over the national channels (a slice of the cells), for per-geo totals."""
        k = len(self.channels)
        return [PlanOutcome(name=geo, channels=list(self.channels), spend=cells.spend[g * k:(g + 1) * k],
                            value=cells.value[:, g * k:(g + 1) * k], margins=cells.margins[g * k:(g + 1) * k],
                            value_per_kpi=cells.value_per_kpi, interval=cells.interval,
                            mroas=cells.mroas[:, g * k:(g + 1) * k],
                            value_npv=None if cells.value_npv is None else cells.value_npv[:, g * k:(g + 1) * k])
                for g, geo in enumerate(self.geos)]

    def views(self, result: OptimizedPlan) -> tuple[OptimizedPlan, OptimizedPlan]:
        """(national, per cell) views of a plan optimized over the national channels or over the cells."""
        if result.plan.cells is not None:  # optimized over national channels: the limits per cell follow the split
            cells = replace(result, plan=result.plan.cells, current=result.current.cells,
                            lower=self.split_limits(result.lower), upper=self.split_limits(result.upper),
                            locked=[cell_name(g, c) for g in self.geos for c in result.locked])
            return result, cells
        national = replace(result, plan=self.national(result.plan), current=self.national(result.current),
                           lower=self.per_geo(result.lower).sum(axis=0), upper=self.per_geo(result.upper).sum(axis=0),
                           locked=[c for c in self.channels if all(cell_name(g, c) in result.locked for g in self.geos)])
        return national, result

    def national_view(self, result: OptimizedPlan) -> OptimizedPlan:
        return self.views(result)[0]

    def split_assumption(self) -> dict[str, Any]:
        """How a national channel budget is split over geos, as plan.json states it."""
        start, end = self.reference_window
        source = ("the flighting's reference periods" if self.flighting_name != "constant"
                  else "the lookback that sets the current run-rate")
        return {"rule": f"each geo gets its share of the channel's spend over {source} ({start} to {end})",
                "reference": {"start": start, "end": end},
                "shares": {geo: dict(zip(self.channels, map(float, self.split[g]))) for g, geo in enumerate(self.geos)}}


def budget_split(reference: np.ndarray, whole: np.ndarray, geos: list[str],
                 channels: list[str]) -> tuple[np.ndarray, list[str]]:
    """(G, K) each geo's share of each channel's spend over the reference periods, and notes where a
    channel had none there (its shares over the whole data instead, or an even split)."""
    out = np.empty_like(reference)
    notes = []
    for k, channel in enumerate(channels):
        for spend, fallback in ((reference[:, k], None), (whole[:, k], "its spend over the whole data"),
                                (np.ones(len(geos)), "an even split")):
            if spend.sum() > 0:
                out[:, k] = spend / spend.sum()
                if fallback:
                    notes.append(f"{channel} had no spend in any geo over the reference periods; its budget is split "
                                 f"over geos by {fallback}")
                break
    return out, notes
