"""The run's one frozen spec: data roles, model options, priors, finance inputs, fit settings.

A YAML config (see DESIGN.md for the minimal form) is validated once into a
:class:`Config`; everything downstream reads only this object. ``to_dict()``
gives the resolved config with every default filled in, which is what a run
folder stores as ``config.yaml`` and what ``Config.from_dict`` reads back.
"""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Mapping
from numbers import Integral
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from mmm.data import ChannelColumns, DataRoles
from mmm.priors import Prior, PriorError
from mmm.transforms import ADSTOCKS, SATURATIONS

SAMPLERS = ("nutpie", "pymc", "numpyro", "blackjax")  # the last two: optional extra mmm[jax]
POSTERIOR_DTYPES = ("float64", "float32")
GEO_ADSTOCKS = ("shared", "geo")
ADAPTATIONS = ("diag", "low_rank")
LIKELIHOODS = ("normal", "student_t")

# Baseline priors, on the KPI divided by its mean (so the scaled KPI averages 1).
DEFAULT_MODEL_PRIORS: dict[str, Prior] = {
    "intercept": Prior("Normal", mu=0.7, sigma=0.5),
    "trend": Prior("Normal", mu=0.0, sigma=0.2),  # change per year
    "fourier": Prior("Normal", mu=0.0, sigma=0.2),
    "control_coef": Prior("Normal", mu=0.0, sigma=0.2),  # per standard deviation of the control
    "sigma": Prior("HalfNormal", sigma=0.25),
    "nu": Prior("Gamma", alpha=2.0, beta=0.1),
}
DEFAULT_MEDIA_ROAS_SCALE = 3.0


def default_coef_prior(spend_to_kpi: float, roas_scale: float = DEFAULT_MEDIA_ROAS_SCALE) -> Prior:
    """Default prior of a channel's coefficient (the most it adds per period, in mean-KPI units).

    HalfNormal scaled by the channel's size: one prior standard deviation, at half
    saturation (saturation 0.5 at the channel's mean spend), means ROAS = ``roas_scale``.
    So the implied ROAS prior is about the same for a big and a small channel
    (median ~0.67 x roas_scale, 95% below ~2 x roas_scale), instead of one
    coefficient scale that makes small channels' ROAS absurdly uncertain.

    Parameters
    ----------
    spend_to_kpi : float
        Channel's mean spend per period / mean KPI per period (from the run's scaling).
    """
    return Prior("HalfNormal", sigma=2.0 * roas_scale * spend_to_kpi)


class ConfigError(ValueError):
    """The config cannot be used as written; the message names the key and the fix."""


@dataclass(frozen=True)
class ChannelSpec:
    """One media channel: its columns, transforms and prior overrides."""

    name: str
    spend: str
    exposure: str | None = None
    adstock: str = "geometric"
    saturation: str = "logistic"
    max_lag: int = 8
    priors: Mapping[str, Prior] = field(default_factory=dict)  # param name (or "coef") -> Prior
    roas_prior: Prior | None = None  # a prior on ROAS itself (mmm.roi_prior); replaces the coef prior

    def prior(self, param: str) -> Prior | None:
        """The prior for ``coef`` or a transform parameter: the override, else the default.

        ``coef`` without an override returns None: its default depends on the data's
        scale (see :func:`default_coef_prior`).
        """
        if param in self.priors:
            return self.priors[param]
        if param == "coef":
            return None
        for transform in (ADSTOCKS[self.adstock], SATURATIONS[self.saturation]):
            if param in transform.param_names:
                return transform.default_priors[param]
        raise KeyError(param)

    def param_names(self) -> tuple[str, ...]:
        return ("coef", *ADSTOCKS[self.adstock].param_names, *SATURATIONS[self.saturation].param_names)


@dataclass(frozen=True)
class DataSpec:
    path: Path | None
    date: str
    kpi: str
    kpi_type: str = "revenue"
    geo: str | None = None
    min_periods: int | None = None
    population: str | None = None  # panels only: per-geo population column; KPI and spend are modeled per capita


