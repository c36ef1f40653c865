"""Response and carry-over curves, as posterior draws summarized with intervals.

- Response curve of channel k: the incremental value (currency) of spending
  ``multiplier x`` the window's actual spend of k (same flighting), against
  spending nothing in the window, over the window and its carry-over tail.
  At multiplier 1 it is the channel's incremental value in the ROI table.
- Break-even spend: the spend at which the mean incremental value times the gross
  margin equals the spend (profit ROI = 0), interpolated on the curve.
- Carry-over curve: the cumulative share of a period's effect that has arrived
  after each lag (from the adstock weights; exact in the linear regime).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import xarray as xr

from mmm.model import media
from mmm.model import media_effect
from mmm.spec.config import Config
from mmm.data.load import MMMData, Scaling
from mmm.analysis.effects import in_config_order, posterior_draws, weights_by_channel
from mmm.spec.config import analysis_window
from mmm.data.design import build_design
from mmm.model.transforms import carryover_curve

MULTIPLIERS = np.round(np.linspace(0.0, 2.0, 21), 10)
MAX_CURVE_DRAWS = 500  # curves are for reading, not for decisions: a thinned posterior keeps them fast


def _thin(draws: dict[str, np.ndarray], limit: int) -> dict[str, np.ndarray]:
    n = next(iter(draws.values())).shape[0]
    keep = np.unique(np.linspace(0, n - 1, min(n, limit)).astype(int))
    return {k: v[keep] for k, v in draws.items()}


def response_gains(posterior: xr.Dataset, config: Config, data: MMMData, scaling: Scaling,
                   multipliers: np.ndarray = MULTIPLIERS,
                   max_draws: int = MAX_CURVE_DRAWS) -> tuple[np.ndarray, np.ndarray]:
    """Per draw, the incremental value of each multiplier of the window's spend: (M, D, K) currency,
    and the window's spend (K,). Draws are thinned by position, so two posteriors with as many
    draws keep the same ones (geo curves sum these over geos, draw by draw)."""
    data = in_config_order(data, config)
    design = build_design(data, scaling, config.design)
    params = _thin(posterior_draws(posterior, config, design), max_draws)
    channels = config.channels
    tail = max(c.max_lag for c in channels) - 1
    start, end = analysis_window(config, data)
    in_w = np.concatenate([np.asarray((data.dates >= start) & (data.dates <= end)), np.zeros(tail, dtype=bool)])
    spend_ext = np.vstack([design.spend, np.zeros((tail, len(channels)))])
    spend_w = data.spend.loc[(data.dates >= start) & (data.dates <= end), config.channel_names].sum().to_numpy()
    value = scaling.kpi * config.finance.value_per_kpi
    frequency = np.vstack([design.frequency, np.ones((tail, len(channels)))])  # reach and frequency: held
    strength = media_effect.multiplier_draws(params, design.time, tail)  # (D, T+tail), None when steady
    weight = 1.0 if strength is None else strength[:, :, None]

    def total(multiplier: float) -> np.ndarray:  # (D, K): every channel scaled at once (channels are additive)
        scaled = spend_ext * np.where(in_w, multiplier, 1.0)[:, None]
        return (media.contributions(scaled, channels, params, frequency=frequency) * weight).sum(axis=1) * value

    base = total(0.0)
    return np.stack([total(float(m)) - base for m in multipliers]), spend_w


def summarize_curves(gains: np.ndarray, spend_w: np.ndarray, multipliers: np.ndarray, config: Config) -> pd.DataFrame:
    """The tidy curve table of :func:`response_curves` from per-draw gains (M, D, K)."""
    lo_q, hi_q = (1 - config.interval) / 2, (1 + config.interval) / 2
    rows = []
    for m, gain in zip(multipliers, gains, strict=True):
        lo, hi = np.quantile(gain, [lo_q, hi_q], axis=0)
        for k, name in enumerate(config.channel_names):
            rows.append({"channel": name, "multiplier": float(m), "spend": float(m * spend_w[k]),
                         "value_mean": float(gain[:, k].mean()), "value_lo": float(lo[k]), "value_hi": float(hi[k])})
    return pd.DataFrame(rows)


def break_even_spend(curves: pd.DataFrame, margin: float | Mapping[str, float]) -> dict[str, float | None]:
    """Per channel, the spend where mean value x margin = spend on the curve (None if it never crosses).

    ``margin`` is one gross margin, or one per channel.
    """
    out: dict[str, float | None] = {}
    for channel, curve in curves.groupby("channel", sort=False):
        channel_margin = margin[channel] if isinstance(margin, Mapping) else margin
        curve = curve.sort_values("spend")
        profit = curve["value_mean"].to_numpy() * channel_margin - curve["spend"].to_numpy()
        spend = curve["spend"].to_numpy()
        out[channel] = None
        # the last point (beyond zero spend) where profit turns from positive to negative
        for i in range(len(profit) - 1, 0, -1):
            if profit[i - 1] > 0 >= profit[i]:
                frac = profit[i - 1] / (profit[i - 1] - profit[i])
                out[channel] = float(spend[i - 1] + frac * (spend[i] - spend[i - 1]))
                break
    return out


def carryover_curves(posterior: xr.Dataset, config: Config, data: MMMData, scaling: Scaling) -> pd.DataFrame:
    """Tidy: channel, lag (periods after the spend), share_mean, share_lo, share_hi arrived by then."""
    data = in_config_order(data, config)
    design = build_design(data, scaling, config.design)
    draws = posterior_draws(posterior, config, design)
    params = {name: draws[name] for name, *_ in media.parameter_layout(config.channels)}
    cumulative = carryover_curve(weights_by_channel(config.channels, params))  # (D, K, L)
    lo_q, hi_q = (1 - config.interval) / 2, (1 + config.interval) / 2
    rows = []
    for k, channel in enumerate(config.channels):
        for lag in range(channel.max_lag):
            values = cumulative[:, k, lag]
            lo, hi = np.quantile(values, [lo_q, hi_q])
            rows.append({"channel": channel.name, "lag": lag, "share_mean": float(values.mean()),
                         "share_lo": float(lo), "share_hi": float(hi)})
    return pd.DataFrame(rows)
