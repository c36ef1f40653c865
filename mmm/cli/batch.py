"""``mmm batch PORTFOLIO.yaml [--scheduler ADDRESS] [--workers N] [--resume]``: every model of a portfolio, each
one Dask task, on a ``LocalCluster`` sized to the machine or on any Dask scheduler.

Each task runs the model's steps as the commands a user would type (``mmm fit``, ``mmm refresh``, ``mmm
backtest``, ``mmm compare``, ``mmm optimize``), in the worker's own process, so a step means exactly what the
command means and exits as it exits. What a task leaves:

- the model's folders under its runs folder: ``<label>``, ``<label>-backtest``, ``<label>-compare``,
  ``<label>-plan`` (each written atomically by its command);
- ``<out>/status/<id>.json``: exit code (0 ok, 1 diagnostics failed, 2 bad input), status, message, steps,
  outputs, the worker, timings; ``<out>/logs/<id>.log``: everything the commands printed.

A model is done when its status says 0 or 1, its entry is unchanged, and every output is whole (run folders
verified against their checksums). A step whose output is already whole is kept, not redone, so a task that
Dask retries after its worker died, or a batch resumed after its client was killed, redoes only what is
missing. Two processes never work on one model at once: each task holds an exclusive lock on
``<out>/locks/<id>.lock`` (released by the kernel if its process dies).
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import io
import json
import os
import shutil
import socket
import sys
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_DIAGNOSTICS, EXIT_BAD_INPUT = 0, 1, 2
STATUS = {0: "ok", 1: "diagnostics failed", 2: "bad input"}
# one model at a time per worker process: the commands print to the process's stdout and set its BLAS threads
_PROCESS_LOCK = threading.Lock()


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "batch", help="run every model of a portfolio (fit, or refresh + backtest + compare + optimize) on Dask",
        description="Run each model of PORTFOLIO as one Dask task: on a LocalCluster of this machine (default) or "
                    "on the Dask scheduler at --scheduler. A model that fails is reported with its exit code and "
                    "message; the others finish. Writes the portfolio page (portfolio.html), its table "
                    "(portfolio.csv, portfolio.xlsx) and batch.json into the batch's folder. Exit code: the worst "
                    "of the models' (0 all ok, 1 some diagnostics failed, 2 some bad input).")
    p.add_argument("portfolio", type=Path, metavar="PORTFOLIO", help="the portfolio YAML (see docs/batch.md)")
    p.add_argument("--scheduler", metavar="ADDRESS", help="a running Dask scheduler, e.g. tcp://10.0.0.5:8786 "
                                                         "(default: start a LocalCluster)")
    p.add_argument("--workers", type=int, help="LocalCluster workers (default: one per core, at most one per model)")
    p.add_argument("--resume", action="store_true",
                   help="finish a batch that was interrupted: models already done are skipped, the rest run")
    p.add_argument("--out", type=Path, help="the batch's folder (default: the portfolio's `out`)")
    p.set_defaults(handler=run)


def run(args) -> int:
    if args.workers is not None and args.workers < 1:
        print("error: --workers must be >= 1", file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.workers is not None and args.scheduler:
        print("error: --workers sizes the LocalCluster; a --scheduler's cluster has the workers it has",
              file=sys.stderr)
        return EXIT_BAD_INPUT
    outcome = run_batch(args.portfolio, scheduler=args.scheduler, workers=args.workers, resume=args.resume,
                        out=args.out)
    print(f"portfolio: {outcome.out / 'portfolio.html'} ({len(outcome.statuses)} models: "
          f"{sum(s['rc'] == 0 for s in outcome.statuses.values())} ok, "
          f"{sum(s['rc'] != 0 for s in outcome.statuses.values())} not)")
    return outcome.rc


@dataclass
class BatchOutcome:
    out: Path
    statuses: dict[str, dict[str, Any]]  # model id -> its status record
    skipped: list[str]  # done before this call (resume)
    wall_s: float

    @property
    def rc(self) -> int:
        return max((s["rc"] for s in self.statuses.values()), default=EXIT_OK)


def run_batch(portfolio: str | Path, *, scheduler: str | None = None, workers: int | None = None,
              resume: bool = False, out: str | Path | None = None, say=print) -> BatchOutcome:
    """Run every model of ``portfolio`` on Dask and write the portfolio page; see the module's docstring."""
    from mmm.cores import available_cores
    from mmm.report.portfolio import write_portfolio
    from mmm.runs.folder import RunExistsError
    from mmm.spec.portfolio import load_portfolio

    t0 = time.perf_counter()
    book = load_portfolio(portfolio, out)
    record = book.out / "batch.json"
    if record.is_file() and not resume:
        raise RunExistsError(f"{book.out} holds a batch already ({record}); pass --resume to finish it, or "
                             f"choose another --out")
    for sub in ("status", "logs", "locks"):
        (book.out / sub).mkdir(parents=True, exist_ok=True)
    jobs = [resolve_parent(book, job) for job in book.models]
    _write_record(book, record, jobs, scheduler, state="running")
    statuses, skipped, todo = {}, [], []
    for job in jobs:
        done = completed(book, job)
        if done is not None:
            statuses[job.id] = done
            skipped.append(job.id)
            say(f"{job.id}: done before (exit {done['rc']}, {done['status']}); skipped")
        else:
            todo.append(job)
    if todo:
        n_workers = workers or max(1, min(available_cores(), len(todo)))
        cores = None if scheduler else max(1, available_cores() // n_workers)
        with _client(scheduler, n_workers) as client:
            say(f"running {len(todo)} model(s) on {_describe(client)}")
            statuses.update(_gather(client, book, todo, cores, say))
    write_portfolio(book.out, book, statuses)
    _write_record(book, record, jobs, scheduler, state="finished", statuses=statuses)
    return BatchOutcome(out=book.out, statuses={j.id: statuses[j.id] for j in jobs}, skipped=skipped,
                        wall_s=time.perf_counter() - t0)


def _gather(client, book, jobs, cores: int | None, say) -> dict[str, dict[str, Any]]:
    from dask.distributed import as_completed

    futures = {client.submit(run_model, book, job, cores, key=f"mmm-{book.label}-{job.id}-{job.fingerprint()}",
                             pure=False): job for job in jobs}
    statuses = {}
    for future in as_completed(futures):
        job = futures[future]
        try:
            status = future.result()
        except Exception as err:  # the task never finished: its worker died more often than Dask retries
            status = _status(book, job, EXIT_DIAGNOSTICS, "error", f"the task failed on the cluster: "
                             f"{type(err).__name__}: {err}", [], {}, None, 0.0)
            _write_status(book, job, status)
        statuses[job.id] = status
        say(f"{job.id}: exit {status['rc']} ({status['status']}){': ' + status['message'] if status['message'] else ''}")
    return statuses


@contextlib.contextmanager
def _client(scheduler: str | None, workers: int):
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError as err:
        raise OSError("mmm batch needs Dask distributed: pip install 'mmm[batch]'") from err
    if scheduler:
        with Client(scheduler, timeout="30s") as client:
            yield client
        return
    # one thread per worker (a fit's chains take the worker's share of the cores); Dask's nanny already starts
    # each worker with OMP/MKL/OPENBLAS_NUM_THREADS=1, and each task also caps BLAS with threadpoolctl
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        yield client


def _describe(client) -> str:
    info = client.scheduler_info()
    n = len(info.get("workers", {}))
    return f"Dask scheduler {info.get('address', '?')} with {n} worker(s)"


def resolve_parent(book, job):
    """A refresh without `parent`: the newest whole run folder in the model's runs folder (not this batch's own)."""
    if "refresh" not in job.steps or job.parent is not None:
        return job
    from mmm.runs.catalog import run_folders
    from mmm.spec.config import ConfigError

    own = {p.name for p in book.outputs(job).values()}
    candidates = [p for p in run_folders(job.runs) if p.name not in own] if job.runs.is_dir() else []
    if not candidates:
        raise ConfigError(f"{book.source}: model {job.id}: no run folder in {job.runs} to refresh; give `parent`")
    newest = max(candidates, key=lambda p: json.loads((p / "manifest.json").read_text()).get("created_at", ""))
    return replace(job, parent=newest)


def completed(book, job) -> dict[str, Any] | None:
    """The model's status when it is done (see the module's docstring), else None."""
    path = book.out / "status" / f"{job.id}.json"
    if not path.is_file():
        return None
    status = json.loads(path.read_text())
    if status.get("fingerprint") != job.fingerprint():
        from mmm.spec.config import ConfigError

        raise ConfigError(f"{book.source}: model {job.id}'s entry changed since this batch ran it ({path}); "
                          f"resume with the portfolio as it was, or start a new batch (another label or --out)")
    if status.get("rc") not in (EXIT_OK, EXIT_DIAGNOSTICS) or status.get("status") == "error":
        return None
    for step, folder in book.outputs(job).items():
        try:
            if _whole(step, Path(folder)) is None:
                return None
        except Exception:  # not whole (changed or unfinished): not done; the step says why when it runs
            return None
    return status


def _whole(step: str, folder: Path) -> int | None:
    """The exit code a finished ``step`` had, when its output ``folder`` is whole; None when it is not there."""
    if not folder.exists():
        return None
    if step in ("fit", "refresh"):
        from mmm.runs.folder import verify_run

        manifest = verify_run(folder)  # raises on a changed or unfinished run folder: never trusted
        return EXIT_OK if manifest.get("diagnostics_ok", True) else EXIT_DIAGNOSTICS
    return EXIT_OK  # derived folders are written whole (temporary folder, then rename) or not at all


def run_model(book, job, cores: int | None) -> dict[str, Any]:
    """The Dask task: the model's steps, each kept when its output is already whole; returns its status."""
    from mmm.cores import CORES_VARIABLE

    with _PROCESS_LOCK, _model_lock(book.out / "locks" / f"{job.id}.lock"):
        done = completed(book, job)  # a process that held the lock before us (an orphaned try) may have finished
        if done is not None:
            return done
        if cores is not None:
            os.environ[CORES_VARIABLE] = str(cores)
        t0, log, steps, outputs, rc, message, crashed = time.perf_counter(), io.StringIO(), [], {}, EXIT_OK, "", False
        for folder in _stale_temporaries(book.outputs(job).values()):
            shutil.rmtree(folder, ignore_errors=True)
            log.write(f"removed {folder}: a folder a killed try left half-written\n")
        for step, folder in book.outputs(job).items():
            started = time.perf_counter()
            try:
                kept = _whole(step, folder)
            except Exception as err:  # a run folder that exists but is not whole: name it, never overwrite it
                kept, step_rc, text = None, EXIT_BAD_INPUT, f"error: {err}; move the folder away and resume\n"
            else:
                step_rc, text, crashed = (kept, "kept: already whole\n", False) if kept is not None else \
                    _command(_argv(book, job, step, folder), cores)
            log.write(f"$ mmm {step} -> {folder}\n{text}\n")
            steps.append({"step": step, "rc": step_rc, "kept": kept is not None,
                          "seconds": round(time.perf_counter() - started, 2)})
            if folder.exists():
                outputs[step] = str(folder)
            rc = max(rc, step_rc)
            if crashed or step_rc not in (EXIT_OK, EXIT_DIAGNOSTICS):  # later steps need this one's output
                message = f"{step}: {_last_error(text) or 'failed'}"
                break
            if step_rc == EXIT_DIAGNOSTICS and not message:
                message = f"{step}: diagnostics failed (see the run's report)"
        state = "error" if crashed else STATUS.get(rc, "error")
        status = _status(book, job, rc, state, message, steps, outputs, socket.gethostname(),
                         time.perf_counter() - t0)
        status["cores"] = cores
        _write_status(book, job, status, log.getvalue())
        return status


def _stale_temporaries(folders) -> list[Path]:
    """Temporary folders (``.<name>.tmp-<pid>``, :func:`mmm.runs.folder.write_run`) of a model's outputs. Only
    called under the model's lock: no live process is writing them, so they are what a killed try left."""
    return [tmp for folder in folders for tmp in sorted(folder.parent.glob(f".{folder.name}.tmp-*"))
            if tmp.is_dir()]


def _argv(book, job, step: str, folder: Path) -> list[str]:
    from mmm.spec.portfolio import fit_arguments, optimize_arguments

    run = book.run_dir(job)
    fit = [*fit_arguments(job.fit), "--no-progress"]
    if step == "fit":
        return ["fit", str(job.config), "--out", str(folder), *fit]
    if step == "refresh":
        config = ["--config", str(job.config)] if job.config is not None else []
        return ["refresh", str(job.parent), "--data", str(job.data), "--out", str(folder), *config, *fit]
    if step == "backtest":
        return ["backtest", str(job.parent), "--data", str(job.data), "--run", str(run), "--out", str(folder)]
    if step == "compare":
        return ["compare", str(job.parent), str(run), "--out", str(folder)]
    return ["optimize", str(run), "--out", str(folder), *optimize_arguments(job.optimize, book.source.parent)]


def _command(argv: list[str], cores: int | None) -> tuple[int, str, bool]:
    """Run one ``mmm`` command in this process: (exit code, what it printed, whether it crashed). A crash (an
    error the command does not map to an exit code) is exit 1, as Python's own."""
    from threadpoolctl import threadpool_limits

    from mmm.cli.main import main

    out, crashed = io.StringIO(), False
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out), \
            threadpool_limits(limits=cores or None):
        try:
            rc = main(argv)
        except SystemExit as exit_:  # argparse refusing a flag
            rc = exit_.code if isinstance(exit_.code, int) else EXIT_BAD_INPUT
        except Exception as err:
            import traceback

            traceback.print_exc()
            print(f"error: {type(err).__name__}: {err}")
            rc, crashed = EXIT_DIAGNOSTICS, True
    return int(rc), out.getvalue(), crashed