@dataclass(frozen=True)
class ModelOptions:
    trend: bool = True
    seasonality_order: int = 2
    likelihood: str = "normal"
    priors: Mapping[str, Prior] = field(default_factory=dict)
    media_roas_scale: float = DEFAULT_MEDIA_ROAS_SCALE
    roas_prior: Prior | None = None  # default ROAS prior of channels without their own (mmm.roi_prior)
    geo_adstock: str = "shared"  # panels: "shared" adstock across geos, or "geo" (one per geo and channel)

    def prior(self, name: str) -> Prior:
        return self.priors.get(name, DEFAULT_MODEL_PRIORS[name])


@dataclass(frozen=True)
class FinanceSpec:
    """Finance assumptions; each value keeps where it came from, for the report."""

    currency: str = "USD"
    gross_margin: float | None = None
    gross_margin_source: str | None = None
    # per-channel margins (e.g. channels selling different product lines); others use gross_margin
    gross_margin_by_channel: Mapping[str, float] = field(default_factory=dict)
    gross_margin_by_channel_source: Mapping[str, str] = field(default_factory=dict)
    value_per_kpi: float = 1.0
    value_per_kpi_source: str | None = None
    hurdle_rate: float = 0.0
    clv: float | None = None
    clv_source: str | None = None

    @property
    def margin(self) -> float:
        """Margin used in profit ROI: 1.0 when finance did not give one (and the report says so)."""
        return 1.0 if self.gross_margin is None else self.gross_margin

    def margin_for(self, channel: str) -> float:
        """The margin applied to ``channel``'s return: its own if given, else :attr:`margin`."""
        return float(self.gross_margin_by_channel.get(channel, self.margin))


@dataclass(frozen=True)
class FitSpec:
    draws: int = 1000
    tune: int = 1000
    chains: int = 4
    seed: int = 0
    sampler: str = "nutpie"
    target_accept: float = 0.9
    # nutpie's mass-matrix adaptation. "low_rank" takes ~1.5x fewer gradients on the default
    # synthetic case but gave half the ROAS ESS per second and more divergences, so "diag" is the default
    adaptation: str = "diag"
    thin: int = 1  # keep every n-th draw (bounded posterior storage for large geo panels)
    posterior_dtype: str = "float64"  # "float32" halves the stored posterior


@dataclass(frozen=True)
class DiagnosticThresholds:
    max_rhat: float = 1.01
    min_ess_bulk_per_chain: float = 100.0
    max_divergences: int = 0


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
    experiments: tuple[Any, ...] = ()  # mmm.experiments.Experiment: measured lifts, likelihood terms

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
            channels={c.name: ChannelColumns(spend=c.spend, exposure=c.exposure) for c in self.channels},
            controls=tuple(self.controls),
            geo=self.data.geo,
        )

    def with_fit(self, **overrides: Any) -> Config:
        """A copy with fit settings replaced (CLI flags); ``None`` values are ignored."""
        given = {k: v for k, v in overrides.items() if v is not None}
        if not given:
            return self
        return replace(self, fit=_fit_spec({**_asdict_fit(self.fit), **given}, self.source))

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
        return _parse(raw, Path(base_dir) if base_dir is not None else Path.cwd(), source)

    def to_dict(self) -> dict[str, Any]:
        """The resolved config, defaults filled in (the run folder's ``config.yaml``)."""
        channels = {}
        for c in self.channels:
            entry: dict[str, Any] = {"spend": c.spend}
            if c.exposure:
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
        model_priors = {n: self.model.prior(n).to_dict() for n in DEFAULT_MODEL_PRIORS}
        return {
            "name": self.name,
            "data": data,
            "channels": channels,
            "controls": list(self.controls),
            "model": {"trend": self.model.trend, "seasonality": {"order": self.model.seasonality_order},
                      "likelihood": self.model.likelihood, "media_roas_scale": self.model.media_roas_scale,
                      "priors": model_priors,
                      **({} if self.model.roas_prior is None else {"roas_prior": self.model.roas_prior.to_dict()}),
                      **({"geo": {"adstock": self.model.geo_adstock}} if self.data.geo else {})},
            "finance": {k: (dict(v) if isinstance(v := getattr(self.finance, k), Mapping) else v)
                        for k in FinanceSpec.__dataclass_fields__},
            "fit": _asdict_fit(self.fit),
            "diagnostics": {k: getattr(self.diagnostics, k) for k in DiagnosticThresholds.__dataclass_fields__},
            "window": {"start": self.window[0], "end": self.window[1]},
            "report": {"interval": self.interval},
            "holdout": {"periods": self.holdout_periods},
            # written only when set: absent means a refresh refits the full history
            **({"refresh": {"window_periods": self.refresh_window_periods}}
               if self.refresh_window_periods is not None else {}),
            **({"experiments": [e.to_dict() for e in self.experiments]} if self.experiments else {}),
        }

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False)

    def sha256(self) -> str:
        return hashlib.sha256(self.to_yaml().encode()).hexdigest()


