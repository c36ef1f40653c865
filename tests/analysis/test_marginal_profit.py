"""The next unit of spend is judged on marginal profit ROI against the hurdle, in every page that speaks of it."""

from __future__ import annotations

import json
import re
from html import unescape

import pytest

from mmm.report import render_report
from mmm.report.plan import _mroas_note
from test_report import make_run  # tests/ is on sys.path under pytest


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def exec_summary_of(run_dir) -> str:
    html = render_report(run_dir)
    return text_of(html[html.index('id="executive-summary"'):html.index('id="roi"')])


def with_mroas(run_dir, mroas: tuple[float, float, float], hurdle: float = 0.0) -> None:
    summary = json.loads((run_dir / "summary.json").read_text())
    summary["finance"]["hurdle_rate"] = hurdle
    for figures in summary["channels"].values():
        figures["mroas"] = dict(zip(("mean", "lo", "hi"), mroas)) | {"median": mroas[0]}
    (run_dir / "summary.json").write_text(json.dumps(summary))


def test_report_says_an_mroas_above_one_but_below_one_over_margin_loses_money(tmp_path):
    run = make_run(tmp_path)  # 60% margin: the next unit pays above mROAS 1.67
    with_mroas(run, (1.2, 1.05, 1.35))
    text = exec_summary_of(run)
    assert "does most in" not in text and "pays for itself in" not in text
    assert "In no channel does the next USD of spend pay for itself on average" in text
    assert "the next USD loses money after cost of goods, even at the top of the interval" in text
    assert "brings back an estimated USD 1.20 of revenue (mROAS 1.20), but it needs USD 1.67" in text


def test_report_says_an_mroas_above_the_break_even_pays(tmp_path):
    run = make_run(tmp_path)  # (1 + 0.1) / 0.6 = 1.83
    with_mroas(run, (2.4, 2.0, 2.8), hurdle=0.1)
    text = exec_summary_of(run)
    assert "The next USD of spend does most in tv , where it pays for itself: marginal profit ROI +0.44" in text
    assert "It also pays for itself in search (+0.44), social (+0.44)." in text
    assert "and it needs USD 1.83 to pay for itself" in text and "plus the 10% hurdle" in text


@pytest.mark.parametrize(("margins", "stated"), [
    ({"tv": 0.6, "search": 0.6}, "(1.67 at a 0% hurdle)"),
    ({"tv": 0.5, "search": 0.8}, "(tv 2.00, search 1.25 at a 0% hurdle)"),
    ({}, ""),
])
def test_plan_pages_say_when_the_next_unit_pays(margins, stated):
    note = _mroas_note(margins, "USD")
    assert "pays for itself only when marginal ROAS × gross margin − 1" in note
    assert f"above (1 + hurdle) ÷ gross margin{' ' + stated if stated else ''}, not when it is above 1." in note
