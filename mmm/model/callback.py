"""A C callback nutpie calls for each gradient, without Python in between.

nutpie's chains run in threads of one process. Handed Python callables (``from_pyfunc``), each gradient
goes through the interpreter: 4 chains on 2 cores then queue on the GIL, and a sampling run spent
70-90 us of wall per gradient on a graph that costs 20 us (bench/README.md, "one model"). Here the
log-density + gradient PyTensor compiled with numba (already disk-cached) is wrapped in a numba
``cfunc`` with nutpie's C signature, and nutpie calls its address directly.

The wrapper is generated as a small module per model structure and compiled with numba's disk cache, so
a new process loads it instead of compiling it (the cache is keyed by the structure's hash, the versions
that shape the code and the generated source itself). Data stay inputs: ``user_data`` points to a table
of their addresses, one per input, whose shapes and dtypes are fixed by the structure (they are part of
the structure key), so new data of the same shapes reuse the compiled callback (:func:`data_table`).

Return codes follow nutpie: 0 ok, a positive code a rejected point (an exception in the graph, a
non-finite density or gradient), a negative one a call with the wrong sizes.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
import tempfile
from collections.abc import Callable, Sequence
from importlib.metadata import version
from pathlib import Path

import numba
import numpy as np
from numba.core import cgutils, types
from numba.extending import intrinsic

KEY = "@KEY@"  # placeholder in the generated source for the module's key
_INNER: dict[str, tuple[Callable, Callable]] = {}  # module key -> (logp + gradient, expand), numba dispatchers

LOGP_SIGNATURE = types.intc(types.uintp, types.CPointer(types.double), types.CPointer(types.double),
                            types.CPointer(types.double), types.voidptr)
EXPAND_SIGNATURE = types.intc(types.uintp, types.uintp, types.CPointer(types.double),
                              types.CPointer(types.double), types.voidptr)


@intrinsic
def address_to_pointer(typingctx, address):
    """A void pointer from an integer address (a data input's entry in the table)."""
    def codegen(context, builder, signature, args):
        return builder.inttoptr(args[0], cgutils.voidptr_t)

    return types.voidptr(address), codegen


def inner(key: str, which: int) -> Callable:
    """The compiled PyTensor function a generated module wraps (0: log-density + gradient, 1: expand)."""
    return _INNER[key][which]


def data_table(values: Sequence[np.ndarray]) -> np.ndarray:
    """The ``user_data`` of a call: the address of each data input, in the compiled order.

    The arrays must stay alive (and C-contiguous, of the compiled dtype) while nutpie samples.
    """
    return np.array([a.ctypes.data for a in values], dtype=np.uintp)


def compile_callbacks(structure: str, logp: Callable, expand: Callable, n_dim: int,
                      data: Sequence[np.ndarray], expanded_sizes: Sequence[int]):
    """(log-density cfunc, expand cfunc) for nutpie, compiled once per structure and disk-cached.

    ``logp(x, *data) -> (value, gradient)`` and ``expand(x, *data) -> tuple of arrays`` are numba dispatchers
    (PyTensor's compiled functions); ``data`` are example inputs (their shapes and dtypes are baked in).
    """
    specs = [(tuple(a.shape), np.dtype(a.dtype).name) for a in data]
    template = _source(n_dim, specs, list(expanded_sizes))
    versions = "|".join(version(p) for p in ("numba", "pytensor", "nutpie"))
    key = hashlib.sha256(f"{structure}|{versions}|{template}".encode()).hexdigest()[:24]
    name = f"mmm_callback_{key}"
    _INNER[key] = (logp, expand)
    module = sys.modules.get(name) or _load(name, template.replace(KEY, key))
    return module.logp, module.expand


def _cache_dir() -> Path:
    import pytensor

    return Path(pytensor.config.compiledir) / "mmm_callbacks"


def _load(name: str, source: str):
    """Import the generated module from the cache folder (written once, atomically: numba's disk cache
    is keyed by the file's time stamp, so an existing file is never rewritten)."""
    folder = _cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.py"
    if not path.exists():
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
        with os.fdopen(fd, "w") as handle:
            handle.write(source)
        os.replace(tmp, path)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


def _source(n_dim: int, specs: list[tuple[tuple[int, ...], str]], expanded_sizes: list[int]) -> str:
    """The generated wrapper: unpack the data table, call the compiled graph, write nutpie's outputs."""
    n_data = max(len(specs), 1)
    unpack = [f"    table = numba.carray(user_data, ({n_data},), np.uintp)"]
    unpack += [f"    d{i} = numba.carray(address_to_pointer(table[{i}]), {shape!r}, np.{dtype})"
               for i, (shape, dtype) in enumerate(specs)]
    args = "".join(f", d{i}" for i in range(len(specs)))
    stores, start = [], 0
    for j, size in enumerate(expanded_sizes):
        stores.append(f"        out[{start}:{start + size}] = np.ravel(values[{j}])")
        start += size
    return "\n".join([
        f'"""nutpie callback {KEY} (generated by mmm.model.callback)."""',
        "import numba",
        "import numpy as np",
        "from mmm.model.callback import EXPAND_SIGNATURE, LOGP_SIGNATURE, address_to_pointer, inner",
        "",
        f"_logp = inner({KEY!r}, 0)",
        f"_expand = inner({KEY!r}, 1)",
        "",
        "",
        "@numba.cfunc(LOGP_SIGNATURE, cache=True)",
        "def logp(dim, x_ptr, grad_ptr, logp_ptr, user_data):",
        f"    if dim != {n_dim}:",
        "        return -1",
        f"    x = numba.carray(x_ptr, ({n_dim},))",
        f"    grad = numba.carray(grad_ptr, ({n_dim},))",
        "    value_out = numba.carray(logp_ptr, (1,))",
        *unpack,
        "    try:",
        f"        value, gradient = _logp(x{args})",
        "    except Exception:",
        "        return 1",
        "    if not np.isfinite(value):",
        "        return 4",
        f"    for i in range({n_dim}):",
        "        if not np.isfinite(gradient[i]):",
        "            return 3",
        "        grad[i] = gradient[i]",
        "    value_out[0] = value",
        "    return 0",
        "",
        "",
        "@numba.cfunc(EXPAND_SIGNATURE, cache=True)",
        "def expand(dim, expanded, x_ptr, out_ptr, user_data):",
        f"    if dim != {n_dim} or expanded != {start}:",
        "        return -1",
        f"    x = numba.carray(x_ptr, ({n_dim},))",
        f"    out = numba.carray(out_ptr, ({start},))",
        *unpack,
        "    try:",
        f"        values = _expand(x{args})",
        *stores,
        "    except Exception:",
        "        return -2",
        "    return 0",
        "",
    ])
