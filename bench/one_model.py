"""One model, two checkouts: wall time and peak memory from process start to a finished run folder.

Two cases, each fitted 4 chains x (1000 tune + 1000 draws) by default:

- ``national``: ``synth --seed 0 --periods 156 --channels 4`` (156 weeks x 4 channels);
- ``geo``: ``synth --seed 0 --periods 156 --channels 5 --geos 10`` (10 geos x 156 weeks x 5 channels).

The data are generated once, by the ``--old`` checkout's ``synth``, and both checkouts fit the same csv and
config (the synth's ``fit:`` line replaced by ``--chains``, ``--draws``, ``--tune``, seed 0). Per case: one
warm-up fit per checkout (fills the on-disk compile caches; not measured), then old and new alternate
``--reps`` times. Each measured fit is a fresh process, as a user runs it::

    python -P -c 'import sys; from mmm.cli import main; sys.exit(main())' fit CONFIG --out WORK/run-...

with ``PYTHONPATH=<checkout>`` and cwd the checkout (``-P``: the cwd and the editable install cannot shadow
it; checked first). The report is written (the default of ``fit``), so the time is process start to exit with
the whole run folder on disk. Wall time is measured around the process; peak RSS is the child's maximum
resident set size from ``/usr/bin/time -v`` when present, else ``resource.getrusage(RUSAGE_CHILDREN)`` in a
small wrapper process (nutpie samples in threads of the one process, so that is the fit's peak). Each run
folder is deleted after it is measured.

Every measured run prints one ``RUN {json}`` line (case, checkout, rep, wall, peak RSS, exit code, the
manifest's compile/sampling seconds, min ESS); then a table per case: median wall old/new and new/old, median
peak RSS old/new and new/old.

    python bench/one_model.py --old /path/to/old --new . [--reps 3] | tee bench/results/DATE-one-model.log
    python bench/one_model.py --old /work/pre --new /work/pre --reps 1 --draws 50 --tune 50   # smoke test
    python bench/one_model.py --old OLD --new . --cases geo --new-model '{"baseline": {"shocks": false}}'
        # the same model on both sides when the new checkout's default has changed since OLD
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from checkout import CLI, check_package, checkout_env

CASES = {
    "national": ["--seed", "0", "--periods", "156", "--channels", "4"],
    "geo": ["--seed", "0", "--periods", "156", "--channels", "5", "--geos", "10"],
}
TIME = "/usr/bin/time"
# A wrapper when /usr/bin/time is missing: run argv[1:], report the children's peak RSS (KiB on Linux).
WRAPPER = ("import resource, subprocess, sys; rc = subprocess.call(sys.argv[1:]); "
           "print('MAXRSS_KB', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); "
           "sys.exit(rc)")


def git_commit(root: Path) -> str:
    p = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True).stdout.strip()
    return (p.stdout.strip() or "?") + (" (uncommitted changes)" if dirty else "")


def timed(root: Path, args: list[str]) -> dict:
    """Run ``mmm ARGS`` with ROOT's code in a fresh process; wall seconds, peak RSS (MiB), exit code, output."""
    cmd = [sys.executable, "-P", "-c", CLI, *args]
    if os.access(TIME, os.X_OK):
        cmd = [TIME, "-v", *cmd]
    else:
        cmd = [sys.executable, "-c", WRAPPER, *cmd]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=root, env=checkout_env(root), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True)
    wall = time.perf_counter() - t0
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stdout) or \
        re.search(r"MAXRSS_KB (\d+)", proc.stdout)
    rss = int(m.group(1)) / 1024 if m else float("nan")
    rc = proc.returncode
    if os.access(TIME, os.X_OK):  # /usr/bin/time exits with the child's status; it says so on a signal
        if "Command terminated by signal" in proc.stdout:
            rc = -1
    return {"wall_s": wall, "peak_rss_mb": rss, "exit_code": rc, "output": proc.stdout}


def prepare(old: Path, work: Path, fit_line: str) -> dict[str, Path]:
    configs = {}
    for case, synth in CASES.items():
        d = work / "data" / case
        proc = subprocess.run([sys.executable, "-P", "-c", CLI, "synth", *synth, "--out", str(d)], cwd=old,
                              env=checkout_env(old), capture_output=True, text=True)
        if proc.returncode != 0:
            raise SystemExit(f"synth {' '.join(synth)} with {old} failed:\n{proc.stdout}{proc.stderr}")
        text, n = re.subn(r"(?m)^fit:.*$", fit_line, (d / "config.yaml").read_text())
        if n != 1:
            raise SystemExit(f"{d / 'config.yaml'}: expected one 'fit:' line to replace")
        (d / "config.yaml").write_text(text)
        configs[case] = d / "config.yaml"
        print(f"data {case}: synth {' '.join(synth)} by {old}; {fit_line} -> {d}", flush=True)
    return configs


