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
    one multivariate normal in unconstrained space (see :mod:`mmm.update_prior`), and **only
    the periods the previous run did not fit enter the likelihood**. Earlier periods stay in
    the design so their spend still feeds the adstock carry-in into the new periods, but their
    KPI is not observed again: the old data's evidence is already in the prior, and counting it
    twice would make the posterior overconfident. An update with no new periods is an error.
    If the new file restates history, an update cannot take the revision into account (the
    old periods are not refitted); the record says so, and ``refit`` is the mode to use.

Either way the new run folder's ``manifest.json`` records ``parent_run`` and a ``refresh``
entry: the mode, both data ranges and hashes, the new periods, the periods in the
likelihood, the config changes and (update) the prior approximation.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from mmm.config import Config, ConfigError
from mmm.data import DataError, MMMData, Scaling
from mmm.diffs import config_diff, data_revisions, periods
from mmm.runs import Run, load_run

MODES = ("refit", "update")


@dataclass
class Refreshed:
    """A refreshed fit and the record of how it relates to its parent run."""

    fitted: Any  # mmm.pipeline.FittedMMM
    parent: Run
    record: dict[str, Any] = field(default_factory=dict)

    def save(self, run_dir: str | Path | None = None, *, force: bool = False, report: bool = True) -> Path:
        """Write the run folder with ``parent_run`` and the ``refresh`` record in its manifest.

        By default the folder is ``<name>-<timestamp>`` beside the parent run, so ``mmm history`` lists both.
        """
        if run_dir is None:
            from mmm.runs import default_run_dir

            run_dir = default_run_dir(self.fitted.config, root=self.parent.path.parent)
        return self.fitted.save(run_dir, force=force, report=report, parent_run=self.parent.path.name,
                                manifest_extra={"refresh": self.record})


def refresh(previous: str | Path | Run, data: str | Path | pd.DataFrame, *, mode: str = "refit",
            config: Config | str | Path | None = None, progress: bool = False, **fit_overrides: Any) -> Refreshed:
    """Refit or update the run ``previous`` on ``data``.

    Parameters
    ----------
    previous : path or Run
        The parent run folder.
    data : path or DataFrame
        The new dataset, in the parent config's column names (usually the full history plus
        the new periods, possibly with restated history).
    mode : {"refit", "update"}
    config : Config or path, optional
        A changed spec (e.g. new finance inputs); default the parent's config. It must name the
        same channels and controls: the scaling constants are the parent's.
    **fit_overrides
        draws, tune, chains, seed, sampler (as ``Config.with_fit``).
    """
    from mmm.pipeline import load

    if mode not in MODES:
        raise ConfigError(f"unknown refresh mode {mode!r}; use one of {', '.join(MODES)}")
    parent = previous if isinstance(previous, Run) else load_run(previous)
    parent.config.require_national("mmm refresh")
    if config is None:
        spec = parent.config
    else:
        spec = config if isinstance(config, Config) else Config.load(config)
    spec = spec.with_fit(**fit_overrides)
    if parent.config.holdout_periods and spec.window[1] is not None:
        # a holdout pinned the parent's window end to its last fitted period; the new run gets its own
        spec = replace(spec, window=(spec.window[0], None))
    new_data = _rolling(load(spec, data), spec)
    parent_data = load(parent.config)  # the run folder's own copy of what it modeled
    scaling = parent.scaling
    _check_same_inputs(spec, scaling, parent)
    record = _record(parent, parent_data, spec, new_data, mode)
    if mode == "refit":
        from mmm.pipeline import fit

        fitted = fit(spec, new_data, scaling=scaling, progress=progress)
        fitted.fit.sampler["refresh_mode"] = "refit"
    else:
        fitted, details = update(parent, parent_data, spec, new_data, progress=progress)
        record.update(details)
    return Refreshed(fitted=fitted, parent=parent, record=record)


