"""The public workflow: config + data → fitted model → tables, plots and a run folder.

Notebooks and the CLI both go through here, for national data and geo panels alike::

    from mmm import Config, fit
    cfg = Config.load("data/robyn_weekly/config.yaml").with_fit(draws=300, tune=300)
    result = fit(cfg)
    result.roi_table()            # one row per channel, mean / median / interval
    result.roi_by_geo()           # one row per (geo, channel) of a panel
    result.save("reports/my-run")  # the run folder of docs/file-schemas.md, with its report (mmm.api)

National data is a panel of one geo (:func:`mmm.data.panel.as_panel`): one model
(:func:`mmm.model.build.build_model`), one set of figures per draw and geo
(:mod:`mmm.analysis.geo_effects`); national figures are sums over geos per draw, and the
per-geo outputs (``roi_by_geo.csv``, ``summary.json["geo"]``) appear when there are several geos.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from mmm.cores import available_cores
from mmm.spec.config import Config, ConfigError
from mmm.data.load import DataError, MMMData
from mmm.data.panel import Panel, as_panel, load_panel
from mmm.data.panel_design import PanelScaling, build_panel_design
from mmm.analysis.curves import break_even_spend, carryover_curves
from mmm.analysis.effects import Effects, summarize
from mmm.analysis.frequency import optimal_frequency
from mmm.analysis.geo_effects import GeoEffects, compute_geo_effects, geo_response_curves
from mmm.analysis.periods import aggregate_contributions
from mmm.analysis.media_strength import media_strength
from mmm.analysis.fitted_periods import as_fitted, fitted_scaling, training_periods
from mmm.model.sample import FitResult
from mmm.model.geo_terms import geo_posterior
from mmm.analysis.health import Check, checks_to_dict, health_checks, overall
from mmm.analysis.calibration import CalibrationViews, checks_from_draws
from mmm.analysis.summary import build_summary


def load_config(path: str | Path) -> Config:
    return Config.load(path)


def load(config: Config, data: pd.DataFrame | str | Path | None = None) -> Panel:
    """Validate the data named by ``config`` (or given directly) into a panel: with ``data.geo`` one
    geo per value of that column, without it national data as a panel of one geo."""
    source = data if data is not None else config.data.path
    if source is None:
        raise ConfigError(f"{config.source}: data.path is not set and no DataFrame was given")
    panel = load_panel(source, config.roles(), population=config.data.population if config.data.geo else None,
                       min_periods=config.data.min_periods)
    check_window(config, panel.national(), panel)  # the window, and lift tests (their geos) against the data
    return panel


def panel_of(config: Config, data: Panel | MMMData | pd.DataFrame | str | Path | None) -> Panel:
    """``data`` as the panel a fit reads: a panel as given, one series as a panel of one geo, anything
    else loaded with :func:`load` (``config``'s file when None)."""
    if isinstance(data, Panel):
        return data
    if isinstance(data, MMMData):
        return as_panel(data)
    return load(config, data)


def check_window(config: Config, data: MMMData, panel=None) -> None:
    """The analysis window must overlap the data, and every channel must spend inside it.

    ``panel``: the geo panel behind ``data`` (its national sum), for lift tests that name a geo.
    """
    first, last = data.dates[0], data.dates[-1]
    start = pd.Timestamp(config.window[0]) if config.window[0] else first
    end = pd.Timestamp(config.window[1]) if config.window[1] else last
    if end < first or start > last:
        raise ConfigError(f"{config.source}: window {start.date()}..{end.date()} is outside the data "
                          f"({first.date()}..{last.date()}); move the window inside the data")
    if start > end:
        raise ConfigError(f"{config.source}: window.start {start.date()} is after window.end {end.date()}; swap them")
    inside = (data.dates >= start) & (data.dates <= end)
    from mmm.model.lift_tests import check_against_data

    check_against_data(config, data.dates, data.spend, panel)  # lift tests must lie inside the data
    silent = [c for c in data.channels if not (data.spend.loc[inside, c] > 0).any()]
    if silent:
        raise ConfigError(f"{config.source}: channel(s) {', '.join(silent)} have no spend inside the window "
                          f"{max(start, first).date()}..{min(end, last).date()}, so their ROAS is undefined; "
                          f"widen the window or drop the channel(s)")


@dataclass
class FittedModel(CalibrationViews):
    """A fitted model: its inputs, posterior, diagnostics and every figure per draw, per geo and nationally.

    ``data`` is a panel (national data: one geo) and ``scaling`` its per-geo constants; ``effects``
    holds the national figures (sums over geos per draw) and ``geo_effects`` the per-geo ones.
    The public :class:`mmm.FittedMMM` adds writing the run folder (:mod:`mmm.api`).
    """

    config: Config
    data: Panel
    scaling: PanelScaling
    fit: FitResult
    geo_effects: GeoEffects
    timings: dict[str, float] = field(default_factory=dict)
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)
    # posterior of the same config without its experiments (same data and scaling): what the data alone say
    reference_posterior: Any = None
    # candidate specifications and their stacking weights (mmm.analysis.stacking); None: one specification
    structure: Any = None

    @property
    def effects(self) -> Effects:
        return self.geo_effects.national

    @property
    def is_panel(self) -> bool:
        """True when the data has several geos (then the per-geo outputs are written)."""
        return self.data.n_geos > 1

    @property
    def diagnostics(self):
        return self.fit.diagnostics

    @property
    def posterior(self):
        return self.fit.idata["posterior"].to_dataset()

    def roi_table(self) -> pd.DataFrame:
        """National ROI table: every figure is a sum over geos per draw (ratios of sums)."""
        return self.effects.roi_table()

    def roi_by_geo(self) -> pd.DataFrame:
        """One row per (geo, channel), with intervals."""
        return self.geo_effects.roi_by_geo()

    def summary_frame(self) -> pd.DataFrame:
        return self.effects.summary_frame()

    def contributions(self, freq: str | None = None) -> pd.DataFrame:
        """Tidy contributions per period, or summed per draw to ``freq`` ("month", "quarter", "year")."""
        return self.effects.contributions_table() if freq is None else aggregate_contributions(self.effects, freq)

    def fit_table(self) -> pd.DataFrame:
        return self.effects.fit_table()

    def response_curves(self) -> pd.DataFrame:
        """National incremental value vs spend multiplier per channel, with intervals (sums over geos per draw)."""
        if "response" not in self._cache:
            self._cache["response"] = geo_response_curves(self.posterior, self.config, self.data, self.scaling)
        return self._cache["response"]

    def carryover_curves(self) -> pd.DataFrame | None:
        """The carry-over curve per channel when geos share the adstock; None when each geo has its own."""
        if self.config.model.geo_adstock == "geo" and self.is_panel:
            return None
        first = geo_posterior(self.posterior, self.config, 0, self.data.n_geos)
        return carryover_curves(first, self.config, self.data.geo(0), self.scaling.geo(0))

    def media_strength(self) -> pd.DataFrame | None:
        """Paid media's strength per period (the time-varying media effect's multiplier) with its interval;
        None when the run's posterior has a steady media effect (:mod:`mmm.analysis.media_strength`)."""
        first = geo_posterior(self.posterior, self.config, 0, self.data.n_geos)
        return media_strength(first, self.config, self.data.geo(0), self.scaling.geo(0))

    def break_even_spend(self) -> dict[str, float | None]:
        margins = {c: self.config.finance.margin_for(c) for c in self.config.channel_names}
        return break_even_spend(self.response_curves(), margins)

    def optimal_frequency(self) -> dict[str, np.ndarray]:
        """Per reach-and-frequency channel, the frequency that buys the most effect per unit of spend, per draw
        (:mod:`mmm.analysis.frequency`)."""
        largest = {c: float(v.max()) for c, v in self.data.frequency.items()}
        return optimal_frequency(self.posterior, self.config, self.scaling.frequency, largest)

    def summary(self) -> dict[str, Any]:
        wall = sum(self.timings.get(k, 0.0) for k in ("build_s", "fit_s", "effects_s"))
        summary = build_summary(self.config, self.data.national(), self.fit, self.effects, wall,
                                cost_per_unit=self.scaling.cost_per_unit)
        if self.is_panel:
            summary["geo"] = geo_summary(self)
        for channel, spend in self.break_even_spend().items():
            summary["channels"][channel]["break_even_spend"] = spend  # national window spend where profit ROI = 0
        for channel, draws in self.optimal_frequency().items():
            summary["channels"][channel]["frequency"] = {
                "column": self.config.channel(channel).frequency, "reach_column": self.config.channel(channel).reach,
                "mean_frequency": self.scaling.frequency[channel],
                "optimal_frequency": summarize(draws, self.config.interval)}
        summary["media_prior"] = media_prior_summary(self.config)
        from mmm.analysis.scale_check import scale_check

        summary["notes"] = [*summary.get("notes", []), *scale_check(self.config, self.data).notes]
        if self.structure is not None:
            summary["structure"] = self.structure.to_dict(self.config.interval)
        checks = self.health()
        summary["health"] = {"overall": overall(checks), "checks": checks_to_dict(checks)}
        return self.add_calibration(summary)

    def health(self) -> list[Check]:
        """The model health card on the national figures: convergence, fit, baseline, ROAS plausibility,
        how far ROAS moved from what the priors imply, residuals, prior–data and lift-test conflicts
        (:mod:`mmm.analysis.calibration`)."""
        design = build_panel_design(self.data, self.scaling, self.config.design)
        return self.with_calibration_checks(health_checks(self.effects, self.diagnostics, self.posterior, self.config,
                                                          design.spend_to_kpi, prior_roas=self.prior_effects().roas))

    def _prior_figures(self, n_draws: int) -> Effects:
        """National figures of draws from the priors (:func:`mmm.analysis.geo_effects.prior_effects`)."""
        from mmm.analysis.geo_effects import prior_effects

        return prior_effects(self.config, self.data, self.scaling, n_draws=n_draws,
                                 seed=self.config.fit.seed)[0].national

    def experiment_checks(self) -> list:
        """Per lift test: measured vs what the prior and the data alone say (:mod:`mmm.analysis.calibration`)."""
        from mmm.analysis.lift_tests import incremental_draws

        if "experiments" not in self._cache:
            delta = incremental_draws(self.config, self.data, self.scaling, self.posterior)
            reference = (None if self.reference_posterior is None else
                         incremental_draws(self.config, self.data, self.scaling, self.reference_posterior))
            self._cache["experiments"] = checks_from_draws(self.config, delta, reference)
        return self._cache["experiments"]


