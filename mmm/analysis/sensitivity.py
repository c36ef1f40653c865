"""Prior sensitivity: refit with the media-effect priors made narrower and wider, and see how far ROAS moves.

The scaled priors are the ones that set each channel's effect size — a ROAS
prior where a channel has one, else its coefficient prior (the default one via
``model.media_roas_scale``). Scaling by f multiplies their spread by f and keeps
their centre where the family allows: Normal/StudentT/HalfNormal/HalfStudentT and
LogNormal (log-scale sd, so the median stays) scale ``sigma``; Gamma keeps its mean
(alpha, beta / f²); Exponential scales its mean. Baseline and transform priors are
left as they are.

A channel whose posterior mean ROAS moves by more than ``SENSITIVE_SHIFT`` (20%)
between factors is "prior-sensitive": that figure leans on the assumption.

A geo run is refitted as a panel and compared on its national ROAS (sums over geos);
its power-scaling check is :func:`mmm.analysis.geo_sensitivity.geo_power_scaling`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from mmm.spec.config import Config
from mmm.analysis.effects import Effects, summarize
from mmm.spec.priors import Prior

DEFAULT_FACTORS = (0.5, 2.0)
SENSITIVE_SHIFT = 0.2


def scale_prior(prior: Prior, factor: float) -> Prior:
    """``prior`` with its spread multiplied by ``factor`` (see the module docstring)."""
    p = dict(prior.params)
    if prior.dist in ("Normal", "StudentT", "HalfNormal", "HalfStudentT", "LogNormal", "TruncatedNormal"):
        p["sigma"] = np.asarray(p["sigma"], dtype=float) * factor
    elif prior.dist == "Gamma":
        p["alpha"] = np.asarray(p["alpha"], dtype=float) / factor**2
        p["beta"] = np.asarray(p["beta"], dtype=float) / factor**2
    elif prior.dist == "Exponential":
        p["lam"] = np.asarray(p["lam"], dtype=float) / factor
    else:
        raise ValueError(f"cannot widen a {prior.dist} prior by a factor; use a LogNormal, Gamma or HalfNormal "
                         f"media prior for the sensitivity check")
    return Prior(prior.dist, p)


def scale_media_priors(config: Config, factor: float) -> Config:
    """``config`` with every channel's effect prior (ROAS or coefficient) spread scaled by ``factor``."""
    channels = []
    for ch in config.channels:
        update: dict[str, Any] = {}
        if ch.roas_prior is not None:
            update["roas_prior"] = scale_prior(ch.roas_prior, factor)
        if "coef" in ch.priors:
            update["priors"] = {**ch.priors, "coef": scale_prior(ch.priors["coef"], factor)}
        channels.append(replace(ch, **update) if update else ch)
    model = replace(config.model, media_roas_scale=config.model.media_roas_scale * factor,
                    roas_prior=None if config.model.roas_prior is None else scale_prior(config.model.roas_prior,
                                                                                        factor))
    return replace(config, channels=tuple(channels), model=model)


@dataclass
class Sensitivity:
    table: pd.DataFrame  # channel, factor, roas mean/median/lo/hi, diagnostics_ok
    movement: pd.DataFrame  # channel, max relative shift of mean ROAS vs factor 1, sensitive

    def to_dict(self) -> dict[str, Any]:
        return {"factors": sorted(set(self.table["factor"])), "sensitive_shift": SENSITIVE_SHIFT,
                "channels": {r.channel: {"max_shift": float(r.max_shift), "sensitive": bool(r.sensitive)}
                             for r in self.movement.itertuples()},
                "table": self.table.to_dict(orient="records")}


