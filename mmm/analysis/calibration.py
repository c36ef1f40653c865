"""Is a figure the data or our assumption? Prior vs posterior per channel, and
whether an experiment or a prior disagrees with what the KPI data say.

Prior vs posterior (per channel, on ROAS — what finance reads)
    * ``contraction`` = 1 − posterior 90% width / prior 90% width (1: the data pinned it down; 0: no narrowing),
    * ``shift`` = |posterior median − prior median| / prior 90% width,
    * ``overlap`` = overlap coefficient ∫ min(prior, posterior) of the two densities (1: identical, 0: disjoint),
    * ``prior_tail`` = two-sided prior tail probability of the posterior median (small: prior–data conflict),
    * ``verdict``: "prior" when the two densities still overlap by ≥ 0.8 (or contraction and shift
      are both below the health card's ``contraction_review``, 0.1): the figure is mostly our
      assumption, even if the data trimmed a tail; "data" when they overlap by < 0.5; else "mixed".
      "Data" means the evidence: the KPI data and any experiments.

Experiment–data conflict (per experiment)
    The question is whether the measured lift agrees with what the prior and the
    KPI data *alone* say about that test's incremental KPI δ (a Box-style prior
    predictive check of the experiment against the data-only posterior).

    * Exact (the default of :func:`mmm.analysis.pipeline.fit`): a reference fit of the same
      config without experiments gives draws of δ; with their mean m₀ and sd s₀,
      ``z = (obs − m₀) / sqrt(s₀² + se²)`` and the two-sided p-value comes from the
      draws themselves: p = 2·min(P(δ₀ + ε > obs), P(δ₀ + ε < obs)), ε ~ N(0, se²).
    * Approximate (no reference fit): remove the experiment's Gaussian term from the
      calibrated posterior of δ ≈ Normal(m, s²) ("cavity"): the data-only precision is
      1/s² − 1/se², so ``z = (obs − m)/s · sqrt(k/(1 − k))`` with k = s²/se², the share of
      δ's precision the experiment supplies. When k is near 1 the draws no longer hold
      what the data alone say (Monte-Carlo noise swamps it), so 1 − k is floored at
      ``MIN_DATA_SHARE`` and z is only a lower bound — which is why fit() refits
      without experiments by default. k is also the Pareto k PSIS leave-one-out would
      meet on this term (reported beside it from arviz_stats): importance reweighting
      cannot undo an experiment that matters.

    z ~ N(0, 1) when experiment and data agree; the health card's
    ``experiment_conflict`` check grades the largest |z|.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

MIN_DATA_SHARE = 0.02  # floor of 1 − k: below it the data carry (almost) nothing about the test
VERDICT_PRIOR_OVERLAP = 0.8  # at least this overlap with the prior: the figure is mostly the prior
VERDICT_DATA_OVERLAP = 0.5  # below this overlap: the evidence moved it


@dataclass(frozen=True)
class ExperimentCheck:
    label: str
    channel: str
    observed: float  # KPI units
    se: float
    posterior_mean: float  # model's incremental KPI of the test, experiment included
    posterior_sd: float
    data_mean: float  # leave-experiment-out (cavity) mean and sd of the test's incremental KPI
    data_sd: float
    experiment_share: float  # k: share of the posterior precision of δ that the experiment supplies
    pareto_k: float
    z: float  # standardized disagreement of measured vs data-only incremental KPI
    p_value: float
    method: str

    def to_dict(self) -> dict[str, Any]:
        return {k: (float(v) if isinstance(v, (float, np.floating)) else v) for k, v in self.__dict__.items()}


def checks_from_draws(config, delta: np.ndarray, reference: np.ndarray | None = None) -> list[ExperimentCheck]:
    """One :class:`ExperimentCheck` per lift test in ``config``, from the model's incremental KPI of each test, (D, E) draws in KPI
    units: with the experiments (``delta``) and, for the exact check, without them (``reference``)."""
    from arviz_stats.base import array_stats
    from scipy import stats

    out = []
    for i, e in enumerate(config.experiments):
        d = delta[:, i]
        m, s = float(d.mean()), float(d.std(ddof=1))
        share = s**2 / e.se**2
        log_lik = -0.5 * ((e.incremental_kpi - d) / e.se) ** 2
        try:
            _, khat = array_stats.psislw(log_lik - np.max(log_lik), r_eff=1.0)  # takes the log-likelihood
            khat = float(khat)
        except (ValueError, FloatingPointError):
            khat = float("nan")
        if reference is not None:
            d0 = reference[:, i]
            data_mean, data_sd = float(d0.mean()), float(d0.std(ddof=1))
            z = (e.incremental_kpi - data_mean) / np.sqrt(data_sd**2 + e.se**2)
            above = float(np.mean(stats.norm.sf((e.incremental_kpi - d0) / e.se)))  # P(δ₀ + ε > obs)
            p_value, method = 2.0 * min(above, 1.0 - above), "reference fit without experiments"
        else:
            kept = min(share, 1.0 - MIN_DATA_SHARE)
            z = (e.incremental_kpi - m) / s * np.sqrt(kept / (1.0 - kept)) if s > 0 else float("nan")
            data_sd = float(np.sqrt(s**2 / (1.0 - kept)))
            data_mean = float(e.incremental_kpi - (e.incremental_kpi - m) / (1.0 - kept))
            p_value, method = float(2 * stats.norm.sf(abs(z))), "cavity approximation (no reference fit)"
        out.append(ExperimentCheck(label=e.label, channel=e.channel, observed=e.incremental_kpi, se=e.se,
                                   posterior_mean=m, posterior_sd=s, data_mean=data_mean, data_sd=data_sd,
                                   experiment_share=float(min(share, 1.0)), pareto_k=khat, z=float(z),
                                   p_value=float(p_value), method=method))
    return out


def prior_vs_posterior(prior_roas: np.ndarray, posterior_roas: np.ndarray, channels: list[str],
                       interval: float = 0.9, prior_only_review: float = 0.1) -> dict[str, dict[str, Any]]:
    """Per channel: prior ROAS summary and how far the data moved it (see the module docstring)."""
    from mmm.analysis.effects import summarize
    from mmm.analysis.health import prior_movement

    contraction, shift = prior_movement(prior_roas, posterior_roas)
    out = {}
    for k, channel in enumerate(channels):
        prior, post = prior_roas[:, k], posterior_roas[:, k]
        below = float(np.mean(prior < np.median(post)))
        moved = max(contraction[k], shift[k])
        common = overlap(prior, post)
        verdict = ("prior" if common >= VERDICT_PRIOR_OVERLAP or moved < prior_only_review
                   else "data" if common < VERDICT_DATA_OVERLAP else "mixed")
        out[channel] = {"prior_roas": summarize(prior, interval), "contraction": float(contraction[k]),
                        "shift": float(shift[k]), "overlap": common,
                        "prior_tail": 2.0 * min(below, 1.0 - below), "verdict": verdict}
    return out


def overlap(a: np.ndarray, b: np.ndarray, bins: int = 60) -> float:
    """Overlap coefficient ∫ min(p_a, p_b) of two sets of draws, by a shared histogram.

    Bins span the pooled 0.5–99.5% range, so one heavy tail does not squeeze the rest into one bin.
    """
    pooled = np.concatenate([a, b])
    lo, hi = np.quantile(pooled, [0.005, 0.995])
    if not hi > lo:
        return 1.0
    edges = np.linspace(lo, hi, bins + 1)
    pa = np.histogram(np.clip(a, lo, hi), edges)[0] / len(a)
    pb = np.histogram(np.clip(b, lo, hi), edges)[0] / len(b)
    return float(np.minimum(pa, pb).sum())


class CalibrationViews:
    """Prior vs posterior and the lift-test checks of a fitted run, national or geo (a mixin).

    The run provides ``config``, ``effects`` (its headline figures: national for a panel),
    ``_cache``, ``_prior_figures(n_draws)`` (the same figures under the priors alone) and
    ``experiment_checks()``; this adds them to its health card and summary the same way.
    """

    PRIOR_DRAWS = 1000

    def prior_effects(self, n_draws: int = PRIOR_DRAWS):
        """The figures the priors alone imply (same window and finance inputs), e.g. prior ROAS."""
        if n_draws != self.PRIOR_DRAWS:
            return self._prior_figures(n_draws)
        if "prior_effects" not in self._cache:
            self._cache["prior_effects"] = self._prior_figures(n_draws)
        return self._cache["prior_effects"]

    def prior_vs_posterior(self) -> dict[str, dict[str, Any]]:
        """Per channel: prior ROAS and how far the data moved it (see the module docstring)."""
        if "prior_posterior" not in self._cache:
            self._cache["prior_posterior"] = prior_vs_posterior(self.prior_effects().roas, self.effects.roas,
                                                                self.effects.channels, self.config.interval)
        return self._cache["prior_posterior"]

    def with_calibration_checks(self, checks: list) -> list:
        """The health card plus the prior's overlap, prior-data conflict and, with experiments, their conflict."""
        from dataclasses import replace

        from mmm.analysis.health import experiment_conflict, prior_conflict

        moved = self.prior_vs_posterior()
        overlaps = "; overlap with the prior (1 = unchanged): " + ", ".join(
            f"{c} {v['overlap']:.2f} ({v['verdict']})" for c, v in moved.items())
        checks = [replace(c, detail=c.detail + overlaps) if c.name == "prior_contraction" else c for c in checks]
        checks.append(prior_conflict(moved))
        if self.config.experiments:
            checks.append(experiment_conflict(self.experiment_checks()))
        return checks

    def add_calibration(self, summary: dict[str, Any]) -> dict[str, Any]:
        """``summary`` with each channel's ``prior_posterior`` and, with experiments, their checks."""
        for channel, moved in self.prior_vs_posterior().items():
            summary["channels"][channel]["prior_posterior"] = moved  # is this figure the data or our prior?
        if self.config.experiments:
            summary["experiments"] = [c.to_dict() for c in self.experiment_checks()]
        return summary
