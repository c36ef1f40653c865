"""The true figures of synthetic data (docs/figures.md), by plain per-period loops.

On purpose apart from the package's vectorized transforms (:mod:`mmm.model.media`), so tests can check
one against the other: adstock weights, carry-over and saturation one period at a time, and
:func:`true_figures` from the true parameters a :func:`mmm.data.synth.generate` truth holds.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

MROAS_STEP = 0.01  # h in docs/figures.md's marginal ROAS


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise ValueError(message)


def adstock_weights(kind: str, params: dict[str, float], max_lag: int) -> np.ndarray:
    """Normalized carry-over weights w_l for lags l = 0..max_lag-1 (periods)."""
    def weibull_cdf(u: float) -> float:
        return 1.0 - math.exp(-((u / params["scale"]) ** params["shape"]))

    raw = []
    for lag in range(max_lag):
        if kind == "geometric":
            raw.append(params["alpha"] ** lag)
        elif kind == "delayed":
            raw.append(params["alpha"] ** ((lag - params["theta"]) ** 2))
        else:
            raw.append(weibull_cdf(lag + 1) - weibull_cdf(lag))
    total = sum(raw)
    _check(total > 0 and all(r >= 0 for r in raw), f"{kind} adstock with {params} has no usable weights")
    return np.array([r / total for r in raw])


def carryover(u: np.ndarray, weights: np.ndarray, horizon: int) -> np.ndarray:
    """a_t = Σ_l w_l u_{t-l} for t = 0..horizon-1; u is 0 before 0 and after its end."""
    adstocked = np.zeros(horizon)
    for t in range(horizon):
        for lag in range(len(weights)):
            if 0 <= t - lag < len(u):
                adstocked[t] += weights[lag] * u[t - lag]
    return adstocked


def saturate(kind: str, params: dict[str, float], adstocked: np.ndarray) -> np.ndarray:
    """Saturation in [0, 1) of adstocked scaled spend, one period at a time."""
    out = np.zeros(len(adstocked))
    for t, a in enumerate(adstocked):
        if kind == "linear":  # reach-and-frequency channels: their curve acted on frequency
            out[t] = a
        elif kind == "hill":
            power = a ** params["slope"]
            out[t] = power / (power + params["half_saturation"] ** params["slope"])
        else:  # logistic
            decay = math.exp(-params["lam"] * a)
            out[t] = (1.0 - decay) / (1.0 + decay)
    return out


def window_indices(data: pd.DataFrame, window: tuple[Any, Any] | None) -> tuple[int, int]:
    """Half-open row range [start, end) from integer positions or inclusive dates."""
    n = len(data)
    if window is None:
        return 0, n
    start, end = window
    if isinstance(start, (int, np.integer)) and isinstance(end, (int, np.integer)):
        _check(0 <= start < end <= n, f"window {window} must satisfy 0 <= start < end <= {n} (rows, end excluded)")
        return int(start), int(end)
    dates = pd.to_datetime(data["date"])
    inside = np.flatnonzero((dates >= pd.Timestamp(start)) & (dates <= pd.Timestamp(end)))
    _check(len(inside) > 0, f"window {window} holds no dates of the data ({dates.iloc[0]:%Y-%m-%d}.."
                            f"{dates.iloc[-1]:%Y-%m-%d})")
    return int(inside[0]), int(inside[-1]) + 1


def contribution(u: np.ndarray, ch: dict[str, Any], weights: np.ndarray,
                 horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """Media contribution (KPI units) and adstocked input over ``horizon`` periods."""
    adstocked = carryover(u, weights, horizon)
    multiplier = effect_multiplier(ch, horizon)
    return ch["coef"] * multiplier * saturate(ch["saturation"], ch["saturation_params"], adstocked), adstocked


def effect_multiplier(ch: dict[str, Any], horizon: int) -> np.ndarray:
    """Per period, the factor on the channel's true effect (1 before any effect change)."""
    multiplier = np.ones(horizon)
    change = ch.get("effect_change")
    if change:
        multiplier[change["period"]:] = change["factor"]
    return multiplier