def with_model_keys(configs: dict[str, Path], keys: dict) -> dict[str, Path]:
    """A copy of each config with ``keys`` merged into its ``model:`` section (for the new checkout only)."""
    import yaml

    out = {}
    for case, path in configs.items():
        raw = yaml.safe_load(path.read_text())
        raw["model"] = {**(raw.get("model") or {}), **keys}
        out[case] = path.with_name("config-new.yaml")
        out[case].write_text(yaml.safe_dump(raw, sort_keys=False))
        print(f"data {case}: the new checkout fits {out[case]} (model keys {json.dumps(keys)})", flush=True)
    return out


def fit_once(root: Path, config: Path, out: Path) -> dict:
    r = timed(root, ["fit", str(config), "--out", str(out)])
    if r["exit_code"] not in (0, 1):  # 1: diagnostics failed, the run is still written
        print(r["output"])
        raise SystemExit(f"fit {config} with {root} exited {r['exit_code']}")
    try:
        manifest = json.loads((out / "manifest.json").read_text())
        summary = json.loads((out / "summary.json").read_text())
        r["compile_s"] = manifest.get("timings", {}).get("compile_s")
        r["sampling_s"] = manifest.get("timings", {}).get("sampling_s")
        r["min_ess_bulk"] = summary.get("diagnostics", {}).get("min_ess_bulk")
        r["run_mb"] = sum(f.stat().st_size for f in out.iterdir()) / 2**20
    except (OSError, ValueError) as err:
        r["note"] = f"run folder unreadable: {err}"
    shutil.rmtree(out, ignore_errors=True)
    return r


def _r(x, nd=2):
    return round(x, nd) if isinstance(x, (int, float)) else x


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--old", type=Path, required=True, help="repository root of the old checkout (also writes the data)")
    p.add_argument("--new", type=Path, required=True, help="repository root of the new checkout")
    p.add_argument("--reps", type=int, default=3, help="measured fits per checkout and case (default 3)")
    p.add_argument("--draws", type=int, default=1000)
    p.add_argument("--tune", type=int, default=1000)
    p.add_argument("--chains", type=int, default=4)
    p.add_argument("--cases", nargs="+", choices=tuple(CASES), default=list(CASES))
    p.add_argument("--work", type=Path, help="working folder (default: a temporary one, removed at the end)")
    p.add_argument("--new-model", type=json.loads, default=None,
                   help="keys merged into the new checkout's model: section, as JSON, so that it fits the same model "
                        "as an old checkout that predates a default, e.g. '{\"baseline\": {\"shocks\": false}}'")
    args = p.parse_args()
    roots = {"old": args.old.resolve(), "new": args.new.resolve()}
    for label, root in roots.items():
        print(f"{label}: {root} @ {git_commit(root)}; mmm from {check_package(root)}", flush=True)
    print(f"python {sys.version.split()[0]} ({sys.executable}), {os.cpu_count()} CPUs, "
          f"peak RSS via {'/usr/bin/time -v' if os.access(TIME, os.X_OK) else 'getrusage(RUSAGE_CHILDREN)'}",
          flush=True)
    fit_line = f"fit: {{draws: {args.draws}, tune: {args.tune}, chains: {args.chains}, seed: 0}}"
    work = args.work or Path(tempfile.mkdtemp(prefix="one-model-"))
    work.mkdir(parents=True, exist_ok=True)
    results: dict[str, dict[str, list[dict]]] = {}
    try:
        configs = prepare(roots["old"], work, fit_line)
        new_configs = with_model_keys(configs, args.new_model) if args.new_model else configs
        for case in args.cases:
            for label, root in roots.items():  # warm-up: compile caches; not measured
                r = fit_once(root, (new_configs if label == "new" else configs)[case], work / f"warm-{case}-{label}")
                print(f"warm-up {case} {label}: {r['wall_s']:.1f} s, exit {r['exit_code']} (not measured)",
                      flush=True)
            results[case] = {"old": [], "new": []}
            for i in range(1, args.reps + 1):
                for label, root in roots.items():
                    r = fit_once(root, (new_configs if label == "new" else configs)[case],
                                 work / f"run-{case}-{label}-{i}")
                    results[case][label].append(r)
                    line = {"case": case, "checkout": label, "rep": i, **{k: _r(v) for k, v in r.items()
                                                                         if k != "output"}}
                    print("RUN " + json.dumps(line), flush=True)
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    print(f"\nsetting: {args.chains} chains x ({args.tune} tune + {args.draws} draws), {args.reps} rep(s) each, "
          f"process start to exit (report written)")
    for case, by in results.items():
        wall = {k: statistics.median(r["wall_s"] for r in v) for k, v in by.items()}
        rss = {k: statistics.median(r["peak_rss_mb"] for r in v) for k, v in by.items()}
        print(f"\n{case}")
        print(f"  {'':<16}{'old':>10}{'new':>10}{'new/old':>10}")
        print(f"  {'median wall s':<16}{wall['old']:>10.1f}{wall['new']:>10.1f}{wall['new'] / wall['old']:>10.2f}")
        print(f"  {'median peak MB':<16}{rss['old']:>10.0f}{rss['new']:>10.0f}{rss['new'] / rss['old']:>10.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