def update(parent: Run, parent_data: MMMData, config: Config, data: MMMData, *,
           progress: bool = False) -> tuple[Any, dict[str, Any]]:
    """Sequential update of ``parent`` with the periods of ``data`` it did not fit (see module doc)."""
    from mmm.design import build_design
    from mmm.effects import compute_effects
    from mmm.fit import FitResult, diagnose, sample
    from mmm.model import build_model, free_parameter_names
    from mmm.pipeline import FittedMMM, check_window
    from mmm.update_prior import EPS_NAME, apply_to_model, posterior_to_prior

    t0 = time.perf_counter()
    scaling = parent.scaling
    fit_start, n_train = likelihood_periods(parent, parent_data, config, data)
    if n_train < data.n_periods and config.window[1] is None:
        config = replace(config, window=(config.window[0], data.dates[n_train - 1].date().isoformat()))
    check_window(config, data)
    design = build_design(data, scaling, config.model.seasonality_order)
    names = free_parameter_names(config, design)
    previous = parent.posterior()["posterior"].to_dataset()
    prior = posterior_to_prior(previous, config, names, intercept_shift=_intercept_shift(
        previous, config, parent_data, data, scaling))
    model_config, used = update_model_config(parent.config, config)
    model = apply_to_model(build_model(model_config, design, n_train=n_train, fit_start=fit_start), prior)
    n_observed = len(model["kpi"].get_value())
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
    effects = compute_effects(posterior, config, data, scaling)
    effects.n_train = n_train
    t3 = time.perf_counter()
    fitted = FittedMMM(config=config, data=data, scaling=scaling, fit=fit_result, effects=effects,
                       timings={"build_s": t1 - t0, "fit_s": t2 - t1, "effects_s": t3 - t2})
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
    return fitted, details


def update_model_config(parent_config: Config, config: Config) -> tuple[Config, list[Any]]:
    """The spec the update's model is built from, and the experiments already in the parent.

    The carried-forward prior replaces every parameter's prior, ROAS priors included (they
    shaped the parent's ``channel_coef``, which the prior now holds); a lift test the parent
    already used is in its posterior, hence in this prior, so only new experiments enter the
    likelihood (counting one again would double its weight).
    """
    used = [e for e in config.experiments if e in set(parent_config.experiments)]
    channels = tuple(replace(c, roas_prior=None) for c in config.channels)
    model_config = replace(config, channels=channels, model=replace(config.model, roas_prior=None),
                           experiments=tuple(e for e in config.experiments if e not in used))
    return model_config, used


def likelihood_periods(parent: Run, parent_data: MMMData, config: Config, data: MMMData) -> tuple[int, int]:
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


def _intercept_shift(previous: xr.Dataset, config: Config, parent_data: MMMData, data: MMMData,
                     scaling: Scaling) -> np.ndarray | float:
    """Per draw, how the intercept moves when time is centred over the new data instead of the old."""
    if not config.model.trend:
        return 0.0
    moved = float(np.mean(data.years_since(scaling.time_origin)) - np.mean(parent_data.years_since(
        scaling.time_origin)))
    trend = np.asarray(previous["trend"].stack(sample=("chain", "draw")).values, dtype=float)
    return trend * moved


def _rolling(data: MMMData, config: Config) -> MMMData:
    n = config.refresh_window_periods
    if n is None or data.n_periods <= n:
        return data
    return data.slice(start=data.dates[-n])


def _check_same_inputs(config: Config, scaling: Scaling, parent: Run) -> None:
    missing = [c for c in config.channel_names if c not in scaling.spend]
    missing += [c for c in config.controls if c not in scaling.control_center]
    if missing:
        raise ConfigError(f"{config.source}: {', '.join(missing)} not in run {parent.path.name}; a refresh keeps "
                          f"the parent's channels and controls (its scaling constants). Fit a new model to add them.")


def _record(parent: Run, parent_data: MMMData, config: Config, data: MMMData, mode: str) -> dict[str, Any]:
    from mmm.pipeline import _data_frame

    def describe(d: MMMData) -> dict[str, Any]:
        return {"path": d.source, "sha256": d.sha256, "start": d.dates[0].date().isoformat(),
                "end": d.dates[-1].date().isoformat(), "n_periods": d.n_periods}

    before = _data_frame(parent_data, parent.config)
    after = _data_frame(data, config)
    revisions = data_revisions(before, after, config.data.date) if config.data.date == parent.config.data.date \
        else pd.DataFrame()
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
        "rolling_window_periods": config.refresh_window_periods,
        "config_changes": config_diff(parent.config, config),
    }
    if mode == "update" and len(revisions):
        record["warning"] = (f"{len(revisions)} historical value(s) were restated; an update does not refit old "
                             f"periods, so its figures do not reflect the revision. Use --mode refit.")
    return record
