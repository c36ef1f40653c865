"""The run folder (DESIGN.md contract), written atomically, and read back.

A run is written into a hidden temporary sibling folder and renamed into place
only when every file is complete, so a crash never leaves a half-written run.
An existing run is never replaced unless ``force=True``; even then the old run
is moved aside first and removed only after the new one is in place.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import os
import platform
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
import yaml

from mmm.config import Config
from mmm.data import MMMData, Scaling

RUN_FILES = ("manifest.json", "config.yaml", "posterior.nc", "summary.json", "roi.csv", "report.html")
DEPENDENCIES = ("pymc", "pytensor", "arviz", "arviz-base", "arviz-stats", "nutpie", "numba", "numpy", "pandas",
                "xarray", "scipy")


class RunExistsError(FileExistsError):
    pass


def default_run_dir(config: Config, root: str | Path = "reports") -> Path:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
    return Path(root) / f"{_slug(config.name)}-{stamp}"


def package_versions() -> dict[str, str]:
    out = {}
    for name in ("mmm", *DEPENDENCIES):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


def write_run(
    run_dir: str | Path,
    *,
    files: dict[str, Any],
    force: bool = False,
    finish: Callable[[Path], None] | None = None,
) -> Path:
    """Write ``files`` (name -> str | bytes | DataFrame | DataTree | dict) into ``run_dir`` atomically.

    ``finish(tmp_dir)`` runs after the files are written and before the folder is
    moved into place (e.g. to render the report from them).
    """
    run_dir = Path(run_dir)
    if run_dir.exists() and not force:
        raise RunExistsError(f"{run_dir} already exists; choose another --out, or pass --force to replace it")
    run_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = run_dir.parent / f".{run_dir.name}.tmp-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    try:
        for name, content in files.items():
            _write_one(tmp / name, content)
        if finish is not None:
            finish(tmp)
        for written in tmp.iterdir():  # on disk before the rename makes the run visible
            with open(written, "rb") as fh:
                os.fsync(fh.fileno())
        if run_dir.exists():
            old = run_dir.parent / f".{run_dir.name}.old-{os.getpid()}"
            run_dir.rename(old)
            try:
                tmp.rename(run_dir)
            except BaseException:
                old.rename(run_dir)  # put the existing run back
                raise
            shutil.rmtree(old)
        else:
            tmp.rename(run_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return run_dir


def _write_one(path: Path, content: Any) -> None:
    if isinstance(content, xr.DataTree):
        content.to_netcdf(path, engine="h5netcdf")
    elif isinstance(content, pd.DataFrame):
        content.to_csv(path, index=False, float_format="%.17g")  # lossless: the run folder is the record
    elif isinstance(content, dict):
        # strict JSON: a NaN/inf figure is written as null, never as a token other readers reject
        path.write_text(json.dumps(_finite(content), indent=2, default=_json_default, allow_nan=False) + "\n")
    elif isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(str(content))


def _finite(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _json_default(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, (dt.date, dt.datetime, pd.Timestamp)):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def manifest(
    *, run_id: str, config_text: str, data: MMMData, seed: int, sampler: dict[str, Any], timings: dict[str, float],
    diagnostics_ok: bool, scaling: Scaling, parent_run: str | None = None,
) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "package_version": package_versions()["mmm"],
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": package_versions(),
        "data": {"path": data.source, "sha256": data.sha256, "n_periods": data.n_periods,
                 "start": data.dates[0].date().isoformat(), "end": data.dates[-1].date().isoformat(),
                 "freq": data.freq},
        "config_sha256": hashlib.sha256(config_text.encode()).hexdigest(),  # of the config.yaml written
        "seed": seed,
        "sampler": sampler,
        "timings": timings,
        "diagnostics_ok": diagnostics_ok,
        "scaling": scaling.to_dict(),
        "parent_run": parent_run,
    }


@dataclass
class Run:
    """A run folder read back: its config, data, scaling, posterior and figures."""

    path: Path
    config: Config
    manifest: dict[str, Any]
    summary: dict[str, Any]

    @property
    def scaling(self) -> Scaling:
        """The run's scaling constants: :class:`mmm.geo.GeoScaling` (per geo) for a geo run."""
        if self.config.data.geo:
            from mmm.geo.design import GeoScaling

            return GeoScaling.from_dict(self.manifest["scaling"])
        return Scaling.from_dict(self.manifest["scaling"])

    def posterior(self) -> xr.DataTree:
        return xr.open_datatree(self.path / "posterior.nc", engine="h5netcdf").load()

    def table(self, name: str) -> pd.DataFrame:
        return pd.read_csv(self.path / name)


def load_run(run_dir: str | Path) -> Run:
    run_dir = Path(run_dir)
    for name in ("manifest.json", "config.yaml", "summary.json", "posterior.nc"):
        if not (run_dir / name).is_file():
            raise FileNotFoundError(f"{run_dir} is not a complete run folder: {name} is missing")
    config = Config.from_dict(yaml.safe_load((run_dir / "config.yaml").read_text()), base_dir=run_dir,
                              source=str(run_dir / "config.yaml"))
    return Run(path=run_dir, config=config, manifest=json.loads((run_dir / "manifest.json").read_text()),
               summary=json.loads((run_dir / "summary.json").read_text()))


def file_sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _slug(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in name).strip("-") or "run"
