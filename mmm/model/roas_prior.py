"""ROI priors: a prior on each channel's ROAS itself, in the units marketing and finance think in.

Config (per channel, or once under ``model.roas_prior`` for every channel without its own)::

    channels:
      tv: {spend: tv_spend, roas_prior: {median: 2.0, p90: 5.0}}   # LogNormal with that median and 90th pct
      search: {spend: search_spend, roas_prior: {mean: 3.0, sd: 1.5}}  # LogNormal with that mean and sd
      social: {spend: social_spend, roas_prior: {dist: Gamma, alpha: 4, beta: 2}}  # any positive prior

Defaults (the one place they are written down)
----------------------------------------------
* A channel's own ``roas_prior``, else ``model.roas_prior``, else — unless it overrides
  ``priors.coef`` — the **default ROAS prior**: LogNormal with median ``model.media_roas_scale``
  and log-scale sd ``model.media_roas_sigma`` (1.0: the 99th percentile is ~10x the median, so a
  precise experiment or strong data can move a channel far from it). The median's default,
  ``auto``, is the ROAS at which paid media would bring ``model.media_share`` (15%) of the KPI's
  value over the analysis window, every channel alike (:func:`resolve_media_scale`): a prior in
  business units that follows the data's own units, so a dataset whose spend is in thousands
  or scaled to 0..1 is not met by a ROAS prior off by orders of magnitude.
* Reach-and-frequency channels keep a coefficient prior (their effect is not linear in one spend
  series): LogNormal, scaled so its median means the same ROAS at half saturation
  (:func:`mmm.spec.sections.default_coef_prior`).
* ``{median, p90}`` → LogNormal(mu = ln median, sigma = ln(p90 / median) / 1.2816).
  ``{mean, sd}`` → LogNormal with that mean and sd (sigma² = ln(1 + sd²/mean²),
  mu = ln mean − sigma²/2). ``{dist: ..., ...}`` → that distribution (positive support).

Reparameterization (exact)
--------------------------
With adstock/saturation parameters θ_k, let the channel's *unit incremental*
over the analysis window W (the same W and carry-over tail as :mod:`mmm.analysis.effects`) be::

    U_k(θ) = Σ_{t ∈ W + tail} [ sat_k(adstock_k(x_k))_t − sat_k(adstock_k(x_k with spend zeroed in W))_t ]

(x_k is spend in model units). The incremental KPI is ``coef_k · U_k(θ) · kpi_scale``,
linear in the coefficient, so the model samples ``roas_k`` from its prior and sets::

    channel_coef_k = roas_k · spend_k(W) / (value_per_kpi · kpi_scale · U_k(θ))

per draw, inside the graph. The ROAS that :func:`mmm.analysis.effects.compute_effects`
reports is then ``roas_k`` itself (to floating-point rounding) whatever θ is:
the implied ROAS prior *is* the requested prior. ``channel_coef`` keeps its
name, so effects, curves and reports read it unchanged; the sampled ROAS is
stored as ``channel_roas``.

In general the model only needs each channel's *unit ROAS* r_k(θ) — the ROAS it would
have with a coefficient of 1 — and sets ``channel_coef_k = roas_k / r_k(θ)``
(:func:`coef_from_sampled_roas`). With several geos r_k sums over geos, so the prior is on
the *national* ROAS (:func:`channel_coef`): national ROAS_k is the sum over geos of incremental
value over the sum of spend, and a geo's incremental KPI is ``coef_k · m_gk · U_gk(θ) ·
kpi_scale_g`` with the geo multiplier ``m_gk`` of :func:`mmm.model.geo_terms.geo_terms`, so::

    r_k(θ, sd, z) = value_per_kpi · Σ_g m_gk · U_gk(θ) · kpi_scale_g / Σ_g spend_gk(W)

The national ROAS the effects report is then the sampled one, whatever the geo spread; how it
splits over geos is left to the data and the pooling. With one geo (national data) m_gk = 1.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any

import numpy as np
import xarray as xr

from mmm.data.panel_design import PanelDesign, PanelScaling, series_designs
from mmm.data.panel import Panel
from mmm.model import media
from mmm.model.distributions import stack_priors, to_pymc
from mmm.model.transforms import lag_stack
from mmm.spec.priors import Prior

ROAS_VAR = "channel_roas"
ROAS_DIM = "roas_channel"  # channels with a ROAS prior, when not all have one
FREE_VAR, FREE_DIM = "channel_coef_free", "coef_channel"  # coefficients of the other channels, in a mixed config


def roas_prior(config, channel: str) -> Prior | None:
    """The ROAS prior of ``channel``: its own, else ``model.roas_prior``, else the default one; None when it
    overrides ``coef`` or is a reach-and-frequency channel (then its coefficient has the prior)."""
    from mmm.spec.sections import default_roas_prior

    spec = config.channel(channel)
    if spec.roas_prior is not None:
        return spec.roas_prior
    if "coef" in spec.priors or spec.frequency:
        return None
    if config.model.roas_prior is not None:
        return config.model.roas_prior
    return default_roas_prior(config.model.roas_median, config.model.media_roas_sigma)


def resolve_media_scale(config, design: PanelDesign):
    """``config`` with the "auto" median of the default ROAS prior worked out from ``design``.

    The median is the ROAS at which paid media brings ``model.media_share`` of the KPI's value
    (KPI x value per KPI) over the analysis window: share x value / spend, sums over geos and the
    window's periods. Unchanged when the median is a number, or already worked out (a fitted
    config keeps the median it was fitted with).
    """
    from dataclasses import replace

    opts = config.model
    if opts.media_roas_scale != "auto" or opts.resolved_roas_scale is not None:
        return config
    inside = window_mask(config, design.dates)[:design.n_periods]
    spend = float(design.spend_currency[:, inside].sum())
    value = float((design.kpi[:, inside] * design.kpi_scale[:, None]).sum()) * config.finance.value_per_kpi
    if not spend > 0 or not value > 0:
        raise ValueError(f"{config.source}: the default ROAS prior needs spend and KPI value inside the analysis "
                         f"window (spend {spend:g}, value {value:g}); set model.media_roas_scale to a number")
    median = float(f"{opts.media_share * value / spend:.4g}")  # 4 significant digits: readable in the report
    return replace(config, model=replace(opts, resolved_roas_scale=median))


def roas_channels(config) -> list[int]:
    """Positions of the channels whose coefficient comes from a ROAS prior."""
    return [i for i, name in enumerate(config.channel_names) if roas_prior(config, name) is not None]


# ---- the analysis window, as effects.py defines it -----------------------------------


def window_mask(config, dates) -> np.ndarray:
    """(T + tail,) True inside the analysis window W (extended by the zero-spend carry-over tail)."""
    from mmm.spec.config import analysis_window

    start, end = analysis_window(config, SimpleNamespace(dates=dates))  # the one definition of W
    in_w = np.asarray((dates >= start) & (dates <= end))
    return np.concatenate([in_w, np.zeros(tail_length(config), dtype=bool)])


def tail_length(config) -> int:
    return max(c.max_lag for c in config.channels) - 1


def extended_spend(config, spend: np.ndarray) -> np.ndarray:
    """(..., T + tail, K) spend in model units followed by zeros, so carry-over after the data is counted."""
    spend = np.asarray(spend, dtype=float)
    tail = np.zeros((*spend.shape[:-2], tail_length(config), spend.shape[-1]))
    return np.concatenate([spend, tail], axis=-2)


def extended_frequency(config, frequency: np.ndarray | None) -> np.ndarray | None:
    """(..., T + tail, K) scaled frequency followed by ones (the tail has no reach), or None without
    reach-and-frequency channels (:func:`mmm.model.media.media_response` needs it only for them)."""
    if not media.reach_frequency_mask(config.channels).any():
        return None
    frequency = np.asarray(frequency, dtype=float)
    tail = np.ones((*frequency.shape[:-2], tail_length(config), frequency.shape[-1]))
    return np.concatenate([frequency, tail], axis=-2)


def window_rows(config, dates, spend: np.ndarray,
                frequency: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Lag-stack rows whose difference is U_k for every channel at once (PyTensor side).

    ``spend`` is (..., T, K) in model units (leading dims: geos). Returns ``(lags, sign, frequency_lags)``:
    lags (..., R, K, L) — the rows of W + tail with actual spend, then the same rows with
    every channel zeroed in W (channels are additive, so column k of the second block is
    k's own counterfactual) — sign (R,) of +1 / −1, and the same rows of the scaled frequency's lag
    stack (..., R, K, L) for reach-and-frequency channels (None without such channels).
    """
    frequency = extended_frequency(config, frequency)
    spend = extended_spend(config, spend)
    mask = window_mask(config, dates)
    rows = np.flatnonzero(mask)
    rows = np.arange(rows[0], len(mask))  # W and everything after it (the tail); earlier rows cancel out
    max_lag = max(c.max_lag for c in config.channels)
    actual = lag_stack(spend, max_lag)[..., rows, :, :]
    counterfactual = lag_stack(spend * ~mask[:, None], max_lag)[..., rows, :, :]
    # rows with no spend at all respond 0 (every saturation is 0 at 0): drop them, e.g. the whole
    # counterfactual block when W is the data range, which halves the work per gradient
    spent = counterfactual.reshape(-1, *counterfactual.shape[-3:]).any(axis=(0, 2, 3))
    lags = np.concatenate([actual, counterfactual[..., spent, :, :]], axis=-3)
    sign = np.concatenate([np.ones(actual.shape[-3]), -np.ones(int(spent.sum()))])
    if frequency is None:
        return lags, sign, None
    stacked = lag_stack(frequency, max_lag)  # the same in both blocks: only the spend (reach) is zeroed
    return lags, sign, np.concatenate([stacked[..., rows, :, :], stacked[..., rows[spent], :, :]], axis=-3)