# ---- parsing ----------------------------------------------------------------------

TOP_KEYS = ("name", "data", "channels", "controls", "model", "finance", "fit", "diagnostics", "window", "report",
            "holdout", "refresh", "experiments")


def _parse(raw: Any, base_dir: Path, source: str) -> Config:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{source}: a config is a YAML mapping with at least `data` and `channels`.")
    _no_unknown(raw, TOP_KEYS, source, "top level")
    for key in ("data", "channels"):
        if key not in raw:
            raise ConfigError(f"{source}: missing `{key}` section (see the minimal config in README.md).")
    model_raw = raw.get("model") or {}
    _no_unknown(model_raw, ("adstock", "saturation", "max_lag", "trend", "seasonality", "likelihood",
                            "media_roas_scale", "priors", "roas_prior", "geo"),
                source, "model")
    defaults = {"adstock": model_raw.get("adstock", "geometric"), "saturation": model_raw.get("saturation", "logistic"),
                "max_lag": model_raw.get("max_lag", 8)}
    window = raw.get("window") or {}
    _no_unknown(window, ("start", "end"), source, "window")
    report = raw.get("report") or {}
    _no_unknown(report, ("interval",), source, "report")
    try:
        interval = float(report.get("interval", 0.9))
    except (TypeError, ValueError):
        raise ConfigError(f"{source}: report.interval must be a number between 0 and 1 (e.g. 0.9); "
                          f"got {report['interval']!r}") from None
    if not 0 < interval < 1:
        raise ConfigError(f"{source}: report.interval must be between 0 and 1 (e.g. 0.9); got {interval}")
    controls = raw.get("controls") or []
    if isinstance(controls, str) or not all(isinstance(c, str) for c in controls):
        raise ConfigError(f"{source}: `controls` is a list of column names, e.g. [price_index, promo]")
    data = _data_spec(raw["data"], base_dir, source)
    channel_names = tuple(str(c) for c in raw["channels"]) if isinstance(raw["channels"], Mapping) else ()
    finance = _finance_spec(raw.get("finance") or {}, data.kpi_type, source, channel_names)
    from mmm.experiments import parse_experiments
    from mmm.roi_prior import parse_roas_prior

    model = _model_options(model_raw, source)
    default_roas = model_raw.get("roas_prior")
    if default_roas is not None:
        model = replace(model, roas_prior=parse_roas_prior(default_roas, f"{source}: model.roas_prior"))
    return Config(
        data=data,
        channels=_channel_specs(raw["channels"], defaults, source),
        controls=tuple(controls),
        model=model,
        finance=finance,
        fit=_fit_spec(raw.get("fit") or {}, source),
        diagnostics=_thresholds(raw.get("diagnostics") or {}, source),
        window=(_iso(window.get("start"), source), _iso(window.get("end"), source)),
        interval=interval,
        holdout_periods=_holdout(raw.get("holdout") or {}, source),
        refresh_window_periods=_refresh_window(raw.get("refresh") or {}, source),
        name=str(raw.get("name") or (Path(source).stem if source != "<dict>" else "") or "mmm"),
        source=source,
        experiments=parse_experiments(raw.get("experiments"), channel_names, base_dir, source, data.geo),
    )


