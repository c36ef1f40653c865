"""The SQLite catalog behind `mmm history`: a cache of the run folders, never the source of truth."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3

import pytest

from mmm.runs.catalog import CATALOG_NAME, figures, history, sync
from mmm.cli.main import main


def _run(root, run_id, *, roas, parent=None, mode=None, ok=True, created="2026-01-01T00:00:00+00:00",
         end="2025-12-29", n_geos=None):
    folder = root / run_id
    folder.mkdir()
    manifest = {"run_id": run_id, "created_at": created, "parent_run": parent, "diagnostics_ok": ok,
                "data": {"start": "2023-01-02", "end": end, "n_periods": 156, "sha256": "x",
                         **({"n_geos": n_geos} if n_geos else {})},
                "sampler": {"sampler": "nutpie", "chains": 4, "draws": 500}}
    if mode:
        manifest["refresh"] = {"mode": mode}
    summary = {"interval": 0.9, "window": {"start": "2023-01-02", "end": end}, "diagnostics": {"ok": ok},
               "channels": {c: {"roas": {"mean": m, "lo": m - 0.5, "hi": m + 0.5},
                                "profit_roi": {"mean": m * 0.6 - 1, "lo": 0.0, "hi": 1.0}} for c, m in roas.items()}}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    (folder / "summary.json").write_text(json.dumps(summary))
    return folder


@pytest.fixture
def runs(tmp_path):
    _run(tmp_path, "q1", roas={"tv": 1.4, "search": 4.0}, created="2026-01-05T00:00:00+00:00", end="2025-09-29")
    _run(tmp_path, "q2", roas={"tv": 1.5, "search": 3.8}, parent="q1", mode="refit",
         created="2026-04-05T00:00:00+00:00")
    _run(tmp_path, "q2-update", roas={"tv": 1.45, "search": 3.9}, parent="q1", mode="update", ok=False,
         created="2026-04-06T00:00:00+00:00")
    (tmp_path / "compare-q1-vs-q2").mkdir()  # not a run: no manifest
    (tmp_path / "compare-q1-vs-q2" / "comparison.json").write_text("{}")
    return tmp_path


def test_history_lists_runs_with_parent_mode_verdict_and_figures(runs):
    table = history(runs)
    assert list(table["run_id"]) == ["q1", "q2", "q2-update"]  # oldest first
    assert list(table["mode"]) == ["fit", "refit", "update"]
    assert table["parent_run"].tolist()[1:] == ["q1", "q1"]
    assert list(table["diagnostics"]) == ["ok", "ok", "FAILED"]
    assert table.loc[1, "roas:search"] == "3.80 (3.30–4.30)"
    assert (runs / CATALOG_NAME).is_file()
    tidy = figures(runs)
    assert len(tidy) == 3 * 2 * 2  # runs x channels x (roas, profit_roi)


def test_history_lists_geo_runs_with_their_number_of_geos(runs, capsys):
    _run(runs, "g1", roas={"tv": 1.3, "search": 3.1}, created="2026-02-01T00:00:00+00:00", n_geos=12)
    _run(runs, "g2", roas={"tv": 1.4, "search": 3.0}, parent="g1", mode="update",
         created="2026-05-01T00:00:00+00:00", n_geos=12)
    table = history(runs).set_index("run_id")
    assert table.loc["g1", "n_geos"] == 12 and table.loc["g2", "n_geos"] == 12
    assert table["n_geos"].isna().sum() == 3  # national runs have no geo axis
    assert table.loc["g2", "parent_run"] == "g1" and table.loc["g2", "mode"] == "update"
    assert table.loc["g2", "roas:tv"] == "1.40 (0.90–1.90)"  # the national figure (sum over geos)
    assert main(["history", str(runs)]) == 0
    out = capsys.readouterr().out
    assert "n_geos" in out and " 12 " in out


def test_an_older_catalog_schema_is_rebuilt_with_the_geo_column(runs):
    history(runs)
    with sqlite3.connect(runs / CATALOG_NAME) as db:
        db.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    assert sync(runs)["rebuilt"] == 1
    assert "n_geos" in history(runs).columns


def test_history_rebuilds_a_deleted_catalog(runs):
    before = history(runs)
    (runs / CATALOG_NAME).unlink()
    after = history(runs)
    assert after.equals(before)


def test_history_forgets_a_removed_run_folder(runs):
    history(runs)
    shutil.rmtree(runs / "q2-update")
    assert sync(runs)["removed"] == 1
    assert list(history(runs)["run_id"]) == ["q1", "q2"]
    with sqlite3.connect(runs / CATALOG_NAME) as db:
        assert db.execute("SELECT COUNT(*) FROM figures WHERE run_id = 'q2-update'").fetchone()[0] == 0


def test_history_rereads_a_changed_run_and_adds_a_new_one(runs):
    history(runs)
    summary = json.loads((runs / "q2" / "summary.json").read_text())
    summary["channels"]["tv"]["roas"]["mean"] = 9.0
    path = runs / "q2" / "summary.json"
    path.write_text(json.dumps(summary))
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    _run(runs, "q3", roas={"tv": 1.2, "search": 3.5}, parent="q2", mode="refit", created="2026-07-01T00:00:00+00:00")
    counts = sync(runs)
    assert counts["updated"] == 1 and counts["added"] == 1
    table = history(runs)
    assert table.set_index("run_id").loc["q2", "roas:tv"].startswith("9.00")
    assert table["run_id"].iloc[-1] == "q3"


def test_a_corrupt_catalog_is_rebuilt(runs):
    (runs / CATALOG_NAME).write_bytes(b"not a database at all")
    assert sync(runs)["rebuilt"] == 1
    assert len(history(runs)) == 3


def test_history_cli(runs, capsys, tmp_path_factory):
    assert main(["history", str(runs)]) == 0
    out = capsys.readouterr().out
    assert "q2-update" in out and "update" in out and "FAILED" in out
    csv = tmp_path_factory.mktemp("h") / "history.csv"
    assert main(["history", str(runs), "--metric", "profit_roi", "--csv", str(csv)]) == 0
    assert "profit_roi:tv" in csv.read_text()
    assert main(["history", str(runs / "nowhere")]) == 2


def test_refresh_and_compare_cli_reject_a_folder_that_is_not_a_run(tmp_path, capsys):
    (tmp_path / "data.csv").write_text("date,revenue\n")
    assert main(["refresh", str(tmp_path), "--data", str(tmp_path / "data.csv")]) == 2
    assert "not a run folder" in capsys.readouterr().err
    assert main(["compare", str(tmp_path), str(tmp_path)]) == 2


def test_history_of_a_read_only_archive_lists_the_runs_without_writing(runs, monkeypatch):
    import mmm.runs.catalog

    def read_only(path):
        raise sqlite3.OperationalError("attempt to write a readonly database")

    monkeypatch.setattr(mmm.runs.catalog, "_create", read_only)
    table = history(runs)
    assert list(table["run_id"]) == ["q1", "q2", "q2-update"] and not (runs / CATALOG_NAME).exists()


def test_a_broken_run_folder_is_skipped_not_fatal(runs):
    (runs / "q2" / "summary.json").write_text("{not json")
    assert list(history(runs)["run_id"]) == ["q1", "q2-update"]


def test_compare_cli_rejects_a_bad_change_probability(runs, capsys):
    assert main(["compare", str(runs / "q1"), str(runs / "q2"), "--change-probability", "1.5"]) == 2
    assert "--change-probability" in capsys.readouterr().err
