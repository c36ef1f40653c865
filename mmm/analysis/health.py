"""The model health card: PASS / REVIEW / FAIL checks with their thresholds shown.

Checks are data (STYLE.md, "Declarative health checks"): each :class:`Check` holds
what it measures in one plain sentence, the measured value, the thresholds at
which it turns REVIEW and FAIL, and its status. Every threshold lives in
:class:`HealthThresholds`; the report only renders the list.

A REVIEW means "a person should look before the figures are used"; a FAIL means
"do not use the ROI figures as they stand" (the report puts a warning banner on them).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np
import xarray as xr

from mmm.model import media
from mmm.spec.config import Config
from mmm.spec.sections import default_coef_prior
from mmm.analysis.effects import Effects
from mmm.model.sample import Diagnostics

PASS, REVIEW, FAIL = "PASS", "REVIEW", "FAIL"
_PRIOR_SD_DRAWS = 200_000  # draws used for a prior sd SciPy cannot give in closed form
_PRIOR_SD_SEED = 0


@dataclass(frozen=True)
class HealthThresholds:
    """Every threshold of the health card, in one place.

    Attributes
    ----------
    rhat_review, rhat_fail : float
        Largest R-hat over all parameters above which the card says REVIEW (1.01,
        the usual modern bar) and FAIL (1.05: chains clearly disagree).
    ess_fail_fraction : float
        Bulk ESS REVIEWs below the fit's own gate (``diagnostics.thresholds``:
        ``min_ess_bulk_per_chain`` x chains) and FAILs below this fraction of it (0.5).
    divergence_fail_share : float
        Any divergent transition is a REVIEW; more than this share of all draws (1%) FAILs.
    r2_review, r2_fail : float
        In-sample R² below which the fit is REVIEW (0.5) or FAIL (0.2).
    mape_review, mape_fail : float
        In-sample mean absolute percentage error above which the fit is REVIEW (15%) or FAIL (30%).
    negative_baseline_periods : float
        A draw "has a negative baseline" when its baseline is below zero in more than this
        share of periods (5%).
    negative_baseline_review, negative_baseline_fail : float
        Share of such draws above which the card says REVIEW (5%) or FAIL (20%).
    roas_mean_review, roas_mean_fail : float
        Highest channel's posterior mean ROAS above which REVIEW (20) or FAIL (50).
    roas_extreme : float
        A ROAS above this (50) is treated as implausible for any channel.
    roas_extreme_review, roas_extreme_fail : float
        Highest channel's P(ROAS > ``roas_extreme``) above which REVIEW (5%) or FAIL (50%:
        the median itself is implausible).
    contraction_review : float
        Prior-to-posterior contraction (1 − posterior var / prior var of a channel's
        coefficient) below which the channel is REVIEW (0.1). Never FAIL: a weakly
        informed channel is a caveat, not an error.
    autocorr_review, autocorr_fail : float
        Lag-1 autocorrelation of the residuals above which REVIEW (0.3) or FAIL (0.6).
    experiment_conflict_review, experiment_conflict_fail : float
        Largest |z| of a lift experiment against what the prior and KPI data alone say about
        its test (:mod:`mmm.analysis.calibration`) above which REVIEW (2: p < 0.05) or FAIL (4: the experiment
        and the data cannot both be right; the calibrated ROAS is not to be trusted as it stands).
    prior_conflict_review : float
        Smallest two-sided prior tail probability of a channel's posterior median ROAS below
        which REVIEW (0.05: the data put the channel where its prior said it hardly could be).
    """

    rhat_review: float = 1.01
    rhat_fail: float = 1.05
    ess_fail_fraction: float = 0.5
    divergence_fail_share: float = 0.01
    r2_review: float = 0.5
    r2_fail: float = 0.2
    mape_review: float = 0.15
    mape_fail: float = 0.30
    negative_baseline_periods: float = 0.05
    negative_baseline_review: float = 0.05
    negative_baseline_fail: float = 0.20
    roas_mean_review: float = 20.0
    roas_mean_fail: float = 50.0
    roas_extreme: float = 50.0
    roas_extreme_review: float = 0.05
    roas_extreme_fail: float = 0.50
    contraction_review: float = 0.1
    autocorr_review: float = 0.3
    autocorr_fail: float = 0.6
    experiment_conflict_review: float = 2.0
    experiment_conflict_fail: float = 4.0
    prior_conflict_review: float = 0.05


@dataclass(frozen=True)
class Check:
    """One line of the health card.

    ``worse`` says which direction is bad: "above" (the value must stay at or below
    the thresholds) or "below". ``fail`` is None for checks that can only REVIEW.
    A value that could not be computed (NaN) FAILs, or REVIEWs where there is no FAIL.
    """

    name: str
    what: str
    value: float
    review: float
    fail: float | None
    worse: str
    status: str
    detail: str = ""


def grade(value: float, review: float, fail: float | None, worse: str) -> str:
    """PASS / REVIEW / FAIL of ``value`` against its thresholds (strict inequalities)."""
    if not math.isfinite(value):
        return REVIEW if fail is None else FAIL
    beyond = (lambda t: value > t) if worse == "above" else (lambda t: value < t)
    if fail is not None and beyond(fail):
        return FAIL
    return REVIEW if beyond(review) else PASS


def _check(name: str, what: str, value: float, review: float, fail: float | None, worse: str = "above",
           detail: str = "") -> Check:
    value = float(value)
    return Check(name, what, value, float(review), None if fail is None else float(fail), worse,
                 grade(value, review, fail, worse), detail)


def health_checks(effects: Effects, diagnostics: Diagnostics, posterior: xr.Dataset, config: Config,
                  design_spend_to_kpi: np.ndarray, thresholds: HealthThresholds = HealthThresholds(),
                  prior_roas: np.ndarray | None = None) -> list[Check]:
    """All health checks of one fitted run.

    Parameters
    ----------
    effects : Effects
        Per-draw figures of the run (:func:`mmm.analysis.effects.compute_effects`).
    diagnostics : Diagnostics
        Sampler diagnostics (:func:`mmm.model.sample.diagnose`).
    posterior : xr.Dataset
        The posterior (dims chain, draw, ...), for the number of draws and the channel coefficients.
    config : Config
        The run's config, its default ROAS prior's median worked out (``resolve_media_scale``): channel
        coefficient priors, and the default one (:func:`mmm.spec.sections.default_coef_prior`) for the rest.
    design_spend_to_kpi : np.ndarray
        (K,) mean spend / mean KPI per channel in ``config`` channel order (``Design.spend_to_kpi``),
        which sets the default coefficient prior.
    thresholds : HealthThresholds
        Where each check turns REVIEW and FAIL.
    prior_roas : np.ndarray, optional
        (draws, K) ROAS implied by the priors alone (:mod:`mmm.model.prior_sample`). When given,
        contraction is measured on ROAS itself — 1 − posterior / prior 90%-interval width —
        which is what finance reads; otherwise on the coefficient's variance.

    Returns
    -------
    list[Check]
        Convergence (R-hat, ESS, divergences), fit (R², MAPE), negative baseline,
        implausible ROAS (mean, tail), prior-to-posterior contraction, residual autocorrelation.
    """
    t = thresholds
    n_draws = int(posterior.sizes.get("chain", 1)) * int(posterior.sizes.get("draw", 1))
    return [*_convergence(diagnostics, n_draws, t), *_fit(effects, t), _negative_baseline(effects, t),
            *_roas(effects, t),
            (_roas_contraction(effects, prior_roas, t) if prior_roas is not None
             else _contraction(posterior, config, design_spend_to_kpi, t)),
            _autocorrelation(effects, t)]


def _convergence(d: Diagnostics, n_draws: int, t: HealthThresholds) -> list[Check]:
    gate = d.thresholds.min_ess_bulk_per_chain * d.chains
    share = d.divergences / n_draws if n_draws else float("nan")
    return [
        _check("rhat", "Do the independent sampling runs agree? (largest R-hat; 1.00 is perfect agreement)",
               d.max_rhat, t.rhat_review, t.rhat_fail),
        _check("ess", "Are there enough independent draws to pin down every figure? (smallest effective sample size)",
               d.min_ess_bulk, gate, gate * t.ess_fail_fraction, worse="below",
               detail=f"{d.chains} chain(s); the fit's own minimum is {gate:.0f}"),
        _check("divergences", "Did the sampler hit regions it could not explore? (count of divergent transitions)",
               d.divergences, 0, t.divergence_fail_share * n_draws,
               detail=f"{d.divergences} of {n_draws} draws ({share:.2%})"),
    ]


def _fit(effects: Effects, t: HealthThresholds) -> list[Check]:
    q = effects.fit_quality()
    checks = [
        _check("r2", "How much of the KPI's ups and downs does the model explain? (R², in sample; 1 is all)",
               q["r2"], t.r2_review, t.r2_fail, worse="below"),
        _check("mape", "How far off is the fitted KPI in a typical period? (mean absolute % error, in sample)",
               q["mape"], t.mape_review, t.mape_fail, detail=f"residual sd {q['residual_sd']:,.2f} KPI units"),
    ]
    if "holdout" in q:
        held = q["holdout"]
        checks.append(_check(
            "holdout_mape", "How far off is the model on periods it never saw? (mean absolute % error on the "
            "holdout)", held["mape"], t.mape_review, t.mape_fail,
            detail=f"{held['periods']} periods from {held['start']}; in-sample MAPE {q['mape']:.1%}"))
    return checks


def _negative_baseline(effects: Effects, t: HealthThresholds) -> Check:
    negative_share = (effects.baseline < 0).mean(axis=1)  # (D,) share of periods below zero
    value = float((negative_share > t.negative_baseline_periods).mean())
    return _check("negative_baseline",
                  "How likely is it that the model says sales without any media would be below zero, "
                  "which is impossible? (share of draws)",
                  value, t.negative_baseline_review, t.negative_baseline_fail,
                  detail=f"a draw counts when its baseline is negative in more than "
                         f"{t.negative_baseline_periods:.0%} of periods")


def _roas(effects: Effects, t: HealthThresholds) -> list[Check]:
    means = effects.roas.mean(axis=0)
    tails = (effects.roas > t.roas_extreme).mean(axis=0)
    mean_list = ", ".join(f"{c} {m:.3g}" for c, m in zip(effects.channels, means, strict=True))
    tail_list = ", ".join(f"{c} {p:.0%}" for c, p in zip(effects.channels, tails, strict=True))
    return [
        _check("roas_mean", "Is any channel's average return per unit of spend implausibly high? "
               "(highest posterior mean ROAS)", float(np.max(means)), t.roas_mean_review, t.roas_mean_fail,
               detail=f"mean ROAS: {mean_list}"),
        _check("roas_tail", f"How likely is a return above {t.roas_extreme:g} per unit spent for any channel? "
               f"(highest P(ROAS > {t.roas_extreme:g}))", float(np.max(tails)), t.roas_extreme_review,
               t.roas_extreme_fail, detail=f"P(ROAS > {t.roas_extreme:g}): {tail_list}"),
    ]


def prior_movement(prior: np.ndarray, posterior: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(contraction, shift) per column: 1 − posterior / prior 90% width, and the median's move per prior width."""
    def width(draws: np.ndarray) -> np.ndarray:
        lo, hi = np.quantile(draws, [0.05, 0.95], axis=0)
        return hi - lo

    prior_width = width(prior)
    contraction = 1.0 - width(posterior) / prior_width
    # the data may also move a figure without narrowing it (e.g. a big channel far above the prior median)
    shift = np.abs(np.median(posterior, axis=0) - np.median(prior, axis=0)) / prior_width
    return contraction, shift


