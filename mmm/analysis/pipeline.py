"""The public workflow: config + data → fitted model → tables, plots and a run folder.

Notebooks and the CLI both go through here::

    from mmm import Config, fit
    cfg = Config.load("data/robyn_weekly/config.yaml").with_fit(draws=300, tune=300)
    result = fit(cfg)
    result.roi_table()            # one row per channel, mean / median / interval
    result.save("reports/my-run")  # the run folder of docs/file-schemas.md, with its report
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

from mmm.spec.config import Config, ConfigError
from mmm.data.load import DataError, MMMData, Scaling, load_data
from mmm.data.design import build_design
from mmm.analysis.curves import break_even_spend, carryover_curves, response_curves
from mmm.analysis.effects import Effects, compute_effects
from mmm.model.sample import FitResult
from mmm.model.prior_sample import sample_prior
from mmm.analysis.health import Check, checks_to_dict, health_checks, overall
from mmm.analysis.calibration import CalibrationViews, experiment_checks
from mmm.model.roas_prior import coef_from_roas
from mmm.runs.folder import default_run_dir, manifest, write_run
from mmm.analysis.summary import build_summary

CALENDAR_PERIODS = {"month": "M", "quarter": "Q", "year": "Y"}


def load_config(path: str | Path) -> Config:
    return Config.load(path)


def load(config: Config, data: pd.DataFrame | str | Path | None = None) -> MMMData:
    """Validate the data named by ``config`` (or given directly) into :class:`MMMData`."""
    source = data if data is not None else config.data.path
    if source is None:
        raise ConfigError(f"{config.source}: data.path is not set and no DataFrame was given")
    if config.data.geo:  # a panel: validated with its geo axis kept (mmm.data.panel)
        from mmm.analysis.geo_pipeline import load_geo

        return load_geo(config, data)
    mmm_data = load_data(source, config.roles(), min_periods=config.data.min_periods)
    check_window(config, mmm_data)
    return mmm_data


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
class FittedMMM(CalibrationViews):
    """A fitted model: its inputs, posterior, diagnostics and every figure, per draw."""

    config: Config
    data: MMMData
    scaling: Scaling
    fit: FitResult
    effects: Effects
    timings: dict[str, float] = field(default_factory=dict)
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)
    # posterior of the same config without its experiments (same data and scaling): what the data alone say
    reference_posterior: Any = None

    @property
    def diagnostics(self):
        return self.fit.diagnostics

    @property
    def posterior(self):
        return self.fit.idata["posterior"].to_dataset()

    def roi_table(self) -> pd.DataFrame:
        return self.effects.roi_table()

    def summary_frame(self) -> pd.DataFrame:
        return self.effects.summary_frame()

    def contributions(self, freq: str | None = None) -> pd.DataFrame:
        """Tidy contributions per period, or summed per draw to ``freq`` ("month", "quarter", "year")."""
        if freq is None:
            return self.effects.contributions_table()
        return aggregate_contributions(self.effects, freq)

    def fit_table(self) -> pd.DataFrame:
        return self.effects.fit_table()

    def response_curves(self) -> pd.DataFrame:
        """Incremental value vs spend multiplier per channel, with intervals (see :mod:`mmm.analysis.curves`)."""
        if "response" not in self._cache:
            self._cache["response"] = response_curves(self.posterior, self.config, self.data, self.scaling)
        return self._cache["response"]

    def carryover_curves(self) -> pd.DataFrame:
        return carryover_curves(self.posterior, self.config, self.data, self.scaling)

    def break_even_spend(self) -> dict[str, float | None]:
        margins = {c: self.config.finance.margin_for(c) for c in self.config.channel_names}
        return break_even_spend(self.response_curves(), margins)

    def summary(self) -> dict[str, Any]:
        wall = sum(self.timings.get(k, 0.0) for k in ("build_s", "fit_s", "effects_s"))
        summary = build_summary(self.config, self.data, self.fit, self.effects, wall)
        for channel, spend in self.break_even_spend().items():
            summary["channels"][channel]["break_even_spend"] = spend  # window spend where profit ROI = 0
        checks = self.health()
        summary["health"] = {"overall": overall(checks), "checks": checks_to_dict(checks)}
        return self.add_calibration(summary)

    def health(self) -> list[Check]:
        """The model health card: convergence, fit, baseline, ROAS plausibility, prior shift, residuals,
        prior–data and experiment conflicts (:mod:`mmm.analysis.calibration`)."""
        spend_to_kpi = np.array([self.scaling.spend[c] / self.scaling.kpi for c in self.config.channel_names])
        return self.with_calibration_checks(health_checks(self.effects, self.diagnostics, self.posterior, self.config,
                                                          spend_to_kpi, prior_roas=self.prior_effects().roas))

    def experiment_checks(self) -> list:
        """Per lift experiment: measured vs what the prior and KPI data alone say (:mod:`mmm.analysis.calibration`)."""
        if "experiments" not in self._cache:
            design = build_design(self.data, self.scaling, self.config.model.seasonality_order)
            self._cache["experiments"] = experiment_checks(self.config, design, self.posterior,
                                                           self.reference_posterior)
        return self._cache["experiments"]

    def _prior_figures(self, n_draws: int) -> Effects:
        design = build_design(self.data, self.scaling, self.config.model.seasonality_order)
        prior = sample_prior(self.config, design, n_draws=n_draws, seed=self.config.fit.seed)
        return compute_effects(prior, self.config, self.data, self.scaling)

    def save(self, run_dir: str | Path | None = None, *, force: bool = False, report: bool = True,
             parent_run: str | None = None, manifest_extra: dict[str, Any] | None = None) -> Path:
        """Write the run folder (atomically) and, by default, its report; returns its path.

        ``manifest_extra`` adds keys to manifest.json (e.g. a refresh's mode and what changed).
        """
        run_dir = Path(run_dir) if run_dir is not None else default_run_dir(self.config)
        import yaml

        stored = self.config.to_dict()
        stored["data"]["path"] = "data.csv"  # the run keeps its own copy of the modeled data
        stored["data"].pop("geo", None)  # ...which is national (geo panels are summed in this release)
        config_text = yaml.safe_dump(stored, sort_keys=False)

        files = {
            "config.yaml": config_text,
            "data.csv": _data_frame(self.data, self.config),
            "posterior.nc": self.fit.idata,
            "summary.json": self.summary(),
            "roi.csv": self.roi_table(),
            "contributions.csv": self.effects.contributions_table(),
            "fit.csv": self.effects.fit_table(),
            "response_curves.csv": self.response_curves(),
            "carryover.csv": self.carryover_curves(),
            "contributions_month.csv": self.contributions("month"),
            "contributions_quarter.csv": self.contributions("quarter"),
        }
        files["manifest.json"] = manifest(
            run_id=run_dir.name, config_text=config_text, data=self.data, seed=self.config.fit.seed,
            sampler=self.fit.sampler,
            timings={**self.fit.timings, **self.timings}, diagnostics_ok=self.diagnostics.ok,
            scaling=self.scaling, parent_run=parent_run)
        files["manifest.json"].update(manifest_extra or {})
        def finish(folder: Path) -> None:
            from mmm.report.xlsx import write_roi_xlsx

            write_roi_xlsx(folder / "roi.xlsx", self.effects, files["summary.json"], files["manifest.json"])
            if report:
                from mmm.report import write_report

                write_report(folder)

        return write_run(run_dir, files=files, force=force, finish=finish)


def fit(config: Config, data: MMMData | pd.DataFrame | str | Path | None = None, *,
        scaling: Scaling | None = None, progress: bool = False,
        reference: FittedMMM | bool | None = None) -> FittedMMM:
    """Validate, build, sample and compute every figure.

    ``scaling`` keeps the constants of an earlier run fixed (refreshes); by default
    they are computed from this data.

    ``reference`` matters only when the config has experiments: the same config fitted
    without them tells what the data alone say about each test (the health card's
    experiment-conflict check, :mod:`mmm.analysis.calibration`). By default (None/True) that
    fit is run here (about doubling the time); pass an existing fit without experiments
    on the same data and scaling to reuse it, or False to skip it (approximate check).
    """
    from mmm.model.sample import sample
    from mmm.model.national import SAMPLED_FORMS, build_model

    if config.data.geo:  # a panel: the hierarchical geo model (mmm.data.panel); national figures are sums over geos
        from mmm.analysis.geo_pipeline import fit_geo

        return fit_geo(config, data, scaling=scaling, progress=progress, reference=reference)
    t0 = time.perf_counter()
    mmm_data = data if isinstance(data, MMMData) else load(config, data)
    n_train = _training_periods(config, mmm_data)
    if n_train < mmm_data.n_periods and config.window[1] is None:
        # the figures describe the fitted periods; the holdout only tests the fit
        config = replace(config, window=(config.window[0], mmm_data.dates[n_train - 1].date().isoformat()))
    check_window(config, mmm_data)
    scaling = scaling or Scaling.compute(mmm_data.slice(end=mmm_data.dates[n_train - 1]))
    design = build_design(mmm_data, scaling, config.model.seasonality_order)
    model = build_model(config, design, n_train=n_train, centered_baseline=True)
    t1 = time.perf_counter()
    result = sample(model, config, progress=progress, reported=SAMPLED_FORMS)
    result = with_roas_coefficients(result, config, lambda posterior: coef_from_roas(config, design, posterior))
    t2 = time.perf_counter()
    effects = compute_effects(result.idata["posterior"].to_dataset(), config, mmm_data, scaling)
    effects.n_train = n_train
    t3 = time.perf_counter()
    timings = {"build_s": t1 - t0, "fit_s": t2 - t1, "effects_s": t3 - t2}
    reference_posterior = data_only_posterior(
        config, reference, scaling, lambda without: fit(without, mmm_data, scaling=scaling, progress=progress),
        timings)
    return FittedMMM(config=config, data=mmm_data, scaling=scaling, fit=result, effects=effects, timings=timings,
                     reference_posterior=reference_posterior)


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
    only); ``fill`` computes it (:func:`mmm.model.roas_prior.coef_from_roas` or its geo twin)."""
    from mmm.model.roas_prior import roas_channels

    if not roas_channels(config):
        return result
    posterior = fill(result.idata["posterior"].to_dataset())
    groups = {"/" + g: result.idata[g].to_dataset() for g in result.idata.children}
    groups["/posterior"] = posterior
    return replace(result, idata=xr.DataTree.from_dict(groups))


def _training_periods(config: Config, data: MMMData) -> int:
    """Periods that enter the likelihood: all but ``holdout.periods`` final ones."""
    n_train = data.n_periods - config.holdout_periods
    minimum = 26 if data.freq == "W" else 90
    if config.holdout_periods and n_train < minimum:
        raise ConfigError(f"{config.source}: holdout.periods={config.holdout_periods} leaves {n_train} periods to fit; "
                          f"keep at least {minimum} (shorten the holdout)")
    return n_train


def _data_frame(data: MMMData, config: Config) -> pd.DataFrame:
    """The modeled data in the config's own column names (what the stored config.yaml reads); a panel long."""
    if config.data.geo:
        from mmm.analysis.geo_pipeline import panel_frame

        return panel_frame(data, config)
    frame = pd.DataFrame({config.data.date: data.dates.strftime("%Y-%m-%d"), config.data.kpi: data.kpi.to_numpy()})
    for ch in config.channels:
        frame[ch.spend] = data.spend[ch.name].to_numpy()
        if ch.exposure and data.exposure is not None and ch.name in data.exposure:
            frame[ch.exposure] = data.exposure[ch.name].to_numpy()
    for control in config.controls:
        frame[control] = data.controls[control].to_numpy()
    return frame


def aggregate_contributions(effects: Effects, freq: str) -> pd.DataFrame:
    """Sum contributions per draw within each calendar bucket, then summarize (intervals stay honest)."""
    if freq not in CALENDAR_PERIODS:
        raise ValueError(f"unknown period {freq!r}; use one of {', '.join(CALENDAR_PERIODS)}")
    # a week belongs to the month/quarter of its date label
    buckets = pd.Series(effects.dates).dt.to_period(CALENDAR_PERIODS[freq])
    codes, labels = pd.factorize(buckets, sort=True)
    parts = {"baseline": effects.baseline, **{c: effects.contributions[..., k] for k, c in enumerate(effects.channels)}}
    rows = []
    for component, values in parts.items():
        summed = np.stack([values[:, codes == i].sum(axis=1) for i in range(len(labels))], axis=1)
        lo, hi = np.quantile(summed, [(1 - effects.interval) / 2, (1 + effects.interval) / 2], axis=0)
        rows.append(pd.DataFrame({"period": labels.astype(str), "component": component,
                                  "mean": summed.mean(axis=0), "lo": lo, "hi": hi}))
    return pd.concat(rows, ignore_index=True)


__all__ = ["FittedMMM", "fit", "load", "load_config", "DataError", "ConfigError"]