def prior_sensitivity(config: Config, data, scaling, baseline: Effects, *, factors=DEFAULT_FACTORS,
                      fit_overrides: dict[str, Any] | None = None, baseline_ok: bool = True) -> Sensitivity:
    """Refit ``config`` with media priors scaled by each factor; compare ROAS with ``baseline`` (factor 1)."""
    from mmm.analysis.pipeline import fit

    rows = [_rows(baseline, 1.0, baseline_ok)]
    for factor in factors:
        scaled = scale_media_priors(config, factor).with_fit(**(fit_overrides or {}))
        fitted = fit(scaled, data, scaling=scaling, reference=False)
        rows.append(_rows(fitted.effects, factor, fitted.diagnostics.ok))
    table = pd.concat(rows, ignore_index=True)
    movement = []
    for channel, group in table.groupby("channel", sort=False):
        base = float(group.loc[group["factor"] == 1.0, "roas_mean"].iloc[0])
        shift = float(np.max(np.abs(group["roas_mean"] - base)) / abs(base)) if base else float("inf")
        movement.append({"channel": channel, "max_shift": shift, "sensitive": shift > SENSITIVE_SHIFT})
    return Sensitivity(table=table, movement=pd.DataFrame(movement))


def _rows(effects: Effects, factor: float, ok: bool) -> pd.DataFrame:
    rows = []
    for k, channel in enumerate(effects.channels):
        s = summarize(effects.roas[:, k], effects.interval)
        rows.append({"channel": channel, "factor": factor, **{f"roas_{k2}": v for k2, v in s.items()},
                     "diagnostics_ok": ok})
    return pd.DataFrame(rows)


__all__ = ["Sensitivity", "prior_sensitivity", "scale_media_priors", "scale_prior"]


# ---- power-scaling sensitivity (no refit) ------------------------------------------------------

PSENSE_THRESHOLD = 0.05  # Kallioinen et al. (2024): above it, the posterior reacts to power-scaling


def power_scaling(config: Config, data, scaling, posterior, effects: Effects | None = None) -> pd.DataFrame:
    """Power-scaling prior and likelihood sensitivity of each channel's ROAS (arviz_stats ``psense``).

    Cheap (importance sampling, no refit): the log prior of every parameter and the pointwise
    log likelihood (KPI periods, and lift experiments if any) are recomputed per draw from the
    config's priors and the posterior. Reading (Kallioinen et al. 2024): prior sensitivity ≥ 0.05
    with likelihood sensitivity ≥ 0.05 suggests prior–data conflict; prior ≥ 0.05 with likelihood
    < 0.05 a strong prior and weak data; otherwise the data dominate.
    """
    import xarray as xr

    from mmm.data.design import build_design
    from mmm.analysis.effects import compute_effects, in_config_order

    data = in_config_order(data, config)
    design = build_design(data, scaling, config.model.seasonality_order)
    effects = effects or compute_effects(posterior, config, data, scaling)
    chains, draws = posterior.sizes["chain"], posterior.sizes["draw"]
    shape = (chains, draws)

    def per_draw(values: np.ndarray) -> xr.DataArray:
        return xr.DataArray(values.reshape(shape), dims=("chain", "draw"))

    log_prior = {name: per_draw(v) for name, v in _log_prior_terms(config, design, posterior).items()}
    n_train = effects.n_train or design.n_periods
    mu = effects.mu[:, :n_train] / design.kpi_scale  # model units, (D, T)
    sigma = posterior["sigma"].values.reshape(-1)[:, None]
    from scipy import stats

    if config.model.likelihood == "student_t":
        nu = posterior["nu"].values.reshape(-1)[:, None]
        pointwise = stats.t.logpdf(design.kpi[:n_train], nu, mu, sigma)
    else:
        pointwise = stats.norm.logpdf(design.kpi[:n_train], mu, sigma)
    log_lik = {"kpi_obs": xr.DataArray(pointwise.reshape(*shape, -1), dims=("chain", "draw", "date"))}
    if getattr(config, "experiments", ()):
        from mmm.model.lift_tests import incremental_draws

        delta = incremental_draws(config, design, posterior)
        obs = np.array([e.incremental_kpi for e in config.experiments])
        se = np.array([e.se for e in config.experiments])
        log_lik["experiment_obs"] = xr.DataArray(stats.norm.logpdf(obs, delta, se).reshape(*shape, -1),
                                                 dims=("chain", "draw", "experiment"))
    return psense_table(effects, xr.Dataset(log_prior), xr.Dataset(log_lik))


