"""Planning inputs and outputs: bounds and plan files, the plan folder, its page, and the CLI.

The run folder here holds a synthetic dataset and a posterior spread around its true
parameters (no sampling), so these tests are fast; tests/planning/test_optimize_fit.py uses a real fit.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from synthetic_runs import write_synthetic_run

from mmm.data.panel_design import series_scaling
from mmm.model import media
from mmm.cli.main import main
from mmm.spec.config import Config, ConfigError
from mmm.data.load import load_data
from mmm.planning.optimize import ChannelBounds, optimize
from mmm.api import plan_model, write_plan
from mmm.planning.plans import load_bounds, load_plans
from mmm.data.synth import ChannelTruth, SynthSpec, generate
from mmm.model.truth import truth_posterior

CHANNELS = [ChannelTruth("tv", level=50_000, target_roas=1.2, pattern="flighted"),
            ChannelTruth("search", level=30_000, target_roas=3.5),
            ChannelTruth("display", level=8_000, target_roas=2.0),
            ChannelTruth("radio", level=15_000, target_roas=0.9)]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A run folder (DESIGN.md contract files) with channels in a non-alphabetical order."""
    result = generate(SynthSpec(seed=11, channels=CHANNELS, n_periods=120))
    config = Config.from_dict(result.config)
    data = load_data(result.data, config.roles())
    scaling = series_scaling(data)
    posterior = truth_posterior(result.truth, config, data, n_draws=200)
    rng = np.random.default_rng(0)
    for name, *_ in media.parameter_layout(config.channels):
        noise = np.exp(rng.normal(0.0, 0.15, posterior[name].shape))
        posterior[name] = posterior[name] * noise
    return write_synthetic_run(tmp_path_factory.mktemp("run") / "synthetic-run", result, posterior, scaling)


def test_bounds_files_csv_and_yaml_match_channels_by_name(tmp_path):
    channels = ["tv", "search", "display"]
    csv = tmp_path / "bounds.csv"
    csv.write_text("channel,min,max,min_change,max_change,locked\nsearch,,120000,,,\ntv,,,-20%,0.3,\ndisplay,,,,,yes\n")
    bounds = load_bounds(csv, channels)
    assert bounds == {"search": ChannelBounds(max=120_000.0), "tv": ChannelBounds(min_change=-0.2, max_change=0.3),
                      "display": ChannelBounds(locked=True)}
    yml = tmp_path / "bounds.yaml"
    yml.write_text("channels:\n  search: {max: 120000}\n  tv: {min_change: -20%, max_change: 0.3}\n"
                   "  display: {locked: true}\n")
    assert load_bounds(yml, channels) == bounds
    bad = tmp_path / "bad.csv"
    bad.write_text("channel,max\nSearch,1\n")
    with pytest.raises(ConfigError, match=r"bad.csv: row 2: unknown channel 'Search'; the run's channels are "
                                          r"tv, search, display"):
        load_bounds(bad, channels)
    bad.write_text("channel,maximum\nsearch,1\n")
    with pytest.raises(ConfigError, match="unknown column.*maximum"):
        load_bounds(bad, channels)
    bad.write_text("channel,max\nsearch,lots\n")
    with pytest.raises(ConfigError, match="row 2: max must be a number"):
        load_bounds(bad, channels)


def test_plans_file_long_and_wide(tmp_path):
    channels = ["tv", "search"]
    long = tmp_path / "long.csv"
    long.write_text("plan,channel,spend\ncurrent,tv,100\ncurrent,search,50\ncut tv,tv,0\ncut tv,search,50\n")
    wide = tmp_path / "wide.csv"
    wide.write_text("plan,search,tv\ncurrent,50,100\ncut tv,50,0\n")
    expected = {"current": {"tv": 100.0, "search": 50.0}, "cut tv": {"tv": 0.0, "search": 50.0}}
    assert load_plans(long, channels) == expected
    assert load_plans(wide, channels) == expected
    long.write_text("plan,channel,spend\ncurrent,tv,100\n")
    with pytest.raises(ConfigError, match="plan 'current' gives no spend for search"):
        load_plans(long, channels)
    wide.write_text("plan,search,TV\ncurrent,50,100\n")
    with pytest.raises(ConfigError, match="unknown channel column.*TV"):
        load_plans(wide, channels)


