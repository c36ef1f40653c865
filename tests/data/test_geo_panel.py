"""Geo panels: validation (gaps, duplicates, zero-spend pairs, population), scaling and the model's shape."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mmm.spec.config import Config, ConfigError
from mmm.data.load import DataError
from mmm.spec.roles import ChannelColumns, DataRoles
from mmm.data.panel import load_panel
from mmm.data.panel_design import PanelScaling
from mmm.data.panel_design import build_panel_design
from mmm.model.build import build_model
from mmm.data.synth import SynthSpec, generate

MERIDIAN_GEO = Path(__file__).resolve().parents[1] / "datasets" / "meridian_geo_media.csv"  # origin: tests/datasets/README.md
ROLES = DataRoles("date", "revenue", {"tv": ChannelColumns("tv_spend"),
                                      "search": ChannelColumns("search_spend", "search_clicks")}, ("price",), geo="region")


def panel_frame(n: int = 60, geos=("north", "south", "west")) -> pd.DataFrame:
    parts = []
    for i, name in enumerate(geos):
        rng = np.random.default_rng(i)
        parts.append(pd.DataFrame({
            "region": name, "date": pd.date_range("2021-01-04", periods=n, freq="W-MON").strftime("%Y-%m-%d"),
            "revenue": rng.uniform(800, 1200, n) * (i + 1), "tv_spend": rng.uniform(0, 100, n),
            "search_spend": rng.uniform(10, 50, n), "search_clicks": rng.uniform(100, 500, n),
            "price": rng.normal(10, 1, n), "pop": 1000.0 * (i + 1)}))
    return pd.concat(parts, ignore_index=True)


def panel_error(frame, roles=ROLES, **kwargs) -> str:
    with pytest.raises(DataError) as caught:
        load_panel(frame, roles, **kwargs)
    return str(caught.value)


def test_panel_keeps_the_geo_axis_in_first_appearance_order():
    frame = panel_frame().sample(frac=1.0, random_state=0)  # shuffled rows
    panel = load_panel(frame, ROLES, population="pop")
    assert panel.geos == sorted(panel.geos, key=list(dict.fromkeys(frame["region"])).index)
    assert panel.spend.shape == (3, 60, 2) and panel.kpi.shape == (3, 60) and panel.controls.shape == (3, 60, 1)
    g = panel.geos.index("south")
    south = panel_frame().query("region == 'south'")
    np.testing.assert_allclose(panel.kpi[g], south["revenue"])
    np.testing.assert_allclose(panel.spend[g, :, 1], south["search_spend"])
    np.testing.assert_allclose(panel.population, [{"north": 1000, "south": 2000, "west": 3000}[x] for x in panel.geos])
    national = panel.national()
    np.testing.assert_allclose(national.kpi, panel_frame().groupby("date")["revenue"].sum())
    assert panel.zero_spend == () and panel.notes == ()
    np.testing.assert_allclose(panel.exposure["search"][g], south["search_clicks"])
    back = panel.to_frame("date", "region", "revenue", {"tv": "tv_spend", "search": "search_spend"}, "pop",
                          {"search": "search_clicks"})
    again = load_panel(back, ROLES, population="pop")  # what a run folder stores loads back the same
    np.testing.assert_allclose(again.spend, panel.spend)
    np.testing.assert_allclose(again.exposure["search"], panel.exposure["search"])


def test_gaps_are_listed_per_geo():
    frame = panel_frame().drop(index=[62, 63, 125]).reset_index(drop=True)
    message = panel_error(frame)
    assert "2 of 3 geos lack some" in message and "'south' lacks 2021-01-18, 2021-01-25" in message
    assert "'west' lacks" in message and "Add the missing rows" in message


def test_duplicate_geo_date_rows_are_an_error():
    frame = panel_frame()
    frame = pd.concat([frame, frame.iloc[[61]]], ignore_index=True)
    assert "repeat a (geo, date) pair: (south, 2021-01-11)" in panel_error(frame)


def test_geos_with_no_spend_on_a_channel_are_reported():
    frame = panel_frame()
    frame.loc[frame["region"] == "west", "tv_spend"] = 0.0
    panel = load_panel(frame, ROLES)
    assert panel.zero_spend == (("west", "tv"),)
    assert "west/tv" in panel.notes[0] and "not identified" in panel.notes[0]
    scaling = PanelScaling.compute(panel)
    assert scaling.spend[panel.geos.index("west"), 0] == 1.0  # its scaled spend stays 0, never 0/0


def test_a_channel_with_no_spend_in_any_geo_is_an_error():
    frame = panel_frame()
    frame["tv_spend"] = 0.0
    assert "tv" in panel_error(frame)


@pytest.mark.parametrize(("change", "expected"), [
    (lambda f: f.drop(columns="pop"), "population column 'pop' (data.population) is not in the data"),
    (lambda f: f.assign(pop=np.where(f["region"] == "south", -1.0, f["pop"])), "positive number on every row"),
    (lambda f: f.assign(pop=f["pop"] + np.arange(len(f))), "changes over time in geo(s) north, south, west"),
])
def test_population_problems(change, expected):
    assert expected in panel_error(change(panel_frame()), population="pop")


def test_a_geo_with_a_constant_kpi_is_an_error():
    frame = panel_frame()
    frame.loc[frame["region"] == "north", "revenue"] = 5.0
    assert "constant in geo(s) north" in panel_error(frame)


def test_value_problems_name_the_geo():
    frame = panel_frame()
    frame.loc[65, "tv_spend"] = np.nan
    assert "missing on 1 date(s): 2021-02-08 (geo south)" in panel_error(frame)


def test_per_capita_scaling_uses_population():
    panel = load_panel(panel_frame(), ROLES, population="pop")
    scaling = PanelScaling.compute(panel)
    per_capita = (panel.kpi / panel.population[:, None]).mean()
    np.testing.assert_allclose(scaling.kpi, panel.population * per_capita)
    assert scaling.per_capita and PanelScaling.from_dict(scaling.to_dict()).to_dict() == scaling.to_dict()


def test_meridian_geo_panel_loads_with_population():
    roles = DataRoles("time", "conversions", {f"ch{i}": ChannelColumns(f"Channel{i}_spend") for i in range(4)},
                      controls=("sentiment_score_control",), geo="geo")
    panel = load_panel(MERIDIAN_GEO, roles, population="population")
    raw = pd.read_csv(MERIDIAN_GEO)
    assert panel.n_geos == 20 and panel.n_periods == 156 and panel.population.shape == (20,)
    np.testing.assert_allclose(panel.kpi.sum(), raw["conversions"].sum())


def test_config_geo_options_are_checked():
    base = {"data": {"path": "x.csv", "date": "date", "kpi": "revenue", "geo": "region", "population": "pop"},
            "channels": {"tv": "tv_spend"}}
    config = Config.from_dict({**base, "model": {"geo": {"adstock": "geo"}}})
    assert config.data.population == "pop" and config.model.geo_adstock == "geo"
    assert config.to_dict()["data"]["population"] == "pop"
    with pytest.raises(ConfigError, match="model.geo.adstock must be one of shared, geo"):
        Config.from_dict({**base, "model": {"geo": {"adstock": "each"}}})
    with pytest.raises(ConfigError, match="fit.thin must be a whole number"):
        Config.from_dict({**base, "fit": {"thin": 0}})
    with pytest.raises(ConfigError, match="fit.posterior_dtype must be one of float64, float32"):
        Config.from_dict({**base, "fit": {"posterior_dtype": "float16"}})


@pytest.mark.parametrize("adstock", ["shared", "geo"])
def test_geo_model_layout(adstock):
    result = generate(SynthSpec(n_periods=60, n_channels=2, controls=False, seed=3, n_geos=4))
    config = Config.from_dict({**result.config, "model": {**result.config["model"], "geo": {"adstock": adstock}}})
    panel = load_panel(result.data, config.roles())
    model = build_model(config, build_panel_design(panel, PanelScaling.compute(panel), 2))
    dims = model.named_vars_to_dims
    assert dims["channel_coef_geo_z"] == ("geo", "channel") and dims["sigma"] == ("geo",)
    assert dims["geometric_alpha"] == (("geo", "channel") if adstock == "geo" else ("channel",))
    assert dims["logistic_lam"] == ("channel",)  # saturation is always pooled
    assert np.isfinite(model.compile_logp()(model.initial_point()))


def test_national_data_is_the_model_of_one_geo():
    """A file without a geo column is a panel of one geo: the same arrays, model and density as the same
    rows with a one-value geo column, and nothing to pool (no geo spreads or offsets)."""
    from mmm.analysis.pipeline import load

    result = generate(SynthSpec(n_periods=60, n_channels=2, controls=False, seed=3))  # national: no geo column
    assert "geo" not in result.data and "geo" not in result.config["data"]
    national_config = Config.from_dict(result.config)
    geo_config = Config.from_dict({**result.config, "data": {**result.config["data"], "geo": "geo"}})
    panel = load(geo_config, result.data.assign(geo="geo_000"))
    national = load(national_config, result.data)
    assert national.geos == ["national"] and national.is_national and not panel.is_national
    np.testing.assert_array_equal(national.kpi, panel.kpi)
    np.testing.assert_array_equal(national.spend, panel.spend)
    models = [build_model(c, build_panel_design(d, PanelScaling.compute(d), 2))
              for c, d in ((geo_config, panel), (national_config, national))]
    names = [sorted(rv.name for rv in m.free_RVs) for m in models]
    assert names[0] == names[1]
    assert not [n for n in names[0] if "_geo_" in n or n.startswith("season_amp")]  # nothing pooled
    point = models[0].initial_point()
    assert point["sigma_log__"].shape == (1,)
    np.testing.assert_allclose(models[1].compile_logp()(point), models[0].compile_logp()(point), rtol=1e-12)


@pytest.mark.parametrize(("adstock", "n_geos"), [("shared", 4), ("geo", 4), ("shared", 1)])
def test_sampling_the_level_keeps_the_posterior_exactly(adstock, n_geos):
    """The fit samples each geo's level (intercept + mean media over the fitted periods): at any point its
    log density equals the plain model's at the intercept the level implies (unit Jacobian, same priors)."""
    from test_fit import assert_level_form_keeps_the_density  # tests/ is on sys.path under pytest

    result = generate(SynthSpec(n_periods=60, n_channels=2, controls=False, seed=3, n_geos=n_geos))
    config = Config.from_dict({**result.config, "model": {**result.config["model"], "geo": {"adstock": adstock}}})
    panel = load_panel(result.data, config.roles())
    design = build_panel_design(panel, PanelScaling.compute(panel), 2)
    assert_level_form_keeps_the_density(build_model(config, design, n_train=50),
                                        build_model(config, design, n_train=50, centered_baseline=True))


