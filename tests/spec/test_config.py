"""Tests for mmm.config (the config contract in DESIGN.md) and mmm.spec.priors.Prior. No fits."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import yaml

from mmm.spec.config import Config, ConfigError
from mmm.spec.sections import (
    DEFAULT_MEDIA_ROAS_SCALE,
    DEFAULT_MEDIA_ROAS_SIGMA,
    DEFAULT_MEDIA_SHARE,
    DEFAULT_MODEL_PRIORS,
    OPTIONAL_MODEL_PRIORS,
    BaselineOptions,
    baseline_as_dict,
    ChannelSpec,
    DiagnosticThresholds,
    FinanceSpec,
    FitSpec,
    default_coef_prior,
    default_roas_prior,
)
from mmm.spec.priors import Prior, PriorError
from mmm.model.transforms import ADSTOCKS, SATURATIONS

# DESIGN.md's minimal config, verbatim (comments included): it must always be accepted.
MINIMAL_YAML = """\
data:
  path: data.csv
  date: date
  kpi: revenue            # the KPI column
  kpi_type: revenue       # or: count (then finance.value_per_kpi converts it)
  geo: region             # optional: a panel with one row per (geo, date)
channels:                 # name -> spend column, or a mapping with more options
  tv: tv_spend
  search: {spend: search_spend, exposure: search_clicks, adstock: geometric, saturation: hill, max_lag: 8}
controls: [price_index, promo]
finance:
  currency: USD
  gross_margin: 0.6       # optional; each finance value may carry `source`/`owner`
