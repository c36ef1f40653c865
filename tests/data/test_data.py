"""Tests for mmm.data.load: loading, validation messages, alignment and scaling."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mmm.data.panel_design import series_scaling
from mmm.spec.roles import ChannelColumns, DataRoles
from mmm.data.load import (
    DataError,
    MMMData,
    Scaling,
    load_data,
    read_table,
    scale,
)

REPO = Path(__file__).resolve().parents[2]
PYMC_EXAMPLE = REPO / "tests" / "datasets" / "pymc_marketing_mmm_example.csv"  # origins: tests/datasets/README.md
ROBYN_WEEKLY = REPO / "data" / "robyn_weekly" / "dt_simulated_weekly.csv"
MERIDIAN_GEO = REPO / "tests" / "datasets" / "meridian_geo_media.csv"

ROLES = DataRoles(
    date="date",
    kpi="revenue",
    channels={"tv": ChannelColumns("tv_spend"), "search": ChannelColumns("search_spend", "search_clicks")},
    controls=("price",),
)


def weekly_frame(n: int = 60, start: str = "2021-01-04", freq: str = "W-MON", seed: int = 0) -> pd.DataFrame:
    """A clean wide table: date, revenue, two channels (one with clicks), one control."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "date": pd.date_range(start, periods=n, freq=freq).strftime("%Y-%m-%d"),
        "revenue": rng.uniform(800, 1200, n),
        "tv_spend": rng.uniform(0, 100, n),
        "search_spend": rng.uniform(10, 50, n),
        "search_clicks": rng.uniform(100, 500, n),
        "price": rng.normal(10, 1, n),
    })


def error_of(source, roles: DataRoles = ROLES, **kwargs) -> str:
    with pytest.raises(DataError) as caught:
        load_data(source, roles, **kwargs)
    return str(caught.value)


# --- happy paths -------------------------------------------------------------------------------


def test_clean_frame_loads_aligned_and_typed():
    frame = weekly_frame()
    data = load_data(frame, ROLES)
    assert isinstance(data, MMMData)
    assert data.freq == "W" and data.n_periods == 60
    assert data.channels == ["tv", "search"]
    assert list(data.exposure.columns) == ["search"]
    assert list(data.controls.columns) == ["price"]
    assert data.dates[0] == pd.Timestamp("2021-01-04") and data.dates.is_monotonic_increasing
    assert data.spend.index.equals(data.dates) and data.kpi.index.equals(data.dates)
    np.testing.assert_allclose(data.spend["search"], frame["search_spend"])
    assert data.source == "<DataFrame>" and data.notes == ()
    assert data.periods_per_year == pytest.approx(52.1775)


def test_frame_hash_is_stable_and_sensitive():
    frame = weekly_frame()
    assert load_data(frame, ROLES).sha256 == load_data(frame.copy(), ROLES).sha256
    changed = frame.copy()
    changed.loc[3, "revenue"] += 1
    assert load_data(changed, ROLES).sha256 != load_data(frame, ROLES).sha256


def test_channel_order_follows_roles_not_file():
    frame = weekly_frame()[["price", "search_clicks", "search_spend", "date", "tv_spend", "revenue"]]
    data = load_data(frame, ROLES)
    assert data.channels == ["tv", "search"]
    np.testing.assert_allclose(data.spend["tv"], frame["tv_spend"])


@pytest.mark.parametrize("anchor", ["W-MON", "W-SUN", "W-WED", "W-SAT"])
def test_weekly_data_on_any_weekday(anchor):
    data = load_data(weekly_frame(freq=anchor, start="2021-01-01"), ROLES)
    assert data.freq == "W"
    assert data.dates[0].day_name()[:3].upper() == anchor[2:]


def test_daily_data():
    data = load_data(weekly_frame(n=200, freq="D"), ROLES)
    assert data.freq == "D" and data.n_periods == 200
    assert data.periods_per_year == 365.25


