"""The sections of a config (data, channels, model options, finance, fit, diagnostics) as frozen value
objects, with the defaults written in one place; :class:`mmm.spec.config.Config` holds them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Mapping
from typing import Any

import numpy as np

from mmm.spec.priors import Prior
from mmm.spec.transforms import ADSTOCK_SPECS as ADSTOCKS, SATURATION_SPECS as SATURATIONS

SAMPLERS = ("nutpie", "pymc", "numpyro", "blackjax")  # the last two: optional extra mmm[jax]
POSTERIOR_DTYPES = ("float64", "float32")
GEO_ADSTOCKS = ("shared", "geo")
ADAPTATIONS = ("diag", "low_rank")
LIKELIHOODS = ("normal", "student_t")
# paid media's effect: the same every period, or scaled by a smooth multiplier over time (mmm.model.media_effect)
MEDIA_EFFECTS = ("steady", "time_varying")

# Baseline priors, on the KPI divided by its mean (so the scaled KPI averages 1).
DEFAULT_MODEL_PRIORS: dict[str, Prior] = {
    "intercept": Prior("Normal", mu=0.7, sigma=0.5),
    "trend": Prior("Normal", mu=0.0, sigma=0.2),  # change per year
    "fourier": Prior("Normal", mu=0.0, sigma=0.2),
    "control_coef": Prior("Normal", mu=0.0, sigma=0.2),  # per standard deviation of the control
    "sigma": Prior("HalfNormal", sigma=0.25),
    "nu": Prior("Gamma", alpha=2.0, beta=0.1),
    # an event's effect in its period (and each period of its window), share of the mean KPI: a holiday week
    # 30% above or below normal is typical, a doubling far out
    "event_coef": Prior("Normal", mu=0.0, sigma=0.3),
    # model.media_effect: time_varying. The multiplier's log-scale spread: median ~0.2 (effects ~0.8-1.2x
    # their average), 95% under ~0.6; its length scale in years (median half a year, 90% within 0.26-0.97)
    "media_effect_amplitude": Prior("HalfNormal", sigma=0.3),
    "media_effect_lengthscale": Prior("LogNormal", mu=float(np.log(0.5)), sigma=0.4),
}
MEDIA_EFFECT_PRIORS = ("media_effect_amplitude", "media_effect_lengthscale")
# written into a resolved config only when the config uses them
OPTIONAL_MODEL_PRIORS = ("event_coef", *MEDIA_EFFECT_PRIORS)
# most an organic channel adds per period, share of the mean KPI (at full saturation): median ~0.2
DEFAULT_ORGANIC_COEF = Prior("HalfNormal", sigma=0.3)
TREATMENT_REFERENCES = ("min", "max", "mean")
# The default media prior: LogNormal on each channel's ROAS (mmm.model.roas_prior). Its median is "auto":
# the ROAS at which paid media would bring DEFAULT_MEDIA_SHARE of the KPI's value in the window, every channel
# alike (Meridian's default for KPIs without revenue works this way); a number sets it in business units. Its
# log-scale sd 1.0 puts the 99th percentile ~10x the median (Meridian: 0.9), so a precise experiment or strong
# data can win, while a channel the data cannot see stays near the median (1.2 let such channels drift to the
# tail and failed the convergence gate on bench/truth_suite.py's S-curve case).
# Carry-over lags when no config writes max_lag: 8 periods of weekly data, and the same 8 weeks of daily data
# (8 days cut a TV carry-over with a week's half-life to half its effect: bench/truth_suite.py's daily world
# came out 20-35% low)
DEFAULT_MAX_LAG = 8
DAILY_MAX_LAG = 56
# Daily data: the KPI's day-of-week pattern, as Fourier pairs of period 7 days (3 pairs fit any weekly shape
# of 7 days but one level); without them a weekday pattern is left in the noise
WEEKLY_ORDER_DAILY = 3
DEFAULT_MEDIA_ROAS_SCALE = "auto"
DEFAULT_MEDIA_SHARE = 0.15
DEFAULT_MEDIA_ROAS_SIGMA = 1.0
# which curve and carry-over shapes, and how much the baseline moves, are uncertain: by default the config is
# fitted beside one variant per choice and the figures are combined by stacking (mmm.spec.candidates)
DEFAULT_CANDIDATES = "auto"
# The frequency curve of a reach-and-frequency channel (frequency / its reach-weighted mean): S-shaped by
# default, as in Meridian (slope median 2, 90% within 1.0-3.9): one exposure rarely does the work of three;
# half-saturation near the usual frequency (90% within 0.44-2.3 x it)
REACH_FREQUENCY_PRIORS: dict[str, Prior] = {
    "half_saturation": Prior("LogNormal", mu=0.0, sigma=0.5),
    "slope": Prior("LogNormal", mu=0.7, sigma=0.4),
}
# A baseline that moves (mmm.model.baseline), model units (KPI / its mean) and years. Amplitude: a
# baseline wandering by ~10% of the KPI is typical, 30% far out. Length scale: median 0.4 years
# (~21 weeks), 90% within 11-40 weeks: slower than a media flight, faster than a linear trend.
# Shocks: a few percent of the KPI per period.
DEFAULT_BASELINE_PRIORS: dict[str, Prior] = {
    "amplitude": Prior("HalfNormal", sigma=0.1),
    "lengthscale": Prior("LogNormal", mu=float(np.log(0.4)), sigma=0.4),
    "shock_sd": Prior("HalfNormal", sigma=0.05),
}


def default_roas_prior(median: float, sigma: float = DEFAULT_MEDIA_ROAS_SIGMA) -> Prior:
    """The default prior on a channel's ROAS: LogNormal with that median and log-scale sd."""
    return Prior("LogNormal", mu=float(np.log(median)), sigma=float(sigma))