def panel_frame(panel: Panel, config: Config) -> pd.DataFrame:
    """The modeled data in the config's own column names (what a run's data.csv and config.yaml read):
    one row per (geo, date), or per date for national data (no geo column)."""
    return panel.to_frame(config.data.date, config.data.geo, config.data.kpi,
                          {c.name: c.spend for c in config.channels},
                          config.data.population if config.data.geo else None,
                          {c.name: c.exposure for c in config.channels if c.exposure},
                          organic_columns={o.name: o.column for o in config.organic},
                          frequency_columns={c.name: c.frequency for c in config.channels if c.frequency})


def media_prior_summary(config: Config) -> dict[str, Any]:
    """``summary.json["media_prior"]``: the default ROAS prior as used (median worked out from the data or
    written), and which channels it applies to."""
    from mmm.model.roas_prior import roas_prior

    opts = config.model
    default = [c.name for c in config.channels if c.roas_prior is None and "coef" not in c.priors
               and opts.roas_prior is None]
    return {"dist": "LogNormal", "median_roas": opts.roas_median, "sigma": opts.media_roas_sigma,
            "median_source": "auto" if opts.media_roas_scale == "auto" else "config",
            "media_share": opts.media_share if opts.media_roas_scale == "auto" else None,
            "p99_roas": float(opts.roas_median * np.exp(2.3263 * opts.media_roas_sigma)),
            "channels": [c for c in default if roas_prior(config, c) is not None]}


