"""The MMM as a PyMC model, for national data (one geo) and panels: per-geo baselines and media effects
partially pooled across geos. The only module (with :mod:`mmm.model.sample`) that builds a PyMC model.

Expected KPI of geo g, in that geo's model units (KPI / the geo's KPI scale)::

    mu_gt = intercept_g + trend_g * years_t + season_amp_g * (fourier_t @ season)
            + controls_gt @ control_coef
            + sum_k channel_coef_gk * saturation_k(adstock_k(spend_gtk / spend_scale_gk))   [x m_t: see below]

Per-geo terms are non-centered around channel- or national-level means::

    intercept_g       ~ the intercept prior, one per geo (104+ periods pin each geo's level;
                        pooling it only adds a funnel the sampler has to cross)
    trend_g           = trend + trend_geo_sd * trend_geo_z[g]
    season_amp_g      = exp(season_amp_sd * season_amp_z[g])
    channel_coef_gk   = channel_coef_k * exp(channel_coef_geo_sd_k * channel_coef_geo_z[g, k])

Saturation is shared across geos; adstock is shared (default) or one per geo
(``model.geo.adstock: geo``). With one geo (national data) there is nothing to pool: no
geo spreads or offsets, one intercept, trend and coefficient per channel, and ``sigma`` on a
geo axis of length one.

For sampling (``centered_baseline``), each geo's intercept is drawn as its *level*, intercept
plus mean media (paid and organic) over the fitted periods: the data pin the level whatever the media parameters
are, so a saturation or coefficient move no longer drags the intercept along (a saturated
always-on channel looks like baseline). The posterior is the same: ``intercept = level - mean
media`` has unit Jacobian, the level has a flat prior and the intercept's prior enters as a
potential; the posterior reports the intercept (:data:`SAMPLED_FORMS`). At 40 geos that cuts the
gradients per draw about 3x and lifts the worst bulk ESS about 8x. Forward prior sampling cannot
draw a flat variable, so everything but the fit builds the plain model.

Every input is ``pm.Data`` (so the compiled log-density is cached on disk and reused across
processes and refits), every coordinate is named, and nothing depends on the position of a
channel in the user's file.

With ``model.media_effect: time_varying`` the paid media sum is scaled by a smooth multiplier m_t shared
by geos and channels (:mod:`mmm.model.media_effect`).

ROAS priors set the pooled ``channel_coef`` from a sampled *national* ROAS
(:mod:`mmm.model.roas_prior`); lift tests, per geo or national, add likelihood terms
(:mod:`mmm.model.lift_tests`).

:func:`mmm.model.geo_terms.geo_terms` is the one definition of the per-geo terms; the model uses it
on PyTensor variables and the effects on NumPy draws, so the two cannot drift.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from mmm.data.panel_design import PanelDesign
from mmm.model import baseline
from mmm.model import collapsed
from mmm.model import lift_tests
from mmm.model import media
from mmm.model import media_effect
from mmm.model import organic as organic_media
from mmm.model import roas_prior
from mmm.model.distributions import prior_logp, stack_priors, to_pymc
from mmm.model.geo_terms import geo_terms, hierarchical
from mmm.model.transforms import lag_stack
from mmm.spec.config import Config, ConfigError
from mmm.spec.sections import default_coef_prior
from mmm.spec.priors import Prior

LEVEL = "level"  # the intercept's sampled form: intercept + mean media contribution over the fitted periods
SAMPLED_FORMS = {LEVEL: "intercept"}  # sampled free variable -> the Deterministic the posterior reports

# Spread of geos around the pooled means, in model units (a geo's KPI / its own KPI scale).
GEO_PRIORS: dict[str, Prior] = {
    "trend_geo_sd": Prior("HalfNormal", sigma=0.1),
    "season_amp_sd": Prior("HalfNormal", sigma=0.3),
    "channel_coef_geo_sd": Prior("Gamma", alpha=2.0, beta=10.0),  # log scale; mean 0.2 ~ geos within +-20% of the channel
}


def build_model(config: Config, design: PanelDesign, n_train: int | None = None, fit_start: int = 0, *,
                centered_baseline: bool = False, collapse_baseline: bool = False) -> pm.Model:
    """Build the PyMC model for ``config`` on ``design`` (model units per geo).

    With ``n_train``, only the first ``n_train`` periods enter the likelihood (a holdout);
    the rest still carry spend into the adstock and are predicted, not fitted.
    With ``fit_start``, the periods before it stay out of the likelihood too (a sequential
    update, :mod:`mmm.runs.refresh`): their spend still feeds the adstock carry-in.
    With ``centered_baseline``, each geo's intercept is sampled as its level (module docstring); sample
    such a model with ``reported=SAMPLED_FORMS`` (:func:`mmm.model.sample.sample`).
    With ``collapse_baseline`` and a normal likelihood, the moving baseline's coefficients are integrated out of
    the density (:func:`moving_baseline` says which) and drawn back after sampling (:mod:`mmm.model.collapsed`)."""
    if list(design.channels) != config.channel_names:
        raise ValueError(f"design channels {design.channels} do not match config channels {config.channel_names}")
    names = config.channel_names
    coords = {"geo": list(design.geos), "date": np.asarray(design.dates), "channel": names,
              "control": list(design.controls), "fourier": list(design.fourier_names)}
    for kind, idx in {**media.groups(config.channels, "adstock"), **media.groups(config.channels, "saturation")}.items():
        dim = media.group_dim(kind, idx, len(config.channels))
        if dim != "channel":
            coords[dim] = [names[i] for i in idx]
    config = roas_prior.resolve_media_scale(config, design)  # callers that use the config again resolve first
    opts = config.model
    n_geos = len(design.geos)
    pooled = hierarchical(n_geos)
    with pm.Model(coords=coords) as model:
        max_lag = max(c.max_lag for c in config.channels)
        model.add_coord("lag", np.arange(max_lag))
        geo_adstock = opts.geo_adstock == "geo" and pooled
        if geo_adstock:
            spend_lags = pm.Data("spend_lags", lag_stack(design.spend, max_lag),
                                 dims=("geo", "date", "channel", "lag"))
        else:  # one adstock for all geos: the lag stack as (channel, geo x date, lag) for a batched matmul
            spend_lags = pm.Data("spend_lags_by_channel", channel_major_lags(design.spend, max_lag))
        rf_rows = np.flatnonzero(media.reach_frequency_mask(config.channels))
        frequency_lags = (pm.Data("frequency_lags_by_channel",  # the reach-and-frequency channels' rows only
                                  channel_major_lags(design.frequency[:, :, rf_rows], max_lag))
                          if len(rf_rows) else None)
        n_fit = design.n_periods if n_train is None else n_train
        if not 0 <= fit_start < n_fit:
            raise ValueError(f"fit_start={fit_start} leaves no period to fit (periods to fit end at {n_fit})")
        model.add_coord("fit_date", np.asarray(design.dates)[fit_start:n_fit])
        kpi = pm.Data("kpi", design.kpi[:, fit_start:n_fit], dims=("geo", "fit_date"))

        centered = centered_baseline and can_center(opts.prior("intercept"))
        geo_dim = "geo" if pooled else None
        level_start = design.kpi[:, fit_start:n_fit].mean(axis=1)
        values: dict[str, Any] = {"intercept": (
            pm.Flat(LEVEL, dims=geo_dim, initval=level_start if pooled else level_start[0]) if centered
            else to_pymc(opts.prior("intercept"), "intercept", dims=geo_dim))}
        if opts.trend:
            values["trend"] = to_pymc(opts.prior("trend"), "trend")
            if pooled:
                values["trend_geo_sd"] = to_pymc(GEO_PRIORS["trend_geo_sd"], "trend_geo_sd")
                values["trend_geo_z"] = pm.Normal("trend_geo_z", 0.0, 1.0, dims="geo")
        defaults = {"coef": [default_coef_prior(r, opts.roas_median, config.finance.value_per_kpi, opts.media_roas_sigma)
                             for r in design.spend_to_kpi]}
        roas_priors = bool(roas_prior.roas_channels(config))  # then channel_coef follows from the national ROAS
        params = {}
        for name, param, dim, idx in media.parameter_layout(config.channels):
            if roas_priors and name == media.COEF:
                continue
            prior = stacked_prior(config.channels, param, idx, defaults)
            per_geo = geo_adstock and name.split("_")[0] in media.groups(config.channels, "adstock")
            params[name] = to_pymc(prior, name, dims=("geo", dim) if per_geo else dim)
        if pooled:
            values["channel_coef_geo_sd"] = to_pymc(GEO_PRIORS["channel_coef_geo_sd"], "channel_coef_geo_sd",
                                                                                      dims="channel")
            values["channel_coef_geo_z"] = pm.Normal("channel_coef_geo_z", 0.0, 1.0, dims=("geo", "channel"))
        values[media.COEF] = params[media.COEF] = (  # ROAS priors: mmm.model.roas_prior
            roas_prior.channel_coef(config, design, params, values,
                                       lambda idx: stacked_prior(config.channels, "coef", idx, defaults))
            if roas_priors else params[media.COEF])
        if design.fourier.shape[1] and pooled:
            values["season_amp_sd"] = to_pymc(GEO_PRIORS["season_amp_sd"], "season_amp_sd")
            values["season_amp_z"] = pm.Normal("season_amp_z", 0.0, 1.0, dims="geo")
        terms = geo_terms(values, n_geos, xp=pt)

        time = pm.Data("time", design.time, dims="date")
        mu = terms["intercept"][:, None] + pt.zeros((1, design.n_periods))
        if terms["trend"] is not None:
            mu = mu + terms["trend"][:, None] * time[None, :]
        if design.fourier.shape[1]:
            fourier = pm.Data("fourier_terms", design.fourier, dims=("date", "fourier"))
            season = pt.dot(fourier, to_pymc(opts.prior("fourier"), "season", dims="fourier"))
            mu = mu + (season[None, :] if terms["season_amp"] is None else terms["season_amp"][:, None] * season)
        if design.control_values.shape[2]:
            controls = pm.Data("control_values", design.control_values, dims=("geo", "date", "control"))
            mu = mu + pt.dot(controls, to_pymc(opts.prior("control_coef"), "control_coef", dims="control"))
        if design.event_names:  # holidays and events: one effect per (event, offset), shared by geos
            model.add_coord("event", design.event_names)
            events = pm.Data("event_values", design.events, dims=("geo", "date", "event"))
            mu = mu + pt.dot(events, to_pymc(opts.prior("event_coef"), "event_coef", dims="event"))
        organic_total = organic_contribution(model, config, design) if config.organic else None
        collapse = None
        if opts.baseline.on_for(n_geos):  # a baseline that moves, the same for every geo (mmm.model.baseline)
            movement, collapse = moving_baseline(model, opts.baseline, design, opts.trend, slice(fit_start, n_fit),
                                                 collapse_baseline and collapsed.collapsible(opts.likelihood))
            if movement is not None:
                mu = mu + movement[None, :]
        media_params = {**params, media.COEF: terms[media.COEF]}
        lift_tests.add_likelihood(config, design, media_params)  # lift tests, if any (mmm.model.lift_tests)
        if geo_adstock:
            media_total = media.contributions(spend_lags, config.channels, media_params, xp=pt, lagged=True).sum(-1)
        else:
            media_total = shared_adstock_contributions(spend_lags, config.channels, media_params, n_geos,
                                                       design.n_periods, frequency_lags).sum(axis=0)
        if opts.media_effect == "time_varying":  # paid media's strength drifts (mmm.model.media_effect)
            media_total = media_total * time_varying_multiplier(model, opts, design)[None, :]
        if organic_total is not None:  # media without spend: it moves the level like paid media does
            media_total = media_total + organic_total
        if centered:  # mu was built on the level; move it to the intercept, whose prior applies
            media_mean = media_total[:, fit_start:n_fit].mean(axis=1)
            media_shift = media_mean if pooled else media_mean[0]
            level = values["intercept"]
            intercept = centered_intercept(level, media_shift, opts.prior("intercept"),
                                           geo_dim)
            shift = intercept - level
            mu = mu + (shift[:, None] if pooled else shift)
        mu = mu + media_total

        sigma = to_pymc(opts.prior("sigma"), "sigma", dims="geo")[:, None]
        if collapse is not None:  # the movement integrated out: the likelihood is its marginal
            plain, total_weight, weighted_residual = collapsed.gaussian_terms(kpi - mu[:, fit_start:n_fit], sigma)
            gain, draws = collapse.terms(weighted_residual, total_weight)
            pm.Potential("kpi_marginal", plain + gain)
            # the posterior reports the intercept, not the sampled level (SAMPLED_FORMS): level = intercept + mean media
            substitutes = ({values["intercept"]: ("intercept", lambda intercept: intercept + media_shift)}
                           if centered else {})
            model.collapsed = collapsed.Collapsed(collapse.names, collapse.dims, collapse.noises, draws, substitutes)
        elif opts.likelihood == "student_t":
            nu = to_pymc(opts.prior("nu"), "nu")
            pm.StudentT("kpi_obs", nu=nu, mu=mu[:, fit_start:n_fit], sigma=sigma, observed=kpi, dims=("geo", "fit_date"))
        else:
            pm.Normal("kpi_obs", mu=mu[:, fit_start:n_fit], sigma=sigma, observed=kpi, dims=("geo", "fit_date"))
    return model


@dataclass
class _Collapse:
    """The part of the movement integrated out: its variables, dims, noise inputs and likelihood terms."""
    names: tuple[str, ...]
    dims: tuple[tuple[str, ...], ...]
    noises: tuple[Any, ...]
    terms: Callable[[Any, Any], tuple[Any, tuple[Any, ...]]]  # (weighted residual, total weight) -> (gain, draws)


def time_varying_multiplier(model: pm.Model, opts, design: PanelDesign) -> Any:
    """(T,) m_t, the multiplier on paid media's effect in each period (:mod:`mmm.model.media_effect`)."""
    values, omega = media_effect.basis(design.time)
    model.add_coord(media_effect.BASIS_DIM, np.arange(values.shape[1]))
    phi = pm.Data("media_effect_basis_values", values, dims=("date", media_effect.BASIS_DIM))
    sampled = {name: to_pymc(opts.prior(name), name) for name in (media_effect.AMPLITUDE, media_effect.LENGTHSCALE)}
    sampled[media_effect.COEFS] = pm.Normal(media_effect.COEFS, 0.0, 1.0, dims=media_effect.BASIS_DIM)
    return pt.exp(media_effect.log_multiplier(sampled, phi, omega, xp=pt))


