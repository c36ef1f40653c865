"""Quarterly reruns: refit or update a previous run on new data, with the same model units.

Two modes (``mmm refresh PREV_RUN --data NEW.csv --mode refit|update``):

``refit`` (default)
    The same spec fitted again on the new data (the full history, or the last
    ``refresh.window_periods`` periods when the config sets a rolling window), with the
    previous run's **scaling constants kept fixed** (KPI mean, mean spend per channel,
    control centre/scale, time origin). Priors stated in business units therefore mean the
    same thing in both runs, and the figures are comparable.

``update``
    Sequential Bayesian updating. The previous posterior becomes the prior, approximated by
    one multivariate normal in unconstrained space (see :mod:`mmm.model.update_prior`), and **only
    the periods the previous run did not fit enter the likelihood**. Earlier periods stay in
    the design so their spend still feeds the adstock carry-in into the new periods, but their
    KPI is not observed again: the old data's evidence is already in the prior, and counting it
    twice would make the posterior overconfident. An update with no new periods is an error.
    If the new file restates history, an update cannot take the revision into account (the
    old periods are not refitted); the record says so, and ``refit`` is the mode to use.

Either way the new run folder's ``manifest.json`` records ``parent_run`` and a ``refresh``
entry: the mode, both data ranges and hashes, the new periods, the restated values, the
periods in the likelihood, the config changes and (update) the prior approximation.

National data is a panel of one geo, so every run refreshes the same way, per geo: refit keeps
the parent's per-geo scaling, update carries every per-geo and pooled parameter forward
(:mod:`mmm.model.update_prior`), restated values are listed per (geo, date, column) for a
panel, and the national figures stay the sums over geos per draw. The data must hold the
parent's geos (see :mod:`mmm.runs.refresh`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from mmm.data.panel_design import PanelScaling
from mmm.data.load import DataError
from mmm.data.panel import Panel
from mmm.data.validation import listing
from mmm.runs.folder import Run, load_run
from mmm.runs.revisions import config_diff, data_revisions, periods, revision_columns
from mmm.spec.config import Config, ConfigError
from mmm.spec.priors import Prior

MODES = ("refit", "update")
REVISIONS_LISTED = 500  # restated cells listed in the record (all are counted)
# an update's stand-in coefficient prior: replaced by the carried-forward prior, only its support (positive) counts
CARRIED_COEF = Prior("LogNormal", mu=0.0, sigma=1.0)


@dataclass
class Refreshed:
    """A refreshed fit and the record of how it relates to its parent run (``mmm.api`` writes it as a run
    folder with ``parent_run`` and the ``refresh`` record in its manifest)."""

    fitted: Any  # mmm.analysis.pipeline.FittedModel
    parent: Run
    record: dict[str, Any] = field(default_factory=dict)

    def default_run_dir(self) -> Path:
        """``<name>-<timestamp>`` beside the parent run, so ``mmm history`` lists both."""
        from mmm.runs.folder import default_run_dir

        return default_run_dir(self.fitted.config, root=self.parent.path.parent)


def refresh(previous: str | Path | Run, data: str | Path | pd.DataFrame, *, mode: str = "refit",
            config: Config | str | Path | None = None, progress: bool = False, **fit_overrides: Any) -> Refreshed:
    """Refit or update the run ``previous`` on ``data``.

    Parameters
    ----------
    previous : path or Run
        The parent run folder.
    data : path or DataFrame
        The new dataset, in the parent config's column names (usually the full history plus
        the new periods, possibly with restated history); for a geo run, a panel of the
        parent's geos.
    mode : {"refit", "update"}
    config : Config or path, optional
        A changed spec (e.g. new finance inputs); default the parent's config. It must name the
        same channels and controls: the scaling constants are the parent's.
    **fit_overrides
        draws, tune, chains, seed, sampler (as ``Config.with_fit``).
    """
    from mmm.analysis.pipeline import load

    if mode not in MODES:
        raise ConfigError(f"unknown refresh mode {mode!r}; use one of {', '.join(MODES)}")
    parent = previous if isinstance(previous, Run) else load_run(previous)
    if config is None:
        spec = parent.config
    else:
        spec = config if isinstance(config, Config) else Config.load(config)
    spec = spec.with_fit(**fit_overrides)
    if parent.config.holdout_periods and spec.window[1] is not None:
        # a holdout pinned the parent's window end to its last fitted period; the new run gets its own
        spec = replace(spec, window=(spec.window[0], None))
    _check_same_inputs(spec, parent)
    new_data = _rolling(load(spec, data), spec)
    parent_data = load(parent.config)  # the run folder's own copy of what it modeled
    scaling = parent.scaling
    from mmm.runs.refresh import match_parent_geos

    new_data = match_parent_geos(new_data, scaling, parent.path.name)
    record = _record(parent, parent_data, spec, new_data, mode)
    changed = [c for c in record["config_changes"] if c["section"] not in ("fit", "diagnostics")]  # not the model
    if mode == "refit" and not (record["new_periods"] or record["revised_values"] or record["dropped_periods"]
                                or changed):
        raise DataError(f"{new_data.source}: nothing to refresh: it holds the same periods as run {parent.path.name} "
                        f"(up to {record['data']['parent']['end']}) with the same values, and the model's config is "
                        "unchanged (sampler settings aside). Append the new periods to the data, or pass a changed "
                        "--config.")
    if mode == "refit":
        from mmm.analysis.pipeline import fit

        fitted = fit(spec, new_data, scaling=scaling, progress=progress)
        fitted.fit.sampler["refresh_mode"] = "refit"
    else:
        fitted, details = update(parent, parent_data, spec, new_data, progress=progress)
        record.update(details)
    return Refreshed(fitted=fitted, parent=parent, record=record)


def update(parent: Run, parent_data: Panel, config: Config, data: Panel, *,
           progress: bool = False) -> tuple[Any, dict[str, Any]]:
    """Sequential update of ``parent`` with the periods of ``data`` it did not fit (see module doc)."""
    from mmm.model.sample import FitResult, diagnose, sample
    from mmm.analysis.pipeline import check_window
    from mmm.model.update_prior import update_model
    from mmm.model.update_prior import EPS_NAME
    from mmm.data.panel_design import build_panel_design
    from mmm.model.roas_prior import resolve_media_scale

    if config.model.baseline.smooth or parent.config.model.baseline.smooth:
        raise ConfigError(f"{config.source}: update mode cannot carry a smooth moving baseline (model.baseline) into "
                          "new periods: its path is tied to the periods it was fitted on. Refresh with "
                          "--mode refit, or drop model.baseline")
    if "time_varying" in (config.model.media_effect, parent.config.model.media_effect):
        raise ConfigError(f"{config.source}: update mode cannot carry a time-varying media effect "
                          "(model.media_effect) into new periods: its path is tied to the periods it was fitted on. "
                          "Refresh with --mode refit, or set model.media_effect: steady")
    t0 = time.perf_counter()
    scaling = parent.scaling
    fit_start, n_train = likelihood_periods(parent, parent_data, config, data)
    if n_train < data.n_periods and config.window[1] is None:
        config = replace(config, window=(config.window[0], data.dates[n_train - 1].date().isoformat()))
    check_window(config, data.national(), data)
    # the default ROAS prior's "auto" median over this run's window, as a refit works it out (the figures read it)
    config = resolve_media_scale(config, build_panel_design(data, scaling, config.design))
    previous = parent.posterior()["posterior"].to_dataset()
    model_config, used = update_model_config(parent.config, config)
    moved = _time_moved(parent_data, data, scaling.time_origin)
    model, prior = update_model(previous, model_config, data, scaling, n_train=n_train,
                                    fit_start=fit_start, moved_years=moved)
    n_observed = model["kpi"].get_value().shape[-1]
    if n_observed != n_train - fit_start:  # the guard against counting old data twice
        raise AssertionError(f"update likelihood holds {n_observed} periods, expected {n_train - fit_start}")
    t1 = time.perf_counter()
    result = sample(model, config, progress=progress)
    t2 = time.perf_counter()
    eps = np.asarray(result.idata["posterior"][EPS_NAME].transpose("chain", "draw", ...).values, dtype=float)
    posterior = prior.posterior_dataset(eps)
    groups = {"/posterior": posterior}
    if "sample_stats" in result.idata:
        groups["/sample_stats"] = result.idata["sample_stats"].to_dataset()
    idata = xr.DataTree.from_dict(groups)
    sampler = {**result.sampler, "refresh_mode": "update"}
    fit_result = FitResult(idata=idata, diagnostics=diagnose(idata, config.diagnostics), sampler=sampler,
                           timings=result.timings)
    fitted = _fitted(config, data, scaling, fit_result, n_train, {"build_s": t1 - t0, "fit_s": t2 - t1})
    details = {
        "likelihood": {"start": data.dates[fit_start].date().isoformat(),
                       "end": data.dates[n_train - 1].date().isoformat(), "periods": n_train - fit_start,
                       "carry_in_periods": fit_start,
                       "note": "only periods after the parent's last fitted period are observed; earlier "
                               "periods feed the adstock carry-in only (their evidence is in the prior)"},
        "update_prior": prior.to_dict(),
        "experiments": {"in_prior": [e.label for e in used],
                        "in_likelihood": [e.label for e in model_config.experiments]},
    }
    if prior.n_draws < 5 * prior.n_params:
        details["update_prior"]["warning"] = (
            f"the prior's covariance over {prior.n_params} parameters was matched to {prior.n_draws} draws "
            f"(fewer than 5 per parameter), so it is noisy; refit (--mode refit), or fit the parent with more draws")
    return fitted, details


def _fitted(config: Config, data: Panel, scaling: Any, fit_result: Any, n_train: int,
            timings: dict[str, float]):
    """The fitted run from an update's posterior: every figure computed from its draws."""
    from mmm.analysis.geo_effects import compute_geo_effects
    from mmm.analysis.pipeline import FittedModel

    t0 = time.perf_counter()
    posterior = fit_result.idata["posterior"].to_dataset()
    geo_effects = compute_geo_effects(posterior, config, data, scaling, n_train=n_train)
    return FittedModel(config=config, data=data, scaling=scaling, fit=fit_result, geo_effects=geo_effects,
                     timings={**timings, "effects_s": time.perf_counter() - t0})


