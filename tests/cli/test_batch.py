"""``mmm batch``: a portfolio of models on a real Dask LocalCluster (2 worker processes). A broken model is
reported and the others finish; a worker killed mid-task and a client killed mid-batch both end with every model
whole, none duplicated or half-written; ``--resume`` redoes only what is missing."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from batch_portfolios import write_portfolio
from mmm.cli.batch import run_batch
from mmm.cli.main import main
from mmm.cores import available_cores
from mmm.runs.folder import verify_run
from mmm.spec.config import ConfigError
from mmm.spec.portfolio import load_portfolio


def _runs(root: Path, model: str) -> list[str]:
    """Every entry in a model's runs folder, hidden ones (temporary folders) included."""
    return sorted(p.name for p in (root / "brands-runs" / model).iterdir())


# --- the portfolio file: every key is checked, each refusal names the model and the fix (no fits) ---


def _portfolio(tmp_path: Path, **top) -> Path:
    (tmp_path / "a").mkdir(exist_ok=True)
    (tmp_path / "a" / "config.yaml").write_text("name: alpha\n")
    (tmp_path / "a" / "new.csv").write_text("date\n")
    raw = {"models": [{"config": "a/config.yaml"}], **top}
    path = tmp_path / "portfolio.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_portfolio_defaults_and_paths(tmp_path):
    book = load_portfolio(_portfolio(tmp_path, label="2026-q4", optimize={"target_roi": 1.0},
                                     fit={"draws": 300}))
    (job,) = book.models
    assert (book.name, book.label, job.id, job.steps) == ("portfolio", "2026-q4", "alpha", ("fit",))
    assert book.out == tmp_path / "portfolio-2026-q4" and job.runs == tmp_path / "portfolio-runs" / "alpha"
    assert book.run_dir(job) == job.runs / "2026-q4" and job.fit == {"draws": 300}
    assert job.config.is_absolute() and book.source.is_absolute()


@pytest.mark.parametrize(("change", "message"), [
    ({"modles": []}, "did you mean `models`"),
    ({"models": [{"config": "missing.yaml"}]}, "config"),
    ({"models": [{"config": "a/config.yaml"}, {"config": "a/config.yaml"}]}, "two models have the id 'alpha'"),
    ({"models": [{"config": "a/config.yaml", "id": "x", "runs": "r"}, {"config": "a/config.yaml", "id": "y",
                                                                       "runs": "r"}]}, "share the runs folder"),
    ({"models": [{"config": "a/config.yaml", "steps": ["fit", "refresh"]}]}, "exactly one of fit"),
    ({"models": [{"config": "a/config.yaml", "steps": ["fit", "compare"]}]}, "they follow refresh"),
    ({"models": [{"config": "a/config.yaml", "steps": ["fit", "plan"]}]}, "unknown step 'plan'"),
    ({"models": [{"config": "a/config.yaml", "steps": ["fit", "optimize"]}]}, "exactly one goal"),
    ({"models": [{"config": "a/config.yaml", "steps": ["refresh"]}]}, "needs `data`"),
    ({"models": [{"config": "a/config.yaml", "steps": ["refresh"], "data": "a/new.csv", "parent": "a"}]},
     "not a run folder"),
    ({"models": [{"config": "a/config.yaml", "data": "a/new.csv"}]}, "are the refresh step's"),
    ({"models": [{"config": "a/config.yaml", "optimize": {"budget": 1}}]}, "the steps have no optimize"),
    ({"fit": {"draws": 0}}, "fit.draws must be a whole number >= 1"),
    ({"fit": {"sampler": "hmc"}}, "fit.sampler must be one of"),
    ({"optimize": {"budget": "lots"}}, "optimize.budget must be a number"),
    ({"label": "q4 2026"}, "`label` 'q4 2026' names folders"),
])
def test_portfolio_refusals_name_the_fix(tmp_path, change, message):
    path = _portfolio(tmp_path)
    raw = {**yaml.safe_load(path.read_text()), **change}
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(ConfigError, match=message) as info:
        load_portfolio(path)
    assert str(path) in str(info.value)