def moving_baseline(model: pm.Model, options, design: PanelDesign, trend: bool, fitted: slice,
                    collapse: bool = False) -> tuple[Any, _Collapse | None]:
    """(T,) smooth component and/or per-period shocks that are sampled, model units (:mod:`mmm.model.baseline`),
    or None; and with ``collapse`` the part integrated out instead (:mod:`mmm.model.collapsed`): both when the
    smooth basis is orthogonal to the shocks' projection on the fitted periods (no holdout), else the shocks
    if the model has them, else the smooth component.

    Shocks exist for the ``fitted`` periods only (dims ``fit_date``) and are projected off the intercept, trend
    and season over those periods: projected over a longer span (a holdout), they could still trade with the
    trend on the fitted weeks. A period the fit does not see has no shock (its expected value)."""
    values: dict[str, Any] = {}
    if options.shocks is True and len(design.geos) == 1:
        raise ConfigError("model.baseline.shocks: true needs several geos: with one series a per-period shock "
                          "cannot be told from noise; set it to auto or false")
    shocks = options.shocks_for(len(design.geos))
    if shocks:
        fixed, pinv = baseline.shock_projection(design.time[fitted], design.fourier[fitted], trend)
        shock_basis = np.eye(fixed.shape[0]) - fixed @ pinv  # (I - P) on the fitted periods
    phi = omega = smooth = None
    if options.smooth:
        basis, omega = baseline.design_basis(design.time, design.fourier, options.n_basis, trend, options.kernel)
        model.add_coord("baseline_basis", np.arange(basis.shape[1]))
        phi = pm.Data("baseline_basis_values", basis, dims=("date", "baseline_basis"))
        values[baseline.AMPLITUDE] = to_pymc(options.prior("amplitude"), baseline.AMPLITUDE)
        values[baseline.LENGTHSCALE] = to_pymc(options.prior("lengthscale"), baseline.LENGTHSCALE)
        fitted_basis = basis[fitted]
        joint = shocks and np.abs(fitted_basis - shock_basis @ fitted_basis).max() <= 1e-9 * np.abs(basis).max()
        if collapse and (joint or not shocks):
            smooth = {"gram": pm.Data("baseline_basis_gram", fitted_basis.T @ fitted_basis),
                      "scale": baseline.spectral_scale(values[baseline.AMPLITUDE], values[baseline.LENGTHSCALE],
                                                       omega, pt, options.kernel),
                      "noise": pt.vector(f"{baseline.COEFS}_noise", shape=(basis.shape[1],))}
        else:
            values[baseline.COEFS] = pm.Normal(baseline.COEFS, 0.0, 1.0, dims="baseline_basis")
    movement = baseline.time_effect(values, phi, omega, xp=pt, kernel=options.kernel)
    collapsed_part = None
    if smooth is not None and not shocks:
        collapsed_part = _Collapse((baseline.COEFS,), (("baseline_basis",),), (smooth["noise"],), lambda rw, w: _one(
            collapsed.smooth_terms(pt.dot(phi[fitted].T, rw), smooth["gram"], smooth["scale"], w, smooth["noise"])))
    if shocks:
        shock_sd = to_pymc(options.prior("shock_sd"), baseline.SHOCK_SD)
        n_fitted = shock_basis.shape[0]
        if collapse:
            vectors, eigenvalues, rotated = collapsed.shock_rotation(shock_basis)
            pieces = (pm.Data("baseline_shock_vectors", vectors), pm.Data("baseline_shock_eigenvalues", eigenvalues),
                      pm.Data("baseline_shock_rotated", rotated))
            noise = pt.vector(f"{baseline.SHOCKS}_noise", shape=(n_fitted,))
            if smooth is None:
                collapsed_part = _Collapse((baseline.SHOCKS,), (("fit_date",),), (noise,), lambda rw, w: _one(
                    collapsed.shock_terms(*pieces, shock_sd, rw, w, noise)))
            else:
                collapsed_part = _Collapse(
                    (baseline.COEFS, baseline.SHOCKS), (("baseline_basis",), ("fit_date",)), (smooth["noise"], noise),
                    lambda rw, w: collapsed.smooth_and_shock_terms(phi[fitted], smooth["gram"], smooth["scale"],
                                                                   shock_sd, pieces, rw, w, smooth["noise"], noise))
        else:
            shock_values = {baseline.SHOCK_SD: shock_sd,
                            baseline.SHOCKS: pm.Normal(baseline.SHOCKS, 0.0, 1.0, dims="fit_date")}
            held = baseline.time_effect(shock_values, None, None, xp=pt, shock_fixed=(fixed, pinv))
            padded = pt.set_subtensor(pt.zeros(design.n_periods)[fitted], held)
            movement = padded if movement is None else movement + padded
    return movement, collapsed_part