fit: {draws: 1000, tune: 1000, chains: 4, seed: 1}
"""


def minimal() -> dict:
    """The minimal config as a fresh dict, to be edited by each error test."""
    return yaml.safe_load(MINIMAL_YAML)


def small(**extra) -> dict:
    """A small national config (no geo), plus top-level overrides."""
    return {"data": {"date": "date", "kpi": "revenue"}, "channels": {"tv": "tv_spend"}, **extra}


def load_text(tmp_path: Path, text: str, name: str = "mmm.yaml") -> Config:
    path = tmp_path / name
    path.write_text(text)
    return Config.load(path)


def config_error(raw: dict) -> str:
    with pytest.raises(ConfigError) as info:
        Config.from_dict(raw, source="cfg.yaml")
    message = str(info.value)
    assert message.startswith("cfg.yaml: "), message  # every message says which file
    return message


# ---- the minimal config ------------------------------------------------------------------


def test_minimal_config_is_accepted(tmp_path):
    config = load_text(tmp_path, MINIMAL_YAML, "quarterly.yaml")

    assert config.name == "quarterly"  # from the file name when not given
    assert config.source == str(tmp_path / "quarterly.yaml")
    assert config.data.path == (tmp_path / "data.csv").resolve()
    assert (config.data.date, config.data.kpi, config.data.kpi_type, config.data.geo) == (
        "date", "revenue", "revenue", "region")
    assert config.data.min_periods is None

    assert config.channel_names == ["tv", "search"]  # user order
    tv = config.channel("tv")
    assert tv == ChannelSpec(name="tv", spend="tv_spend", exposure=None, adstock="geometric", saturation="logistic",
                             max_lag=8, priors={})
    search = config.channel("search")
    assert (search.spend, search.exposure, search.adstock, search.saturation, search.max_lag) == (
        "search_spend", "search_clicks", "geometric", "hill", 8)
    with pytest.raises(KeyError):
        config.channel("radio")

    assert config.controls == ("price_index", "promo")
    assert config.finance.currency == "USD"
    assert config.finance.gross_margin == 0.6
    assert config.finance.margin == 0.6
    assert config.finance.gross_margin_source == "config"
    assert config.finance.value_per_kpi == 1.0
    assert config.finance.value_per_kpi_source == "KPI is revenue"
    assert config.fit == FitSpec(draws=1000, tune=1000, chains=4, seed=1, sampler="nutpie", target_accept=0.9,
                                 adaptation="diag")

    # defaults a user need not write
    assert config.diagnostics == DiagnosticThresholds()
    assert config.window == (None, None)
    assert config.interval == 0.9
    assert config.model.trend is True
    assert config.model.seasonality_order == 2
    assert config.model.likelihood == "normal"


def test_roles_follow_the_config(tmp_path):
    roles = load_text(tmp_path, MINIMAL_YAML).roles()
    assert roles.date == "date" and roles.kpi == "revenue" and roles.geo == "region"
    assert list(roles.channels) == ["tv", "search"]
    assert roles.channels["tv"].spend == "tv_spend" and roles.channels["tv"].exposure is None
    assert roles.channels["search"].exposure == "search_clicks"
    assert roles.controls == ("price_index", "promo")


def test_data_path_is_relative_to_the_config_folder_not_the_cwd(tmp_path, monkeypatch):
    (tmp_path / "configs").mkdir()
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    text = MINIMAL_YAML.replace("path: data.csv", "path: ../inputs/sales.csv")
    config = load_text(tmp_path / "configs", text)
    assert config.data.path == (tmp_path / "inputs" / "sales.csv").resolve()

    absolute = tmp_path / "abs.csv"
    config = load_text(tmp_path / "configs", MINIMAL_YAML.replace("path: data.csv", f"path: {absolute}"))
    assert config.data.path == absolute

    assert Config.from_dict(small(), base_dir=tmp_path).data.path is None  # the path is optional


def test_model_level_defaults_apply_to_every_channel():
    raw = small(channels={"tv": "tv_spend", "radio": {"spend": "radio_spend", "saturation": "hill"}},
                model={"adstock": "delayed", "saturation": "logistic", "max_lag": 12})
    config = Config.from_dict(raw)
    tv, radio = config.channel("tv"), config.channel("radio")
    assert (tv.adstock, tv.saturation, tv.max_lag) == ("delayed", "logistic", 12)
    assert (radio.adstock, radio.saturation, radio.max_lag) == ("delayed", "hill", 12)
    assert tv.param_names() == ("coef", "alpha", "theta", "lam")
    assert radio.param_names() == ("coef", "alpha", "theta", "half_saturation", "slope")


def test_name_defaults_to_mmm_for_a_plain_dict():
    assert Config.from_dict(small()).name == "mmm"
    assert Config.from_dict(small(name="brand q3")).name == "brand q3"


# ---- resolved dict, round trip, hash -----------------------------------------------------


@pytest.mark.candidates  # the package's default, not the tests' one specification (tests/conftest.py)
def test_to_dict_fills_every_default(tmp_path):
    config = load_text(tmp_path, MINIMAL_YAML)
    resolved = config.to_dict()

    assert list(resolved) == ["name", "data", "channels", "controls", "model", "finance", "fit", "diagnostics",
                              "window", "report", "holdout"]
    assert resolved["data"] == {"path": str((tmp_path / "data.csv").resolve()), "date": "date", "kpi": "revenue",
                                "kpi_type": "revenue", "geo": "region"}
    assert list(resolved["channels"]) == ["tv", "search"]
    # coef's default depends on the data (the default ROAS prior, model.media_roas_scale): only overrides are written
    tv_priors = resolved["channels"]["tv"]["priors"]  # default saturation: logistic
    assert list(tv_priors) == ["alpha", "lam"]
    assert tv_priors["lam"] == SATURATIONS["logistic"].default_priors["lam"].to_dict()
    priors = resolved["channels"]["search"]["priors"]  # saturation: hill, as written
    assert list(priors) == ["alpha", "half_saturation", "slope"]
    assert priors["alpha"] == ADSTOCKS["geometric"].default_priors["alpha"].to_dict()
    assert priors["half_saturation"] == SATURATIONS["hill"].default_priors["half_saturation"].to_dict()
    assert priors["slope"] == SATURATIONS["hill"].default_priors["slope"].to_dict()
    assert "exposure" not in resolved["channels"]["tv"]
    assert resolved["channels"]["search"]["exposure"] == "search_clicks"
    assert resolved["channels"]["search"]["max_lag"] == 8
    assert resolved["controls"] == ["price_index", "promo"]
    assert resolved["model"] == {"trend": True, "seasonality": {"order": 2, "weekly": "auto"}, "likelihood": "normal",
                                 "media_effect": "steady", "media_roas_scale": DEFAULT_MEDIA_ROAS_SCALE, "media_share": DEFAULT_MEDIA_SHARE,
                                 "media_roas_sigma": DEFAULT_MEDIA_ROAS_SIGMA, "candidates": "auto",
                                 # event_coef only with events, the media effect's only when it varies
                                 # (OPTIONAL_MODEL_PRIORS)
                                 "priors": {n: p.to_dict() for n, p in DEFAULT_MODEL_PRIORS.items()
                                            if n not in OPTIONAL_MODEL_PRIORS},
                                 "geo": {"adstock": "shared"},  # the config has data.geo
                                 # a panel always writes its baseline: shared shocks by default
                                 "baseline": baseline_as_dict(BaselineOptions(shocks="auto"))}
    assert resolved["finance"] == {"currency": "USD", "gross_margin": 0.6, "gross_margin_source": "config",
                                   "value_per_kpi": 1.0, "value_per_kpi_source": "KPI is revenue",
                                   "hurdle_rate": 0.0, "clv": None, "clv_source": None,
                                   "discount_rate": None, "discount_rate_source": None,
                                   "gross_margin_by_channel": {}, "gross_margin_by_channel_source": {}}
    assert resolved["fit"] == {"draws": 1000, "tune": 1000, "chains": 4, "seed": 1, "sampler": "nutpie",
                               "target_accept": 0.9, "adaptation": "diag", "thin": 1,
                               "posterior_dtype": "float64", "candidate_workers": "auto"}
    assert resolved["diagnostics"] == {"max_rhat": 1.01, "min_ess_bulk_per_chain": 100.0, "max_divergences": 0}
    assert resolved["window"] == {"start": None, "end": None}
    assert resolved["report"] == {"interval": 0.9}
    assert resolved["holdout"] == {"periods": 0}
    assert config.to_yaml() == yaml.safe_dump(resolved, sort_keys=False)


def test_round_trip_through_yaml_is_exact(tmp_path):
    raw = minimal()
    raw["channels"]["tv"] = {"spend": "tv_spend", "priors": {"alpha": {"dist": "Beta", "alpha": 5, "beta": 2}}}
    raw["window"] = {"start": "2023-01-02", "end": "2023-12-25"}
    raw["report"] = {"interval": 0.8}
    raw["data"]["kpi_type"] = "count"  # a CLV values acquired customers, so the KPI counts them
    raw["finance"]["value_per_kpi"] = 45.0
    raw["finance"]["clv"] = {"value": 120, "source": "CRM cohort study", "owner": "finance"}
    config = Config.from_dict(raw, base_dir=tmp_path, source="orig.yaml")
    resolved = config.to_dict()

    again = Config.from_dict(yaml.safe_load(config.to_yaml()), base_dir=tmp_path / "elsewhere", source="copy.yaml")
    assert again.to_dict() == resolved
    assert again.to_yaml() == config.to_yaml()  # same order too (channel order is meaningful)
    assert again.sha256() == config.sha256()
    assert again.channel("tv").prior("alpha") == Prior("Beta", alpha=5, beta=2)
    assert again.window == ("2023-01-02", "2023-12-25")
    assert again.interval == 0.8
    assert (again.finance.clv, again.finance.clv_source) == (120.0, "CRM cohort study, finance")
    # and a second trip changes nothing either
    third = Config.from_dict(yaml.safe_load(again.to_yaml()))
    assert third.to_yaml() == config.to_yaml()


def test_sha256_is_stable_and_changes_with_a_prior(tmp_path):
    config = load_text(tmp_path, MINIMAL_YAML)
    digest = config.sha256()
    assert len(digest) == 64 and int(digest, 16) >= 0
    assert load_text(tmp_path, MINIMAL_YAML).sha256() == digest  # same file, same hash

    def digest_of(raw: dict) -> str:
        return Config.from_dict(raw, base_dir=tmp_path, source=str(tmp_path / "mmm.yaml")).sha256()

    assert digest_of(minimal()) == digest  # same content from a dict

    raw = minimal()
    raw["channels"]["tv"] = {"spend": "tv_spend", "priors": {"coef": {"dist": "HalfNormal", "sigma": 0.6}}}
    assert digest_of(raw) != digest

    raw = minimal()
    raw["channels"]["search"]["priors"] = {"slope": {"dist": "LogNormal", "mu": 0, "sigma": 0.31}}
    assert digest_of(raw) != digest

    raw = minimal()
    raw["model"] = {"priors": {"sigma": {"dist": "HalfNormal", "sigma": 0.3}}}
    assert digest_of(raw) != digest

    # writing a transform's default prior out explicitly is the same config
    raw = minimal()
    raw["channels"]["tv"] = {"spend": "tv_spend", "priors": {"alpha": {"dist": "Beta", "alpha": 2, "beta": 2}}}
    assert digest_of(raw) == digest

    # the fit seed is part of the config
    assert config.with_fit(seed=2).sha256() != digest


# ---- finance -----------------------------------------------------------------------------


def test_finance_values_may_carry_source_and_owner():
    raw = small(finance={"currency": "EUR",
                         "gross_margin": {"value": 0.45, "source": "FY24 P&L", "owner": "Jane (FP&A)"},
                         "hurdle_rate": 0.1})
    finance = Config.from_dict(raw).finance
    assert finance.currency == "EUR"
    assert finance.gross_margin == 0.45 and finance.margin == 0.45
    assert finance.gross_margin_source == "FY24 P&L, Jane (FP&A)"
    assert finance.hurdle_rate == 0.1

    only_source = Config.from_dict(small(finance={"gross_margin": {"value": 0.5, "source": "board deck"}})).finance
    assert (only_source.gross_margin, only_source.gross_margin_source) == (0.5, "board deck")

    plain = Config.from_dict(small(finance={"gross_margin": 0.7, "gross_margin_source": "memo 12"})).finance
    assert (plain.gross_margin, plain.gross_margin_source) == (0.7, "memo 12")


def test_missing_gross_margin_means_margin_one():
    finance = Config.from_dict(small()).finance
    assert finance == FinanceSpec(value_per_kpi_source="KPI is revenue")
    assert finance.gross_margin is None
    assert finance.gross_margin_source is None
    assert finance.margin == 1.0


def test_count_kpi_takes_value_per_kpi():
    raw = small(data={"date": "date", "kpi": "orders", "kpi_type": "count"},
                finance={"value_per_kpi": {"value": 85, "source": "avg order value, FY24"}})
    finance = Config.from_dict(raw).finance
    assert finance.value_per_kpi == 85.0
    assert finance.value_per_kpi_source == "avg order value, FY24"
    # value_per_kpi: 1 is harmless with a revenue KPI
    assert Config.from_dict(small(finance={"value_per_kpi": 1})).finance.value_per_kpi == 1.0


# ---- errors: each names the key and the fix ----------------------------------------------


def test_unknown_top_level_key_suggests_the_close_match():
    raw = minimal()
    raw["chanels"] = raw.pop("channels")
    message = config_error(raw)
    assert "unknown key `chanels`" in message and "top level" in message
    assert "did you mean `channels`?" in message


def test_unknown_key_without_close_match_lists_allowed_keys():
    message = config_error(small(zzz=1))
    assert "unknown key `zzz`" in message
    assert "allowed keys: name, data, channels, controls" in message


def test_missing_sections_are_named():
    assert "missing `channels` section" in config_error({"data": {"date": "d", "kpi": "k"}})
    assert "missing `data` section" in config_error({"channels": {"tv": "tv_spend"}})
    assert "a config is a YAML mapping" in config_error(["data", "channels"])


def test_unknown_channel_key():
    raw = minimal()
    raw["channels"]["search"]["exposre"] = raw["channels"]["search"].pop("exposure")
    message = config_error(raw)
    assert "unknown key `exposre` in channels.search" in message
    assert "did you mean `exposure`?" in message


def test_channel_without_spend():
    raw = small(channels={"tv": {"exposure": "tv_grps"}})
    assert "channels.tv needs a `spend` column" in config_error(raw)
    assert "`channels` maps channel names to spend columns" in config_error(small(channels={}))


@pytest.mark.parametrize(("key", "value", "names"), [
    ("adstock", "geometrc", ADSTOCKS), ("saturation", "michaelis", SATURATIONS)])
def test_unknown_transform_name(key, value, names):
    raw = minimal()
    raw["channels"]["search"][key] = value
    message = config_error(raw)
    assert f"channels.search.{key} '{value}' is unknown" in message
    assert "use one of " + ", ".join(names) in message


@pytest.mark.parametrize("max_lag", [0, -1, 105, 2.5, "8", True])
def test_bad_max_lag(max_lag):
    raw = minimal()
    raw["channels"]["search"]["max_lag"] = max_lag
    message = config_error(raw)
    assert "channels.search.max_lag must be a whole number of periods in 1..104" in message
    assert repr(max_lag) in message


def test_bad_prior_dist_names_channel_and_param():
    raw = small(channels={"tv": {"spend": "tv_spend", "priors": {"alpha": {"dist": "Betta", "alpha": 2}}}})
    message = config_error(raw)
    assert "channels.tv.priors.alpha" in message
    assert "unknown prior distribution 'Betta'" in message and "Beta" in message


def test_missing_prior_parameter_names_channel_and_param():
    raw = small(channels={"tv": {"spend": "tv_spend", "priors": {"alpha": {"dist": "Beta", "alpha": 5}}}})
    message = config_error(raw)
    assert "channels.tv.priors.alpha" in message
    assert "prior Beta takes parameters alpha, beta; missing beta" in message


def test_prior_without_dist_key():
    raw = small(channels={"tv": {"spend": "tv_spend", "priors": {"coef": 0.5}}})
    message = config_error(raw)
    assert "channels.tv.priors.coef" in message and "'dist' key" in message


def test_count_kpi_needs_value_per_kpi():
    message = config_error(small(data={"date": "date", "kpi": "orders", "kpi_type": "count"}))
    assert "data.kpi_type is count" in message
    assert "finance.value_per_kpi" in message and "is required" in message


def test_value_per_kpi_with_revenue_kpi_is_refused():
    message = config_error(small(finance={"value_per_kpi": 40}))
    assert "data.kpi_type is revenue" in message
    assert "remove finance.value_per_kpi or set data.kpi_type: count" in message


def test_bad_kpi_type():
    message = config_error(small(data={"date": "date", "kpi": "k", "kpi_type": "units"}))
    assert "data.kpi_type must be `revenue` or `count`; got 'units'" in message


@pytest.mark.parametrize("margin", [0, -0.2, 1.5, 60])
def test_gross_margin_outside_unit_interval(margin):
    message = config_error(small(finance={"gross_margin": margin}))
    assert "finance.gross_margin is a share in (0, 1]" in message
    assert repr(float(margin)) in message


def test_gross_margin_of_one_is_allowed():
    assert Config.from_dict(small(finance={"gross_margin": 1})).finance.margin == 1.0


def test_finance_value_that_is_not_a_number():
    message = config_error(small(finance={"gross_margin": "sixty percent"}))
    assert "finance.gross_margin must be a number; got 'sixty percent'" in message
    message = config_error(small(finance={"gross_margin": {"value": 0.6, "sorce": "x"}}))
    assert "unknown key `sorce` in finance.gross_margin; did you mean `source`?" in message


def test_bad_sampler():
    message = config_error(small(fit={"sampler": "stan"}))
    assert "fit.sampler must be one of nutpie, pymc, numpyro, blackjax; got 'stan'" in message


@pytest.mark.parametrize(("key", "value"), [("draws", 0), ("draws", -5), ("tune", 1.5), ("chains", "4"),
                                            ("draws", True)])
def test_non_positive_fit_counts(key, value):
    message = config_error(small(fit={key: value}))
    assert f"fit.{key} must be a positive whole number; got {value!r}" in message


@pytest.mark.parametrize("seed", [None, "abc", -1, 1.5])
def test_bad_seed(seed):
    message = config_error(small(fit={"seed": seed}))
    assert "fit.seed must be a whole number >= 0" in message and repr(seed) in message


@pytest.mark.parametrize("target_accept", [0.3, 1.0, "high"])
def test_bad_target_accept(target_accept):
    message = config_error(small(fit={"target_accept": target_accept}))
    assert f"fit.target_accept must be in [0.5, 1); got {target_accept!r}" in message


def test_fit_numbers_are_plain_ints():
    import numpy as np

    fit = Config.from_dict(small(fit={"draws": np.int64(200), "seed": np.int64(3)})).fit
    assert (fit.draws, fit.seed) == (200, 3)
    assert type(fit.draws) is int and type(fit.seed) is int


def test_unknown_fit_key():
    message = config_error(small(fit={"draw": 100}))
    assert "unknown key `draw` in fit; did you mean `draws`?" in message


def test_missing_data_date():
    raw = minimal()
    del raw["data"]["date"]
    assert "data.date is required (the name of the date column)" in config_error(raw)
    raw = minimal()
    raw["data"]["kpi"] = ""
    assert "data.kpi is required" in config_error(raw)


def test_missing_config_file(tmp_path):
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError) as info:
        Config.load(missing)
    assert f"config file not found: {missing}" in str(info.value)
    assert "Check the path" in str(info.value)


def test_invalid_yaml(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("data: {date: date\nchannels: [\n")
    with pytest.raises(ConfigError) as info:
        Config.load(path)
    assert str(info.value).startswith(f"{path}: not valid YAML")


def test_empty_file_is_not_a_config(tmp_path):
    path = tmp_path / "empty.yaml"
    path.write_text("")
    with pytest.raises(ConfigError, match="a config is a YAML mapping with at least `data` and `channels`"):
        Config.load(path)


@pytest.mark.parametrize("controls", ["price_index", ["price", 3]])
def test_controls_must_be_a_list_of_names(controls):
    message = config_error(small(controls=controls))
    assert "`controls` is a list of column names, e.g. [price_index, promo]" in message


def test_bad_window_date():
    message = config_error(small(window={"start": "2023-13-45"}))
    assert "window date '2023-13-45' is not a date (write YYYY-MM-DD)" in message
    assert "unknown key `begin` in window; allowed keys: start, end" in config_error(
        small(window={"begin": "2023-01-01"}))
    assert Config.from_dict(small(window={"start": "2023-01-02"})).window == ("2023-01-02", None)


@pytest.mark.parametrize("interval", [0, 1, 1.5, -0.1])
def test_report_interval_out_of_range(interval):
    message = config_error(small(report={"interval": interval}))
    assert "report.interval must be between 0 and 1 (e.g. 0.9)" in message


def test_report_section_is_checked():
    assert "unknown key `intervall` in report; did you mean `interval`?" in config_error(
        small(report={"intervall": 0.8}))
    assert "report.interval must be a number" in config_error(small(report={"interval": "wide"}))
    assert "`report` must be a mapping" in config_error(small(report=0.8))


def test_bad_diagnostics_threshold():
    assert "unknown key `max_rhatt` in diagnostics" in config_error(small(diagnostics={"max_rhatt": 1.05}))
    message = config_error(small(diagnostics={"max_rhat": "loose"}))
    assert "diagnostics.max_rhat must be a number; got 'loose'" in message
    assert Config.from_dict(small(diagnostics={"max_rhat": 1.05})).diagnostics.max_rhat == 1.05


def test_bad_model_options():
    assert "model.likelihood must be one of normal, student_t; got 'cauchy'" in config_error(
        small(model={"likelihood": "cauchy"}))
    assert "model.seasonality.order must be a whole number 0..10" in config_error(
        small(model={"seasonality": {"order": 11}}))
    assert Config.from_dict(small(model={"seasonality": False})).model.seasonality_order == 0
    assert "model.seasonality.weekly is the day-of-week pattern of daily data" in config_error(
        small(model={"seasonality": {"weekly": 7}}))
    weekly = Config.from_dict(small(model={"seasonality": {"order": 1, "weekly": 2}}))
    assert (weekly.model.weekly_order, weekly.design.weekly_order) == (2, 2)
    assert Config.from_dict(weekly.to_dict()).model.weekly_order == 2
    assert Config.from_dict(small(model={"seasonality": {"weekly": False}})).model.weekly_order == 0
    assert Config.from_dict(small()).to_dict()["model"]["seasonality"] == {"order": 2, "weekly": "auto"}
    assert "unknown key `sigmma` in model.priors; did you mean `sigma`?" in config_error(
        small(model={"priors": {"sigmma": {"dist": "HalfNormal", "sigma": 1}}}))


# ---- prior overrides ---------------------------------------------------------------------


def test_channel_prior_override():
    raw = small(channels={"tv": {"spend": "tv_spend", "priors": {"alpha": {"dist": "Beta", "alpha": 5, "beta": 2}}},
                          "search": "search_spend"})
    config = Config.from_dict(raw)
    assert config.channel("tv").prior("alpha") == Prior("Beta", alpha=5, beta=2)
    assert config.channel("search").prior("alpha") == ADSTOCKS["geometric"].default_priors["alpha"]
    assert config.channel("search").prior("alpha") == Prior("Beta", alpha=2, beta=2)
    # the un-overridden parameters of tv keep their defaults
    assert config.channel("tv").prior("lam") == SATURATIONS["logistic"].default_priors["lam"]
    assert config.channel("tv").prior("coef") is None  # data-scaled default, see default_coef_prior
    with pytest.raises(KeyError):
        config.channel("tv").prior("slope")  # a hill parameter on a logistic channel
    assert config.to_dict()["channels"]["tv"]["priors"]["alpha"] == {"dist": "Beta", "alpha": 5, "beta": 2}
    assert config.to_dict()["channels"]["search"]["priors"]["alpha"] == {"dist": "Beta", "alpha": 2, "beta": 2}


def test_coef_and_model_prior_overrides():
    raw = small(channels={"tv": {"spend": "tv_spend", "priors": {"coef": {"dist": "LogNormal", "mu": -1,
                                                                           "sigma": 0.4}}}},
                model={"priors": {"intercept": {"dist": "Normal", "mu": 1.0, "sigma": 0.1}}})
    config = Config.from_dict(raw)
    assert config.channel("tv").prior("coef") == Prior("LogNormal", mu=-1, sigma=0.4)
    assert config.model.prior("intercept") == Prior("Normal", mu=1.0, sigma=0.1)
    assert config.model.prior("sigma") == DEFAULT_MODEL_PRIORS["sigma"]
    resolved = config.to_dict()
    assert resolved["channels"]["tv"]["priors"]["coef"] == {"dist": "LogNormal", "mu": -1, "sigma": 0.4}
    assert resolved["model"]["priors"]["intercept"] == {"dist": "Normal", "mu": 1.0, "sigma": 0.1}
    again = Config.from_dict(yaml.safe_load(config.to_yaml()))
    assert again.channel("tv").prior("coef") == Prior("LogNormal", mu=-1, sigma=0.4)
    assert again.sha256() == config.sha256()


def test_default_coef_prior_scales_with_the_channel():
    # at its median, half saturation at the channel's mean spend means ROAS = the median
    assert default_coef_prior(0.1, 3.0) == Prior("LogNormal", mu=float(np.log(2.0 * 3.0 * 0.1)),
                                                 sigma=DEFAULT_MEDIA_ROAS_SIGMA)
    assert default_coef_prior(0.1, 5, value_per_kpi=0.5, sigma=0.8) == Prior("LogNormal", mu=float(np.log(2.0)),
                                                                             sigma=0.8)
    assert default_roas_prior(2.0) == Prior("LogNormal", mu=float(np.log(2.0)), sigma=DEFAULT_MEDIA_ROAS_SIGMA)


def test_default_roas_prior_median_is_auto_or_a_number():
    opts = Config.from_dict(small()).model
    assert (opts.media_roas_scale, opts.media_share, opts.media_roas_sigma) == (
        DEFAULT_MEDIA_ROAS_SCALE, DEFAULT_MEDIA_SHARE, DEFAULT_MEDIA_ROAS_SIGMA)
    assert (DEFAULT_MEDIA_ROAS_SCALE, DEFAULT_MEDIA_SHARE) == ("auto", 0.15)
    with pytest.raises(RuntimeError, match="not worked out from the data"):
        opts.roas_median  # noqa: B018 - "auto" needs the data (mmm.model.roas_prior.resolve_media_scale)
    config = Config.from_dict(small(model={"media_roas_scale": 5, "media_roas_sigma": 0.8}))
    assert config.model.media_roas_scale == 5.0 and config.model.roas_median == 5.0
    written = config.to_dict()["model"]
    assert (written["media_roas_scale"], written["media_roas_sigma"]) == (5.0, 0.8) and "media_share" not in written
    assert Config.from_dict(small(model={"media_share": 0.3})).to_dict()["model"]["media_share"] == 0.3
    for model, words in (({"media_roas_scale": 0}, "model.media_roas_scale is the default ROAS prior's median"),
                         ({"media_roas_scale": "high"}, "model.media_roas_scale is the default ROAS prior's median"),
                         ({"media_roas_scale": True}, "model.media_roas_scale is the default ROAS prior's median"),
                         ({"media_roas_scale": 3, "media_share": 0.2}, "only when model.media_roas_scale is auto"),
                         ({"media_share": 1.5}, "model.media_share must be a number between 0 and 1"),
                         ({"media_roas_sigma": 0}, "model.media_roas_sigma is the default ROAS prior's log-scale sd")):
        assert words in config_error(small(model=model))


def test_override_of_a_parameter_the_transform_lacks_is_an_error():
    raw = small(channels={"tv": {"spend": "tv_spend", "saturation": "hill",
                                 "priors": {"lam": {"dist": "Gamma", "alpha": 2, "beta": 2}}}})
    message = config_error(raw)
    assert "unknown key `lam` in channels.tv.priors" in message
    assert "coef, alpha, half_saturation, slope" in message
    # but lam is right for a logistic channel
    raw["channels"]["tv"]["saturation"] = "logistic"
    assert Config.from_dict(raw).channel("tv").prior("lam") == Prior("Gamma", alpha=2, beta=2)


# ---- with_fit ----------------------------------------------------------------------------


def test_with_fit_changes_only_the_given_settings(tmp_path):
    config = load_text(tmp_path, MINIMAL_YAML)
    before = copy.deepcopy(config.to_dict())
    quick = config.with_fit(draws=10, seed=None)
    assert quick.fit == FitSpec(draws=10, tune=1000, chains=4, seed=1, sampler="nutpie", target_accept=0.9)
    after = quick.to_dict()
    assert after.pop("fit") != before.pop("fit")
    assert after == before
    assert config.fit.draws == 1000  # the original is untouched
    assert config.with_fit(draws=None, seed=None) is config
    assert config.with_fit(sampler="pymc", chains=2).fit.sampler == "pymc"
    with pytest.raises(ConfigError, match="fit.draws must be a positive whole number"):
        config.with_fit(draws=0)


# ---- Prior -------------------------------------------------------------------------------


def test_prior_equality_hash_repr_and_dict():
    a = Prior("Beta", alpha=2, beta=3)
    assert a == Prior("Beta", {"alpha": 2, "beta": 3})
    assert a == Prior("Beta", {"alpha": 2}, beta=3)
    assert a != Prior("Beta", alpha=3, beta=2)
    assert a != Prior("Gamma", alpha=2, beta=3)
    assert a != {"dist": "Beta", "alpha": 2, "beta": 3}
    assert hash(a) == hash(Prior("Beta", alpha=2, beta=3))
    assert len({a, Prior("Beta", alpha=2, beta=3), Prior("Beta", alpha=3, beta=2)}) == 2
    assert repr(a) == "Prior('Beta', alpha=2, beta=3)"
    assert a.to_dict() == {"dist": "Beta", "alpha": 2, "beta": 3}
    assert a.support == "unit"
    assert Prior.parse({"dist": "Beta", "alpha": 2, "beta": 3}) == a
    assert Prior.parse(a) is a
    vector = Prior("Normal", mu=[0.0, 1.0], sigma=1)
    assert vector.to_dict() == {"dist": "Normal", "mu": [0.0, 1.0], "sigma": 1}


def test_equal_priors_hash_equal():
    a = Prior("Beta", alpha=2, beta=3)
    for b in (Prior("Beta", alpha=2.0, beta=3.0), Prior("Beta", beta=3, alpha=2)):
        assert a == b
        assert hash(a) == hash(b)


def test_prior_scipy_quantiles():
    assert Prior("HalfNormal", sigma=1).scipy().median() == pytest.approx(0.6744897501960817)
    assert Prior("HalfNormal", sigma=2).scipy().ppf(0.5) == pytest.approx(2 * 0.6744897501960817)
    assert Prior("Normal", mu=1, sigma=2).scipy().ppf(0.975) == pytest.approx(1 + 2 * 1.959963984540054)
    assert Prior("Beta", alpha=2, beta=2).scipy().median() == pytest.approx(0.5)
    assert Prior("Beta", alpha=2, beta=3).scipy().mean() == pytest.approx(0.4)
    assert Prior("LogNormal", mu=0, sigma=0.75).scipy().median() == pytest.approx(1.0)
    assert Prior("Gamma", alpha=2, beta=0.5).scipy().mean() == pytest.approx(4.0)  # beta is a rate
    assert Prior("Exponential", lam=2).scipy().median() == pytest.approx(0.34657359, rel=1e-6)  # ln 2 / 2
    assert Prior("Uniform", lower=1, upper=3).scipy().ppf(0.25) == pytest.approx(1.5)


def test_prior_errors():
    with pytest.raises(PriorError, match="unknown prior distribution 'Cauchy'; use one of: Beta, Exponential"):
        Prior("Cauchy", alpha=0, beta=1)
    with pytest.raises(PriorError, match="prior Normal takes parameters mu, sigma; unknown scale"):
        Prior("Normal", mu=0, sigma=1, scale=2)
    with pytest.raises(PriorError, match="prior Normal takes parameters mu, sigma; missing sigma"):
        Prior("Normal", mu=0)
    with pytest.raises(PriorError, match="missing sigma; unknown sd"):
        Prior("Normal", mu=0, sd=1)
    with pytest.raises(PriorError, match="parameter sigma=nan is not a finite number"):
        Prior("HalfNormal", sigma=float("nan"))
    with pytest.raises(PriorError, match=r"tv.coef: prior HalfNormal takes parameters sigma; unknown mu"):
        Prior.parse({"dist": "HalfNormal", "mu": 0, "sigma": 1}, "tv.coef")


# ---- parameter supports and value checks (review fixes) -----------------------------------


def test_priors_outside_the_parameters_range_are_refused():
    raw = small(channels={"tv": {"spend": "tv_spend", "priors": {"alpha": {"dist": "Normal", "mu": 0.5, "sigma": 1}}}})
    message = config_error(raw)
    assert "channels.tv.priors.alpha" in message and "between 0 and 1" in message
    raw = small(channels={"tv": {"spend": "tv_spend", "priors": {"coef": {"dist": "Normal", "mu": 0, "sigma": 1}}}})
    assert "coef must be positive" in config_error(raw)
    raw = small(channels={"tv": {"spend": "tv_spend", "priors": {"alpha": {"dist": "Uniform", "lower": 0,
                                                                            "upper": 0.9}}}})
    assert Config.from_dict(raw).channel("tv").prior("alpha") == Prior("Uniform", lower=0, upper=0.9)
    with pytest.raises(PriorError, match="must be positive"):
        Prior("HalfNormal", sigma=-1)
    with pytest.raises(PriorError, match="below upper"):
        Prior("Uniform", lower=1, upper=0)


def test_silent_misreadings_are_errors():
    assert "did you mean `order`" in config_error(small(model={"seasonality": {"oder": 4}}))
    assert "model.trend must be true or false" in config_error(small(model={"trend": "false"}))
    assert "finance.hurdle_rate must be a number" in config_error(small(finance={"hurdle_rate": "8%"}))
    assert "data.min_periods must be a positive whole number" in config_error(
        small(data={"path": "d.csv", "date": "date", "kpi": "revenue", "min_periods": "ten"}))


def test_clv_must_be_positive_and_needs_a_customer_count():
    assert "finance.clv (value of an acquired customer) must be positive" in config_error(
        small(data={"path": "d.csv", "date": "date", "kpi": "customers", "kpi_type": "count"},
              finance={"value_per_kpi": 80, "clv": -5}))
    assert "needs a KPI that counts customers" in config_error(small(finance={"clv": 300}))
    ok = Config.from_dict(small(data={"path": "d.csv", "date": "date", "kpi": "customers", "kpi_type": "count"},
                                finance={"value_per_kpi": 80, "clv": {"value": 300, "source": "CRM 2025"}}))
    assert ok.finance.clv == 300 and ok.finance.clv_source == "CRM 2025"


def test_gross_margin_per_channel():
    raw = small(channels={"tv": "tv_spend", "search": "search_spend"},
                finance={"gross_margin": {"tv": 0.5, "search": {"value": 0.7, "source": "e-com P&L", "owner": "FP&A"},
                                          "default": 0.6}})
    finance = Config.from_dict(raw).finance
    assert finance.margin_for("tv") == 0.5 and finance.margin_for("search") == 0.7 and finance.margin == 0.6
    assert finance.gross_margin_by_channel_source["search"] == "e-com P&L, FP&A"
    # round trip through the resolved config
    again = Config.from_dict(Config.from_dict(raw).to_dict())
    assert again.finance == finance
    # a typo in a channel name, or a margin out of range, is an error
    raw["finance"]["gross_margin"]["tvv"] = 0.4
    assert "names channel(s) tvv" in config_error(raw)
    raw["finance"]["gross_margin"] = {"tv": 1.5}
    assert "gross_margin for tv is a share in (0, 1]" in config_error(raw)


def test_carry_over_no_config_wrote_follows_the_data_frequency():
    """8 periods of weekly data, 8 weeks of days on daily data, and the adstock priors' weekly beliefs in days;
    what a config wrote is kept as written."""
    plain = Config.from_dict(small(organic={"news": "sends"}))
    assert [c.max_lag for c in plain.channels] == [8] and plain.for_frequency("W") is plain
    daily = plain.for_frequency("D")
    assert daily.channels[0].max_lag == daily.organic[0].max_lag == 56
    assert Config.from_dict(daily.to_dict()).for_frequency("D").channels[0].max_lag == 56  # a fitted config keeps it
    written = Config.from_dict(small(model={"max_lag": 6},
                                     channels={"tv": "tv_spend", "search": {"spend": "s", "max_lag": 3}}))
    assert [c.max_lag for c in written.for_frequency("D").channels] == [6, 3]
    # the daily retention prior is the weekly one in days: its median to the 7th power is the weekly median 0.5
    alpha = daily.channels[0].prior("alpha")
    assert (alpha.dist, plain.channels[0].prior("alpha").params) == ("Beta", {"alpha": 2, "beta": 2})
    draws = np.random.default_rng(0).beta(alpha.params["alpha"], alpha.params["beta"], 200_000) ** 7
    np.testing.assert_allclose(np.quantile(draws, [0.05, 0.5, 0.95]), [0.135, 0.5, 0.865], atol=0.01)
    own = Config.from_dict(small(channels={"tv": {"spend": "tv", "adstock": "delayed",
                                                  "priors": {"theta": {"dist": "HalfNormal", "sigma": 3}}}}))
    delayed = own.for_frequency("D").channels[0]
    assert delayed.prior("theta").params == {"sigma": 3} and delayed.prior("alpha").params["alpha"] > 100
    assert "model.max_lag must be a whole number of periods in 1..104" in config_error(small(model={"max_lag": 0}))