def test_nutpie_draws_report_the_intercept_not_the_level():
    """The compiled sampler's draws carry the Deterministic intercept in the sampled level's place."""
    from mmm.model.sample import compile_nutpie
    from mmm.model.build import LEVEL, SAMPLED_FORMS
    from test_fit import implied_intercept, nutpie_point

    result = generate(SynthSpec(n_periods=60, n_channels=2, controls=False, seed=3, n_geos=3))
    config = Config.from_dict(result.config)
    panel = load_panel(result.data, config.roles())
    model = build_model(config, build_panel_design(panel, PanelScaling.compute(panel), 2), centered_baseline=True)
    compiled = compile_nutpie(model, SAMPLED_FORMS)
    x = np.random.default_rng(1).normal(0.0, 0.2, compiled.n_dim)
    expanded = compiled.expand(x)
    assert LEVEL not in expanded and expanded["intercept"].shape == (3,)
    frozen, point = nutpie_point(model, x)
    np.testing.assert_allclose(expanded["intercept"], implied_intercept(frozen)(point), rtol=1e-12)
    assert not np.allclose(expanded["intercept"], point[LEVEL])


def test_shared_adstock_matmul_equals_the_media_definition():
    """The geo model's BLAS adstock gives mmm.model.media's numbers (mixed adstock and saturation kinds)."""
    import pytensor.tensor as pt

    from mmm.model import media
    from mmm.spec.sections import ChannelSpec
    from mmm.model.build import channel_major_lags, shared_adstock_contributions
    from mmm.model.transforms import lag_stack

    channels = (ChannelSpec("tv", "tv", adstock="geometric", saturation="hill", max_lag=6),
                ChannelSpec("radio", "radio", adstock="delayed", saturation="logistic", max_lag=4),
                ChannelSpec("search", "search", adstock="geometric", saturation="logistic", max_lag=3))
    rng = np.random.default_rng(1)
    spend = rng.gamma(2.0, 0.5, size=(4, 30, 3))
    params = {"geometric_alpha": np.array([0.6, 0.3]), "delayed_alpha": np.array([0.5]),
              "delayed_theta": np.array([1.0]), "hill_half_saturation": np.array([1.2]), "hill_slope": np.array([1.5]),
              "logistic_lam": np.array([0.8, 2.0]), media.COEF: rng.uniform(0.1, 0.5, size=(4, 3))}
    expected = media.contributions(lag_stack(spend, 6), channels, params, lagged=True)
    tensors = {k: pt.as_tensor_variable(v) for k, v in params.items()}
    got = shared_adstock_contributions(pt.as_tensor_variable(channel_major_lags(spend, 6)), channels, tensors, 4, 30)
    np.testing.assert_allclose(got.eval().transpose(1, 2, 0), expected, rtol=1e-12, atol=1e-14)