def _one(terms):
    """(gain, draw) -> (gain, (draw,)): one variable integrated out."""
    gain, draw = terms
    return gain, (draw,)


def organic_contribution(model: pm.Model, config: Config, design: PanelDesign):
    """(G, T) summed contribution of the organic channels (:mod:`mmm.model.organic`), model units."""
    organic = config.organic
    names = [o.name for o in organic]
    model.add_coord("organic", names)
    values = {}
    for name, param, dim, idx, _ in organic_media.parameter_layout(organic):
        if dim != "organic" and dim not in model.coords:
            model.add_coord(dim, [names[i] for i in idx])
        prior = stack_priors([organic[i].prior(param) for i in idx], [names[i] for i in idx],
                             f"organic priors for `{param}`", "change the overrides to one family")
        values[name] = to_pymc(prior, name, dims=dim)
    max_lag = max(o.max_lag for o in organic)
    model.add_coord("organic_lag", np.arange(max_lag))
    lags = pm.Data("organic_lags", lag_stack(design.organic, max_lag), dims=("geo", "date", "organic", "organic_lag"))
    return organic_media.contributions(lags, organic, values, xp=pt, lagged=True).sum(axis=-1)


def stacked_prior(channels, param: str, idx, defaults: dict[str, list[Prior]]) -> Prior:
    """One prior for a parameter shared by the channels ``idx`` of one transform: their own or default priors."""
    priors = [channels[i].prior(param) or defaults[param][i] for i in idx]
    return stack_priors(priors, [channels[i].name for i in idx], f"priors for `{param}`",
                        "change the overrides to one family")


