"""Assumptions register and reconciliation, read from a hand-built run folder."""

from __future__ import annotations

import json
from pathlib import Path

import jinja2
import numpy as np
import pandas as pd
import pytest
import yaml

from mmm.spec.config import Config
from mmm.report.register import ReconciliationError, assumptions_register, prior_text, reconcile
from mmm.spec.priors import Prior
from mmm.spec.sections import DEFAULT_MEDIA_ROAS_SIGMA

WINDOW = ("2023-01-09", "2023-03-27")  # inside the data: rows outside it must not count


def make_run(root: Path) -> Path:
    run_dir = root / "run"
    run_dir.mkdir()
    raw = {
        "data": {"path": "data.csv", "date": "week", "kpi": "sales"},
        "channels": {"tv": {"spend": "tv_spend", "priors": {"alpha": {"dist": "Beta", "alpha": 3, "beta": 1}}},
                     "search": {"spend": "search_spend", "saturation": "hill"}},
        "controls": ["price"],
        "finance": {"currency": "EUR", "gross_margin": {"value": 0.6, "owner": "finance"}},
        "window": {"start": WINDOW[0], "end": WINDOW[1]},
    }
    stored = Config.from_dict(raw, base_dir=run_dir).to_dict()
    stored["data"]["path"] = "data.csv"
    (run_dir / "config.yaml").write_text(yaml.safe_dump(stored, sort_keys=False))

    rng = np.random.default_rng(0)
    dates = pd.date_range("2023-01-02", periods=16, freq="W-MON")
    data = pd.DataFrame({"week": dates.strftime("%Y-%m-%d"), "sales": rng.uniform(900, 1100, 16).round(3),
                         "tv_spend": rng.uniform(100, 200, 16).round(2), "search_spend": rng.uniform(10, 50, 16),
                         "price": rng.normal(1, 0.1, 16)})
    data.to_csv(run_dir / "data.csv", index=False)
    in_w = (dates >= WINDOW[0]) & (dates <= WINDOW[1])
    summary = {
        "interval": 0.9, "window": {"start": WINDOW[0], "end": WINDOW[1]}, "kpi": "sales",
        "finance": {"currency": "EUR", "gross_margin": 0.6, "gross_margin_source": "finance",
                    "value_per_kpi": 1.0, "value_per_kpi_source": "KPI is revenue", "hurdle_rate": 0.0,
                    "clv": None, "clv_source": None},
        "channels": {"tv": {"spend": float(data.loc[in_w, "tv_spend"].sum())},
                     "search": {"spend": float(data.loc[in_w, "search_spend"].sum())}},
    }
    (run_dir / "summary.json").write_text(json.dumps(summary))
    pd.DataFrame({"date": data["week"], "actual": data["sales"], "fitted_mean": data["sales"] * 1.001,
                  "fitted_lo": data["sales"] * 0.9, "fitted_hi": data["sales"] * 1.1}).to_csv(run_dir / "fit.csv",
                                                                                           index=False)
    return run_dir


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    return make_run(tmp_path)


def by_key(rows: list[dict]) -> dict[str, dict]:
    return {r["key"]: r for r in rows}


# ---------------------------------------------------------------- register


def test_finance_inputs_set_or_default_with_owner(run_dir):
    rows = by_key(assumptions_register(run_dir))
    margin = rows["finance.gross_margin"]
    assert (margin["value"], margin["status"], margin["source"]) == (0.6, "set", "finance")
    assert margin["display"] == "60.0%"
    assert rows["finance.hurdle_rate"]["status"] == "default"
    assert rows["finance.hurdle_rate"]["value"] == 0.0
    assert rows["finance.value_per_kpi"]["status"] == "default"  # revenue KPI: 1, filled in
    assert rows["finance.clv"]["status"] == "default" and rows["finance.clv"]["display"] == "not given"
    assert rows["finance.currency"]["status"] == "set" and rows["finance.currency"]["value"] == "EUR"


def test_finance_default_margin_and_set_hurdle(tmp_path):
    run_dir = make_run(tmp_path)
    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    config["finance"].update(gross_margin=None, gross_margin_source=None, hurdle_rate=0.08, currency="USD")
    (run_dir / "config.yaml").write_text(yaml.safe_dump(config))
    summary = json.loads((run_dir / "summary.json").read_text())
    summary["finance"].update(gross_margin=1.0,
                              gross_margin_source="default (not given: profit ROI assumes 100% margin)")
    (run_dir / "summary.json").write_text(json.dumps(summary))
    rows = by_key(assumptions_register(run_dir))
    assert rows["finance.gross_margin"]["status"] == "default"
    assert rows["finance.gross_margin"]["value"] == 1.0  # the margin profit ROI actually used
    assert "default" in rows["finance.gross_margin"]["source"]
    assert rows["finance.hurdle_rate"]["status"] == "set"  # differs from 0 although no source key exists
    assert rows["finance.currency"]["status"] == "default"