def update_model_config(parent_config: Config, config: Config) -> tuple[Config, list[Any]]:
    """The spec the update's model is built from, and the experiments already in the parent.

    The carried-forward prior replaces every parameter's prior, ROAS priors included (they
    shaped the parent's ``channel_coef``, which the prior now holds): every channel gets a
    coefficient prior (:data:`CARRIED_COEF` where it had none, so the default ROAS prior does not
    apply; its support alone is read, the carried prior takes its place). A lift test the parent
    already used is in its posterior, hence in this prior, so only new experiments enter the
    likelihood (counting one again would double its weight).
    """
    used = [e for e in config.experiments if e in set(parent_config.experiments)]
    channels = tuple(replace(c, roas_prior=None, priors=c.priors if "coef" in c.priors or c.frequency
                             else {**c.priors, "coef": CARRIED_COEF}) for c in config.channels)
    model_config = replace(config, channels=channels, model=replace(config.model, roas_prior=None),
                           experiments=tuple(e for e in config.experiments if e not in used))
    return model_config, used


def likelihood_periods(parent: Run, parent_data: Panel, config: Config, data: Panel) -> tuple[int, int]:
    """``(fit_start, n_train)``: the update's likelihood covers rows ``fit_start .. n_train - 1`` of ``data``.

    ``fit_start`` is the first period after the last period the parent fitted (its holdout,
    never fitted, counts as new); ``n_train`` leaves out this run's own holdout.
    """
    parent_fitted_end = parent_data.dates[parent_data.n_periods - parent.config.holdout_periods - 1]
    fit_start = int(np.sum(data.dates <= parent_fitted_end))
    n_train = data.n_periods - config.holdout_periods
    if fit_start >= n_train:
        raise DataError(f"{data.source}: no periods after {parent_fitted_end.date()} (the last period run "
                        f"{parent.path.name} fitted){' outside the holdout' if config.holdout_periods else ''}; "
                        f"an update adds only new periods, so there is nothing to learn from. Add the new "
                        f"periods to the file, or use --mode refit to refit restated history.")
    return fit_start, n_train