def test_datetime_column_and_bool_control_are_accepted():
    frame = weekly_frame()
    frame["date"] = pd.to_datetime(frame["date"])
    frame["promo"] = np.arange(60) % 4 == 0
    data = load_data(frame, DataRoles("date", "revenue", ROLES.channels, ("price", "promo")))
    assert data.controls["promo"].dtype == float and data.controls["promo"].sum() == 15


def test_day_first_dates_that_can_be_read_only_one_way():
    frame = weekly_frame()
    frame["date"] = pd.to_datetime(frame["date"]).dt.strftime("%d/%m/%Y")
    assert load_data(frame, ROLES).dates[0] == pd.Timestamp("2021-01-04")


def test_unsorted_rows_are_sorted_and_noted():
    frame = weekly_frame().iloc[::-1]
    data = load_data(frame, ROLES)
    assert data.dates.is_monotonic_increasing
    assert any("Sorted the rows by 'date'" in note for note in data.notes)


def test_without_exposure_or_controls():
    roles = DataRoles("date", "revenue", {"tv": ChannelColumns("tv_spend")})
    data = load_data(weekly_frame(), roles)
    assert data.exposure is None and data.controls.shape == (60, 0)
    scaled = scale(data, series_scaling(data))
    assert scaled["controls"].shape == (60, 0) and scaled["spend"].shape == (60, 1)


def test_pymc_marketing_example_csv():
    roles = DataRoles("date_week", "y", {"x1": ChannelColumns("x1"), "x2": ChannelColumns("x2")},
                      controls=("event_1", "event_2"))
    data = load_data(PYMC_EXAMPLE, roles)
    assert data.freq == "W" and data.n_periods == 179
    assert data.dates[0] == pd.Timestamp("2018-04-02") and data.dates[0].day_name() == "Monday"
    assert data.sha256 == hashlib.sha256(PYMC_EXAMPLE.read_bytes()).hexdigest()
    assert data.source == str(PYMC_EXAMPLE)


def test_robyn_weekly_csv_with_exposure():
    roles = DataRoles("DATE", "revenue", {
        "tv": ChannelColumns("tv_S"),
        "facebook": ChannelColumns("facebook_S", "facebook_I"),
        "search": ChannelColumns("search_S", "search_clicks_P"),
    }, controls=("competitor_sales_B",))
    data = load_data(ROBYN_WEEKLY, roles)
    assert data.n_periods == 208 and list(data.exposure.columns) == ["facebook", "search"]


def test_meridian_geo_panel_is_aggregated_with_a_note():
    roles = DataRoles("time", "conversions", {f"ch{i}": ChannelColumns(f"Channel{i}_spend") for i in range(4)},
                      controls=("sentiment_score_control",), geo="geo")
    data = load_data(MERIDIAN_GEO, roles)
    raw = pd.read_csv(MERIDIAN_GEO, parse_dates=["time"]).groupby("time")
    np.testing.assert_allclose(data.kpi.to_numpy(), raw["conversions"].sum().to_numpy())
    np.testing.assert_allclose(data.controls["sentiment_score_control"], raw["sentiment_score_control"].mean())
    assert data.n_periods == 156 and "20 geos" in data.notes[0] and "national" in data.notes[0]


# --- files and columns -------------------------------------------------------------------------


def test_missing_file_names_the_path(tmp_path):
    message = error_of(tmp_path / "nope.csv")
    assert "not found" in message and "nope.csv" in message and "data.path" in message


def test_read_table_rejects_empty_headeronly_and_folder(tmp_path):
    (tmp_path / "empty.csv").write_text("")
    (tmp_path / "header.csv").write_text("date,revenue\n")
    with pytest.raises(DataError, match="empty"):
        read_table(tmp_path / "empty.csv")
    with pytest.raises(DataError, match="no data rows"):
        read_table(tmp_path / "header.csv")
    with pytest.raises(DataError, match="folder"):
        read_table(tmp_path)


def test_read_table_rejects_non_utf8(tmp_path):
    (tmp_path / "latin.csv").write_bytes("date,caf\xe9\n2021-01-04,1\n".encode("latin-1"))
    with pytest.raises(DataError, match="UTF-8"):
        read_table(tmp_path / "latin.csv")


