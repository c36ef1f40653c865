"""Refresh and compare of geo runs without sampling: run folders made of prior draws of the geo model.

What is checked here is the plumbing around the fits: which geos a refresh accepts, what its
record lists, the update's model (only new periods observed, every parameter carried forward,
each geo's baseline kept when time is re-centred), and the per-geo comparison. The fits
themselves are in test_geo_quarterly.py (slow).
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pymc as pm
import pytest
import xarray as xr
from synthetic_runs import reseal

from mmm.cli.main import main
from mmm.report.comparison import write_comparison
from mmm.runs.compare import compare
from mmm.spec.config import Config, ConfigError
from mmm.data.load import DataError
from mmm.model.sample import FitResult, diagnose
from mmm.data.panel import load_panel
from mmm.data.panel_design import PanelScaling
from mmm.data.panel_design import build_panel_design
from mmm.analysis.geo_effects import compute_geo_effects
from mmm.model.build import build_model
from mmm.model.roas_prior import ROAS_VAR, coef_from_roas, resolve_media_scale
from mmm.api import FittedMMM, load
from mmm.api import refresh
from mmm.runs.refresh import _record, _time_moved, update_model_config
from mmm.runs.folder import load_run
from mmm.data.synth import SynthSpec, generate

N_OLD, N_ALL, N_GEOS = 52, 64, 4
PRIOR_SAMPLER = {"sampler": "prior draws (test)", "chains": 2, "draws": 30, "tune": 0, "seed": 0}


def prior_draws(config: Config, panel, scaling: PanelScaling, draws: int = 30, seed: int = 0) -> xr.Dataset:
    """Every free variable of the geo model drawn from its prior, shaped (chain=2, draw) like a posterior, and the
    coefficients of the ROAS-prior channels filled in as a fit stores them."""
    design = build_panel_design(panel, scaling, config.model.seasonality_order)
    config = resolve_media_scale(config, design)
    model = build_model(config, design)
    names = [rv.name for rv in model.free_RVs]
    values = pm.draw([model[n] for n in names], draws=2 * draws, random_seed=seed)
    out = {}
    for name, value in zip(names, values, strict=True):
        dims = model.named_vars_to_dims.get(name, ())
        out[name] = xr.DataArray(value.reshape(2, draws, *value.shape[1:]), dims=("chain", "draw", *dims),
                                 coords={d: list(model.coords[d]) for d in dims})
    return coef_from_roas(config, panel, scaling, xr.Dataset(out))


def prior_run(config: Config, frame: pd.DataFrame, folder, *, scaling: PanelScaling | None = None, seed: int = 0,
              manifest_extra: dict | None = None, parent: str | None = None):
    """A run folder (a panel's, or national data's: one geo) whose 'posterior' is prior draws: a real run
    folder, written without sampling."""
    panel = load(config, frame)
    scaling = scaling or PanelScaling.compute(panel)
    config = resolve_media_scale(config, build_panel_design(panel, scaling, config.design))  # as a fit does
    posterior = prior_draws(config, panel, scaling, seed=seed)
    idata = xr.DataTree.from_dict({"/posterior": posterior})
    result = FitResult(idata=idata, diagnostics=diagnose(idata, config.diagnostics),
                       sampler=PRIOR_SAMPLER, timings={})
    fitted = FittedMMM(config=config, data=panel, scaling=scaling, fit=result,
                       geo_effects=compute_geo_effects(posterior, config, panel, scaling))
    return fitted.save(folder, report=False, parent_run=parent, manifest_extra=manifest_extra)


@pytest.fixture(scope="module")
def panel_runs(tmp_path_factory):
    """A 3-geo parent run on N_OLD weeks, the 4-geo panel it came from, and its config."""
    root = tmp_path_factory.mktemp("geo-refresh")
    truth = generate(SynthSpec(n_periods=N_ALL, n_channels=2, controls=False, seed=21, n_geos=N_GEOS))
    dates = sorted(truth.data["date"].unique())
    data = truth.data.assign(date=pd.to_datetime(truth.data["date"]).dt.strftime("%Y-%m-%d"))
    three = data[data["geo"] != "geo_003"]
    old = three[pd.to_datetime(three["date"]) < dates[N_OLD]]
    old.to_csv(root / "old.csv", index=False)
    three.to_csv(root / "new.csv", index=False)
    config = Config.from_dict({**truth.config, "fit": {"draws": 30, "tune": 30, "chains": 2, "seed": 1}},
                              base_dir=root)
    parent = prior_run(config, old, root / "runs" / "g1")
    return {"root": root, "data": data, "three": three, "old": old, "config": config, "parent": parent}


@pytest.mark.parametrize("change, named", [
    ("added", ["geo_003 are not in run g1"]),
    ("removed", ["run g1's geo(s) geo_001 are missing"]),
    ("both", ["geo_003 are not in run g1", "geo(s) geo_001 are missing"]),
])
def test_a_panel_with_geos_added_or_removed_is_refused_naming_them(panel_runs, change, named, tmp_path):
    data = panel_runs["data"]
    keep = {"added": data["geo"] != "", "removed": ~data["geo"].isin(["geo_001", "geo_003"]),
            "both": data["geo"] != "geo_001"}[change]
    data[keep].to_csv(tmp_path / "new.csv", index=False)
    with pytest.raises(DataError) as caught:
        refresh(panel_runs["parent"], tmp_path / "new.csv")
    message = str(caught.value)
    assert str(tmp_path / "new.csv") in message and "Fit a new model" in message
    for text in named:
        assert text in message
    for mode in ("refit", "update"):  # exit 2 before any sampling, and nothing written
        assert main(["refresh", str(panel_runs["parent"]), "--data", str(tmp_path / "new.csv"), "--mode", mode,
                     "--out", str(tmp_path / "next")]) == 2
        assert not (tmp_path / "next").exists()


def test_the_same_geos_in_another_row_order_are_put_back_in_the_parents_order(panel_runs):
    from mmm.runs.refresh import match_parent_geos

    config, parent = panel_runs["config"], load_run(panel_runs["parent"])
    shuffled = panel_runs["three"].sort_values(["geo", "date"], ascending=[False, True])
    panel = load_panel(shuffled, config.roles(), population="population")
    assert panel.geos == ["geo_002", "geo_001", "geo_000"]
    matched = match_parent_geos(panel, parent.scaling, "g1")
    assert matched.geos == list(parent.scaling.geos) == ["geo_000", "geo_001", "geo_002"]
    np.testing.assert_array_equal(matched.kpi, panel.kpi[::-1])
    np.testing.assert_array_equal(matched.spend, panel.spend[::-1])
    np.testing.assert_array_equal(matched.population, panel.population[::-1])


def test_a_geo_run_cannot_be_refreshed_with_a_national_config(panel_runs, tmp_path):
    raw = panel_runs["config"].to_dict()
    raw["data"].pop("geo")
    national = Config.from_dict(raw, base_dir=panel_runs["root"])
    with pytest.raises(ConfigError, match="geo .* model and this config is not"):
        refresh(panel_runs["parent"], panel_runs["root"] / "new.csv", config=national)


def test_refresh_record_lists_restated_panel_values_per_geo(panel_runs):
    config, parent = panel_runs["config"], load_run(panel_runs["parent"])
    new = panel_runs["three"].reset_index(drop=True).copy()
    dates = sorted(new["date"].unique())
    at = {(g, d): i for i, (g, d) in enumerate(zip(new["geo"], new["date"]))}
    edits = [("geo_002", dates[3], "revenue"), ("geo_000", dates[3], "tv_spend"), ("geo_002", dates[40], "search_spend"),
             ("geo_000", dates[N_OLD + 2], "revenue")]  # the last is a new period: not a restatement
    for geo, date, column in edits:
        new.loc[at[(geo, date)], column] = round(new.loc[at[(geo, date)], column] * 1.1, 2)
    panel = load_panel(new, config.roles())
    old_panel = load_panel(panel_runs["old"], config.roles())
    record = _record(parent, old_panel, config, panel, "update")
    assert record["revised_values"] == 3 and record["revised_dates"] == sorted({dates[3], dates[40]})
    assert [(r["geo"], r["date"], r["column"]) for r in record["revisions"]] == sorted(edits[:3])
    assert all(r["after"] == pytest.approx(round(r["before"] * 1.1, 2)) for r in record["revisions"])
    assert record["revised_geos"] == ["geo_000", "geo_002"] and record["geos"] == ["geo_000", "geo_001", "geo_002"]
    assert record["new_periods"] == N_ALL - N_OLD and record["dropped_periods"] == 0
    assert record["data"]["parent"]["n_geos"] == 3 and record["data"]["new"]["n_periods"] == N_ALL
    assert "warning" in record  # an update cannot take restated history into account


def test_geo_update_model_observes_only_new_periods_and_carries_every_parameter(panel_runs):
    from mmm.model.update_prior import update_model
    from mmm.model.baseline import SHOCK_SD, SHOCKS
    from mmm.model.update_prior import EPS_NAME

    config, parent = panel_runs["config"], load_run(panel_runs["parent"])
    previous = parent.posterior()["posterior"].to_dataset()
    panel = load_panel(panel_runs["three"], config.roles(), population=config.data.population)
    model_config, _ = update_model_config(config, config)  # the update's spec, as refresh builds it
    model, prior = update_model(previous, model_config, panel, parent.scaling, n_train=N_ALL, fit_start=N_OLD,
                                moved_years=0.1)
    # every parameter is carried, except each period's shock (a panel's default): it starts from its own prior
    assert [rv.name for rv in model.free_RVs] == [EPS_NAME, SHOCKS]
    assert model["kpi"].get_value().shape == (3, N_ALL - N_OLD)  # 3 geos x the new weeks: old KPI not counted twice
    np.testing.assert_array_equal(model.coords["fit_date"], np.asarray(panel.dates)[N_OLD:])
    # per-geo, pooled and offsets; the parent's sampled ROAS is carried as the channel_coef it set
    assert {b.name for b in prior.blocks} == set(previous.data_vars) - {SHOCKS, ROAS_VAR}
    assert SHOCK_SD in {b.name for b in prior.blocks}  # their spread is carried
    assert np.isfinite(model.compile_logp()(model.initial_point()))
    carried = prior.posterior_dataset(np.zeros((1, 1, prior.n_params)))
    for name, da in previous.data_vars.items():
        if name not in (SHOCKS, ROAS_VAR):
            assert carried[name].dims == da.dims and carried[name].shape[2:] == da.shape[2:]
    positive = [b.name for b in prior.blocks if np.all(b.lower == 0.0)]
    assert {"sigma", "channel_coef", "channel_coef_geo_sd", "trend_geo_sd"} <= set(positive)


def test_each_geos_baseline_is_kept_when_time_is_recentred(panel_runs):
    """Each geo has its own trend, so each geo's intercept moves by its own trend x the shift, per draw."""
    from mmm.analysis.effects import compute_effects
    from mmm.model.geo_terms import geo_posterior
    from mmm.model.update_prior import intercept_shift

    config, parent = panel_runs["config"], load_run(panel_runs["parent"])
    previous = parent.posterior()["posterior"].to_dataset()
    old = load_panel(panel_runs["old"], config.roles(), population=config.data.population)
    new = load_panel(panel_runs["three"], config.roles(), population=config.data.population)
    shift = intercept_shift(previous, 3, _time_moved(old, new, parent.scaling.time_origin))
    assert shift.shape == (60, 3) and np.ptp(shift[0]) > 0  # geos' trends differ
    moved = previous.copy()
    moved["intercept"] = previous["intercept"] + xr.DataArray(shift.reshape(2, 30, 3), dims=("chain", "draw", "geo"))
    for g in range(3):
        scaling = parent.scaling.geo(g)
        before = compute_effects(geo_posterior(previous, config, g, 3), config, old.geo(g), scaling).mu
        after = compute_effects(geo_posterior(moved, config, g, 3), config, new.geo(g), scaling).mu[:, :N_OLD]
        np.testing.assert_allclose(after, before, rtol=1e-10)
        unmoved = compute_effects(geo_posterior(previous, config, g, 3), config, new.geo(g), scaling).mu
        assert not np.allclose(unmoved[:, :N_OLD], before)