def _time_moved(parent_data: Panel, data: Panel, time_origin: str) -> float:
    """Years by which the mean time of ``data`` lies after the parent's: each model centres time over its
    own data, so the same baseline has an intercept moved by ``trend × this`` (per draw, and per geo)."""
    def mean_years(d: Panel) -> float:
        return float(np.mean(d.national().years_since(time_origin)))

    return mean_years(data) - mean_years(parent_data)


def _rolling(data: Panel, config: Config) -> Panel:
    n = config.refresh_window_periods
    if n is None or data.n_periods <= n:
        return data
    return data.slice(start=data.dates[-n])


def _check_same_inputs(config: Config, parent: Run) -> None:
    """The refreshed spec models what the parent modeled: its channels and controls (its scaling constants)
    and, for a geo run, a panel again with the channels in the parent's order (its per-geo arrays)."""
    name = parent.path.name
    if bool(config.data.geo) != bool(parent.config.data.geo):
        kind = "a geo (panel)" if parent.config.data.geo else "a national"
        raise ConfigError(f"{config.source}: run {name} is {kind} model and this config "
                          f"{'is not' if parent.config.data.geo else 'is'} (data.geo); a refresh keeps the "
                          f"parent's model. Fit a new model to change between national and geo.")
    scaling = parent.scaling
    channels = list(scaling.channels)
    missing = [c for c in config.channel_names if c not in channels]
    missing += [c for c in config.controls if c not in scaling.control_center]
    if missing:
        raise ConfigError(f"{config.source}: {', '.join(missing)} not in run {name}; a refresh keeps "
                          f"the parent's channels and controls (its scaling constants). Fit a new model to add them.")
    dropped = [c for c in channels if c not in config.channel_names]
    dropped += [c for c in scaling.control_center if c not in config.controls]
    if dropped:
        raise ConfigError(f"{config.source}: run {name} also models {', '.join(dropped)}, which this config drops; "
                          f"a refresh keeps the parent's channels and controls, so its figures stay comparable. "
                          f"Keep them (0 spend where a channel stopped), or fit a new model without them.")
    if config.channel_names != channels:
        raise ConfigError(f"{config.source}: channels {', '.join(config.channel_names)} must be run {name}'s, in "
                          f"its order ({', '.join(channels)}); list them in that order.")