def default_coef_prior(spend_to_kpi: float, roas_median: float, value_per_kpi: float = 1.0,
                       sigma: float = DEFAULT_MEDIA_ROAS_SIGMA) -> Prior:
    """Default prior of a channel's coefficient (the most it adds per period, in mean-KPI units), for the
    channels whose effect has no ROAS prior (reach-and-frequency channels).

    LogNormal scaled by the channel's size: at the median, half saturation (saturation 0.5 at the
    channel's mean spend) means ROAS = ``roas_median``, with the default ROAS prior's heavy tail.

    Parameters
    ----------
    spend_to_kpi : float
        Channel's mean spend per period / mean KPI per period (from the run's scaling).
    value_per_kpi : float
        Currency per KPI unit (finance.value_per_kpi): ROAS is value over spend, so a KPI counted in units
        worth 0.035 each needs 1 / 0.035 times the KPI per unit of spend for the same ROAS.
    """
    return Prior("LogNormal", mu=float(np.log(2.0 * roas_median * spend_to_kpi / value_per_kpi)), sigma=float(sigma))


@dataclass(frozen=True)
class ChannelSpec:
    """One media channel: its columns, transforms and prior overrides."""

    name: str
    spend: str
    exposure: str | None = None
    adstock: str = "geometric"
    saturation: str = "logistic"
    max_lag: int = 8
    # no config wrote max_lag: daily data get DAILY_MAX_LAG (Config.for_frequency)
    max_lag_auto: bool = field(default=False, compare=False)
    priors: Mapping[str, Prior] = field(default_factory=dict)  # param name (or "coef") -> Prior
    roas_prior: Prior | None = None  # a prior on ROAS itself (mmm.model.roas_prior); replaces the coef prior
    # reach and frequency (Meridian's form): the effect is adstock(reach x saturation(frequency)), linear in
    # reach; ``exposure`` then names the reach column (what a plan buys at the recent cost per unit of reach)
    frequency: str | None = None

    @property
    def reach(self) -> str | None:
        """The reach column of a reach-and-frequency channel, else None."""
        return self.exposure if self.frequency else None

    def prior(self, param: str) -> Prior | None:
        """The prior for ``coef`` or a transform parameter: the override, else the default.

        ``coef`` without an override returns None: its default depends on the data's
        scale (see :func:`default_coef_prior`).
        """
        if param in self.priors:
            return self.priors[param]
        if param == "coef":
            return None
        if self.frequency and self.saturation == "hill" and param in REACH_FREQUENCY_PRIORS:
            return REACH_FREQUENCY_PRIORS[param]
        return transform_prior(self.adstock, self.saturation, param)

    def param_names(self) -> tuple[str, ...]:
        return transform_param_names(self.adstock, self.saturation)