def geo_summary(result: FittedModel) -> dict[str, Any]:
    """``summary.json["geo"]``: per-geo, per-channel figures with intervals, and the zero-spend pairs."""
    ge = result.geo_effects
    geos: dict[str, Any] = {}
    for g, geo in enumerate(ge.geos):
        channels = {}
        for k, channel in enumerate(ge.channels):
            entry: dict[str, Any] = {"spend": float(ge.spend[g, k])}
            for metric in ("incremental_kpi", "incremental_value"):
                entry[metric] = summarize(ge.by_geo[metric][:, g, k], ge.interval)
            if ge.spend[g, k] > 0:
                for metric in ("roas", "profit_roi", "mroas", "marginal_profit_roi", "immediate_share"):
                    entry[metric] = summarize(ge.by_geo[metric][:, g, k], ge.interval)
                entry["p_profitable"] = float((ge.by_geo["profit_roi"][:, g, k] > ge.hurdle_rate).mean())
            channels[channel] = entry
        geos[geo] = {"kpi_scale": float(result.scaling.kpi[g]), "fit_quality": ge.fit_quality.get(geo, {}),
                     "channels": channels}
    return {"n_geos": len(ge.geos), "geo_column": result.config.data.geo,
            "per_capita": result.scaling.per_capita, "adstock": result.config.model.geo_adstock,
            "national_is_sum_over_geos": True,
            "zero_spend": [{"geo": g, "channel": c} for g, c in result.data.zero_spend],
            "geos": geos}


