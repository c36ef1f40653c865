"""Same figures before and after a change: per-channel ROAS of three fits, and a comparison within Monte Carlo error.

``run`` fits three cases with the CLI of one checkout and writes their ROAS figures to a JSON file:

- ``demo``: the bundled example (``mmm demo``: the checkout's own ``data/robyn_weekly`` config and its own
  fit settings, 4 x (1000 + 1000), seed 1 at ef271e7);
- ``national``: ``synth --seed 1 --periods 156 --channels 4`` (national);
- ``geo``: ``synth --seed 1 --periods 156 --geos 6`` (4 channels, a 6-geo panel; figures are the national sums).

For ``national`` and ``geo`` the synth's ``fit:`` line is replaced by ``--chains x (--tune + --draws)``,
seed ``--fit-seed`` (default 4 x (1000 + 1000), seed 1). The synthetic data are written once, by the checkout
given as ``--synth-root`` (for a before/after comparison: the *old* checkout, for both runs, so the csv and
config are byte-identical; the new code may change what ``synth`` writes). ``--data DIR`` keeps them in DIR and
reuses them if DIR already holds them. Their SHA-256 go into the JSON; ``compare`` refuses (FAIL) two runs
fitted on different data.

Each fit runs in a subprocess of this interpreter with ``PYTHONPATH=ROOT``, cwd ``ROOT`` and ``python -P`` (so
neither the cwd nor the editable install of another checkout shadows ROOT's package; checked before fitting),
as ``python -P -c 'import sys; from mmm.cli import main; sys.exit(main())' fit CONFIG --out DIR``.

Recorded per channel (from the run's ``summary.json``): ROAS ``mean``, ``lo``, ``hi`` (the central interval,
``summary.json``'s ``interval``, 90% here) and a Monte Carlo standard error of the mean::

    sd   ~ (hi - lo) / (2 z)       z = 1.645 for a 90% interval (the normal quantile of the interval)
    mcse = sd / sqrt(min_ess_bulk) min_ess_bulk: summary.json's diagnostics, the worst bulk ESS of any parameter

Assumption: the ROAS's own bulk ESS is at least the worst sampled parameter's (ROAS is a smooth function of
well-mixed coefficients in these models; the slow parameters are spreads and seasonality), so this mcse is
conservative (too large, not too small). The sd from the interval assumes a roughly normal posterior; for a
skewed ROAS posterior it is an approximation of the same order.

``compare OLD.json NEW.json`` prints, per case and channel: old mean, new mean, difference, the allowed error
``3 * sqrt(mcse_old**2 + mcse_new**2)`` and PASS/FAIL; exit 1 on any FAIL (also when a case or channel is
missing on one side, or the two were fitted on different data).

    python bench/same_figures.py run /work/pre --synth-root /work/pre --out bench/results/X-pre.json | tee X-pre.log
    python bench/same_figures.py run . --synth-root /work/pre --out bench/results/X-new.json | tee X-new.log
    python bench/same_figures.py compare bench/results/X-pre.json bench/results/X-new.json

The same seeds and data do not mean the same draws across a refactor that changes the model graph or the
sampler's inputs; they do mean the same posterior, hence means within Monte Carlo error.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import math
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from statistics import NormalDist

from checkout import CLI, check_package, checkout_env

CASES = ("demo", "national", "geo")
SYNTH = {  # case -> synth arguments (written by --synth-root's code)
    "national": ["--seed", "1", "--periods", "156", "--channels", "4"],
    "geo": ["--seed", "1", "--periods", "156", "--channels", "4", "--geos", "6"],
}


def cli(root: Path, *args: str, check_rc=(0,)) -> tuple[int, str, float]:
    """Run ``mmm ARGS`` with ROOT's code; (exit code, stdout+stderr, wall seconds)."""
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-P", "-c", CLI, *args], cwd=root, env=checkout_env(root),
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode not in check_rc:
        print(proc.stdout)
        raise SystemExit(f"mmm {' '.join(args)} (root {root}) exited {proc.returncode}")
    return proc.returncode, proc.stdout, wall


