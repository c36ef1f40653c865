"""Which lift test to run next: pre-posterior analysis of candidate tests from a run's own posterior
(docs/experiment-design.md).

A candidate test switches one channel's spend off for ``weeks`` periods, nationally or in one geo of a panel
(the others are its controls), as it ran over the last ``weeks`` periods of the data: its lift is exactly the
lift a ``experiments:`` entry over those periods measures (:mod:`mmm.model.lift_tests`), so the analysis and a
refit with the test's result agree on what was measured. Its readout has standard error

    se = noise_factor x sqrt(periods read x Σ_treated σ_g²) x sqrt(1 + treated / controls)

(σ_g the noise sd of geo g in KPI units, root mean square over the posterior draws; the readout covers the
test and its carry-over tail; the last factor only for a geo split).

Pre-posterior simulation, for each candidate: draw a "true" state from the posterior, simulate the test's
result (its true lift plus readout noise), update the posterior by that result (importance weights
Normal(result | lift_d, se) on the posterior draws: Bayes' rule on the draws), and measure what the update
leaves: the channel's ROAS interval, its width, and which budget split is best. Averaged over simulations:
the expected ROAS interval after the test, the chance the test detects an effect (|result| > 1.96 se), and
the expected value of the information for the plan (EVSI: the expected profit of choosing the split after
the test minus choosing it now, over splits that move budget into or out of the channel), and the expected
error of the ROAS point figure (the posterior mean) against the simulated truth, before and after.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from mmm.analysis.effects import summarize
from mmm.analysis.lift_tests import incremental_draws
from mmm.data.panel import Panel
from mmm.data.panel_design import PanelScaling
from mmm.model.roas_prior import tail_length
from mmm.spec.config import Config, ConfigError
from mmm.spec.lift_tests import Experiment

DETECT_Z = 1.96  # a two-sided 5% test
SPLIT_MULTIPLIERS = (0.0, 0.5, 1.0, 1.5, 2.0)  # the plans compared: the tested channel's spend x these
MIN_ESS = 30  # importance weights with fewer effective draws than this cannot describe the updated posterior


@dataclass(frozen=True)
class Candidate:
    """One lift test: ``channel`` off for ``weeks`` periods, nationally (``geo`` None) or in ``geo`` alone."""

    channel: str
    weeks: int
    geo: str | None = None

    @property
    def design(self) -> str:
        return "national" if self.geo is None else f"geo split: {self.geo}"

    @property
    def label(self) -> str:
        return f"{self.channel} off, {self.weeks} periods, {self.design}"

    def experiment(self, dates: pd.DatetimeIndex, result: float = 0.0, se: float = 1.0) -> Experiment:
        """The ``experiments:`` entry that measures this test's lift (its periods: the data's last ``weeks``)."""
        start, end = dates[-self.weeks], dates[-1]
        return Experiment(channel=self.channel, start=start.date().isoformat(), end=end.date().isoformat(),
                          incremental_kpi=float(result), se=float(se), geo=self.geo,
                          name=f"design {self.label}")


def candidates(config: Config, panel: Panel, channels: list[str] | None, weeks: list[int],
               geos: list[str] | None) -> tuple[list[Candidate], list[Candidate]]:
    """Every (channel, duration, design): a national test, and on a panel a geo split in each of ``geos``
    (default: the three geos that spend most on the channel); and those left out because the channel did not
    spend over the periods they would switch off (they would measure nothing)."""
    names = config.channel_names
    chosen = list(channels or names)
    unknown = [c for c in chosen if c not in names]
    if unknown:
        raise ConfigError(f"--channels: unknown channel(s) {', '.join(unknown)}; the run's channels are "
                          f"{', '.join(names)}")
    bad = [w for w in weeks if not 1 <= int(w) < panel.n_periods]
    if bad:
        raise ConfigError(f"--weeks: a test lasts 1 to {panel.n_periods - 1} periods; got {bad}")
    if geos and panel.n_geos == 1:
        raise ConfigError("--geos: this run is national (one series); a geo split needs a run fitted on a geo panel")
    missing = [g for g in geos or [] if g not in panel.geos]
    if missing:
        raise ConfigError(f"--geos: unknown geo(s) {', '.join(missing)}; the run's geos are {', '.join(panel.geos)}")
    out = []
    for channel in chosen:
        spend_by_geo = panel.spend[..., panel.channels.index(channel)].sum(axis=1) if panel.n_geos > 1 else None
        for w in sorted({int(x) for x in weeks}):
            out.append(Candidate(channel, w))
            if spend_by_geo is not None:
                split = geos or [panel.geos[i] for i in np.argsort(-spend_by_geo)[:3]]
                out += [Candidate(channel, w, geo) for geo in split]
    idle = [c for c in out if recent_spend(panel, c) <= 0]
    kept = [c for c in out if c not in idle]
    if not kept:
        raise ConfigError(f"no candidate test: {', '.join(chosen)} had no spend in the data's last "
                          f"{max(weeks)} periods, so switching them off would measure nothing; choose other "
                          "--channels or longer --weeks")
    return kept, idle


def recent_spend(panel: Panel, test: Candidate, weeks: int | None = None) -> float:
    """The spend a test switches off: the channel's over the data's last ``weeks`` periods (in its geo, or all)."""
    rows = np.asarray(panel.spend)[:, -(weeks or test.weeks):, panel.channels.index(test.channel)]
    return float(rows.sum() if test.geo is None else rows[panel.geos.index(test.geo)].sum())


def readout_se(candidate: Candidate, config: Config, panel: Panel, noise_sd: np.ndarray,
               noise_factor: float) -> float:
    """The test's standard error (KPI units); ``noise_sd`` (G,): each geo's noise sd (root mean square over draws)."""
    periods = candidate.weeks + tail_length(config)
    if candidate.geo is None:
        variance = periods * float((noise_sd ** 2).sum())
    else:
        g = panel.geos.index(candidate.geo)
        variance = periods * float(noise_sd[g] ** 2) * (1.0 + 1.0 / max(panel.n_geos - 1, 1))
    return noise_factor * float(np.sqrt(variance))


def lift_draws(posterior: xr.Dataset, config: Config, panel: Panel, scaling: PanelScaling,
               tests: list[Candidate]) -> np.ndarray:
    """(D, C) the model's lift of each candidate per posterior draw, KPI units."""
    experiments = tuple(c.experiment(panel.dates) for c in tests)
    return incremental_draws(replace(config, experiments=experiments), panel, scaling, posterior)


