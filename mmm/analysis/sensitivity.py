"""Prior sensitivity: refit with the media-effect priors made narrower and wider, and see how far ROAS moves.

The scaled priors are the ones that set each channel's effect size — a ROAS
prior where a channel has one, else its coefficient prior (the default one via
``model.media_roas_sigma``). Scaling by f multiplies their spread by f and keeps
their centre where the family allows: Normal/StudentT/HalfNormal/HalfStudentT and
LogNormal (log-scale sd, so the median stays) scale ``sigma``; Gamma keeps its mean
(alpha, beta / f²); Exponential scales its mean. Baseline and transform priors are
left as they are.

A channel whose posterior mean ROAS moves by more than ``SENSITIVE_SHIFT`` (20%)
between factors is "prior-sensitive": that figure leans on the assumption.

A panel is refitted as a panel and compared on its national ROAS (sums over geos).
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
    model = replace(config.model, media_roas_sigma=config.model.media_roas_sigma * factor,
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


def power_scaling(config: Config, panel, scaling, posterior, effects: Effects) -> pd.DataFrame:
    """Power-scaling prior and likelihood sensitivity of each channel's (national) ROAS (arviz_stats ``psense``).

    Cheap (importance sampling, no refit): the log prior of every parameter and the pointwise
    log likelihood (every geo's KPI periods, and lift tests if any) are evaluated per draw by the
    model itself (:mod:`mmm.model.pointwise`), so they follow its parameterization, ROAS priors
    included. ``effects``: the run's national figures. Reading (Kallioinen et al. 2024): prior
    sensitivity ≥ 0.05 with likelihood sensitivity ≥ 0.05 suggests prior–data conflict; prior ≥ 0.05
    with likelihood < 0.05 a strong prior and weak data; otherwise the data dominate.
    """
    from mmm.analysis.fitted_periods import training_periods
    from mmm.data.panel_design import build_panel_design
    from mmm.model.build import build_model
    from mmm.model.pointwise import log_prior_and_likelihood

    model = build_model(config, build_panel_design(panel, scaling, config.design),
                        n_train=training_periods(config, panel.national()))
    return psense_table(effects, *log_prior_and_likelihood(model, posterior))


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