def unit_incremental_np(config, design, params: Mapping[str, np.ndarray]) -> np.ndarray:
    """(D, K) U_k per draw with NumPy (``params``: media parameter draws, (D, Kg) each)."""
    spend = extended_spend(config, design.spend)
    frequency = extended_frequency(config, design.frequency)
    mask = window_mask(config, design.dates)
    _, actual = media.media_response(spend, config.channels, params, frequency=frequency)
    _, without = media.media_response(spend * ~mask[:, None], config.channels, params, frequency=frequency)
    return (actual - without).sum(axis=-2)


def unit_incremental_graph(config, dates, spend: np.ndarray, params: dict[str, Any],
                           frequency: np.ndarray | None = None) -> Any:
    """(..., K) U_k as a PyTensor expression (``spend`` (..., T, K) in model units, leading dims: geos;
    ``frequency`` laid out like it, for reach-and-frequency channels)."""
    import pymc as pm
    import pytensor.tensor as pt

    lags, sign, frequency_lags = window_rows(config, dates, spend, frequency)
    model = pm.modelcontext(None)
    model.add_coord("roi_row", np.arange(len(sign)))
    lag_dims = ("roi_row", "channel", "lag") if lags.ndim == 3 else ("geo", "roi_row", "channel", "lag")
    lag_data = pm.Data("roi_window_lags", lags, dims=lag_dims)
    frequency_data = (None if frequency_lags is None
                      else pm.Data("roi_window_frequency_lags", frequency_lags, dims=lag_dims))
    _, saturated = media.media_response(lag_data, config.channels, params, xp=pt, lagged=True,
                                        frequency=frequency_data)  # (..., R, K)
    return pt.tensordot(saturated, pt.as_tensor(sign), axes=[[-2], [0]])


