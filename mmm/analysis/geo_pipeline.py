"""Geo workflow: panel + config -> hierarchical fit -> per-geo and national figures -> run folder.

``mmm.analysis.pipeline.fit`` sends a config with ``data.geo`` here, so users call the
same ``fit(config)`` for national and geo data::

    result = fit(Config.load("panel/config.yaml"))
    result.roi_table()      # national: sum over geos per draw
    result.roi_by_geo()     # one row per (geo, channel), with intervals

ROAS priors (on the national ROAS) and lift tests (per geo or national) calibrate the
panel as they do a national model; the health card compares the national figures with
what the priors alone imply and each test with what the panel alone says.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd

from mmm.analysis.calibration import CalibrationViews
from mmm.spec.config import Config, ConfigError
from mmm.analysis.effects import Effects, summarize
from mmm.model.sample import FitResult
from mmm.data.geo_design import GeoScaling, build_geo_design
from mmm.analysis.geo_effects import GeoEffects, compute_geo_effects, geo_response_curves
from mmm.model.geo_terms import geo_posterior
from mmm.data.panel import GeoData, load_panel


def load_geo(config: Config, data: pd.DataFrame | str | Path | None = None) -> GeoData:
    source = data if data is not None else config.data.path
    if source is None:
        raise ConfigError(f"{config.source}: data.path is not set and no DataFrame was given")
    from mmm.analysis.pipeline import check_window

    panel = load_panel(source, config.roles(), population=config.data.population,
                       min_periods=config.data.min_periods)
    check_window(config, panel.national(), panel)  # the window, and lift tests (their geos) against the data
    return panel


@dataclass
class FittedGeoMMM(CalibrationViews):
    """A fitted geo model: national figures (``effects``) and per-geo figures (``geo_effects``)."""

    config: Config
    data: GeoData
    scaling: GeoScaling
    fit: FitResult
    geo_effects: GeoEffects
    timings: dict[str, float] = field(default_factory=dict)
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)
    # posterior of the same config without its experiments (same panel and scaling): what the data alone say
    reference_posterior: Any = None

    @property
    def effects(self) -> Effects:
        return self.geo_effects.national

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
        return self.geo_effects.roi_by_geo()

    def summary_frame(self) -> pd.DataFrame:
        return self.effects.summary_frame()

    def fit_table(self) -> pd.DataFrame:
        return self.effects.fit_table()

    def contributions(self, freq: str | None = None) -> pd.DataFrame:
        from mmm.analysis.pipeline import aggregate_contributions

        return self.effects.contributions_table() if freq is None else aggregate_contributions(self.effects, freq)

    def response_curves(self) -> pd.DataFrame:
        """National incremental value vs spend multiplier per channel (sums over geos per draw)."""
        if "response" not in self._cache:
            self._cache["response"] = geo_response_curves(self.posterior, self.config, self.data, self.scaling)
        return self._cache["response"]

    def break_even_spend(self) -> dict[str, float | None]:
        from mmm.analysis.curves import break_even_spend

        return break_even_spend(self.response_curves(), {c: self.config.finance.margin_for(c)
                                                         for c in self.config.channel_names})

    def carryover_curves(self) -> pd.DataFrame | None:
        """The carry-over curves when geos share the adstock (one curve per channel); None when each geo has its own."""
        from mmm.analysis.curves import carryover_curves

        if self.config.model.geo_adstock == "geo" and self.data.n_geos > 1:
            return None
        first = geo_posterior(self.posterior, self.config, 0, self.data.n_geos)
        return carryover_curves(first, self.config, self.data.geo(0), self.scaling.geo(0))

    def summary(self) -> dict[str, Any]:
        from mmm.analysis.summary import build_summary

        wall = sum(self.timings.get(k, 0.0) for k in ("build_s", "fit_s", "effects_s"))
        summary = build_summary(self.config, self.data.national(), self.fit, self.effects, wall)
        summary["geo"] = geo_summary(self)
        for channel, spend in self.break_even_spend().items():
            summary["channels"][channel]["break_even_spend"] = spend  # national window spend where profit ROI = 0
        from mmm.analysis.health import checks_to_dict, overall

        checks = self.health()
        summary["health"] = {"overall": overall(checks), "checks": checks_to_dict(checks)}
        return self.add_calibration(summary)

    def health(self) -> list:
        """The model health card on the national figures (sums over geos): convergence, fit, baseline,
        ROAS plausibility, how far the national ROAS moved from what the priors imply, residuals,
        prior–data and lift-test conflicts (:mod:`mmm.analysis.calibration`)."""
        from mmm.analysis.health import health_checks

        design = build_geo_design(self.data, self.scaling, self.config.model.seasonality_order)
        return self.with_calibration_checks(health_checks(self.effects, self.diagnostics, self.posterior, self.config,
                                                          design.spend_to_kpi, prior_roas=self.prior_effects().roas))

    def _prior_figures(self, n_draws: int) -> Effects:
        """National figures (sums over geos) of draws from the geo model's priors (:mod:`mmm.model.geo_prior_sample`)."""
        from mmm.model.geo_prior_sample import prior_geo_effects

        return prior_geo_effects(self.config, self.data, self.scaling, n_draws=n_draws,
                                 seed=self.config.fit.seed)[0].national

    def experiment_checks(self) -> list:
        """Per lift test: measured vs what the prior and the panel alone say (:mod:`mmm.analysis.calibration`)."""
        from mmm.analysis.calibration import checks_from_draws
        from mmm.model.geo_lift_tests import incremental_draws

        if "experiments" not in self._cache:
            delta = incremental_draws(self.config, self.data, self.scaling, self.posterior)
            reference = (None if self.reference_posterior is None else
                         incremental_draws(self.config, self.data, self.scaling, self.reference_posterior))
            self._cache["experiments"] = checks_from_draws(self.config, delta, reference)
        return self._cache["experiments"]

    def save(self, run_dir: str | Path | None = None, *, force: bool = False, report: bool = True,
             parent_run: str | None = None, manifest_extra: dict[str, Any] | None = None) -> Path:
        """Write the run folder atomically: the national files of a national run plus ``roi_by_geo.csv``.

        ``manifest_extra`` adds keys to manifest.json (e.g. a refresh's mode and what changed).
        """
        import yaml

        from mmm.runs.folder import default_run_dir, manifest, write_run

        run_dir = Path(run_dir) if run_dir is not None else default_run_dir(self.config)
        stored = self.config.to_dict()
        stored["data"]["path"] = "data.csv"  # the run keeps its own copy of the modeled panel
        config_text = yaml.safe_dump(stored, sort_keys=False)
        files: dict[str, Any] = {
            "config.yaml": config_text,
            "data.csv": panel_frame(self.data, self.config),
            "posterior.nc": self.fit.idata,
            "summary.json": self.summary(),
            "roi.csv": self.roi_table(),
            "roi_by_geo.csv": self.roi_by_geo(),
            "contributions.csv": self.effects.contributions_table(),
            "fit.csv": self.effects.fit_table(),
            "contributions_month.csv": self.contributions("month"),
            "contributions_quarter.csv": self.contributions("quarter"),
            "response_curves.csv": self.response_curves(),
        }
        if (carryover := self.carryover_curves()) is not None:
            files["carryover.csv"] = carryover
        files["manifest.json"] = manifest(
            run_id=run_dir.name, config_text=config_text, data=self.data.national(), seed=self.config.fit.seed,
            sampler=self.fit.sampler, timings={**self.fit.timings, **self.timings},
            diagnostics_ok=self.diagnostics.ok, scaling=self.scaling, parent_run=parent_run)
        files["manifest.json"]["data"]["n_geos"] = self.data.n_geos
        files["manifest.json"].update(manifest_extra or {})

        def finish(folder: Path) -> None:
            from mmm.report.xlsx import write_roi_xlsx

            write_roi_xlsx(folder / "roi.xlsx", self.effects, files["summary.json"], files["manifest.json"])
            if report:
                from mmm.report import write_report

                write_report(folder)

        return write_run(run_dir, files=files, force=force, finish=finish)


