"""Parsing a raw config mapping (YAML) into :class:`mmm.spec.config.Config`: every key checked,
every error naming the file, the key and the fix. :mod:`mmm.spec.config` holds the spec itself."""

from __future__ import annotations

from collections.abc import Mapping
from numbers import Integral
from dataclasses import replace
from pathlib import Path
from typing import Any

from mmm.spec.errors import ConfigError, refuse_unknown_keys as _no_unknown
from mmm.spec.sections import (
    SMOOTH_KERNELS,
    DEFAULT_BASELINE_PRIORS,
    BaselineOptions,
    ADAPTATIONS,
    DEFAULT_MAX_LAG,
    DEFAULT_MEDIA_ROAS_SCALE,
    DEFAULT_MEDIA_ROAS_SIGMA,
    DEFAULT_MEDIA_SHARE,
    DEFAULT_MODEL_PRIORS,
    GEO_ADSTOCKS,
    LIKELIHOODS,
    MEDIA_EFFECTS,
    POSTERIOR_DTYPES,
    SAMPLERS,
    ChannelSpec,
    DataSpec,
    DiagnosticThresholds,
    FinanceSpec,
    FitSpec,
    ModelOptions,
    OrganicSpec,
    TREATMENT_REFERENCES,
    TreatmentSpec,
    fit_as_dict,
)
from mmm.spec.events import parse_events
from mmm.spec.priors import Prior, PriorError
from mmm.spec.transforms import ADSTOCK_SPECS as ADSTOCKS, SATURATION_SPECS as SATURATIONS


TOP_KEYS = ("name", "data", "channels", "controls", "model", "finance", "fit", "diagnostics", "window", "report",
            "holdout", "refresh", "experiments", "events", "organic", "treatments")


