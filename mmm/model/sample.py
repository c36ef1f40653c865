"""Sampling and the diagnostics gate.

nutpie is the default sampler. Its own PyMC bridge compiles a fresh numba C
callback in every process (~10 s for a small MMM), which dominates a fit. We
instead compile the log-density and its gradient with PyTensor's numba backend
and wrap it in a C callback of our own (:mod:`mmm.model.callback`), both
disk-cached across processes since all data enter as inputs; nutpie calls it from
its chain threads without Python or the GIL. Short fits (:data:`CALLBACK_ITERATIONS`)
use nutpie's Python-callable bridge instead. The compiled model is kept
in-process and reused with new data (``with_data``). PyMC's own NUTS is
available as ``sampler="pymc"``.

Importing this module turns PyTensor's numba fastmath off for the process. Its
value-changing flags (reassociation, contraction to FMA, approximate functions)
let LLVM round differently depending on what is compiled together: a freshly
compiled log-density and the same one loaded from the disk cache differed in the
last bits, and NUTS turns such bits into different draws. Same inputs and seed
must give the same figures whether or not anything was cached (docs/figures.md).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pymc as pm
import pytensor
import pytensor.tensor as pt
import xarray as xr
from pytensor.graph import clone_replace, rewrite_graph

from mmm.cores import available_cores
from mmm.model.callback import data_table
from mmm.spec.config import Config
from mmm.spec.sections import DiagnosticThresholds

pytensor.config.numba__fastmath = False  # IEEE arithmetic: compiled and cache-loaded code agree (see above)

_COMPILED: dict[str, Any] = {}  # structural key -> nutpie compiled model (compile once, reuse)
# Fits of at least this many iterations (chains x (draws + tune)) sample through the C callback. A shorter fit
# samples in seconds either way, and the callback's first compile for a new structure (a second overload of
# the graph plus linking it into the callback) would not be repaid; it uses nutpie's Python-callable bridge.
CALLBACK_ITERATIONS = 6000


@dataclass
class Diagnostics:
    max_rhat: float
    min_ess_bulk: float
    divergences: int
    thresholds: DiagnosticThresholds
    chains: int
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        t = self.thresholds
        return {
            "max_rhat": self.max_rhat,
            "min_ess_bulk": self.min_ess_bulk,
            "divergences": self.divergences,
            "ok": self.ok,
            "thresholds": {"max_rhat": t.max_rhat, "min_ess_bulk": t.min_ess_bulk_per_chain * self.chains,
                           "max_divergences": t.max_divergences},
            "problems": list(self.problems),
        }


@dataclass
class FitResult:
    idata: xr.DataTree  # posterior and sample_stats
    diagnostics: Diagnostics
    sampler: dict[str, Any]
    timings: dict[str, float]


def sample(model: pm.Model, config: Config, *, progress: bool = False,
           reported: Mapping[str, str] | None = None) -> FitResult:
    """Draw from the posterior of ``model`` with the settings in ``config.fit``.

    ``reported`` maps free variables sampled in a better-conditioned form to the Deterministic that
    the posterior stores instead (e.g. :data:`mmm.model.build.SAMPLED_FORMS`); diagnostics see the latter.
    """
    reported = dict(reported or {})
    fit = config.fit
    settings = {"sampler": fit.sampler, "chains": fit.chains, "draws": fit.draws, "tune": fit.tune,
                "seed": fit.seed, "target_accept": fit.target_accept}
    if fit.sampler == "nutpie":
        settings["adaptation"] = fit.adaptation
    t0 = time.perf_counter()
    if fit.sampler == "nutpie":
        import nutpie

        callback = fit.chains * (fit.draws + fit.tune) >= CALLBACK_ITERATIONS
        compiled = compile_nutpie(model, reported, callback=callback)
        t1 = time.perf_counter()
        from threadpoolctl import threadpool_limits

        # chains already run in parallel; a multithreaded BLAS inside each gradient (the geo model's
        # adstock matmul) would oversubscribe the cores and make the draws depend on thread timing
        with threadpool_limits(limits=1, user_api="blas"):
            idata = nutpie.sample(compiled.compiled if callback else compiled, draws=fit.draws, tune=fit.tune,
                                  chains=fit.chains, cores=min(fit.chains, available_cores()), seed=fit.seed,
                                  progress_bar=progress, save_warmup=False, target_accept=fit.target_accept,
                                  adaptation=fit.adaptation)
    else:
        extra = _jax_sampler(fit.sampler) if fit.sampler in JAX_SAMPLERS else {}
        t1 = time.perf_counter()
        with model:
            idata = pm.sample(draws=fit.draws, tune=fit.tune, chains=fit.chains, random_seed=fit.seed,
                              target_accept=fit.target_accept, progressbar=progress,
                              cores=min(fit.chains, available_cores()), compute_convergence_checks=False,
                              **extra)
    t2 = time.perf_counter()
    idata = _keep_groups(idata, drop=reported)
    timings = {"compile_s": t1 - t0, "sampling_s": t2 - t1}
    if getattr(model, "collapsed", None):  # integrated out of the density: drawn from their exact conditionals
        from mmm.model.collapsed import draw_collapsed

        posterior = draw_collapsed(model, idata["posterior"].to_dataset(), fit.seed)
        idata = xr.DataTree.from_dict({"/posterior": posterior, "/sample_stats": idata["sample_stats"].to_dataset()})
        timings["conditional_draws_s"] = time.perf_counter() - t2
    if fit.thin > 1 or fit.posterior_dtype != "float64":
        from mmm.storage import bound_posterior

        idata = bound_posterior(idata, fit.thin, fit.posterior_dtype)
        settings.update(thin=fit.thin, posterior_dtype=fit.posterior_dtype)
    diagnostics = diagnose(idata, config.diagnostics)
    settings["version"] = _version(fit.sampler)
    return FitResult(idata=idata, diagnostics=diagnostics, sampler=settings, timings=timings)


def diagnose(idata: xr.DataTree, thresholds: DiagnosticThresholds) -> Diagnostics:
    """Max R-hat, min bulk ESS and divergences over every parameter, against the thresholds."""
    import arviz_stats as azs

    posterior = idata["posterior"].to_dataset()
    chains = posterior.sizes["chain"]
    rhat = azs.rhat(posterior)
    ess = azs.ess(posterior, method="bulk")
    worst_rhat, rhat_at = _extreme(rhat, max)
    worst_ess, ess_at = _extreme(ess, min)
    divergences = int(idata["sample_stats"]["diverging"].sum()) if "sample_stats" in idata else 0
    problems = []
    if chains < 2:
        problems.append("only one chain: R-hat cannot be checked; run 2 or more chains")
    if not worst_rhat <= thresholds.max_rhat:
        problems.append(f"R-hat {worst_rhat:.3f} > {thresholds.max_rhat} for {rhat_at}: chains disagree")
    min_ess = thresholds.min_ess_bulk_per_chain * chains
    if not worst_ess >= min_ess:
        problems.append(f"bulk ESS {worst_ess:.0f} < {min_ess:.0f} for {ess_at}: run more draws")
    if divergences > thresholds.max_divergences:
        problems.append(f"{divergences} divergent transitions (allowed {thresholds.max_divergences}): "
                        f"the sampler could not explore part of the posterior; raise fit.target_accept or revisit priors")
    return Diagnostics(max_rhat=float(worst_rhat), min_ess_bulk=float(worst_ess), divergences=divergences,
                       thresholds=thresholds, chains=chains, problems=problems)


def _extreme(stat: xr.Dataset, pick) -> tuple[float, str]:
    """The worst value of a per-parameter statistic (NaN counts as worst) and where it is."""
    entries = []
    for name, da in stat.data_vars.items():
        for index in np.ndindex(da.shape):
            labels = [str(da.coords[d].values[j]) if d in da.coords else str(j)
                      for d, j in zip(da.dims, index, strict=True)]
            entries.append((float(da.values[index]), f"{name}[{', '.join(labels)}]" if labels else name))
    if not entries:
        return float("nan"), ""
    nan = [e for e in entries if np.isnan(e[0])]
    return nan[0] if nan else pick(entries, key=lambda e: e[0])


def _keep_groups(idata: xr.DataTree, drop: Iterable[str] = ()) -> xr.DataTree:
    keep = {"/" + g: idata[g].to_dataset() for g in ("posterior", "sample_stats") if g in idata}
    keep["/posterior"] = keep["/posterior"].drop_vars(list(drop), errors="ignore")
    return xr.DataTree.from_dict(keep)


def _version(sampler: str) -> str:
    from importlib.metadata import version

    return version(sampler if sampler in ("nutpie", *JAX_SAMPLERS) else "pymc")


JAX_SAMPLERS = ("numpyro", "blackjax")  # PyMC's JAX path; optional extra mmm[jax]; a GPU is used if JAX has one


def _jax_sampler(name: str) -> dict:
    """``pm.sample`` arguments for a JAX sampler, or a clear error if the optional extra is missing."""
    import importlib.util

    from mmm.spec.config import ConfigError

    missing = [m for m in ("jax", name) if importlib.util.find_spec(m) is None]
    if missing:
        raise ConfigError(f"fit.sampler {name!r} needs {' and '.join(missing)}, which are not installed; "
                          f"install the optional extra (pip install 'mmm[jax]') or use sampler nutpie")
    # vectorized chains: one device (a GPU, or the CPU) runs all chains at once
    return {"nuts_sampler": name, "nuts": {"chain_method": "vectorized"}}


# ---- nutpie bridge ---------------------------------------------------------------------


def compile_nutpie(model: pm.Model, reported: Mapping[str, str] | None = None, callback: bool = True):
    """A nutpie model for ``model``: compiled once per structure, then reused with new data.

    Its draws hold the free variables, each key of ``reported`` replaced by the Deterministic it names.
    ``callback``: a :class:`NutpieModel` nutpie calls through the C callback; otherwise nutpie's
    Python-callable model (:func:`_python_model`).
    """
    reported = dict(reported or {})
    from pymc.model.transform.optimization import freeze_dims_and_data

    model = freeze_dims_and_data(model, data=[])  # static shapes; data stay inputs
    data_vars = list(model.data_vars)
    # C order always: numba specializes on memory layout, and a new layout means a recompile
    data_values = {d.name: np.ascontiguousarray(d.get_value()) for d in data_vars}
    logp = model.logp()
    key = _structure_key(model, logp) + repr(sorted(reported.items()))
    bridge_key = key + ("|callback" if callback else "|python")
    if bridge_key in _COMPILED:
        return _COMPILED[bridge_key].with_data(**data_values)
    compiled = (_compile_nutpie(model, logp, data_vars, data_values, reported, key) if callback
                else _python_model(model, logp, data_vars, data_values, reported))
    _COMPILED[bridge_key] = compiled
    return compiled


def _structure_key(model: pm.Model, logp=None) -> str:
    """Graph text, every constant's bytes (priors live there) and data shapes.

    Equal keys mean the compiled functions are interchangeable; ``debugprint``
    alone abbreviates long constants, so their bytes are hashed too.
    """
    from pytensor.graph.basic import Constant
    from pytensor.graph.traversal import ancestors
    from pytensor.printing import debugprint

    logp = model.logp() if logp is None else logp
    digest = hashlib.sha256(debugprint(logp, file="str", print_type=True).encode())
    for node in ancestors([logp]):
        if isinstance(node, Constant):
            digest.update(np.asarray(node.data).tobytes())
    shapes = sorted((d.name, np.shape(d.get_value())) for d in model.data_vars)
    coords = sorted((k, tuple(map(str, v))) for k, v in model.coords.items() if v is not None)
    digest.update(f"{shapes}|{coords}".encode())
    return digest.hexdigest()


def _bridge_graphs(model: pm.Model, logp, data_vars: list, reported: Mapping[str, str], logp_mode):
    """What both nutpie bridges sample: the log-density + gradient and the expand function, compiled with
    PyTensor's numba backend on one flat unconstrained vector and the data inputs, and their layout."""
    from pymc.initial_point import make_initial_point_fn

    point = model.initial_point()
    value_vars = [model.rvs_to_values[rv] for rv in model.free_RVs]
    shapes = [tuple(point[v.name].shape) for v in value_vars]
    sizes = [int(np.prod(s)) for s in shapes]
    n_dim = int(sum(sizes))
    offsets = np.concatenate([[0], np.cumsum(sizes)])

    joined = pt.vector("unconstrained_point", dtype="float64", shape=(n_dim,))
    unravel = {v: joined[offsets[i]:offsets[i + 1]].reshape(shapes[i]).astype(v.dtype)
               for i, v in enumerate(value_vars)}
    data_inputs = {d: d.type(name=d.name) for d in data_vars}
    replacements = {**unravel, **data_inputs}

    # the same rewrites nutpie applies; parameter checks become -inf/nan (a rejected step), not an exception
    logp = rewrite_graph(logp, include=("canonicalize", "stabilize", "local_remove_check_parameter"))
    grad = pt.concatenate([g.ravel() for g in pt.grad(logp, value_vars)])
    logp_out, grad_out = clone_replace([logp, grad], replacements)
    inputs = [joined, *data_inputs.values()]
    logp_fn = pytensor.function(inputs, [logp_out, grad_out], mode=logp_mode, trust_input=True,
                                on_unused_input="ignore")

    out_names = [reported.get(rv.name, rv.name) for rv in model.free_RVs]
    by_name = {v.name: v for v in model.unobserved_value_vars}
    expand_fn = pytensor.function(inputs, clone_replace([by_name[n] for n in out_names], replacements),
                                  mode="NUMBA", trust_input=True, on_unused_input="ignore")
    # static shapes (the model is frozen): evaluating here would compile the expand graph for Python's
    # calling convention too, besides the callback's
    out_shapes = [tuple(int(d) for d in by_name[n].type.shape) for n in out_names]
    initial_point = make_initial_point_fn(model=model, jitter_rvs=set(model.free_RVs), return_transformed=True)

    lock = threading.Lock()  # PyTensor functions are not thread-safe; nutpie calls this from chain threads

    def make_initial_points(seed):
        with lock:
            values = initial_point(seed)
        return np.concatenate([np.asarray(values[v.name], dtype="float64").ravel() for v in value_vars])

    dims = {n: tuple(model.named_vars_to_dims.get(n, ())) for n in out_names}
    used = {d for ds in dims.values() for d in ds}
    coords = {k: [str(x) for x in v] for k, v in model.coords.items() if k in used}
    layout = _Layout(n_dim=n_dim, out_names=out_names, out_shapes=out_shapes, dims=dims, coords=coords,
                     data_order=[d.name for d in data_vars], initial_points=make_initial_points)
    return layout, logp_fn, expand_fn