def fit(config: Config, data: Panel | MMMData | pd.DataFrame | str | Path | None = None, *,
        scaling: PanelScaling | None = None, progress: bool = False,
        reference: FittedModel | bool | None = None) -> FittedModel:
    """Validate, build, sample and compute every figure, per geo and nationally; with candidate
    specifications (``model.candidates``, :mod:`mmm.spec.candidates`) fit each and combine them by
    stacking (:func:`fit_candidates`).

    ``scaling`` keeps the constants of an earlier run fixed (refreshes); by default they are computed
    from this data. ``reference``: see :func:`fit_one`.
    """
    from mmm.spec.candidates import variants_of

    if not variants_of(config):
        return fit_one(config, data, scaling=scaling, progress=progress, reference=reference)
    return fit_candidates(config, data, scaling=scaling, progress=progress, reference=reference)


def fit_candidates(config: Config, data: Panel | MMMData | pd.DataFrame | str | Path | None = None, *,
                   scaling: PanelScaling | None = None, progress: bool = False,
                   reference: FittedModel | bool | None = None) -> FittedModel:
    """Fit the config and each of its variants, score each by PSIS-LOO, and combine them by stacking.

    The figures of record are the mixture's (:mod:`mmm.analysis.stacking`); the posterior, curves and
    plans are the largest-weight candidate's (``structure.primary``), whose config the result holds.
    Candidates that fail the convergence gate take no weight. Lift-test conflicts are checked
    against the primary candidate fitted without its experiments.
    """
    from mmm.analysis.stacking import Candidate, loo_score, stack
    from mmm.spec.candidates import apply_variant, label, variants_of

    panel = panel_of(config, data)
    variants: list[dict[str, str]] = []
    seen: list[Config] = []
    for variant in [{}, *variants_of(config)]:
        candidate = apply_variant(config, variant)
        if candidate not in seen:  # else a variant the config already is
            seen.append(candidate)
            variants.append(variant)
    if scaling is None:  # the same constants for every candidate: fit_one's, from the fitted periods
        scaling = fitted_scaling(panel, as_fitted(config, panel)[1])

    def one(candidate: Config) -> tuple[FittedModel, Any]:
        fitted = fit_one(candidate, panel, scaling=scaling, progress=progress, reference=False, pointwise=True)
        score = loo_score(fitted.geo_effects.log_lik, fitted.diagnostics.chains)
        fitted.geo_effects.log_lik = None  # (draws x observations): not kept once scored
        return fitted, score

    workers = min(config.fit.workers(available_cores()), len(seen))
    if workers > 1:  # nutpie samples without the GIL: threads share the compiled-model caches
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(workers) as pool:
            fitted_all = list(pool.map(one, seen))
    else:
        fitted_all = [one(candidate) for candidate in seen]
    fits = [Candidate(label=label(variant), variant=dict(variant), fitted=fitted, score=score)
            for variant, (fitted, score) in zip(variants, fitted_all, strict=True)]
    structure, combined = stack(fits)
    primary = fits[structure.primary].fitted
    timings = {key: sum(c.fitted.timings.get(key, 0.0) for c in fits) for key in ("build_s", "fit_s", "effects_s")}
    result = replace(primary, fit=replace(primary.fit, diagnostics=combined_diagnostics(structure)),
                     geo_effects=combined, structure=structure, timings=timings, _cache={})
    result.reference_posterior = data_only_posterior(
        primary.config, reference, primary.scaling,
        lambda without: fit_one(without, panel, scaling=primary.scaling, progress=progress), result.timings)
    return result


def combined_diagnostics(structure):
    """The convergence gate of the combined figures: the worst over the candidates that carry weight."""
    from mmm.analysis.stacking import included

    taking = [c for c, t in zip(structure.candidates, included(structure.candidates), strict=True) if t]
    first = taking[0].fitted.diagnostics
    problems = [f"{c.label}: {p}" for c in taking for p in c.fitted.diagnostics.problems]
    return replace(first, max_rhat=max(c.fitted.diagnostics.max_rhat for c in taking),
                   min_ess_bulk=min(c.fitted.diagnostics.min_ess_bulk for c in taking),
                   divergences=sum(c.fitted.diagnostics.divergences for c in taking), problems=problems)