def true_figures(data: pd.DataFrame, truth: dict[str, Any], *, window: tuple[Any, Any] | None = None,
                 gross_margin: float | None = None, value_per_kpi: float = 1.0,
                 discount: float | None = None) -> dict[str, dict[str, float]]:
    """docs/figures.md's figures per channel, from the true parameters in ``truth``.

    Parameters
    ----------
    data : DataFrame
        The synthetic data (``date`` and the spend columns, currency per period).
    truth : dict
        A truth dict from :func:`generate` (or read from truth.json).
    window : (int, int) or (date, date), optional
        Row positions ``[start, end)`` (end excluded) or inclusive first/last dates.
        Default: all periods.
    gross_margin : float, optional
        Share of value kept as profit; default ``truth["spec"]["gross_margin"]``.
    value_per_kpi : float
        Currency per KPI unit (1 for revenue).
    discount : float, optional
        The factor on a return one period later (``(1 + annual rate)^(-1 / periods per year)``): adds
        ``roas_npv``, ``profit_roi_npv``, ``payback_50_npv`` and ``payback_90_npv``, each return discounted
        to the period of the spend behind it.

    Returns
    -------
    dict
        ``{channel: {spend (currency), incremental_kpi (KPI units), roas, profit_roi,
        mroas, immediate_share, roas_immediate, roas_lasting, payback_50, payback_90
        (periods)}}``; ratios are NaN for a channel with no spend in the window.
    """
    margin = truth["spec"]["gross_margin"] if gross_margin is None else gross_margin
    start, end = window_indices(data, window)
    figures = {}
    for name, ch in truth["params_natural"]["channels"].items():
        spend = data[ch["spend_column"]].to_numpy(dtype=float)
        # what drives the effect: exposure when the channel has it (ROAS stays on spend), else spend
        driver = data[ch["exposure_column"]].to_numpy(dtype=float) if "exposure_column" in ch else spend
        if "reach_column" in ch:  # reach x the frequency curve (Meridian's form), period by period
            frequency = data[ch["frequency_column"]].to_numpy(dtype=float)
            gain = saturate(ch["frequency_saturation"], ch["saturation_params"], frequency / ch["frequency_level"])
            driver = data[ch["reach_column"]].to_numpy(dtype=float) * gain
        weights = adstock_weights(ch["adstock"], ch["adstock_params"], ch["max_lag"])
        horizon = len(spend) + ch["max_lag"] - 1  # zero spend after the data ends
        in_window = np.zeros(len(spend), dtype=bool)
        in_window[start:end] = True
        scale = (truth["scaling"]["exposure"][name] if "exposure_column" in ch or "reach_column" in ch
                 else truth["scaling"]["spend"][name])  # counterfactuals keep the actual data's scale
        actual, adstocked = contribution(driver / scale, ch, weights, horizon)
        without, adstocked_without = contribution(np.where(in_window, 0.0, driver) / scale, ch, weights, horizon)
        # the next 1% of spend buys 1% more exposure at the period's own cost per unit
        bumped, _ = contribution(np.where(in_window, driver * (1 + MROAS_STEP), driver) / scale, ch, weights,
                                  horizon)
        span = range(start, end + ch["max_lag"] - 1)  # W and its carry-over tail
        incremental = float(sum(actual[t] - without[t] for t in span))
        inside = float(sum(actual[t] - without[t] for t in range(start, end)))  # booked inside W
        extra = float(sum(bumped[t] - actual[t] for t in span))
        immediate = present = 0.0
        for t in span:
            # of the adstocked input that W's spend puts into period t, the part spent in t itself
            same_period = weights[0] * driver[t] / scale if start <= t < end else 0.0
            from_window = adstocked[t] - adstocked_without[t]
            if from_window > 0:
                immediate += float((actual[t] - without[t]) * same_period / from_window)
                if discount is not None:  # each spend period's part, discounted by its lag
                    parts = sum(weights[lag] * driver[t - lag] / scale * discount ** lag
                                for lag in range(len(weights)) if start <= t - lag < end)
                    present += float((actual[t] - without[t]) * parts / from_window)
        spend_w = float(spend[start:end].sum())
        roas = incremental * value_per_kpi / spend_w if spend_w > 0 else math.nan
        share = immediate / incremental if incremental != 0 else math.nan
        cumulative = np.cumsum(weights)
        figures[name] = {
            "spend": spend_w, "incremental_kpi": incremental, "roas": roas,
            "profit_roi": roas * margin - 1.0,
            "mroas": extra * value_per_kpi / (MROAS_STEP * spend_w) if spend_w > 0 else math.nan,
            "immediate_share": share, "roas_immediate": roas * share, "roas_lasting": roas * (1.0 - share),
            "in_window_share": inside / incremental if incremental != 0 else math.nan,
            "payback_50": int(np.argmax(cumulative >= 0.5)), "payback_90": int(np.argmax(cumulative >= 0.9)),
        }
        if discount is not None:
            roas_npv = present * value_per_kpi / spend_w if spend_w > 0 else math.nan
            discounted = [w * discount ** lag for lag, w in enumerate(weights)]
            arrived = np.cumsum(discounted) / sum(discounted)
            figures[name].update(roas_npv=roas_npv, profit_roi_npv=roas_npv * margin - 1.0,
                                 payback_50_npv=int(np.argmax(arrived >= 0.5)),
                                 payback_90_npv=int(np.argmax(arrived >= 0.9)))
        if "reach_column" in ch:
            figures[name]["optimal_frequency"] = optimal_frequency(ch)
    return figures


def optimal_frequency(ch: dict[str, Any]) -> float:
    """The frequency that buys the most effect per unit of spend, gain(f) / f at its largest: for a Hill
    curve of slope s > 1, ``level x half_saturation x (s - 1)^(1/s)``; 1 (the least) when s <= 1."""
    _check(ch["frequency_saturation"] == "hill", "the true optimal frequency is known in closed form for Hill only")
    half, slope = ch["saturation_params"]["half_saturation"], ch["saturation_params"]["slope"]
    if slope <= 1:
        return 1.0
    return max(1.0, ch["frequency_level"] * half * (slope - 1) ** (1 / slope))
