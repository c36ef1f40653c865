"""Run folders written by an earlier version still load, report, refresh (both modes) and compare.

The fixtures under tests/fixtures/runs/ were written by commit ef271e7 (before the stage-folder
refactor) and are never regenerated (their README). Each test works on a copy: a run folder is
never edited after it is written.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from mmm.cli import main
from mmm.runs.folder import load_run, verify_run

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "runs"
KINDS = [kind for kind in ("national", "geo") if (FIXTURES / kind / "manifest.json").is_file()]
EXIT_OK, EXIT_DIAGNOSTICS = 0, 1


@pytest.fixture(params=KINDS)
def old_run(request, tmp_path) -> tuple[str, Path]:
    copy = tmp_path / request.param
    shutil.copytree(FIXTURES / request.param, copy)
    return request.param, copy


def test_fixtures_present():
    assert KINDS == ["national", "geo"], f"missing old-run fixtures under {FIXTURES}: have {KINDS}"


def test_old_run_loads_with_its_figures(old_run):
    kind, path = old_run
    verify_run(path)  # every checksum the old manifest records still matches
    run = load_run(path)
    summary = json.loads((path / "summary.json").read_text())
    assert set(summary["channels"]) == set(run.config.channel_names)
    roi = pd.read_csv(path / "roi.csv")
    assert set(roi["channel"]) == set(summary["channels"])
    assert (kind == "geo") == bool(run.config.data.geo)


def test_old_run_renders_its_report(old_run, tmp_path):
    kind, path = old_run
    (path / "report.html").unlink()
    assert main(["report", str(path)]) == EXIT_OK
    html = (path / "report.html").read_text()
    summary = json.loads((path / "summary.json").read_text())
    for channel, figures in summary["channels"].items():
        assert channel in html
        assert f"{figures['roas']['mean']:.2f}" in html, f"{channel}'s stored ROAS mean is not in the report"


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["refit", "update"])
def test_old_run_refreshes_and_compares(old_run, mode, tmp_path):
    kind, path = old_run
    new_data = FIXTURES / f"{kind}_input" / "data_refresh.csv"
    out = tmp_path / f"refreshed-{mode}"
    code = main(["refresh", str(path), "--data", str(new_data), "--mode", mode, "--out", str(out),
                 "--draws", "100", "--tune", "100", "--chains", "2", "--no-progress"])
    assert code in (EXIT_OK, EXIT_DIAGNOSTICS)  # a short refit may miss the gate; the run is still written
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["parent_run"] == path.name
    old_periods = load_run(path).manifest["data"]["n_periods"]
    assert load_run(out).manifest["data"]["n_periods"] > old_periods  # the new quarter is in
    comparison = tmp_path / f"compare-{mode}"
    assert main(["compare", str(path), str(out), "--out", str(comparison)]) == EXIT_OK
    result = json.loads((comparison / "comparison.json").read_text())
    assert result, "the comparison is empty"
    text = json.dumps(result)
    for channel in load_run(path).config.channel_names:
        assert channel in text  # every channel's figure change is there
    assert (comparison / "comparison.html").is_file()
