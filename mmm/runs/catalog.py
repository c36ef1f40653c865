"""A small SQLite catalog of the run folders in one folder, for ``mmm history``.

The run folders are the source of truth; the catalog (``catalog.sqlite`` beside them) is
a cache for quick queries across quarters. Every :func:`sync` compares it with the
folders: runs whose ``manifest.json``/``summary.json`` changed (size or modification
time) are re-read, runs whose folder is gone are dropped, and a missing, unreadable or
older-schema catalog is rebuilt from scratch. Folders without a ``manifest.json`` (e.g.
comparison reports, temporary folders) are not runs and are skipped.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import pandas as pd

CATALOG_NAME = "catalog.sqlite"
SCHEMA_VERSION = 2  # 2: runs.n_geos
METRICS = ("roas", "profit_roi", "mroas", "incremental_kpi")

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE runs (
    run_id TEXT PRIMARY KEY, created_at TEXT, data_start TEXT, data_end TEXT, n_periods INTEGER,
    window_start TEXT, window_end TEXT, parent_run TEXT, mode TEXT, diagnostics_ok INTEGER,
    interval REAL, sampler TEXT, data_sha256 TEXT, stamp TEXT, n_geos INTEGER
);
CREATE TABLE figures (
    run_id TEXT REFERENCES runs(run_id) ON DELETE CASCADE, channel TEXT, metric TEXT,
    mean REAL, lo REAL, hi REAL, PRIMARY KEY (run_id, channel, metric)
);
"""


def catalog_path(runs_dir: str | Path) -> Path:
    return Path(runs_dir) / CATALOG_NAME


def run_folders(runs_dir: str | Path) -> list[Path]:
    """Sub-folders of ``runs_dir`` that hold a run (a ``manifest.json`` and ``summary.json``)."""
    runs_dir = Path(runs_dir)
    return sorted(p for p in runs_dir.iterdir()
                  if p.is_dir() and not p.name.startswith(".") and (p / "manifest.json").is_file()
                  and (p / "summary.json").is_file())


def _stamp(folder: Path) -> str:
    parts = []
    for name in ("manifest.json", "summary.json"):
        st = (folder / name).stat()
        parts.append(f"{st.st_size}:{st.st_mtime_ns}")
    return "|".join(parts)


def sync(runs_dir: str | Path) -> dict[str, int]:
    """Bring the catalog in line with the run folders; returns counts of added, updated, removed runs."""
    counts, db = _sync(runs_dir)
    db.close()
    return counts


def _sync(runs_dir: str | Path) -> tuple[dict[str, int], sqlite3.Connection]:
    """Sync and return an open connection: the catalog file, or an in-memory copy where the folder is read-only."""
    runs_dir = Path(runs_dir)
    if not runs_dir.is_dir():
        raise FileNotFoundError(f"runs folder {runs_dir} does not exist; pass the folder that holds your run "
                                f"folders (default: reports)")
    path = catalog_path(runs_dir)
    counts = {"added": 0, "updated": 0, "removed": 0, "rebuilt": 0}
    connection = _open(path)
    try:
        if connection is None:
            path.unlink(missing_ok=True)
            connection = _create(path)
            counts["rebuilt"] = 1
        _update(connection, runs_dir, counts)
    except (sqlite3.OperationalError, PermissionError):
        # a read-only archive of runs: list them all the same, from a catalog held in memory
        counts = {"added": 0, "updated": 0, "removed": 0, "rebuilt": 1}
        connection = sqlite3.connect(":memory:")
        connection.executescript(_SCHEMA)
        _update(connection, runs_dir, counts)
    return counts, connection


def _update(db: sqlite3.Connection, runs_dir: Path, counts: dict[str, int]) -> None:
    with db:
        known = dict(db.execute("SELECT run_id, stamp FROM runs").fetchall())
        present = {folder.name: folder for folder in run_folders(runs_dir)}
        for run_id in set(known) - set(present):
            db.execute("DELETE FROM figures WHERE run_id = ?", (run_id,))
            db.execute("DELETE FROM runs WHERE run_id = ?", (run_id,))
            counts["removed"] += 1
        for run_id, folder in present.items():
            stamp = _stamp(folder)
            if known.get(run_id) == stamp:
                continue
            try:
                row, figures = _read_run(folder, stamp)
            except (OSError, ValueError, KeyError, TypeError):
                continue  # a broken run folder is not listed; the folder itself is left alone
            db.execute("DELETE FROM figures WHERE run_id = ?", (run_id,))
            db.execute("INSERT OR REPLACE INTO runs VALUES (:run_id, :created_at, :data_start, :data_end, "
                       ":n_periods, :window_start, :window_end, :parent_run, :mode, :diagnostics_ok, :interval, "
                       ":sampler, :data_sha256, :stamp, :n_geos)", row)
            db.executemany("INSERT INTO figures VALUES (?, ?, ?, ?, ?, ?)", figures)
            counts["updated" if run_id in known else "added"] += 1


