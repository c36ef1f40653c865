"""The public API: what notebooks and the CLI call, on top of every stage.

It adds what needs every stage at once, writing a run folder with its xlsx and report, to the
fitted model of :mod:`mmm.analysis.pipeline` and the refresh of :mod:`mmm.runs.refresh`::

    from mmm import fit, load_config, refresh
    result = fit(load_config("data/robyn_weekly/config.yaml"))
    result.save("reports/q1")                        # run folder + roi.xlsx + report.html
    refresh("reports/q1", "q2.csv").save()           # beside its parent: reports/<name>-<time>
    write_plan("reports/q1-plan", model, optimize(plan_model("reports/q1"), budget))
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import pandas as pd

from mmm.analysis.pipeline import FittedModel, load, load_config
from mmm.analysis.pipeline import fit as fit_model
from mmm.data.load import MMMData
from mmm.data.panel import Panel
from mmm.planning.optimize import PlanModel
from mmm.planning.plans import plan_model as plan_fitted
from mmm.planning.plans import plan_model_of
from mmm.runs.folder import Run, load_run
from mmm.runs.refresh import Refreshed
from mmm.runs.refresh import refresh as refresh_run
from mmm.runs.save import save_run
from mmm.spec.config import Config


class FittedMMM(FittedModel):
    """A fitted model (:class:`mmm.analysis.pipeline.FittedModel`: inputs, posterior, every figure per
    draw) that can write itself as a run folder."""

    @classmethod
    def of(cls, fitted: FittedModel) -> FittedMMM:
        if isinstance(fitted, cls):
            return fitted
        return cls(**{f.name: getattr(fitted, f.name) for f in fields(fitted)})

    def save(self, run_dir: str | Path | None = None, *, force: bool = False, report: bool = True,
             parent_run: str | None = None, manifest_extra: dict[str, Any] | None = None) -> Path:
        """Write the run folder (atomically, with ``roi.xlsx`` and, by default, ``report.html``); returns its path.

        ``manifest_extra`` adds keys to manifest.json (e.g. a refresh's mode and what changed).
        """
        def finish(folder: Path, files: dict[str, Any]) -> None:
            from mmm.report import write_report  # here: `import mmm` stays free of the plotting stack
            from mmm.report.xlsx import write_roi_xlsx

            write_roi_xlsx(folder / "roi.xlsx", self.effects, files["summary.json"], files["manifest.json"])
            if report:
                write_report(folder)

        return save_run(self, run_dir, force=force, parent_run=parent_run, manifest_extra=manifest_extra,
                        finish=finish)


@dataclass
class RefreshedMMM(Refreshed):
    """A refresh (:class:`mmm.runs.refresh.Refreshed`) that can write itself as a run folder."""

    fitted: FittedMMM
    data: Any = None  # the new data as given (a path or a DataFrame): the parent's backtest reads it

    def save(self, run_dir: str | Path | None = None, *, force: bool = False, report: bool = True,
             backtest: bool = True) -> Path:
        """Write the run folder with ``parent_run`` and the ``refresh`` record in its manifest; by default
        ``<name>-<timestamp>`` beside the parent run, so ``mmm history`` lists both.

        With ``backtest`` (and new periods), first the parent's forecast of them is scored and written beside
        the run as ``<run>-backtest`` (:mod:`mmm.runs.backtest`), so the run's report shows it."""
        from mmm.runs.folder import RunExistsError

        run_dir = Path(run_dir) if run_dir is not None else self.default_run_dir()
        if run_dir.exists() and not force:
            raise RunExistsError(f"{run_dir} already exists; choose another folder, or pass force=True to replace it")
        if backtest and self.record.get("new_periods") and self.data is not None:
            from mmm.report.backtest import write_backtest
            from mmm.runs.backtest import backtest as score_forecast, default_dir

            result = score_forecast(self.parent, self.data, new_run=self.fitted)
            result.run = run_dir.name
            write_backtest(default_dir(run_dir), result, force=force)
        return self.fitted.save(run_dir, force=force, report=report, parent_run=self.parent.path.name,
                                manifest_extra={"refresh": self.record})


def fit(config: Config, data: Panel | MMMData | pd.DataFrame | str | Path | None = None, *,
        scaling: Any = None, progress: bool = False, reference: FittedModel | bool | None = None) -> FittedMMM:
    """Validate, build, sample and compute every figure (:func:`mmm.analysis.pipeline.fit`)."""
    return FittedMMM.of(fit_model(config, data, scaling=scaling, progress=progress, reference=reference))


def refresh(previous: str | Path | Run, data: str | Path | pd.DataFrame, *, mode: str = "refit",
            config: Config | str | Path | None = None, progress: bool = False, **fit_overrides: Any) -> RefreshedMMM:
    """Refit or update the run ``previous`` on ``data`` (:func:`mmm.runs.refresh.refresh`)."""
    done = refresh_run(previous, data, mode=mode, config=config, progress=progress, **fit_overrides)
    return RefreshedMMM(fitted=FittedMMM.of(done.fitted), parent=done.parent, record=done.record, data=data)


def write_plan(out_dir: str | Path, model: PlanModel, result: Any, *, force: bool = False) -> Path:
    """plan.csv, plan_periods.csv, plan.json and plan.html (:func:`mmm.report.plan_folder.write_plan`)."""
    from mmm.report.plan_folder import write_plan as write  # here: `import mmm` stays free of the plotting stack

    return write(out_dir, model, result, force=force)


def write_scenarios(out_dir: str | Path, model: PlanModel, comparison: Any, *, force: bool = False) -> Path:
    """scenarios.csv/.json/.html and their tables (:func:`mmm.report.plan_folder.write_scenarios`)."""
    from mmm.report.plan_folder import write_scenarios as write

    return write(out_dir, model, comparison, force=force)


def plan_model(source: str | Path | FittedModel, **options: Any) -> PlanModel:
    """The plan model (:mod:`mmm.planning.plans`) of a run folder (a path: its posterior, every draw) or of a
    fitted model; ``options``: ``periods``, ``flighting``, ``lookback``, ``max_draws``."""
    if not isinstance(source, (str, Path)):
        return plan_fitted(source, **options)
    run = load_run(source)
    model = plan_model_of(run.posterior()["posterior"].to_dataset(), run.config, load(run.config), run.scaling,
                          **options)
    model.run_id = run.manifest.get("run_id", Path(source).name)
    model.diagnostics_ok = bool(run.manifest.get("diagnostics_ok", True))
    return model


__all__ = ["FittedMMM", "RefreshedMMM", "fit", "load", "load_config", "load_run", "plan_model", "refresh",
           "write_plan", "write_scenarios"]