@pytest.fixture(scope="module")
def two_geo_runs(panel_runs):
    """B: another posterior on the N_ALL-week panel with parent A's scaling, one (geo, channel) with no spend."""
    root = panel_runs["root"]
    new = panel_runs["three"].copy()
    new.loc[new["geo"] == "geo_001", "search_spend"] = 0.0
    parent = load_run(panel_runs["parent"])
    b = prior_run(panel_runs["config"], new, root / "runs" / "g2", scaling=parent.scaling, seed=1, parent="g1",
                  manifest_extra={"refresh": {"mode": "refit"}})
    return panel_runs["parent"], b


def test_compare_two_geo_runs_per_geo_and_channel(two_geo_runs):
    a, b = two_geo_runs
    result = compare(a, b)
    geo = result["geo"]
    assert geo["n_geos"] == {"a": 3, "b": 3} and geo["national_is_sum_over_geos"]
    assert result["runs"]["a"]["n_geos"] == 3 and result["scaling_same"]
    assert set(geo["geos"]) == {"geo_000", "geo_001", "geo_002"}
    summary_a = json.loads((a / "summary.json").read_text())["geo"]["geos"]
    summary_b = json.loads((b / "summary.json").read_text())["geo"]["geos"]
    assert "no spend in the window of run B" in geo["geos"]["geo_001"]["search"]["note"]
    assert "roas" not in geo["geos"]["geo_001"]["search"]
    for name, channels in geo["geos"].items():
        for channel, entry in channels.items():
            if "note" in entry:
                continue
            roas = entry["roas"]
            # the same figures as each run's own summary: recomputed from the same draws
            assert roas["a"]["mean"] == pytest.approx(summary_a[name]["channels"][channel]["roas"]["mean"], rel=1e-9)
            assert roas["b"]["mean"] == pytest.approx(summary_b[name]["channels"][channel]["roas"]["mean"], rel=1e-9)
            assert roas["difference"]["lo"] <= roas["difference"]["mean"] <= roas["difference"]["hi"]
            assert roas["p_increase"] + roas["p_decrease"] == pytest.approx(1.0)
            for metric in ("roas", "profit_roi"):
                parts = entry["attribution"][metric]
                assert sum(parts[k] for k in ("revised_history", "new_periods", "assumptions", "re_estimation")) \
                    == pytest.approx(parts["total"], abs=1e-12)
                assert parts["total"] == pytest.approx(entry[metric]["b"]["mean"] - entry[metric]["a"]["mean"],
                                                       abs=1e-9)
                assert parts["revised_history"] == pytest.approx(0.0, abs=1e-12)  # no value was restated
    for channel, entry in result["channels"].items():
        national = entry["attribution"]["roas"]
        assert national["total"] == pytest.approx(entry["roas"]["b"]["mean"] - entry["roas"]["a"]["mean"], abs=1e-9)
    flagged = {(f["geo"], f["channel"]) for f in geo["flagged_changed"]}
    assert flagged == {(g, c) for g, chans in geo["geos"].items() for c, e in chans.items()
                       if "flags" in e and e["flags"]["changed"]}