def test_missing_column_lists_columns_and_suggests(tmp_path):
    path = tmp_path / "data.csv"
    weekly_frame().rename(columns={"tv_spend": "TV_Spend"}).to_csv(path, index=False)
    message = error_of(path)
    assert str(path) in message
    assert "'tv_spend' (spend of channel 'tv'" in message
    assert "Did you mean 'TV_Spend'" in message
    assert "Available columns: 'date', 'revenue', 'TV_Spend'" in message


def test_column_with_two_roles():
    roles = DataRoles("date", "revenue", {"tv": ChannelColumns("tv_spend")}, controls=("tv_spend",))
    assert "'tv_spend' is given 2 roles" in error_of(weekly_frame(), roles)


def test_no_channels():
    assert "no channels" in error_of(weekly_frame(), DataRoles("date", "revenue", {}))


# --- dates -------------------------------------------------------------------------------------


def test_unparseable_dates_name_lines_and_values(tmp_path):
    frame = weekly_frame()
    frame.loc[3, "date"] = "2021-13-01"
    frame.loc[7, "date"] = None
    path = tmp_path / "bad_dates.csv"
    frame.to_csv(path, index=False)
    message = error_of(path)
    assert str(path) in message and "date column 'date' has 2 value(s) that are not dates" in message
    assert "line 5 ('2021-13-01')" in message and "line 9 (blank)" in message and "YYYY-MM-DD" in message


def test_ambiguous_day_month_order_is_refused():
    frame = weekly_frame(n=3)
    frame["date"] = ["01/02/2021", "01/03/2021", "01/04/2021"]
    message = error_of(frame)
    assert "ambiguous" in message and "'01/02/2021' (row 0)" in message
    assert "2021-01-02 month-first or 2021-02-01 day-first" in message


def test_numeric_dates_are_refused():
    frame = weekly_frame()
    frame["date"] = np.arange(20210104, 20210164)
    assert "holds numbers" in error_of(frame)


def test_duplicate_dates_name_dates_and_lines(tmp_path):
    frame = weekly_frame()
    frame.loc[10, "date"] = frame.loc[9, "date"]
    path = tmp_path / "dups.csv"
    frame.to_csv(path, index=False)
    message = error_of(path)
    assert "repeats 1 date(s): 2021-03-08 (line 11, line 12)" in message and "data.geo" in message


def test_gaps_name_the_missing_dates():
    frame = weekly_frame().drop(index=[5, 6, 20]).reset_index(drop=True)
    message = error_of(frame)
    assert "has gaps" in message and "jump at 2 place(s)" in message
    assert "3 period(s) are missing: 2021-02-08, 2021-02-15, 2021-05-24" in message
    assert "2021-02-01 to 2021-02-22 (21 days)" in message


def test_mixed_7_and_14_day_steps_name_where():
    frame = weekly_frame().drop(index=[30]).reset_index(drop=True)
    message = error_of(frame)
    assert "2021-07-26 to 2021-08-09 (14 days)" in message and "2021-08-02" in message


def test_irregular_steps_name_where():
    frame = weekly_frame()
    frame.loc[12, "date"] = "2021-03-30"  # a Tuesday among Monday weeks
    message = error_of(frame)
    assert "not evenly spaced" in message
    assert "2021-03-22 to 2021-03-30 (8 days)" in message and "2021-03-30 to 2021-04-05 (6 days)" in message


@pytest.mark.parametrize(("freq", "word"), [("MS", "monthly"), ("2W-MON", "14-day")])
def test_unsupported_frequency(freq, word):
    message = error_of(weekly_frame(freq=freq))
    assert word in message and "only daily and weekly" in message


# --- values ------------------------------------------------------------------------------------


def test_non_numeric_values_name_column_dates_and_raw_text(tmp_path):
    frame = weekly_frame().astype({"tv_spend": object})
    frame.loc[2, "tv_spend"] = "1,234"
    frame.loc[4, "tv_spend"] = "n/a"
    message = error_of(frame)
    assert "column 'tv_spend' (spend of channel 'tv'" in message
    assert "2 value(s) that are not numbers: 2021-01-18 ('1,234'), 2021-02-01 ('n/a')" in message
    assert "thousands separators" in message


