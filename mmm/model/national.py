"""The national MMM as a PyMC model. The only module (with fit.py) that touches PyMC.

Expected KPI, in model units (KPI divided by its mean)::

    mu_t = intercept + trend * years_t + fourier_t @ season + controls_t @ control_coef
           + sum_k channel_coef_k * saturation_k(adstock_k(spend_tk / mean_spend_k))

For sampling (``centered_baseline``), the intercept is drawn as the *level* ``intercept +
mean media`` over the fitted periods: the data pin the level whatever the media parameters are,
so a saturation or coefficient move no longer drags the intercept along (a saturated always-on
channel looks like baseline). The posterior is the same: ``intercept = level - mean media`` has
unit Jacobian, the level has a flat prior and the intercept's prior enters as a potential; the
posterior reports the intercept (:data:`SAMPLED_FORMS`). Forward prior sampling cannot draw a
flat variable, so everything but the fit builds the plain model.

Every input is ``pm.Data`` (so the compiled log-density is cached on disk and
reused across processes and refits), every coordinate is named, and nothing
depends on the position of a channel in the user's file.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from mmm.model import lift_tests as experiments

from mmm.model import media

from mmm.model import roas_prior as roi_prior
from mmm.spec.config import ChannelSpec, Config, ConfigError, default_coef_prior
from mmm.data.design import Design
from mmm.model.distributions import prior_logp, to_pymc
from mmm.spec.priors import Prior
from mmm.model.transforms import lag_stack

LEVEL = "level"  # the intercept's sampled form: intercept + mean media contribution over the fitted periods
SAMPLED_FORMS = {LEVEL: "intercept"}  # sampled free variable -> the Deterministic the posterior reports


def build_model(config: Config, design: Design, n_train: int | None = None, fit_start: int = 0, *,
                centered_baseline: bool = False) -> pm.Model:
    """Build the PyMC model for ``config`` on ``design`` (model units).

    With ``n_train``, only the first ``n_train`` periods enter the likelihood (a holdout);
    the rest still carry spend into the adstock and are predicted, not fitted.
    With ``fit_start``, the periods before it stay out of the likelihood too (a sequential
    update, :mod:`mmm.runs.refresh`): their spend still feeds the adstock carry-in.
    With ``centered_baseline``, the intercept is sampled as the level (module docstring); sample such a
    model with ``reported=SAMPLED_FORMS`` (:func:`mmm.model.sample.sample`).
    """
    if list(design.channels) != config.channel_names:
        raise ValueError(f"design channels {design.channels} do not match config channels {config.channel_names}")
    coords = {
        "date": np.asarray(design.dates),
        "channel": config.channel_names,
        "control": list(design.controls),
        "fourier": list(design.fourier_names),
    }
    for kind, idx in {**media.groups(config.channels, "adstock"), **media.groups(config.channels, "saturation")}.items():
        dim = media.group_dim(kind, idx, len(config.channels))
        if dim != "channel":
            coords[dim] = [config.channel_names[i] for i in idx]

    opts = config.model
    with pm.Model(coords=coords) as model:
        max_lag = max(c.max_lag for c in config.channels)
        model.add_coord("lag", np.arange(max_lag))
        spend_lags = pm.Data("spend_lags", lag_stack(design.spend, max_lag), dims=("date", "channel", "lag"))
        n_fit = design.n_periods if n_train is None else n_train
        if not 0 <= fit_start < n_fit:
            raise ValueError(f"fit_start={fit_start} leaves no period to fit (periods to fit end at {n_fit})")
        model.add_coord("fit_date", np.asarray(design.dates)[fit_start:n_fit])
        kpi = pm.Data("kpi", design.kpi[fit_start:n_fit], dims="fit_date")

        centered = centered_baseline and can_center(opts.prior("intercept"))
        mu = (pm.Flat(LEVEL, initval=design.kpi[fit_start:n_fit].mean()) if centered
              else to_pymc(opts.prior("intercept"), "intercept"))
        level = mu
        if opts.trend:
            time = pm.Data("time", design.time, dims="date")
            mu = mu + to_pymc(opts.prior("trend"), "trend") * time
        if design.fourier.shape[1]:
            fourier = pm.Data("fourier_terms", design.fourier, dims=("date", "fourier"))
            mu = mu + pt.dot(fourier, to_pymc(opts.prior("fourier"), "season", dims="fourier"))
        if design.control_values.shape[1]:
            controls = pm.Data("control_values", design.control_values, dims=("date", "control"))
            mu = mu + pt.dot(controls, to_pymc(opts.prior("control_coef"), "control_coef", dims="control"))

        defaults = {"coef": [default_coef_prior(r, opts.media_roas_scale) for r in design.spend_to_kpi]}
        roas_priors = bool(roi_prior.roas_channels(config))  # then channel_coef follows from ROAS (mmm.model.roas_prior)
        params = {name: to_pymc(_group_prior(config.channels, param, idx, defaults), name, dims=dim)
                  for name, param, dim, idx in media.parameter_layout(config.channels)
                  if not (roas_priors and name == media.COEF)}
        if roas_priors:
            params[media.COEF] = roi_prior.channel_coef(
                config, design, params, lambda idx: _group_prior(config.channels, "coef", idx, defaults))
        experiments.add_likelihood(config, design, params)  # lift tests, if any (mmm.model.lift_tests)
        media_total = media.contributions(spend_lags, config.channels, params, xp=pt, lagged=True).sum(axis=-1)
        if centered:
            mu = mu + centered_intercept(level, media_total[fit_start:n_fit].mean(), opts.prior("intercept"), None) - level
        mu = mu + media_total

        sigma = to_pymc(opts.prior("sigma"), "sigma")
        if opts.likelihood == "student_t":
            nu = to_pymc(opts.prior("nu"), "nu")
            pm.StudentT("kpi_obs", nu=nu, mu=mu[fit_start:n_fit], sigma=sigma, observed=kpi, dims="fit_date")
        else:
            pm.Normal("kpi_obs", mu=mu[fit_start:n_fit], sigma=sigma, observed=kpi, dims="fit_date")
    return model


def can_center(intercept_prior: Prior) -> bool:
    """A bounded intercept prior would put a hard wall in the level's flat space: sample it plainly."""
    return intercept_prior.support == "real"