def test_priors_set_when_changed_default_otherwise(run_dir):
    rows = by_key(assumptions_register(run_dir))
    alpha = rows["channels.tv.priors.alpha"]
    assert alpha["status"] == "set" and alpha["display"] == "Beta(alpha=3, beta=1)"
    assert "channels.tv.priors.alpha" in alpha["source"]
    assert rows["channels.search.priors.alpha"]["status"] == "default"
    assert rows["channels.search.priors.alpha"]["display"] == "Beta(alpha=2, beta=2)"
    assert rows["channels.tv.priors.lam"]["status"] == "default"  # logistic saturation
    assert rows["channels.search.priors.half_saturation"]["status"] == "default"  # hill saturation
    assert rows["channels.search.priors.slope"]["status"] == "default"
    for name in ("intercept", "trend", "fourier", "control_coef", "sigma"):
        assert rows[f"model.priors.{name}"]["status"] == "default"
        assert rows[f"model.priors.{name}"]["source"] == "package default"
    assert "model.priors.nu" not in rows  # normal likelihood: nu is not an assumption of this run


def test_default_roas_prior_is_described(run_dir):
    rows = by_key(assumptions_register(run_dir))
    roas = rows["channels.tv.roas_prior"]
    assert roas["item"] == "tv: ROAS prior" and roas["status"] == "default" and roas["source"] == "package default"
    assert roas["display"] == ("LogNormal on ROAS, median auto: 15% of the KPI's value from paid media "
                               f"(model.media_share), log-sd {DEFAULT_MEDIA_ROAS_SIGMA:g}")
    assert "channels.tv.priors.coef" not in rows  # the coefficient follows from the ROAS prior
    # the median worked out from the data, as summary.json states it
    summary = json.loads((run_dir / "summary.json").read_text())
    summary["media_prior"] = {"dist": "LogNormal", "median_roas": 2.345, "sigma": DEFAULT_MEDIA_ROAS_SIGMA,
                              "median_source": "auto"}
    (run_dir / "summary.json").write_text(json.dumps(summary))
    assert by_key(assumptions_register(run_dir))["channels.tv.roas_prior"]["display"] == (
        "LogNormal on ROAS, median 2.35 (auto: 15% of the KPI's value from paid media (model.media_share)), "
        f"log-sd {DEFAULT_MEDIA_ROAS_SIGMA:g}")


def test_a_written_default_roas_prior_is_set(tmp_path):
    run_dir = make_run(tmp_path)
    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    config["model"].pop("media_share")
    config["model"].update(media_roas_scale=3, media_roas_sigma=0.8)  # 0.8: not the package default
    config["channels"]["search"]["frequency"] = "search_frequency"  # reach and frequency: a coefficient prior
    (run_dir / "config.yaml").write_text(yaml.safe_dump(config))
    rows = by_key(assumptions_register(run_dir))
    roas = rows["channels.tv.roas_prior"]
    assert roas["display"] == "LogNormal on ROAS, median 3, log-sd 0.8" and roas["status"] == "set"
    assert roas["source"] == "config (model.media_roas_scale, model.media_roas_sigma)"
    coef = rows["channels.search.priors.coef"]
    assert "channels.search.roas_prior" not in rows and coef["status"] == "set"
    assert coef["display"] == ("LogNormal scaled to the channel's spend: its median means ROAS 3 at half saturation, "
                               "log-sd 0.8")


def test_changed_model_prior_and_coef_are_set(tmp_path):
    run_dir = make_run(tmp_path)
    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    config["model"]["priors"]["sigma"] = {"dist": "HalfNormal", "sigma": 0.5}
    config["model"]["likelihood"] = "student_t"
    config["channels"]["search"]["priors"]["coef"] = {"dist": "HalfNormal", "sigma": 2.0}
    (run_dir / "config.yaml").write_text(yaml.safe_dump(config))
    rows = by_key(assumptions_register(run_dir))
    assert rows["model.priors.sigma"]["status"] == "set"
    assert rows["model.priors.sigma"]["display"] == "HalfNormal(sigma=0.5)"
    assert rows["model.priors.nu"]["status"] == "default"
    assert rows["channels.search.priors.coef"]["status"] == "set"
    assert "channels.search.roas_prior" not in rows  # its own coefficient prior replaces the default ROAS prior
    assert rows["channels.tv.roas_prior"]["status"] == "default"


