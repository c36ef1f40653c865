"""Config diffs and data revisions between two runs' inputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mmm.spec.config import Config, ConfigError
from mmm.runs.revisions import config_diff, data_revisions, periods
from mmm.data.synth import SynthSpec, generate


@pytest.fixture(scope="module")
def synthetic():
    return generate(SynthSpec(n_periods=60, n_channels=3, seed=11))


def test_data_revisions_list_exactly_the_tampered_cells(synthetic):
    before = synthetic.data.iloc[:50].copy()
    after = synthetic.data.copy()
    tampered = {(5, "tv_spend"): 1.10, (17, "revenue"): 0.97, (33, "promo"): None}
    for (row, column), factor in tampered.items():
        after.loc[row, column] = 1 - after.loc[row, column] if factor is None else after.loc[row, column] * factor
    found = data_revisions(before, after, "date")
    expected = sorted((after.loc[r, "date"].date().isoformat(), c) for r, c in tampered)
    assert sorted(zip(found["date"], found["column"])) == expected
    tv = found[found["column"] == "tv_spend"].iloc[0]
    assert tv["change_pct"] == pytest.approx(0.10) and tv["after"] - tv["before"] == pytest.approx(tv["change"])
    assert periods(before, after, "date") == {"new": [d.date().isoformat() for d in after["date"].iloc[50:]],
                                             "dropped": []}


def test_a_csv_round_trip_is_not_a_revision(synthetic, tmp_path):
    synthetic.data.to_csv(tmp_path / "a.csv", index=False)
    again = pd.read_csv(tmp_path / "a.csv")
    assert data_revisions(synthetic.data, again, "date").empty


def test_revision_of_a_zero_has_no_percentage(synthetic):
    before = synthetic.data.copy()
    zero_row = int(np.flatnonzero(before["tv_spend"].to_numpy() == 0)[0])
    after = before.copy()
    after.loc[zero_row, "tv_spend"] = 500.0
    found = data_revisions(before, after, "date")
    assert len(found) == 1 and np.isnan(found["change_pct"].iloc[0]) and found["change"].iloc[0] == 500.0


def test_config_diff_names_changed_finance_prior_and_model_keys(synthetic, tmp_path):
    raw = synthetic.config
    a = Config.from_dict(raw, base_dir=tmp_path)
    changed = {**raw, "finance": {**raw["finance"], "gross_margin": 0.5},
               "model": {**raw["model"], "priors": {"sigma": {"dist": "HalfNormal", "sigma": 0.1}}},
               "channels": {**raw["channels"], "tv": {**raw["channels"]["tv"], "max_lag": 6}}}
    b = Config.from_dict(changed, base_dir=tmp_path / "elsewhere")
    diff = {row["key"]: row for row in config_diff(a, b)}
    assert set(diff) == {"finance.gross_margin", "model.priors.sigma.sigma", "channels.tv.max_lag"}
    assert diff["finance.gross_margin"]["before"] == 0.6 and diff["finance.gross_margin"]["after"] == 0.5
    assert diff["model.priors.sigma.sigma"]["section"] == "priors"
    assert diff["finance.gross_margin"]["section"] == "finance"
    assert config_diff(a, a) == []


def test_refresh_window_config_key(synthetic, tmp_path):
    config = Config.from_dict({**synthetic.config, "refresh": {"window_periods": 104}}, base_dir=tmp_path)
    assert config.refresh_window_periods == 104
    assert Config.from_dict(config.to_dict(), base_dir=tmp_path).refresh_window_periods == 104
    assert Config.from_dict(synthetic.config, base_dir=tmp_path).refresh_window_periods is None
    with pytest.raises(ConfigError, match="refresh.window_periods"):
        Config.from_dict({**synthetic.config, "refresh": {"window_periods": 10}}, base_dir=tmp_path)
    with pytest.raises(ConfigError, match="window_period"):
        Config.from_dict({**synthetic.config, "refresh": {"window_period": 52}}, base_dir=tmp_path)


def test_panel_revisions_are_listed_per_geo_date_and_column():
    """A panel repeats every date once per geo: a restated value belongs to one (geo, date, column)."""

    panel = generate(SynthSpec(n_periods=40, n_channels=2, controls=False, seed=12, n_geos=3)).data
    before = panel[pd.to_datetime(panel["date"]) < pd.to_datetime(panel["date"]).iloc[30]].copy()
    after = panel.sample(frac=1.0, random_state=0).reset_index(drop=True)  # row order is not the key
    rows = {(g, d): i for i, (g, d) in enumerate(zip(after["geo"], pd.to_datetime(after["date"])))}
    dates = sorted(set(pd.to_datetime(before["date"])))
    edits = {("geo_001", dates[4], "revenue"): 1.05, ("geo_002", dates[4], "tv_spend"): 0.8,
             ("geo_000", dates[20], "search_spend"): 1.25}
    for (geo, date, column), factor in edits.items():
        after.loc[rows[(geo, date)], column] *= factor
    after.loc[rows[("geo_000", pd.to_datetime(after["date"]).max())], "revenue"] *= 2  # a new period: not a revision
    found = data_revisions(before, after, "date", geo="geo")
    assert list(found.columns[:3]) == ["geo", "date", "column"]
    assert list(zip(found["geo"], found["date"], found["column"])) == sorted(
        (g, d.date().isoformat(), c) for g, d, c in edits)  # exactly those cells (not the other geos' same date)
    for (geo, date, column), factor in edits.items():
        row = found[(found["geo"] == geo) & (found["column"] == column)].iloc[0]
        assert row["change_pct"] == pytest.approx(factor - 1) and row["after"] == pytest.approx(row["before"] * factor)