# ---- the model graph ------------------------------------------------------------------


def coef_from_sampled_roas(config, unit_roas: Any, coef_prior) -> Any:
    """Sample ``channel_roas`` and set ``channel_coef`` (K,) = ROAS / ``unit_roas`` for the ROAS-prior channels.

    ``unit_roas`` (K,), a PyTensor expression: the ROAS each channel would have with a coefficient
    of 1 (ROAS is linear in the coefficient), over W and its tail. The other channels' coefficients
    come from ``coef_prior(idx)``. Call inside the model (:mod:`mmm.model.roas_prior` gives ``unit_roas``).
    """
    import pymc as pm
    import pytensor.tensor as pt

    names = config.channel_names
    roi_idx = roas_channels(config)
    free_idx = [i for i in range(len(names)) if i not in roi_idx]
    model = pm.modelcontext(None)
    roas_dim = "channel" if not free_idx else ROAS_DIM
    if roas_dim != "channel":
        model.add_coord(roas_dim, [names[i] for i in roi_idx])
    roas = to_pymc(stack_priors([roas_prior(config, names[i]) for i in roi_idx], [names[i] for i in roi_idx],
                                "ROAS priors", "write them all as {median, p90} or {mean, sd} (LogNormal), or one "
                                "`dist`"), ROAS_VAR, dims=roas_dim)
    from_roas = roas / unit_roas[roi_idx]
    if not free_idx:
        return pm.Deterministic(media.COEF, from_roas, dims="channel")
    model.add_coord(FREE_DIM, [names[i] for i in free_idx])
    free = to_pymc(coef_prior(free_idx), FREE_VAR, dims=FREE_DIM)
    order = np.argsort(roi_idx + free_idx)
    coef = pt.concatenate([from_roas, free])[order]
    return pm.Deterministic(media.COEF, coef, dims="channel")


# ---- posterior / prior draws ----------------------------------------------------------


def media_draws(config, posterior: xr.Dataset) -> dict[str, np.ndarray]:
    """Adstock and saturation parameter draws, (S, Kg) each, samples chain-major."""
    names = config.channel_names
    stacked = posterior.stack(sample=("chain", "draw"))
    return {name: np.asarray(stacked[name].sel({dim: [names[i] for i in idx]}).transpose("sample", ...).values,
                             dtype=float)
            for name, _param, dim, idx in media.parameter_layout(config.channels) if name != media.COEF}