def git_state(root: Path) -> dict:
    def git(*a):
        p = subprocess.run(["git", "-C", str(root), *a], capture_output=True, text=True)
        return p.stdout.strip() if p.returncode == 0 else None

    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": git("rev-parse", "HEAD"), "dirty": bool(status) if status is not None else None}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def prepare_data(synth_root: Path, folder: Path, fit_line: str) -> dict[str, dict]:
    """Synthetic cases in ``folder/<case>/`` (data.csv, config.yaml, truth.json); written once, then reused."""
    out = {}
    for case, synth_args in SYNTH.items():
        d = folder / case
        if not (d / "config.yaml").is_file():
            d.parent.mkdir(parents=True, exist_ok=True)
            cli(synth_root, "synth", *synth_args, "--out", str(d))
            config = (d / "config.yaml").read_text()
            new, n = re.subn(r"(?m)^fit:.*$", fit_line, config)
            if n != 1:
                raise SystemExit(f"{d / 'config.yaml'}: expected one 'fit:' line to replace")
            (d / "config.yaml").write_text(new)
            print(f"wrote {case} data with {synth_root}: synth {' '.join(synth_args)}; {fit_line}", flush=True)
        else:
            print(f"reusing {d}", flush=True)
        out[case] = {"config": d / "config.yaml", "data_sha256": sha256(d / "data.csv"),
                     "config_sha256": sha256(d / "config.yaml")}
    return out


def figures(run_dir: Path) -> dict:
    summary = json.loads((run_dir / "summary.json").read_text())
    manifest = json.loads((run_dir / "manifest.json").read_text())
    interval = float(summary.get("interval", 0.9))
    z = NormalDist().inv_cdf(0.5 + interval / 2)
    diag = summary["diagnostics"]
    ess = float(diag["min_ess_bulk"])
    channels = {}
    for name, ch in summary["channels"].items():
        r = ch["roas"]
        sd = (r["hi"] - r["lo"]) / (2 * z)
        channels[name] = {"mean": r["mean"], "lo": r["lo"], "hi": r["hi"], "sd": sd, "mcse": sd / math.sqrt(ess)}
    return {"interval": interval, "z": z,
            "diagnostics": {k: diag.get(k) for k in ("ok", "max_rhat", "min_ess_bulk", "divergences", "problems")},
            "sampler": manifest.get("sampler"), "manifest_data": manifest.get("data"),
            "timings": manifest.get("timings"), "channels": channels}


def run(args) -> int:
    root = args.root.resolve()
    synth_root = (args.synth_root or args.root).resolve()
    print(f"root {root}: mmm from {check_package(root)}; synth data by {synth_root}", flush=True)
    fit_line = (f"fit: {{draws: {args.draws}, tune: {args.tune}, chains: {args.chains}, seed: {args.fit_seed}}}")
    tmp = Path(tempfile.mkdtemp(prefix="same-figures-"))
    result = {"root": str(root), "git": git_state(root), "synth_root": str(synth_root),
              "synth_git": git_state(synth_root), "python": sys.version.split()[0], "machine": platform.node(),
              "cpus": os.cpu_count(), "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
              "synth_fit": fit_line, "mcse": "sd=(hi-lo)/(2z), mcse=sd/sqrt(min_ess_bulk)", "cases": {}}
    try:
        cases = [c for c in CASES if c in args.cases]
        data = prepare_data(synth_root, args.data or tmp / "data", fit_line) if set(cases) & set(SYNTH) else {}
        for case in cases:
            out = (args.keep or tmp) / f"run-{case}"
            if out.exists():
                shutil.rmtree(out)
            argv = ["demo", "--out", str(out)] if case == "demo" else ["fit", str(data[case]["config"]), "--out", str(out)]
            print(f"\n== {case}: mmm {' '.join(argv)}", flush=True)
            rc, log, wall = cli(root, *argv, check_rc=(0, 1))  # 1: diagnostics failed, the run is still written
            print("\n".join("   | " + line for line in log.strip().splitlines()[-12:]))
            entry = {"exit_code": rc, "wall_s": round(wall, 1), **figures(out)}
            if case in data:
                entry["input"] = {"data_sha256": data[case]["data_sha256"],
                                  "config_sha256": data[case]["config_sha256"]}
            result["cases"][case] = entry
            print(f"{case}: exit {rc}, {wall:.1f} s; min ESS {entry['diagnostics']['min_ess_bulk']:.0f}, "
                  f"max R-hat {entry['diagnostics']['max_rhat']:.3f}", flush=True)
            for ch, f in entry["channels"].items():
                print(f"   {ch:<12} roas {f['mean']:.4f} [{f['lo']:.4f}, {f['hi']:.4f}]  mcse {f['mcse']:.4f}")
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps(result, indent=1) + "\n")  # after every case: a crash keeps the rest
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"\nwrote {args.out}")
    return 0


