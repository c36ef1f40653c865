"""Synthetic marketing-mix data with a known ground truth.

:func:`generate` simulates spend, controls and a KPI from the model ``mmm`` fits, for national
data (``n_geos=1``) or a panel of geos (each geo one such series with its own size, spend mix and
true ROAS; the national truth sums over geos), and records the true parameters and the true
figures (docs/figures.md: incremental KPI, ROAS, profit ROI, mROAS, immediate share, payback) in
``truth.json``. The truth is computed with plain per-period loops (:mod:`mmm.data.synth_truth`), on
purpose apart from the package's vectorized transforms, so tests can check one against the other.

Units: spend in currency per period; the KPI (``revenue``) in currency per
period; "scaled spend" is spend divided by its mean over the data. Baseline knobs
(``intercept``, ``trend``) are in units of ``kpi_scale``; ``truth.json`` states
every parameter in natural KPI units and in model units (divided by the mean
observed KPI, the scaling the model uses).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from mmm.atomic import write_text_atomically
from mmm.data import synth_drivers
from mmm.data.design import fourier_names
from mmm.spec.sections import WEEKLY_ORDER_DAILY
from mmm.data.synth_truth import adstock_weights, carryover, effect_multiplier, saturate, true_figures

KPI_COLUMN = "revenue"
GEO_COLUMN = "geo"  # panels only
POPULATION_COLUMN = "population"
DAYS_PER_YEAR = 365.25
EPOCH = pd.Timestamp("1970-01-01")
ADSTOCK_PARAMS = {"geometric": ("alpha",), "delayed": ("alpha", "theta"), "weibull": ("shape", "scale")}
SATURATION_PARAMS = {"hill": ("half_saturation", "slope"), "logistic": ("lam",)}
PATTERNS = ("always_on", "flighted", "pulsed", "seasonal")
# Control effects in kpi_scale units per standard deviation of the control.
CONTROL_EFFECTS = {"price_index": -0.03, "promo": 0.02}

# Built-in channels: pattern, spend level (currency per week), true full-window ROAS, then
# true params: geometric alpha, delayed (alpha, theta), weibull (shape, scale),
# hill (half_saturation in scaled spend, slope), logistic lam.
BUILTIN_CHANNELS: dict[str, tuple] = {
    "tv": ("flighted", 50_000.0, 1.4, 0.7, (0.7, 2.0), (1.5, 3.0), (1.2, 1.4), 0.8),
    "search": ("always_on", 30_000.0, 4.0, 0.2, (0.3, 0.0), (1.0, 0.8), (0.8, 0.8), 1.5),
    "social": ("pulsed", 10_000.0, 0.8, 0.4, (0.5, 1.0), (1.0, 1.5), (3.0, 1.0), 0.4),
    "display": ("seasonal", 6_000.0, 2.2, 0.3, (0.4, 1.0), (1.5, 1.2), (1.0, 1.0), 1.0),
    "radio": ("always_on", 15_000.0, 1.8, 0.5, (0.6, 1.0), (1.2, 2.0), (1.0, 0.9), 0.8),
    "ooh": ("flighted", 4_000.0, 1.1, 0.6, (0.6, 2.0), (2.0, 2.5), (1.5, 1.0), 0.7),
}


def _builtin_params(name: str, kind: str) -> dict[str, float]:
    """Built-in true params of transform ``kind`` for channel ``name`` (tv's for other names)."""
    _, _, _, alpha, delayed, weibull, hill, lam = BUILTIN_CHANNELS.get(name, BUILTIN_CHANNELS["tv"])
    values = {"geometric": (alpha,), "delayed": delayed, "weibull": weibull, "hill": hill, "logistic": (lam,)}
    return dict(zip({**ADSTOCK_PARAMS, **SATURATION_PARAMS}[kind], values[kind]))


@dataclass
class ChannelTruth:
    """One channel's true spend pattern, transforms and effect size.

    Give ``coef`` (KPI units per period at full saturation) or ``target_roas``
    (then ``coef`` is set so the channel's full-window ROAS equals it exactly).
    ``level`` is the mean spend in currency per *week* (divided by 7 for daily data).
    ``adstock_params``/``saturation_params`` default to the built-in values for the kind.
    """

    name: str
    spend_column: str | None = None  # default: f"{name}_spend"
    pattern: str = "always_on"
    level: float = 10_000.0
    adstock: str = "geometric"
    adstock_params: dict[str, float] | None = None
    saturation: str = "logistic"
    saturation_params: dict[str, float] | None = None
    coef: float | None = None
    max_lag: int = 8
    target_roas: float | None = None
    # the channel's effect is multiplied by `effect_change_factor` from period `effect_change_period` (0-based)
    # on, e.g. a creative that works better in a new quarter; None: a constant effect
    effect_change_period: int | None = None
    effect_change_factor: float = 1.0
    # "seasonal" pattern only: how closely spend follows the baseline's season (amplitude of the
    # seasonal swing, and the sd of the log-normal jitter around it); larger/smaller = more confounded
    season_amplitude: float = 0.7
    season_jitter: float = 0.15
    # Exposure (impressions, clicks, GRPs) drives the effect when `exposure_cost` (mean currency per unit)
    # is given: a column f"{name}_exposure" = spend / cost per unit, the cost moving over time (an AR(1)
    # on its log with sd `exposure_cost_drift`, plus a yearly swing of 15%), so spend and exposure differ
    exposure_cost: float | None = None
    exposure_cost_drift: float = 0.25
    # Reach and frequency (needs exposure_cost: the impressions spend buys): each period's impressions are
    # split into reach x frequency, the frequency log-normal around `frequency_level` (at least 1); the
    # effect is adstock(reach / its mean x saturation(frequency / frequency_level)), linear in reach, with
    # `saturation`/`saturation_params` the frequency curve (Meridian's form). Columns f"{name}_reach" and
    # f"{name}_frequency" replace the exposure column.
    reach_frequency: bool = False
    frequency_level: float = 3.0


@dataclass
class SynthSpec:
    """Every knob of the simulation. ``channels`` overrides ``n_channels``,
    ``adstock``, ``saturation`` and ``max_lag`` (those shape the built-in set:
    tv, search, social, display, radio, ooh, in that order)."""

    n_periods: int = 156
    freq: str = "W"  # "W" weekly or "D" daily
    start: str = "2021-01-04"
    n_channels: int = 4
    channels: list[ChannelTruth] | None = None
    adstock: str = "geometric"
    saturation: str = "logistic"
    max_lag: int = 8  # periods
    seasonality_order: int = 2
    kpi_scale: float = 1_000_000.0  # currency per week; baseline knobs are in these units
    intercept: float = 0.75  # kpi_scale units
    trend: float = 0.05  # kpi_scale units per year
    noise: float = 0.06  # noise scale as a fraction of the mean expected KPI
    likelihood: str = "normal"  # or "student_t"
    nu: float = 5.0  # Student-t degrees of freedom (student_t only)
    controls: bool = True
    # A baseline that moves, in kpi_scale units; shared by all geos of a panel (each geo in its own size).
    # Deliberately not the model's form (a Hilbert-space GP): an AR(1) with weekly persistence 0.95 whose
    # stationary sd is baseline_drift, plus independent per-period shocks of sd common_shocks.
    baseline_drift: float = 0.0
    common_shocks: float = 0.0
    gross_margin: float = 0.6
    seed: int = 0
    # Geos: 1 is national data (no geo column); more is a panel of series sharing the calendar,
    # adstock and saturation, each with its own size, spend mix, true ROAS and noise
    n_geos: int = 1
    geo_size_spread: float = 0.5  # log-sd of geo size (KPI and spend scale together; population follows)
    geo_roas_spread: float = 0.2  # log-sd of each geo's true ROAS around the channel's
    geo_mix_spread: float = 0.3  # log-sd of each geo's spend level per channel around its size
    # Other drivers (mmm.data.synth_drivers), each with its true contribution in truth["components"]:
    # Black Friday and Christmas with a window and a size that varies by year; an organic newsletter on an
    # S-shaped curve; and promo reported as a treatment against no promotion (it leaves the controls)
    events: bool = False
    organic: bool = False
    promo_treatment: bool = False


@dataclass
class SynthResult:
    """``data`` as written to data.csv, ``config`` as config.yaml, ``truth`` as truth.json."""

    data: pd.DataFrame
    config: dict[str, Any]
    truth: dict[str, Any]


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise ValueError(message)


def _fourier_coefs(order: int) -> dict[str, float]:
    """True seasonal amplitudes in kpi_scale units, decaying with the harmonic."""
    coefs = {}
    for j in range(1, order + 1):
        coefs[f"sin_{j}"] = 0.08 / j
        coefs[f"cos_{j}"] = 0.05 * (-1) ** (j + 1) / j
    return coefs


def _resolve_channels(spec: SynthSpec) -> list[ChannelTruth]:
    """Channels with every default filled in and checked; ``coef`` may still be None."""
    if spec.channels is None:
        _check(1 <= spec.n_channels <= len(BUILTIN_CHANNELS),
               f"n_channels must be 1..{len(BUILTIN_CHANNELS)} for the built-in set; got {spec.n_channels}. "
               "Pass `channels` for more.")
        channels = [ChannelTruth(name, pattern=row[0], level=row[1], target_roas=row[2], adstock=spec.adstock,
                                 saturation=spec.saturation, max_lag=spec.max_lag)
                    for name, row in list(BUILTIN_CHANNELS.items())[: spec.n_channels]]
    else:
        channels = [c if isinstance(c, ChannelTruth) else ChannelTruth(**c) for c in spec.channels]
    resolved = []
    for ch in channels:
        where = f"channel {ch.name!r}"
        _check(ch.adstock in ADSTOCK_PARAMS, f"{where}: adstock must be one of {sorted(ADSTOCK_PARAMS)}")
        _check(ch.saturation in SATURATION_PARAMS,
               f"{where}: saturation must be one of {sorted(SATURATION_PARAMS)}")
        _check(ch.pattern in PATTERNS, f"{where}: pattern must be one of {PATTERNS}; got {ch.pattern!r}")
        _check((ch.coef is None) != (ch.target_roas is None), f"{where}: give exactly one of coef, target_roas")
        _check(ch.level > 0 and ch.max_lag >= 1, f"{where}: level must be > 0 and max_lag >= 1")
        ad = dict(ch.adstock_params if ch.adstock_params is not None else _builtin_params(ch.name, ch.adstock))
        sat = dict(ch.saturation_params if ch.saturation_params is not None
                   else _builtin_params(ch.name, ch.saturation))
        _check(sorted(ad) == sorted(ADSTOCK_PARAMS[ch.adstock]),
               f"{where}: {ch.adstock} adstock takes params {ADSTOCK_PARAMS[ch.adstock]}; got {sorted(ad)}")
        _check(sorted(sat) == sorted(SATURATION_PARAMS[ch.saturation]),
               f"{where}: {ch.saturation} saturation takes params {SATURATION_PARAMS[ch.saturation]}; "
               f"got {sorted(sat)}")
        _check(all(v > 0 for v in sat.values()), f"{where}: saturation params must be > 0; got {sat}")
        _check(ch.effect_change_factor > 0 and (ch.effect_change_period is None or ch.effect_change_period >= 0),
               f"{where}: effect_change_factor must be > 0 and effect_change_period >= 0")
        _check(ch.exposure_cost is None or (ch.exposure_cost > 0 and ch.exposure_cost_drift >= 0),
               f"{where}: exposure_cost must be > 0 and exposure_cost_drift >= 0")
        _check(not ch.reach_frequency or (ch.exposure_cost is not None and ch.frequency_level >= 1),
               f"{where}: reach_frequency needs exposure_cost (the impressions spend buys) and frequency_level >= 1")
        resolved.append(replace(ch, spend_column=ch.spend_column or f"{ch.name}_spend",
                                adstock_params={k: float(v) for k, v in ad.items()},
                                saturation_params={k: float(v) for k, v in sat.items()}))
    names = [c.name for c in resolved] + [c.spend_column for c in resolved]
    _check(len(set(names)) == len(names) and resolved, "channel names and spend columns must be unique")
    return resolved


def _spend_pattern(ch: ChannelTruth, level: float, season: np.ndarray, per_week: int,
                   rng: np.random.Generator) -> np.ndarray:
    """Spend in currency per period, averaging about ``level``."""
    n = len(season)
    if ch.pattern == "always_on":
        return level * rng.lognormal(-0.25**2 / 2, 0.25, n)
    if ch.pattern == "flighted":  # on/off bursts of 3-8 weeks on, 2-6 weeks off
        on, t, state = np.zeros(n, dtype=bool), 0, bool(rng.random() < 0.5)
        while t < n:
            length = int(rng.integers(3, 9) if state else rng.integers(2, 7)) * per_week
            on[t : t + length] = state
            t, state = t + length, not state
        if not on.any():
            on[: 4 * per_week] = True
        return np.where(on, level * n / on.sum() * rng.lognormal(-0.02, 0.2, n), 0.0)
    if ch.pattern == "pulsed":  # single-period spikes, none in between
        spikes = rng.random(n) < 0.15 / per_week
        if spikes.sum() < 2:
            spikes[[n // 3, 2 * n // 3]] = True
        return np.where(spikes, level * n / spikes.sum() * rng.lognormal(-0.045, 0.3, n), 0.0)
    shape = season / max(np.max(np.abs(season)), 1e-12)  # seasonal: follows the baseline's season
    jitter = ch.season_jitter
    return level * np.clip(1.0 + ch.season_amplitude * shape, 0.05, None) * rng.lognormal(-jitter**2 / 2, jitter, n)


def generate(spec: SynthSpec) -> SynthResult:
    """Simulate one dataset from ``spec``: national data (``n_geos=1``) or a panel of ``n_geos`` geos.
    The random stream is fixed by ``spec.seed``; ``SynthSpec(**truth["spec"])`` simulates it again.

    Returns
    -------
    SynthResult
        ``data`` (date, revenue, one spend column per channel in currency per period,
        then price_index and promo; a panel adds ``geo`` first and ``population`` last),
        the package ``config`` and the ``truth``.
    """
    _check(isinstance(spec.n_geos, int) and spec.n_geos >= 1, f"n_geos must be a whole number >= 1; got {spec.n_geos!r}")
    return _series(spec) if spec.n_geos == 1 else _panel(spec)


def _series(spec: SynthSpec, movement: np.ndarray | None = None) -> SynthResult:
    """One series (national data, or one geo of a panel, which passes the panel's baseline ``movement``)."""
    _check(spec.freq in ("W", "D"), f"freq must be 'W' (weekly) or 'D' (daily); got {spec.freq!r}")
    _check(spec.likelihood in ("normal", "student_t"),
           f"likelihood must be 'normal' or 'student_t'; got {spec.likelihood!r}")
    _check(spec.n_periods >= 8 and spec.seasonality_order >= 0 and spec.noise >= 0,
           "need n_periods >= 8, seasonality_order >= 0 and noise >= 0")
    _check(spec.baseline_drift >= 0 and spec.common_shocks >= 0, "baseline_drift and common_shocks must be >= 0")
    channels = _resolve_channels(spec)
    rng = np.random.default_rng(spec.seed)
    per_week = 1 if spec.freq == "W" else 7
    n = spec.n_periods
    dates = pd.DatetimeIndex(pd.Timestamp(spec.start) + pd.to_timedelta(np.arange(n) * 7 // per_week, unit="D"))
    kpi_scale = spec.kpi_scale / per_week  # currency per period
    years = np.asarray((dates - dates[0]).days, dtype=float) / DAYS_PER_YEAR
    days = np.asarray((dates - EPOCH).days, dtype=float)
    fourier = _fourier_coefs(spec.seasonality_order)
    season = np.zeros(n)
    for name, value in fourier.items():
        kind, j = name.split("_")
        season += value * (np.sin if kind == "sin" else np.cos)(2 * np.pi * int(j) * days / DAYS_PER_YEAR)
    season_driver = season if spec.seasonality_order else np.sin(2 * np.pi * days / DAYS_PER_YEAR)
    # Rounded to cents before anything is derived, so data.csv reproduces every number.
    spend = {ch.name: np.round(_spend_pattern(ch, ch.level / per_week, season_driver, per_week, rng), 2)
             for ch in channels}

    raw_controls: dict[str, np.ndarray] = {}
    if spec.controls:
        drift = np.zeros(n)
        for t, shock in enumerate(rng.normal(0.0, 0.01, n)):
            drift[t] = (0.8 * drift[t - 1] if t else 0.0) + shock
        promo = (rng.random(n) < 0.1).astype(int)
        promo[[n // 2, n // 4]] = 1  # both values present, so promo can be standardized
        promo[-1] = 0
        raw_controls = {"price_index": np.round(1.0 + drift, 4), "promo": promo}
    center = {c: float(v.mean()) for c, v in raw_controls.items()}
    spread = {c: float(v.std()) for c, v in raw_controls.items()}  # ddof=0
    if movement is None:
        movement = _movement(spec, n, per_week)
    baseline_units = spec.intercept + spec.trend * years + season + movement
    for c, v in raw_controls.items():
        baseline_units = baseline_units + CONTROL_EFFECTS[c] * (v - center[c]) / spread[c]

    components: dict[str, tuple[str, np.ndarray]] = {}  # name -> (kind, (T,) KPI units)
    event_entries: list[dict[str, Any]] = []
    organic_exposure = None
    if spec.events:
        event_parts, event_entries = synth_drivers.simulate_events(dates, kpi_scale, spec.seed)
        components |= {name: ("event", values) for name, values in event_parts.items()}
    if spec.organic:
        organic_exposure, organic_part = synth_drivers.simulate_organic(season_driver, kpi_scale, spec.seed)
        components[synth_drivers.ORGANIC["name"]] = ("organic", organic_part)
    other_drivers = sum((values for _, values in components.values()), np.zeros(n))
    if spec.promo_treatment:  # already in the baseline as a control; its truth is counted from no promotion
        _check(spec.controls, "promo_treatment needs controls=True (promo is one of them)")
        components["promo"] = ("treatment", synth_drivers.promo_contribution(
            raw_controls["promo"], CONTROL_EFFECTS["promo"], spread["promo"], kpi_scale))

    mu = kpi_scale * baseline_units + other_drivers
    coefs, spend_scale = {}, {}
    exposure = {ch.name: _exposure(spend[ch.name], ch, days, spec.seed, k)
                for k, ch in enumerate(channels) if ch.exposure_cost is not None}
    frequency = {ch.name: _frequency(exposure[ch.name], ch, spec.seed, k)
                 for k, ch in enumerate(channels) if ch.reach_frequency}
    for name, values in frequency.items():  # the impressions become reach x frequency
        exposure[name] = np.round(np.divide(exposure[name], values, out=np.zeros(n), where=values > 0), 0)
    exposure_scale = {name: float(values.mean()) for name, values in exposure.items()}
    for ch in channels:
        spend_scale[ch.name] = float(spend[ch.name].mean())
        weights = adstock_weights(ch.adstock, ch.adstock_params, ch.max_lag)
        media_input = (exposure[ch.name] / exposure_scale[ch.name] if ch.name in exposure
                       else spend[ch.name] / spend_scale[ch.name])
        if ch.reach_frequency:  # reach x the frequency curve, then the adstock; linear after it
            media_input = media_input * saturate(ch.saturation, ch.saturation_params,
                                                 frequency[ch.name] / ch.frequency_level)
        adstocked = carryover(media_input, weights, n + ch.max_lag - 1)
        saturation = (adstocked if ch.reach_frequency else saturate(ch.saturation, ch.saturation_params, adstocked)
                      ) * effect_multiplier({"effect_change": _effect_change(ch)}, len(adstocked))
        coefs[ch.name] = float(ch.coef if ch.coef is not None
                               else ch.target_roas * spend[ch.name].sum() / saturation.sum())
        mu = mu + coefs[ch.name] * saturation[:n]
    sigma = spec.noise * float(mu.mean())
    shocks = rng.standard_normal(n) if spec.likelihood == "normal" else rng.standard_t(spec.nu, n)
    kpi = np.round(mu + sigma * shocks, 2)

    data = pd.DataFrame({"date": dates, KPI_COLUMN: kpi, **{ch.spend_column: spend[ch.name] for ch in channels},
                         **{f"{name}_{'reach' if name in frequency else 'exposure'}": values
                            for name, values in exposure.items()},
                         **{f"{name}_frequency": values for name, values in frequency.items()},
                         **({} if organic_exposure is None else {synth_drivers.ORGANIC["column"]: organic_exposure}),
                         **raw_controls})
    model_scale = float(kpi.mean())
    natural = {
        "intercept": spec.intercept * kpi_scale, "trend": spec.trend * kpi_scale,
        # daily data: the model's day-of-week terms (model.seasonality.weekly auto), whose truth here is none
        "fourier": {k: v * kpi_scale for k, v in fourier.items()}
        | ({name: 0.0 for name in fourier_names(0, WEEKLY_ORDER_DAILY)} if spec.freq == "D" else {}),
        "control_coef": {c: CONTROL_EFFECTS[c] * kpi_scale for c in raw_controls},
        "sigma": sigma, "nu": float(spec.nu) if spec.likelihood == "student_t" else None,
        "channels": {ch.name: {"spend_column": ch.spend_column, "adstock": ch.adstock,
                               "adstock_params": ch.adstock_params, "saturation": ch.saturation,
                               "saturation_params": ch.saturation_params, "coef": coefs[ch.name],
                               "max_lag": ch.max_lag, **({"effect_change": _effect_change(ch)}
                                                         if _effect_change(ch) else {}),
                               **({"exposure_column": f"{ch.name}_exposure"}
                                  if ch.name in exposure and not ch.reach_frequency else {}),
                               **({"saturation": "linear", "reach_column": f"{ch.name}_reach",
                                   "frequency_column": f"{ch.name}_frequency", "frequency_level": ch.frequency_level,
                                   "frequency_saturation": ch.saturation} if ch.reach_frequency else {})}
                     for ch in channels},
    }

    def per_mean_kpi(values: dict[str, float]) -> dict[str, float]:
        return {k: v / model_scale for k, v in values.items()}

    if movement.any():  # the baseline's movement per period, KPI units (natural) and model units (params)
        natural["baseline_movement"] = [float(v) for v in kpi_scale * movement]
    params = {  # model units: KPI-unit quantities divided by the mean observed KPI
        "intercept": natural["intercept"] / model_scale, "trend": natural["trend"] / model_scale,
        "fourier": per_mean_kpi(natural["fourier"]), "control_coef": per_mean_kpi(natural["control_coef"]),
        "sigma": sigma / model_scale, "nu": natural["nu"],
        "channels": {k: {**c, "coef": c["coef"] / model_scale} for k, c in natural["channels"].items()},
    }
    if "baseline_movement" in natural:
        params["baseline_movement"] = [v / model_scale for v in natural["baseline_movement"]]
    truth: dict[str, Any] = {
        "seed": spec.seed,
        "spec": asdict(spec),
        "scaling": {"kpi": model_scale, "spend": spend_scale, **({"exposure": exposure_scale} if exposure else {}),
                    "control_center": center,
                    "control_scale": spread, "time_origin": dates[0].strftime("%Y-%m-%d")},
        "params": params,
        "params_natural": {"kpi_scale": kpi_scale, **natural},
        "window": {"start": dates[0].strftime("%Y-%m-%d"), "end": dates[-1].strftime("%Y-%m-%d")},
    }
    truth["figures"] = true_figures(data, truth, gross_margin=spec.gross_margin)
    truth["media_share"] = float(1.0 - (kpi_scale * baseline_units + other_drivers).sum() / mu.sum())
    if components:
        truth["components"] = {name: {"kind": kind, "contribution": float(values.sum()),
                                      "per_period": [float(v) for v in values]}
                               for name, (kind, values) in components.items()}
    truth["mu"] = [float(v) for v in mu]

    config = {
        "name": f"synthetic-seed{spec.seed}",
        "data": {"path": "data.csv", "date": "date", "kpi": KPI_COLUMN, "kpi_type": "revenue"},
        "channels": {ch.name: {"spend": ch.spend_column,
                               **({"reach": f"{ch.name}_reach", "frequency": f"{ch.name}_frequency"}
                                  if ch.reach_frequency else
                                  {"exposure": f"{ch.name}_exposure"} if ch.name in exposure else {}),
                               "adstock": ch.adstock, "saturation": ch.saturation, "max_lag": ch.max_lag}
                     for ch in channels},
        "controls": [c for c in raw_controls if not (spec.promo_treatment and c == "promo")],
        **({"treatments": {"promo": {"column": "promo", "reference": 0}}} if spec.promo_treatment else {}),
        **({"events": event_entries} if event_entries else {}),
        **({"organic": {synth_drivers.ORGANIC["name"]: {"column": synth_drivers.ORGANIC["column"]}}}
           if spec.organic else {}),
        "model": {"trend": True, "seasonality": {"order": spec.seasonality_order}, "likelihood": spec.likelihood},
        "finance": {"currency": "USD", "gross_margin": spec.gross_margin, "gross_margin_source": "synthetic truth"},
        "fit": {"draws": 500, "tune": 500, "chains": 4, "seed": spec.seed},
    }
    return SynthResult(data=data, config=config, truth=truth)


def _exposure(spend: np.ndarray, ch: ChannelTruth, days: np.ndarray, seed: int, k: int) -> np.ndarray:
    """Units of exposure the spend bought, at a cost per unit that drifts and swings with the year."""
    rng = np.random.default_rng([seed, 13, k])  # its own stream: the other draws stay as they were
    n = len(spend)
    drift = np.empty(n)
    drift[0] = rng.normal(0.0, ch.exposure_cost_drift)
    steps = rng.normal(0.0, ch.exposure_cost_drift * np.sqrt(1 - 0.9 ** 2), n)
    for t in range(1, n):
        drift[t] = 0.9 * drift[t - 1] + steps[t]
    cost = ch.exposure_cost * np.exp(drift + 0.15 * np.sin(2 * np.pi * days / DAYS_PER_YEAR))
    return np.round(spend / cost, 0)


def _frequency(impressions: np.ndarray, ch: ChannelTruth, seed: int, k: int) -> np.ndarray:
    """Average frequency per period (at least 1 where there were impressions, 0 where none)."""
    rng = np.random.default_rng([seed, 23, k])  # its own stream: the other draws stay as they were
    level = ch.frequency_level * rng.lognormal(-0.3 ** 2 / 2, 0.3, len(impressions))
    return np.where(impressions > 0, np.round(np.maximum(level, 1.0), 3), 0.0)


def _movement(spec: SynthSpec, n: int, per_week: int) -> np.ndarray:
    """(T,) baseline movement in kpi_scale units: a stationary AR(1) plus independent shocks."""
    if not (spec.baseline_drift or spec.common_shocks):
        return np.zeros(n)
    rng = np.random.default_rng([spec.seed, 11])  # its own stream: the other draws stay as they were
    persistence = 0.95 ** (1.0 / per_week)
    innovations = rng.normal(0.0, spec.baseline_drift * np.sqrt(1.0 - persistence ** 2), n)
    drift = np.empty(n)
    drift[0] = rng.normal(0.0, spec.baseline_drift)
    for t in range(1, n):
        drift[t] = persistence * drift[t - 1] + innovations[t]
    return drift + rng.normal(0.0, spec.common_shocks, n)


def _panel(spec: SynthSpec) -> SynthResult:
    """Each geo is one series of :func:`_series` (its own spend patterns and noise) with a geo size, a
    geo-specific spend mix and a geo-specific true ROAS per channel around the channel's; adstock and
    saturation are shared, as in the model's default. Each geo's truth comes from
    :func:`true_figures`; the national truth sums incremental KPI and spend over geos (ROAS = sum of
    incremental value / sum of spend)."""
    _check(min(spec.geo_size_spread, spec.geo_roas_spread, spec.geo_mix_spread) >= 0,
           "geo_size_spread, geo_roas_spread and geo_mix_spread must be >= 0")
    n_geos = spec.n_geos
    rng = np.random.default_rng([spec.seed, 7])
    base = _resolve_channels(spec)
    _check(all(ch.target_roas is not None for ch in base),
           "a panel spreads each channel's true ROAS over geos: give target_roas, not coef, for every channel")
    size = np.exp(rng.normal(0.0, spec.geo_size_spread, n_geos))
    size = size / size.mean()
    roas_dev = np.exp(rng.normal(0.0, spec.geo_roas_spread, (n_geos, len(base))))
    mix = np.exp(rng.normal(0.0, spec.geo_mix_spread, (n_geos, len(base))))
    intercept = spec.intercept * np.exp(rng.normal(0.0, 0.1, n_geos))
    names = [f"geo_{g:03d}" for g in range(n_geos)]
    movement = _movement(spec, spec.n_periods, 1 if spec.freq == "W" else 7)  # the same weeks move every geo
    frames, geo_truth = [], {}
    components: dict[str, tuple[str, list]] = {}
    for g, name in enumerate(names):
        channels = [replace(ch, level=ch.level * size[g] * mix[g, k], target_roas=ch.target_roas * roas_dev[g, k])
                    for k, ch in enumerate(base)]
        one = _series(replace(spec, channels=channels, kpi_scale=spec.kpi_scale * size[g],
                              intercept=float(intercept[g]), seed=spec.seed * 100_003 + g, n_geos=1), movement)
        frame = one.data.copy()
        frame.insert(0, GEO_COLUMN, name)
        frame[POPULATION_COLUMN] = round(float(size[g]) * 1_000_000)
        frames.append(frame)
        geo_truth[name] = {"size": float(size[g]), "figures": one.truth["figures"], "params": one.truth["params"],
                           "scaling": one.truth["scaling"]}
        for part, entry in one.truth.get("components", {}).items():
            components.setdefault(part, (entry["kind"], []))[1].append(entry["per_period"])
    national = {}
    for ch in base:
        spend = sum(t["figures"][ch.name]["spend"] for t in geo_truth.values())
        inc = sum(t["figures"][ch.name]["incremental_kpi"] for t in geo_truth.values())
        immediate = sum(t["figures"][ch.name]["immediate_share"] * t["figures"][ch.name]["incremental_kpi"]
                        for t in geo_truth.values())
        national[ch.name] = {"spend": spend, "incremental_kpi": inc, "roas": inc / spend,
                             "profit_roi": inc / spend * spec.gross_margin - 1.0,
                             "immediate_share": immediate / inc}  # a share of the sum, never a mean of shares
    layout = _series(replace(spec, channels=base, n_geos=1))  # the national config layout
    config = {**layout.config, "name": f"synthetic-geo{n_geos}-seed{spec.seed}"}
    config["data"] = {**config["data"], "geo": GEO_COLUMN}
    truth: dict[str, Any] = {"seed": spec.seed, "n_geos": n_geos, "figures": national, "geos": geo_truth,
                             "window": layout.truth["window"], "spec": asdict(spec)}
    if components:  # national = sum over geos, per period
        truth["components"] = {name: {"kind": kind, "contribution": float(np.sum(parts, axis=0).sum()),
                                      "per_period": [float(v) for v in np.sum(parts, axis=0)]}
                               for name, (kind, parts) in components.items()}
    return SynthResult(data=pd.concat(frames, ignore_index=True), config=config, truth=truth)


def _effect_change(ch: ChannelTruth) -> dict[str, float] | None:
    if ch.effect_change_period is None or ch.effect_change_factor == 1.0:
        return None
    return {"period": int(ch.effect_change_period), "factor": float(ch.effect_change_factor)}


def write(result: SynthResult, out_dir: Path, *, force: bool = False) -> dict[str, Path]:
    """Write data.csv, config.yaml and truth.json into ``out_dir`` (created if missing), for national
    data or a panel.

    Each file is written to a temporary file and renamed into place. Existing files
    are never replaced unless ``force`` is true.

    Returns
    -------
    dict
        ``{"data": path, "config": path, "truth": path}``.
    """
    out_dir = Path(out_dir)
    paths = {"data": out_dir / "data.csv", "config": out_dir / "config.yaml", "truth": out_dir / "truth.json"}
    existing = [p.name for p in paths.values() if p.exists()]
    if existing and not force:
        raise FileExistsError(f"{out_dir}: {', '.join(existing)} already exist(s); refusing to overwrite. "
                              "Choose an empty output folder, or pass force=True (CLI: --force) to replace them.")
    out_dir.mkdir(parents=True, exist_ok=True)
    texts = {
        "data": result.data.to_csv(index=False, date_format="%Y-%m-%d", lineterminator="\n"),
        "config": yaml.safe_dump(result.config, sort_keys=False, default_flow_style=None),
        "truth": json.dumps(_finite(result.truth), indent=2, allow_nan=False) + "\n",
    }
    for key, path in paths.items():
        write_text_atomically(path, texts[key])
    return paths


def _finite(value: Any) -> Any:
    """``value`` with every non-finite float as None (JSON null): e.g. a geo's ROAS where it never spent."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
