"""The executive summary: facts derived only from summary.json, rendered in plain words."""

from __future__ import annotations

import copy
import re
from html import unescape

import jinja2
import pytest

from mmm.report.summary_text import (
    LIKELY,
    UNLIKELY,
    VERY_LIKELY,
    band_of,
    executive_summary,
)

WARNING = "the model did not pass its checks"
REVIEW = "some model checks need review"


def stats(mean: float, lo: float, hi: float) -> dict[str, float]:
    return {"mean": mean, "median": mean, "lo": lo, "hi": hi}


# channel -> (spend, incremental revenue, mROAS (mean, lo, hi), immediate share, P(profitable))
CHANNELS = {
    "tv": (1_250_000.0, 3_087_500.0, (1.73, 1.43, 2.03), 0.35, 0.93),
    "search": (480_000.0, 1_512_000.0, (2.21, 1.91, 2.51), 0.80, 0.75),
    "radio": (150_000.0, 180_000.0, (1.05, 0.60, 1.40), 0.50, 0.45),
    "social": (260_000.0, 208_000.0, (0.56, 0.26, 0.86), 0.55, 0.12),
}


@pytest.fixture
def summary() -> dict:
    channels = {}
    for name, (spend, inc, mroas, immediate, p) in CHANNELS.items():
        roas = inc / spend
        channels[name] = {
            "spend": spend,
            "incremental_kpi": stats(inc, 0.8 * inc, 1.2 * inc),
            "incremental_value": stats(inc, 0.8 * inc, 1.2 * inc),
            "roas": stats(roas, roas - 0.5, roas + 0.5),
            "profit_roi": stats(roas * 0.6 - 1, roas * 0.6 - 1.4, roas * 0.6 - 0.6),
            "mroas": stats(*mroas),
            "immediate_share": stats(immediate, immediate - 0.1, immediate + 0.1),
            "p_profitable": p,
        }
    return {
        "interval": 0.9,
        "window": {"start": "2021-01-04", "end": "2023-12-25"},
        "kpi": "revenue", "kpi_type": "revenue", "currency": "USD", "freq": "W",
        "finance": {"gross_margin": 0.6, "gross_margin_source": "config", "value_per_kpi": 1.0,
                    "hurdle_rate": 0.0, "currency": "USD"},
        "totals": {"spend": 2_140_000.0,
                   "incremental_kpi": stats(4_987_500.0, 4_500_000.0, 5_400_000.0),
                   "incremental_value": stats(4_987_500.0, 4_500_000.0, 5_400_000.0),
                   "roas": stats(2.33, 2.10, 2.52)},
        "channels": channels,
        "diagnostics": {"max_rhat": 1.003, "min_ess_bulk": 812.0, "divergences": 0, "ok": True,
                        "problems": []},
        "health": {"overall": "PASS", "checks": [
            {"name": "rhat", "what": "Convergence (R-hat)", "status": "PASS", "detail": ""},
            {"name": "baseline", "what": "Probability of a negative baseline", "status": "PASS", "detail": ""},
        ]},
        "fit": {"sampler": "nutpie", "chains": 4, "draws": 1000, "tune": 1000, "seed": 0, "wall_s": 1.0},
    }