def test_currency_symbols_get_their_own_fix():
    frame = weekly_frame().astype({"revenue": object})
    frame.loc[0, "revenue"] = "$900"
    assert "currency symbols" in error_of(frame)


@pytest.mark.parametrize(("value", "words"), [
    (np.nan, "is missing on 1 date(s): 2021-02-08"),
    (np.inf, "is infinite on 1 date(s): 2021-02-08"),
    (-5.0, "is negative on 1 date(s): 2021-02-08 (-5)"),
])
@pytest.mark.parametrize(("column", "role"), [
    ("tv_spend", "spend of channel 'tv'"),
    ("search_clicks", "exposure of channel 'search'"),
])
def test_bad_spend_and_exposure_values(value, words, column, role):
    frame = weekly_frame()
    frame.loc[5, column] = value
    message = error_of(frame)
    assert f"column {column!r} ({role}" in message and words in message


def test_missing_values_in_a_csv_name_dates(tmp_path):
    frame = weekly_frame()
    frame.loc[[1, 2, 3, 4, 5, 6, 7], "search_spend"] = np.nan
    path = tmp_path / "blanks.csv"
    frame.to_csv(path, index=False)
    message = error_of(path)
    assert str(path) in message
    assert "missing on 7 date(s): 2021-01-11, 2021-01-18, 2021-01-25, 2021-02-01, 2021-02-08 and 2 more" in message


def test_all_zero_channel():
    frame = weekly_frame()
    frame["tv_spend"] = 0.0
    assert "channel 'tv' (column 'tv_spend') has zero spend on every date" in error_of(frame)
    assert "Drop it from channels" in error_of(frame)


@pytest.mark.parametrize(("value", "words"), [(np.nan, "missing"), (-np.inf, "infinite")])
def test_bad_kpi_values(value, words):
    frame = weekly_frame()
    frame.loc[0, "revenue"] = value
    assert f"column 'revenue' (KPI, data.kpi) is {words} on 1 date(s): 2021-01-04" in error_of(frame)


def test_negative_kpi_is_allowed_but_not_a_nonpositive_mean():
    frame = weekly_frame()
    frame.loc[0, "revenue"] = -10.0
    load_data(frame, ROLES)
    frame["revenue"] -= 5000
    message = error_of(frame)
    assert "KPI column 'revenue' has mean" in message and "must be positive" in message


def test_constant_control():
    frame = weekly_frame()
    frame["price"] = 9.99
    message = error_of(frame)
    assert "control 'price' is constant (9.99 on every date)" in message and "Drop it from controls" in message


def test_missing_control_value():
    frame = weekly_frame()
    frame.loc[59, "price"] = np.nan
    assert "column 'price' (control, controls) is missing on 1 date(s): 2022-02-21" in error_of(frame)


def test_several_problems_reported_together():
    frame = weekly_frame()
    frame.loc[1, "tv_spend"] = -1.0
    frame.loc[2, "price"] = np.nan
    message = error_of(frame)
    assert "2 problems in the data" in message and "  1. column 'tv_spend'" in message
    assert "  2. column 'price'" in message


@pytest.mark.parametrize(("freq", "n", "minimum"), [("W-MON", 30, 52), ("D", 100, 180)])
def test_too_few_periods(freq, n, minimum):
    message = error_of(weekly_frame(n=n, freq=freq))
    assert f"has {n} " in message and f"at least {minimum} are needed" in message
    assert load_data(weekly_frame(n=n, freq=freq), ROLES, min_periods=n).n_periods == n


# --- geo panels --------------------------------------------------------------------------------


def geo_frame(n: int = 60) -> pd.DataFrame:
    parts = [weekly_frame(n, seed=i).assign(region=name) for i, name in enumerate(["north", "south", "west"])]
    return pd.concat(parts, ignore_index=True)


