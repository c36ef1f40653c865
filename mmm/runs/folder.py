"""The run folder (docs/file-schemas.md), written atomically, and read back.

A run is written into a hidden temporary sibling folder and renamed into place
only when every file is complete, so a crash never leaves a half-written run.
An existing run is never replaced unless ``force=True``; even then the old run
is moved aside first and removed only after the new one is in place.

``manifest.json`` records the SHA-256 of every other file of the run as written
(``files``; ``report.html`` and ``report.pdf`` are left out: ``mmm report``
re-renders them). :func:`load_run` checks them and refuses a run whose files
were edited, truncated or replaced, and refuses the temporary folder a killed
write leaves behind. A run written before checksums were recorded still loads.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import os
import platform
import re
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

from mmm.spec.config import Config
from mmm.data.load import DataError, MMMData, Scaling

RUN_FILES = ("manifest.json", "config.yaml", "posterior.nc", "summary.json", "roi.csv", "report.html")
DEPENDENCIES = ("pymc", "pytensor", "arviz", "arviz-base", "arviz-stats", "nutpie", "numba", "numpy", "pandas",
                "xarray", "scipy")


UNCHECKED_FILES = ("manifest.json", "report.html", "report.pdf")  # re-rendered by `mmm report`
_UNFINISHED = re.compile(r"^\.(?P<run>.+)\.(tmp|old)-\d+$")  # write_run's temporary and set-aside names


class RunExistsError(FileExistsError):
    pass


class RunIntegrityError(DataError):
    """A run folder's files are not the ones it was written with (or it was never finished)."""


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
        if isinstance(files.get("manifest.json"), dict):  # a run: record what every file must hash to
            _write_one(tmp / "manifest.json", {**files["manifest.json"], "files": _checksums(tmp)})
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
    def scaling(self):
        """The run's per-geo scaling constants (:class:`mmm.data.panel_design.PanelScaling`; national: one geo)."""
        from mmm.data.panel_design import PanelScaling

        return PanelScaling.from_dict(self.manifest["scaling"])

    def posterior(self, name: str = "posterior.nc") -> xr.DataTree:
        """The run's draws; a national run written before national data became a panel of one geo gets
        the model's per-geo ``sigma`` (same values, a geo axis of length one). ``name``: another posterior
        file of the run (a stacked run's candidates)."""
        path = self.path / name
        try:
            with xr.open_datatree(path, engine="h5netcdf") as tree:  # closed: no handle cached past the read
                tree = tree.load()
        except (OSError, ValueError) as err:  # h5py and h5netcdf report a damaged file as either
            raise RunIntegrityError(f"{path} is not a readable posterior ({type(err).__name__}: {err}); "
                                    f"{_REFIT}") from None
        return with_geo_sigma(tree, self.scaling.geos)

    def table(self, name: str) -> pd.DataFrame:
        return pd.read_csv(self.path / name)

    def stacked(self) -> tuple[list[tuple[Config, xr.Dataset]], list[float], int] | None:
        """A stacked run's candidates (``summary.json["structure"]``, docs/model-candidates.md): the
        (config, posterior) of each candidate that carries weight, their weights, and the position of the
        primary (the run's own config and posterior). None for a run of one specification."""
        structure = self.summary.get("structure")
        if not structure:
            return None
        kept = [c for c in structure["candidates"] if c.get("posterior")]
        parts = []
        for c in kept:
            if c["config"] == "config.yaml":
                config = self.config
            else:
                config = Config.from_dict(as_written(yaml.safe_load((self.path / c["config"]).read_text())),
                                          base_dir=self.path, source=str(self.path / c["config"]))
            parts.append((config, self.posterior(c["posterior"])["posterior"].to_dataset()))
        primary = next(i for i, c in enumerate(kept) if c["posterior"] == "posterior.nc")
        return parts, [float(c["weight"]) for c in kept], primary


def with_geo_sigma(tree: xr.DataTree, geos) -> xr.DataTree:
    """``tree`` with ``posterior.sigma`` on a ``geo`` axis (what the model samples), adding it if missing."""
    if "posterior" not in tree.children or "sigma" not in tree["posterior"].data_vars:
        return tree
    posterior = tree["posterior"].to_dataset()
    if "geo" in posterior["sigma"].dims:
        return tree
    sigma = posterior["sigma"].expand_dims(geo=list(geos), axis=-1)
    groups = {"/" + g: tree[g].to_dataset() for g in tree.children}
    groups["/posterior"] = posterior.assign(sigma=sigma)
    return xr.DataTree.from_dict(groups)