def random_posterior(geos: int, channels: list[str], per_geo_adstock: bool, draws: int = 20) -> "xr.Dataset":
    """Plausible parameter draws in the geo model's layout (no fit needed)."""
    import xarray as xr

    rng = np.random.default_rng(0)
    k = len(channels)
    shape = (1, draws)
    alpha_dims = ("chain", "draw", "geo", "channel") if per_geo_adstock else ("chain", "draw", "channel")
    alpha_shape = (*shape, geos, k) if per_geo_adstock else (*shape, k)
    variables = {
        "intercept": (("chain", "draw", "geo"), rng.normal(0.7, 0.05, (*shape, geos))),
        "trend": (("chain", "draw"), rng.normal(0, 0.02, shape)),
        "trend_geo_sd": (("chain", "draw"), rng.uniform(0.01, 0.05, shape)),
        "trend_geo_z": (("chain", "draw", "geo"), rng.normal(size=(*shape, geos))),
        "season": (("chain", "draw", "fourier"), rng.normal(0, 0.05, (*shape, 4))),
        "season_amp_sd": (("chain", "draw"), rng.uniform(0.05, 0.2, shape)),
        "season_amp_z": (("chain", "draw", "geo"), rng.normal(size=(*shape, geos))),
        "channel_coef": (("chain", "draw", "channel"), rng.uniform(0.05, 0.2, (*shape, k))),
        "channel_coef_geo_sd": (("chain", "draw", "channel"), rng.uniform(0.1, 0.3, (*shape, k))),
        "channel_coef_geo_z": (("chain", "draw", "geo", "channel"), rng.normal(size=(*shape, geos, k))),
        "geometric_alpha": (alpha_dims, rng.uniform(0.2, 0.7, alpha_shape)),
        "logistic_lam": (("chain", "draw", "channel"), rng.uniform(0.5, 2.0, (*shape, k))),
        "sigma": (("chain", "draw", "geo"), rng.uniform(0.03, 0.08, (*shape, geos))),
    }
    if geos == 1:  # nothing to pool: one intercept, no geo spreads or offsets (the model's one-geo layout)
        variables["intercept"] = (("chain", "draw"), variables["intercept"][1][..., 0])
        for name in ("trend_geo_sd", "trend_geo_z", "season_amp_sd", "season_amp_z", "channel_coef_geo_sd",
                     "channel_coef_geo_z"):
            del variables[name]
    coords = {"chain": [0], "draw": np.arange(draws), "geo": [f"geo_{g:03d}" for g in range(geos)],
              "channel": channels, "fourier": ["sin_1", "cos_1", "sin_2", "cos_2"]}
    return xr.Dataset(variables, coords=coords)