def render(facts: dict, interval: str = "90%") -> str:
    env = jinja2.Environment(loader=jinja2.PackageLoader("mmm.report", "templates"), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    return env.get_template("executive_summary.html").render(exec=facts, interval=interval)


def text_of(html: str) -> str:
    """Visible text, whitespace collapsed, entities decoded."""
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


# ---------------------------------------------------------------- facts


def test_totals_come_from_the_summary(summary):
    facts = executive_summary(summary)
    totals = facts["totals"]
    assert totals["spend"] == 2_140_000.0
    assert totals["spend_text"] == "USD 2,140,000"
    assert totals["value_text"] == "USD 4,987,500"
    assert totals["value_interval_text"] == "USD 4,500,000 to USD 5,400,000"
    assert totals["roas_text"] == "2.33" and totals["roas_interval_text"] == "2.10 to 2.52"


def test_profitability_bands(summary):
    facts = executive_summary(summary)
    assert facts["bands"] == {"very_likely": ["tv"], "likely": ["search"], "uncertain": ["radio"],
                              "likely_unprofitable": ["social"]}
    assert [b["words"] for b in facts["band_list"]] == [
        "very likely profitable", "likely profitable", "uncertain", "likely unprofitable"]
    assert facts["margin_text"] == "60%" and facts["hurdle_text"] == "0%"


def test_band_thresholds_are_the_named_constants():
    assert (VERY_LIKELY, LIKELY, UNLIKELY) == (0.9, 0.7, 0.3)
    assert band_of(0.9) == "very_likely" and band_of(0.899) == "likely"
    assert band_of(0.7) == "likely" and band_of(0.69) == "uncertain"
    assert band_of(0.31) == "uncertain" and band_of(0.3) == "likely_unprofitable"
    assert band_of(None) is None and band_of(float("nan")) is None


def test_next_unit_is_judged_on_profit_not_on_mroas_above_one(summary):
    """At a 60% margin the next unit pays only above an mROAS of 1 / 0.6 = 1.67, not above 1."""
    facts = executive_summary(summary)
    best = facts["best_next_unit"]
    assert best["channel"] == "search" and facts["best_pays"]
    assert (best["text"], best["interval_text"]) == ("+0.33", "+0.15 to +0.51")  # 2.21 x 0.6 - 1, ...
    assert best["break_even_text"] == "1.67"
    verdicts = {e["channel"]: e["verdict"] for e in facts["next_unit"]}
    # radio's mROAS interval (0.60 to 1.40) crosses 1 but lies below 1.67: it loses at the margin
    assert verdicts == {"tv": "pays_on_average", "search": "pays", "radio": "loses", "social": "loses"}
    assert [e["channel"] for e in facts["next_unit_losing"]] == ["radio", "social"]


def _with_mroas(summary: dict, mroas: dict[str, tuple[float, float, float]], **finance) -> dict:
    out = copy.deepcopy(summary)
    out["finance"].update(finance)
    for name, figures in out["channels"].items():
        figures["mroas"] = stats(*mroas[name])
    return out


def test_an_mroas_between_one_and_the_break_even_is_not_worth_another_dollar(summary):
    # the bundled demo's case: every mROAS above 1, none above 1 / margin
    case = _with_mroas(summary, {"tv": (1.16, 1.02, 1.31), "search": (1.24, 1.12, 1.36),
                                 "radio": (1.20, 1.05, 1.35), "social": (1.10, 1.01, 1.20)})
    facts = executive_summary(case)
    assert not facts["best_pays"] and facts["best_next_unit"]["channel"] == "search"
    text = text_of(render(facts))
    assert "does most in" not in text
    assert "In no channel does the next USD of spend pay for itself on average" in text
    assert "The least loss is in search : marginal profit ROI -0.26 (90% interval: -0.33 to -0.18)" in text
    assert ("Each extra USD there brings back an estimated USD 1.24 of revenue (mROAS 1.24), but it needs USD 1.67 "
            "to pay for itself (the break-even mROAS): at a 60% gross margin, USD 1.67 of revenue leaves USD 1.00 "
            "of gross profit, the extra USD spent.") in text
    assert ("In tv (at most -0.21), search (at most -0.18), radio (at most -0.19), social (at most -0.28), "
            "the next USD loses money after cost of goods, even at the top of the interval") in text
    assert "pays for itself in" not in text and "where it pays" not in text


def test_a_channel_above_the_break_even_is_said_to_pay(summary):
    # search mROAS 2.21 > (1 + 0.1) / 0.6 = 1.83: pays across its interval; tv (1.73) now falls short on average
    facts = executive_summary({**summary, "finance": {**summary["finance"], "hurdle_rate": 0.1}})
    text = text_of(render(facts))
    assert "The next USD of spend does most in search , where it pays for itself: marginal profit ROI +0.33" in text
    assert ("but" not in text.split("does most in search")[1].split("break-even mROAS")[0]
            and "and it needs USD 1.83 to pay for itself" in text)
    assert "leaves USD 1.10 of gross profit, the extra USD spent plus the 10% hurdle" in text
    assert "In tv (+0.04), the next USD falls short of the 10% hurdle rate on average" in text
    assert "loses money" not in text  # +0.04 is a profit, only below the hurdle


def test_other_channels_that_pay_are_named(summary):
    case = _with_mroas(summary, {"tv": (2.0, 1.9, 2.1), "search": (2.21, 1.91, 2.51),
                                 "radio": (1.8, 1.5, 2.1), "social": (0.56, 0.26, 0.86)})
    text = text_of(render(executive_summary(case)))
    assert "does most in search , where it pays for itself:" in text
    assert "It also pays for itself in tv (+0.20), radio (+0.08 on average)." in text


def test_the_best_channel_paying_only_on_average_is_said_so(summary):
    case = _with_mroas(summary, {"tv": (1.73, 1.0, 2.4), "search": (1.0, 0.9, 1.1),
                                 "radio": (1.0, 0.9, 1.1), "social": (1.0, 0.9, 1.1)})
    text = text_of(render(executive_summary(case)))
    assert "does most in tv , where it pays for itself on average: marginal profit ROI +0.04" in text


def test_the_hurdle_rate_raises_the_break_even(summary):
    # search: mROAS 2.21 -> marginal profit ROI +0.33; a 40% hurdle needs mROAS (1 + 0.4) / 0.6 = 2.33
    facts = executive_summary({**summary, "finance": {**summary["finance"], "hurdle_rate": 0.4}})
    assert not facts["best_pays"]
    assert facts["best_next_unit"]["break_even_text"] == "2.33"
    assert "does most in" not in text_of(render(facts))
    facts = executive_summary({**summary, "finance": {**summary["finance"], "hurdle_rate": 0.1}})
    assert facts["best_pays"] and "does most in search" in text_of(render(facts))


def test_a_stored_marginal_profit_roi_is_used_and_a_per_channel_margin_counts(summary):
    case = copy.deepcopy(summary)
    case["channels"]["radio"]["gross_margin"] = 0.9  # radio: 1.05 x 0.9 - 1 = -0.055 on average
    case["channels"]["tv"]["marginal_profit_roi"] = stats(0.5, 0.45, 0.55)  # stored figures win over mROAS
    entries = {e["channel"]: e for e in executive_summary(case)["next_unit"]}
    assert entries["radio"]["text"] == "-0.05" and entries["radio"]["break_even_text"] == "1.11"
    assert entries["tv"]["text"] == "+0.50" and entries["tv"]["verdict"] == "pays"


def test_immediate_and_later_shares(summary):
    timing = {t["channel"]: t for t in executive_summary(summary)["timing"]}
    assert (timing["tv"]["immediate_text"], timing["tv"]["later_text"]) == ("35%", "65%")
    assert (timing["search"]["immediate_text"], timing["search"]["later_text"]) == ("80%", "20%")


def test_no_warning_when_diagnostics_and_health_pass(summary):
    assert executive_summary(summary)["warning"] is None


def test_health_fail_names_the_failing_checks(summary):
    summary["health"]["overall"] = "FAIL"
    summary["health"]["checks"][1]["status"] = "FAIL"
    warning = executive_summary(summary)["warning"]
    assert warning["level"] == "FAIL" and not warning["diagnostics_failed"]
    assert warning["failing"] == ["Probability of a negative baseline"]


def test_totals_missing_falls_back_to_channel_spend_only(summary):
    del summary["totals"]
    totals = executive_summary(summary)["totals"]
    assert totals["spend_text"] == "USD 2,140,000"  # exact sum of the channel spends
    assert totals["value"] is None and totals["roas"] is None  # intervals are never invented


# ---------------------------------------------------------------- rendered partial


def test_rendered_summary_states_the_figures(summary):
    text = text_of(render(executive_summary(summary)))
    assert "USD 2,140,000" in text
    assert "USD 4,987,500" in text and "90% interval: USD 4,500,000 to USD 5,400,000" in text
    assert "2.33 (90% interval: 2.10 to 2.52)" in text
    assert "does most in search" in text and "+0.33 (90% interval: +0.15 to +0.51)" in text
    assert "very likely profitable : tv (93% probability)" in text
    assert "likely profitable : search (75% probability)" in text
    assert "uncertain : radio (45% probability)" in text
    assert "likely unprofitable : social (12% probability)" in text
    assert "In radio (at most -0.16), social (at most -0.48), the next USD loses money after cost of goods" in text
    assert "In tv" not in text  # tv's next unit pays on average: +0.04
    assert "tv 35% at once, 65% later" in text
    assert "same week" in text
    assert WARNING not in text and REVIEW not in text


def test_every_term_is_explained(summary):
    text = text_of(render(executive_summary(summary)))
    for term in ("An interval is", "ROAS (return on ad spend) is", "Profit ROI is", "mROAS (marginal ROAS) is"):
        assert term in text
    assert "gross margin 60%" in text and "hurdle rate of 0%" in text


def test_bullet_count_is_short(summary):
    html = render(executive_summary(summary))
    assert 4 <= html.count("<li>") <= 7


def test_warning_when_diagnostics_fail_comes_first(summary):
    summary["diagnostics"]["ok"] = False
    summary["diagnostics"]["problems"] = ["7 divergent transitions > 0"]
    html = render(executive_summary(summary))
    text = text_of(html)
    assert WARNING in text and "7 divergent transitions" in text
    assert html.index('role="alert"') < html.index("<li>")


def test_warning_when_health_fails(summary):
    summary["health"]["overall"] = "FAIL"
    summary["health"]["checks"][0]["status"] = "FAIL"
    text = text_of(render(executive_summary(summary)))
    assert WARNING in text and "Convergence (R-hat)" in text


def test_review_is_flagged_more_softly(summary):
    summary["health"]["overall"] = "REVIEW"
    summary["health"]["checks"][1]["status"] = "REVIEW"
    text = text_of(render(executive_summary(summary)))
    assert REVIEW in text and WARNING not in text
    assert "Probability of a negative baseline" in text


def test_names_are_escaped(summary):
    summary = copy.deepcopy(summary)
    summary["channels"]["<b>tv</b>"] = summary["channels"].pop("tv")
    html = render(executive_summary(summary))
    assert "<b>tv</b>" not in html and "&lt;b&gt;tv&lt;/b&gt;" in html


def test_defaulted_margin_and_clv_are_stated(summary):
    summary["finance"]["gross_margin"] = 1.0
    summary["finance"]["gross_margin_source"] = "default (not given: profit ROI assumes 100% margin)"
    summary["channels"]["tv"]["roas_clv"] = stats(4.1, 3.2, 5.0)
    facts = executive_summary(summary)
    assert facts["margin_defaulted"] and facts["clv"] == [{"channel": "tv", "text": "4.10 (3.20 to 5.00)"}]
    text = text_of(render(facts))
    assert "No gross margin was given" in text and "tv 4.10 (3.20 to 5.00)" in text
    # the next unit is judged on the same 100% margin profit ROI uses, and said to be
    assert "the next unit is judged at a 100% margin" in text
    assert "it needs USD 1.00 to pay for itself" in text and "at a 100% gross margin" in text


def test_the_next_unit_on_the_clv_basis_gets_the_same_verdict(summary):
    summary["channels"]["tv"]["mroas_clv"] = stats(3.0, 2.0, 4.0)  # x 0.6 - 1: +0.80 (+0.20 to +1.40)
    summary["channels"]["radio"]["marginal_profit_roi_clv"] = stats(-0.1, -0.3, 0.2)
    facts = executive_summary(summary)
    assert [(e["channel"], e["verdict"]) for e in facts["next_unit_clv"]] == [("tv", "pays"),
                                                                             ("radio", "loses_on_average")]
    assert facts["best_next_unit"]["channel"] == "search"  # the ranking stays on the first-purchase basis
    text = text_of(render(facts))
    assert ("Counting the lifetime value of acquired customers (CLV basis), the next USD's marginal profit ROI is "
            "tv +0.80 (+0.20 to +1.40): it pays for itself; radio -0.10 (-0.30 to +0.20): it loses money on "
            "average.") in text


def test_count_kpi_without_totals_value_has_no_currency(summary):
    summary["kpi"], summary["kpi_type"] = "signups", "count"
    del summary["totals"]["incremental_value"]
    totals = executive_summary(summary)["totals"]
    assert totals["value_text"] == "4,987,500"  # KPI units, not money