def _no_unknown(section: Mapping, allowed: tuple[str, ...], source: str, where: str) -> None:
    if not isinstance(section, Mapping):
        raise ConfigError(f"{source}: `{where}` must be a mapping; got {section!r}")
    for key in section:
        if key not in allowed:
            hint = difflib.get_close_matches(str(key), allowed, n=1)
            fix = f"did you mean `{hint[0]}`?" if hint else f"allowed keys: {', '.join(allowed)}"
            raise ConfigError(f"{source}: unknown key `{key}` in {where}; {fix}")


def _iso(value: Any, source: str) -> str | None:
    if value is None:
        return None
    import pandas as pd

    try:
        return pd.Timestamp(str(value)).date().isoformat()
    except ValueError:
        raise ConfigError(f"{source}: window date {value!r} is not a date (write YYYY-MM-DD)") from None


def _data_spec(raw: Any, base_dir: Path, source: str) -> DataSpec:
    _no_unknown(raw, ("path", "date", "kpi", "kpi_type", "geo", "min_periods", "population"), source, "data")
    for key in ("date", "kpi"):
        if not raw.get(key):
            raise ConfigError(f"{source}: data.{key} is required (the name of the {key} column)")
    kpi_type = raw.get("kpi_type", "revenue")
    if kpi_type not in ("revenue", "count"):
        raise ConfigError(f"{source}: data.kpi_type must be `revenue` or `count`; got {kpi_type!r}")
    path = raw.get("path")
    resolved = None
    if path:
        resolved = Path(path) if Path(path).is_absolute() else (base_dir / path).resolve()
    min_periods = raw.get("min_periods")
    return DataSpec(path=resolved, date=str(raw["date"]), kpi=str(raw["kpi"]), kpi_type=kpi_type,
                    geo=raw.get("geo"), min_periods=_whole(min_periods, "data.min_periods", source),
                    population=raw.get("population"))


def _channel_specs(raw: Any, defaults: dict[str, Any], source: str) -> tuple[ChannelSpec, ...]:
    if not isinstance(raw, Mapping) or not raw:
        raise ConfigError(f"{source}: `channels` maps channel names to spend columns, e.g. {{tv: tv_spend}}")
    specs = []
    for name, entry in raw.items():
        where = f"channels.{name}"
        if isinstance(entry, str):
            entry = {"spend": entry}
        _no_unknown(entry, ("spend", "exposure", "adstock", "saturation", "max_lag", "priors", "roas_prior"), source,
                    where)
        if not entry.get("spend"):
            raise ConfigError(f"{source}: {where} needs a `spend` column")
        adstock = entry.get("adstock", defaults["adstock"])
        saturation = entry.get("saturation", defaults["saturation"])
        if adstock not in ADSTOCKS:
            raise ConfigError(f"{source}: {where}.adstock {adstock!r} is unknown; use one of {', '.join(ADSTOCKS)}")
        if saturation not in SATURATIONS:
            raise ConfigError(
                f"{source}: {where}.saturation {saturation!r} is unknown; use one of {', '.join(SATURATIONS)}")
        max_lag = entry.get("max_lag", defaults["max_lag"])
        if not _is_whole(max_lag) or not 1 <= max_lag <= 104:
            raise ConfigError(f"{source}: {where}.max_lag must be a whole number of periods in 1..104; got {max_lag!r}")
        spec = ChannelSpec(name=str(name), spend=str(entry["spend"]), exposure=entry.get("exposure"),
                           adstock=adstock, saturation=saturation, max_lag=int(max_lag))
        priors = _priors(entry.get("priors") or {}, spec.param_names(), source, f"{where}.priors")
        roas = None
        if entry.get("roas_prior") is not None:
            from mmm.roi_prior import parse_roas_prior

            if "coef" in priors:
                raise ConfigError(f"{source}: {where} has both roas_prior and priors.coef; a channel's effect has "
                                  f"one prior — keep roas_prior (business units) or priors.coef, not both")
            roas = parse_roas_prior(entry["roas_prior"], f"{source}: {where}.roas_prior")
        specs.append(replace(spec, priors=priors, roas_prior=roas))
    return tuple(specs)