GEO_ROLES = DataRoles("date", "revenue", ROLES.channels, ROLES.controls, geo="region")


def test_geo_panel_sums_media_and_averages_controls():
    frame = geo_frame()
    data = load_data(frame, GEO_ROLES)
    by_date = frame.groupby("date")
    np.testing.assert_allclose(data.kpi.to_numpy(), by_date["revenue"].sum().to_numpy())
    np.testing.assert_allclose(data.exposure["search"].to_numpy(), by_date["search_clicks"].sum().to_numpy())
    np.testing.assert_allclose(data.controls["price"].to_numpy(), by_date["price"].mean().to_numpy())
    assert "Aggregated 3 geos (north, south, west)" in data.notes[0]


def test_load_data_without_aggregation_points_to_the_panel_loader():
    message = error_of(geo_frame(), GEO_ROLES, aggregate_geo=False)
    assert "load_panel" in message and "'region'" in message


def test_geos_with_different_dates():
    frame = geo_frame().drop(index=[62, 63]).reset_index(drop=True)  # south lacks its 3rd and 4th weeks
    message = error_of(frame, GEO_ROLES)
    assert "1 of 3 geos lack some" in message and "'south' lacks 2021-01-18, 2021-01-25" in message


def test_duplicate_geo_date_rows():
    frame = geo_frame()
    frame = pd.concat([frame, frame.iloc[[61]]], ignore_index=True)
    assert "repeat a (geo, date) pair: (south, 2021-01-11)" in error_of(frame, GEO_ROLES)


def test_geo_value_problems_name_the_geo():
    frame = geo_frame()
    frame.loc[65, "tv_spend"] = np.nan
    assert "missing on 1 date(s): 2021-02-08 (geo south)" in error_of(frame, GEO_ROLES)


# --- slicing and scaling -----------------------------------------------------------------------


def test_slice_is_inclusive_and_keeps_provenance():
    data = load_data(weekly_frame(), ROLES)
    part = data.slice("2021-02-01", "2021-03-01")
    assert part.n_periods == 5 and part.dates[0] == pd.Timestamp("2021-02-01")
    assert part.dates[-1] == pd.Timestamp("2021-03-01") and part.sha256 == data.sha256
    assert part.exposure.index.equals(part.dates) and part.controls.index.equals(part.dates)
    assert data.slice(end="2021-01-04").n_periods == 1 and data.slice().n_periods == 60
    with pytest.raises(DataError, match="no periods between"):
        data.slice("2030-01-01")


def test_years_since():
    data = load_data(weekly_frame(), ROLES)
    years = data.years_since("2021-01-04")
    assert years[0] == 0 and years[1] == pytest.approx(7 / 365.25)


def test_scaling_values_and_json_round_trip():
    data = load_data(weekly_frame(), ROLES)
    scaling = series_scaling(data)
    assert scaling.kpi == pytest.approx(data.kpi.mean())
    assert scaling.control_scale["price"] == pytest.approx(data.controls["price"].std(ddof=0))
    assert scaling.time_origin == "2021-01-04"
    again = Scaling.from_dict(json.loads(json.dumps(scaling.to_dict())))
    assert again == scaling
    scaled = scale(data, scaling)
    assert scaled["kpi"].mean() == pytest.approx(1.0)
    np.testing.assert_allclose(scaled["spend"].mean(axis=0), 1.0)
    np.testing.assert_allclose(scaled["controls"].std(axis=0), 1.0)


def test_scaling_from_dict_errors():
    good = series_scaling(load_data(weekly_frame(), ROLES)).to_dict()
    with pytest.raises(DataError, match="lacks control_scale"):
        Scaling.from_dict({k: v for k, v in good.items() if k != "control_scale"})
    with pytest.raises(DataError, match="mean spend of channel 'tv' must be a positive number"):
        Scaling.from_dict(good | {"spend": {"tv": 0.0, "search": 1.0}})
    with pytest.raises(DataError, match="time_origin"):
        Scaling.from_dict(good | {"time_origin": "soon"})