def fit_one(config: Config, data: Panel | MMMData | pd.DataFrame | str | Path | None = None, *,
            scaling: PanelScaling | None = None, progress: bool = False,
            reference: FittedModel | bool | None = None, pointwise: bool = False) -> FittedModel:
    """Validate, build, sample and compute every figure of one specification, per geo and nationally.

    ``scaling`` keeps the constants of an earlier run fixed (refreshes); by default
    they are computed from this data.

    ``reference`` matters only when the config has lift tests: the same config fitted
    without them tells what the data alone say about each test (the health card's
    experiment-conflict check, :mod:`mmm.analysis.calibration`). By default (None/True) that
    fit is run here (about doubling the time); pass an existing fit without lift tests
    on the same data and scaling to reuse it, or False to skip it (approximate check).
    """
    from mmm.model.sample import JAX_SAMPLERS, sample
    from mmm.model.build import SAMPLED_FORMS, build_model
    from mmm.model.roas_prior import coef_from_roas, resolve_media_scale

    t0 = time.perf_counter()
    panel = panel_of(config, data)
    config, n_train = as_fitted(config, panel)
    national = panel.national()
    check_window(config, national, panel)
    scaling = scaling or fitted_scaling(panel, n_train)
    if list(scaling.geos) != list(panel.geos) or list(scaling.channels) != config.channel_names:
        raise ConfigError(f"{config.source}: the stored scaling covers geos {list(scaling.geos)} and channels "
                          f"{list(scaling.channels)}, not this data's; fit a new model")
    design = build_panel_design(panel, scaling, config.design)
    config = resolve_media_scale(config, design)  # the default ROAS prior's "auto" median, over the window
    # JAX samplers compile the density to JAX, which has no implementation of the collapsed smooth part's fused op
    model = build_model(config, design, n_train=n_train, centered_baseline=True,
                        collapse_baseline=config.fit.sampler not in JAX_SAMPLERS)
    t1 = time.perf_counter()
    result = sample(model, config, progress=progress, reported=SAMPLED_FORMS)
    result = with_roas_coefficients(result, config, lambda posterior: coef_from_roas(config, panel, scaling, posterior))
    t2 = time.perf_counter()
    geo_effects = compute_geo_effects(result.idata["posterior"].to_dataset(), config, panel, scaling, n_train=n_train,
                                      pointwise=pointwise)
    t3 = time.perf_counter()
    timings = {"build_s": t1 - t0, "fit_s": t2 - t1, "effects_s": t3 - t2}
    reference_posterior = data_only_posterior(
        config, reference, scaling, lambda without: fit_one(without, panel, scaling=scaling, progress=progress),
        timings)
    return FittedModel(config=config, data=panel, scaling=scaling, fit=result, geo_effects=geo_effects,
                     timings=timings, reference_posterior=reference_posterior)


def data_only_posterior(config: Config, reference: Any, scaling: Any, refit: Callable[[Config], Any],
                        timings: dict[str, float]) -> xr.Dataset | None:
    """The posterior of ``config`` without its experiments (what the data alone say about each test).

    None without experiments or with ``reference=False``; ``reference`` None/True runs
    ``refit(config without experiments)``; a fitted run is reused after checking that it has no
    experiments and the same scaling.
    """
    if not config.experiments or reference is False:
        return None
    if reference is None or reference is True:
        reference = refit(replace(config, experiments=()))
        timings["reference_fit_s"] = sum(reference.timings.values())
    if reference.config.experiments or reference.scaling.to_dict() != scaling.to_dict():
        raise ValueError("reference must be a fit without experiments on the same data and scaling "
                         "(pass scaling=reference.scaling)")
    return reference.posterior


def with_roas_coefficients(result: FitResult, config: Config,
                           fill: Callable[[xr.Dataset], xr.Dataset]) -> FitResult:
    """Store ``channel_coef`` of ROAS-prior channels in the posterior (the sampler keeps free parameters
    only); ``fill`` computes it (:func:`mmm.model.roas_prior.coef_from_roas`)."""
    from mmm.model.roas_prior import roas_channels

    if not roas_channels(config):
        return result
    posterior = fill(result.idata["posterior"].to_dataset())
    groups = {"/" + g: result.idata[g].to_dataset() for g in result.idata.children}
    groups["/posterior"] = posterior
    return replace(result, idata=xr.DataTree.from_dict(groups))


__all__ = ["FittedModel", "fit", "load", "load_config", "DataError", "ConfigError"]