# where each parameter lives; a prior must not put mass outside it
PARAM_SUPPORT = {"alpha": "unit", "coef": "positive", "theta": "positive", "shape": "positive", "scale": "positive",
                 "half_saturation": "positive", "slope": "positive", "lam": "positive", "sigma": "positive",
                 "nu": "positive"}


def _priors(raw: Any, allowed: tuple[str, ...], source: str, where: str) -> dict[str, Prior]:
    _no_unknown(raw, allowed, source, where)
    try:
        priors = {name: Prior.parse(value, f"{source}: {where}.{name}") for name, value in raw.items()}
    except PriorError as err:
        raise ConfigError(str(err)) from None
    for name, prior in priors.items():
        required = PARAM_SUPPORT.get(name, "real")
        if not prior.fits(required):
            kind = {"unit": "between 0 and 1 (e.g. Beta)", "positive": "positive (e.g. HalfNormal, LogNormal, Gamma)"}
            raise ConfigError(f"{source}: {where}.{name}: {prior.dist} can draw values outside the parameter's "
                              f"range; {name} must be {kind[required]}")
    return priors


def _model_options(raw: Mapping, source: str) -> ModelOptions:
    seasonality = raw.get("seasonality", {"order": 2})
    if isinstance(seasonality, Mapping):
        _no_unknown(seasonality, ("order",), source, "model.seasonality")
    trend = raw.get("trend", True)
    if not isinstance(trend, bool):
        raise ConfigError(f"{source}: model.trend must be true or false (unquoted); got {trend!r}")
    order = seasonality.get("order", 2) if isinstance(seasonality, Mapping) else seasonality
    if order is False or order is None:
        order = 0
    if not isinstance(order, int) or not 0 <= order <= 10:
        raise ConfigError(f"{source}: model.seasonality.order must be a whole number 0..10; got {order!r}")
    likelihood = raw.get("likelihood", "normal")
    if likelihood not in LIKELIHOODS:
        raise ConfigError(f"{source}: model.likelihood must be one of {', '.join(LIKELIHOODS)}; got {likelihood!r}")
    priors = _priors(raw.get("priors") or {}, tuple(DEFAULT_MODEL_PRIORS), source, "model.priors")
    roas_scale = raw.get("media_roas_scale", DEFAULT_MEDIA_ROAS_SCALE)
    if not isinstance(roas_scale, (int, float)) or not roas_scale > 0:
        raise ConfigError(f"{source}: model.media_roas_scale must be a positive number (a typical ROAS, e.g. 3); "
                          f"got {roas_scale!r}")
    geo = raw.get("geo") or {}
    _no_unknown(geo, ("adstock",), source, "model.geo")
    geo_adstock = geo.get("adstock", "shared")
    if geo_adstock not in GEO_ADSTOCKS:
        raise ConfigError(f"{source}: model.geo.adstock must be one of {', '.join(GEO_ADSTOCKS)} (one adstock shared "
                          f"by all geos, or one per geo); got {geo_adstock!r}")
    return ModelOptions(trend=trend, seasonality_order=order, likelihood=likelihood,
                        priors=priors, media_roas_scale=float(roas_scale), geo_adstock=geo_adstock)


def _finance_value(raw: Mapping, key: str, source: str) -> tuple[Any, str | None]:
    """A finance input is a number, or ``{value: 0.6, source: ..., owner: ...}``."""
    value = raw.get(key)
    provenance = raw.get(f"{key}_source")
    if isinstance(value, Mapping):
        _no_unknown(value, ("value", "source", "owner"), source, f"finance.{key}")
        parts = [str(value[k]) for k in ("source", "owner") if value.get(k)]
        provenance = provenance or (", ".join(parts) if parts else None)
        value = value.get("value")
    if value is not None:
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{source}: finance.{key} must be a number; got {value!r}") from None
        provenance = provenance or (f"config ({raw['owner']})" if raw.get("owner") else "config")
    return value, provenance