def _record(parent: Run, parent_data: Panel, config: Config, data: Panel, mode: str) -> dict[str, Any]:
    from mmm.analysis.pipeline import panel_frame

    def describe(d: Panel) -> dict[str, Any]:
        out = {"path": d.source, "sha256": d.sha256, "start": d.dates[0].date().isoformat(),
               "end": d.dates[-1].date().isoformat(), "n_periods": d.n_periods}
        return out | ({"n_geos": d.n_geos} if config.data.geo else {})

    before = panel_frame(parent_data, parent.config)
    after = panel_frame(data, config)
    same_keys = (config.data.date, config.data.geo) == (parent.config.data.date, parent.config.data.geo)
    revisions = data_revisions(before, after, config.data.date, geo=config.data.geo) if same_keys \
        else pd.DataFrame(columns=revision_columns(bool(config.data.geo)))
    span = periods(before, after, config.data.date)
    record = {
        "mode": mode,
        "parent_run": parent.path.name,
        "parent_path": str(parent.path.resolve()),
        "scaling": "kept fixed from the parent run",
        "data": {"parent": describe(parent_data), "new": describe(data), "same_file": parent_data.sha256 == data.sha256},
        "new_periods": len(span["new"]),
        "first_new_period": span["new"][0] if span["new"] else None,
        "dropped_periods": len(span["dropped"]),
        "revised_values": int(len(revisions)),
        "revised_dates": sorted(set(revisions["date"])) if len(revisions) else [],
        # each restated cell (a panel's per geo), before and after; `mmm compare` lists them all
        "revisions": revisions.head(REVISIONS_LISTED).to_dict(orient="records"),
        **({"geos": list(data.geos), "revised_geos": sorted(set(revisions["geo"])) if len(revisions) else []}
           if config.data.geo else {}),
        "rolling_window_periods": config.refresh_window_periods,
        "config_changes": config_diff(parent.config, config),
    }
    if mode == "update" and len(revisions):
        record["warning"] = (f"{len(revisions)} historical value(s) were restated; an update does not refit old "
                             f"periods, so its figures do not reflect the revision. Use --mode refit.")
    return record


def match_parent_geos(panel: Panel, scaling: PanelScaling, parent_name: str) -> Panel:
    """``panel`` with the parent's geos in the parent's order; a clear error when geos were added or removed."""
    added = [g for g in panel.geos if g not in scaling.geos]
    removed = [g for g in scaling.geos if g not in panel.geos]
    if added or removed:
        found = []
        if added:
            found.append(f"geo(s) {listing(added)} are not in run {parent_name}")
        if removed:
            found.append(f"run {parent_name}'s geo(s) {listing(removed)} are missing")
        raise DataError(f"{panel.source}: {'; '.join(found)}. A refresh keeps the parent's per-geo scaling and "
                        f"per-geo parameters, which exist for its geos only ({listing(scaling.geos)}). Fit a new "
                        f"model on this panel (`mmm fit CONFIG` with data.path set to it), or refresh with a panel "
                        f"of the parent's geos.")
    return panel.select_geos(scaling.geos)