def parse_config_fields(raw: Any, base_dir: Path, source: str) -> dict[str, Any]:
    """The fields of :class:`mmm.spec.config.Config` from a raw mapping, every key checked."""
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{source}: a config is a YAML mapping with at least `data` and `channels`.")
    _no_unknown(raw, TOP_KEYS, source, "top level")
    for key in ("data", "channels"):
        if key not in raw:
            raise ConfigError(f"{source}: missing `{key}` section (see the minimal config in README.md).")
    model_raw = raw.get("model") or {}
    _no_unknown(model_raw, ("adstock", "saturation", "max_lag", "trend", "seasonality", "likelihood",
                            "media_roas_scale", "media_share", "media_roas_sigma", "priors", "roas_prior", "geo",
                            "baseline", "candidates", "media_effect"),
                source, "model")
    defaults = {"adstock": model_raw.get("adstock", "geometric"), "saturation": model_raw.get("saturation", "logistic"),
                "max_lag": model_raw.get("max_lag")}  # None: not written, set by the data's frequency
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
    from mmm.spec.lift_tests import parse_experiments
    from mmm.spec.roas_prior import parse_roas_prior

    from mmm.spec import sections
    from mmm.spec.candidates import check_time_varying_media, parse_candidates

    model = replace(_model_options(model_raw, source),
                    baseline=_baseline_options(model_raw.get("baseline"), bool(data.geo), source),
                    candidates=parse_candidates(model_raw.get("candidates", sections.DEFAULT_CANDIDATES), source))
    default_roas = model_raw.get("roas_prior")
    if default_roas is not None:
        model = replace(model, roas_prior=parse_roas_prior(default_roas, f"{source}: model.roas_prior"))
    channels = _channel_specs(raw["channels"], defaults, source)
    organic = _organic_specs(raw.get("organic"), defaults, source)
    treatments = _treatment_specs(raw.get("treatments"), source)
    _no_clashes(channels, organic, treatments, tuple(controls), source)
    _reach_frequency_limits(channels, model, source)
    events = parse_events(raw.get("events"), base_dir, source)
    if "event_coef" in model.priors and not events:
        raise ConfigError(f"{source}: model.priors.event_coef is the prior of event effects, but the config has no "
                          "`events`; add events or remove the prior")
    experiments = parse_experiments(raw.get("experiments"), channel_names, base_dir, source, data.geo)
    check_time_varying_media(model, experiments, source)
    on_rf = sorted({e.channel for e in experiments if any(c.name == e.channel and c.frequency for c in channels)})
    if on_rf:
        raise ConfigError(f"{source}: lift tests on reach-and-frequency channels ({', '.join(on_rf)}) are not "
                          "available yet; remove them from `experiments`")
    return dict(
        data=data,
        channels=channels,
        controls=tuple(controls),
        events=events,
        organic=organic,
        treatments=treatments,
        model=model,
        finance=finance,
        fit=parse_fit(raw.get("fit") or {}, source),
        diagnostics=_thresholds(raw.get("diagnostics") or {}, source),
        window=(_iso(window.get("start"), source), _iso(window.get("end"), source)),
        interval=interval,
        holdout_periods=_holdout(raw.get("holdout") or {}, source),
        refresh_window_periods=_refresh_window(raw.get("refresh") or {}, source),
        name=str(raw.get("name") or (Path(source).stem if source != "<dict>" else "") or "mmm"),
        source=source,
        experiments=experiments,
    )


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
        _no_unknown(entry, ("spend", "exposure", "reach", "frequency", "adstock", "saturation", "max_lag", "priors",
                            "roas_prior"), source, where)
        if not entry.get("spend"):
            raise ConfigError(f"{source}: {where} needs a `spend` column")
        reach_and_frequency = _reach_and_frequency(entry, source, where)
        if reach_and_frequency:  # the frequency curve is a Hill curve unless the channel says otherwise
            entry = {"saturation": "hill", **entry}
        adstock, saturation, max_lag, lag_auto = _transform_choice(entry, defaults, source, where)
        spec = ChannelSpec(name=str(name), spend=str(entry["spend"]),
                           exposure=entry.get("reach") if reach_and_frequency else entry.get("exposure"),
                           adstock=adstock, saturation=saturation, max_lag=max_lag, max_lag_auto=lag_auto,
                           frequency=entry.get("frequency") if reach_and_frequency else None)
        priors = _priors(entry.get("priors") or {}, spec.param_names(), source, f"{where}.priors")
        roas = None
        if entry.get("roas_prior") is not None:
            from mmm.spec.roas_prior import parse_roas_prior

            if "coef" in priors:
                raise ConfigError(f"{source}: {where} has both roas_prior and priors.coef; a channel's effect has "
                                  f"one prior — keep roas_prior (business units) or priors.coef, not both")
            roas = parse_roas_prior(entry["roas_prior"], f"{source}: {where}.roas_prior")
        specs.append(replace(spec, priors=priors, roas_prior=roas))
    return tuple(specs)


def _reach_and_frequency(entry: Mapping, source: str, where: str) -> bool:
    """True for a reach-and-frequency channel (both columns given); half of the pair, or the pair beside
    an exposure column, is refused."""
    given = [k for k in ("reach", "frequency") if entry.get(k)]
    if not given:
        return False
    if len(given) == 1:
        raise ConfigError(f"{source}: {where} gives `{given[0]}` without `{'frequency' if given[0] == 'reach' else 'reach'}`; "
                          "a reach-and-frequency channel needs both columns (reach per period and its average frequency)")
    if entry.get("exposure"):
        raise ConfigError(f"{source}: {where} gives `exposure` beside `reach` and `frequency`; reach x frequency is "
                          "the channel's exposure, so drop `exposure`")
    return True


