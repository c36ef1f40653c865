"""The run's one frozen spec: data roles, model options, priors, finance inputs, fit settings.

A YAML config (docs/config.md lists every key) is validated once into a
:class:`Config`; everything downstream reads only this object. ``to_dict()``
gives the resolved config with every default filled in, which is what a run
folder stores as ``config.yaml`` and what ``Config.from_dict`` reads back. The parsing and
its error messages live in :mod:`mmm.spec.parse`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from mmm.spec.errors import ConfigError
from mmm.spec.candidates import as_written as candidates_as_written, parse_candidates, uses_time_varying_media
from mmm.spec.events import EventSpec
from mmm.spec.parse import parse_config_fields, parse_fit
from mmm.spec.roles import ChannelColumns, DataRoles
from mmm.spec.transforms import DAILY_ADSTOCK_PRIORS
from mmm.spec.sections import (
    DAILY_MAX_LAG,
    DEFAULT_MODEL_PRIORS,
    MEDIA_EFFECT_PRIORS,
    OPTIONAL_MODEL_PRIORS,
    ChannelSpec,
    DataSpec,
    DesignOptions,
    DiagnosticThresholds,
    FinanceSpec,
    FitSpec,
    ModelOptions,
    OrganicSpec,
    TreatmentSpec,
    baseline_as_dict,
    fit_as_dict,
)

@dataclass(frozen=True)
class Config:
    """The validated spec of one run."""

    data: DataSpec
    channels: tuple[ChannelSpec, ...]
    controls: tuple[str, ...] = ()
    model: ModelOptions = ModelOptions()
    finance: FinanceSpec = FinanceSpec()
    fit: FitSpec = FitSpec()
    diagnostics: DiagnosticThresholds = DiagnosticThresholds()
    window: tuple[str | None, str | None] = (None, None)
    interval: float = 0.9
    holdout_periods: int = 0  # last periods kept out of the likelihood to check out-of-sample fit
    refresh_window_periods: int | None = None  # `mmm refresh`: keep only the last N periods (None: full history)
    name: str = "mmm"
    source: str = "<dict>"  # where the config came from, for messages
    experiments: tuple[Any, ...] = ()  # mmm.model.lift_tests.Experiment: measured lifts, likelihood terms
    events: tuple[EventSpec, ...] = ()  # holidays and dated events (mmm.spec.events)
    organic: tuple[OrganicSpec, ...] = ()  # media without spend: a contribution, no ROAS
    treatments: tuple[TreatmentSpec, ...] = ()  # non-media treatments: a contribution against a reference level

    @property
    def design(self) -> DesignOptions:
        """What building the model's inputs needs from this config (:func:`mmm.data.design.build_design`)."""
        return DesignOptions(seasonality_order=self.model.seasonality_order, events=self.events,
                             weekly_order=self.model.weekly_order)

    @property
    def model_controls(self) -> tuple[str, ...]:
        """The columns the model reads as controls: the controls, then each treatment's column."""
        return tuple(self.controls) + tuple(t.column for t in self.treatments)

    @property
    def channel_names(self) -> list[str]:
        return [c.name for c in self.channels]

    def channel(self, name: str) -> ChannelSpec:
        for c in self.channels:
            if c.name == name:
                return c
        raise KeyError(name)

    def roles(self) -> DataRoles:
        return DataRoles(
            date=self.data.date,
            kpi=self.data.kpi,
            channels={c.name: ChannelColumns(spend=c.spend, exposure=c.exposure, frequency=c.frequency)
                      for c in self.channels},
            controls=self.model_controls,
            geo=self.data.geo,
            organic={o.name: o.column for o in self.organic},
        )

    def with_fit(self, **overrides: Any) -> Config:
        """A copy with fit settings replaced (CLI flags); ``None`` values are ignored."""
        given = {k: v for k, v in overrides.items() if v is not None}
        if not given:
            return self
        return replace(self, fit=parse_fit({**fit_as_dict(self.fit), **given}, self.source))

    def for_frequency(self, freq: str) -> Config:
        """This config for data of frequency ``freq`` ("W" or "D"). On daily data, channels and organic media
        whose max_lag no config wrote get DAILY_MAX_LAG periods, and their adstock parameters without a written
        prior get the default's weekly beliefs in days (DAILY_ADSTOCK_PRIORS). A fitted config writes both."""
        if freq != "D":
            return self

        def resolved(spec):
            daily = {p: prior for p, prior in DAILY_ADSTOCK_PRIORS[spec.adstock].items() if p not in spec.priors}
            return replace(spec, max_lag=DAILY_MAX_LAG if spec.max_lag_auto else spec.max_lag, max_lag_auto=False,
                           priors={**spec.priors, **daily})

        return replace(self, channels=tuple(map(resolved, self.channels)), organic=tuple(map(resolved, self.organic)))

    def with_candidates(self, candidates: Any) -> Config:
        """A copy with ``model.candidates`` replaced (auto, none, or a list of variants), checked as in a file."""
        return replace(self, model=replace(self.model, candidates=parse_candidates(candidates, self.source)))

    # ---- round trip ---------------------------------------------------------------
    @classmethod
    def load(cls, path: str | Path) -> Config:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"config file not found: {path}. Check the path, or run `mmm synth` to make an example.")
        try:
            raw = yaml.safe_load(path.read_text())
        except yaml.YAMLError as err:
            raise ConfigError(f"{path}: not valid YAML: {err}") from None
        return cls.from_dict(raw, base_dir=path.resolve().parent, source=str(path))

    @classmethod
    def from_dict(cls, raw: Any, base_dir: str | Path | None = None, source: str = "<dict>") -> Config:
        return cls(**parse_config_fields(raw, Path(base_dir) if base_dir is not None else Path.cwd(), source))

    def to_dict(self) -> dict[str, Any]:
        """The resolved config, defaults filled in (the run folder's ``config.yaml``)."""
        channels = {}
        for c in self.channels:
            entry: dict[str, Any] = {"spend": c.spend}
            if c.frequency:
                entry.update(reach=c.exposure, frequency=c.frequency)
            elif c.exposure:
                entry["exposure"] = c.exposure
            entry.update(adstock=c.adstock, saturation=c.saturation, max_lag=c.max_lag)
            entry["priors"] = {p: c.prior(p).to_dict() for p in c.param_names() if c.prior(p) is not None}
            if c.roas_prior is not None:
                entry["roas_prior"] = c.roas_prior.to_dict()
            channels[c.name] = entry
        data = {"path": str(self.data.path) if self.data.path else None, "date": self.data.date,
                "kpi": self.data.kpi, "kpi_type": self.data.kpi_type}
        if self.data.geo:
            data["geo"] = self.data.geo
        if self.data.min_periods is not None:
            data["min_periods"] = self.data.min_periods
        if self.data.population:
            data["population"] = self.data.population
        used = {"event_coef": bool(self.events),
                **dict.fromkeys(MEDIA_EFFECT_PRIORS, uses_time_varying_media(self.model.media_effect,
                                                                          self.model.candidates))}
        model_priors = {n: self.model.prior(n).to_dict() for n in DEFAULT_MODEL_PRIORS
                        if n not in OPTIONAL_MODEL_PRIORS or used[n]}
        return {
            "name": self.name,
            "data": data,
            "channels": channels,
            "controls": list(self.controls),
            "model": {"trend": self.model.trend, "seasonality": {"order": self.model.seasonality_order,
                                                           "weekly": self.model.weekly_order},
                      "likelihood": self.model.likelihood, "media_effect": self.model.media_effect,
                      "media_roas_scale": self.model.media_roas_scale,
                      **({"media_share": self.model.media_share} if self.model.media_roas_scale == "auto" else {}),
                      "media_roas_sigma": self.model.media_roas_sigma,
                      "candidates": candidates_as_written(self.model.candidates),
                      "priors": model_priors,
                      **({} if self.model.roas_prior is None else {"roas_prior": self.model.roas_prior.to_dict()}),
                      **({"geo": {"adstock": self.model.geo_adstock}} if self.data.geo else {}),
                      # a panel always writes it: its default (shocks on) differs from runs written before
                      **({"baseline": baseline_as_dict(self.model.baseline)}
                         if self.model.baseline.on or self.data.geo else {})},
            "finance": {k: (dict(v) if isinstance(v := getattr(self.finance, k), Mapping) else v)
                        for k in FinanceSpec.__dataclass_fields__},
            "fit": fit_as_dict(self.fit),
            "diagnostics": {k: getattr(self.diagnostics, k) for k in DiagnosticThresholds.__dataclass_fields__},
            "window": {"start": self.window[0], "end": self.window[1]},
            "report": {"interval": self.interval},
            "holdout": {"periods": self.holdout_periods},
            # written only when set: absent means a refresh refits the full history
            **({"refresh": {"window_periods": self.refresh_window_periods}}
               if self.refresh_window_periods is not None else {}),
            **({"experiments": [e.to_dict() for e in self.experiments]} if self.experiments else {}),
            **({"events": [e.to_dict() for e in self.events]} if self.events else {}),
            **({"organic": {o.name: o.to_dict() for o in self.organic}} if self.organic else {}),
            **({"treatments": {t.name: t.to_dict() for t in self.treatments}} if self.treatments else {}),
        }

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False)

    def sha256(self) -> str:
        return hashlib.sha256(self.to_yaml().encode()).hexdigest()