def transform_prior(adstock: str, saturation: str, param: str) -> Prior:
    """The default prior of a transform parameter of an adstock and saturation pair."""
    for transform in (ADSTOCKS[adstock], SATURATIONS[saturation]):
        if param in transform.param_names:
            return transform.default_priors[param]
    raise KeyError(param)


def transform_param_names(adstock: str, saturation: str) -> tuple[str, ...]:
    """``coef`` and the transforms' parameters, in the order configs and posteriors list them."""
    return ("coef", *ADSTOCKS[adstock].param_names, *SATURATIONS[saturation].param_names)


@dataclass(frozen=True)
class OrganicSpec:
    """An organic channel: media with no spend (newsletters, organic social, PR reach), driven by its
    exposure column through adstock and saturation. Its contribution is reported with an interval; it
    has no ROAS and no plan."""

    name: str
    column: str
    adstock: str = "geometric"
    saturation: str = "logistic"
    max_lag: int = 8
    # no config wrote max_lag: daily data get DAILY_MAX_LAG (Config.for_frequency)
    max_lag_auto: bool = field(default=False, compare=False)
    priors: Mapping[str, Prior] = field(default_factory=dict)  # "coef" or a transform parameter -> Prior

    def prior(self, param: str) -> Prior:
        if param in self.priors:
            return self.priors[param]
        if param == "coef":
            return DEFAULT_ORGANIC_COEF
        return transform_prior(self.adstock, self.saturation, param)

    def param_names(self) -> tuple[str, ...]:
        return transform_param_names(self.adstock, self.saturation)

    def to_dict(self) -> dict[str, Any]:
        return {"column": self.column, "adstock": self.adstock, "saturation": self.saturation,
                "max_lag": self.max_lag, "priors": {p: self.prior(p).to_dict() for p in self.param_names()}}


@dataclass(frozen=True)
class TreatmentSpec:
    """A non-media treatment (a promotion, a price): a column whose effect is reported as a contribution
    against a stated reference level, ``coef x (value - reference)`` (e.g. promo 0: what the promotions
    added; price at its minimum: what pricing above it cost). It enters the model like a control."""

    name: str
    column: str
    reference: float | str = "min"  # a number in the column's units, or min / max / mean over the data

    def reference_value(self, values: np.ndarray) -> float:
        """The reference level on ``values`` (every geo and period of the data)."""
        if isinstance(self.reference, str):
            return float(getattr(np, self.reference)(values))
        return float(self.reference)

    def to_dict(self) -> dict[str, Any]:
        return {"column": self.column, "reference": self.reference}


@dataclass(frozen=True)
class DesignOptions:
    """What the model's design needs from a config beyond the data: the seasonality and the events."""

    seasonality_order: int = 2
    events: tuple = ()  # mmm.spec.events.EventSpec
    # day-of-week Fourier pairs on daily data; "auto": WEEKLY_ORDER_DAILY on daily data, none on weekly
    weekly_order: int | str = "auto"


@dataclass(frozen=True)
class DataSpec:
    path: Path | None
    date: str
    kpi: str
    kpi_type: str = "revenue"
    geo: str | None = None
    min_periods: int | None = None
    population: str | None = None  # panels only: per-geo population column; KPI and spend are modeled per capita


SMOOTH_KERNELS = ("exp_quad", "matern32")  # covariances of the smooth baseline (mmm.model.baseline)