def _roas_contraction(effects: Effects, prior_roas: np.ndarray, t: HealthThresholds) -> Check:
    contraction, shift = prior_movement(prior_roas, effects.roas)
    values = dict(zip(effects.channels, np.maximum(contraction, shift), strict=True))
    check = _contraction_check(values, t, "ROAS (the larger of interval narrowing and median shift, "
                                          "per prior 90% width)")
    extra = "; narrowing: " + ", ".join(f"{c} {v:.2f}" for c, v in zip(effects.channels, contraction, strict=True))
    extra += "; shift: " + ", ".join(f"{c} {v:.2f}" for c, v in zip(effects.channels, shift, strict=True))
    return replace(check, detail=check.detail + extra)


def _contraction(posterior: xr.Dataset, config: Config, spend_to_kpi: np.ndarray, t: HealthThresholds) -> Check:
    coef = posterior[media.COEF]
    values = {}
    for k, channel in enumerate(config.channel_names):
        prior = config.channel(channel).prior("coef") or default_coef_prior(
            float(spend_to_kpi[k]), config.model.roas_median, config.finance.value_per_kpi,
            config.model.media_roas_sigma)
        post_var = float(np.var(np.asarray(coef.sel(channel=channel).values, dtype=float), ddof=0))
        values[channel] = 1.0 - post_var / prior_sd(prior.scipy()) ** 2
    return _contraction_check(values, t, "coefficient variance")


