"""Truth suite: worlds that deliberately differ from the package's model form, each with its ground truth.

Every generated scenario draws a noise-free expected KPI ``E[y | spend]`` from its own numpy code (no
``mmm`` import) and computes the truth by counterfactual: a channel's spend set to 0 over the whole data
range, with a zero-spend tail after the data long enough for the carry-over to die out (the adstock's
max lag - 1 periods). ROAS = the summed difference over data and tail / the channel's spend; the
per-period contribution covers the data range only. Panels are summed over geos.

    from bench.truth.scenarios import SCENARIOS, make
    case = make("hill_s_curve", seed=0)
    case.frame, case.config, case.truth_roas

Deterministic per (name, seed): ``np.random.default_rng([seed, SCENARIOS.index(name)])``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
from scipy.signal import lfilter

REPO = Path(__file__).resolve().parents[2]
PYMC_DATA = REPO / "tests" / "datasets"  # byte copies of PyMC-Marketing's files, origins in its README.md

WEEKLY_LAG = 13  # max lag (weeks) of every weekly kernel; the truth tail is WEEKLY_LAG - 1 zero-spend weeks
DAILY_LAG = 28


@dataclass(frozen=True)
class Case:
    name: str
    seed: int
    frame: pd.DataFrame
    config: dict
    truth_roas: dict[str, float]
    truth_contribution: pd.DataFrame
    description: str


# ---- transforms (time is the last axis) ------------------------------------------------------------------

def adstock(x: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Causal convolution: out[t] = sum_l weights[l] * x[t - l], zero before the first period."""
    weights = np.asarray(weights, dtype=float)
    pad = np.zeros(x.shape[:-1] + (len(weights) - 1,))
    windows = np.lib.stride_tricks.sliding_window_view(np.concatenate([pad, x], axis=-1), len(weights), axis=-1)
    return windows @ weights[::-1]


def geometric_weights(alpha: float, max_lag: int) -> np.ndarray:
    """Geometric decay alpha**l over lags 0..max_lag-1, normalised to sum 1 (output in spend units)."""
    w = alpha ** np.arange(max_lag)
    return w / w.sum()


def weibull_weights(shape: float, peak_lag: float, max_lag: int) -> np.ndarray:
    """Weibull-PDF lag weights whose mode falls ``peak_lag`` periods after spend, normalised to sum 1."""
    x = np.arange(max_lag) + 1.0  # lag l sits at x = l + 1
    scale = (peak_lag + 1.0) / ((shape - 1.0) / shape) ** (1.0 / shape)
    w = (x / scale) ** (shape - 1.0) * np.exp(-((x / scale) ** shape))
    return w / w.sum()


def hill(x: np.ndarray, half: float | np.ndarray, slope: float) -> np.ndarray:
    """Hill curve x^s / (x^s + half^s): S-shaped for slope > 1."""
    xs = np.power(np.maximum(x, 0.0), slope)
    return xs / (xs + np.power(half, slope))


def exponential(x: np.ndarray, lam: float | np.ndarray) -> np.ndarray:
    """Concave 1 - exp(-x / lam)."""
    return -np.expm1(-np.maximum(x, 0.0) / lam)


def michaelis_menten(x: np.ndarray, kappa: float | np.ndarray) -> np.ndarray:
    """Concave x / (x + kappa)."""
    x = np.maximum(x, 0.0)
    return x / (x + kappa)


# ---- truth ------------------------------------------------------------------------------------------------

def extend(spend: np.ndarray, tail: int) -> np.ndarray:
    """(G, T, K) spend with ``tail`` zero-spend periods appended."""
    g, _, k = spend.shape
    return np.concatenate([spend, np.zeros((g, tail, k))], axis=1)


