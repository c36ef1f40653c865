"""What a fitted model predicts for periods it never saw, given their actual spend and controls, and how well
that prediction did (docs/backtest.md).

The posterior predictive KPI of each new period, per draw: the model's expected KPI (its media with carry-in
from the actual history, its trend and season carried on, controls and events as observed) plus what the
likelihood adds: a new shared shock where the model has per-period shocks, and the observation noise (normal or
Student-t, per geo). A moving baseline and a time-varying media effect hold their last fitted value. A
stacked run predicts with each candidate and mixes the draws by the stacking weights, like its figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from mmm.analysis.effects import compute_effects, summarize
from mmm.analysis.stacking import mixture_picks
from mmm.data.panel import Panel
from mmm.data.panel_design import PanelScaling
from mmm.model import baseline as baseline_terms
from mmm.model.geo_terms import draw_terms, geo_posterior
from mmm.spec.config import Config


@dataclass
class Forecast:
    """Posterior predictive KPI of the new periods: (D, G, N) draws per geo; national = the sum over geos."""

    dates: pd.DatetimeIndex  # the N new periods
    geos: list[str]
    actual: np.ndarray  # (G, N) observed KPI
    expected: np.ndarray  # (D, G, N) expected KPI (no noise, no new shock)
    predictive: np.ndarray  # (D, G, N) a draw of the KPI itself

    @property
    def national_actual(self) -> np.ndarray:
        return self.actual.sum(axis=0)

    @property
    def national_predictive(self) -> np.ndarray:
        return self.predictive.sum(axis=1)


def forecast(posterior: xr.Dataset, config: Config, extended: Panel, scaling: PanelScaling, n_fitted: int,
             seed: int = 0) -> Forecast:
    """Predict ``extended``'s periods after the first ``n_fitted`` (the periods ``posterior`` was fitted on).

    ``extended``: the run's own data followed by the new periods (actual spend, controls and KPI).
    ``seed`` fixes the noise and shock draws, so the same inputs give the same forecast.
    """
    n_geos = extended.n_geos
    rng = np.random.default_rng(seed)
    terms = draw_terms(posterior, n_geos)
    new = slice(n_fitted, extended.n_periods)
    n_new = extended.n_periods - n_fitted
    n_draws = posterior.sizes["chain"] * posterior.sizes["draw"]
    shock = np.zeros((n_draws, n_new))
    if baseline_terms.SHOCK_SD in posterior:  # a new period gets a new shared shock (model units)
        shock_sd = np.asarray(posterior[baseline_terms.SHOCK_SD].values, dtype=float).reshape(-1)
        shock = shock_sd[:, None] * rng.standard_normal((n_draws, n_new))
    expected, predictive, actual = [], [], []
    for g in range(n_geos):
        posterior_g = geo_posterior(posterior, config, g, n_geos, terms)
        with np.errstate(divide="ignore", invalid="ignore"):  # a channel without spend: its ROAS is not used here
            effects = compute_effects(posterior_g, config, extended.geo(g), scaling.geo(g), fitted_periods=n_fitted)
        kpi_scale = float(scaling.geo(g).kpi)
        sigma = np.asarray(posterior_g["sigma"].values, dtype=float).reshape(-1, 1) * kpi_scale
        if "nu" in posterior_g:
            nu = np.asarray(posterior_g["nu"].values, dtype=float).reshape(-1, 1)
            noise = rng.standard_t(np.broadcast_to(nu, (n_draws, n_new)))
        else:
            noise = rng.standard_normal((n_draws, n_new))
        mu = effects.mu[:, new]
        expected.append(mu)
        predictive.append(mu + shock * kpi_scale + sigma * noise)
        actual.append(effects.actual[new])
    return Forecast(dates=extended.dates[new], geos=list(extended.geos), actual=np.stack(actual),
                    expected=np.stack(expected, axis=1), predictive=np.stack(predictive, axis=1))


def mixed_forecast(parts: list[tuple[Config, xr.Dataset]], weights: list[float], extended: Panel,
                   scaling: PanelScaling, n_fitted: int, seed: int = 0) -> Forecast:
    """A stacked run's forecast: each candidate's, its draws mixed by the stacking weights."""
    forecasts = [forecast(posterior, config, extended, scaling, n_fitted, seed) for config, posterior in parts]
    sizes = [f.predictive.shape[0] for f in forecasts]
    picks = mixture_picks(np.asarray(weights), sizes, sizes[0])
    first = forecasts[0]
    return Forecast(dates=first.dates, geos=first.geos, actual=first.actual,
                    expected=np.concatenate([f.expected[i] for f, i in zip(forecasts, picks, strict=True)]),
                    predictive=np.concatenate([f.predictive[i] for f, i in zip(forecasts, picks, strict=True)]))


def crps(samples: np.ndarray, actual: np.ndarray) -> np.ndarray:
    """(N,) continuous ranked probability score of (S, N) predictive samples against (N,) actuals, KPI units:
    E|X − y| − E|X − X'| / 2, the second term from the sorted samples in O(S log S)."""
    samples = np.sort(np.asarray(samples, dtype=float), axis=0)
    n = samples.shape[0]
    to_actual = np.abs(samples - actual[None, :]).mean(axis=0)
    rank_weight = (2.0 * np.arange(1, n + 1) - n - 1)[:, None]
    spread = 2.0 * (rank_weight * samples).sum(axis=0) / (n * n)  # E|X − X'|
    return to_actual - 0.5 * spread


