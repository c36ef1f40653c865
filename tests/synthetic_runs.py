"""A run folder holding a synthetic dataset and a given posterior (no sampling), for fast workflow tests."""

from __future__ import annotations

import json
from pathlib import Path

import xarray as xr
import yaml


def write_synthetic_run(folder: Path, synthetic, posterior: xr.Dataset, scaling) -> Path:
    """The DESIGN.md contract files of ``synthetic`` (a :class:`mmm.data.synth.SynthResult`, national or
    geo panel) fitted as ``posterior``, with its scaling constants in the manifest."""
    folder.mkdir(parents=True)
    synthetic.data.assign(date=synthetic.data["date"].dt.strftime("%Y-%m-%d")).to_csv(folder / "data.csv",
                                                                                        index=False)
    (folder / "config.yaml").write_text(yaml.safe_dump(synthetic.config, sort_keys=False))
    xr.DataTree.from_dict({"posterior": posterior}).to_netcdf(folder / "posterior.nc", engine="h5netcdf")
    (folder / "manifest.json").write_text(json.dumps({"run_id": folder.name, "diagnostics_ok": True,
                                                      "scaling": scaling.to_dict()}))
    (folder / "summary.json").write_text("{}")
    return folder


def reseal(folder: Path) -> Path:
    """Record an edited run folder's files in its manifest, as if the run had been written with them.

    A test that builds "the same run with restated data" (or a changed margin) from a copy
    needs a run that is whole again: load_run refuses files that differ from their checksums.
    """
    from mmm.runs.folder import _checksums

    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["files"] = _checksums(folder)
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return folder
