"""Cost of one log-density + gradient evaluation, two checkouts, the model ``mmm fit`` samples.

Splits the fit's sampling time into the part the model graph decides (this figure) and the part it does
not (nutpie's tree building and the Python callback per gradient, which with 4 chains on 2 cores waits on
the GIL). Each checkout runs in a fresh process (``PYTHONPATH=<checkout>``, ``python -P``): its ``fit`` is
called on ``CONFIG`` with the sampler replaced by a stub that keeps the model, and the model's
log-density and gradient are compiled the way the package's nutpie bridge compiles them (frozen dims,
nutpie's rewrites, PyTensor's numba backend). Printed per checkout and rep: the best-of-7 mean time of one
call (3000 calls each), on one thread, and the throughput with 2 and 4 threads calling at once (BLAS
limited to one thread, as during sampling). Checkouts alternate ``--reps`` times.

    python bench/gradient_cost.py --old /path/to/old --new . --config DATA/config.yaml [--reps 2]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from checkout import check_package, checkout_env

PROBE = r'''
import sys, threading, time, timeit
import numpy as np
import pytensor
import pytensor.tensor as pt
from pymc.model.transform.optimization import freeze_dims_and_data
from pytensor.graph.replace import clone_replace
from pytensor.graph.rewriting.utils import rewrite_graph
from threadpoolctl import threadpool_limits

config_path, label = sys.argv[1], sys.argv[2]
try:  # the stage-folder layout, else the flat one (before the one model)
    import mmm.model.sample as sampling
    from mmm.analysis.pipeline import fit, load_config
except ImportError:
    import mmm.fit  # noqa: F401  (mmm.fit is also a function re-exported by mmm: take the module)
    sampling = sys.modules["mmm.fit"]
    from mmm.pipeline import fit, load_config


class Captured(Exception):
    pass


def keep_model(model, *args, **kwargs):
    raise Captured(model)


sampling.sample = keep_model
try:
    fit(load_config(config_path))
    raise SystemExit("fit returned without sampling")
except Captured as captured:
    model = captured.args[0]
model = freeze_dims_and_data(model, data=[])
data_vars = list(model.data_vars)
data = [np.ascontiguousarray(d.get_value()) for d in data_vars]
point = model.initial_point()
value_vars = [model.rvs_to_values[rv] for rv in model.free_RVs]
shapes = [tuple(point[v.name].shape) for v in value_vars]
offsets = np.concatenate([[0], np.cumsum([int(np.prod(s)) for s in shapes])])
joined = pt.vector("x", dtype="float64", shape=(int(offsets[-1]),))
replace = {v: joined[offsets[i]:offsets[i + 1]].reshape(shapes[i]).astype(v.dtype) for i, v in enumerate(value_vars)}
inputs = {d: d.type(name=d.name) for d in data_vars}
logp = rewrite_graph(model.logp(), include=("canonicalize", "stabilize", "local_remove_check_parameter"))
grad = pt.concatenate([g.ravel() for g in pt.grad(logp, value_vars)])
outs = clone_replace([logp, grad], {**replace, **inputs})
fn = pytensor.function([joined, *inputs.values()], outs, mode="NUMBA", trust_input=True, on_unused_input="ignore")
core = getattr(fn.vm, "jit_fn", fn)
x = np.concatenate([np.asarray(point[v.name]).ravel() for v in value_vars])
core(x, *data)
one = min(timeit.repeat(lambda: core(x, *data), number=3000, repeat=7)) / 3000
line = [f"{label}: {x.size} parameters, {one * 1e6:.1f} us per call (1 thread)"]


def calls(n):
    for _ in range(n):
        core(x, *data)


with threadpool_limits(limits=1, user_api="blas"):
    for n_threads in (2, 4):
        best = float("inf")
        for _ in range(3):
            threads = [threading.Thread(target=calls, args=(10000,)) for _ in range(n_threads)]
            t0 = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            best = min(best, time.perf_counter() - t0)
        line.append(f"{best / (10000 * n_threads) * 1e6:.1f} us per call ({n_threads} threads)")
print("COST " + ", ".join(line), flush=True)
'''


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--old", type=Path, required=True)
    p.add_argument("--new", type=Path, required=True)
    p.add_argument("--config", type=Path, required=True, help="a config both checkouts can fit")
    p.add_argument("--reps", type=int, default=2)
    args = p.parse_args()
    roots = {"old": args.old.resolve(), "new": args.new.resolve()}
    for label, root in roots.items():
        print(f"{label}: {root}; mmm from {check_package(root)}", flush=True)
    for _ in range(args.reps):
        for label, root in roots.items():
            proc = subprocess.run([sys.executable, "-P", "-c", PROBE, str(args.config.resolve()), label], cwd=root,
                                  env=checkout_env(root), capture_output=True, text=True)
            lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("COST ")]
            if proc.returncode != 0 or not lines:
                print(proc.stdout[-2000:], proc.stderr[-4000:])
                raise SystemExit(f"{label} probe exited {proc.returncode}")
            print(lines[0], flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