def _contraction_check(values: dict[str, float], t: HealthThresholds, measured_on: str) -> Check:
    weak = [c for c, v in values.items() if not v >= t.contraction_review]
    detail = f"contraction of the {measured_on}: " + ", ".join(f"{c} {v:.2f}" for c, v in values.items())
    if weak:
        detail += (f". The data barely moved the prior of {', '.join(weak)}: "
                   "that ROAS is mostly our assumption.")
    return _check("prior_contraction",
                  "Did the data speak, or is a channel's return mostly our prior assumption? "
                  "(how far the data moved each channel from its prior: narrowing or shift; 0 means not at all)",
                  min(values.values()), t.contraction_review, None, worse="below", detail=detail)


def prior_sd(dist: Any) -> float:
    """Standard deviation of a frozen SciPy(-like) prior; by sampling (fixed seed) where it has no ``std``."""
    if hasattr(dist, "std"):
        return float(np.asarray(dist.std()))
    draws = dist.rvs(size=_PRIOR_SD_DRAWS, random_state=np.random.default_rng(_PRIOR_SD_SEED))
    return float(np.std(draws))


def _autocorrelation(effects: Effects, t: HealthThresholds) -> Check:
    residual = effects.actual - effects.mu.mean(axis=0)
    centred = residual - residual.mean()
    denom = float(centred @ centred)
    rho = float(centred[1:] @ centred[:-1]) / denom if denom > 0 else float("nan")
    dw = float(np.sum(np.diff(residual) ** 2) / (residual @ residual)) if residual @ residual > 0 else float("nan")
    return _check("residual_autocorrelation",
                  "Does the model miss the same way several periods in a row, a sign of something left out? "
                  "(lag-1 autocorrelation of fit errors)", rho, t.autocorr_review, t.autocorr_fail,
                  detail=f"Durbin–Watson {dw:.2f} (2 means no autocorrelation)")


