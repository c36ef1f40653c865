"""Sampler choice and bounded posterior storage (thin, float32); JAX samplers skip when the extra is missing."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import xarray as xr

from mmm.cli.main import main
from mmm.spec.config import Config, ConfigError
from mmm.storage import bound_posterior, posterior_nbytes
from mmm.data.synth import SynthSpec, generate

HAS_JAX = all(importlib.util.find_spec(m) is not None for m in ("jax", "numpyro"))


def tree(chains=2, draws=10, geos=3):
    rng = np.random.default_rng(0)
    posterior = xr.Dataset({"channel_coef_geo_z": (("chain", "draw", "geo"), rng.normal(size=(chains, draws, geos))),
                            "intercept": (("chain", "draw"), rng.normal(size=(chains, draws)))},
                           coords={"chain": np.arange(chains), "draw": np.arange(draws)})
    stats = xr.Dataset({"diverging": (("chain", "draw"), np.zeros((chains, draws), dtype=bool))},
                       coords={"chain": np.arange(chains), "draw": np.arange(draws)})
    return xr.DataTree.from_dict({"/posterior": posterior, "/sample_stats": stats})


def test_thinning_and_float32_bound_the_stored_posterior():
    full = tree()
    small = bound_posterior(full, thin=2, dtype="float32")
    post = small["posterior"].to_dataset()
    assert post.sizes["draw"] == 5 and post["intercept"].dtype == np.float32
    assert small["sample_stats"].to_dataset().sizes["draw"] == 5  # stats stay aligned with the kept draws
    np.testing.assert_allclose(post["intercept"].values, full["posterior"]["intercept"].values[:, ::2], rtol=1e-6)
    assert posterior_nbytes(small) * 4 == posterior_nbytes(full)
    assert bound_posterior(full) is full  # defaults keep everything as sampled


def test_a_jax_sampler_without_the_extra_says_how_to_install_it(monkeypatch):
    from mmm.model.sample import _jax_sampler

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name in ("jax", "numpyro") else real(name, *a))
    with pytest.raises(ConfigError, match=r"pip install 'mmm\[jax\]'"):
        _jax_sampler("numpyro")


def test_synth_geos_writes_a_panel_with_truth_per_geo(tmp_path, capsys):
    import json

    import pandas as pd

    assert main(["synth", "--geos", "3", "--periods", "60", "--channels", "2", "--out", str(tmp_path)]) == 0
    data = pd.read_csv(tmp_path / "data.csv")
    truth = json.loads((tmp_path / "truth.json").read_text())
    assert sorted(data["geo"].unique()) == sorted(truth["geos"]) and len(data) == 180
    for channel, figures in truth["figures"].items():  # national truth = sums over geos
        inc = sum(truth["geos"][g]["figures"][channel]["incremental_kpi"] for g in truth["geos"])
        spend = data.groupby("geo")[f"{channel}_spend"].sum().sum()
        assert figures["incremental_kpi"] == pytest.approx(inc) and figures["roas"] == pytest.approx(inc / spend)
    assert main(["validate", str(tmp_path / "config.yaml")]) == 0
    assert "geo panel: 3 geos" in capsys.readouterr().out
    assert main(["synth", "--geos", "-1", "--out", str(tmp_path / "x")]) == 2


@pytest.mark.slow
@pytest.mark.skipif(not HAS_JAX, reason="optional extra mmm[jax] (jax, numpyro) not installed; CI does not need it")
def test_numpyro_sampler_fits_through_pymcs_jax_path():
    result = generate(SynthSpec(n_periods=60, n_channels=2, controls=False, seed=5))
    config = Config.from_dict({**result.config, "fit": {"draws": 200, "tune": 200, "chains": 2, "seed": 5,
                                                        "sampler": "numpyro", "posterior_dtype": "float32"}})
    from mmm.api import fit

    fitted = fit(config, result.data)
    assert fitted.fit.sampler["sampler"] == "numpyro" and fitted.fit.sampler["posterior_dtype"] == "float32"
    assert fitted.posterior["channel_coef"].dtype == np.float32
    # a smoke test of the JAX path (2 x 200 draws), not of its convergence: R-hat is held to the health card's
    # fail line, not to the gate (1.01) that a full fit must pass
    assert fitted.diagnostics.max_rhat < 1.05 and np.isfinite(fitted.effects.roas).all()