@dataclass
class Outlook:
    """What one candidate test is expected to do (pre-posterior averages over simulated results)."""

    lift: dict[str, float]  # the test's lift, KPI units (mean, median, lo, hi)
    se: float
    power: float
    roas_now: dict[str, float]
    roas_after: dict[str, float]  # expected lo and hi after the test (mean of each simulation's)
    width_now: float
    width_after: float
    evsi: float  # currency
    ess_median: float
    # the ROAS point figure's (posterior mean's) error against the simulated truth, as a share of it: before the
    # test and expected after it
    error_now: float = float("nan")
    error_after: float = float("nan")
    # the plan chosen now (the best of the compared splits): the interval width of its profit, now and expected after
    plan_profit_width_now: float = float("nan")
    plan_profit_width_after: float = float("nan")

    @property
    def width_reduction(self) -> float:
        return 1.0 - self.width_after / self.width_now if self.width_now > 0 else 0.0


def preposterior(lift: np.ndarray, roas: np.ndarray, se: float, utilities: np.ndarray | None, interval: float,
                 simulations: int = 400, seed: int = 0) -> Outlook:
    """Simulate ``simulations`` results of a test whose lift per posterior draw is ``lift`` (D,), update by
    each (importance weights), and average what is left of ``roas`` (D,): the channel's ROAS per draw.

    ``utilities`` (D, A): each candidate plan's profit per draw (None: no value of information).
    """
    lift = np.asarray(lift, dtype=float)
    n = len(lift)
    rng = np.random.default_rng(seed)
    truth = np.linspace(0, n - 1, simulations).round().astype(int)  # "true" states spread over the posterior
    results = lift[truth] + se * rng.standard_normal(simulations)
    log_w = -0.5 * ((results[:, None] - lift[None, :]) / se) ** 2
    weights = np.exp(log_w - log_w.max(axis=1, keepdims=True))
    weights /= weights.sum(axis=1, keepdims=True)  # (S, D)
    ess = 1.0 / (weights ** 2).sum(axis=1)
    q = ((1 - interval) / 2, (1 + interval) / 2)
    lo, hi = _weighted_interval(weights, roas, q)
    now_lo, now_hi = np.quantile(roas, q)
    true_roas = roas[truth]
    scale = np.where(np.abs(true_roas) > 0, np.abs(true_roas), 1.0)
    error_now = float(np.mean(np.abs(roas.mean() - true_roas) / scale))
    error_after = float(np.mean(np.abs(weights @ roas - true_roas) / scale))
    evsi, plan_width = 0.0, (float("nan"), float("nan"))
    if utilities is not None:
        expected_now = utilities.mean(axis=0).max()
        evsi = float((weights @ utilities).max(axis=1).mean() - expected_now)
        profit = utilities[:, int(np.argmax(utilities.mean(axis=0)))]  # the plan chosen now: its profit per draw
        plan_lo, plan_hi = _weighted_interval(weights, profit, q)
        plan_width = (float(np.diff(np.quantile(profit, q))[0]), float((plan_hi - plan_lo).mean()))
    return Outlook(lift=summarize(lift, interval), se=float(se),
                   power=float(np.mean(np.abs(results) > DETECT_Z * se)),
                   roas_now=summarize(roas, interval), roas_after={"lo": float(lo.mean()), "hi": float(hi.mean())},
                   width_now=float(now_hi - now_lo), width_after=float((hi - lo).mean()), evsi=max(evsi, 0.0),
                   ess_median=float(np.median(ess)), error_now=error_now, error_after=error_after,
                   plan_profit_width_now=plan_width[0], plan_profit_width_after=plan_width[1])