def test_geo_comparison_page_and_restated_values_per_geo(two_geo_runs, tmp_path):
    _, b = two_geo_runs
    tampered = tmp_path / "g2-restated"
    shutil.copytree(b, tampered)
    frame = pd.read_csv(tampered / "data.csv")
    at = {(g, d): i for i, (g, d) in enumerate(zip(frame["geo"], frame["date"]))}
    dates = sorted(frame["date"].unique())
    on_air = next(d for d in dates[5:] if frame.loc[at[("geo_002", d)], "tv_spend"] > 0)
    edits = [("geo_002", on_air, "tv_spend"), ("geo_000", on_air, "revenue")]
    for geo, date, column in edits:
        frame.loc[at[(geo, date)], column] = round(frame.loc[at[(geo, date)], column] * 1.2, 2)
    frame.to_csv(tampered / "data.csv", index=False, float_format="%.17g")
    reseal(tampered)  # a run of the restated data, not an edited run folder
    assert main(["compare", str(b), str(tampered), "--out", str(tmp_path / "cmp")]) == 0
    result = json.loads((tmp_path / "cmp" / "comparison.json").read_text())
    assert [(r["geo"], r["date"], r["column"]) for r in result["data_revisions"]] == sorted(edits)
    revisions = pd.read_csv(tmp_path / "cmp" / "data_revisions.csv")
    assert list(revisions.columns[:3]) == ["geo", "date", "column"] and len(revisions) == 2
    # restated tv spend in geo_002 moves that geo's "revised history" part; the other geos' stay 0
    parts = {g: c["tv"]["attribution"]["roas"]["revised_history"] for g, c in result["geo"]["geos"].items()}
    assert parts["geo_002"] != 0 and parts["geo_000"] == 0 and parts["geo_001"] == 0
    html = (tmp_path / "cmp" / "comparison.html").read_text()
    assert "Figures per geo and channel" in html and "geo_001" in html and "no spend in the window" in html
    assert html.count("<tr><td>geo_00") >= 6 and "<script" not in html