def test_plan_folder_reconciles_and_reads_back(run_dir, tmp_path):
    model = plan_model(run_dir)
    assert model.channels == ["tv", "search", "display", "radio"]
    budget = 1_000_000.0
    result = optimize(model, budget, objective="profit", bounds={"radio": ChannelBounds(locked=True)})
    out = write_plan(tmp_path / "plan", model, result)
    table = pd.read_csv(out / "plan.csv")
    summary = json.loads((out / "plan.json").read_text())
    rows, total = table[table["channel"] != "total"], table[table["channel"] == "total"].iloc[0]
    assert list(rows["channel"]) == model.channels
    assert rows["spend"].sum() == pytest.approx(budget, rel=1e-9)
    assert total["spend"] == pytest.approx(budget, rel=1e-9)
    for metric in ("incremental_value", "profit", "incremental_kpi"):
        assert rows[f"{metric}_mean"].sum() == pytest.approx(total[f"{metric}_mean"], rel=1e-6)
    plan = summary["plans"]["optimized"]
    assert sum(c["incremental_value"]["mean"] for c in plan["channels"].values()) == pytest.approx(
        plan["totals"]["incremental_value"]["mean"], rel=1e-6)
    assert plan["channels"]["radio"]["spend"] == pytest.approx(model.run_rate[3], rel=1e-12)
    assert summary["inputs"]["bounds"]["radio"]["locked"] is True
    periods = pd.read_csv(out / "plan_periods.csv")
    assert periods.groupby("channel", sort=False)["spend"].sum().to_numpy() == pytest.approx(
        rows["spend"].to_numpy(), rel=1e-9)
    html = (out / "plan.html").read_text()
    assert "Allocation" in html and "data:image/png;base64," in html and "http" not in html.replace(
        "http-equiv", "")
    assert f"{total['spend']:,.0f}" in html


def test_cli_optimize_scenario_and_errors(run_dir, tmp_path, capsys):
    out = tmp_path / "plan"
    bounds = tmp_path / "bounds.csv"
    bounds.write_text("channel,max,locked\nsearch,200000,\nradio,,true\n")
    assert main(["optimize", str(run_dir), "--budget", "900000", "--bounds", str(bounds), "--objective",
                 "cvar:0.1", "--out", str(out)]) == 0
    table = pd.read_csv(out / "plan.csv").set_index("channel")
    assert table.loc["search", "spend"] <= 200_000 * (1 + 1e-9)
    assert table.loc["total", "spend"] == pytest.approx(900_000, rel=1e-9)
    assert main(["optimize", str(run_dir), "--budget", "900000", "--out", str(out)]) == 2  # never overwrites
    assert "already exists" in capsys.readouterr().err

    bounds.write_text("channel,max\nSEARCH,1\n")
    assert main(["optimize", str(run_dir), "--budget", "9e5", "--bounds", str(bounds), "--out",
                 str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert "bounds.csv" in err and "SEARCH" in err and "tv, search, display, radio" in err
    assert not (tmp_path / "x").exists()

    assert main(["optimize", str(run_dir), "--budget", "9e5", "--objective", "median", "--out", str(tmp_path / "y")]) == 2
    assert "cvar:ALPHA" in capsys.readouterr().err
    assert main(["optimize", str(run_dir), "--budget", "9e5", "--lookback", "0", "--out", str(tmp_path / "y")]) == 2
    assert "lookback must be 1..120" in capsys.readouterr().err
    assert not (tmp_path / "y").exists()

    plans = tmp_path / "plans.csv"
    plans.write_text("plan,tv,search,display,radio\ncurrent mix,500000,250000,60000,90000\n"
                     "+20% tv,600000,250000,60000,90000\ncut display,500000,250000,0,90000\n")
    assert main(["scenario", str(run_dir), str(plans), "--out", str(tmp_path / "sc")]) == 0
    pairs = pd.read_csv(tmp_path / "sc" / "scenario_pairs.csv")
    assert set(pairs["plan_a"]) == {"current mix", "+20% tv", "cut display", "optimized"}
    both = pairs.set_index(["plan_a", "plan_b"])["p_a_beats_b"]
    assert both[("optimized", "current mix")] + both[("current mix", "optimized")] == pytest.approx(1.0)
    assert "P(row plan" in (tmp_path / "sc" / "scenarios.html").read_text()

    assert main(["optimize", str(run_dir), "--target-roi", "0.1", "--out", str(tmp_path / "t")]) == 0
    target = json.loads((tmp_path / "t" / "plan.json").read_text())["target"]
    assert target["reached"] >= 0.1