def ignored_config_notes(config: Config) -> list[str]:
    """One sentence per config key that is read and validated but does not change the model yet.

    ``mmm validate`` and ``mmm fit`` print each as a warning; a report can list them beside
    the assumptions. Empty when every key the config sets is used.
    """
    notes = []
    if not config.data.geo:  # geo-only keys on national data: most likely a forgotten data.geo
        if config.data.population:
            notes.append(f"data.population ({config.data.population!r}) is not used: only a geo panel (data.geo) is "
                         "modelled per capita; set data.geo or drop data.population")
        if config.model.geo_adstock != "shared":
            notes.append(f"model.geo.adstock ({config.model.geo_adstock!r}) is not used: the data has no geos "
                         "(data.geo); set data.geo or drop model.geo")
    return notes


def analysis_window(config: Config, data: Any) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The analysis window W of ``config`` clipped to ``data.dates`` (default: the whole data range)."""
    start = pd.Timestamp(config.window[0]) if config.window[0] else data.dates[0]
    end = pd.Timestamp(config.window[1]) if config.window[1] else data.dates[-1]
    if start > end or end < data.dates[0] or start > data.dates[-1]:
        raise ValueError(f"window {start.date()}..{end.date()} does not overlap the data "
                         f"({data.dates[0].date()}..{data.dates[-1].date()}); fix `window` in the config")
    return max(start, data.dates[0]), min(end, data.dates[-1])