def _last_error(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error:")]
    return (errors[-1][len("error:"):].strip() if errors else (lines[-1] if lines else ""))


def _status(book, job, rc: int, state: str, message: str, steps: list, outputs: dict, worker: str | None,
            seconds: float) -> dict[str, Any]:
    return {"id": job.id, "rc": int(rc), "status": state, "message": message, "label": book.label,
            "fingerprint": job.fingerprint(), "steps": steps, "outputs": outputs,
            "run": str(book.run_dir(job)), "parent": str(job.parent) if job.parent else None,
            "worker": worker, "pid": os.getpid(), "seconds": round(seconds, 2),
            "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}


def _write_status(book, job, status: dict[str, Any], log: str | None = None) -> None:
    from mmm.atomic import write_text_atomically

    if log is not None:
        write_text_atomically(book.out / "logs" / f"{job.id}.log", log)
    write_text_atomically(book.out / "status" / f"{job.id}.json", json.dumps(status, indent=2) + "\n")


@contextlib.contextmanager
def _model_lock(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # waits while another process works on the model
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _write_record(book, path: Path, jobs, scheduler: str | None, state: str,
                  statuses: dict[str, dict[str, Any]] | None = None) -> None:
    from mmm.atomic import write_text_atomically
    from mmm.runs.folder import file_sha256

    record = {"portfolio": str(book.source), "portfolio_sha256": file_sha256(book.source), "name": book.name,
              "label": book.label, "state": state, "scheduler": scheduler or "LocalCluster",
              "updated_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
              "models": [{"id": j.id, "steps": list(j.steps), "run": str(book.run_dir(j)),
                          "parent": str(j.parent) if j.parent else None,
                          **({"rc": statuses[j.id]["rc"], "status": statuses[j.id]["status"]}
                             if statuses and j.id in statuses else {})} for j in jobs]}
    write_text_atomically(path, json.dumps(record, indent=2) + "\n")