def counterfactual_truth(expected: Callable[[np.ndarray], np.ndarray], spend: np.ndarray, tail: int
                         ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Truth from the expected KPI ``expected((G, T+tail, K) spend) -> (G, T+tail)``.

    Returns (E[y] over the data (G, T), ROAS (K,), contribution (T, K) summed over geos)."""
    ext = extend(spend, tail)
    full = expected(ext)
    contribution = np.empty((ext.shape[1], spend.shape[2]))
    for k in range(spend.shape[2]):
        zeroed = ext.copy()
        zeroed[:, :, k] = 0.0
        contribution[:, k] = (full - expected(zeroed)).sum(axis=0)
    roas = contribution.sum(axis=0) / spend.sum(axis=(0, 1))
    return full[:, : spend.shape[1]], roas, contribution[: spend.shape[1]]


# ---- building blocks --------------------------------------------------------------------------------------

def _ar1(rng: np.random.Generator, n: int, phi: float, sd: float) -> np.ndarray:
    """Stationary AR(1) with marginal sd ``sd``."""
    shocks = rng.normal(0.0, sd * np.sqrt(1.0 - phi**2), n)
    shocks[0] = rng.normal(0.0, sd)
    return lfilter([1.0], [1.0, -phi], shocks)


def _lognormal(rng: np.random.Generator, n: int, cv: float) -> np.ndarray:
    """Mean-1 multiplicative noise with coefficient of variation about ``cv``."""
    s = np.sqrt(np.log1p(cv**2))
    return rng.lognormal(-s**2 / 2, s, n)


def _season(rng: np.random.Generator, t: np.ndarray, period: float, amplitude: float) -> np.ndarray:
    """Yearly seasonality (two harmonics, random phase) with peak-to-mean about ``amplitude``."""
    phase = rng.uniform(0, 2 * np.pi, 2)
    second = rng.uniform(0.2, 0.5)
    shape = np.sin(2 * np.pi * t / period + phase[0]) + second * np.sin(4 * np.pi * t / period + phase[1])
    return amplitude * shape / (1 + second)


def _flighted(rng: np.random.Generator, n: int, level: float, on=(2, 7), off=(2, 9), cv: float = 0.1):
    """On/off bursts (TV-like): flights of ``on`` periods at ``level`` +-30%, gaps of ``off`` periods."""
    lengths = np.column_stack([rng.integers(*on, n), rng.integers(*off, n)]).ravel()
    live = np.tile([1.0, 0.0], n)
    if rng.random() < 0.5:  # start inside a gap
        lengths, live = lengths[1:], live[1:]
    levels = level * rng.uniform(0.7, 1.3, len(lengths)) * live
    return np.repeat(levels, lengths)[:n] * _lognormal(rng, n, cv)


def _steady(rng: np.random.Generator, n: int, level: float, cv: float, season: np.ndarray | None = None):
    """Steady spend around ``level`` (search-like), optionally following a seasonal shape."""
    shape = 1.0 if season is None else 1.0 + season[:n]
    return level * shape * _lognormal(rng, n, cv)


def _trending(rng: np.random.Generator, n: int, start: float, end: float, cv: float = 0.2):
    """A geometric ramp from ``start`` to ``end`` with smooth AR(1) wiggle (social-like)."""
    return np.geomspace(start, end, n) * np.exp(_ar1(rng, n, 0.7, cv) - cv**2 / 2)


def _bursty(rng: np.random.Generator, n: int, level: float, p_on: float = 0.7, cv: float = 0.35):
    """Irregular spend: live in a random ``p_on`` share of periods (display-like)."""
    live = rng.random(n) < p_on
    live[rng.integers(n)] = True
    return level * live * _lognormal(rng, n, cv)


def _price_index(rng: np.random.Generator, n: int) -> np.ndarray:
    """A price index around 1: slow drift plus occasional promotional price cuts."""
    cuts = (rng.random(n) < 0.08) * rng.uniform(0.04, 0.12, n)
    return np.round(1.0 + _ar1(rng, n, 0.9, 0.02) - cuts, 4)


# default weekly ranges per channel: spend level (per week, when live), true ROAS, geometric alpha
_RANGES = {
    "tv": dict(level=(25e3, 60e3), roas=(0.8, 2.5), alpha=(0.5, 0.75)),
    "search": dict(level=(8e3, 20e3), roas=(2.5, 6.0), alpha=(0.0, 0.3)),
    "social": dict(level=(2e3, 6e3), roas=(0.5, 2.0), alpha=(0.2, 0.5)),
    "display": dict(level=(3e3, 10e3), roas=(0.3, 1.2), alpha=(0.1, 0.4)),
    "radio": dict(level=(5e3, 15e3), roas=(0.5, 1.5), alpha=(0.3, 0.6)),
}


def _spend(rng: np.random.Generator, channel: str, n: int, season: np.ndarray, per_week: float = 1.0):
    """One channel's spend over ``n`` periods in its usual pattern; ``per_week`` = periods per week."""
    level = rng.uniform(*_RANGES[channel]["level"]) / per_week
    if channel in ("tv", "radio"):
        scale = int(per_week)
        return _flighted(rng, n, level, on=(2 * scale, 7 * scale), off=(2 * scale, 9 * scale))
    if channel == "search":
        return _steady(rng, n, level, 0.2, 0.8 * season)
    if channel == "social":
        return _trending(rng, n, level, level * rng.uniform(2.5, 5.0))
    return _bursty(rng, n, level)


def _spend_matrix(rng, channels, n, season, per_week=1.0) -> np.ndarray:
    """(1, n, K) spend rounded to cents."""
    return np.round(np.column_stack([_spend(rng, c, n, season, per_week) for c in channels]), 2)[None]


def _draw(rng, channels, key) -> np.ndarray:
    return np.array([rng.uniform(*_RANGES[c][key]) for c in channels])


def _typical(x: np.ndarray) -> np.ndarray:
    """Mean of the live (non-zero) periods along time, per row."""
    live = x > 0
    return (x * live).sum(axis=-1, keepdims=True) / np.maximum(live.sum(axis=-1, keepdims=True), 1)


def _level(x: np.ndarray) -> float:
    """Mean of the live periods of one series."""
    return float(_typical(x)[0])


def _adstock_exponential(rng, spend: np.ndarray, kernels) -> list:
    """Adstock then 1-exp saturation per channel, lambda = 0.6-1.5 x each geo's typical adstocked spend."""
    transforms = []
    for k, w in enumerate(kernels):
        transforms.append(_then(w, _saturation(rng, "exponential", _typical(adstock(spend[:, :, k], w)))))
    return transforms


def _calibrate(transforms, spend: np.ndarray, tail: int, roas: np.ndarray) -> np.ndarray:
    """Coefficients (G, K) so that beta * transform(spend) has ROAS ``roas`` ((K,) or (G, K))."""
    ext = extend(spend, tail)
    unit = np.stack([f(ext[..., k]) for k, f in enumerate(transforms)], axis=-1)
    return roas * spend.sum(axis=1) / unit.sum(axis=1)


def _media(transforms, beta: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """(G, T', K) spend -> (G, T', K) contributions beta * transform(spend)."""
    def contributions(spend: np.ndarray) -> np.ndarray:
        unit = np.stack([f(spend[..., k]) for k, f in enumerate(transforms)], axis=-1)
        return beta[:, None, :] * unit
    return contributions


def _then(weights: np.ndarray, curve: Callable[[np.ndarray], np.ndarray]):
    """Adstock, then saturation."""
    return lambda x: curve(adstock(x, weights))


def _saturate_then(curve: Callable[[np.ndarray], np.ndarray], weights: np.ndarray):
    """Saturation of raw spend, then adstock of the saturated series."""
    return lambda x: adstock(curve(x), weights)


def _saturation(rng, kind: str, typical):
    """A saturation curve of ``kind`` whose scale is drawn around ``typical`` spend (a float or (G, 1))."""
    if kind == "hill":  # S-shaped
        half, slope = typical * rng.uniform(0.7, 1.3), rng.uniform(2.0, 3.0)
        return lambda z: hill(z, half, slope)
    if kind == "hill_soft":
        half, slope = typical * rng.uniform(0.6, 1.2), rng.uniform(1.0, 1.6)
        return lambda z: hill(z, half, slope)
    if kind == "michaelis_menten":
        kappa = typical * rng.uniform(0.5, 1.5)
        return lambda z: michaelis_menten(z, kappa)
    lam = typical * rng.uniform(0.6, 1.5)
    return lambda z: exponential(z, lam)


def _geometric_kernels(rng, channels, max_lag=WEEKLY_LAG):
    return [geometric_weights(a, max_lag) for a in _draw(rng, channels, "alpha")]


@dataclass(frozen=True)
class _World:
    """What a generator returns; :func:`_finish` turns it into a :class:`Case`."""

    dates: pd.DatetimeIndex
    channels: tuple[str, ...]
    spend: np.ndarray  # (G, T, K)
    expected: Callable[[np.ndarray], np.ndarray]  # (G, T+tail, K) -> (G, T+tail)
    tail: int
    sigma: float  # noise sd as a share of the level
    description: str
    controls: dict[str, np.ndarray] = field(default_factory=dict)  # name -> (G, T+tail)
    geos: tuple[str, ...] = ()
    multiplicative_noise: bool = False


def _weekly(n: int) -> pd.DatetimeIndex:
    return pd.date_range("2021-01-04", periods=n, freq="W-MON", name="date")


def _baseline(rng, t: np.ndarray, period: float, level: float, trend_per_year=(0.0, 0.06),
              amplitude=(0.08, 0.18)) -> tuple[np.ndarray, np.ndarray]:
    """Baseline level * (1 + trend + season) over ``t`` periods, and the season alone."""
    season = _season(rng, t, period, rng.uniform(*amplitude))
    return level * (1.0 + rng.uniform(*trend_per_year) * t / period + season), season


def _additive(base: np.ndarray, media) -> Callable[[np.ndarray], np.ndarray]:
    return lambda spend: base + media(spend).sum(axis=-1)


def _with_price(rng, n_ext: int, base: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A price index and the baseline it moves (elasticity 1-2.5)."""
    price = _price_index(rng, n_ext)
    return price, base * (1.0 - rng.uniform(1.0, 2.5) * (price - 1.0))


def _concave_world(rng, channels, n, description, curve="exponential", kernels=None, order="adstock_first",
                   price=True, base_fn=None, spend_fn=None) -> _World:
    """The shared additive recipe: baseline (+ price) + sum_k beta_k * transform_k(spend_k)."""
    tail = WEEKLY_LAG - 1
    t = np.arange(n + tail, dtype=float)
    base, season = (base_fn or _baseline)(rng, t, 52.18, rng.uniform(2.5e5, 6e5))
    spend = spend_fn(rng, channels, n, season) if spend_fn else _spend_matrix(rng, channels, n, season)
    kernels = kernels or _geometric_kernels(rng, channels)
    transforms = []
    for k, w in enumerate(kernels):
        x = spend[0, :, k]
        if order == "adstock_first":
            transforms.append(_then(w, _saturation(rng, curve, _level(adstock(x, w)))))
        else:
            transforms.append(_saturate_then(_saturation(rng, curve, _level(x)), w))
    controls = {}
    if price:
        controls["price_index"], base = _with_price(rng, n + tail, base)
    beta = _calibrate(transforms, spend, tail, _draw(rng, channels, "roas"))
    return _World(_weekly(n), tuple(channels), spend, _additive(base[None], _media(transforms, beta)), tail,
                  rng.uniform(0.03, 0.08), description, {k: v[None] for k, v in controls.items()})


# ---- scenarios --------------------------------------------------------------------------------------------

FOUR = ("tv", "search", "social", "display")


def _hill_s_curve(rng) -> _World:
    return _concave_world(rng, FOUR, 156, "S-shaped Hill saturation (slope 2-3, half-saturation near typical "
                          "flight spend) after geometric adstock, not a concave logistic", curve="hill")


def _concave_exponential(rng) -> _World:
    return _concave_world(rng, ("tv", "search", "social", "radio", "display"), 156,
                          "concave 1-exp(-x/lambda) saturation after geometric adstock, 5 channels")


def _saturate_then_adstock(rng) -> _World:
    return _concave_world(rng, FOUR, 156, "saturation (Hill, slope 1-1.6) on raw weekly spend, then geometric "
                          "adstock of the saturated series: the reverse order", curve="hill_soft",
                          order="saturate_first")


def _delayed_peak(rng) -> _World:
    kernels = [weibull_weights(rng.uniform(2.0, 3.0), rng.uniform(2.0, 4.0), WEEKLY_LAG) if c != "search"
               else geometric_weights(rng.uniform(0.0, 0.3), WEEKLY_LAG) for c in FOUR]
    return _concave_world(rng, FOUR, 156, "Weibull-PDF lag weights peaking 2-4 weeks after spend (tv, social, "
                          "display; max lag 13), then 1-exp saturation", kernels=kernels)


def _always_on(rng) -> _World:
    def spend_fn(rng_, channels, n, season):
        steady = {c: _steady(rng_, n, rng_.uniform(*_RANGES[c]["level"]) * (2.5 if c == "social" else 1.0),
                                rng_.uniform(0.1, 0.2)) for c in ("search", "social")}
        cols = [steady[c] if c in steady else _spend(rng_, c, n, season) for c in channels]
        return np.round(np.column_stack(cols), 2)[None]
    return _concave_world(rng, FOUR, 156, "search and social always-on with week-to-week CV 0.1-0.2 (little "
                          "variation to learn from); Michaelis-Menten saturation", curve="michaelis_menten",
                          spend_fn=spend_fn)


def _hidden_demand(rng) -> _World:
    n, tail = 156, WEEKLY_LAG - 1
    demand = _ar1(rng, n + tail, 0.92, 1.0)  # unobserved, standardised
    lift = rng.uniform(0.06, 0.12)

    def base_fn(rng_, t, period, level):
        base, season = _baseline(rng_, t, period, level)
        return base * (1.0 + lift * demand), season

    def spend_fn(rng_, channels, n_, season):
        spend = _spend_matrix(rng_, channels, n_, season)
        follow = np.array([0.35 if c in ("search", "social") else 0.0 for c in channels])
        return np.round(spend * np.exp(follow * demand[:n_, None] - follow**2 / 2), 2)

    return _concave_world(rng, FOUR, n, "an unobserved demand driver (AR(1)) raises revenue and the spend of "
                          "search and social: confounded, not in any column", base_fn=base_fn, spend_fn=spend_fn)


def _weekly_shocks(rng) -> _World:
    def base_fn(rng_, t, period, level):
        base, season = _baseline(rng_, t, period, level)
        walk = np.cumsum(rng_.normal(0.0, 0.012, len(t)))
        hits = rng_.random(len(t)) < 0.05
        signs = np.where(rng_.random(len(t)) < 0.65, 1.0, -1.0)
        shocks = hits * signs * rng_.uniform(0.1, 0.35, len(t))
        return base + level * (walk + shocks), season
    return _concave_world(rng, FOUR, 156, "baseline with a random-walk level and occasional one-week promo "
                          "spikes / outages not in any column", base_fn=base_fn, price=False)


def _multiplicative(rng) -> _World:
    n, tail, channels = 156, WEEKLY_LAG - 1, FOUR
    t = np.arange(n + tail, dtype=float)
    base, season = _baseline(rng, t, 52.18, rng.uniform(2.5e5, 6e5), amplitude=(0.2, 0.3))
    spend = _spend_matrix(rng, channels, n, season)
    price, base = _with_price(rng, n + tail, base)
    kernels = _geometric_kernels(rng, channels)
    transforms = _adstock_exponential(rng, spend, kernels)
    # effects on the log scale: first sized so that base * effect has the target ROAS, then rescaled
    # (a few fixed-point steps) so that the counterfactual ROAS lands near the target despite exp's curvature
    target = _draw(rng, channels, "roas")
    effect = _calibrate([lambda z, f=f: f(z) * base[None] for f in transforms], spend, tail, target)

    def expected(s: np.ndarray) -> np.ndarray:  # reads ``effect`` when called: the rescaled one
        return base[None] * np.exp(_media(transforms, effect)(s).sum(axis=-1))

    for _ in range(3):
        effect = effect * target / counterfactual_truth(expected, spend, tail)[1]

    return _World(_weekly(n), channels, spend, expected, tail, rng.uniform(0.03, 0.08),
                  "log(revenue) = log(baseline) + sum of media effects: media multiplies the baseline, so its "
                  "effect scales with season, trend and price, and channels interact",
                  {"price_index": price[None]}, multiplicative_noise=True)


def _geo_varying(rng) -> _World:
    n, tail, channels, n_geo = 156, WEEKLY_LAG - 1, FOUR, 8
    t = np.arange(n + tail, dtype=float)
    size = np.sort(rng.lognormal(0.0, 0.7, n_geo))[::-1]
    size = size / size.sum()
    national = rng.uniform(1e6, 2.4e6)
    rows = [_baseline(rng, t, 52.18, national * s) for s in size]
    base = np.stack([b for b, _ in rows])
    season = np.mean([s for _, s in rows], axis=0)
    national_spend = _spend_matrix(rng, channels, n, season)[0] * n_geo * 0.5
    # geo spend: the national plan by geo size, a geo-specific weight, and local week-to-week noise
    weight = rng.lognormal(0.0, 0.25, (n_geo, 1, len(channels)))
    local = np.stack([np.column_stack([_lognormal(rng, n, 0.15) for _ in channels]) for _ in range(n_geo)])
    spend = np.round(national_spend[None] * size[:, None, None] * weight * local, 2)
    kernels = _geometric_kernels(rng, channels)
    transforms = _adstock_exponential(rng, spend, kernels)  # each geo's own scale
    roas = _draw(rng, channels, "roas")[None] * rng.uniform(0.6, 1.4, (n_geo, len(channels)))
    beta = _calibrate(transforms, spend, tail, roas)
    geos = tuple(f"geo_{i + 1:02d}" for i in range(n_geo))
    return _World(_weekly(n), channels, spend, _additive(base, _media(transforms, beta)), tail,
                  rng.uniform(0.03, 0.08), "8-geo panel with population-like sizes; each channel's ROAS varies by "
                  "geo (+-40%), saturation scaled to each geo's spend", geos=geos)


def _short_104(rng) -> _World:
    return _concave_world(rng, FOUR, 104, "only 104 weeks; Michaelis-Menten x/(x+kappa) saturation after "
                          "geometric adstock", curve="michaelis_menten")


def _daily(rng) -> _World:
    n, tail, channels = 730, DAILY_LAG - 1, ("tv", "search", "social")
    t = np.arange(n + tail, dtype=float)
    dates = pd.date_range("2022-01-03", periods=n, freq="D", name="date")
    base, season = _baseline(rng, t, 365.25, rng.uniform(4e4, 1e5))
    weekday = pd.date_range(dates[0], periods=n + tail, freq="D").dayofweek.to_numpy()
    day_effect = np.array([0.95, 0.92, 0.95, 1.0, 1.08, 1.15, 0.95]) * rng.uniform(0.95, 1.05, 7)
    base = base * day_effect[weekday] / day_effect.mean()
    spend = _spend_matrix(rng, channels, n, season, per_week=7.0)
    half_life = {"tv": (3.0, 7.0), "search": (0.5, 1.5), "social": (1.0, 3.0)}
    kernels = [geometric_weights(0.5 ** (1.0 / rng.uniform(*half_life[c])), DAILY_LAG) for c in channels]
    transforms = _adstock_exponential(rng, spend, kernels)
    beta = _calibrate(transforms, spend, tail, _draw(rng, channels, "roas"))
    return _World(dates, channels, spend, _additive(base[None], _media(transforms, beta)), tail,
                  rng.uniform(0.03, 0.08), "daily data (730 days) with a day-of-week baseline; adstock half-lives "
                  "of 0.5-7 days (max lag 28 days), 1-exp saturation")


def _trend_break(rng) -> _World:
    n = 156
    brk = n // 2 + int(rng.integers(-8, 9))

    def base_fn(rng_, t, period, level):
        base, season = _baseline(rng_, t, period, level, trend_per_year=(-0.02, 0.03))
        extra = rng_.uniform(0.12, 0.25) * np.maximum(t - brk, 0.0) / period
        return base + level * extra, season

    def spend_fn(rng_, channels, n_, season):
        spend = _spend_matrix(rng_, channels, n_, season)
        k = channels.index("social")
        level = rng_.uniform(2e3, 5e3)
        ramp = level * (1.0 + rng_.uniform(3.0, 6.0) * np.clip((np.arange(n_) - brk) / 26.0, 0.0, 1.0))
        spend[0, :, k] = np.round(ramp * _lognormal(rng_, n_, 0.15), 2)
        return spend

    return _concave_world(rng, FOUR, n, "the baseline's slope steepens at a mid-way break, exactly when social "
                          "spend ramps up 4-7x", base_fn=base_fn, spend_fn=spend_fn)


_GENERATED: dict[str, Callable[[np.random.Generator], _World]] = {
    "hill_s_curve": _hill_s_curve,
    "concave_exponential": _concave_exponential,
    "saturate_then_adstock": _saturate_then_adstock,
    "delayed_peak": _delayed_peak,
    "always_on": _always_on,
    "hidden_demand": _hidden_demand,
    "weekly_shocks": _weekly_shocks,
    "multiplicative": _multiplicative,
    "geo_varying": _geo_varying,
    "short_104": _short_104,
    "daily": _daily,
    "trend_break": _trend_break,
}
FIXED = ("pymc_marketing_example", "pymc_marketing_tvp")
SCENARIOS: tuple[str, ...] = (*_GENERATED, *FIXED)


def _finish(name: str, seed: int, world: _World, rng: np.random.Generator) -> Case:
    """Noise, frame, config and truth of a generated world."""
    mean, roas, contribution = counterfactual_truth(world.expected, world.spend, world.tail)
    n_geo, n = mean.shape
    if world.multiplicative_noise:
        revenue = mean * np.exp(rng.normal(-world.sigma**2 / 2, world.sigma, mean.shape))
    else:
        revenue = mean + rng.normal(0.0, 1.0, mean.shape) * world.sigma * mean.mean(axis=1, keepdims=True)
    columns = {"date": np.tile(world.dates.to_numpy(), n_geo)}
    if world.geos:
        columns["geo"] = np.repeat(world.geos, n)
    columns["revenue"] = np.round(revenue, 2).ravel()
    for k, c in enumerate(world.channels):
        columns[f"{c}_spend"] = world.spend[:, :, k].ravel()
    for c, values in world.controls.items():
        columns[c] = values[:, :n].ravel()
    data = {"date": "date", "kpi": "revenue", "kpi_type": "revenue"} | ({"geo": "geo"} if world.geos else {})
    config = {"data": data, "channels": {c: f"{c}_spend" for c in world.channels}}
    if world.controls:
        config["controls"] = list(world.controls)
    return Case(name, seed, pd.DataFrame(columns), config,
                {c: float(r) for c, r in zip(world.channels, roas)},
                pd.DataFrame(contribution, index=world.dates, columns=list(world.channels)), world.description)


# ---- fixed public datasets --------------------------------------------------------------------------------

def _read(file: str, **kwargs) -> pd.DataFrame:
    path = PYMC_DATA / file
    if not path.is_file():
        raise FileNotFoundError(f"truth scenario data not found: {path}")
    return pd.read_csv(path, **kwargs)


def _fixed_case(name: str, seed: int, data: pd.DataFrame, truth: pd.DataFrame, description: str) -> Case:
    """A case from a public dataset whose weekly contributions are known (x1, x2; no tail after the data)."""
    dates = pd.DatetimeIndex(pd.to_datetime(data["date_week"]), name="date")
    controls = [c for c in ("event_1", "event_2") if c in data]
    frame = pd.DataFrame({"date": dates, "revenue": data["y"].to_numpy(),
                          "x1_spend": data["x1"].to_numpy(), "x2_spend": data["x2"].to_numpy(),
                          **{c: data[c].to_numpy() for c in controls}})
    contribution = pd.DataFrame({c: truth[f"{c}_contribution"].to_numpy() for c in ("x1", "x2")}, index=dates)
    roas = {c: float(contribution[c].sum() / data[c].sum()) for c in ("x1", "x2")}
    config = {"data": {"date": "date", "kpi": "revenue", "kpi_type": "revenue"},
              "channels": {"x1": "x1_spend", "x2": "x2_spend"}}
    if controls:
        config["controls"] = controls
    return Case(name, seed, frame, config, roas, contribution, description)


def _pymc_marketing_example(seed: int) -> Case:
    data = _read("pymc_marketing_mmm_example.csv")
    truth = _read("pymc_marketing_mmm_example_ground_truth.csv")
    if not data["date_week"].equals(truth["date_week"]):
        raise ValueError("mmm_example.csv and mmm_example_ground_truth.csv have different weeks")
    return _fixed_case("pymc_marketing_example", seed, data, truth,
                       "pymc-marketing mmm_example (fixed data, seed ignored): logistic saturation after normalised "
                       "geometric adstock, additive; truth ROAS = in-window contribution / spend, no carry-over "
                       "tail after the data")


def _pymc_marketing_tvp(seed: int) -> Case:
    data = _read("pymc_marketing_media_tvp_data.csv", index_col=0)
    return _fixed_case("pymc_marketing_tvp", seed, data, data,
                       "pymc-marketing media_tvp_data (fixed data, seed ignored): a hidden, slowly varying "
                       "multiplier (0.5-1.5) on all media effects; truth ROAS = in-window contribution / spend, no "
                       "carry-over tail after the data")


def make(name: str, seed: int) -> Case:
    """The case ``name`` for ``seed`` (the fixed datasets ignore the seed)."""
    if name not in SCENARIOS:
        raise ValueError(f"unknown truth scenario {name!r}; known: {', '.join(SCENARIOS)}")
    if name == "pymc_marketing_example":
        return _pymc_marketing_example(seed)
    if name == "pymc_marketing_tvp":
        return _pymc_marketing_tvp(seed)
    seed = int(seed)
    key = [seed, SCENARIOS.index(name)] if seed >= 0 else [-seed, SCENARIOS.index(name), 1]
    rng = np.random.default_rng(key)
    return _finish(name, seed, _GENERATED[name](rng), rng)