def _transform_choice(entry: Mapping, defaults: dict[str, Any], source: str, where: str
                      ) -> tuple[str, str, int, bool]:
    """(adstock, saturation, max_lag, max_lag_auto) of a channel or organic entry, each checked; max_lag_auto:
    neither the entry nor model.max_lag wrote it (the data's frequency sets it, Config.for_frequency)."""
    adstock = entry.get("adstock", defaults["adstock"])
    saturation = entry.get("saturation", defaults["saturation"])
    if adstock not in ADSTOCKS:
        raise ConfigError(f"{source}: {where}.adstock {adstock!r} is unknown; use one of {', '.join(ADSTOCKS)}")
    if saturation not in SATURATIONS:
        raise ConfigError(
            f"{source}: {where}.saturation {saturation!r} is unknown; use one of {', '.join(SATURATIONS)}")
    max_lag = entry.get("max_lag", defaults["max_lag"])
    if max_lag is None:
        return adstock, saturation, DEFAULT_MAX_LAG, True
    if not _is_whole(max_lag) or not 1 <= max_lag <= 104:
        where = where if "max_lag" in entry else "model"
        raise ConfigError(f"{source}: {where}.max_lag must be a whole number of periods in 1..104; got {max_lag!r}")
    return adstock, saturation, int(max_lag), False


def _named_columns(raw: Any, section: str, keys: tuple[str, ...], maps: str, source: str):
    """``(name, entry, where)`` of a section mapping names to a column or to ``{column: ..., ...}``, each entry
    checked for unknown keys and a column; an absent section yields nothing."""
    if raw is None:
        return
    if not isinstance(raw, Mapping) or not raw:
        raise ConfigError(f"{source}: `{section}` maps {maps}; got {raw!r}")
    for name, entry in raw.items():
        where = f"{section}.{name}"
        entry = {"column": entry} if isinstance(entry, str) else entry
        _no_unknown(entry, keys, source, where)
        if not entry.get("column"):
            raise ConfigError(f"{source}: {where} needs a `column`")
        yield str(name), entry, where


def _organic_specs(raw: Any, defaults: dict[str, Any], source: str) -> tuple[OrganicSpec, ...]:
    """``organic: {newsletter: sends_column}`` or ``{newsletter: {column: ..., adstock, saturation, max_lag,
    priors}}``: media without spend, driven by its own column."""
    specs = []
    for name, entry, where in _named_columns(raw, "organic", ("column", "adstock", "saturation", "max_lag", "priors"),
                                             "organic channel names to their exposure columns, e.g. "
                                             "{newsletter: newsletter_sends}", source):
        adstock, saturation, max_lag, lag_auto = _transform_choice(entry, defaults, source, where)
        spec = OrganicSpec(name=str(name), column=str(entry["column"]), adstock=adstock, saturation=saturation,
                           max_lag=max_lag, max_lag_auto=lag_auto)
        specs.append(replace(spec, priors=_priors(entry.get("priors") or {}, spec.param_names(), source,
                                                  f"{where}.priors")))
    return tuple(specs)


def _treatment_specs(raw: Any, source: str) -> tuple[TreatmentSpec, ...]:
    """``treatments: {promo: Promo}`` or ``{promo: {column: Promo, reference: 0}}`` (reference: a number,
    or min / max / mean over the data; default min)."""
    specs = []
    for name, entry, where in _named_columns(raw, "treatments", ("column", "reference"),
                                             "treatment names to columns, e.g. {promo: promo_flag} or "
                                             "{price: {column: price_index, reference: 1.0}}", source):
        reference = entry.get("reference", "min")
        if isinstance(reference, bool) or not (isinstance(reference, (int, float)) or reference in TREATMENT_REFERENCES):
            raise ConfigError(f"{source}: {where}.reference is the level the treatment's contribution is counted "
                              f"from: a number in the column's units (e.g. 0 for no promotion) or one of "
                              f"{', '.join(TREATMENT_REFERENCES)}; got {reference!r}")
        specs.append(TreatmentSpec(name=str(name), column=str(entry["column"]),
                                   reference=reference if isinstance(reference, str) else float(reference)))
    return tuple(specs)