def test_cli_refuses_a_bad_portfolio_with_exit_2(tmp_path, capsys):
    path = _portfolio(tmp_path, models=[{"config": "a/config.yaml", "steps": ["fit", "optimize"]}])
    assert main(["batch", str(path)]) == 2
    assert "exactly one goal" in capsys.readouterr().err
    assert main(["batch", str(path), "--workers", "0"]) == 2


# --- real batches on a LocalCluster of 2 worker processes ---


def _worker_settings() -> dict:
    import numpy  # noqa: F401  (loads the BLAS library threadpoolctl reports on)
    import pytensor
    import threadpoolctl

    return {"compiledir": str(pytensor.config.compiledir),
            "blas_threads": max([i["num_threads"] for i in threadpoolctl.threadpool_info()] or [1]),
            "env": {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}}


@pytest.mark.slow
def test_workers_share_one_compile_cache_and_run_blas_on_one_thread():
    from mmm.cli.batch import _client

    with _client(None, 2) as client:
        settings = list(client.run(_worker_settings).values())
    assert len(settings) == 2
    assert len({s["compiledir"] for s in settings}) == 1  # a graph one worker compiled, the other loads
    for s in settings:
        assert s["blas_threads"] == 1 and set(s["env"].values()) == {"1"}, s


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """4 models, one broken, on LocalCluster(2 workers)."""
    folder = tmp_path_factory.mktemp("portfolio")
    path = write_portfolio(folder, 3, broken=True)
    lines: list[str] = []
    outcome = run_batch(path, workers=2, say=lines.append)
    return path, outcome, lines


