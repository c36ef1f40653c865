"""The truth suite (bench/truth/scenarios.py): every case is well-formed, deterministic, business-like and
accepted by the package, and its truth matches closed forms and the public ground-truth files. No fits."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.truth import scenarios  # noqa: E402
from bench.truth.scenarios import FIXED, SCENARIOS, adstock, counterfactual_truth, geometric_weights, make  # noqa: E402

import mmm  # noqa: E402
from mmm.analysis import pipeline  # noqa: E402

GENERATED = [name for name in SCENARIOS if name not in FIXED]
CASES = {(name, seed): make(name, seed) for name in SCENARIOS for seed in (0, 1)}

# carry-over after the last week is small for 104+ weeks of data and kernels of at most 13 weeks (28 days):
# the in-data contribution is between 90% and 100% of ROAS x spend (seeds 0/1 stay under 5%)
TAIL_SHARE_MAX = 0.10


def _spend_columns(case) -> list[str]:
    return list(case.config["channels"].values())


def test_there_are_at_least_twelve_generated_scenarios_and_the_two_fixed_ones():
    assert len(GENERATED) >= 12 and set(FIXED) <= set(SCENARIOS)
    assert len(set(SCENARIOS)) == len(SCENARIOS)


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("name", SCENARIOS)
def test_case_is_well_formed(name, seed):
    case = CASES[(name, seed)]
    frame = case.frame
    assert case.name == name and case.seed == seed
    assert pd.api.types.is_datetime64_any_dtype(frame["date"])
    assert not frame.isna().any().any()
    assert (frame[_spend_columns(case)] >= 0).all().all()
    assert (frame[_spend_columns(case)].sum() > 0).all()
    assert (frame["revenue"] > 0).all()
    assert set(case.config["channels"].values()) | set(case.config.get("controls", [])) | {"date", "revenue"} \
        <= set(frame.columns)
    assert ("geo" in case.config["data"]) == ("geo" in frame.columns)
    assert list(case.truth_roas) == list(case.config["channels"]) == list(case.truth_contribution.columns)
    dates = pd.DatetimeIndex(np.unique(frame["date"]))
    assert case.truth_contribution.index.equals(dates)
    assert np.isfinite(case.truth_contribution.to_numpy()).all()
    assert (case.truth_contribution.to_numpy() >= -1e-6).all()  # no world here has a harmful channel
    assert case.description and "\n" not in case.description


@pytest.mark.parametrize("name", SCENARIOS)
def test_same_seed_same_case_and_other_seed_other_data(name):
    again = make(name, 0)
    pd.testing.assert_frame_equal(again.frame, CASES[(name, 0)].frame)
    pd.testing.assert_frame_equal(again.truth_contribution, CASES[(name, 0)].truth_contribution)
    assert again.truth_roas == CASES[(name, 0)].truth_roas
    if name in FIXED:
        pd.testing.assert_frame_equal(CASES[(name, 1)].frame, again.frame)
    else:
        assert not CASES[(name, 1)].frame["revenue"].equals(again.frame["revenue"])
        assert CASES[(name, 1)].truth_roas != again.truth_roas


@pytest.mark.parametrize("name", GENERATED)
def test_business_like_units(name):
    for seed in (0, 1):
        case = CASES[(name, seed)]
        frame = case.frame
        per_period = frame.groupby("date")["revenue"].sum()
        weekly = per_period.mean() * (7 if name == "daily" else 1)
        assert 1e5 <= weekly <= 4e6, weekly
        share = case.truth_contribution.to_numpy().sum() / per_period.sum()
        assert 0.06 <= share <= 0.45, share
        roas = np.array(list(case.truth_roas.values()))
        assert ((roas > 0.2) & (roas < 8.0)).all(), case.truth_roas


@pytest.mark.parametrize("name", SCENARIOS)
def test_in_data_contribution_is_roas_times_spend_less_the_tail(name):
    for seed in (0, 1):
        case = CASES[(name, seed)]
        spend = case.frame[_spend_columns(case)].sum().to_numpy()
        roas = np.array(list(case.truth_roas.values()))
        in_data = case.truth_contribution.sum().to_numpy()
        tail = roas * spend - in_data  # carry-over counted after the last period
        if name in FIXED:  # the published ground truth has no tail
            np.testing.assert_allclose(tail, 0.0, atol=1e-9 * np.abs(in_data).max())
        else:
            assert (tail >= -1e-6 * in_data).all() and (tail <= TAIL_SHARE_MAX * roas * spend).all(), tail


def test_adstock_kernels():
    w = np.array([0.5, 0.3, 0.2])
    np.testing.assert_allclose(adstock(np.array([1.0, 0, 0, 2.0, 0]), w), [0.5, 0.3, 0.2, 1.0, 0.6])
    g = geometric_weights(0.5, 4)
    np.testing.assert_allclose(g, np.array([8, 4, 2, 1]) / 15)
    assert np.argmax(scenarios.weibull_weights(2.5, 3.0, 13)) == 3


def test_linear_additive_world_has_the_closed_form_roas():
    """E[y] = base + sum_k b_k * adstock(x_k): with a normalised kernel and the full tail, ROAS_k = b_k."""
    rng = np.random.default_rng(7)
    spend = rng.uniform(0, 100, (2, 20, 3))  # 2 geos
    b = np.array([0.5, 2.0, 4.0])
    weights = [geometric_weights(a, 5) for a in (0.2, 0.5, 0.8)]
    base = rng.uniform(1e3, 2e3, (2, 24))

    def expected(s):
        return base + sum(b[k] * adstock(s[..., k], weights[k]) for k in range(3))

    mean, roas, contribution = counterfactual_truth(expected, spend, tail=4)
    np.testing.assert_allclose(roas, b)
    manual = np.column_stack([b[k] * adstock(spend[..., k], weights[k]).sum(axis=0) for k in range(3)])
    np.testing.assert_allclose(contribution, manual)
    np.testing.assert_allclose(mean, expected(np.concatenate([spend, np.zeros((2, 4, 3))], axis=1))[:, :20])


def test_multiplicative_world_counterfactual_is_on_the_full_expectation():
    """E[y] = B * exp(a x1 + c x2) in one period: ROAS_1 = B (e^(a x1 + c x2) - e^(c x2)) / x1."""
    B, a, c, x1, x2 = 1000.0, 0.02, 0.01, 10.0, 30.0
    spend = np.array([[[x1, x2]]])

    def expected(s):
        return B * np.exp(a * s[..., 0] + c * s[..., 1])

    _, roas, _ = counterfactual_truth(expected, spend, tail=0)
    total = np.exp(a * x1 + c * x2)
    np.testing.assert_allclose(roas, [B * (total - np.exp(c * x2)) / x1, B * (total - np.exp(a * x1)) / x2])


def test_pymc_marketing_example_truth_is_the_ground_truth_ratio():
    folder = REPO / "tests" / "datasets"  # byte copies (tests/datasets/README.md)
    data = pd.read_csv(folder / "pymc_marketing_mmm_example.csv")
    truth = pd.read_csv(folder / "pymc_marketing_mmm_example_ground_truth.csv")
    case = CASES[("pymc_marketing_example", 0)]
    for c in ("x1", "x2"):
        assert case.truth_roas[c] == pytest.approx(truth[f"{c}_contribution"].sum() / data[c].sum(), rel=1e-12)
    assert case.truth_roas["x1"] == pytest.approx(4967.8, abs=0.1)  # the dataset's documented truth
    assert case.truth_roas["x2"] == pytest.approx(2274.9, abs=0.1)
    np.testing.assert_allclose(case.frame["revenue"], data["y"])
    assert case.config["controls"] == ["event_1", "event_2"]


def test_pymc_marketing_tvp_truth():
    case = CASES[("pymc_marketing_tvp", 0)]
    assert case.truth_roas["x1"] == pytest.approx(4.38, abs=0.01)  # the dataset's documented truth
    assert case.truth_roas["x2"] == pytest.approx(5.32, abs=0.01)


def test_missing_public_data_names_the_path(monkeypatch, tmp_path):
    monkeypatch.setattr(scenarios, "PYMC_DATA", tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match="nowhere"):
        make("pymc_marketing_example", 0)


def test_unknown_scenario():
    with pytest.raises(ValueError, match="hill_s_curve"):
        make("no_such_world", 0)


@pytest.mark.parametrize("name", SCENARIOS)
def test_the_package_accepts_the_config_and_data(name, tmp_path):
    case = CASES[(name, 0)]
    case.frame.to_csv(tmp_path / "data.csv", index=False)
    raw = {**case.config, "data": {**case.config["data"], "path": "data.csv"}}
    config = mmm.Config.from_dict(raw, base_dir=tmp_path)
    panel = pipeline.load(config)
    n_geo = case.frame["geo"].nunique() if "geo" in case.frame else 1
    assert len(panel.geos) == n_geo and len(panel.dates) == len(case.truth_contribution)
    assert panel.freq == ("D" if name == "daily" else "W")
    np.testing.assert_allclose(panel.spend.sum(axis=(0, 1)), case.frame[_spend_columns(case)].sum().to_numpy())


# ---- the oracle: least squares told the true curves (bench/truth/oracle.py) ------------------------------


def test_the_oracle_recovers_a_world_of_the_models_form_and_catches_a_misstated_truth():
    from dataclasses import replace

    from bench.truth.oracle import oracle_roas

    case = CASES[("pymc_marketing_example", 0)]
    table = oracle_roas(case).set_index("channel")
    assert (table["oracle_rel_error"] < 0.05).all()
    for channel, truth in case.truth_roas.items():
        assert table.loc[channel, "oracle_lo"] <= truth <= table.loc[channel, "oracle_hi"]
    # a truth twice too large: the oracle's coefficient on it halves, an error of 50%
    doubled = replace(case, truth_contribution=case.truth_contribution.assign(x1=2 * case.truth_contribution["x1"]),
                      truth_roas={**case.truth_roas, "x1": 2 * case.truth_roas["x1"]})
    assert oracle_roas(doubled).set_index("channel").loc["x1", "oracle_rel_error"] == pytest.approx(0.5, abs=0.03)


def test_the_oracle_says_which_channels_the_data_cannot_see():
    """Flighted TV is pinned down by the data when its curve is known; a small bursty display channel is not."""
    from bench.truth.oracle import oracle_roas

    table = oracle_roas(make("hill_s_curve", 1)).set_index("channel")
    assert table.loc["tv", "oracle_rel_se"] < 0.15 < 1.0 < table.loc["display", "oracle_rel_se"]
