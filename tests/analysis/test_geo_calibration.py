"""ROAS priors and lift tests on geo models, prior-check of a panel, and their bad inputs. No fits.

The fits (a geo lift test narrows its geo's ROAS, a national ROAS prior moves the national
estimate, a wrong test is flagged) are in tests/analysis/test_geo_calibration_fit.py.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pymc as pm
import pytest
import xarray as xr
import yaml

from mmm.model import media
from mmm.cli.main import main
from mmm.spec.config import Config, ConfigError
from mmm.model.lift_tests import INCREMENTAL_VAR
from mmm.data.panel_design import PanelScaling
from mmm.data.panel_design import build_panel_design
from mmm.analysis.geo_effects import compute_geo_effects
from mmm.analysis.lift_tests import incremental_draws
from mmm.model.build import build_model
from mmm.analysis.pipeline import load as load_geo
from mmm.model.prior_sample import sample_prior
from mmm.model.roas_prior import coef_from_roas
from mmm.model.roas_prior import ROAS_VAR
from mmm.spec.roas_prior import parse_roas_prior
from mmm.data.synth import SynthSpec, generate
from mmm.data.synth_truth import true_figures
from mmm.model.truth import truth_posterior

ROAS_PRIORS = {"tv": {"median": 2.0, "p90": 5.0}, "social": {"mean": 1.5, "sd": 0.6}}
COEF_PRIORS = {"search": {"dist": "HalfNormal", "sigma": 1.0}}  # search on its coefficient prior: a mixed config


@pytest.fixture(scope="module")
def panel():
    return generate(SynthSpec(n_periods=70, n_channels=3, controls=False, seed=11, n_geos=3))


def _config(panel, **extra) -> Config:
    return Config.from_dict({**panel.config, **extra})


def _with_roas(panel, adstock="shared", **extra) -> Config:
    channels = {k: dict(v) for k, v in panel.config["channels"].items()}
    for name, prior in ROAS_PRIORS.items():
        channels[name]["roas_prior"] = prior
    for name, prior in COEF_PRIORS.items():
        channels[name]["priors"] = {**channels[name].get("priors", {}), "coef": prior}
    model = {**panel.config.get("model", {}), "geo": {"adstock": adstock}}
    return _config(panel, channels=channels, model=model, **extra)


def _prepared(config, panel):
    data = load_geo(config, panel.data)
    scaling = PanelScaling.compute(data)
    return data, scaling, build_panel_design(data, scaling, config.model.seasonality_order)


def _dates(panel, *rows) -> list[str]:
    dates = sorted(panel.data["date"].unique())
    return [str(dates[i])[:10] for i in rows]


def _flat(da: xr.DataArray) -> np.ndarray:
    return np.asarray(da.stack(sample=("chain", "draw")).transpose("sample", ...).values)


def _within_mc_error(draws: np.ndarray, dist, probs=(0.05, 0.25, 0.5, 0.75, 0.9, 0.95)) -> list[str]:
    """Empirical quantiles vs the requested prior, within 4 Monte-Carlo standard errors (CDF scale)."""
    n = len(draws)
    return [f"p={p}: CDF {float(dist.cdf(np.quantile(draws, p))):.3f}" for p in probs
            if abs(float(dist.cdf(np.quantile(draws, p))) - p) > 4 * math.sqrt(p * (1 - p) / n)]


# ---- ROAS priors are on the national ROAS, exactly ----------------------------------------------------


@pytest.mark.parametrize("adstock", ["shared", "geo"])
def test_prior_only_national_roas_is_the_requested_prior(panel, adstock):
    """The geo model's own graph (PyMC prior draws): national ROAS = sum over geos of value / spend, per draw,
    is the sampled ROAS whatever the geo spread; mixed config and a window that is not the data range."""
    start, end = _dates(panel, 6, 55)
    config = _with_roas(panel, adstock, window={"start": start, "end": end})
    data, scaling, design = _prepared(config, panel)
    model = build_model(config, design)
    with model:
        names = [rv.name for rv in model.free_RVs] + [media.COEF]
        prior = pm.sample_prior_predictive(3000, random_seed=5, var_names=names)["prior"].to_dataset()
    effects = compute_geo_effects(prior, config, data, scaling)
    national = effects.national
    assert national.window == (pd.Timestamp(start), pd.Timestamp(end))
    np.testing.assert_allclose(national.spend, effects.spend.sum(axis=0))
    for name, requested in ROAS_PRIORS.items():
        k = config.channel_names.index(name)
        sampled = _flat(prior[ROAS_VAR].sel(roas_channel=name))
        np.testing.assert_allclose(national.roas[:, k], sampled, rtol=1e-9)
        assert not _within_mc_error(national.roas[:, k], parse_roas_prior(requested, "x").scipy())
        # ...while each geo's ROAS spreads around it (the split over geos is left to the data and pooling)
        assert np.std(effects.by_geo["roas"][:, :, k] / national.roas[:, k, None]) > 0.05
    # the NumPy twin (what fills channel_coef after sampling) gives the graph's coefficients
    filled = coef_from_roas(config, data, scaling, prior.drop_vars(media.COEF))
    np.testing.assert_allclose(filled[media.COEF].values, prior[media.COEF].values, rtol=1e-9)
    free = config.channel_names.index("search")  # no ROAS prior: its own coefficient draw, untouched
    np.testing.assert_array_equal(_flat(filled[media.COEF])[:, free], _flat(prior["channel_coef_free"])[:, 0])


def test_prior_sampler_follows_the_model(panel):
    """sample_prior draws every free variable of the geo model, and the ROAS it implies is the prior's."""
    config = _with_roas(panel)
    data, scaling, design = _prepared(config, panel)
    prior = sample_prior(config, data, scaling, n_draws=2000, seed=1)
    assert {rv.name for rv in build_model(config, design).free_RVs} <= set(prior.data_vars)
    national = compute_geo_effects(prior, config, data, scaling).national
    k = config.channel_names.index("tv")
    np.testing.assert_allclose(national.roas[:, k], _flat(prior[ROAS_VAR].sel(roas_channel="tv")), rtol=1e-9)


