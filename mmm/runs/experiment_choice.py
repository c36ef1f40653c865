"""``mmm design-test RUN``: rank candidate lift tests by what they would settle, from the run's own posterior
(:mod:`mmm.analysis.experiment_design`; docs/experiment-design.md).

A stacked run's draws are the mixture of its candidates' (as its figures are), so a test that would tell the
candidate shapes apart is credited for it. Draws are thinned evenly to ``max_draws``: the lift, the ROAS and the
plans' profit are all computed on the same draws.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from mmm.analysis import experiment_design as design
from mmm.analysis.geo_effects import compute_geo_effects
from mmm.analysis.stacking import mixture_picks
from mmm.planning.plans import plan_model_of
from mmm.runs.folder import Run, load_run
from mmm.spec.candidates import uses_time_varying_media
from mmm.spec.config import ConfigError

RANKINGS = ("width", "error", "value")


@dataclass
class DesignResult:
    """The candidate tests of a run, ranked, with what each is expected to do."""

    run: str
    interval: float
    currency: str
    inputs: dict[str, Any]
    table: pd.DataFrame  # one row per candidate, best first
    notes: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {"run": self.run, "interval": self.interval, "currency": self.currency, "inputs": self.inputs,
                "candidates": self.table.to_dict("records"), "notes": self.notes}


def design_tests(source: str | Path | Run, *, channels: list[str] | None = None, weeks: list[int] = (4, 6, 8),
                 geos: list[str] | None = None, noise_factor: float = 1.0, simulations: int = 400,
                 max_draws: int = 1000, rank_by: str = "width", seed: int = 0) -> DesignResult:
    """Every candidate test of the run ``source`` and its expected outcome, ranked by ``rank_by``: ``width``
    (the largest expected narrowing of the channel's ROAS interval, which is its profit ROI's, first),
    ``error`` (the largest expected cut in the ROAS point figure's error) or ``value`` (the expected value of
    the information for the plan, less what the test costs)."""
    from mmm.analysis.pipeline import load

    if rank_by not in RANKINGS:
        raise ConfigError(f"--rank-by is one of {', '.join(RANKINGS)}; got {rank_by!r}")
    if noise_factor <= 0 or simulations < 50:
        raise ConfigError("--noise-factor must be positive and --simulations at least 50")
    run = source if isinstance(source, Run) else load_run(source)
    config = run.config
    if uses_time_varying_media(config.model.media_effect, config.model.candidates):
        raise ConfigError(f"{run.path}: the run has a time-varying media effect, and a lift test measures the effect "
                          "at its own dates only; design tests on a run with model.media_effect: steady")
    panel, scaling = load(config), run.scaling
    tests, idle = design.candidates(config, panel, channels, list(weeks), geos)
    stacked = run.stacked()
    parts, weights = ([(config, run.posterior()["posterior"].to_dataset())], [1.0]) if stacked is None \
        else stacked[:2]
    sizes = [p.sizes["chain"] * p.sizes["draw"] for _, p in parts]
    picks = mixture_picks(np.asarray(weights), sizes, min(max_draws, sizes[0]))
    lifts, roas, variances, utilities = [], [], [], {c: [] for c in {t.channel for t in tests}}
    labels: dict[str, list[str]] = {}
    for (cfg, posterior), pick in zip(parts, picks, strict=True):
        if not len(pick):
            continue
        thinned = _draws(posterior, pick)
        variances.append(_noise_variance(thinned, scaling, panel))
        lifts.append(design.lift_draws(thinned, cfg, panel, scaling, tests))
        with np.errstate(divide="ignore", invalid="ignore"):
            roas.append(compute_geo_effects(thinned, cfg, panel, scaling).national.roas)
        plans = plan_model_of(thinned, cfg, panel, scaling, max_draws=None)
        for channel in utilities:
            values, labels[channel] = design.split_utilities(plans, channel)
            utilities[channel].append(values)
    lift, roas_draws = np.concatenate(lifts), np.concatenate(roas)
    utility = {c: np.concatenate(v) for c, v in utilities.items()}
    noise_sd = np.sqrt(np.concatenate(variances).mean(axis=0))  # (G,) over the mixture's draws
    finance = config.finance
    rows = []
    for i, test in enumerate(tests):
        k = config.channel_names.index(test.channel)
        se = design.readout_se(test, config, panel, noise_sd, noise_factor)
        outlook = design.preposterior(lift[:, i], roas_draws[:, k], se, utility[test.channel], config.interval,
                                      simulations, seed)
        margin = finance.margin_for(test.channel)
        spend = design.recent_spend(panel, test)
        cost = float(lift[:, i].mean()) * finance.value_per_kpi * margin - spend  # profit given up (+) or saved (-)
        rows.append({
            "channel": test.channel, "weeks": test.weeks, "design": test.design, "geo": test.geo,
            "start": panel.dates[-test.weeks].date().isoformat(), "end": panel.dates[-1].date().isoformat(),
            "spend_switched_off": spend, "lift_mean": outlook.lift["mean"], "lift_lo": outlook.lift["lo"],
            "lift_hi": outlook.lift["hi"], "se": se, "power": outlook.power,
            "roas_now_lo": outlook.roas_now["lo"], "roas_now_hi": outlook.roas_now["hi"],
            "roas_after_lo": outlook.roas_after["lo"], "roas_after_hi": outlook.roas_after["hi"],
            "width_now": outlook.width_now, "width_after": outlook.width_after,
            "width_reduction": outlook.width_reduction,
            "profit_roi_width_now": outlook.width_now * margin, "profit_roi_width_after": outlook.width_after * margin,
            "error_now": outlook.error_now, "error_after": outlook.error_after,
            "error_reduction": outlook.error_now - outlook.error_after,
            "plan_profit_width_now": outlook.plan_profit_width_now,
            "plan_profit_width_after": outlook.plan_profit_width_after,
            "evsi": outlook.evsi, "test_cost": cost, "net_value": outlook.evsi - cost,
            "effective_draws": outlook.ess_median,
        })
    table = pd.DataFrame(rows)
    key = {"width": "width_reduction", "error": "error_reduction", "value": "net_value"}[rank_by]
    table = table.sort_values([key, "evsi"], ascending=False, kind="stable").reset_index(drop=True)
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    notes = [f"left out: {c.label} (no spend in its periods to switch off)" for c in idle]
    thin = table[table["effective_draws"] < design.MIN_ESS]
    if len(thin):
        notes.append(f"{len(thin)} test(s) are so informative that fewer than {design.MIN_ESS} of the {len(lift)} "
                     "draws carry their simulated updates: their expected intervals after the test are rough; "
                     "raise --max-draws")
    inputs = {"weeks": sorted({int(w) for w in weeks}), "channels": list(channels or config.channel_names),
              "geos": geos, "noise_factor": noise_factor,
              "noise_sd": dict(zip(panel.geos, map(float, noise_sd))), "simulations": simulations,
              "draws": int(len(lift)), "rank_by": rank_by, "seed": seed,
              "plans_compared": labels, "plan_periods": int(plans.periods),
              "value_per_kpi": finance.value_per_kpi}
    return DesignResult(run=str(run.manifest.get("run_id", run.path.name)), interval=config.interval,
                        currency=finance.currency, inputs=inputs, table=table, notes=notes)


def _draws(posterior: xr.Dataset, pick: np.ndarray) -> xr.Dataset:
    """The draws at flat (chain-major) positions ``pick``, as one chain."""
    stacked = posterior.stack(sample=("chain", "draw")).isel(sample=pick)
    flat = stacked.drop_vars(["sample", "chain", "draw"]).rename({"sample": "draw"})
    return flat.expand_dims(chain=[0]).assign_coords(draw=np.arange(len(pick))).transpose("chain", "draw", ...)


def _noise_variance(posterior: xr.Dataset, scaling, panel) -> np.ndarray:
    """(D, G) each draw's noise variance per geo, KPI units squared."""
    sigma = np.asarray(posterior["sigma"].transpose("chain", "draw", ...).values, dtype=float)
    sigma = sigma.reshape(sigma.shape[0] * sigma.shape[1], -1)
    if sigma.shape[1] == 1 and panel.n_geos > 1:
        sigma = np.repeat(sigma, panel.n_geos, axis=1)
    return (sigma * np.array([scaling.geo(g).kpi for g in range(panel.n_geos)])) ** 2