def coef_given_unit_roas(config, posterior: xr.Dataset, unit_roas: np.ndarray) -> xr.Dataset:
    """``posterior`` with ``channel_coef`` = sampled ROAS / ``unit_roas`` ((S, K) draws, chain-major: the
    ROAS each channel would have with a coefficient of 1) for the ROAS-prior channels, and the sampled
    free coefficients for the others. The NumPy twin of :func:`coef_from_sampled_roas`."""
    roi_idx = roas_channels(config)
    names = config.channel_names
    stacked = posterior.stack(sample=("chain", "draw"))
    roas_da = stacked[ROAS_VAR]
    roas_dim = next(d for d in roas_da.dims if d != "sample")
    roas = np.asarray(roas_da.sel({roas_dim: [names[i] for i in roi_idx]}).transpose("sample", ...).values,
                      dtype=float)
    n_samples = roas.shape[0]
    coef = np.zeros((n_samples, len(names)))
    coef[:, roi_idx] = roas / unit_roas[:, roi_idx]
    free_idx = [i for i in range(len(names)) if i not in roi_idx]
    if free_idx:
        free = stacked[FREE_VAR]
        coef[:, free_idx] = np.asarray(free.sel({FREE_DIM: [names[i] for i in free_idx]})
                                       .transpose("sample", ...).values, dtype=float)
    chains, draws = posterior.sizes["chain"], posterior.sizes["draw"]
    da = xr.DataArray(coef.reshape(chains, draws, len(names)), dims=("chain", "draw", "channel"),
                      coords={"chain": posterior["chain"].values, "draw": posterior["draw"].values,
                              "channel": names})
    return posterior.assign({media.COEF: da})


def channel_coef(config, design: PanelDesign, params: dict[str, Any], values: dict[str, Any], coef_prior) -> Any:
    """The pooled ``channel_coef`` (K,) of the PyMC model, from ROAS priors on the national ROAS.

    ``params``: the media parameters (adstock per geo or shared); ``values``: the per-geo term
    variables :func:`mmm.model.geo_terms.geo_terms` reads. Call inside the model.
    """
    import pytensor.tensor as pt

    from mmm.model.geo_terms import geo_terms

    n_channels = len(config.channel_names)
    multipliers = geo_terms({**values, media.COEF: pt.ones(n_channels)}, len(design.geos), xp=pt)[media.COEF]
    unit = unit_incremental_graph(config, design.dates, design.spend, params, design.frequency)  # (G, K)
    unit_value = (multipliers * unit * design.kpi_scale[:, None]).sum(axis=0) * float(config.finance.value_per_kpi)
    return coef_from_sampled_roas(config, unit_value / window_spend(config, design), coef_prior)


def window_spend(config, design: PanelDesign) -> np.ndarray:
    """(K,) spend of each channel in W summed over geos, currency."""
    in_w = window_mask(config, design.dates)[: design.n_periods]
    return design.spend_currency[:, in_w, :].sum(axis=(0, 1))


def coef_from_roas(config, panel: Panel, scaling: PanelScaling, posterior: xr.Dataset) -> xr.Dataset:
    """``posterior`` with the pooled ``channel_coef`` computed from ``channel_roas`` (NumPy twin of
    :func:`channel_coef`; the sampler stores free parameters only). Unchanged without ROAS priors."""
    from mmm.model.geo_terms import draw_terms, geo_posterior

    if not roas_channels(config) or ROAS_VAR not in posterior:
        return posterior
    n_geos = panel.n_geos
    names = config.channel_names
    ones = xr.DataArray(np.ones((posterior.sizes["chain"], posterior.sizes["draw"], len(names))),
                        dims=("chain", "draw", "channel"),
                        coords={"chain": posterior["chain"].values, "draw": posterior["draw"].values, "channel": names})
    unit = posterior.assign({media.COEF: ones})  # a pooled coefficient of 1: each geo's coefficient is m_gk
    terms = draw_terms(unit, n_geos)
    designs = series_designs(panel, scaling, config.design)
    unit_value = 0.0
    for g in range(n_geos):
        geo = geo_posterior(unit, config, g, n_geos, terms)  # coefficient: the geo multiplier m_gk
        multiplier = np.asarray(geo[media.COEF].stack(sample=("chain", "draw")).transpose("sample", ...).values)
        incremental = unit_incremental_np(config, designs[g], media_draws(config, geo))
        unit_value = unit_value + multiplier * incremental * scaling.kpi[g]
    in_w = window_mask(config, panel.dates)[: panel.n_periods]
    spend = panel.spend[:, in_w, :].sum(axis=(0, 1))
    return coef_given_unit_roas(config, posterior, unit_value * config.finance.value_per_kpi / spend)