def _compile_nutpie(model: pm.Model, logp, data_vars: list, data_values: dict[str, np.ndarray],
                    reported: Mapping[str, str], structure: str):
    layout, logp_fn, expand_fn = _bridge_graphs(model, logp, data_vars, reported, "NUMBA")
    # the callback's disk cache holds the compiled graphs too. They follow from the model's graph (the
    # structure key) and this procedure, so key by both. Not by the compiled graphs' text: fused ops are
    # named from process-wide counters, so that text depends on what the process compiled before.
    import inspect

    procedure = inspect.getsource(_bridge_graphs) + inspect.getsource(_compile_nutpie)
    structure = hashlib.sha256(f"{structure}|{procedure}".encode()).hexdigest()
    return _callback_model(structure, logp_fn.vm.jit_fn, expand_fn.vm.jit_fn, layout, data_values)


@dataclass
class _Layout:
    """What a compiled nutpie model needs besides its functions: sizes, names, dims, data order."""
    n_dim: int
    out_names: list[str]
    out_shapes: list[tuple[int, ...]]
    dims: dict[str, tuple[str, ...]]
    coords: dict[str, list[str]]
    data_order: list[str]
    initial_points: Any


class NutpieModel:
    """A compiled model nutpie samples through a C callback (:mod:`mmm.model.callback`).

    ``with_data`` gives the same compiled functions new data of the same shapes; the arrays are held
    here, since the callback reads them by address while nutpie samples.
    """

    def __init__(self, logp_cfunc, expand_cfunc, layout: _Layout, data_values: Mapping[str, np.ndarray]):
        self.logp_cfunc, self.expand_cfunc, self.layout = logp_cfunc, expand_cfunc, layout
        self.data = {n: np.ascontiguousarray(data_values[n]) for n in layout.data_order}
        self.table = data_table([self.data[n] for n in layout.data_order])
        self.compiled = self._nutpie_model()

    def initial_point(self, seed: int) -> np.ndarray:
        """A jittered starting point in the unconstrained space nutpie samples."""
        return self.layout.initial_points(seed)

    def log_density(self, x: np.ndarray) -> tuple[float, np.ndarray, int]:
        """(log-density, gradient, nutpie return code) at ``x``, through the very C callback nutpie calls."""
        import ctypes

        x = np.ascontiguousarray(x, dtype="float64")
        gradient, value = np.zeros_like(x), np.zeros(1)
        double = ctypes.POINTER(ctypes.c_double)
        code = self.logp_cfunc.ctypes(x.size, x.ctypes.data_as(double), gradient.ctypes.data_as(double),
                                      value.ctypes.data_as(double), ctypes.c_void_p(self.table.ctypes.data))
        return float(value[0]), gradient, int(code)

    def expand(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """The stored variables at ``x`` (by name, in their shapes), through nutpie's expand callback."""
        import ctypes

        x = np.ascontiguousarray(x, dtype="float64")
        sizes = [int(np.prod(s)) for s in self.layout.out_shapes]
        out = np.zeros(sum(sizes))
        double = ctypes.POINTER(ctypes.c_double)
        code = self.expand_cfunc.ctypes(x.size, out.size, x.ctypes.data_as(double), out.ctypes.data_as(double),
                                        ctypes.c_void_p(self.table.ctypes.data))
        if code != 0:
            raise FloatingPointError(f"the expand callback returned {code} at this point")
        parts = np.split(out, np.cumsum(sizes)[:-1])
        return {n: p.reshape(s) for n, p, s in zip(self.layout.out_names, parts, self.layout.out_shapes, strict=True)}

    @property
    def n_dim(self) -> int:
        return self.layout.n_dim

    def with_data(self, **data_values: np.ndarray) -> NutpieModel:
        unknown = set(data_values) - set(self.layout.data_order)
        if unknown:
            raise KeyError(f"unknown data inputs {sorted(unknown)}")
        merged = {**self.data, **{n: np.asarray(v, dtype=self.data[n].dtype) for n, v in data_values.items()}}
        for name, value in merged.items():
            if value.shape != self.data[name].shape:
                raise ValueError(f"data input {name!r} has shape {value.shape}; the compiled model needs "
                                 f"{self.data[name].shape}")
        return NutpieModel(self.logp_cfunc, self.expand_cfunc, self.layout, merged)

    def _nutpie_model(self):
        from nutpie.compile_pymc import CompiledPyMCModel

        layout = self.layout
        sizes = [int(np.prod(s)) for s in layout.out_shapes]
        slices, start = [], 0
        for size in sizes:
            slices.append(slice(start, start + size))
            start += size
        return CompiledPyMCModel(
            _n_dim=layout.n_dim, dims=layout.dims, _coords=layout.coords,
            _shapes=dict(zip(layout.out_names, layout.out_shapes, strict=True)),
            compiled_logp_func=self.logp_cfunc, compiled_expand_func=self.expand_cfunc,
            initial_point_func=layout.initial_points, shared_data=dict(self.data), shared_var_keys={},
            user_data=self.table, n_expanded=start,
            shape_info=(list(layout.out_names), slices, [list(s) for s in layout.out_shapes]),
            logp_func=None, expand_func=None)


def _callback_model(structure: str, logp_jit, expand_jit, layout: _Layout,
                    data_values: Mapping[str, np.ndarray]) -> NutpieModel:
    from mmm.model.callback import compile_callbacks

    data = [np.ascontiguousarray(data_values[n]) for n in layout.data_order]
    sizes = [int(np.prod(s)) for s in layout.out_shapes]
    logp_cfunc, expand_cfunc = compile_callbacks(structure, logp_jit, expand_jit, layout.n_dim, data, sizes)
    return NutpieModel(logp_cfunc, expand_cfunc, layout, data_values)


def _python_model(model: pm.Model, logp, data_vars: list, data_values: dict[str, np.ndarray],
                  reported: Mapping[str, str]):
    """nutpie's Python-callable bridge (``from_pyfunc``), for short fits (:data:`CALLBACK_ITERATIONS`).

    The same graphs as :func:`_compile_nutpie`, compiled for Python's calling convention: each gradient goes
    through the interpreter (and the GIL), but nothing beyond PyTensor's own compile is needed."""
    from nutpie.compiled_pyfunc import from_pyfunc

    layout, logp_fn, expand_fn = _bridge_graphs(model, logp, data_vars, reported, _nogil_numba_mode())
    data_order, out_names, out_shapes = layout.data_order, layout.out_names, layout.out_shapes
    logp_jit = _jit(logp_fn)
    expand_jit = _jit(expand_fn)

    def make_logp_fn():
        def logp_func(x, **shared):
            try:
                value, gradient = logp_jit(x, *(shared[n] for n in data_order))
            except (ValueError, FloatingPointError, ZeroDivisionError):
                # an invalid point (e.g. a scale that underflowed to 0): reject the step, never crash the chain
                return -np.inf, np.zeros_like(x)
            return float(value), gradient

        return logp_func

    def make_expand_fn(seed1, seed2, chain):
        def expand(x, **shared):
            values = expand_jit(x, *(shared[n] for n in data_order))
            return {n: np.asarray(v, dtype="float64").reshape(s)
                    for n, v, s in zip(out_names, values, out_shapes, strict=True)}

        return expand

    return from_pyfunc(
        ndim=layout.n_dim,
        make_logp_fn=make_logp_fn,
        make_expand_fn=make_expand_fn,
        make_initial_point_fn=layout.initial_points,
        expanded_dtypes=[np.dtype("float64")] * len(out_names),
        expanded_shapes=out_shapes,
        expanded_names=out_names,
        shared_data=data_values,
        dims=layout.dims,
        coords=layout.coords,
    )


def _nogil_numba_mode():
    """PyTensor's numba mode, but the compiled function releases the GIL.

    nutpie runs chains in threads and calls back into Python for each gradient;
    without this the chains would take turns on one core.
    """
    from pytensor.compile.mode import Mode, get_mode
    from pytensor.link.numba.dispatch.basic import numba_njit
    from pytensor.link.numba.linker import NumbaLinker

    class NoGilNumbaLinker(NumbaLinker):
        def jit_compile(self, fn_and_cache):
            fn, cache_key = fn_and_cache
            return numba_njit(fn.py_func, final_function=True, cache=cache_key is not None, nogil=True)

    return Mode(linker=NoGilNumbaLinker(), optimizer=get_mode("NUMBA").optimizer)


def _jit(fn):
    """The numba-compiled core of a PyTensor function (skips Python-level call overhead)."""
    jit_fn = getattr(getattr(fn, "vm", None), "jit_fn", None)
    if jit_fn is None:
        return lambda *args: fn(*args)
    return jit_fn
