"""Media response: saturation(adstock(spend)) per channel, one definition for model and effects.

Channels may use different adstock / saturation kinds. Parameters live in
variables named ``f"{kind}_{param}"`` (e.g. ``geometric_alpha``,
``hill_half_saturation``), one entry per channel using that kind, along the
dim returned by :func:`group_dim` (``"channel"`` when every channel shares the
kind). The same :func:`media_response` runs on PyTensor tensors inside the
model and on NumPy arrays of posterior draws in the effects, so the two cannot
drift apart.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from mmm.spec.sections import ChannelSpec
from mmm.model.transforms import ADSTOCKS, SATURATIONS, adstock_lagged, adstock_np, adstock_pt

COEF = "channel_coef"


def groups(channels: Sequence[ChannelSpec], attr: str) -> dict[str, list[int]]:
    """Channel positions per transform kind (``attr`` is "adstock" or "saturation"), in channel order."""
    out: dict[str, list[int]] = {}
    for i, ch in enumerate(channels):
        out.setdefault(getattr(ch, attr), []).append(i)
    return out


def group_dim(kind: str, idx: Sequence[int], n_channels: int) -> str:
    return "channel" if len(idx) == n_channels else f"channel_{kind}"


def var_name(kind: str, param: str) -> str:
    return f"{kind}_{param}"


def parameter_layout(channels: Sequence[ChannelSpec]) -> list[tuple[str, str, str, list[int]]]:
    """Every media parameter variable: (variable name, param, dim, channel positions)."""
    layout = [(COEF, "coef", "channel", list(range(len(channels))))]
    for attr, registry in (("adstock", ADSTOCKS), ("saturation", SATURATIONS)):
        for kind, idx in groups(channels, attr).items():
            dim = group_dim(kind, idx, len(channels))
            for param in registry[kind].param_names:
                layout.append((var_name(kind, param), param, dim, idx))
    return layout


def lag_mask(channels: Sequence[ChannelSpec], idx: Sequence[int]) -> np.ndarray:
    """(Kg, L) 1/0 mask so channels sharing a kind can keep their own ``max_lag``."""
    max_lag = max(channels[i].max_lag for i in idx)
    return np.array([[1.0 if lag < channels[i].max_lag else 0.0 for lag in range(max_lag)] for i in idx])


def adstock_weights(channels: Sequence[ChannelSpec], params: Mapping[str, Any], xp: Any = np) -> dict[str, Any]:
    """Normalized lag weights per adstock kind, shape (..., Kg, L), keyed by kind."""
    out = {}
    for kind, idx in groups(channels, "adstock").items():
        transform = ADSTOCKS[kind]
        mask = lag_mask(channels, idx)
        kind_params = {p: params[var_name(kind, p)] for p in transform.param_names}
        weights = transform.weights(kind_params, mask.shape[1], xp=xp) * mask
        out[kind] = weights / weights.sum(axis=-1, keepdims=True)
    return out


def reach_frequency_mask(channels: Sequence[Any]) -> np.ndarray:
    """(K,) True for reach-and-frequency channels (their saturation acts on frequency, before the adstock)."""
    return np.array([getattr(c, "frequency", None) is not None for c in channels], dtype=bool)


def frequency_gain(frequency: Any, channels: Sequence[Any], params: Mapping[str, Any], xp: Any = np, *,
                   lagged: bool = False) -> Any:
    """(..., T, K) each reach-and-frequency channel's saturation of its scaled frequency (Meridian's form:
    the effect is adstock(reach x gain)); 1 for every other channel. ``frequency`` is (T, K), or with
    ``lagged`` its lag stack (T, K, L)."""
    rows = xp.swapaxes(frequency, -1, -2) if lagged else frequency  # (T, L, K): channels last
    gain = xp.where(reach_frequency_mask(channels), saturate_columns(rows, channels, params, xp), 1.0)
    return xp.swapaxes(gain, -1, -2) if lagged else gain


def saturate_columns(values: Any, channels: Sequence[Any], params: Mapping[str, Any], xp: Any = np) -> Any:
    """(..., K) each channel's saturation curve applied to its column of ``values``, in channel order."""
    n_channels = len(channels)
    parts = {}
    for kind, idx in groups(channels, "saturation").items():
        transform = SATURATIONS[kind]
        kind_params = {p: params[var_name(kind, p)] for p in transform.param_names}
        parts[kind] = transform(_columns(values, idx, n_channels), kind_params, xp=xp)
    return assemble_groups(parts, groups(channels, "saturation"), n_channels, xp)


