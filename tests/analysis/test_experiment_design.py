"""Pre-posterior analysis of lift tests (mmm design-test): the importance-weighted update must be Bayes' rule.

On a normal-normal case the updated interval has a closed form, and so does the power; the value of
information is bounded by the value of perfect information and vanishes for a useless test. The end-to-end
tests use the synthetic truth as a spread posterior (no sampling). bench/design_test_truth.py checks the
ranking and the expected widths against refits on the truth (issue 17's acceptance).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import stats

from mmm.analysis.experiment_design import Candidate, preposterior
from mmm.cli.main import main
from mmm.data.load import load_data
from mmm.data.panel_design import series_scaling
from mmm.data.synth import SynthSpec, generate
from mmm.model import media
from mmm.model.truth import truth_posterior
from mmm.runs.experiment_choice import design_tests
from mmm.spec.config import Config, ConfigError
from synthetic_runs import write_synthetic_run  # tests/ folders are on sys.path (conftest.py)
from test_planning import CHANNELS  # tv, search, display, radio: tv spends ~6x display

Z90 = stats.norm.ppf(0.95)


@pytest.mark.parametrize("se", [0.5, 1.0, 3.0])
def test_the_update_is_bayes_rule_on_a_normal_normal_case(se):
    """beta ~ N(2, 1); a test reads 1.5 beta with noise se; ROAS = 0.8 beta. After the test beta's sd is
    1 / sqrt(1 + 1.5^2 / se^2), whatever the result: the expected interval width is known exactly."""
    rng = np.random.default_rng(0)
    beta = rng.normal(2.0, 1.0, 5_000)
    out = preposterior(1.5 * beta, 0.8 * beta, se, None, 0.9, simulations=2_000, seed=1)
    sd_after = 1.0 / np.sqrt(1.0 + 1.5 ** 2 / se ** 2)
    assert out.width_now == pytest.approx(2 * Z90 * 0.8, rel=0.02)
    assert out.width_after == pytest.approx(2 * Z90 * 0.8 * sd_after, rel=0.05)
    # power: the result ~ N(3, 1.5^2 + se^2) lands beyond 1.96 se
    spread = np.sqrt(1.5 ** 2 + se ** 2)
    power = stats.norm.sf((1.96 * se - 3.0) / spread) + stats.norm.cdf((-1.96 * se - 3.0) / spread)
    assert out.power == pytest.approx(power, abs=0.03)  # 3 binomial standard errors at 2000 simulations


def test_the_point_figures_expected_error_follows_the_normal_normal_posterior():
    """beta ~ N(10, 1), ROAS = 0.8 beta: the posterior mean misses the truth by |N(0, sd)|, sd = 1 before and
    1 / sqrt(1 + 1.5^2 / se^2) after, i.e. by sd sqrt(2 / pi) on average; as a share of a ROAS near 8."""
    rng = np.random.default_rng(4)
    beta = rng.normal(10.0, 1.0, 5_000)
    out = preposterior(1.5 * beta, 0.8 * beta, 1.0, None, 0.9, simulations=2_000, seed=5)
    mean_abs = np.sqrt(2 / np.pi)
    assert out.error_now == pytest.approx(0.8 * mean_abs / 8.0, rel=0.08)
    assert out.error_after == pytest.approx(0.8 * mean_abs / np.sqrt(1 + 1.5 ** 2) / 8.0, rel=0.08)


def test_value_of_information_lies_between_nothing_and_perfect_information():
    """Two plans: spend (profit = beta) or not (0). Perfect information is worth E[max(beta, 0)] - max(E beta, 0)."""
    rng = np.random.default_rng(2)
    beta = rng.normal(0.2, 1.0, 5_000)
    utilities = np.column_stack([np.zeros_like(beta), beta])
    perfect = np.maximum(beta, 0).mean() - max(beta.mean(), 0.0)
    sharp = preposterior(beta, beta, 0.05, utilities, 0.9, simulations=800, seed=3).evsi
    useless = preposterior(beta, beta, 1e4, utilities, 0.9, simulations=800, seed=3).evsi
    middling = preposterior(beta, beta, 1.0, utilities, 0.9, simulations=800, seed=3).evsi
    assert sharp == pytest.approx(perfect, rel=0.1)
    assert useless < 0.02 * perfect
    assert useless < middling < sharp


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return truth_run(tmp_path_factory.mktemp("run") / "truth-run")


def truth_run(folder):
    """A national run whose posterior is the synthetic truth with a lognormal spread on every media parameter."""
    result = generate(SynthSpec(seed=11, channels=CHANNELS, n_periods=120))
    config = Config.from_dict(result.config)
    data = load_data(result.data, config.roles())
    posterior = spread(truth_posterior(result.truth, config, data, n_draws=600), config, 0.25)
    return write_synthetic_run(folder, result, posterior, series_scaling(data))


def spread(posterior, config, sd: float, seed: int = 0):
    """``posterior`` with independent lognormal noise of ``sd`` on every media parameter, draw by draw."""
    rng = np.random.default_rng(seed)
    for name, *_ in media.parameter_layout(config.channels):
        posterior[name] = posterior[name] * np.exp(rng.normal(0.0, sd, posterior[name].shape))
    return posterior


def test_a_longer_test_narrows_more_and_a_bigger_channel_has_more_power(run_dir):
    table = design_tests(run_dir, weeks=[2, 8], simulations=200).table.set_index(["channel", "weeks"])
    for channel in ("tv", "search", "display", "radio"):
        assert table.loc[(channel, 8), "width_after"] < table.loc[(channel, 2), "width_after"]
        assert table.loc[(channel, 8), "power"] >= table.loc[(channel, 2), "power"]
        assert table.loc[(channel, 8), "se"] > table.loc[(channel, 2), "se"]
    # tv spends ~6x display per week (tests/planning's channels): its switch-off moves the KPI more
    assert table.loc[("tv", 8), "lift_mean"] > table.loc[("display", 8), "lift_mean"]
    assert table.loc[("tv", 8), "power"] > table.loc[("display", 8), "power"]
    ranks = design_tests(run_dir, weeks=[2, 8], simulations=200).table
    assert list(ranks["rank"]) == list(range(1, len(ranks) + 1))
    assert ranks["width_reduction"].is_monotonic_decreasing


def test_cli_writes_csv_json_and_a_page(run_dir, tmp_path, capsys):
    out = tmp_path / "design"
    assert main(["design-test", str(run_dir), "--weeks", "4", "8", "--channels", "tv", "search", "--simulations",
                 "100", "--out", str(out)]) == 0
    assert "1. " in capsys.readouterr().out
    summary = json.loads((out / "design_test.json").read_text())
    assert len(summary["candidates"]) == 4 and summary["inputs"]["weeks"] == [4, 8]
    html = (out / "design_test.html").read_text()
    assert "Recommendation" in html and "http://" not in html and "https://" not in html
    assert (out / "design_test.csv").read_text().startswith("rank,channel,weeks")
    assert main(["design-test", str(run_dir), "--channels", "nope", "--out", str(tmp_path / "x")]) == 2
    assert "unknown channel(s) nope" in capsys.readouterr().err
    assert main(["design-test", str(run_dir), "--geos", "north", "--out", str(tmp_path / "x")]) == 2
    assert "needs a run fitted on a geo panel" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_a_candidate_is_the_experiment_a_refit_would_add():
    import pandas as pd

    dates = pd.date_range("2024-01-01", periods=30, freq="W-MON")
    e = Candidate("tv", 4, geo="north").experiment(dates, result=1200.0, se=300.0)
    assert (e.channel, e.start, e.end, e.geo) == ("tv", "2024-07-01", "2024-07-22", "north")  # the last 4 weeks
    assert (e.incremental_kpi, e.se) == (1200.0, 300.0)
    with pytest.raises(ConfigError, match="a test lasts 1 to"):  # longer than the data
        from mmm.analysis.experiment_design import candidates
        from types import SimpleNamespace

        candidates(SimpleNamespace(channel_names=["tv"]), SimpleNamespace(n_periods=30, n_geos=1), None, [40], None)


def test_a_panel_gets_geo_splits_whose_lifts_add_up_to_the_national_test(tmp_path):
    from mmm.data.panel import load_panel
    from mmm.data.panel_design import PanelScaling
    from mmm.model.truth import truth_geo_posterior

    result = generate(SynthSpec(n_periods=80, n_channels=2, controls=False, seed=3, n_geos=3))
    config = Config.from_dict(result.config)
    panel = load_panel(result.data, config.roles())
    posterior = spread(truth_geo_posterior(result.truth, config, panel, n_draws=300), config, 0.2, seed=1)
    run = write_synthetic_run(tmp_path / "panel-run", result, posterior, PanelScaling.compute(panel))
    table = design_tests(run, weeks=[6], simulations=100).table
    for channel in config.channel_names:
        rows = table[table["channel"] == channel].set_index("design")
        splits = rows[rows["geo"].notna()]
        assert len(splits) == 3  # every geo (the three that spend most)
        assert splits["lift_mean"].sum() == pytest.approx(rows.loc["national", "lift_mean"], rel=1e-9)
        assert (splits["se"] < rows.loc["national", "se"]).all()
        assert splits["spend_switched_off"].sum() == pytest.approx(rows.loc["national",
                                                                             "spend_switched_off"], rel=1e-9)


def test_a_channel_without_spend_in_the_test_periods_is_left_out_and_said_so(run_dir, tmp_path):
    import pandas as pd
    import shutil

    from synthetic_runs import reseal

    quiet = tmp_path / "quiet"
    shutil.copytree(run_dir, quiet)
    data = pd.read_csv(quiet / "data.csv")
    data.loc[len(data) - 4:, "display_spend"] = 0.0  # display dark over the last 4 weeks
    data.to_csv(quiet / "data.csv", index=False)
    result = design_tests(reseal(quiet), weeks=[2, 8], simulations=100)
    assert not ((result.table["channel"] == "display") & (result.table["weeks"] == 2)).any()
    assert ((result.table["channel"] == "display") & (result.table["weeks"] == 8)).any()
    assert any("display off, 2 periods" in n for n in result.notes)
    with pytest.raises(ConfigError, match="no candidate test"):
        design_tests(quiet, weeks=[2], channels=["display"])


def test_a_stacked_run_designs_on_the_mixture_of_its_candidates(tmp_path):
    """Half the draws carry 3x the noise: the tests' readouts are noisier on average, so they narrow less."""
    from test_backtest import stacked

    plain = design_tests(truth_run(tmp_path / "plain"), weeks=[8], channels=["tv"], simulations=200).table
    mixed = design_tests(stacked(truth_run(tmp_path / "mixed")), weeks=[8], channels=["tv"], simulations=200).table
    assert mixed.loc[0, "se"] == pytest.approx(plain.loc[0, "se"] * np.sqrt((1 + 9) / 2), rel=1e-6)  # rms noise
    assert mixed.loc[0, "width_reduction"] < plain.loc[0, "width_reduction"]


def test_the_plans_profit_interval_narrows_with_a_sharp_test_and_not_with_a_useless_one():
    rng = np.random.default_rng(6)
    beta = rng.normal(1.0, 1.0, 4_000)
    utilities = np.column_stack([np.zeros_like(beta), 1000.0 * beta])  # the plan chosen now: spend (E beta > 0)
    sharp = preposterior(beta, beta, 0.1, utilities, 0.9, simulations=400, seed=7)
    useless = preposterior(beta, beta, 1e4, utilities, 0.9, simulations=400, seed=7)
    assert sharp.plan_profit_width_now == pytest.approx(1000 * 2 * Z90, rel=0.05)
    assert sharp.plan_profit_width_after < 0.15 * sharp.plan_profit_width_now  # sd 0.1 / sqrt(1.01) left
    assert useless.plan_profit_width_after == pytest.approx(useless.plan_profit_width_now, rel=0.02)