def can_center(intercept_prior: Prior) -> bool:
    """A bounded intercept prior would put a hard wall in the level's flat space: sample it plainly."""
    return intercept_prior.support == "real"


def centered_intercept(level, media_mean, prior: Prior, dims):
    """The intercept a sampled level implies, as a Deterministic, with ``prior`` added as its potential."""
    intercept = pm.Deterministic("intercept", level - media_mean, dims=dims)
    pm.Potential("intercept_prior", prior_logp(prior, intercept).sum())
    return intercept


def channel_major_lags(spend: np.ndarray, max_lag: int) -> np.ndarray:
    """(G, T, K) scaled spend -> its lag stack laid out (K, G*T, L), rows geo-major."""
    lags = lag_stack(spend, max_lag)  # (G, T, K, L)
    n_geos, n_periods, n_channels, n_lags = lags.shape
    return np.ascontiguousarray(lags.transpose(2, 0, 1, 3).reshape(n_channels, n_geos * n_periods, n_lags))


def shared_adstock_contributions(lags: Any, channels, params: Mapping[str, Any], n_geos: int,
                                 n_periods: int, frequency_lags: Any = None) -> Any:
    """Media contributions laid out channel-major, (K, G, T), when every geo shares the adstock.

    The same numbers as :func:`mmm.model.media.contributions` on the (G, T, K, L) lag stack, transposed.
    The adstock is one batched matrix product per adstock kind (BLAS), and the saturation and the
    coefficients run on contiguous (K, G*T) rows, each channel's parameters broadcast along its row:
    the 40-geo logp+gradient takes 516 us against 835 us for the same arithmetic on a (G, T, K) view.
    """
    n_channels = len(channels)
    rf = media.reach_frequency_mask(channels)[:, None, None]
    if rf.any():  # reach x the saturation of its frequency, lag by lag (mmm.model.media.frequency_gain)
        rf_rows = list(np.flatnonzero(rf[:, 0, 0]))
        gains = []
        for kind, idx in media.groups(channels, "saturation").items():
            transform = media.SATURATIONS[kind]
            members = [i for i in idx if i in rf_rows]  # rows of this kind's parameters, and of frequency_lags
            if not members:
                continue
            kind_params = {p: params[media.var_name(kind, p)][[idx.index(i) for i in members]][:, None]
                           for p in transform.param_names}
            gains.append((members, transform(frequency_lags[[rf_rows.index(i) for i in members]], kind_params,
                                             xp=pt)))
        order = [i for members, _ in gains for i in members]
        gain = pt.concatenate([g for _, g in gains], axis=0) if len(gains) > 1 else gains[0][1]
        lags = pt.set_subtensor(lags[order], lags[order] * gain)
    weights = media.adstock_weights(channels, params, xp=pt)  # kind -> (Kg, L_kind)
    adstocked = {}
    for kind, idx in media.groups(channels, "adstock").items():
        w = weights[kind]
        group = lags[idx] if len(idx) < n_channels else lags
        adstocked[kind] = pt.matmul(group[:, :, :w.type.shape[-1]], w[:, :, None])  # (Kg, G*T, 1)
    adstocked = media.assemble_groups(adstocked, media.groups(channels, "adstock"), n_channels, pt, axis=0)
    saturated = {}
    for kind, idx in media.groups(channels, "saturation").items():
        transform = media.SATURATIONS[kind]
        # a channel's row is its own "period axis" with one column: parameters (Kg,) -> (Kg, 1)
        kind_params = {p: params[media.var_name(kind, p)][:, None] for p in transform.param_names}
        saturated[kind] = transform(adstocked[idx] if len(idx) < n_channels else adstocked, kind_params, xp=pt)
    saturated = media.assemble_groups(saturated, media.groups(channels, "saturation"), n_channels, pt, axis=0)
    if rf.any():  # linear in reach
        saturated = pt.where(rf, adstocked, saturated)
    return saturated.reshape((n_channels, n_geos, n_periods)) * params[media.COEF].T[:, :, None]