def panel_frame(panel: GeoData, config: Config) -> pd.DataFrame:
    """The modeled panel in the config's own column names (what a run's data.csv and config.yaml read)."""
    return panel.to_frame(config.data.date, config.data.geo, config.data.kpi,
                          {c.name: c.spend for c in config.channels}, config.data.population,
                          {c.name: c.exposure for c in config.channels if c.exposure})


def geo_summary(result: FittedGeoMMM) -> dict[str, Any]:
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


def fit_geo(config: Config, data: GeoData | pd.DataFrame | str | Path | None = None, *,
            scaling: GeoScaling | None = None, progress: bool = False,
            reference: FittedGeoMMM | bool | None = None) -> FittedGeoMMM:
    """Validate the panel, build the hierarchical model, sample, and compute every figure per geo and nationally.

    ``reference`` as in :func:`mmm.analysis.pipeline.fit`: with lift tests, the same config fitted without
    them tells what the panel alone says about each test (by default it is fitted here).
    """
    from mmm.model.sample import sample
    from mmm.model.build import build_geo_model
    from mmm.model.geo_roas_prior import coef_from_roas
    from mmm.model.national import SAMPLED_FORMS
    from mmm.analysis.pipeline import _training_periods, check_window, data_only_posterior, with_roas_coefficients

    t0 = time.perf_counter()
    panel = data if isinstance(data, GeoData) else load_geo(config, data)
    national = panel.national()
    n_train = _training_periods(config, national)
    if n_train < panel.n_periods and config.window[1] is None:
        config = replace(config, window=(config.window[0], panel.dates[n_train - 1].date().isoformat()))
    check_window(config, national, panel)
    scaling = scaling or GeoScaling.compute(panel.slice(panel.dates[n_train - 1]))
    if list(scaling.geos) != list(panel.geos) or list(scaling.channels) != config.channel_names:
        raise ConfigError(f"{config.source}: the stored geo scaling covers geos {list(scaling.geos)} and channels "
                          f"{list(scaling.channels)}, not this panel's; fit a new model")
    design = build_geo_design(panel, scaling, config.model.seasonality_order)
    model = build_geo_model(config, design, n_train=n_train, centered_baseline=True)
    t1 = time.perf_counter()
    result = sample(model, config, progress=progress, reported=SAMPLED_FORMS)
    result = with_roas_coefficients(result, config, lambda posterior: coef_from_roas(config, panel, scaling, posterior))
    t2 = time.perf_counter()
    geo_effects = compute_geo_effects(result.idata["posterior"].to_dataset(), config, panel, scaling, n_train=n_train)
    t3 = time.perf_counter()
    timings = {"build_s": t1 - t0, "fit_s": t2 - t1, "effects_s": t3 - t2}
    reference_posterior = data_only_posterior(
        config, reference, scaling, lambda without: fit_geo(without, panel, scaling=scaling, progress=progress),
        timings)
    return FittedGeoMMM(config=config, data=panel, scaling=scaling, fit=result, geo_effects=geo_effects,
                        timings=timings, reference_posterior=reference_posterior)


__all__ = ["FittedGeoMMM", "fit_geo", "load_geo"]