def score(fc: Forecast, interval: float = 0.9) -> dict[str, Any]:
    """How the forecast did on the national KPI: each period's 50% and ``interval`` coverage, CRPS, and the
    total over the new periods (predicted, with its interval, against actual: the bias)."""
    periods = period_table(fc, interval)
    actual = fc.national_actual
    total_actual = float(actual.sum())
    predicted_total = fc.national_predictive.sum(axis=1)
    bias = summarize(predicted_total - total_actual, interval)
    flagged = bias["lo"] > 0 or bias["hi"] < 0
    return {
        "periods": int(len(actual)), "start": fc.dates[0].date().isoformat(), "end": fc.dates[-1].date().isoformat(),
        "interval": interval,
        "coverage_50": float(periods["inside_50"].mean()), "coverage": float(periods["inside"].mean()),
        "crps": float(periods["crps"].mean()),
        "crps_relative": float(periods["crps"].mean() / np.mean(np.abs(actual))),
        "actual_total": total_actual,
        "predicted_total": summarize(predicted_total, interval),
        "total_inside_interval": not flagged,
        "bias": bias,  # predicted total − actual total; an interval that excludes 0 flags a change
        "bias_share": summarize((predicted_total - total_actual) / total_actual, interval),
        "flag": None if not flagged else ("the model predicted more than happened: a channel or the baseline "
                                          "may have weakened" if bias["lo"] > 0 else
                                          "the model predicted less than happened: a channel or the baseline "
                                          "may have strengthened"),
    }


def geo_scores(fc: Forecast, interval: float = 0.9) -> dict[str, dict[str, Any]]:
    """A panel's forecast scored per geo (the same figures as :func:`score`, on each geo's own KPI)."""
    out = {}
    for g, geo in enumerate(fc.geos):
        one = Forecast(dates=fc.dates, geos=[geo], actual=fc.actual[g:g + 1], expected=fc.expected[:, g:g + 1],
                       predictive=fc.predictive[:, g:g + 1])
        s = score(one, interval)
        out[geo] = {k: s[k] for k in ("coverage", "coverage_50", "crps_relative", "actual_total", "predicted_total",
                                      "bias_share", "flag")}
    return out


def period_table(fc: Forecast, interval: float = 0.9) -> pd.DataFrame:
    """One row per new period: actual national KPI, predictive mean, 50% and ``interval`` bands, CRPS."""
    actual = fc.national_actual
    draws = fc.national_predictive
    lo50, hi50, lo, hi = np.quantile(draws, [0.25, 0.75, (1 - interval) / 2, (1 + interval) / 2], axis=0)
    return pd.DataFrame({"date": fc.dates.strftime("%Y-%m-%d"), "actual": actual,
                         "predicted_mean": draws.mean(axis=0), "lo_50": lo50, "hi_50": hi50,
                         "lo": lo, "hi": hi, "inside_50": (actual >= lo50) & (actual <= hi50),
                         "inside": (actual >= lo) & (actual <= hi), "crps": crps(draws, actual)})
