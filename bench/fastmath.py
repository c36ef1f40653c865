"""What turning numba fastmath off costs: one log-density + gradient evaluation, on and off.

mmm.model.sample turns PyTensor's numba fastmath off so that a freshly compiled model and
one loaded from the disk cache give the same draws (tests/model/test_determinism.py).
This prints the time per logp+gradient call of the national default case
(156 weeks x 4 channels) and of a 10-geo panel, with fastmath on and off,
alternating fresh processes so that machine load hits both alike.

    python bench/fastmath.py              # 3 rounds; raw lines are printed as they come
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys


class _Captured(Exception):
    pass


def one(case: str, fastmath: bool) -> dict:
    import importlib
    import time

    import numpy as np
    import pytensor

    fit_module = importlib.import_module("mmm.model.sample")
    pytensor.config.numba__fastmath = fastmath  # after mmm.model.sample set it off
    from mmm.spec.config import Config
    from mmm.api import fit
    from mmm.data.synth import SynthSpec, generate

    original_compile = fit_module.compile_nutpie

    def stop(model, reported=None):  # compile as a fit does, then stop before sampling
        raise _Captured(original_compile(model, reported))

    fit_module.compile_nutpie = stop
    truth = generate(SynthSpec(seed=0) if case == "national" else
                     SynthSpec(n_periods=104, n_channels=3, controls=False, seed=1, n_geos=10))
    config = Config.from_dict({**truth.config, "fit": {"draws": 10, "tune": 10, "chains": 1, "seed": 0}})
    try:
        fit(config, truth.data)
    except _Captured as captured:
        compiled = captured.args[0]
    def logp(x):  # the C callback nutpie calls per step (through ctypes here)
        return compiled.log_density(x)

    x = np.random.default_rng(0).normal(size=compiled.n_dim) * 0.3
    for _ in range(200):
        logp(x)
    best = float("inf")
    for _ in range(7):
        t0 = time.perf_counter()
        for _ in range(1000):
            logp(x)
        best = min(best, (time.perf_counter() - t0) / 1000)
    return {"case": case, "fastmath": fastmath, "us_per_call": best * 1e6}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--one", nargs=2, metavar=("CASE", "FASTMATH"))
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.one[0], args.one[1] == "on")))
        return
    results: dict[tuple[str, bool], list[float]] = {}
    for r in range(args.rounds):
        for case in ("national", "geo10"):
            for fastmath in ((True, False) if r % 2 == 0 else (False, True)):
                out = subprocess.run([sys.executable, __file__, "--one", case, "on" if fastmath else "off"],
                                     capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
                print(out, flush=True)
                row = json.loads(out)
                results.setdefault((case, fastmath), []).append(row["us_per_call"])
    for case in ("national", "geo10"):
        on, off = min(results[(case, True)]), min(results[(case, False)])
        print(f"{case}: fastmath on {on:.1f} us, off {off:.1f} us per logp+gradient (best of {args.rounds}); "
              f"off/on {off / on:.2f}")


if __name__ == "__main__":
    main()