@pytest.mark.slow
def test_broken_model_is_reported_and_the_others_finish(batch):
    path, outcome, lines = batch
    statuses = outcome.statuses
    assert list(statuses) == ["brand0", "brand1", "brand2", "broken"]
    for model in ("brand0", "brand1", "brand2"):
        s = statuses[model]
        assert (s["rc"], s["status"]) == (0, "ok"), s
        manifest = verify_run(path.parent / "brands-runs" / model / "q1")  # whole: every file matches its checksum
        assert manifest["diagnostics_ok"] is True
        assert _runs(path.parent, model) == ["q1"]
        # each worker ran with its share of the machine's cores
        assert s["cores"] == max(1, available_cores() // 2)
    broken = statuses["broken"]
    assert (broken["rc"], broken["status"]) == (2, "bad input")
    assert "tv_spend_typo" in broken["message"], broken["message"]
    assert not (path.parent / "brands-runs" / "broken" / "q1").exists()
    assert outcome.rc == 2
    assert any(line.startswith("broken: exit 2 (bad input)") for line in lines)
    assert len({s["pid"] for m, s in statuses.items() if m != "broken"}) == 2  # both workers took models
    # the log keeps what the command printed
    assert "tv_spend_typo" in (outcome.out / "logs" / "broken.log").read_text()
    record = json.loads((outcome.out / "batch.json").read_text())
    assert record["state"] == "finished" and [m["rc"] for m in record["models"]] == [0, 0, 0, 2]


@pytest.mark.slow
def test_portfolio_table_page_and_xlsx_list_every_model(batch):
    path, outcome, _ = batch
    tidy = pd.read_csv(outcome.out / "portfolio.csv")
    assert sorted(tidy["model"].unique()) == ["brand0", "brand1", "brand2", "broken"]
    good = tidy[tidy["model"] == "brand1"].set_index("channel")
    summary = json.loads((path.parent / "brands-runs" / "brand1" / "q1" / "summary.json").read_text())
    for channel in ("tv", "search"):  # the table's figures are the run's own
        assert good.loc[channel, "roas_mean"] == pytest.approx(summary["channels"][channel]["roas"]["mean"])
        assert good.loc[channel, "roas_lo"] < good.loc[channel, "roas_mean"] < good.loc[channel, "roas_hi"]
    assert set(good["health"]) == {summary["health"]["overall"]} and set(good["exit_code"]) == {0}
    broken = tidy[tidy["model"] == "broken"]
    assert len(broken) == 1 and broken["channel"].isna().all() and int(broken["exit_code"].iloc[0]) == 2
    models = pd.read_excel(outcome.out / "portfolio.xlsx", sheet_name="models")
    assert list(models["model"]) == ["brand0", "brand1", "brand2", "broken"]
    assert list(models["exit_code"]) == [0, 0, 0, 2]
    html = (outcome.out / "portfolio.html").read_text()
    for model in ("brand0", "brand1", "brand2", "broken"):
        assert model in html
    assert "tv_spend_typo" in html and "bad input (exit 2)" in html
    assert "http://" not in html and "https://" not in html and "<script" not in html  # self-contained


@pytest.mark.slow
def test_portfolio_page_renders_offline_and_prints(batch, tmp_path):
    from test_report_browser import CHROMIUM, _offline_page_prints  # every tests/ folder is on sys.path

    if CHROMIUM is None:
        pytest.skip("headless Chromium not installed (apt-get install chromium)")
    _offline_page_prints(batch[1].out / "portfolio.html", "ROAS per channel", tmp_path)


@pytest.mark.slow
def test_resume_of_a_finished_batch_redoes_nothing(batch, tmp_path, capsys):
    path, outcome, _ = batch
    runs = path.parent / "brands-runs"
    before = {m: (runs / m / "q1" / "manifest.json").read_text() for m in ("brand0", "brand1")}
    assert main(["batch", str(path)]) == 2  # a batch is there: refused without --resume
    assert "--resume" in capsys.readouterr().err
    assert main(["batch", str(path), "--resume"]) == 2  # the broken model runs again, fails again
    out = capsys.readouterr().out
    assert "brand0: done before (exit 0, ok); skipped" in out and "broken: exit 2" in out
    for m, text in before.items():
        assert (runs / m / "q1" / "manifest.json").read_text() == text


@pytest.mark.slow
def test_a_changed_run_folder_is_never_trusted_or_overwritten(batch, tmp_path):
    path, outcome, _ = batch
    copy = tmp_path / "copy"
    shutil.copytree(path.parent, copy)
    out = copy / outcome.out.relative_to(path.parent)
    summary = copy / "brands-runs" / "brand2" / "q1" / "summary.json"
    summary.write_text(summary.read_text().replace('"roas"', '"roas" ', 1))  # edited after it was written
    edited = summary.read_text()
    again = run_batch(copy / "portfolio.yaml", workers=1, resume=True, out=out, say=lambda line: None)
    assert again.skipped == ["brand0", "brand1"]
    status = again.statuses["brand2"]
    assert status["rc"] == 2 and "brand2" in status["message"] and "move the folder away" in status["message"]
    assert summary.read_text() == edited


@pytest.mark.slow
def test_a_worker_killed_mid_task_is_retried_without_duplicates(tmp_path):
    """Kill -9 the worker process while it writes a run folder (its temporary folder names its pid): Dask
    reruns the task on the restarted worker, the half-written folder is cleared and each model ends whole."""
    path = write_portfolio(tmp_path, 2)
    out = tmp_path / "brands-q1"
    killed: list[int] = []

    def kill_first_writer():
        deadline = time.time() + 300
        while time.time() < deadline and not killed:
            for tmp in tmp_path.glob("brands-runs/*/.q1.tmp-*"):
                pid = int(tmp.name.rsplit("-", 1)[1])
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
                return
            time.sleep(0.02)

    killer = threading.Thread(target=kill_first_writer, daemon=True)
    killer.start()
    outcome = run_batch(path, workers=2, say=lambda line: None)
    killer.join(timeout=5)
    assert killed, "no worker was caught writing a run folder"
    for model in ("brand0", "brand1"):
        s = outcome.statuses[model]
        assert s["rc"] == 0 and s["pid"] != killed[0], s
        verify_run(tmp_path / "brands-runs" / model / "q1")
        assert _runs(tmp_path, model) == ["q1"]  # no duplicate, no half-written temporary folder left
    logs = "".join((out / "logs" / f"{m}.log").read_text() for m in ("brand0", "brand1"))
    assert f".q1.tmp-{killed[0]}" in logs  # the retry said what it cleared


@pytest.mark.slow
def test_killed_client_then_resume_finishes_only_the_missing_models(tmp_path):
    """``mmm batch`` in its own process, one worker: kill -9 the client once the first model is done (its
    LocalCluster's processes go with it); ``--resume`` keeps that model and runs the other."""
    path = write_portfolio(tmp_path, 2)
    out, runs = tmp_path / "brands-q1", tmp_path / "brands-runs"
    env = {**os.environ, "MPLBACKEND": "Agg"}
    client = subprocess.Popen([sys.executable, "-m", "mmm.cli.main", "batch", str(path), "--workers", "1"],
                              cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    first = out / "status" / "brand0.json"
    deadline = time.time() + 300
    while not first.exists() and time.time() < deadline and client.poll() is None:
        time.sleep(0.05)
    client.kill()
    client.wait()
    assert first.exists(), client.stdout.read().decode()
    done_before = json.loads(first.read_text())
    manifest = (runs / "brand0" / "q1" / "manifest.json").read_text()
    assert not (out / "status" / "brand1.json").exists()  # killed before the last model finished
    lines: list[str] = []
    outcome = run_batch(path, workers=2, resume=True, say=lines.append)
    assert outcome.skipped == ["brand0"]
    assert "brand0: done before (exit 0, ok); skipped" in lines
    assert (runs / "brand0" / "q1" / "manifest.json").read_text() == manifest
    assert json.loads(first.read_text()) == done_before
    for model in ("brand0", "brand1"):
        assert outcome.statuses[model]["rc"] == 0
        verify_run(runs / model / "q1")
        assert _runs(tmp_path, model) == ["q1"]
    assert outcome.rc == 0


@pytest.mark.slow
def test_next_quarter_refreshes_backtests_compares_and_plans_each_model(batch, tmp_path):
    """Q1 fitted (the module's batch, copied); Q2, the same portfolio with a new label and steps, refreshes each
    model on its new quarter from the newest run in its runs folder, and the portfolio page shows the backtest
    and the change since Q1."""
    shutil.copytree(batch[0].parent, tmp_path, dirs_exist_ok=True)
    path = tmp_path / "portfolio.yaml"
    raw = yaml.safe_load(path.read_text())
    raw["fit"] = {**raw["fit"], "seed": 2}  # seed 1 leaves one divergent transition in brand1's refit
    raw.update(label="q2", steps=["refresh", "backtest", "compare", "optimize"], optimize={"budget": 1_000_000},
               models=[{"id": f"brand{i}", "data": f"brand{i}/next.csv"} for i in range(2)])
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    outcome = run_batch(path, workers=2, say=lambda line: None)
    assert outcome.out == tmp_path / "brands-q2" and outcome.rc == 0, outcome.statuses
    runs = tmp_path / "brands-runs"
    for model in ("brand0", "brand1"):
        status = outcome.statuses[model]
        assert status["parent"] == str(runs / model / "q1")
        assert [s["step"] for s in status["steps"]] == ["refresh", "backtest", "compare", "optimize"]
        assert status["steps"][1]["kept"]  # mmm refresh wrote the backtest already: kept, not redone
        assert _runs(tmp_path, model) == ["q1", "q2", "q2-backtest", "q2-compare", "q2-plan"]
        assert json.loads((runs / model / "q2" / "manifest.json").read_text())["parent_run"] == "q1"
    tidy = pd.read_csv(outcome.out / "portfolio.csv")
    assert tidy["backtest_coverage"].between(0, 1).all() and (tidy["backtest_periods"] == 13).all()
    comparison = json.loads((runs / "brand0" / "q2-compare" / "comparison.json").read_text())
    row = tidy[(tidy["model"] == "brand0") & (tidy["channel"] == "tv")].iloc[0]
    assert row["roas_change_mean"] == pytest.approx(comparison["channels"]["tv"]["roas"]["difference"]["mean"])
    assert "q2-plan" in json.loads((outcome.out / "status" / "brand0.json").read_text())["outputs"]["optimize"]