@pytest.mark.parametrize(("adstock", "n_geos"), [("shared", 3), ("geo", 3), ("shared", 1)])
def test_effects_from_parameter_draws_sum_over_geos(adstock, n_geos):
    """Per-geo figures from parameter draws (no fit): national totals are the per-draw sums over geos
    (with one geo, the national figures are that geo's)."""
    from mmm.analysis.geo_effects import compute_geo_effects

    result = generate(SynthSpec(n_periods=60, n_channels=2, controls=False, seed=3, n_geos=n_geos))
    config = Config.from_dict({**result.config, "model": {**result.config["model"], "geo": {"adstock": adstock}}})
    panel = load_panel(result.data, config.roles())
    scaling = PanelScaling.compute(panel)
    posterior = random_posterior(n_geos, config.channel_names, per_geo_adstock=adstock == "geo")
    effects = compute_geo_effects(posterior, config, panel, scaling)
    national = effects.national
    np.testing.assert_array_equal(national.incremental_kpi, effects.by_geo["incremental_kpi"].sum(axis=1))
    np.testing.assert_array_equal(national.incremental_value, effects.by_geo["incremental_value"].sum(axis=1))
    np.testing.assert_allclose(national.roas * national.spend, effects.by_geo["incremental_value"].sum(axis=1))
    np.testing.assert_allclose(national.actual, panel.kpi.sum(axis=0))
    assert national.roas.shape == (20, 2) and effects.by_geo["roas"].shape == (20, n_geos, 2)
    table = effects.roi_by_geo()
    assert len(table) == 2 * n_geos and table["roas_lo"].le(table["roas_hi"]).all()
    draws = effects.draws()  # the one labelled per-draw structure: draw x geo x channel
    assert dict(draws.sizes) == {"draw": 20, "geo": n_geos, "channel": 2}
    np.testing.assert_array_equal(draws["incremental_value"].sum("geo").values, national.incremental_value)
    np.testing.assert_allclose((draws["incremental_value"].sum("geo") / draws["spend"].sum("geo")).values,
                               national.roas, rtol=1e-12)  # national ROAS: a ratio of sums, not a mean of ratios
    last = panel.geos[-1]
    cell = table.set_index(["geo", "channel"]).loc[(last, config.channel_names[1])]
    assert cell["roas_median"] == pytest.approx(float(draws["roas"].sel(geo=last).isel(channel=1).median()))
    if n_geos == 1:  # one geo: its figures are the national ones, draw for draw
        np.testing.assert_array_equal(effects.by_geo["roas"][:, 0], national.roas)
    payback = national.payback_50
    assert ((payback >= 0) & (payback <= 7)).all()
    if adstock == "geo":  # geos carry over differently, so the national payback is a weighted mean, not an integer
        assert not np.allclose(payback, np.round(payback))