def _reach_frequency_limits(channels, model: ModelOptions, source: str) -> None:
    """What reach-and-frequency channels do not support yet, refused rather than ignored."""
    rf = [c.name for c in channels if c.frequency]
    if not rf:
        return
    if model.geo_adstock == "geo":
        raise ConfigError(f"{source}: model.geo.adstock: geo is not available with reach-and-frequency channels "
                          f"({', '.join(rf)}); use the shared adstock (remove model.geo.adstock)")
    with_roas = [c.name for c in channels if c.frequency and (c.roas_prior is not None or model.roas_prior is not None)]
    if with_roas:
        raise ConfigError(f"{source}: a ROAS prior is not available for reach-and-frequency channels yet "
                          f"({', '.join(with_roas)}); give their coefficient prior under priors.coef instead")


def _no_clashes(channels, organic, treatments, controls: tuple[str, ...], source: str) -> None:
    """Names are unique across channels, organic channels and treatments; a column plays one role."""
    names = [c.name for c in channels] + [o.name for o in organic] + [t.name for t in treatments]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ConfigError(f"{source}: name(s) {', '.join(map(repr, repeated))} are used by more than one of "
                          "channels, organic and treatments; give each its own name")
    treated = [t.column for t in treatments]
    both = [c for c in treated if c in controls]
    if both:
        raise ConfigError(f"{source}: column(s) {', '.join(map(repr, both))} are both in controls and treatments; a "
                          "treatment is already in the model like a control (with its contribution reported): keep "
                          "it in treatments only")
    if len(set(treated)) < len(treated):
        raise ConfigError(f"{source}: two treatments read the same column; give each treatment its own column")


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
        _no_unknown(seasonality, ("order", "weekly"), source, "model.seasonality")
    trend = raw.get("trend", True)
    if not isinstance(trend, bool):
        raise ConfigError(f"{source}: model.trend must be true or false (unquoted); got {trend!r}")
    order = seasonality.get("order", 2) if isinstance(seasonality, Mapping) else seasonality
    if order is False or order is None:
        order = 0
    if not isinstance(order, int) or not 0 <= order <= 10:
        raise ConfigError(f"{source}: model.seasonality.order must be a whole number 0..10; got {order!r}")
    weekly = seasonality.get("weekly", "auto") if isinstance(seasonality, Mapping) else "auto"
    if weekly is False or weekly is None:
        weekly = 0
    if weekly != "auto" and (isinstance(weekly, bool) or not isinstance(weekly, int) or not 0 <= weekly <= 3):
        raise ConfigError(f"{source}: model.seasonality.weekly is the day-of-week pattern of daily data: auto (on "
                          f"for daily data, off for weekly) or a number of Fourier pairs 0..3; got {weekly!r}")
    likelihood = raw.get("likelihood", "normal")
    if likelihood not in LIKELIHOODS:
        raise ConfigError(f"{source}: model.likelihood must be one of {', '.join(LIKELIHOODS)}; got {likelihood!r}")
    media_effect = raw.get("media_effect", "steady")
    if media_effect not in MEDIA_EFFECTS:
        raise ConfigError(f"{source}: model.media_effect must be one of {', '.join(MEDIA_EFFECTS)} (every paid "
                          f"channel's effect the same each period, or scaled by a smooth multiplier over time); "
                          f"got {media_effect!r}")
    priors = _priors(raw.get("priors") or {}, tuple(DEFAULT_MODEL_PRIORS), source, "model.priors")
    roas_scale = raw.get("media_roas_scale", DEFAULT_MEDIA_ROAS_SCALE)
    if roas_scale != "auto" and (isinstance(roas_scale, bool) or not isinstance(roas_scale, (int, float))
                                 or not roas_scale > 0):
        raise ConfigError(f"{source}: model.media_roas_scale is the default ROAS prior's median: auto (from "
                          f"model.media_share and the data) or a positive number (a typical ROAS, e.g. 2); "
                          f"got {roas_scale!r}")
    media_share = raw.get("media_share", DEFAULT_MEDIA_SHARE)
    if "media_share" in raw and roas_scale != "auto":
        raise ConfigError(f"{source}: model.media_share sets the default ROAS prior's median only when "
                          f"model.media_roas_scale is auto; remove one of them")
    if isinstance(media_share, bool) or not isinstance(media_share, (int, float)) or not 0 < media_share < 1:
        raise ConfigError(f"{source}: model.media_share must be a number between 0 and 1 (the share of the KPI's "
                          f"value paid media brings at the prior median, e.g. 0.15); got {media_share!r}")
    roas_sigma = raw.get("media_roas_sigma", DEFAULT_MEDIA_ROAS_SIGMA)
    if isinstance(roas_sigma, bool) or not isinstance(roas_sigma, (int, float)) or not 0 < roas_sigma <= 5:
        raise ConfigError(f"{source}: model.media_roas_sigma is the default ROAS prior's log-scale sd, a number in "
                          f"(0, 5] (1.0: the 99th percentile ~10x the median); got {roas_sigma!r}")
    geo = raw.get("geo") or {}
    _no_unknown(geo, ("adstock",), source, "model.geo")
    geo_adstock = geo.get("adstock", "shared")
    if geo_adstock not in GEO_ADSTOCKS:
        raise ConfigError(f"{source}: model.geo.adstock must be one of {', '.join(GEO_ADSTOCKS)} (one adstock shared "
                          f"by all geos, or one per geo); got {geo_adstock!r}")
    return ModelOptions(trend=trend, seasonality_order=order, weekly_order=weekly, likelihood=likelihood,
                        media_effect=media_effect, priors=priors, media_roas_scale=roas_scale if roas_scale == "auto" else float(roas_scale),
                        media_share=float(media_share), media_roas_sigma=float(roas_sigma), geo_adstock=geo_adstock)