def media_response(
    spend: Any, channels: Sequence[ChannelSpec], params: Mapping[str, Any], xp: Any = np, *, lagged: bool = False,
    frequency: Any = None,
) -> tuple[Any, Any]:
    """Adstocked input and saturated response (before the coefficient), both (..., T, K).

    ``spend`` is scaled spend (T, K) in ``channels`` order, or with ``lagged=True`` its
    lag stack (T, K, L_max) from :func:`mmm.model.transforms.lag_stack`; ``params`` maps
    variable names to arrays of shape (..., Kg). With NumPy, leading dims are draws.
    Reach-and-frequency channels need ``frequency``, laid out like ``spend`` (scaled, 1 elsewhere): their
    input (reach) is multiplied by the saturation of their frequency before the adstock, and their
    response is linear in the adstocked result (:func:`frequency_gain`).
    """
    n_channels = len(channels)
    rf = reach_frequency_mask(channels)
    if rf.any():
        if frequency is None:
            raise ValueError("reach-and-frequency channels need their frequency (the design's `frequency`)")
        spend = spend * frequency_gain(frequency, channels, params, xp, lagged=lagged)
    weights = adstock_weights(channels, params, xp)
    index = groups(channels, "adstock")
    if lagged:
        parts = {kind: adstock_lagged(_lag_columns(spend, idx, n_channels, weights[kind]), weights[kind], xp)
                 for kind, idx in index.items()}
    else:
        apply = adstock_np if xp is np else adstock_pt
        parts = {kind: apply(_columns(spend, idx, n_channels), weights[kind]) for kind, idx in index.items()}
    adstocked = assemble_groups(parts, index, n_channels, xp)
    saturated = saturate_columns(adstocked, channels, params, xp)
    if rf.any():  # linear in reach: the saturation acted on frequency
        saturated = xp.where(rf, adstocked, saturated)
    return adstocked, saturated


def contributions(spend: Any, channels: Sequence[ChannelSpec], params: Mapping[str, Any], xp: Any = np, *,
                  lagged: bool = False, frequency: Any = None) -> Any:
    """Media contribution per period and channel in model (scaled KPI) units, (..., T, K)."""
    _, saturated = media_response(spend, channels, params, xp, lagged=lagged, frequency=frequency)
    return saturated * _time_axis(params[COEF], xp)


def _columns(values: Any, idx: list[int], n_channels: int) -> Any:
    return values if len(idx) == n_channels else values[..., idx]


def _lag_columns(lagged: Any, idx: list[int], n_channels: int, weights: Any) -> Any:
    """The group's channels and lags from a lag stack sized for the longest lag of all channels."""
    n_lags = weights.shape[-1] if isinstance(weights, np.ndarray) else weights.type.shape[-1]
    columns = lagged if len(idx) == n_channels else lagged[..., idx, :]
    return columns[..., :n_lags]


def _time_axis(value: Any, xp: Any) -> Any:
    """(..., K) -> (..., 1, K) so per-channel values broadcast over periods."""
    return value[..., None, :]


def assemble_groups(parts: dict[str, Any], index: dict[str, list[int]], n_channels: int, xp: Any, axis: int = -1) -> Any:
    """Put per-kind blocks back into channel order along ``axis``: the last (columns, the default) or
    the first (channel-major rows)."""
    if len(parts) == 1:
        return next(iter(parts.values()))
    order = [i for kind in parts for i in index[kind]]
    joined = xp.concatenate(list(parts.values()), axis=axis)
    inverse = np.argsort(order)
    return joined[inverse] if axis == 0 else joined[..., inverse]