def test_stored_scaling_is_reused_on_new_data_and_aligned_by_name():
    data = load_data(weekly_frame(), ROLES)
    stored = series_scaling(data.slice(end="2021-06-28"))
    # the refresh file has its columns in another order, and the stored dict lists channels reversed
    shuffled = weekly_frame()[["search_spend", "date", "price", "search_clicks", "revenue", "tv_spend"]]
    refresh = load_data(shuffled, ROLES)
    stored = Scaling.from_dict(stored.to_dict() | {"spend": dict(reversed(stored.spend.items()))})
    later = refresh.slice(start="2021-07-05")
    scaled = scale(later, stored)
    np.testing.assert_allclose(scaled["kpi"], later.kpi.to_numpy() / stored.kpi)
    np.testing.assert_allclose(scaled["spend"][:, 0], later.spend["tv"].to_numpy() / stored.spend["tv"])
    # search has an exposure column (ROLES): its media input is exposure over the stored mean exposure
    np.testing.assert_allclose(scaled["spend"][:, 1], later.exposure["search"].to_numpy() / stored.exposure["search"])
    assert scaled["time"][0] == pytest.approx(26 * 7 / 365.25)  # years since the stored origin, not the slice's


def test_scale_refuses_a_channel_the_scaling_lacks():
    data = load_data(weekly_frame(), ROLES)
    stored = series_scaling(data).to_dict()
    del stored["spend"]["search"]
    with pytest.raises(DataError, match="no constant for channel 'search'"):
        scale(data, Scaling.from_dict(stored))


def test_compute_refuses_a_window_without_spend():
    frame = weekly_frame()
    frame.loc[:9, "tv_spend"] = 0.0
    data = load_data(frame, ROLES).slice(end="2021-02-15")
    with pytest.raises(DataError, match="'tv' have no spend between 2021-01-04 and 2021-02-15"):
        series_scaling(data)


def test_mmmdata_is_frozen():
    data = load_data(weekly_frame(), ROLES)
    with pytest.raises(AttributeError):
        data.freq = "D"


def test_csv_text_markers_are_reported_not_read_as_missing(tmp_path):
    frame = weekly_frame().astype({"tv_spend": object})
    frame.loc[4, "tv_spend"] = "n/a"
    frame = pd.concat([frame.assign(region="NA"), frame.assign(region="EU")], ignore_index=True)
    frame.loc[64, "tv_spend"] = 1.0
    path = tmp_path / "markers.csv"
    frame.to_csv(path, index=False)
    message = error_of(path, GEO_ROLES)
    assert "1 value(s) that are not numbers: 2021-02-01 (geo NA) ('n/a')" in message
    assert "These mark missing values" in message


def test_daily_data_get_a_day_of_week_pattern_and_weekly_data_refuse_one():
    from mmm.data.design import build_design
    from mmm.spec.errors import ConfigError
    from mmm.spec.sections import DesignOptions

    daily = load_data(weekly_frame(n=200, freq="D"), ROLES)
    design = build_design(daily, series_scaling(daily), DesignOptions(seasonality_order=2))
    assert design.fourier_names[4:] == ["week_sin_1", "week_cos_1", "week_sin_2", "week_cos_2",
                                        "week_sin_3", "week_cos_3"]
    # three pairs span every 7-day pattern that sums to zero: any weekday profile is representable
    weekday = design.fourier[:, 4:]
    profile = np.array([0.05, -0.08, -0.05, 0.0, 0.03, 0.12, -0.07])[daily.dates.dayofweek]
    coef, *_ = np.linalg.lstsq(weekday, profile, rcond=None)
    np.testing.assert_allclose(weekday @ coef, profile, atol=1e-10)
    assert build_design(daily, series_scaling(daily), DesignOptions(weekly_order=0)).fourier.shape[1] == 4

    weekly = load_data(weekly_frame(), ROLES)
    assert build_design(weekly, series_scaling(weekly), DesignOptions()).fourier.shape[1] == 4
    with pytest.raises(ConfigError, match="needs daily data"):
        build_design(weekly, series_scaling(weekly), DesignOptions(weekly_order=2))
