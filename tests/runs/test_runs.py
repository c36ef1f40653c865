"""Tests for mmm.runs.folder: the run folder contract (atomic write, read back). No model fits."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
import yaml

from mmm.spec.config import Config
from mmm.data.load import Scaling
from mmm.runs.folder import RunExistsError, load_run, package_versions, write_run

CONFIG_RAW = {
    "name": "test-run",
    "data": {"path": "data.csv", "date": "date", "kpi": "revenue"},
    "channels": {"tv": "tv_spend", "search": {"spend": "search_spend", "exposure": "search_clicks", "max_lag": 4}},
    "controls": ["price"],
    "finance": {"gross_margin": {"value": 0.6, "source": "FY24 P&L"}},
    "fit": {"draws": 20, "tune": 20, "chains": 2, "seed": 7},
}

SCALING = Scaling(kpi=1234.5, spend={"tv": 100.0, "search": 25.5}, control_center={"price": 1.02},
                  control_scale={"price": 0.05}, time_origin="2023-01-02")


def posterior_tree(seed: int = 0) -> xr.DataTree:
    """A tiny ArviZ-shaped DataTree: posterior and sample_stats groups, with coords."""
    rng = np.random.default_rng(seed)
    coords = {"chain": [0, 1], "draw": np.arange(5), "channel": ["tv", "search"]}
    posterior = xr.Dataset(
        {"coef": (("chain", "draw", "channel"), rng.normal(size=(2, 5, 2))),
         "intercept": (("chain", "draw"), rng.normal(size=(2, 5)))},
        coords=coords,
    )
    stats = xr.Dataset({"diverging": (("chain", "draw"), np.zeros((2, 5), dtype=bool))},
                       coords={"chain": [0, 1], "draw": np.arange(5)})
    return xr.DataTree.from_dict({"posterior": posterior, "sample_stats": stats})


def summary() -> dict:
    return {
        "interval": 0.9,
        "window": {"start": "2023-01-02", "end": "2023-12-25"},
        "kpi": "revenue",
        "channels": {"tv": {"spend": 5200.0, "roas": {"mean": 1.5, "lo": 0.9, "hi": 2.2}, "p_profitable": 0.3}},
        "diagnostics": {"max_rhat": 1.003, "min_ess_bulk": 412.0, "divergences": 0, "ok": True},
        "fit": {"sampler": "nutpie", "chains": 2, "draws": 20, "tune": 20, "seed": 7, "wall_s": 1.25},
    }


def complete_files(config: Config) -> dict:
    return {
        "manifest.json": {"run_id": "r1", "config_sha256": config.sha256(), "seed": config.fit.seed,
                          "scaling": SCALING.to_dict(), "diagnostics_ok": True},
        "config.yaml": yaml.safe_dump(config.to_dict(), sort_keys=False),
        "summary.json": summary(),
        "posterior.nc": posterior_tree(),
        "roi.csv": pd.DataFrame({"channel": ["tv"], "roas_mean": [1.5]}),
    }


def siblings(folder: Path) -> list[str]:
    """Every entry in the parent folder except ``folder`` itself (temp and old folders are hidden)."""
    return sorted(p.name for p in folder.parent.iterdir() if p != folder)


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


# ---- writing -----------------------------------------------------------------------------


def test_write_run_writes_every_file_type(tmp_path):
    run_dir = tmp_path / "runs" / "q3"  # parent folders are created
    frame = pd.DataFrame({"channel": ["tv", "search"], "roas_mean": [1.25, 0.5], "spend": [1000, 250]})
    tree = posterior_tree()
    payload = {"a": np.float64(0.25), "n": np.int64(3), "ok": np.bool_(True), "when": dt.date(2023, 1, 2),
               "stamp": pd.Timestamp("2023-01-02"), "path": Path("data.csv"), "nested": {"x": [1, 2.5, None]},
               "array": np.array([0.5, 1.5])}
    out = write_run(run_dir, files={
        "notes.txt": "héllo\nworld",
        "blob.bin": b"\x00\x01\xff",
        "summary.json": payload,
        "roi.csv": frame,
        "posterior.nc": tree,
    })

    assert out == run_dir
    assert sorted(p.name for p in run_dir.iterdir()) == ["blob.bin", "notes.txt", "posterior.nc", "roi.csv",
                                                         "summary.json"]
    assert (run_dir / "notes.txt").read_text() == "héllo\nworld"
    assert (run_dir / "blob.bin").read_bytes() == b"\x00\x01\xff"
    assert json.loads((run_dir / "summary.json").read_text()) == {
        "a": 0.25, "n": 3, "ok": True, "when": "2023-01-02", "stamp": "2023-01-02T00:00:00", "path": "data.csv",
        "nested": {"x": [1, 2.5, None]}, "array": [0.5, 1.5]}
    assert (run_dir / "summary.json").read_text().endswith("}\n")
    back = pd.read_csv(run_dir / "roi.csv")
    assert list(back.columns) == ["channel", "roas_mean", "spend"]  # no index column
    pd.testing.assert_frame_equal(back, frame)

    read = xr.open_datatree(run_dir / "posterior.nc", engine="h5netcdf").load()
    assert set(read.children) == {"posterior", "sample_stats"}
    xr.testing.assert_equal(read["posterior"].to_dataset(), tree["posterior"].to_dataset())
    xr.testing.assert_equal(read["sample_stats"].to_dataset(), tree["sample_stats"].to_dataset())
    assert list(read["posterior"]["channel"].values) == ["tv", "search"]

    assert siblings(run_dir) == []  # no temp folder left


def test_refuses_an_existing_run_without_force(tmp_path):
    run_dir = tmp_path / "run"
    write_run(run_dir, files={"a.txt": "first"})
    with pytest.raises(RunExistsError) as info:
        write_run(run_dir, files={"a.txt": "second"})
    assert str(run_dir) in str(info.value)
    assert "--force" in str(info.value)
    assert isinstance(info.value, FileExistsError)
    assert (run_dir / "a.txt").read_text() == "first"
    assert siblings(run_dir) == []


def test_force_replaces_the_run_and_leaves_no_siblings(tmp_path):
    run_dir = tmp_path / "run"
    write_run(run_dir, files={"a.txt": "first", "old-only.txt": "x"})
    write_run(run_dir, files={"a.txt": "second"}, force=True)
    assert sorted(p.name for p in run_dir.iterdir()) == ["a.txt"]  # replaced, not merged
    assert (run_dir / "a.txt").read_text() == "second"
    assert siblings(run_dir) == []
    assert not any(re.search(r"\.(tmp|old)-", p.name) for p in tmp_path.iterdir())


def test_finish_sees_the_files_and_its_output_is_kept(tmp_path):
    run_dir = tmp_path / "run"
    seen = {}

    def finish(folder: Path) -> None:
        seen["folder"] = folder
        seen["files"] = sorted(p.name for p in folder.iterdir())
        (folder / "report.html").write_text("<html>" + (folder / "a.txt").read_text() + "</html>")

    write_run(run_dir, files={"a.txt": "body"}, finish=finish)
    assert seen["files"] == ["a.txt"]
    assert seen["folder"] != run_dir and seen["folder"].parent == run_dir.parent  # a temp sibling
    assert (run_dir / "report.html").read_text() == "<html>body</html>"
    assert not seen["folder"].exists()


# ---- atomicity ---------------------------------------------------------------------------


def failing_finish(folder: Path) -> None:
    (folder / "report.html").write_text("half")
    raise RuntimeError("report rendering failed")


def test_failed_write_leaves_nothing_behind(tmp_path):
    run_dir = tmp_path / "run"
    with pytest.raises(RuntimeError, match="report rendering failed"):
        write_run(run_dir, files={"a.txt": "x", "posterior.nc": posterior_tree()}, finish=failing_finish)
    assert not run_dir.exists()
    assert list(tmp_path.iterdir()) == []


def test_failed_file_write_leaves_nothing_behind(tmp_path):
    run_dir = tmp_path / "run"
    with pytest.raises(TypeError, match="cannot write object to JSON"):
        write_run(run_dir, files={"a.txt": "x", "summary.json": {"bad": object()}})
    assert not run_dir.exists()
    assert list(tmp_path.iterdir()) == []


def test_failed_forced_write_keeps_the_existing_run(tmp_path):
    run_dir = tmp_path / "run"
    write_run(run_dir, files={"a.txt": "first", "summary.json": {"roas": 1.5}})
    before = snapshot(run_dir)
    with pytest.raises(RuntimeError, match="report rendering failed"):
        write_run(run_dir, files={"a.txt": "second", "summary.json": {"roas": 9.9}}, force=True,
                  finish=failing_finish)
    assert snapshot(run_dir) == before
    assert siblings(run_dir) == []


def test_failed_swap_restores_the_existing_run(tmp_path, monkeypatch):
    """If moving the new run into place fails, the old run is put back (not left in a hidden folder)."""
    run_dir = tmp_path / "run"
    write_run(run_dir, files={"a.txt": "first"})
    before = snapshot(run_dir)
    real_rename = Path.rename

    def rename(self, target):
        if ".tmp-" in self.name:
            raise OSError("disk full")
        return real_rename(self, target)

    monkeypatch.setattr(Path, "rename", rename)
    with pytest.raises(OSError, match="disk full"):
        write_run(run_dir, files={"a.txt": "second"}, force=True)
    monkeypatch.undo()
    assert snapshot(run_dir) == before
    assert siblings(run_dir) == []


# ---- reading -----------------------------------------------------------------------------


def test_load_run_names_the_missing_file(tmp_path):
    config = Config.from_dict(CONFIG_RAW, base_dir=tmp_path)
    files = complete_files(config)
    del files["summary.json"]
    run_dir = write_run(tmp_path / "run", files=files)
    with pytest.raises(FileNotFoundError) as info:
        load_run(run_dir)
    assert "summary.json is missing" in str(info.value)
    assert str(run_dir) in str(info.value)


def test_load_run_reads_a_complete_folder(tmp_path):
    config = Config.from_dict(CONFIG_RAW, base_dir=tmp_path / "project", source="quarterly.yaml")
    run_dir = write_run(tmp_path / "runs" / "r1", files=complete_files(config))

    run = load_run(run_dir)
    assert run.path == run_dir
    assert run.config.to_dict() == config.to_dict()
    assert run.config.sha256() == config.sha256() == run.manifest["config_sha256"]
    assert run.config.name == "test-run"
    assert run.config.data.path == (tmp_path / "project" / "data.csv").resolve()  # stored resolved
    assert run.config.channel_names == ["tv", "search"]
    assert run.config.finance.gross_margin_source == "FY24 P&L"
    assert run.config.source == str(run_dir / "config.yaml")

    assert run.scaling.geos == ("national",)  # a national run's scaling: that of a panel of one geo
    assert run.scaling.geo(0) == SCALING
    assert run.scaling.geo(0).spend == {"tv": 100.0, "search": 25.5}
    assert run.scaling.time_origin == "2023-01-02"
    assert run.summary == summary()
    assert run.manifest["seed"] == 7

    posterior = run.posterior()
    xr.testing.assert_equal(posterior["posterior"].to_dataset(), posterior_tree()["posterior"].to_dataset())
    assert run.table("roi.csv").to_dict("list") == {"channel": ["tv"], "roas_mean": [1.5]}


# ---- provenance --------------------------------------------------------------------------


def test_package_versions_are_real():
    versions = package_versions()
    for name in ("pymc", "arviz", "nutpie", "numpy", "xarray", "mmm"):
        assert re.fullmatch(r"\d+\.\d+(\.\d+)?\S*", versions[name]), (name, versions[name])
    assert versions["numpy"] == np.__version__
    assert versions["xarray"] == xr.__version__