def test_a_changed_margin_is_an_assumption_change_in_every_geo(two_geo_runs, tmp_path):
    a, _ = two_geo_runs
    changed = tmp_path / "g1-margin"
    shutil.copytree(a, changed)
    text = (changed / "config.yaml").read_text()
    assert "gross_margin: 0.6" in text
    (changed / "config.yaml").write_text(text.replace("gross_margin: 0.6", "gross_margin: 0.5"))
    reseal(changed)
    result = compare(a, changed)
    for channels in result["geo"]["geos"].values():
        for entry in channels.values():
            profit = entry["attribution"]["profit_roi"]
            assert profit["assumptions"] == pytest.approx(-0.1 * entry["roas"]["a"]["mean"], rel=1e-9)
            assert profit["re_estimation"] == pytest.approx(0.0, abs=1e-9)
            assert entry["attribution"]["roas"]["total"] == pytest.approx(0.0, abs=1e-12)


def test_a_geo_run_and_a_national_run_are_not_compared(panel_runs, tmp_path, capsys):
    raw = panel_runs["config"].to_dict()
    raw["data"].pop("geo")
    raw["data"].pop("population", None)
    national_config = Config.from_dict(raw, base_dir=panel_runs["root"])
    frame = panel_runs["old"].groupby("date", as_index=False)[["revenue", "tv_spend", "search_spend"]].sum()
    national = prior_run(national_config, frame, tmp_path / "national")  # the national run: prior draws
    for pair in ((panel_runs["parent"], national), (national, panel_runs["parent"])):
        assert main(["compare", str(pair[0]), str(pair[1]), "--out", str(tmp_path / "cmp")]) == 2
        message = capsys.readouterr().err
        assert "is a geo (panel) run" in message and "is national" in message and "Compare two geo runs" in message
        assert not (tmp_path / "cmp").exists()


