"""Every number in the report's ROI table equals the corresponding ``summary.json`` figure.

The rendered HTML is parsed (stdlib ``html.parser``), each cell such as
``2.47 (1.90 to 3.10)`` is read back into mean/lo/hi and compared with
``summary.json`` within the rounding the report displays (half a unit of the
last digit shown: 0.005 for two-decimal ratios, 0.5 for whole currency amounts,
half a percentage point for whole-percent shares).
"""

from __future__ import annotations

import json
import re
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from mmm.report import render_report


from test_report import make_run  # noqa: E402  (tests/ is on sys.path under pytest)

NUMBER = r"-?[\d,]*\.?\d+%?"
CELL = re.compile(rf"^\s*(?P<mean>{NUMBER})(?:\s*\(\s*(?P<lo>{NUMBER})\s+to\s+(?P<hi>{NUMBER})\s*\))?\s*$")


class _Table(HTMLParser):
    """Header texts and body rows (cell texts) of the first table inside ``<section id=...>``."""

    def __init__(self, section_id: str):
        super().__init__(convert_charrefs=True)
        self.section_id = section_id
        self.section_depth = 0  # >0 while inside the section
        self.table_done = False
        self.in_table = False
        self.headers: list[str] = []
        self.rows: list[list[str]] = []
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._cell_tag = ""

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if self.section_depth:
            if tag == "section":
                self.section_depth += 1
        elif tag == "section" and attrs.get("id") == self.section_id:
            self.section_depth = 1
            return
        if not self.section_depth or self.table_done:
            return
        if tag == "table" and not self.in_table:
            self.in_table = True
        elif self.in_table and tag == "tr":
            self._row = []
        elif self.in_table and tag in ("td", "th"):
            self._cell, self._cell_tag = [], tag

    def handle_endtag(self, tag):
        if self.section_depth and tag == "section":
            self.section_depth -= 1
            return
        if not self.in_table or self.table_done:
            return
        if tag in ("td", "th") and self._cell is not None:
            text = " ".join("".join(self._cell).split())
            if self._cell_tag == "th":
                self.headers.append(text)
            elif self._row is not None:
                self._row.append(text)
            self._cell = None
        elif tag == "tr":
            if self._row:
                self.rows.append(self._row)
            self._row = None
        elif tag == "table":
            self.in_table, self.table_done = False, True

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def roi_table(html: str) -> dict[str, dict[str, str]]:
    """``{channel: {header: cell text}}`` of the report's ROI table (section ``id="roi"``)."""
    parser = _Table("roi")
    parser.feed(html)
    assert parser.headers, "no ROI table (section id='roi' with a <table>) in the report"
    assert parser.headers[0].lower().startswith("channel")
    return {row[0]: dict(zip(parser.headers, row)) for row in parser.rows}


def column_key(header: str) -> str | None:
    """The summary.json figure a ROI-table column shows, from its header text."""
    h = header.lower()
    if h.startswith("channel"):
        return None
    if h.startswith("spend"):
        return "spend"
    if h.startswith("incremental"):
        return "incremental_kpi"
    if "clv" in h or "customer" in h:
        return "roas_clv"
    if h.startswith("marginal") or h.startswith("mroas"):
        return "mroas"
    if h.startswith("profit roi"):
        return "profit_roi"
    if h.startswith("roas"):
        return "roas"
    if h.startswith("immediate"):
        return "immediate_share"
    if h.startswith("p(profit"):
        return "p_profitable"
    return None


def parse_number(text: str) -> tuple[float, float]:
    """``"1,250,000"`` -> (1250000.0, 0.5); ``"35%"`` -> (0.35, 0.005): value and display half-unit."""
    share = text.endswith("%")
    digits = text.rstrip("%").replace(",", "")
    decimals = len(digits.split(".")[1]) if "." in digits else 0
    value, half_unit = float(digits), 0.5 * 10.0 ** -decimals
    if share:
        value, half_unit = value / 100, half_unit / 100
    return value, half_unit + 1e-9


def parse_cell(text: str) -> dict[str, tuple[float, float]]:
    """``"2.47 (1.90 to 3.10)"`` -> ``{"mean": (2.47, 0.005), "lo": ..., "hi": ...}``."""
    match = CELL.match(text)
    assert match, f"cannot read a number from ROI table cell {text!r}"
    return {k: parse_number(v) for k, v in match.groupdict().items() if v is not None}


def expected(figures: dict, key: str):
    """The summary.json value(s) behind a column; ``incremental_value`` stands in for a missing ``incremental_kpi``."""
    value = figures.get(key)
    if value is None and key == "incremental_kpi":
        value = figures.get("incremental_value")
    return value