def psense_table(effects: Effects, log_prior, log_likelihood) -> pd.DataFrame:
    """Prior and likelihood power-scaling sensitivity of each channel's ROAS in ``effects``, and its reading.

    ``log_prior`` and ``log_likelihood``: Datasets of per-draw log densities (dims chain, draw, ...),
    in the chain-major order of the effects' draws.
    """
    import arviz_stats as azs
    import xarray as xr

    shape = (log_prior.sizes["chain"], log_prior.sizes["draw"])
    roas = xr.DataArray(effects.roas.reshape(*shape, -1), dims=("chain", "draw", "channel"),
                        coords={"channel": effects.channels})
    tree = xr.DataTree.from_dict({"/posterior": xr.Dataset({"roas": roas}), "/log_prior": log_prior,
                                  "/log_likelihood": log_likelihood})
    rows = []
    prior_s = azs.psense(tree, var_names=["roas"], group="prior")["roas"]
    like_s = azs.psense(tree, var_names=["roas"], group="likelihood")["roas"]
    for channel in effects.channels:
        p, lk = float(prior_s.sel(channel=channel)), float(like_s.sel(channel=channel))
        diagnosis = ("prior-data conflict" if p >= PSENSE_THRESHOLD and lk >= PSENSE_THRESHOLD
                     else "strong prior / weak data" if p >= PSENSE_THRESHOLD else "data dominate")
        rows.append({"channel": channel, "prior_sensitivity": p, "likelihood_sensitivity": lk,
                     "diagnosis": diagnosis})
    return pd.DataFrame(rows)


def _log_prior_terms(config: Config, design, posterior) -> dict[str, np.ndarray]:
    """Log prior density per draw, one entry per parameter variable (summed over its coordinates)."""
    from mmm.model import media
    from mmm.model import roas_prior as roi_prior
    from mmm.spec.config import default_coef_prior

    names = config.channel_names
    opts = config.model
    flat = posterior.stack(sample=("chain", "draw"))

    def logpdf(prior: Prior, values: np.ndarray) -> np.ndarray:
        dist = prior.scipy()
        if not hasattr(dist, "logpdf"):
            raise ValueError(f"power-scaling needs the density of every prior; {prior.dist} has none here")
        return np.asarray(dist.logpdf(values), dtype=float)

    def values(var: str, dim: str | None = None, labels: list[str] | None = None) -> np.ndarray:
        da = flat[var]
        if dim is not None:
            da = da.sel({dim: labels})
        return np.asarray(da.transpose("sample", ...).values, dtype=float)

    out = {"intercept": logpdf(opts.prior("intercept"), values("intercept")),
           "sigma": logpdf(opts.prior("sigma"), values("sigma"))}
    if "trend" in flat:
        out["trend"] = logpdf(opts.prior("trend"), values("trend"))
    if "season" in flat:
        out["season"] = logpdf(opts.prior("fourier"), values("season")).sum(axis=-1)
    if "control_coef" in flat:
        out["control_coef"] = logpdf(opts.prior("control_coef"), values("control_coef")).sum(axis=-1)
    if "nu" in flat:
        out["nu"] = logpdf(opts.prior("nu"), values("nu"))
    roi_idx = roi_prior.roas_channels(config)
    for name, param, dim, idx in media.parameter_layout(config.channels):
        if name == media.COEF:
            terms = []
            for i in range(len(names)):
                if i in roi_idx:
                    dim_r = "channel" if len(roi_idx) == len(names) else roi_prior.ROAS_DIM
                    terms.append(logpdf(roi_prior.roas_prior(config, names[i]),
                                        values(roi_prior.ROAS_VAR, dim_r, [names[i]])[:, 0]))
                else:
                    prior = config.channels[i].prior("coef") or default_coef_prior(float(design.spend_to_kpi[i]),
                                                                                   opts.media_roas_scale)
                    var, dim_c = ((media.COEF, "channel") if not roi_idx else (roi_prior.FREE_VAR, roi_prior.FREE_DIM))
                    terms.append(logpdf(prior, values(var, dim_c, [names[i]])[:, 0]))
            out["media_effect"] = np.sum(terms, axis=0)
            continue
        out[name] = np.sum([logpdf(config.channels[i].prior(param), values(name, dim, [names[i]])[:, 0])
                            for i in idx], axis=0)
    return out