# ---- lift tests: the model's counterfactual ---------------------------------------------------------


def true_geo_lift(panel, geo: str, channel: str, start: str, end: str) -> float:
    """A test's lift in one geo by synth's own per-period loop, on the geo's true (natural-unit) parameters."""
    truth = panel.truth["geos"][geo]
    natural = {k: {**c, "coef": c["coef"] * truth["scaling"]["kpi"]} for k, c in truth["params"]["channels"].items()}
    frame = panel.data[panel.data["geo"] == geo].reset_index(drop=True)
    geo_truth = {"spec": panel.truth["spec"], "scaling": truth["scaling"], "params_natural": {"channels": natural}}
    return true_figures(frame, geo_truth, window=(start, end))[channel]["incremental_kpi"]


def _truth_in_geo_layout(panel, config, data) -> xr.Dataset:
    """The synthetic truth as geo-model draws: pooled coefficient 1, sd 1, z = log(each geo's true coefficient)."""
    per_geo = [truth_posterior(panel.truth["geos"][geo], config, data.geo(g)) for g, geo in enumerate(data.geos)]
    first = per_geo[0]

    def by_geo(name: str) -> xr.DataArray:
        return xr.concat([p[name] for p in per_geo], dim="geo").transpose("chain", "draw", "geo", ...)

    shared = {name: first[name] for name, *_ in media.parameter_layout(config.channels) if name != media.COEF}
    return xr.Dataset({**shared, "intercept": by_geo("intercept"), "sigma": by_geo("sigma"),
                       media.COEF: xr.ones_like(first[media.COEF]),
                       "channel_coef_geo_sd": xr.ones_like(first[media.COEF]),
                       "channel_coef_geo_z": np.log(by_geo(media.COEF))})