def compare_roi_table(html: str, summary: dict) -> list[str]:
    """Every disagreement between the HTML ROI table and summary.json, as readable lines."""
    table = roi_table(html)
    problems = []
    assert list(table)[: len(summary["channels"])] == list(summary["channels"]), \
        f"ROI table rows {list(table)} do not list summary.json's channels {list(summary['channels'])} in order"
    checked = set()
    for channel, figures in summary["channels"].items():
        for header, text in table[channel].items():
            key = column_key(header)
            if key is None or text in ("n/a", ""):
                continue
            truth = expected(figures, key)
            assert truth is not None, f"column {header!r} ({key}) shows {text!r} but summary.json has no {key}"
            for stat, (shown, tolerance) in parse_cell(text).items():
                value = truth[stat] if isinstance(truth, dict) else truth
                assert stat == "mean" or isinstance(truth, dict)
                if abs(shown - value) > tolerance:
                    problems.append(f"{channel} {header} {stat}: report shows {shown}, summary.json has {value}")
            checked.add(key)
    required = {"spend", "incremental_kpi", "roas", "profit_roi", "mroas", "immediate_share", "p_profitable"}
    assert required <= checked, f"ROI table lacks column(s) {sorted(required - checked)}"
    return problems


@pytest.fixture()
def run_dir(tmp_path) -> Path:
    return make_run(tmp_path)


def _summary(run_dir: Path) -> dict:
    return json.loads((run_dir / "summary.json").read_text())


def test_parse_cell_reads_mean_and_interval():
    assert parse_cell("2.47 (1.90 to 3.10)") == {"mean": (2.47, 0.005 + 1e-9), "lo": (1.90, 0.005 + 1e-9),
                                                 "hi": (3.10, 0.005 + 1e-9)}
    cell = parse_cell("3,087,500 (2,470,000 to 3,705,000)")
    assert cell["mean"][0] == 3_087_500 and cell["lo"][0] == 2_470_000 and cell["mean"][1] == pytest.approx(0.5)
    cell = parse_cell("35% (25% to 45%)")
    assert cell["mean"][0] == pytest.approx(0.35) and cell["mean"][1] == pytest.approx(0.005)
    assert parse_cell("-0.18 (-0.58 to 0.22)")["lo"][0] == pytest.approx(-0.58)


def test_every_roi_table_number_equals_summary_json(run_dir):
    summary = _summary(run_dir)
    html = render_report(run_dir)
    assert compare_roi_table(html, summary) == []
    # the figures are really there, not just skipped: tv's ROAS cell as the fixture defines it
    assert roi_table(html)["tv"]["ROAS"] == "2.47 (1.90 to 3.10)"


def test_total_row_equals_summary_totals(run_dir):
    summary = _summary(run_dir)
    table = roi_table(render_report(run_dir))
    total = next((row for name, row in table.items() if name.lower().startswith("all")), None)
    if total is None:
        pytest.skip("the ROI table has no total row")
    totals = summary["totals"]
    for header, text in total.items():
        key = column_key(header)
        if key is None or not text or key not in totals:
            continue
        for stat, (shown, tolerance) in parse_cell(text).items():
            value = totals[key][stat] if isinstance(totals[key], dict) else totals[key]
            assert abs(shown - value) <= tolerance, f"total {header} {stat}: {shown} vs {value}"


@pytest.mark.parametrize("key,stat,new_value,cell_part", [
    ("roas", "mean", 4.21, "4.21"),
    ("roas", "hi", 5.55, "5.55"),
    ("profit_roi", "lo", -0.77, "-0.77"),
    ("mroas", "mean", 1.23, "1.23"),
    ("immediate_share", "mean", 0.62, "62%"),
    ("incremental_kpi", "mean", 2_222_222.0, "2,222,222"),
    ("spend", None, 999_999.0, "999,999"),
    ("p_profitable", None, 0.41, "41%"),
])
def test_changing_a_summary_figure_changes_its_cell(run_dir, key, stat, new_value, cell_part):
    """The comparison can fail: edit one summary.json figure, the matching HTML cell follows it."""
    summary = _summary(run_dir)
    before = roi_table(render_report(run_dir))["tv"]
    if stat is None:
        summary["channels"]["tv"][key] = new_value
    else:
        summary["channels"]["tv"][key][stat] = new_value
    (run_dir / "summary.json").write_text(json.dumps(summary))
    html = render_report(run_dir)
    after = roi_table(html)["tv"]
    changed = [h for h in after if after[h] != before[h]]
    assert [column_key(h) for h in changed] == [key], f"expected only the {key} cell to change, got {changed}"
    assert cell_part in after[changed[0]]
    assert compare_roi_table(html, summary) == []


def test_a_report_that_disagrees_with_summary_json_is_caught(run_dir):
    """Render from one summary, compare with a tampered one: the mismatch is reported by name."""
    summary = _summary(run_dir)
    html = render_report(run_dir)
    summary["channels"]["search"]["roas"]["mean"] += 0.01  # more than the displayed rounding
    summary["channels"]["social"]["spend"] += 1.0
    problems = compare_roi_table(html, summary)
    assert len(problems) == 2
    assert any(p.startswith("search ROAS mean") for p in problems)
    assert any(p.startswith("social Spend") for p in problems)