def test_int_and_float_written_priors_are_the_same_default(tmp_path):
    run_dir = make_run(tmp_path)
    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    config["channels"]["search"]["priors"]["alpha"] = {"dist": "Beta", "alpha": 2.0, "beta": 2}
    (run_dir / "config.yaml").write_text(yaml.safe_dump(config))
    assert by_key(assumptions_register(run_dir))["channels.search.priors.alpha"]["status"] == "default"


def test_prior_text_lists():
    assert prior_text(Prior("Normal", mu=[0, 0.5], sigma=1)) == "Normal(mu=[0, 0.5], sigma=1)"


# ---------------------------------------------------------------- reconciliation


def test_reconcile_passes_on_honest_folder(run_dir):
    result = reconcile(run_dir)
    assert result["ok"] and not result["problems"]
    assert result["window"] == {"start": WINDOW[0], "end": WINDOW[1], "n_periods": 12}
    assert {r["channel"] for r in result["spend"]} == {"tv", "search"}
    assert all(r["ok"] and r["severity"] == "fail" for r in result["spend"])
    fitted = next(r for r in result["kpi"] if "fitted" in r["item"])
    assert fitted["severity"] == "warn" and fitted["ok"]
    assert fitted["relative_difference"] == pytest.approx(0.001)
    assert not result["warnings"]


def test_tampered_data_spend_fails_loudly(run_dir):
    data = pd.read_csv(run_dir / "data.csv")
    data.loc[3, "tv_spend"] += 1  # 2023-01-23, inside the window
    data.to_csv(run_dir / "data.csv", index=False)
    with pytest.raises(ReconciliationError, match="tv") as err:
        reconcile(run_dir)
    message = str(err.value)
    assert "refit" in message and "edited or is corrupt" in message
    summary = json.loads((run_dir / "summary.json").read_text())
    assert f"{summary['channels']['tv']['spend']:,.6f}" in message
    assert "search" not in message
    assert isinstance(err.value, ValueError)
    assert err.value.result["ok"] is False


def test_spend_outside_window_does_not_count(run_dir):
    data = pd.read_csv(run_dir / "data.csv")
    data.loc[0, "tv_spend"] += 1000  # 2023-01-02, before the window
    data.to_csv(run_dir / "data.csv", index=False)
    assert reconcile(run_dir)["ok"]


def test_tampered_summary_spend_fails_loudly(run_dir):
    summary = json.loads((run_dir / "summary.json").read_text())
    summary["channels"]["search"]["spend"] *= 1.0001
    (run_dir / "summary.json").write_text(json.dumps(summary))
    with pytest.raises(ReconciliationError, match="search"):
        reconcile(run_dir)


def test_tampered_kpi_copy_fails_but_poor_fit_only_warns(tmp_path):
    run_dir = make_run(tmp_path)
    fit = pd.read_csv(run_dir / "fit.csv")
    fit["fitted_mean"] = fit["actual"] * 1.2
    fit.to_csv(run_dir / "fit.csv", index=False)
    result = reconcile(run_dir)
    assert result["ok"] and len(result["warnings"]) == 1 and "differs" in result["warnings"][0]
    fit.loc[5, "actual"] += 1
    fit.to_csv(run_dir / "fit.csv", index=False)
    with pytest.raises(ReconciliationError, match="sales"):
        reconcile(run_dir)


# ---------------------------------------------------------------- template


def render(register, reconciliation) -> str:
    env = jinja2.Environment(loader=jinja2.PackageLoader("mmm.report", "templates"), autoescape=True,
                             undefined=jinja2.StrictUndefined)
    return env.get_template("register.html").render(register=register, reconciliation=reconciliation)


def test_partial_renders_both_tables(run_dir):
    html = render(assumptions_register(run_dir), reconcile(run_dir))
    assert html.count("<table") == 2
    assert 'class="register"' in html and 'class="reconciliation"' in html
    assert "Beta(alpha=3, beta=1)" in html and "spend: tv" in html and "PASS" in html
    assert "15% of the KPI&#39;s value from paid media" in html  # autoescaped


