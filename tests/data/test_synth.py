"""Synthetic data: determinism, truth identities, noise and media share, files written."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import yaml

from mmm.data.synth import ChannelTruth, SynthSpec, generate, write
from mmm.data.synth_truth import adstock_weights, carryover, true_figures


@pytest.fixture(scope="module")
def default():
    return generate(SynthSpec())


def _independent_media(data, truth, name):
    """Media contribution over data + tail via np.convolve (not the module's loops), KPI units."""
    ch = truth["params_natural"]["channels"][name]
    u = data[ch["spend_column"]].to_numpy(float) / truth["scaling"]["spend"][name]
    w = adstock_weights(ch["adstock"], ch["adstock_params"], ch["max_lag"])
    a = np.convolve(u, w)  # length T + L - 1: exactly the data plus the carry-over tail
    p = ch["saturation_params"]
    if ch["saturation"] == "hill":
        sat = a ** p["slope"] / (a ** p["slope"] + p["half_saturation"] ** p["slope"])
    else:
        sat = np.tanh(p["lam"] * a / 2)
    return ch["coef"] * sat, u, a


def test_same_seed_same_bytes_different_seed_differs(tmp_path):
    first, second = generate(SynthSpec(seed=3)), generate(SynthSpec(seed=3))
    pa, pb = write(first, tmp_path / "a"), write(second, tmp_path / "b")
    for key in ("data", "config", "truth"):
        assert pa[key].read_bytes() == pb[key].read_bytes()
    assert first.truth == second.truth
    # truth.json's spec regenerates the same dataset
    again = generate(SynthSpec(**json.loads(pa["truth"].read_text())["spec"]))
    assert again.truth == first.truth and again.data.equals(first.data)
    other = generate(SynthSpec(seed=4))
    assert not other.data.equals(first.data)
    assert other.truth["figures"] != first.truth["figures"]


@pytest.mark.parametrize("moving", [False, True], ids=["fixed-baseline", "moving-baseline"])
def test_mu_is_rebuilt_from_the_model_unit_params(default, moving):
    """The stored params (model units) and scalings regenerate the stored expected KPI."""
    result = generate(SynthSpec(baseline_drift=0.08, common_shocks=0.02)) if moving else default
    data, truth = result.data, result.truth
    assert ("baseline_movement" in truth["params"]) is moving
    p, scaling = truth["params"], truth["scaling"]
    dates = pd.to_datetime(data["date"])
    years = (dates - pd.Timestamp(scaling["time_origin"])).dt.days.to_numpy() / 365.25
    days = (dates - pd.Timestamp("1970-01-01")).dt.days.to_numpy()
    mu = p["intercept"] + p["trend"] * years
    for term, coef in p["fourier"].items():
        kind, j = term.split("_")
        mu = mu + coef * getattr(np, kind)(2 * np.pi * int(j) * days / 365.25)
    for control, coef in p["control_coef"].items():
        raw = data[control].to_numpy(float)
        assert scaling["control_center"][control] == pytest.approx(raw.mean())
        assert scaling["control_scale"][control] == pytest.approx(raw.std())
        mu = mu + coef * (raw - raw.mean()) / raw.std()
    for name, ch in p["channels"].items():
        assert scaling["spend"][name] == pytest.approx(data[ch["spend_column"]].mean())
        media, _, _ = _independent_media(data, truth, name)
        assert ch["coef"] == pytest.approx(truth["params_natural"]["channels"][name]["coef"] / scaling["kpi"])
        mu = mu + media[: len(data)] / scaling["kpi"]
    mu = mu + np.asarray(p.get("baseline_movement", 0.0))
    np.testing.assert_allclose(mu * scaling["kpi"], truth["mu"], rtol=1e-10)
    assert scaling["kpi"] == pytest.approx(data["revenue"].mean())


def test_full_window_figures_match_an_independent_computation(default):
    data, truth = default.data, default.truth
    for name, fig in truth["figures"].items():
        media, u, a = _independent_media(data, truth, name)
        # zero spend everywhere gives zero media, so the increment is the whole contribution (data + tail)
        assert fig["incremental_kpi"] == pytest.approx(media.sum(), rel=1e-9)
        assert a.sum() == pytest.approx(u.sum(), rel=1e-12)  # adstock keeps the mass once the tail is in
        assert fig["roas"] * fig["spend"] == pytest.approx(fig["incremental_kpi"], rel=1e-12)
        assert fig["profit_roi"] == pytest.approx(fig["roas"] * 0.6 - 1)
        assert fig["roas_immediate"] + fig["roas_lasting"] == pytest.approx(fig["roas"])
        assert 0 < fig["immediate_share"] <= 1
        assert 0 <= fig["payback_50"] <= fig["payback_90"] < 8
        w = adstock_weights(truth["params"]["channels"][name]["adstock"],
                             truth["params"]["channels"][name]["adstock_params"], 8)
        immediate = media * np.divide(w[0] * np.pad(u, (0, 7)), a, out=np.zeros_like(a), where=a > 0)
        assert fig["immediate_share"] == pytest.approx(immediate.sum() / media.sum(), rel=1e-9)


def test_module_loop_adstock_preserves_mass_with_tail():
    u = np.array([0.0, 3.0, 1.0, 0.0, 2.5, 0.0])
    for kind, params in [("geometric", {"alpha": 0.6}), ("delayed", {"alpha": 0.5, "theta": 2.0}),
                         ("weibull", {"shape": 1.5, "scale": 2.0})]:
        w = adstock_weights(kind, params, 5)
        assert w.sum() == pytest.approx(1.0)
        a = carryover(u, w, len(u) + 4)
        assert a.sum() == pytest.approx(u.sum())
        np.testing.assert_allclose(a, np.convolve(u, w))


def test_default_data_looks_like_real_data(default):
    truth = default.truth
    residual = default.data["revenue"].to_numpy() - np.array(truth["mu"])
    assert residual.std() == pytest.approx(truth["params_natural"]["sigma"], rel=0.2)
    assert truth["params_natural"]["sigma"] == pytest.approx(0.06 * np.mean(truth["mu"]))
    assert 0.15 <= truth["media_share"] <= 0.35
    roas = [f["roas"] for f in truth["figures"].values()]
    assert min(roas) <= 1.0 and max(roas) >= 3.0
    profit = [f["profit_roi"] for f in truth["figures"].values()]
    assert min(profit) < 0 < max(profit)
    assert list(truth["figures"]) == ["tv", "search", "social", "display"]
    assert (default.data[["tv_spend", "search_spend", "social_spend", "display_spend"]] >= 0).all().all()


def test_geometric_alpha_zero_is_all_immediate():
    spec = SynthSpec(channels=[
        ChannelTruth("now", adstock_params={"alpha": 0.0}, target_roas=2.0),
        ChannelTruth("later", pattern="flighted", adstock_params={"alpha": 0.8}, target_roas=1.0),
    ])
    figures = generate(spec).truth["figures"]
    assert figures["now"]["immediate_share"] == pytest.approx(1.0)
    assert figures["now"]["payback_50"] == figures["now"]["payback_90"] == 0
    assert figures["later"]["immediate_share"] < 0.5
    assert figures["now"]["roas"] == pytest.approx(2.0)


def test_mroas_below_roas_for_concave_saturation(default):
    for name, ch in default.truth["params"]["channels"].items():
        if ch["saturation"] == "logistic" or ch["saturation_params"]["slope"] <= 1:
            fig = default.truth["figures"][name]
            assert 0 < fig["mroas"] < fig["roas"]


def test_sub_window_figures(default):
    data, truth = default.data, default.truth
    sub = true_figures(data, truth, window=(52, 104))
    by_date = true_figures(data, truth, window=(data["date"].iloc[52], data["date"].iloc[103]))
    assert sub == by_date
    for name, fig in sub.items():
        full = truth["figures"][name]
        assert fig["spend"] == pytest.approx(data[truth["params"]["channels"][name]["spend_column"]][52:104].sum())
        assert fig["incremental_kpi"] != pytest.approx(full["incremental_kpi"])
        assert fig["roas"] * fig["spend"] == pytest.approx(fig["incremental_kpi"], rel=1e-12)
        assert fig["profit_roi"] == pytest.approx(fig["roas"] * 0.6 - 1)
    margin = true_figures(data, truth, window=(52, 104), gross_margin=0.5, value_per_kpi=2.0)
    assert margin["tv"]["roas"] == pytest.approx(2 * sub["tv"]["roas"])
    assert margin["tv"]["profit_roi"] == pytest.approx(2 * sub["tv"]["roas"] * 0.5 - 1)


@pytest.mark.parametrize("spec", [
    SynthSpec(adstock="delayed", saturation="logistic", n_channels=6, likelihood="student_t"),
    SynthSpec(adstock="weibull", freq="D", n_periods=400, n_channels=2, seasonality_order=0, controls=False),
])
def test_other_transforms_and_options(spec):
    result = generate(spec)
    truth = result.truth
    assert len(truth["figures"]) == spec.n_channels
    for name, fig in truth["figures"].items():
        media, _, _ = _independent_media(result.data, truth, name)
        assert fig["incremental_kpi"] == pytest.approx(media.sum(), rel=1e-9)
    if spec.freq == "D":
        assert (pd.to_datetime(result.data["date"]).diff().dropna() == pd.Timedelta(days=1)).all()
        # no yearly season; the model's day-of-week terms are in the truth, at zero (the generator has none)
        assert result.config["controls"] == [] and set(truth["params"]["fourier"].values()) == {0.0}
        assert sorted(truth["params"]["fourier"]) == sorted(f"week_{k}_{j}" for j in (1, 2, 3) for k in ("sin", "cos"))
    else:
        assert truth["params"]["nu"] == 5.0


def test_bad_spec_is_refused_with_a_clear_message():
    with pytest.raises(ValueError, match="adstock must be one of"):
        generate(SynthSpec(adstock="exponential"))
    with pytest.raises(ValueError, match="exactly one of coef, target_roas"):
        generate(SynthSpec(channels=[ChannelTruth("tv")]))


def test_write_files_and_refuse_overwrite(tmp_path, default):
    paths = write(default, tmp_path / "synth")
    assert sorted(p.name for p in paths.values()) == ["config.yaml", "data.csv", "truth.json"]
    assert sorted(p.name for p in (tmp_path / "synth").iterdir()) == ["config.yaml", "data.csv", "truth.json"]
    with pytest.raises(FileExistsError, match="force"):
        write(default, tmp_path / "synth")
    write(default, tmp_path / "synth", force=True)

    config = yaml.safe_load(paths["config"].read_text())
    data = pd.read_csv(tmp_path / "synth" / config["data"]["path"])
    columns = [config["data"]["date"], config["data"]["kpi"], *config["controls"]]
    columns += [ch["spend"] for ch in config["channels"].values()]
    assert set(columns) <= set(data.columns)
    assert config["finance"]["gross_margin"] == 0.6 and config["fit"]["seed"] == 0
    assert list(config["channels"]) == ["tv", "search", "social", "display"]
    pd.testing.assert_frame_equal(data.drop(columns="date"), default.data.drop(columns="date"),
                                  check_exact=True)

    truth = json.loads(paths["truth"].read_text())
    assert truth == default.truth
    # truth.json alone (with data.csv) reproduces the figures
    assert true_figures(data, truth) == default.truth["figures"]


def test_one_generator_national_is_one_geo_and_a_panel_sums_its_geos(tmp_path):
    """``n_geos=1`` is national data (no geo column, today's bytes); more geos is a panel whose national
    truth sums each geo's spend and incremental KPI, and whose truth.json spec regenerates it."""
    national = generate(SynthSpec(seed=5, n_periods=40, n_channels=2))
    assert "geo" not in national.data and "geo" not in national.config["data"]
    assert national.truth["spec"]["n_geos"] == 1 and "geos" not in national.truth
    panel = generate(SynthSpec(seed=5, n_periods=40, n_channels=2, n_geos=3))
    assert panel.config["data"]["geo"] == "geo" and list(panel.data.columns[:2]) == ["geo", "date"]
    assert panel.data.groupby("geo").size().to_dict() == {f"geo_{g:03d}": 40 for g in range(3)}
    assert set(panel.truth["geos"]) == {"geo_000", "geo_001", "geo_002"}
    for name in ("tv", "search"):
        geos = [t["figures"][name] for t in panel.truth["geos"].values()]
        spend = sum(f["spend"] for f in geos)
        inc = sum(f["incremental_kpi"] for f in geos)
        assert panel.truth["figures"][name]["spend"] == pytest.approx(spend)
        assert panel.truth["figures"][name]["roas"] == pytest.approx(inc / spend)
        # the geo's truth is its own: its spend column sums to its stated spend
        one = panel.data[panel.data["geo"] == "geo_001"]
        assert one[f"{name}_spend"].sum() == pytest.approx(panel.truth["geos"]["geo_001"]["figures"][name]["spend"])
    # geos differ in size and in true ROAS around the channel's
    roas = [t["figures"]["tv"]["roas"] for t in panel.truth["geos"].values()]
    assert len({round(r, 6) for r in roas}) == 3
    paths = write(panel, tmp_path / "panel")
    again = generate(SynthSpec(**json.loads(paths["truth"].read_text())["spec"]))
    assert again.data.equals(panel.data)
    tight = generate(SynthSpec(seed=5, n_periods=40, n_channels=2, n_geos=3, geo_roas_spread=0.0))
    tv = [t["figures"]["tv"]["roas"] for t in tight.truth["geos"].values()]
    assert max(tv) - min(tv) < 0.05 * np.mean(tv)  # no ROAS spread: each geo near the channel's ROAS


@pytest.mark.parametrize(("change", "message"), [
    ({"n_geos": 0}, "n_geos must be a whole number >= 1"),
    ({"n_geos": 2, "geo_mix_spread": -0.1}, "must be >= 0"),
    ({"n_geos": 2, "channels": [ChannelTruth("tv", coef=0.2)]}, "give target_roas, not coef"),
])
def test_bad_panel_spec_is_refused(change, message):
    with pytest.raises(ValueError, match=message):
        generate(SynthSpec(n_periods=20, **change))


def test_a_moving_baseline_is_shared_by_every_geo_and_leaves_the_media_truth_alone():
    """The movement is an AR(1) plus shocks (not the model's GP), the same weeks in every geo (scaled by the
    geo's size); it changes the KPI, not the true ROAS, and it can be told apart from noise."""
    spec = SynthSpec(seed=4, n_periods=104, n_channels=2, controls=False, n_geos=3)
    still, moving = generate(spec), generate(replace(spec, baseline_drift=0.1, common_shocks=0.03))
    paths = [np.asarray(t["params"]["baseline_movement"]) * t["scaling"]["kpi"] / t["size"]
             for t in moving.truth["geos"].values()]
    for path in paths[1:]:  # kpi_scale units per geo size: one path
        np.testing.assert_allclose(path, paths[0], rtol=1e-9)
    assert 0.05 < np.std(paths[0]) / 1e6 < 0.2  # kpi_scale 1e6: sd about drift and shocks combined
    lag1 = np.corrcoef(paths[0][1:], paths[0][:-1])[0, 1]
    assert lag1 > 0.7  # persistent, not white noise
    for name in ("tv", "search"):
        assert moving.truth["figures"][name]["roas"] == pytest.approx(still.truth["figures"][name]["roas"])
    assert not moving.data["revenue"].equals(still.data["revenue"])
    assert moving.data.drop(columns="revenue").equals(still.data.drop(columns="revenue"))