def _margins_by_channel(raw: Mapping, channels: tuple[str, ...], source: str
                        ) -> tuple[dict[str, Any], dict[str, float], dict[str, str]]:
    """Split ``gross_margin: {tv: 0.5, search: {value: 0.7, source: ...}, default: 0.6}`` from the scalar forms."""
    written = raw.get("gross_margin")
    by_channel = dict(raw.get("gross_margin_by_channel") or {})
    by_source = dict(raw.get("gross_margin_by_channel_source") or {})
    raw = dict(raw)
    if isinstance(written, Mapping) and "value" not in written and any(k in channels for k in written):
        raw["gross_margin"] = written.get("default")
        for name, entry in written.items():
            if name != "default":
                by_channel[name] = entry
    unknown = [c for c in by_channel if c not in channels]
    if unknown:
        raise ConfigError(f"{source}: finance.gross_margin names channel(s) {', '.join(map(str, unknown))} that are "
                          f"not in `channels` ({', '.join(channels)}); fix the name or remove it")
    margins = {}
    for name, entry in by_channel.items():
        value, provenance = _finance_value({**raw, "gross_margin": entry}, "gross_margin", source)
        if value is None or not 0 < value <= 1:
            raise ConfigError(f"{source}: finance.gross_margin for {name} is a share in (0, 1], e.g. 0.6; "
                              f"got {value!r}")
        margins[name] = value
        by_source[name] = by_source.get(name) or provenance
    return raw, margins, {c: by_source[c] for c in margins}


def _finance_spec(raw: Mapping, kpi_type: str, source: str, channels: tuple[str, ...] = ()) -> FinanceSpec:
    keyed = ("gross_margin", "value_per_kpi", "clv")
    _no_unknown(raw, ("currency", "hurdle_rate", "owner", "gross_margin_by_channel", "gross_margin_by_channel_source",
                      *keyed, *(f"{k}_source" for k in keyed)), source, "finance")
    raw, channel_margins, channel_sources = _margins_by_channel(raw, channels, source)
    margin, margin_source = _finance_value(raw, "gross_margin", source)
    value, value_source = _finance_value(raw, "value_per_kpi", source)
    clv, clv_source = _finance_value(raw, "clv", source)
    if margin is not None and not 0 < margin <= 1:
        raise ConfigError(f"{source}: finance.gross_margin is a share in (0, 1], e.g. 0.6; got {margin!r}")
    if kpi_type == "revenue" and value not in (None, 1.0):
        raise ConfigError(f"{source}: data.kpi_type is revenue, so each KPI unit is worth 1; remove "
                          f"finance.value_per_kpi or set data.kpi_type: count")
    if kpi_type == "count" and value is None:
        raise ConfigError(f"{source}: data.kpi_type is count, so finance.value_per_kpi (currency per KPI unit, "
                          f"e.g. average order value) is required to turn KPI into revenue")
    if value is not None and value <= 0:
        raise ConfigError(f"{source}: finance.value_per_kpi must be positive; got {value!r}")
    if clv is not None and clv <= 0:
        raise ConfigError(f"{source}: finance.clv (value of an acquired customer) must be positive; got {clv!r}")
    if clv is not None and kpi_type != "count":
        raise ConfigError(f"{source}: finance.clv needs a KPI that counts customers (data.kpi_type: count); "
                          f"with a revenue KPI there is no customer count to value")
    return FinanceSpec(
        currency=str(raw.get("currency", "USD")),
        gross_margin=margin,
        gross_margin_source=margin_source,
        gross_margin_by_channel=channel_margins,
        gross_margin_by_channel_source=channel_sources,
        value_per_kpi=1.0 if value is None else value,
        value_per_kpi_source=value_source if value is not None else "KPI is revenue",
        hurdle_rate=_number(raw.get("hurdle_rate", 0.0), "finance.hurdle_rate", source,
                            "a decimal share, e.g. 0.08 for 8%"),
        clv=clv,
        clv_source=clv_source,
    )


def _holdout(raw: Any, source: str) -> int:
    _no_unknown(raw, ("periods",), source, "holdout")
    periods = raw.get("periods", 0)
    if not _is_whole(periods) or periods < 0:
        raise ConfigError(f"{source}: holdout.periods is a whole number of final periods to keep out of the fit "
                          f"(e.g. 8), or 0; got {periods!r}")
    return int(periods)