def test_partial_renders_failed_reconciliation_and_escapes(run_dir):
    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    config["finance"]["gross_margin_source"] = "<script>alert(1)</script>"
    (run_dir / "config.yaml").write_text(yaml.safe_dump(config))
    data = pd.read_csv(run_dir / "data.csv")
    data.loc[3, "tv_spend"] += 1
    data.to_csv(run_dir / "data.csv", index=False)
    with pytest.raises(ReconciliationError) as err:
        reconcile(run_dir)
    html = render(assumptions_register(run_dir), err.value.result)
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "Reconciliation failed" in html and "FAIL" in html


def test_per_channel_gross_margins_are_registered(tmp_path):
    import yaml as _yaml

    from mmm.report.register import assumptions_register as register_of

    run = make_run(tmp_path)
    config = _yaml.safe_load((run / "config.yaml").read_text())
    config["finance"]["gross_margin_by_channel"] = {"tv": 0.45}
    config["finance"]["gross_margin_by_channel_source"] = {"tv": "broadcast P&L"}
    (run / "config.yaml").write_text(_yaml.safe_dump(config, sort_keys=False))
    row = next(r for r in register_of(run) if r["key"] == "finance.gross_margin.tv")
    assert row["value"] == 0.45 and row["source"] == "broadcast P&L" and row["status"] == "set"


def test_roas_priors_and_lift_experiments_are_registered_with_their_quantiles(run_dir):
    raw = yaml.safe_load((run_dir / "config.yaml").read_text())
    raw["channels"]["tv"]["roas_prior"] = {"median": 2.0, "p90": 5.0}
    raw["model"]["roas_prior"] = {"median": 1.2, "p90": 3.0}  # search inherits this one
    raw["experiments"] = [{"channel": "search", "start": "2023-01-16", "end": "2023-01-30",
                           "incremental_kpi": 420.0, "se": 60.0, "spend": 90.0}]
    stored = Config.from_dict(raw, base_dir=run_dir).to_dict()  # as a run folder stores it (LogNormal form)
    (run_dir / "config.yaml").write_text(yaml.safe_dump(stored, sort_keys=False))
    rows = by_key(assumptions_register(run_dir))
    tv = rows["channels.tv.roas_prior"]
    assert tv["status"] == "set" and "median 2," in tv["display"] and "90% below 5" in tv["display"]
    assert rows["model.roas_prior"]["channel"] == "search" and "median 1.2" in rows["model.roas_prior"]["display"]
    assert "channels.tv.priors.coef" not in rows  # the coefficient follows from the ROAS prior
    lift = rows["experiments[0]"]
    assert lift["section"] == "experiment" and lift["status"] == "set"
    assert "420 ± 60" in lift["display"] and "2023-01-16 to 2023-01-30" in lift["display"] and "90" in lift["display"]


def _baseline_config(moving):
    from mmm.data.synth import SynthSpec, generate

    result = generate(SynthSpec(n_periods=30, n_channels=1))
    model = {**result.config["model"], **({"baseline": moving} if moving is not None else {})}
    return Config.from_dict({**result.config, "model": model})


def test_the_assumption_register_lists_the_moving_baseline(tmp_path):
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(_baseline_config({"smooth": True}).to_dict()))
    rows = {r["key"]: r for r in assumptions_register(tmp_path)}
    assert rows["model.baseline"]["display"] == "a smooth time-varying component"
    assert rows["model.baseline.priors.lengthscale"]["status"] == "default"
    assert "model.baseline.priors.shock_sd" not in rows  # shocks are off
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(_baseline_config(None).to_dict()))
    assert not [k for k in (r["key"] for r in assumptions_register(tmp_path)) if k.startswith("model.baseline")]


@pytest.mark.parametrize(("model", "listed"), [
    ({}, False),  # candidates auto: a steady config gets no time-varying candidate
    ({"media_effect": "time_varying"}, True),
    ({"candidates": "none"}, False),
    ({"candidates": "none", "media_effect": "time_varying"}, True),
    ({"candidates": [{"saturation": "hill"}]}, False),
    ({"candidates": [{"media_effect": "time_varying"}]}, True),
])
def test_the_media_effect_priors_are_listed_when_a_fitted_candidate_uses_them(model, listed):
    from mmm.report.register import _model_prior_rows

    config = {"data": {"path": "data.csv", "date": "week", "kpi": "sales"}, "channels": {"tv": "tv"}, "model": model}
    keys = {row["key"] for row in _model_prior_rows(config)}
    assert ({"model.priors.media_effect_amplitude", "model.priors.media_effect_lengthscale"} <= keys) == listed
    assert not keys & {"model.priors.nu", "model.priors.event_coef"}