def centered_intercept(level, media_mean, prior: Prior, dims):
    """The intercept a sampled level implies, as a Deterministic, with ``prior`` added as its potential."""
    intercept = pm.Deterministic("intercept", level - media_mean, dims=dims)
    pm.Potential("intercept_prior", prior_logp(prior, intercept).sum())
    return intercept


def free_parameter_names(config: Config, design: Design) -> list[str]:
    """Names of the model's parameters, in a stable order (what the posterior holds)."""
    names = ["intercept"]
    if config.model.trend:
        names.append("trend")
    if design.fourier.shape[1]:
        names.append("season")
    if design.control_values.shape[1]:
        names.append("control_coef")
    names += [name for name, *_ in media.parameter_layout(config.channels)]
    names.append("sigma")
    if config.model.likelihood == "student_t":
        names.append("nu")
    return names


def _group_prior(channels: Sequence[ChannelSpec], param: str, idx: Sequence[int],
                 defaults: dict[str, list[Prior]]) -> Prior:
    """One prior for a parameter shared by several channels: per-channel values stacked."""
    priors = [channels[i].prior(param) or defaults[param][i] for i in idx]
    dists = {p.dist for p in priors}
    if len(dists) > 1:
        names = ", ".join(f"{channels[i].name}: {p.dist}" for i, p in zip(idx, priors, strict=True))
        raise ConfigError(f"priors for `{param}` must use one distribution family across channels that share "
                          f"the transform ({names}); change the overrides to one family")
    if all(p == priors[0] for p in priors):
        return priors[0]
    stacked = {k: np.array([np.asarray(p.params[k], dtype=float) for p in priors]) for k in priors[0].params}
    return Prior(priors[0].dist, stacked)
