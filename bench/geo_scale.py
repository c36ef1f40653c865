"""Geo model scale: wall time, ESS/s and peak memory vs number of geos.

Synthetic panels of 156 weeks x 5 channels (``mmm.data.synth`` with ``n_geos``) with 1, 10 and 40
geos by default, 4 chains x (1000 tune + 1000 draws), nutpie. Each case runs in
a fresh process, so wall time counts from process start (imports, validation,
compile, sampling, effects per geo and national, run folder written) and peak
memory is that process's own maximum resident set.

    python bench/geo_scale.py                          # 1, 10, 40 geos, nutpie
    python bench/geo_scale.py --geos 40 --sampler numpyro
    python bench/geo_scale.py --geos 40 200 --sampler numpyro --float32   # a GPU machine, through JAX
    python bench/geo_scale.py --draws 300 --tune 300 --chains 2 --geos 1 10  # a quick look

Prints one JSON line per case and a table at the end.
"""

from __future__ import annotations

import time

_START = time.perf_counter()

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402


def one(geos: int, args: argparse.Namespace) -> dict:
    import arviz_stats as azs
    import numpy as np
    import xarray as xr

    from mmm.spec.config import Config
    from mmm.api import fit
    from mmm.storage import posterior_nbytes
    from mmm.data.synth import SynthSpec, generate

    truth = generate(SynthSpec(n_periods=args.periods, n_channels=args.channels, controls=False,
                               seed=args.seed, n_geos=geos))
    settings = {"draws": args.draws, "tune": args.tune, "chains": args.chains, "seed": args.seed,
                "sampler": args.sampler, "adaptation": args.adaptation,
                "posterior_dtype": "float32" if args.float32 else "float64", "thin": args.thin}
    config = Config.from_dict({**truth.config, "fit": settings})
    fitted = fit(config, truth.data)
    draws = fitted.effects.roas.shape[0] // args.chains
    roas = fitted.effects.roas.reshape(args.chains, draws, -1)
    ess = azs.ess(xr.Dataset({"roas": (("chain", "draw", "channel"), roas)}), method="bulk")["roas"].values
    sampling = fitted.fit.timings["sampling_s"]
    true = np.array([truth.truth["figures"][c]["roas"] for c in fitted.effects.channels])
    lo, hi = np.quantile(fitted.effects.roas, [0.05, 0.95], axis=0)
    row = {
        "geos": geos, "sampler": args.sampler, "device": _device(args.sampler),
        "setting": f"{args.chains} x ({args.tune} tune + {args.draws} draws), {args.periods} weeks x {args.channels} ch",
        "compile_s": round(fitted.fit.timings["compile_s"], 1),
        "sampling_s": round(sampling, 1),
        "effects_s": round(fitted.timings["effects_s"], 1),
        "wall_s_process_start_to_fitted": round(time.perf_counter() - _START, 1),
        "gradient_evals": _gradient_evals(fitted.fit.idata),
        "min_ess_bulk_all_params": round(fitted.diagnostics.min_ess_bulk, 1),
        "min_ess_bulk_per_s_all_params": round(fitted.diagnostics.min_ess_bulk / sampling, 2),
        "min_ess_bulk_per_s_national_roas": round(float(ess.min()) / sampling, 2),
        "max_rhat": round(fitted.diagnostics.max_rhat, 3), "divergences": fitted.diagnostics.divergences,
        "posterior_mb": round(posterior_nbytes(fitted.fit.idata) / 2**20, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        **_device_memory(args.sampler),
        "national_roas_covered": f"{int(((lo <= true) & (true <= hi)).sum())}/{len(true)}",
        "national_roas_mape": round(float(np.mean(np.abs(fitted.effects.roas.mean(axis=0) / true - 1))), 3),
    }
    print("RESULT " + json.dumps(row), flush=True)  # survives a timeout in the run-folder write below
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        fitted.save(Path(tmp) / "run", report=False)
        row["save_s"] = round(time.perf_counter() - t0, 1)
    row["wall_s_process_start_to_run_folder"] = round(time.perf_counter() - _START, 1)
    row["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return row


def _gradient_evals(idata) -> int | None:
    """Leapfrog steps over the kept draws (nutpie and numpyro record them; warm-up is not kept)."""
    stats = idata["sample_stats"] if "sample_stats" in idata else None
    for name in ("n_steps", "tree_size"):
        if stats is not None and name in stats:
            return int(stats[name].values.sum())
    return None


def _device(sampler: str) -> str:
    if sampler in ("numpyro", "blackjax"):
        import jax

        device = jax.devices()[0]
        return f"{device.platform}:{getattr(device, 'device_kind', '')}"
    import platform

    return f"cpu:{platform.processor() or platform.machine()} x{len(os.sched_getaffinity(0))}"


def _device_memory(sampler: str) -> dict:
    """Peak accelerator memory in use (JAX on a GPU); empty on the CPU."""
    if sampler not in ("numpyro", "blackjax"):
        return {}
    import jax

    stats = jax.devices()[0].memory_stats() or {}
    return {"peak_device_mb": round(stats["peak_bytes_in_use"] / 2**20, 1)} if "peak_bytes_in_use" in stats else {}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--geos", type=int, nargs="+", default=[1, 10, 40])
    parser.add_argument("--periods", type=int, default=156)
    parser.add_argument("--channels", type=int, default=5)
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--tune", type=int, default=1000)
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sampler", default="nutpie", choices=("nutpie", "pymc", "numpyro", "blackjax"))
    parser.add_argument("--adaptation", default="diag", choices=("diag", "low_rank"))
    parser.add_argument("--float32", action="store_true", help="store the posterior as float32")
    parser.add_argument("--thin", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per case")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # internal: run one case in this process
    args = parser.parse_args()
    if args.one is not None:
        print("RESULT " + json.dumps(one(args.one, args)), flush=True)
        return
    rows = []
    passthrough = [a for a in sys.argv[1:]]
    for geos in args.geos:
        command = [sys.executable, __file__, *passthrough, "--one", str(geos)]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=args.timeout)
            stdout, error = done.stdout, done.stderr.strip().splitlines()[-1:]
        except subprocess.TimeoutExpired as timeout:
            stdout = timeout.stdout.decode() if isinstance(timeout.stdout, bytes) else (timeout.stdout or "")
            error = f"over {args.timeout:.0f} s"
        lines = [line for line in stdout.splitlines() if line.startswith("RESULT ")]
        if not lines:
            print(json.dumps({"geos": geos, "error": error}), flush=True)
            continue
        row = json.loads(lines[-1][len("RESULT "):])
        if "save_s" not in row:
            row["error"] = f"run folder not written: {error}"
        rows.append(row)
        print(json.dumps(row), flush=True)
    if rows:
        keys = ("geos", "sampler", "device", "wall_s_process_start_to_run_folder", "sampling_s", "save_s", "min_ess_bulk_per_s_all_params",
                "min_ess_bulk_per_s_national_roas", "peak_rss_mb", "posterior_mb", "max_rhat")
        print("\n" + " | ".join(keys))
        for row in rows:
            print(" | ".join(str(row.get(k, "-")) for k in keys))


if __name__ == "__main__":
    main()