def _weighted_interval(weights: np.ndarray, values: np.ndarray, q: tuple[float, float]) -> tuple[np.ndarray, ...]:
    """(S,) lower and upper quantiles ``q`` of ``values`` (D,) under each row of ``weights`` (S, D)."""
    order = np.argsort(values)
    cumulative = np.cumsum(weights[:, order], axis=1)
    last = len(values) - 1
    return tuple(values[order][np.clip((cumulative < level).sum(axis=1), 0, last)] for level in q)


def split_utilities(plan_model: Any, channel: str) -> tuple[np.ndarray, list[str]]:
    """(D, A) expected profit per draw of the plans that give ``channel`` its run-rate x each of
    :data:`SPLIT_MULTIPLIERS` over the plan periods, the other channels sharing the rest of the same budget in
    their run-rate mix; and the plans' labels."""
    run_rate = np.asarray(plan_model.run_rate, dtype=float)
    budget = float(run_rate.sum())
    k = plan_model.channels.index(channel)
    others = run_rate.copy()
    others[k] = 0.0
    columns, labels = [], []
    for m in SPLIT_MULTIPLIERS:
        own = min(run_rate[k] * m, budget)
        spend = others / others.sum() * (budget - own) if others.sum() > 0 else np.zeros_like(run_rate)
        spend[k] = own
        values = plan_model.channel_values(spend)
        columns.append((values * plan_model.margins).sum(axis=1) - budget)
        labels.append(f"{channel} x{m:g}")
    return np.stack(columns, axis=1), labels
