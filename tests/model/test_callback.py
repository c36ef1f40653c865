"""The C callback nutpie calls: same density as PyMC, new data by address, bad points rejected, not fatal."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from mmm.data.synth import SynthSpec, generate
from mmm.model.sample import compile_nutpie
from test_fit import _model, nutpie_point  # tests/ is on sys.path under pytest


@pytest.fixture(scope="module")
def case():
    result = generate(SynthSpec(seed=4, n_periods=80, n_channels=2, controls=False))
    model = _model(result.config, result.data)
    return model, compile_nutpie(model)


def test_callback_reads_new_data_by_address_and_keeps_the_old_model_intact(case):
    model, compiled = case
    x = compiled.initial_point(1)
    before = compiled.log_density(x)[0]
    name = next(n for n in compiled.layout.data_order if compiled.data[n].ndim >= 2)
    changed = compiled.with_data(**{name: compiled.data[name] * 1.5})
    assert changed.logp_cfunc is compiled.logp_cfunc  # same compiled code, other data
    after = changed.log_density(x)[0]
    assert after != pytest.approx(before)
    assert compiled.log_density(x)[0] == before  # the first model still reads its own arrays

    frozen, point = nutpie_point(model, x)
    assert before == pytest.approx(frozen.compile_logp()(point), rel=1e-10)


def test_new_data_of_another_shape_or_name_is_refused(case):
    _, compiled = case
    name = compiled.layout.data_order[0]
    with pytest.raises(ValueError, match=name):
        compiled.with_data(**{name: np.zeros((*compiled.data[name].shape, 2))})
    with pytest.raises(KeyError, match="unknown data"):
        compiled.with_data(not_an_input=np.zeros(3))


def test_a_point_without_a_finite_density_is_a_rejected_step_not_a_crash(case):
    """nutpie treats a positive code as a recoverable rejection (a divergence), a negative one as fatal."""
    _, compiled = case
    x = np.full(compiled.n_dim, 1e300)  # overflows every transform
    value, _, code = compiled.log_density(x)
    assert code > 0
    x = compiled.initial_point(2)
    x[0] = np.nan
    assert compiled.log_density(x)[2] > 0


def test_expand_gives_the_stored_variables_in_their_shapes(case):
    """Log- and logit-transformed and untransformed variables come back on their own scale."""
    from scipy.special import expit

    model, compiled = case
    x = compiled.initial_point(5)
    values = compiled.expand(x)
    assert list(values) == compiled.layout.out_names
    frozen, point = nutpie_point(model, x)
    backward = {"log": np.exp, "logodds": expit}
    checked = 0
    for rv in frozen.free_RVs:
        transform = frozen.rvs_to_transforms.get(rv)
        name = None if transform is None else getattr(transform, "name", None)
        raw = point[frozen.rvs_to_values[rv].name]
        if transform is None:
            np.testing.assert_allclose(values[rv.name], raw, rtol=1e-12)
        elif name in backward:
            np.testing.assert_allclose(values[rv.name], backward[name](raw), rtol=1e-12)
        else:
            continue
        checked += 1
    assert checked >= 4


@pytest.mark.slow  # compiles two models from empty caches (~60 s)
def test_a_second_process_loads_the_callback_from_the_disk_cache(tmp_path):
    """The generated module and numba's cache of it are reused, whatever the process compiled before:
    the first process compiles another model first, the second only the one both share."""
    code = (
        "import sys; sys.path[:0] = sys.argv[2:]\n"
        "from mmm.data.synth import SynthSpec, generate\n"
        "from test_fit import _model\n"
        "import mmm.model.callback as cb\n"
        "from mmm.model.sample import compile_nutpie\n"
        "if sys.argv[1] == 'first':\n"
        "    other = generate(SynthSpec(seed=6, n_periods=60, n_channels=2, controls=False))\n"
        "    compile_nutpie(_model(other.config, other.data))\n"
        "r = generate(SynthSpec(seed=5, n_periods=60, n_channels=1, controls=False))\n"
        "c = compile_nutpie(_model(r.config, r.data))\n"
        "print('HITS', c.logp_cfunc.cache_hits + c.expand_cfunc.cache_hits)\n"
        "print('MODULES', len(list(cb._cache_dir().glob('mmm_callback_*.py'))))\n"
    )
    env = {**os.environ, "PYTENSOR_FLAGS": f"base_compiledir={tmp_path / 'pt'}",
           "NUMBA_CACHE_DIR": str(tmp_path / "numba")}
    tests = os.path.dirname(os.path.dirname(__file__))
    paths = [tests, os.path.join(tests, "model"), os.path.join(tests, "analysis")]
    outputs = [subprocess.run([sys.executable, "-c", code, which, *paths], env=env, capture_output=True, text=True)
               for which in ("first", "second")]
    for done in outputs:
        assert done.returncode == 0, done.stderr
    first, second = (dict(line.split(" ", 1) for line in o.stdout.splitlines()) for o in outputs)
    assert first["MODULES"] == second["MODULES"] == "2"  # the shared model's key did not change
    assert (first["HITS"], second["HITS"]) == ("0", "2")  # compiled once, then both loaded


@pytest.mark.slow  # compiles the graph a second time, for Python's calling convention
def test_short_fits_bridge_gives_the_same_draws_as_the_callback(case):
    """Fits below CALLBACK_ITERATIONS sample through nutpie's Python-callable bridge: same numbers."""
    import nutpie

    model, compiled = case
    python = compile_nutpie(model, callback=False)
    settings = {"draws": 30, "tune": 30, "chains": 2, "cores": 1, "seed": 3, "progress_bar": False}
    through_c = nutpie.sample(compiled.compiled, **settings)["posterior"].to_dataset()
    through_python = nutpie.sample(python, **settings)["posterior"].to_dataset()
    assert set(through_c.data_vars) == set(through_python.data_vars)
    for name in through_c.data_vars:
        np.testing.assert_array_equal(through_c[name].values, through_python[name].values)
