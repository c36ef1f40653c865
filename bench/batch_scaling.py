"""``mmm batch``: a portfolio of 8 models (156 weeks x 4 channels each) serially in one process against a Dask
LocalCluster of 2 workers, on this machine; then a projection for N workers on several machines.

Both modes run the same task (:func:`mmm.cli.batch.run_model`: fit, report, xlsx, status); serially it has every
core for its chains, on the cluster each of the 2 workers has its share. The order is serial, cluster, cluster,
serial (ABBA), each on datasets never fitted before (a model's priors are scaled to its data and compiled into
its graph, so each new dataset compiles, as each model of a real portfolio does). Per model the manifests give the
compile and sampling seconds; the projection for W workers is the batch's critical path: the models dealt out
to the workers as the cluster deals them (longest first is not guaranteed: Dask takes them in order), each at its
measured time with one core, plus the cluster's start.

    python bench/batch_scaling.py [--models 8] [--draws 500] [--out bench/results/NAME]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

from mmm.cli.batch import run_batch, run_model
from mmm.cores import available_cores
from mmm.data.synth import SynthSpec, generate, write
from mmm.spec.portfolio import load_portfolio


def portfolio(folder: Path, n_models: int, draws: int, first_seed: int) -> Path:
    """Models of datasets never fitted before (seeds from ``first_seed``): a portfolio's models each compile."""
    entries = []
    for i in range(n_models):
        write(generate(SynthSpec(seed=first_seed + i, n_periods=156, n_channels=4)), folder / f"m{i}")
        config = yaml.safe_load((folder / f"m{i}" / "config.yaml").read_text())
        config.update(name=f"m{i}", model={**config["model"], "candidates": "none"})
        (folder / f"m{i}" / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
        entries.append({"config": f"m{i}/config.yaml"})
    path = folder / "portfolio.yaml"
    path.write_text(yaml.safe_dump({"name": "bench", "label": "q1", "models": entries,
                                    "fit": {"draws": draws, "tune": draws, "chains": 4, "seed": 1}}))
    return path


def serial(path: Path) -> tuple[float, dict]:
    book = load_portfolio(path)
    for sub in ("status", "logs", "locks"):
        (book.out / sub).mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    statuses = {job.id: run_model(book, job, None) for job in book.models}
    return time.perf_counter() - t0, statuses


def cluster(path: Path, workers: int) -> tuple[float, dict]:
    t0 = time.perf_counter()
    outcome = run_batch(path, workers=workers, say=lambda line: None)
    return time.perf_counter() - t0, outcome.statuses


def model_seconds(path: Path) -> list[dict]:
    book = load_portfolio(path)
    rows = []
    for job in book.models:
        manifest = json.loads((book.run_dir(job) / "manifest.json").read_text())
        timings = manifest.get("timings", {})
        status = json.loads((book.out / "status" / f"{job.id}.json").read_text())
        rows.append({"model": job.id, "task_s": status["seconds"], "compile_s": timings.get("compile_s"),
                     "sampling_s": timings.get("sampling_s"), "diagnostics_ok": manifest.get("diagnostics_ok")})
    return rows


def critical_path(task_s: list[float], workers: int, start_s: float) -> float:
    """Models dealt in order to whichever worker frees first (as the scheduler does), each at its measured time."""
    free = np.zeros(workers)
    for t in task_s:
        free[np.argmin(free)] += t
    return start_s + float(free.max())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", type=int, default=8)
    parser.add_argument("--draws", type=int, default=500)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--first-seed", type=int, default=1000,
                        help="datasets' seeds: run i uses FIRST + 100 i onwards (new ones: no compile cache hits)")
    parser.add_argument("--out", type=Path, help="write OUT.json (raw figures) and OUT.log (this output)")
    args = parser.parse_args(argv)
    lines, raw = [], {"cores": available_cores(), "models": args.models, "draws": args.draws, "runs": []}

    def say(text: str) -> None:
        print(text, flush=True)
        lines.append(text)

    say(f"{args.models} models of 156 weeks x 4 channels, 4 chains x ({args.draws} + {args.draws}), one "
        f"specification each, on {available_cores()} cores (os.cpu_count {os.cpu_count()})")
    with tempfile.TemporaryDirectory() as tmp:
        for i, mode in enumerate(["serial", "cluster", "cluster", "serial"]):
            path = portfolio(Path(tmp) / f"run{i}", args.models, args.draws, args.first_seed + 100 * i)
            wall, statuses = serial(path) if mode == "serial" else cluster(path, args.workers)
            per_model = model_seconds(path)
            raw["runs"].append({"mode": mode, "wall_s": wall, "models": per_model,
                                "rc": {k: s["rc"] for k, s in statuses.items()}})
            say(f"{mode:8s} wall {wall:6.1f} s; per model: task {np.mean([m['task_s'] for m in per_model]):.1f} s "
                f"(compile {np.mean([m['compile_s'] for m in per_model]):.1f} s, sampling "
                f"{np.mean([m['sampling_s'] for m in per_model]):.1f} s); exit codes "
                f"{sorted(set(s['rc'] for s in statuses.values()))}")
    by_mode = {m: [r["wall_s"] for r in raw["runs"] if r["mode"] == m] for m in ("serial", "cluster")}
    serial_s, cluster_s = np.mean(by_mode["serial"]), np.mean(by_mode["cluster"])
    say(f"mean wall: serial {serial_s:.1f} s, LocalCluster({args.workers}) {cluster_s:.1f} s: "
        f"speed-up {serial_s / cluster_s:.2f}x on {available_cores()} cores")
    # projection: each model's task time on one worker with one core, measured on the cluster runs
    one_core = [m["task_s"] for r in raw["runs"] if r["mode"] == "cluster" for m in r["models"]]
    per_model_s = float(np.median(one_core))
    start_s = max(0.0, cluster_s - critical_path([per_model_s] * args.models, args.workers, 0.0))
    say(f"projection (one core per worker, {per_model_s:.1f} s per model as measured on the cluster, "
        f"{start_s:.1f} s of cluster start and hand-off):")
    for n_models in (args.models, 100, 500):
        cells = []
        for workers in (2, 8, 32, 128):
            cells.append(f"{workers} workers {critical_path([per_model_s] * n_models, workers, start_s):7.0f} s")
        say(f"  {n_models:4d} models: " + "; ".join(cells))
    raw.update(serial_s=serial_s, cluster_s=cluster_s, per_model_one_core_s=per_model_s, start_s=start_s)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.with_suffix(".json").write_text(json.dumps(raw, indent=1) + "\n")
        args.out.with_suffix(".log").write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
