"""The config sections for events, organic media and treatments: what each accepts, what it refuses (with
the file, the key and the fix), and the resolved config that a run folder stores."""

from __future__ import annotations

from pathlib import Path

import pytest

from mmm.spec.config import Config, ConfigError

BASE = {"data": {"date": "date", "kpi": "revenue"}, "channels": {"tv": "tv_spend"}, "controls": ["price"]}
CALENDAR = "ds,holiday,country,year\n2022-12-25,Christmas Day,DE,2022\n2023-12-25,Christmas Day,DE,2023\n" \
           "2023-10-03,Day of German Unity,DE,2023\n2023-07-04,Independence Day,US,2023\n"


def _config(**extra):
    return Config.from_dict({**BASE, **extra})


def test_dated_and_calendar_events_resolve_to_dated_events(tmp_path):
    (tmp_path / "holidays.csv").write_text(CALENDAR)
    config = Config.from_dict({**BASE, "events": [
        {"name": "black_friday", "dates": ["2023-11-24", "2022-11-25"], "before": 1},
        {"calendar": "holidays.csv", "country": "DE", "after": 1, "geos": ["north"]}]}, base_dir=tmp_path)
    names = [e.name for e in config.events]
    assert names == ["black_friday", "Christmas Day", "Day of German Unity"]
    assert config.events[0].dates == ("2022-11-25", "2023-11-24")  # sorted
    assert config.events[0].columns() == ["black_friday -1", "black_friday"]
    assert config.events[1].columns() == ["Christmas Day", "Christmas Day +1"]
    assert config.events[1].geos == ("north",)
    # the resolved config lists the dates: a run folder never needs the calendar file again
    again = Config.from_dict(config.to_dict())
    assert again.events == config.events
    assert again.to_dict()["model"]["priors"]["event_coef"] == {"dist": "Normal", "mu": 0.0, "sigma": 0.3}
    assert "event_coef" not in _config().to_dict()["model"]["priors"]


def test_organic_and_treatments_round_trip_and_join_the_model_controls():
    config = _config(organic={"newsletter": "sends", "pr": {"column": "pr_reach", "saturation": "hill",
                                                            "priors": {"coef": {"dist": "HalfNormal", "sigma": 0.1}}}},
                     treatments={"promo": "promo_flag", "price_cut": {"column": "discount", "reference": 0}})
    assert config.model_controls == ("price", "promo_flag", "discount")
    assert config.roles().organic == {"newsletter": "sends", "pr": "pr_reach"}
    assert config.treatments[0].reference == "min" and config.treatments[1].reference == 0.0
    assert config.organic[1].prior("coef").params["sigma"] == 0.1
    again = Config.from_dict(config.to_dict())  # every prior written out, the same model
    assert again.to_dict() == config.to_dict() and again.treatments == config.treatments


@pytest.mark.parametrize("extra, words", [
    ({"events": {"name": "x"}}, "`events` is a list"),
    ({"events": [{"name": "x"}]}, "events[0] (x).dates lists the event's dates"),
    ({"events": [{"name": "x", "dates": ["2023-13-01"]}]}, "is not a date"),
    ({"events": [{"name": "x", "dates": ["2023-01-02"], "before": 9}]}, "events[0].before is a whole number"),
    ({"events": [{"name": "x", "dates": ["2023-01-02"], "days": 1}]}, "unknown key `days` in events[0]"),
    ({"events": [{"name": "x", "dates": ["2023-01-02"]}, {"name": "x", "dates": ["2024-01-01"]}]},
     "appear more than once"),
    ({"events": [{"calendar": "missing.csv", "country": "DE"}]}, "file not found"),
    ({"organic": {"news": {"adstock": "geometric"}}}, "organic.news needs a `column`"),
    ({"organic": {"news": {"column": "n", "saturation": "tanh"}}}, "organic.news.saturation 'tanh' is unknown"),
    ({"organic": {"news": {"column": "n", "priors": {"coef": {"dist": "Normal", "mu": 0, "sigma": 1}}}}},
     "organic.news.priors.coef: Normal can draw values outside"),
    ({"treatments": {"promo": {"column": "p", "reference": "median"}}}, "treatments.promo.reference is the level"),
    ({"treatments": {"promo": "price"}}, "both in controls and treatments"),
    ({"organic": {"tv": "tv_organic"}}, "used by more than one of channels, organic and treatments"),
    ({"model": {"priors": {"event_coef": {"dist": "Normal", "mu": 0, "sigma": 1}}}}, "has no `events`"),
])
def test_bad_sections_are_refused_with_the_key_and_the_fix(extra, words):
    with pytest.raises(ConfigError) as err:
        _config(**extra)
    assert words in str(err.value)


def test_a_calendar_names_what_it_lacks(tmp_path):
    (tmp_path / "holidays.csv").write_text(CALENDAR)
    (tmp_path / "bad.csv").write_text("date,name\n2023-01-01,x\n")

    def refused(entry):
        with pytest.raises(ConfigError) as err:
            Config.from_dict({**BASE, "events": [entry]}, base_dir=tmp_path)
        return str(err.value)

    assert "'De' is not in holidays.csv; did you mean 'DE'?" in refused({"calendar": "holidays.csv", "country": "De"})
    assert "did you mean 'Christmas Day'?" in refused({"calendar": "holidays.csv", "country": "DE",
                                                         "names": ["Christmas"]})
    assert "lacks column(s) ds, holiday, country" in refused({"calendar": "bad.csv", "country": "DE"})
    assert "needs `country`" in refused({"calendar": "holidays.csv"})


def test_the_bundled_demo_reads_its_holiday_calendar():
    demo = Path(__file__).resolve().parents[2] / "data" / "robyn_weekly" / "config.yaml"
    config = Config.load(demo)
    assert config.events and all(e.dates for e in config.events)
    assert [o.name for o in config.organic] == ["newsletter"]
