"""Fit speed on the default synthetic case (156 weeks x 4 channels).

Prints, per setting: compile time, sampling time, total wall time from process
start to summary.json written, min bulk ESS/s of the ROAS figures, peak memory.
Each setting runs in a fresh process (so "from process start" is honest and the
on-disk numba cache is what a user's second run sees).

    python bench/fit_speed.py            # 4 x (500 + 500) and 4 x (1000 + 1000)
    python bench/fit_speed.py --one 500  # a single setting, in this process
"""

from __future__ import annotations

import time

_START = time.perf_counter()

import argparse  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402


def one(n: int, chains: int, seed: int) -> dict:
    import numpy as np
    import arviz_stats as azs
    import xarray as xr

    from mmm.spec.config import Config
    from mmm.api import fit
    from mmm.data.synth import SynthSpec, generate

    result = generate(SynthSpec(seed=seed))
    config = Config.from_dict({**result.config, "fit": {"draws": n, "tune": n, "chains": chains, "seed": seed}})
    fitted = fit(config, result.data)
    with tempfile.TemporaryDirectory() as tmp:
        fitted.save(Path(tmp) / "run", report=False)
        wall = time.perf_counter() - _START
    roas = fitted.effects.roas.reshape(chains, n, -1)
    ess = azs.ess(xr.Dataset({"roas": (("chain", "draw", "channel"), roas)}), method="bulk")["roas"].values
    sampling = fitted.fit.timings["sampling_s"]
    truth = result.truth["figures"]
    mean_roas = fitted.effects.roas.mean(axis=0)
    return {
        "setting": f"{chains} x ({n} tune + {n} draws)",
        "compile_s": round(fitted.fit.timings["compile_s"], 2),
        "sampling_s": round(sampling, 2),
        "wall_s_process_start_to_summary": round(wall, 2),
        "min_ess_bulk_roas": round(float(ess.min()), 1),
        "min_ess_bulk_per_s_roas": round(float(ess.min()) / sampling, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "diagnostics_ok": fitted.diagnostics.ok,
        "roas_mape_vs_truth": round(float(np.mean([abs(mean_roas[k] / truth[c]["roas"] - 1)
                                                    for k, c in enumerate(fitted.effects.channels)])), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--one", type=int, help="draws (= tune) for a single in-process run")
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.one, args.chains, args.seed)))
        return
    # warm the on-disk compile cache once (a user's first-ever fit pays this once)
    subprocess.run([sys.executable, __file__, "--one", "50", "--chains", "2"], check=True, capture_output=True)
    for n in (500, 1000):
        out = subprocess.run([sys.executable, __file__, "--one", str(n), "--chains", str(args.chains),
                              "--seed", str(args.seed)], check=True, capture_output=True, text=True)
        print(out.stdout.strip().splitlines()[-1], flush=True)


if __name__ == "__main__":
    main()