@dataclass(frozen=True)
class BaselineOptions:
    """A baseline that moves (:mod:`mmm.model.baseline`): per-period shocks by default on a panel, nothing
    by default on national data (docs/baseline-choice.md)."""

    smooth: bool = False  # a smooth time-varying component (Hilbert-space GP), shared by all geos
    # panels: one effect per period shared by all geos, with a learned spread; "auto" (a panel's default):
    # on when the data has several geos
    shocks: bool | str = False
    n_basis: int | None = None  # basis functions of the smooth component; None: from the data's span
    priors: Mapping[str, Prior] = field(default_factory=dict)  # amplitude, lengthscale, shock_sd
    kernel: str = "exp_quad"  # the smooth component's covariance: exp_quad or matern32

    def shocks_for(self, n_geos: int) -> bool:
        """Whether the model of ``n_geos`` geos has per-period shocks."""
        return self.shocks is True or (self.shocks == "auto" and n_geos > 1)

    def on_for(self, n_geos: int) -> bool:
        """Whether the model of ``n_geos`` geos has a baseline that moves."""
        return self.smooth or self.shocks_for(n_geos)

    @property
    def on(self) -> bool:
        """Whether the config asks for a moving baseline (shocks "auto" included)."""
        return self.smooth or bool(self.shocks)

    def prior(self, name: str) -> Prior:
        return self.priors.get(name, DEFAULT_BASELINE_PRIORS[name])


@dataclass(frozen=True)
class ModelOptions:
    trend: bool = True
    seasonality_order: int = 2
    weekly_order: int | str = "auto"  # day-of-week Fourier pairs (daily data): a number 0..3, or "auto"
    likelihood: str = "normal"
    media_effect: str = "steady"  # or "time_varying": a smooth multiplier on every paid channel's effect
    priors: Mapping[str, Prior] = field(default_factory=dict)
    media_roas_scale: float | str = DEFAULT_MEDIA_ROAS_SCALE  # the default ROAS prior's median, or "auto"
    media_share: float = DEFAULT_MEDIA_SHARE  # "auto": the share of the KPI's value paid media brings at the median
    media_roas_sigma: float = DEFAULT_MEDIA_ROAS_SIGMA  # the default ROAS prior's log-scale sd
    roas_prior: Prior | None = None  # default ROAS prior of channels without their own (mmm.model.roas_prior)
    # the "auto" median worked out from the data (mmm.model.roas_prior.resolve_media_scale); not a config key
    resolved_roas_scale: float | None = None
    # structural variants fitted beside this spec and combined by stacking (mmm.spec.candidates)
    candidates: str | tuple[Mapping[str, str], ...] = DEFAULT_CANDIDATES
    geo_adstock: str = "shared"  # panels: "shared" adstock across geos, or "geo" (one per geo and channel)
    baseline: BaselineOptions = BaselineOptions()

    def prior(self, name: str) -> Prior:
        return self.priors.get(name, DEFAULT_MODEL_PRIORS[name])

    @property
    def roas_median(self) -> float:
        """The default ROAS prior's median: the number written, else the one worked out from the data."""
        if self.media_roas_scale != "auto":
            return float(self.media_roas_scale)
        if self.resolved_roas_scale is None:
            raise RuntimeError("model.media_roas_scale is auto and was not worked out from the data yet; "
                               "call mmm.model.roas_prior.resolve_media_scale(config, panel) first")
        return self.resolved_roas_scale


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
    # annual rate lasting returns are discounted at, to the period of their spend; None: face value only
    discount_rate: float | None = None
    discount_rate_source: str | None = None

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
    # candidate specifications fitted at once (mmm.spec.candidates): "auto" = cores // chains (nutpie already
    # runs one fit's chains on separate cores, so side by side only pays where cores outnumber chains)
    candidate_workers: int | str = "auto"

    def workers(self, cores: int | None) -> int:
        """How many candidate fits run at once on a machine with ``cores`` cores."""
        if self.candidate_workers != "auto":
            return int(self.candidate_workers)
        return max(1, (cores or 1) // self.chains)


@dataclass(frozen=True)
class DiagnosticThresholds:
    max_rhat: float = 1.01
    min_ess_bulk_per_chain: float = 100.0
    max_divergences: int = 0


def fit_as_dict(fit: FitSpec) -> dict[str, Any]:
    return {k: getattr(fit, k) for k in FitSpec.__dataclass_fields__}


def baseline_as_dict(baseline: BaselineOptions) -> dict[str, Any]:
    """``model.baseline`` as written in a run's config.yaml, every prior spelled out."""
    return {"smooth": baseline.smooth, "shocks": baseline.shocks, "kernel": baseline.kernel,
            "n_basis": "auto" if baseline.n_basis is None else baseline.n_basis,
            "priors": {n: baseline.prior(n).to_dict() for n in DEFAULT_BASELINE_PRIORS}}
