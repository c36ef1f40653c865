"""A fitted model as a run folder: every file of docs/file-schemas.md, written atomically.

:func:`run_files` assembles the folder's contents from the fit (config as stored, the modeled
data, posterior, summary, tables, manifest); :func:`save_run` writes them with
:func:`mmm.runs.folder.write_run`, calling ``finish`` on the temporary folder before it moves
into place (the public API writes the xlsx and the report there, :mod:`mmm.api`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from mmm.analysis.pipeline import FittedModel, panel_frame
from mmm.runs.folder import default_run_dir, manifest, write_run


def run_files(fitted: FittedModel, run_id: str, *, parent_run: str | None = None,
              manifest_extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """File name -> content of the run folder of ``fitted``; a panel of several geos adds ``roi_by_geo.csv``.

    ``manifest_extra`` adds keys to manifest.json (e.g. a refresh's mode and what changed).
    """
    config_text = stored_config(fitted.config)
    files: dict[str, Any] = {
        "config.yaml": config_text,
        "data.csv": panel_frame(fitted.data, fitted.config),
        "posterior.nc": fitted.fit.idata,
        "summary.json": fitted.summary(),
        "roi.csv": fitted.roi_table(),
        "contributions.csv": fitted.effects.contributions_table(),
        "fit.csv": fitted.effects.fit_table(),
        "contributions_month.csv": fitted.contributions("month"),
        "contributions_quarter.csv": fitted.contributions("quarter"),
        "response_curves.csv": fitted.response_curves(),
    }
    structure = fitted.structure
    for k, candidate in enumerate(structure.candidates if structure is not None else []):
        if k != structure.primary and structure.posterior_file(k):  # the others that carry weight
            files[structure.posterior_file(k)] = candidate.fitted.fit.idata
            files[structure.config_file(k)] = stored_config(candidate.fitted.config)
    if fitted.is_panel:
        files["roi_by_geo.csv"] = fitted.roi_by_geo()
    if (carryover := fitted.carryover_curves()) is not None:
        files["carryover.csv"] = carryover
    if (strength := fitted.media_strength()) is not None:
        files["media_strength.csv"] = strength
    files["manifest.json"] = manifest(
        run_id=run_id, config_text=config_text, data=fitted.data.national(), seed=fitted.config.fit.seed,
        sampler=fitted.fit.sampler, timings={**fitted.fit.timings, **fitted.timings},
        diagnostics_ok=fitted.diagnostics.ok, scaling=fitted.scaling, parent_run=parent_run)
    if fitted.is_panel:
        files["manifest.json"]["data"]["n_geos"] = fitted.data.n_geos
    files["manifest.json"].update(manifest_extra or {})
    return files


def stored_config(config) -> str:
    """A config as a run folder stores it: resolved, reading the run's own copy of the data."""
    stored = config.to_dict()
    stored["data"]["path"] = "data.csv"  # the run keeps its own copy of the modeled data
    return yaml.safe_dump(stored, sort_keys=False)


def save_run(fitted: FittedModel, run_dir: str | Path | None = None, *, force: bool = False,
             parent_run: str | None = None, manifest_extra: dict[str, Any] | None = None,
             finish: Callable[[Path, dict[str, Any]], None] | None = None) -> Path:
    """Write the run folder of ``fitted`` atomically and return its path (default: ``reports/<name>-<time>``).

    ``finish(folder, files)`` runs on the complete temporary folder before it is moved into place, so
    files derived from the others (xlsx, report) are part of the same all-or-nothing write.
    """
    run_dir = Path(run_dir) if run_dir is not None else default_run_dir(fitted.config)
    files = run_files(fitted, run_dir.name, parent_run=parent_run, manifest_extra=manifest_extra)
    return write_run(run_dir, files=files, force=force,
                     finish=None if finish is None else (lambda folder: finish(folder, files)))