def _open(path: Path) -> sqlite3.Connection | None:
    """The catalog if it exists and has this schema; None when it must be rebuilt."""
    if not path.is_file():
        return None
    try:
        db = sqlite3.connect(path)
        version = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if version is None or int(version[0]) != SCHEMA_VERSION:
            db.close()
            return None
        db.execute("SELECT run_id, stamp FROM runs LIMIT 1").fetchall()
        return db
    except (sqlite3.DatabaseError, ValueError):
        return None


def _create(path: Path) -> sqlite3.Connection:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.unlink(missing_ok=True)
    db = sqlite3.connect(tmp)
    db.executescript(_SCHEMA)
    db.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
    db.commit()
    db.close()
    tmp.replace(path)  # a half-created catalog is never visible
    return sqlite3.connect(path)


def _read_run(folder: Path, stamp: str) -> tuple[dict[str, Any], list[tuple]]:
    manifest = json.loads((folder / "manifest.json").read_text())
    summary = json.loads((folder / "summary.json").read_text())
    data = manifest.get("data") or {}
    window = summary.get("window") or {}
    refresh = manifest.get("refresh") or {}
    sampler = manifest.get("sampler") or {}
    diagnostics = summary.get("diagnostics") or {}
    row = {
        "run_id": folder.name, "created_at": manifest.get("created_at"), "data_start": data.get("start"),
        "data_end": data.get("end"), "n_periods": data.get("n_periods"), "window_start": window.get("start"),
        "window_end": window.get("end"), "parent_run": manifest.get("parent_run"),
        "mode": refresh.get("mode") or ("refresh" if manifest.get("parent_run") else "fit"),
        "diagnostics_ok": int(bool(diagnostics.get("ok", manifest.get("diagnostics_ok")))),
        "interval": summary.get("interval"),
        "sampler": f"{sampler.get('sampler', '?')} {sampler.get('chains', '?')}x{sampler.get('draws', '?')}",
        "data_sha256": data.get("sha256"), "stamp": stamp,
        "n_geos": data.get("n_geos"),  # geo (panel) runs only
    }
    figures = []
    for channel, values in (summary.get("channels") or {}).items():
        for metric in METRICS:
            stats = values.get(metric)
            if isinstance(stats, dict):
                figures.append((folder.name, channel, metric, stats.get("mean"), stats.get("lo"), stats.get("hi")))
    return row, figures


def history(runs_dir: str | Path, metric: str = "roas") -> pd.DataFrame:
    """One row per run (oldest first): dates, data range, geos, parent, mode, verdict and ``metric`` per channel.

    ``n_geos`` is the number of geos of a geo (panel) run and empty for a national run; its
    figures are national (sums over geos). Channel columns hold ``"mean (lo–hi)"`` text;
    :func:`figures` gives the numbers.
    """
    with closing(_sync(runs_dir)[1]) as db:
        runs = pd.read_sql_query("SELECT * FROM runs ORDER BY created_at, run_id", db)
        values = pd.read_sql_query("SELECT * FROM figures WHERE metric = ?", db, params=(metric,))
    table = runs[["run_id", "created_at", "data_start", "data_end", "n_periods", "n_geos", "parent_run", "mode",
                  "diagnostics_ok", "interval"]].copy()
    table["n_geos"] = pd.Series([int(n) if pd.notna(n) else None for n in table["n_geos"]], dtype=object)
    table["diagnostics"] = table.pop("diagnostics_ok").map({1: "ok", 0: "FAILED"})
    for channel in dict.fromkeys(values["channel"]):
        rows = values[values["channel"] == channel].set_index("run_id")
        table[f"{metric}:{channel}"] = [
            f"{rows.at[r, 'mean']:.2f} ({rows.at[r, 'lo']:.2f}–{rows.at[r, 'hi']:.2f})" if r in rows.index else ""
            for r in table["run_id"]]
    return table


def figures(runs_dir: str | Path) -> pd.DataFrame:
    """Tidy figures of every cataloged run: run_id, created_at, channel, metric, mean, lo, hi."""
    with closing(_sync(runs_dir)[1]) as db:
        return pd.read_sql_query("SELECT f.run_id, r.created_at, f.channel, f.metric, f.mean, f.lo, f.hi "
                                 "FROM figures f JOIN runs r USING (run_id) ORDER BY r.created_at, f.run_id", db)