def test_lift_test_counterfactual_matches_the_synthetic_truth(panel):
    """A geo test is that geo's counterfactual; a national test is the sum over geos (true parameters)."""
    start, end = _dates(panel, 20, 24)
    geo_test = {"channel": "tv", "geo": "geo_001", "start": start, "end": end, "incremental_kpi": 1.0, "se": 1.0}
    national_test = {**geo_test, "channel": "social"}
    del national_test["geo"]
    config = _config(panel, experiments=[geo_test, national_test])
    data, scaling, _ = _prepared(config, panel)
    delta = incremental_draws(config, data, scaling, _truth_in_geo_layout(panel, config, data))[0]

    def true_lift(geo: str, channel: str) -> float:
        return true_geo_lift(panel, geo, channel, start, end)

    first, last = panel.truth["window"]["start"], panel.truth["window"]["end"]
    assert true_geo_lift(panel, "geo_001", "tv", first, last) == pytest.approx(
        panel.truth["geos"]["geo_001"]["figures"]["tv"]["incremental_kpi"], rel=1e-12)  # the geo's stored truth

    assert delta[0] == pytest.approx(true_lift("geo_001", "tv"), rel=1e-9)
    assert delta[1] == pytest.approx(sum(true_lift(g, "social") for g in data.geos), rel=1e-9)
    assert true_lift("geo_000", "tv") > 0  # the other geos' tv lift is real, and left out of the geo test


@pytest.mark.parametrize("adstock", ["shared", "geo"])
def test_lift_likelihood_term_is_the_same_counterfactual(panel, adstock):
    """The PyMC term's incremental KPI (geo and national tests, ROAS priors on) equals the NumPy twin."""
    a, b, c, d = _dates(panel, 10, 14, 30, 40)
    tests = [{"channel": "tv", "geo": "geo_002", "start": a, "end": b, "incremental_kpi": 5e4, "se": 1e4},
             {"channel": "tv", "geo": "geo_000", "start": a, "end": b, "incremental_kpi": 5e4, "se": 1e4},
             {"channel": "search", "start": c, "end": d, "incremental_kpi": 2e5, "se": 5e4}]
    config = _with_roas(panel, adstock, experiments=tests)
    data, scaling, design = _prepared(config, panel)
    with build_model(config, design) as model:
        assert "experiment_obs" in {rv.name for rv in model.observed_RVs}
        names = [rv.name for rv in model.free_RVs] + [media.COEF, INCREMENTAL_VAR]
        prior = pm.sample_prior_predictive(300, random_seed=2, var_names=names)["prior"].to_dataset()
    np.testing.assert_allclose(incremental_draws(config, data, scaling, prior), _flat(prior[INCREMENTAL_VAR]),
                               rtol=1e-9)


# ---- bad input names the file, row, geo and fix -------------------------------------------------------


def test_a_geo_in_a_national_config_is_an_error(panel):
    national = {**panel.config, "data": {k: v for k, v in panel.config["data"].items() if k != "geo"}}
    start, end = _dates(panel, 10, 12)
    test = {"channel": "tv", "geo": "geo_000", "start": start, "end": end, "incremental_kpi": 1e4, "se": 1e3}
    with pytest.raises(ConfigError, match=r"experiments\[0\]: names geo 'geo_000', but this is a national model "
                                          r"\(data.geo is not set\)"):
        Config.from_dict({**national, "experiments": [test]})


def test_an_unknown_geo_names_the_file_row_and_geo(panel, tmp_path, capsys):
    start, end = _dates(panel, 10, 12)
    (tmp_path / "lifts.csv").write_text(f"channel,geo,start,end,incremental_kpi,se\n"
                                        f"tv,geo_000,{start},{end},10000,1000\n"
                                        f"tv,narnia,{start},{end},10000,1000\n")
    panel.data.to_csv(tmp_path / "data.csv", index=False)
    raw = {**panel.config, "data": {**panel.config["data"], "path": "data.csv"}, "experiments": "lifts.csv"}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    assert main(["validate", str(tmp_path / "config.yaml")]) == 2
    message = capsys.readouterr().err
    assert "lifts.csv: row 3 (tv narnia" in message and "geo 'narnia' is not in the data" in message
    assert "geo_000, geo_001, geo_002" in message and "fix the geo name" in message