def _refresh_window(raw: Any, source: str) -> int | None:
    """``refresh: {window_periods: N}``: a refresh fits only the last N periods (a rolling window)."""
    _no_unknown(raw, ("window_periods",), source, "refresh")
    periods = _whole(raw.get("window_periods"), "refresh.window_periods", source)
    if periods is not None and periods < 26:
        raise ConfigError(f"{source}: refresh.window_periods={periods} is too short to fit; keep at least 26 "
                          f"periods, or remove the key to refit on the full history")
    return periods


def _whole(value: Any, key: str, source: str) -> int | None:
    if value is None:
        return None
    if not _is_whole(value) or value < 1:
        raise ConfigError(f"{source}: {key} must be a positive whole number; got {value!r}")
    return int(value)


def _number(value: Any, key: str, source: str, example: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{source}: {key} must be a number ({example}); got {value!r}")
    return float(value)


def _is_whole(value: Any) -> bool:
    """A whole number as written (YAML ``yes``/``true`` is a bool, not a count)."""
    return isinstance(value, Integral) and not isinstance(value, bool)


def _asdict_fit(fit: FitSpec) -> dict[str, Any]:
    return {k: getattr(fit, k) for k in FitSpec.__dataclass_fields__}


def _fit_spec(raw: Mapping, source: str) -> FitSpec:
    _no_unknown(raw, tuple(FitSpec.__dataclass_fields__), source, "fit")
    merged = {**_asdict_fit(FitSpec()), **raw}
    for key in ("draws", "tune", "chains"):
        if not _is_whole(merged[key]) or merged[key] < 1:
            raise ConfigError(f"{source}: fit.{key} must be a positive whole number; got {merged[key]!r}")
    if not _is_whole(merged["seed"]) or merged["seed"] < 0:
        raise ConfigError(f"{source}: fit.seed must be a whole number >= 0, e.g. 1; got {merged['seed']!r}")
    if merged["sampler"] not in SAMPLERS:
        raise ConfigError(f"{source}: fit.sampler must be one of {', '.join(SAMPLERS)}; got {merged['sampler']!r}")
    try:
        target_accept = float(merged["target_accept"])
    except (TypeError, ValueError):
        target_accept = float("nan")
    if not 0.5 <= target_accept < 1:
        raise ConfigError(f"{source}: fit.target_accept must be in [0.5, 1); got {merged['target_accept']!r}")
    if merged["adaptation"] not in ADAPTATIONS:
        raise ConfigError(f"{source}: fit.adaptation must be one of {', '.join(ADAPTATIONS)} (nutpie only); "
                          f"got {merged['adaptation']!r}")
    if not _is_whole(merged["thin"]) or merged["thin"] < 1:
        raise ConfigError(f"{source}: fit.thin must be a whole number >= 1 (keep every n-th draw); got {merged['thin']!r}")
    if merged["posterior_dtype"] not in POSTERIOR_DTYPES:
        raise ConfigError(f"{source}: fit.posterior_dtype must be one of {', '.join(POSTERIOR_DTYPES)}; "
                          f"got {merged['posterior_dtype']!r}")
    return FitSpec(draws=int(merged["draws"]), tune=int(merged["tune"]), chains=int(merged["chains"]),
                   seed=int(merged["seed"]), sampler=merged["sampler"], target_accept=target_accept,
                   adaptation=merged["adaptation"], thin=int(merged["thin"]),
                   posterior_dtype=merged["posterior_dtype"])


def _thresholds(raw: Mapping, source: str) -> DiagnosticThresholds:
    _no_unknown(raw, tuple(DiagnosticThresholds.__dataclass_fields__), source, "diagnostics")
    values = {}
    for key, value in raw.items():
        kind = type(getattr(DiagnosticThresholds(), key))
        try:
            values[key] = kind(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{source}: diagnostics.{key} must be a number; got {value!r}") from None
    return DiagnosticThresholds(**values)