def load_run(run_dir: str | Path) -> Run:
    """Read a run folder back, after :func:`verify_run` has checked it is whole and unchanged."""
    run_dir = Path(run_dir)
    manifest_ = verify_run(run_dir)
    for name in ("config.yaml", "summary.json", "posterior.nc"):
        if not (run_dir / name).is_file():
            raise FileNotFoundError(f"{run_dir} is not a complete run folder: {name} is missing")
    try:
        raw = yaml.safe_load((run_dir / "config.yaml").read_text())
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        raise RunIntegrityError(f"{run_dir / 'config.yaml'} is not readable YAML ({err}); {_REFIT}") from None
    config = Config.from_dict(as_written(raw), base_dir=run_dir, source=str(run_dir / "config.yaml"))
    return Run(path=run_dir, config=config, manifest=manifest_, summary=_read_json(run_dir / "summary.json"))


def as_written(raw: Any) -> Any:
    """A run's resolved config as the model it was fitted with: a panel run written before panels got shared
    per-period shocks by default has no ``model.baseline`` and was fitted without them."""
    if isinstance(raw, dict) and (raw.get("data") or {}).get("geo") and "baseline" not in (raw.get("model") or {}):
        return {**raw, "model": {**(raw.get("model") or {}), "baseline": {"smooth": False, "shocks": False}}}
    return raw


_REFIT = ("a run folder is never edited after it is written: restore the folder from a backup, "
          "or fit again (mmm fit) for a run you can trust")


def verify_run(run_dir: str | Path) -> dict[str, Any]:
    """``run_dir``'s manifest, once the folder is known to be a finished run whose files match it.

    Raises
    ------
    FileNotFoundError
        The folder or its ``manifest.json`` does not exist.
    RunIntegrityError
        The folder is the temporary folder of an unfinished write, or a file differs from
        (or lacks) the SHA-256 recorded in ``manifest.json`` when the run was written.
    """
    run_dir = Path(run_dir)
    unfinished = _UNFINISHED.match(run_dir.name)
    if unfinished and run_dir.is_dir():
        raise RunIntegrityError(
            f"{run_dir} is the temporary folder of a run that was never finished (the process writing "
            f"{run_dir.parent / unfinished['run']} stopped before moving it into place); it is not a run. "
            "Delete it and fit again."
        )
    if not run_dir.is_dir():
        raise FileNotFoundError(f"run folder {run_dir} does not exist; pass a folder written by `mmm fit` "
                                "or `mmm refresh`")
    if not (run_dir / "manifest.json").is_file():
        raise FileNotFoundError(f"{run_dir} is not a complete run folder: manifest.json is missing")
    manifest_ = _read_json(run_dir / "manifest.json")
    recorded = manifest_.get("files")
    if recorded is None:  # written before checksums were recorded: nothing to check against
        return manifest_
    if not isinstance(recorded, dict):
        raise RunIntegrityError(f"{run_dir / 'manifest.json'}: `files` must map file names to SHA-256 checksums; "
                                f"{_REFIT}")
    for name, expected in recorded.items():
        path = run_dir / name
        if not path.is_file():
            raise RunIntegrityError(f"{run_dir} lacks {name}, which manifest.json lists as part of the run; {_REFIT}")
        if file_sha256(path) != expected:
            raise RunIntegrityError(
                f"{path} was changed after the run was written: its SHA-256 differs from the one manifest.json "
                f"recorded (the file was edited, truncated or replaced); {_REFIT}"
            )
    return manifest_


def _checksums(folder: Path) -> dict[str, str]:
    return {p.name: file_sha256(p) for p in sorted(folder.iterdir()) if p.is_file() and p.name not in UNCHECKED_FILES}


def _read_json(path: Path) -> dict[str, Any]:
    try:
        content = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise RunIntegrityError(f"{path} is not valid JSON ({err}); {_REFIT}") from None
    if not isinstance(content, dict):
        raise RunIntegrityError(f"{path} holds {type(content).__name__}, not a JSON object; {_REFIT}")
    return content


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _slug(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in name).strip("-") or "run"