def compare(args) -> int:
    old, new = (json.loads(Path(p).read_text()) for p in (args.old, args.new))
    fails = 0
    print(f"old: {args.old} ({old.get('root')} {old.get('git', {}).get('commit')})")
    print(f"new: {args.new} ({new.get('root')} {new.get('git', {}).get('commit')}"
          f"{', dirty' if new.get('git', {}).get('dirty') else ''})")
    print(f"\n{'case':<9}{'channel':<12}{'old mean':>10}{'new mean':>10}{'diff':>10}{'allowed':>10}  verdict")
    for case in sorted(set(old["cases"]) | set(new["cases"]), key=lambda c: CASES.index(c) if c in CASES else 99):
        o, n = old["cases"].get(case), new["cases"].get(case)
        if o is None or n is None:
            print(f"{case:<9}{'-':<12}{'missing in ' + ('old' if o is None else 'new'):>40}  FAIL")
            fails += 1
            continue
        notes = []
        if o.get("input") != n.get("input"):
            notes.append("FAIL: fitted on different synthetic data/config (input sha256 differ)")
        od, nd = (x.get("manifest_data") or {} for x in (o, n))
        if od.get("sha256") and nd.get("sha256") and od["sha256"] != nd["sha256"]:
            notes.append("FAIL: the runs' data.csv sha256 differ (manifest)")
        for x, label in ((o, "old"), (n, "new")):
            if not x["diagnostics"].get("ok"):
                notes.append(f"note: {label} diagnostics failed: {x['diagnostics'].get('problems')}")
        for ch in list(o["channels"]) + [c for c in n["channels"] if c not in o["channels"]]:
            fo, fn = o["channels"].get(ch), n["channels"].get(ch)
            if fo is None or fn is None:
                print(f"{case:<9}{ch:<12}{'missing in ' + ('old' if fo is None else 'new'):>40}  FAIL")
                fails += 1
                continue
            diff = fn["mean"] - fo["mean"]
            allowed = 3 * math.hypot(fo["mcse"], fn["mcse"])
            ok = abs(diff) <= allowed
            fails += not ok
            print(f"{case:<9}{ch:<12}{fo['mean']:>10.4f}{fn['mean']:>10.4f}{diff:>+10.4f}{allowed:>10.4f}  "
                  f"{'PASS' if ok else 'FAIL'}")
        for note in notes:
            print(f"{'':<9}{note}")
            fails += note.startswith("FAIL")
    print(f"\n{'FAIL: ' + str(fails) + ' failure(s)' if fails else 'PASS: every figure within 3 Monte Carlo SE'}")
    return 1 if fails else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="mode", required=True)
    r = sub.add_parser("run", help="fit the cases with ROOT's code and write their ROAS figures (JSON)")
    r.add_argument("root", type=Path, help="repository root of the checkout to run")
    r.add_argument("--out", type=Path, required=True, help="JSON file to write")
    r.add_argument("--synth-root", type=Path,
                   help="checkout whose `synth` writes the synthetic data (default ROOT; for a before/after "
                        "comparison pass the old checkout both times)")
    r.add_argument("--data", type=Path, help="keep the synthetic data here (reused when already there)")
    r.add_argument("--keep", type=Path, help="keep the run folders here (default: a temporary folder)")
    r.add_argument("--cases", nargs="+", choices=CASES, default=list(CASES))
    r.add_argument("--chains", type=int, default=4)
    r.add_argument("--draws", type=int, default=1000)
    r.add_argument("--tune", type=int, default=1000)
    r.add_argument("--fit-seed", type=int, default=1)
    r.set_defaults(handler=run)
    c = sub.add_parser("compare", help="compare two JSON files of `run`; exit 1 on any FAIL")
    c.add_argument("old", type=Path)
    c.add_argument("new", type=Path)
    c.set_defaults(handler=compare)
    args = parser.parse_args()
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
