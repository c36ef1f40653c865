"""Before fitting: does the data's own scale sit where the media priors put their mass?

A prior on ROAS is in business units, and data are not always: spend in thousands against revenue in
units, spend scaled to 0..1, a count KPI without its value. Then the priors can imply that media
bring 0.5% of the KPI, or 300%, and a fit either cannot reach the truth or spends its draws in the
tail. Three checks, each a plain sentence with the fix (``mmm validate`` and ``mmm prior-check``
print them, a fitted run lists them in its notes):

* **Implied media share**: ROAS drawn from each channel's prior x its spend / the KPI's value over
  the window. The median share below 2% or above 80% is flagged.
* **Business plausibility of the "auto" median** (``model.media_roas_scale: auto``): where the KPI is
  money (revenue, or a count with ``finance.value_per_kpi``), a median ROAS below 0.05 or above 50
  usually means spend and KPI are in different units.
* **What a simple regression says**: the KPI on an intercept, trend, yearly seasonality, the controls
  and each channel's spend carried over (geometric, half-life one period), media coefficients kept
  non-negative. A channel whose regression ROAS lies above its prior's 99th percentile is flagged. It
  is a scale check, not an estimate: the regression has no saturation and is confounded where the
  model is. Only a regression ROAS *above* the prior's 99th percentile is flagged: a zero from the
  non-negative fit says little.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SHARE_RANGE = (0.02, 0.80)
AUTO_MEDIAN_RANGE = (0.05, 50.0)
PRIOR_RANGE = (0.01, 0.99)
DRAWS = 4000


@dataclass(frozen=True)
class ScaleCheck:
    """The figures behind the notes, and the notes themselves."""

    prior_share: tuple[float, float, float]  # median, 5%, 95% of the media share the priors imply
    regression_roas: dict[str, float]
    prior_range: dict[str, tuple[float, float]]  # channel -> ROAS prior's 1% and 99% points
    notes: list[str]


def scale_check(config, panel) -> ScaleCheck:
    """The checks of the module docstring on ``panel`` with ``config``'s priors (resolved here)."""
    from mmm.analysis.fitted_periods import as_fitted
    from mmm.data.panel_design import PanelScaling, build_panel_design
    from mmm.model.roas_prior import resolve_media_scale, roas_prior, window_mask

    config, _ = as_fitted(config, panel)  # the window and priors a fit will use
    national = panel.national()
    config = resolve_media_scale(config, build_panel_design(panel, PanelScaling.compute(panel), config.design))
    inside = window_mask(config, national.dates)[:national.n_periods]
    names = config.channel_names
    spend = national.spend[names].to_numpy(dtype=float)
    value = float(national.kpi.to_numpy(dtype=float)[inside].sum()) * config.finance.value_per_kpi
    spend_w = spend[inside].sum(axis=0)

    rng = np.random.default_rng(0)
    priors = {c: roas_prior(config, c) for c in names}
    draws = {c: np.asarray(p.scipy().rvs(size=DRAWS, random_state=rng), dtype=float)
             for c, p in priors.items() if p is not None}
    prior_range = {c: tuple(float(v) for v in priors[c].scipy().ppf(PRIOR_RANGE)) for c in draws}
    notes = []
    share = sum(draws[c] * spend_w[names.index(c)] for c in draws) / value if draws else np.zeros(1)
    median, lo, hi = (float(v) for v in np.quantile(share, [0.5, 0.05, 0.95]))
    if draws and not SHARE_RANGE[0] <= median <= SHARE_RANGE[1]:
        notes.append(f"the media priors imply that paid media bring {median:.1%} of the KPI's value "
                     f"(90% {lo:.1%}..{hi:.1%}) over the window, with spend {spend_w.sum():,.4g} against a value of "
                     f"{value:,.4g}: check that spend and KPI are in the units you think, or set the ROAS "
                     f"prior's median (model.media_roas_scale, or auto to take it from the data)")
    money = config.data.kpi_type == "revenue" or config.finance.value_per_kpi != 1.0
    auto = config.model.media_roas_scale == "auto"
    if auto and money and not AUTO_MEDIAN_RANGE[0] <= config.model.roas_median <= AUTO_MEDIAN_RANGE[1]:
        notes.append(f"spend is {spend_w.sum() / value:.3g} x the KPI's value over the window, so the default ROAS "
                     f"prior (median: {config.model.media_share:.0%} of the value from media) centres on a ROAS "
                     f"of {config.model.roas_median:.4g}, unusual for money spent on media: check the spend "
                     f"columns' units (thousands?) and finance.value_per_kpi")
    regression = regression_roas(config, national, inside)
    for channel, roas in regression.items():
        if channel in prior_range and roas > prior_range[channel][1]:
            notes.append(f"{channel}: a simple regression of the KPI on spend gives a ROAS of {roas:.4g}, above the "
                         f"99th percentile of its prior ({prior_range[channel][1]:.3g}); if that is its order of "
                         f"magnitude, widen or move its prior (channels.{channel}.roas_prior, or "
                         f"model.media_roas_scale)")
    return ScaleCheck(prior_share=(median, lo, hi), regression_roas=regression, prior_range=prior_range,
                      notes=notes)


def regression_roas(config, national, inside: np.ndarray) -> dict[str, float]:
    """Per channel, the ROAS of a linear regression with non-negative media coefficients (docstring)."""
    from scipy.optimize import lsq_linear

    names = config.channel_names
    kpi = national.kpi.to_numpy(dtype=float)
    spend = national.spend[names].to_numpy(dtype=float)
    carried = np.zeros_like(spend)
    for t in range(len(spend)):  # geometric carry-over, half-life one period (a handful of columns: cheap)
        carried[t] = spend[t] + (0.5 * carried[t - 1] if t else 0.0)
    carried *= 0.5  # weights 0.5, 0.25, ... sum to 1: the spend is counted once
    years = national.years_since(str(national.dates[0].date()))
    baseline = [np.ones_like(years), years]
    for order in (1, 2):
        baseline += [np.sin(2 * np.pi * order * years), np.cos(2 * np.pi * order * years)]
    controls = national.controls.to_numpy(dtype=float) if national.controls is not None else np.zeros((len(kpi), 0))
    controls = (controls - controls.mean(axis=0)) / np.where(controls.std(axis=0) > 0, controls.std(axis=0), 1.0)
    design = np.column_stack([*baseline, controls, carried])
    scale = np.where(np.abs(design).max(axis=0) > 0, np.abs(design).max(axis=0), 1.0)
    n_base = design.shape[1] - len(names)
    lower = np.r_[np.full(n_base, -np.inf), np.zeros(len(names))]
    coef = lsq_linear(design / scale, kpi, bounds=(lower, np.full(design.shape[1], np.inf))).x / scale
    media = coef[n_base:]
    spend_w = spend[inside].sum(axis=0)
    return {c: float(media[k] * carried[inside, k].sum() * config.finance.value_per_kpi / spend_w[k])
            for k, c in enumerate(names) if spend_w[k] > 0}
