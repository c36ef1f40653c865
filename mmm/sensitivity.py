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
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from mmm.config import Config
from mmm.effects import Effects, summarize
from mmm.priors import Prior

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
    from mmm.pipeline import fit

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