def test_a_rolling_window_keeps_the_last_periods_of_every_geo(panel_runs):
    from dataclasses import replace

    from mmm.runs.refresh import _rolling

    config = panel_runs["config"]
    panel = load_panel(panel_runs["three"], config.roles())
    assert _rolling(panel, config) is panel
    cut = _rolling(panel, replace(config, refresh_window_periods=40))
    assert cut.n_periods == 40 and cut.geos == panel.geos and cut.dates[0] == panel.dates[N_ALL - 40]
    np.testing.assert_array_equal(cut.kpi, panel.kpi[:, N_ALL - 40:])
    np.testing.assert_array_equal(cut.spend, panel.spend[:, N_ALL - 40:])


def test_geo_update_model_with_an_adstock_per_geo(panel_runs):
    """Per-geo adstock parameters (geo x channel) are carried forward with their (0, 1) bounds."""
    from mmm.model.update_prior import update_model

    raw = panel_runs["config"].to_dict()
    raw["model"]["geo"] = {**raw["model"].get("geo", {}), "adstock": "geo"}
    config = Config.from_dict(raw, base_dir=panel_runs["root"])
    panel = load_panel(panel_runs["three"], config.roles())
    scaling = PanelScaling.compute(panel.slice(panel.dates[N_OLD - 1]))
    previous = prior_draws(config, panel, scaling)
    assert previous["geometric_alpha"].dims == ("chain", "draw", "geo", "channel")
    model, prior = update_model(previous, update_model_config(config, config)[0], panel, scaling, n_train=N_ALL,
                                fit_start=N_OLD, moved_years=0.0)
    alpha = next(b for b in prior.blocks if b.name == "geometric_alpha")
    assert alpha.shape == (3, 2) and np.all(alpha.lower == 0.0) and np.all(alpha.upper == 1.0)
    carried = prior.posterior_dataset(np.random.default_rng(0).standard_normal((1, 50, prior.n_params)))
    assert ((carried["geometric_alpha"] > 0) & (carried["geometric_alpha"] < 1)).all()
    assert np.isfinite(model.compile_logp()(model.initial_point()))