def _baseline_options(raw: Any, panel: bool, source: str) -> BaselineOptions:
    """``model.baseline``: a smooth time-varying component and (panels) per-period shocks shared by geos.

    Defaults, chosen by the rolling-origin holdout of docs/baseline-choice.md: shocks on for a panel (they
    cut the 13-week forecast's CRPS to 0.9x and brought its 90% coverage from 0.46 to 0.86), smooth off (on
    national data it forecast no better, 1.05x the CRPS, at 1.7x the sampling time)."""
    if raw is None:
        return BaselineOptions(shocks="auto" if panel else False)
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{source}: model.baseline is a mapping, e.g. {{smooth: true}} (a baseline that moves) "
                          f"or {{smooth: true, shocks: true}} on a geo panel; got {raw!r}")
    _no_unknown(raw, ("smooth", "shocks", "kernel", "n_basis", "priors"), source, "model.baseline")
    if not isinstance(raw.get("smooth", False), bool):
        raise ConfigError(f"{source}: model.baseline.smooth must be true or false (unquoted); got {raw['smooth']!r}")
    if not (isinstance(raw.get("shocks", False), bool) or raw.get("shocks") == "auto"):
        raise ConfigError(f"{source}: model.baseline.shocks must be true, false (unquoted) or auto (on when the data "
                          f"has several geos); got {raw['shocks']!r}")
    n_basis = raw.get("n_basis", "auto")
    if n_basis != "auto" and (not isinstance(n_basis, Integral) or isinstance(n_basis, bool) or not 4 <= n_basis <= 200):
        raise ConfigError(f"{source}: model.baseline.n_basis must be auto (the default: enough to resolve changes "
                          f"over ~10 weeks, 26 for three years) or a whole number 4..200; got {n_basis!r}")
    kernel = raw.get("kernel", "exp_quad")
    if kernel not in SMOOTH_KERNELS:
        raise ConfigError(f"{source}: model.baseline.kernel must be one of {', '.join(SMOOTH_KERNELS)} (the smooth "
                          f"component's covariance; matern32 follows rougher drifts); got {kernel!r}")
    if not raw.get("smooth", False) and (kernel != "exp_quad" or n_basis != "auto"):
        raise ConfigError(f"{source}: model.baseline.kernel and n_basis shape the smooth component, which is off; "
                          "set model.baseline.smooth: true, or remove them")
    shocks = raw.get("shocks", "auto" if panel else False)
    if shocks is True and not panel:
        raise ConfigError(f"{source}: model.baseline.shocks needs a geo panel (data.geo): with one series a "
                          "per-period shock cannot be told from noise; use model.baseline.smooth for national data")
    priors = _priors(raw.get("priors") or {}, tuple(DEFAULT_BASELINE_PRIORS), source, "model.baseline.priors")
    for name, prior in priors.items():
        if not prior.fits("positive"):
            raise ConfigError(f"{source}: model.baseline.priors.{name}: {prior.dist} can draw values <= 0; "
                              f"{name} must be positive (e.g. HalfNormal, LogNormal, Gamma)")
    return BaselineOptions(smooth=raw.get("smooth", False), shocks=shocks, kernel=kernel,
                           n_basis=None if n_basis == "auto" else int(n_basis), priors=priors)


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
    keyed = ("gross_margin", "value_per_kpi", "clv", "discount_rate")
    _no_unknown(raw, ("currency", "hurdle_rate", "owner", "gross_margin_by_channel", "gross_margin_by_channel_source",
                      *keyed, *(f"{k}_source" for k in keyed)), source, "finance")
    raw, channel_margins, channel_sources = _margins_by_channel(raw, channels, source)
    margin, margin_source = _finance_value(raw, "gross_margin", source)
    value, value_source = _finance_value(raw, "value_per_kpi", source)
    clv, clv_source = _finance_value(raw, "clv", source)
    discount_rate, discount_source = _finance_value(raw, "discount_rate", source)
    if discount_rate is not None and not 0 <= discount_rate < 1:
        raise ConfigError(f"{source}: finance.discount_rate is an annual rate as a decimal share in [0, 1), e.g. "
                          f"0.08 for 8% a year; got {discount_rate!r}")
    if margin is not None and not 0 < margin <= 1:
        raise ConfigError(f"{source}: finance.gross_margin is a share in (0, 1], e.g. 0.6; got {margin!r}")
    if kpi_type == "revenue" and value not in (None, 1.0):
        raise ConfigError(f"{source}: data.kpi_type is revenue, so each KPI unit is worth 1; remove "
                          f"finance.value_per_kpi or set data.kpi_type: count")
    if kpi_type == "count" and value is None:
        raise ConfigError(f"{source}: data.kpi_type is count, so finance.value_per_kpi (currency per KPI unit, "
                          f"e.g. average order value) is required to turn KPI into revenue: add it under finance "
                          f"(e.g. value_per_kpi: {{value: 45, source: \"FY25 AOV\"}}), or set data.kpi_type: revenue "
                          f"if the KPI is already in currency")
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
        discount_rate=discount_rate,
        discount_rate_source=discount_source,
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


def parse_fit(raw: Mapping, source: str) -> FitSpec:
    _no_unknown(raw, tuple(FitSpec.__dataclass_fields__), source, "fit")
    merged = {**fit_as_dict(FitSpec()), **raw}
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
    workers = merged["candidate_workers"]
    if workers != "auto" and (not _is_whole(workers) or workers < 1):
        raise ConfigError(f"{source}: fit.candidate_workers must be auto (cores // chains) or a whole number >= 1; "
                          f"got {workers!r}")
    return FitSpec(draws=int(merged["draws"]), tune=int(merged["tune"]), chains=int(merged["chains"]),
                   seed=int(merged["seed"]), sampler=merged["sampler"], target_accept=target_accept,
                   adaptation=merged["adaptation"], thin=int(merged["thin"]),
                   posterior_dtype=merged["posterior_dtype"],
                   candidate_workers=workers if workers == "auto" else int(workers))


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
