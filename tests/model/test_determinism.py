"""Same data, config and seed give the same figures whether or not anything was compiled before.

Each "cold" process gets compile caches of its own that start empty (PyTensor's
base compile directory, which holds its numba cache, and numba's own cache
directory); the "warm" process after it reuses them. This is how a first fit on
a new machine meets the second one, and how fastmath once made them differ.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

SMALL_FIT = ["--draws", "150", "--tune", "150", "--chains", "2", "--no-progress"]
# exit 1: ran, but the small fit missed the convergence gate; these tests are about identical figures, not
# about good ones, and 150 draws keep the four cold compiles and fits within the CI budget
FIT_OK_OR_DIAGNOSTICS = (0, 1)


def mmm(args: list[str], cache: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTENSOR_FLAGS": f"base_compiledir={cache / 'pytensor'}",
           "NUMBA_CACHE_DIR": str(cache / "numba")}
    return subprocess.run([sys.executable, "-m", "mmm.cli.main", *args], env=env, capture_output=True, text=True)


def figures(run: Path) -> dict:
    summary = json.loads((run / "summary.json").read_text())
    summary["fit"].pop("wall_s")
    return summary


def fit_cold_then_warm(config: Path, tmp_path: Path) -> tuple[Path, Path]:
    cache = tmp_path / "cache"
    assert not cache.exists()
    runs = tmp_path / "cold", tmp_path / "warm"
    for run in runs:
        done = mmm(["fit", str(config), "--out", str(run), "--seed", "7", *SMALL_FIT], cache)
        assert done.returncode in FIT_OK_OR_DIAGNOSTICS, done.stderr
    assert any((cache / "pytensor" / "numba").iterdir()), "the cold run compiled nothing into its cache"
    return runs


def synth(tmp_path: Path, *extra: str) -> Path:
    out = tmp_path / "synth"
    done = mmm(["synth", "--seed", "3", "--out", str(out), "--periods", "104", "--channels", "3", *extra],
               tmp_path / "synth_cache")
    assert done.returncode == 0, done.stderr
    # one shape: the stacked default would fit four, cold and warm, in every test (about 6 minutes each on 2
    # cores); the candidates' own seeding and the stacked summary's determinism are tested in-process
    # (tests/analysis/test_stacking.py)
    config = out / "config.yaml"
    raw = yaml.safe_load(config.read_text())
    config.write_text(yaml.safe_dump({**raw, "model": {**(raw.get("model") or {}), "candidates": "none"}}))
    return config


@pytest.mark.slow
def test_national_fit_and_plan_are_identical_cold_and_warm(tmp_path):
    cold, warm = fit_cold_then_warm(synth(tmp_path), tmp_path)
    assert figures(cold) == figures(warm)
    assert (cold / "roi.csv").read_bytes() == (warm / "roi.csv").read_bytes()
    # the planner, once with caches of its own that start empty, once warm
    plans = []
    for name, cache in (("plan_cold", tmp_path / "plan_cache"), ("plan_warm", tmp_path / "plan_cache")):
        out = tmp_path / name
        done = mmm(["optimize", str(cold), "--budget", "50000", "--max-draws", "100", "--out", str(out)], cache)
        assert done.returncode in FIT_OK_OR_DIAGNOSTICS, done.stderr
        plans.append(out)
    assert (plans[0] / "plan.csv").read_bytes() == (plans[1] / "plan.csv").read_bytes()
    assert (plans[0] / "plan_periods.csv").read_bytes() == (plans[1] / "plan_periods.csv").read_bytes()


@pytest.mark.slow
def test_geo_fit_is_identical_cold_and_warm(tmp_path):
    cold, warm = fit_cold_then_warm(synth(tmp_path, "--geos", "3"), tmp_path)
    assert figures(cold) == figures(warm)
    assert (cold / "roi.csv").read_bytes() == (warm / "roi.csv").read_bytes()