def overall(checks: list[Check]) -> str:
    """"FAIL" if any check FAILs, else "REVIEW" if any REVIEWs, else "PASS"."""
    statuses = {c.status for c in checks}
    return FAIL if FAIL in statuses else REVIEW if REVIEW in statuses else PASS


def checks_to_dict(checks: list[Check]) -> list[dict[str, Any]]:
    """JSON-ready rows for ``summary.json`` (a value that is not finite becomes null)."""
    def plain(v: Any) -> Any:
        return None if isinstance(v, float) and not math.isfinite(v) else v

    return [{k: plain(v) for k, v in asdict(c).items()} for c in checks]


def experiment_conflict(checks: list, t: HealthThresholds = HealthThresholds()) -> Check:
    """Does any lift experiment disagree with what the prior and KPI data alone say? (largest |z|)

    ``checks`` are :class:`mmm.analysis.calibration.ExperimentCheck` rows (one per experiment).
    """
    worst = max((abs(c.z) for c in checks), default=float("nan"))
    rows = "; ".join(f"{c.label}: measured {c.observed:,.0f} ± {c.se:,.0f}, data alone say {c.data_mean:,.0f} "
                     f"± {c.data_sd:,.0f} (z {c.z:+.1f}, experiment share {c.experiment_share:.2f}, "
                     f"PSIS k {c.pareto_k:.2f})" for c in checks)
    flagged = [c.label for c in checks if abs(c.z) > t.experiment_conflict_review]
    if flagged:
        rows += (f". Conflict: {', '.join(flagged)} disagree(s) with the KPI data — check the test's design, "
                 f"its KPI definition and window, or the model; the calibrated ROAS leans on it")
    return _check("experiment_conflict",
                  "Do the lift experiments agree with what the KPI data alone say about the same test? "
                  "(largest |z| between measured and data-only incremental KPI)",
                  worst, t.experiment_conflict_review, t.experiment_conflict_fail, detail=rows)


def prior_conflict(prior_posterior: dict[str, dict[str, Any]], t: HealthThresholds = HealthThresholds()) -> Check:
    """Did the data put a channel's ROAS where its prior said it hardly could be? (smallest prior tail prob.)"""
    tails = {c: v["prior_tail"] for c, v in prior_posterior.items()}
    flagged = [c for c, v in tails.items() if v < t.prior_conflict_review]
    detail = "prior tail probability of the posterior median ROAS: " + ", ".join(
        f"{c} {v:.3f}" for c, v in tails.items())
    if flagged:
        detail += (f". Prior–data conflict for {', '.join(flagged)}: the prior and the data disagree; revisit the "
                   f"ROAS prior (is it the same definition and window?) before using that figure")
    return _check("prior_conflict", "Do the data contradict what we assumed before seeing them? "
                  "(smallest prior tail probability of a channel's posterior median ROAS)",
                  min(tails.values()), t.prior_conflict_review, None, worse="below", detail=detail)