def test_a_geo_tests_spend_is_that_geos(panel):
    start, end = _dates(panel, 10, 13)
    dates = pd.to_datetime(panel.data["date"])
    in_test = panel.data[(dates >= start) & (dates <= end)]
    geo_spend = float(in_test.loc[in_test["geo"] == "geo_001", "tv_spend"].sum())
    national_spend = float(in_test["tv_spend"].sum())
    test = {"channel": "tv", "geo": "geo_001", "start": start, "end": end, "incremental_kpi": 1e4, "se": 1e3}
    load_geo(_config(panel, experiments=[{**test, "spend": geo_spend * 1.05}]), panel.data)  # within 10%
    with pytest.raises(ConfigError, match=r"differs from tv's spend in geo geo_001 over .*check the geo"):
        load_geo(_config(panel, experiments=[{**test, "spend": national_spend}]), panel.data)
    national = {k: v for k, v in test.items() if k != "geo"}
    load_geo(_config(panel, experiments=[{**national, "spend": national_spend}]), panel.data)  # all geos together
    with pytest.raises(ConfigError, match=r"in all geos together .*name the geo it ran in"):
        load_geo(_config(panel, experiments=[{**national, "spend": geo_spend}]), panel.data)


def test_overlapping_tests_in_different_geos_are_fine_in_one_geo_not(panel):
    start, end = _dates(panel, 10, 13)
    later = _dates(panel, 12, 15)
    test = {"channel": "tv", "geo": "geo_000", "start": start, "end": end, "incremental_kpi": 1e4, "se": 1e3}
    config = _config(panel, experiments=[test, {**test, "geo": "geo_001"}])  # simultaneous geo tests
    assert [e.label for e in config.experiments] == [f"tv geo_000 {start}..{end}", f"tv geo_001 {start}..{end}"]
    for clash in ({**test, "start": later[0], "end": later[1]},  # same geo
                  {k: v for k, v in test.items() if k != "geo"}):  # a national test covers geo_000 too
        with pytest.raises(ConfigError, match=r"experiments\[1\]: overlaps tv geo_000"):
            _config(panel, experiments=[test, clash])
    assert Config.from_dict(yaml.safe_load(config.to_yaml())).experiments == config.experiments  # geo round-trips


# ---- prior-check of a panel ------------------------------------------------------------------------------


def test_prior_check_cli_shows_national_roas_implied_by_the_priors(panel, tmp_path, capsys):
    start, end = _dates(panel, 10, 13)
    channels = {k: dict(v) for k, v in panel.config["channels"].items()}
    channels["tv"]["roas_prior"] = {"median": 2.0, "p90": 5.0}
    panel.data.to_csv(tmp_path / "data.csv", index=False)
    raw = {**panel.config, "channels": channels, "data": {**panel.config["data"], "path": "data.csv"},
           "experiments": [{"channel": "tv", "geo": "geo_002", "start": start, "end": end, "incremental_kpi": 5e4,
                            "se": 1e4}]}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    out = tmp_path / "pc"
    assert main(["prior-check", str(tmp_path / "config.yaml"), "--out", str(out), "--draws", "3000"]) == 0
    printed = capsys.readouterr().out
    assert "national roas_prior LogNormal" in printed and "sums over 3 geos" in printed
    table = pd.read_csv(out / "prior_check.csv").set_index("channel")
    assert list(table.index) == [*panel.config["channels"], "all media"]
    assert table.loc["tv", "roas_median"] == pytest.approx(2.0, rel=0.06)  # the national ROAS is the prior's
    assert table.loc["tv", "spend"] == pytest.approx(panel.data["tv_spend"].sum())
    by_geo = pd.read_csv(out / "prior_check_by_geo.csv")
    assert len(by_geo) == 9 and set(by_geo["geo"]) == {"geo_000", "geo_001", "geo_002"}
    kpi = pd.read_csv(out / "prior_check_kpi.csv")
    np.testing.assert_allclose(kpi["actual"], panel.data.groupby("date")["revenue"].sum().to_numpy())
    (experiment,) = pd.read_csv(out / "prior_check_experiments.csv").itertuples()
    assert experiment.experiment == f"tv geo_002 {start}..{end}" and experiment.prior_lo < experiment.prior_hi
