"""roi.xlsx: opens with openpyxl, holds summary.json's figures exactly, and is written atomically.

No sampling: the posterior is the synthetic truth with a few perturbed draws.
"""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import xarray as xr

openpyxl = pytest.importorskip("openpyxl")

from mmm.data.panel_design import series_scaling
from mmm.spec.config import Config  # noqa: E402
from mmm.spec.sections import DiagnosticThresholds  # noqa: E402
from mmm.data.load import load_data  # noqa: E402
from mmm.analysis.effects import compute_effects  # noqa: E402
from mmm.model.sample import Diagnostics, FitResult  # noqa: E402
from mmm.analysis.periods import aggregate_contributions  # noqa: E402
from mmm.report.xlsx import HEADER_ROW, SHEETS, TOTAL_LABEL, XlsxInputError, write_roi_xlsx  # noqa: E402
from mmm.runs.folder import manifest as build_manifest  # noqa: E402
from mmm.analysis.summary import build_summary  # noqa: E402
from mmm.data.synth import SynthSpec, generate  # noqa: E402
from mmm.model.truth import truth_posterior  # noqa: E402

ROI_METRICS = {"ROAS": "roas", "Profit ROI": "profit_roi", "mROAS": "mroas", "Marginal profit ROI": "marginal_profit_roi",
               "Immediate share": "immediate_share",
               "ROAS immediate": "roas_immediate", "ROAS lasting": "roas_lasting", "ROAS, CLV basis": "roas_clv"}


def _run(count_kpi: bool = False, ok: bool = True):
    result = generate(SynthSpec(seed=2))
    raw = json.loads(json.dumps(result.config))
    raw["finance"]["hurdle_rate"] = 0.05
    if count_kpi:  # the same data read as customers, with a value per customer and a CLV
        raw["data"]["kpi_type"] = "count"
        raw["finance"]["value_per_kpi"] = {"value": 1.0, "source": "finance: first-order value", "owner": "finance"}
        raw["finance"]["clv"] = {"value": 2.5, "source": "finance: 3-year CLV model"}
    config = Config.from_dict(raw)
    data = load_data(result.data, config.roles())
    scaling = series_scaling(data)
    posterior = truth_posterior(result.truth, config, data, n_draws=3)
    rng = np.random.default_rng(0)
    for name in ("channel_coef", "geometric_alpha", "logistic_lam", "intercept"):
        if name in posterior:
            posterior[name] = posterior[name] * rng.uniform(0.7, 1.3, posterior[name].shape)
    effects = compute_effects(posterior, config, data, scaling)
    diagnostics = Diagnostics(max_rhat=1.0 if ok else 1.3, min_ess_bulk=400.0, divergences=0,
                              thresholds=DiagnosticThresholds(), chains=1,
                              problems=[] if ok else ["max R-hat 1.30 > 1.01"])
    sampler = {"sampler": "nutpie", "chains": 1, "draws": 3, "tune": 0, "seed": 7, "target_accept": 0.9}
    fit = FitResult(idata=xr.DataTree.from_dict({"posterior": posterior}), diagnostics=diagnostics,
                    sampler=sampler, timings={"sampling_s": 0.0})
    # summary.json as a reader sees it: through strict JSON
    summary = json.loads(json.dumps(build_summary(config, data, fit, effects, wall_s=1.5)))
    manifest = json.loads(json.dumps(build_manifest(
        run_id="run-xlsx", config_text="name: test\n", data=data, seed=7, sampler=sampler,
        timings={"sampling_s": 0.0}, diagnostics_ok=ok, scaling=scaling), default=str))
    return effects, summary, manifest


@pytest.fixture(scope="module")
def revenue_run():
    return _run()


def _table(ws, header_row=HEADER_ROW):
    headers = [c.value for c in ws[header_row]]
    rows = []
    for values in ws.iter_rows(min_row=header_row + 1, values_only=True):
        if values[0] is None:
            break  # the notes below the table start after a blank row
        rows.append(dict(zip(headers, values, strict=True)))
    return headers, rows


def _column(headers, label, part):
    """The header of ``label``'s mean / low / high column."""
    prefix = {"mean": f"{label} (", "lo": f"{label} — ", "hi": f"{label} — "}[part]
    suffix = {"mean": "— mean", "lo": "interval low", "hi": "interval high"}[part]
    found = [h for h in headers if h.startswith(prefix) and h.endswith(suffix)]
    assert len(found) == 1, (label, part, found)
    return found[0]


def test_sheets_headers_and_roi_figures_equal_summary(tmp_path, revenue_run):
    effects, summary, manifest = revenue_run
    assert np.ptp(effects.roas[:, 0]) > 0  # intervals are not degenerate
    path = write_roi_xlsx(tmp_path / "roi.xlsx", effects, summary, manifest)
    assert path == tmp_path / "roi.xlsx"
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == list(SHEETS)

    ws = wb["ROI"]
    headers, rows = _table(ws)
    assert "ROAS (USD per USD) — mean" in headers
    assert "ROAS — 90% interval low" in headers and "ROAS — 90% interval high" in headers
    assert all("90%" in h for h in headers if h.endswith(("interval low", "interval high")))
    assert not any("CLV" in h for h in headers)  # no CLV given: no CLV columns
    assert ws.freeze_panes == f"B{HEADER_ROW + 1}"
    assert [r["Channel"] for r in rows] == [*effects.channels, TOTAL_LABEL]

    channels = summary["channels"]
    for row in rows[:-1]:
        figures = channels[row["Channel"]]
        assert row["Spend (USD)"] == pytest.approx(figures["spend"], rel=1e-12)
        assert row["P(profit ROI > 0.05) (probability)"] == pytest.approx(figures["p_profitable"], abs=1e-12)
        for label in ("ROAS", "Profit ROI", "mROAS", "Marginal profit ROI", "Immediate share", "ROAS immediate",
                      "ROAS lasting"):
            for part in ("mean", "lo", "hi"):
                got = row[_column(headers, label, part)]
                assert got == pytest.approx(figures[ROI_METRICS[label]][part], rel=1e-12, abs=1e-12), (label, part)
        for part in ("mean", "lo", "hi"):
            assert row[_column(headers, "Incremental revenue", part)] == pytest.approx(
                figures["incremental_kpi"][part], rel=1e-12)
            assert row[_column(headers, "Incremental value", part)] == pytest.approx(
                figures["incremental_value"][part], rel=1e-12)

    total = rows[-1]
    assert total["Spend (USD)"] == pytest.approx(sum(channels[c]["spend"] for c in effects.channels), rel=1e-12)
    assert total["Spend (USD)"] == pytest.approx(summary["totals"]["spend"], rel=1e-12)
    for part in ("mean", "lo", "hi"):
        assert total[_column(headers, "ROAS", part)] == pytest.approx(summary["totals"]["roas"][part], rel=1e-12)
        assert total[_column(headers, "Incremental value", part)] == pytest.approx(
            summary["totals"]["incremental_value"][part], rel=1e-12)

    # number formats: currency with thousands separators, ratios, shares
    header_cells = {c.value: c.column for c in ws[HEADER_ROW]}
    first = HEADER_ROW + 1
    assert ws.cell(first, header_cells["Spend (USD)"]).number_format == "#,##0"
    assert ws.cell(first, header_cells["ROAS (USD per USD) — mean"]).number_format == "0.00"
    assert ws.cell(first, header_cells[_column(headers, "Immediate share", "mean")]).number_format == "0.0%"


def test_roi_notes_state_the_break_even_marginal_roas(tmp_path, revenue_run):
    effects, summary, manifest = revenue_run
    ws = openpyxl.load_workbook(write_roi_xlsx(tmp_path / "roi.xlsx", effects, summary, manifest))["ROI"]
    notes = " ".join(str(c.value) for c in ws["A"] if isinstance(c.value, str))
    break_even = {f"{f['mroas_break_even']:.2f}" for f in summary["channels"].values()}
    assert len(break_even) == 1  # one margin for every channel: (1 + 0.05) / margin, once
    assert (f"the next USD pays for itself only when this beats the hurdle rate (0.05), i.e. when mROAS is above "
            f"(1 + hurdle) ÷ gross margin ({break_even.pop()}), not when mROAS is above 1") in notes


def test_contributions_sum_per_draw_and_add_up(tmp_path, revenue_run):
    effects, summary, manifest = revenue_run
    wb = openpyxl.load_workbook(write_roi_xlsx(tmp_path / "roi.xlsx", effects, summary, manifest))
    per_period = effects.contributions_table().groupby("component")["mean"].sum()
    for freq in ("month", "quarter"):
        ws = wb[f"Contributions ({freq})"]
        headers, rows = _table(ws)
        mean, lo, hi = (_column(headers, "Contribution", p) for p in ("mean", "lo", "hi"))
        assert "90%" in lo and "90%" in hi
        assert {r["Component"] for r in rows} == {"baseline", *effects.channels}
        expected = aggregate_contributions(effects, freq)
        assert len(rows) == len(expected)
        for component, total in per_period.items():
            got = sum(r[mean] for r in rows if r["Component"] == component)
            assert got == pytest.approx(total, rel=1e-9), (freq, component)
        assert sum(r["Data periods"] for r in rows if r["Component"] == "baseline") == len(effects.dates)
        assert all(r[lo] <= r[mean] <= r[hi] for r in rows)
        assert any(r[hi] > r[lo] for r in rows)  # the perturbed draws give real intervals
        # the figures are the pipeline's own per-draw bucket sums, not re-derived ones
        # (to openpyxl's 16 significant digits: it writes floats with "%.16g")
        by_key = {(r["Period"], r["Component"]): (r[mean], r[lo], r[hi]) for r in rows}
        for rec in expected.itertuples(index=False):
            assert by_key[(rec.period, rec.component)] == pytest.approx((rec.mean, rec.lo, rec.hi), rel=1e-15)


def test_assumptions_and_provenance(tmp_path, revenue_run):
    effects, summary, manifest = revenue_run
    wb = openpyxl.load_workbook(write_roi_xlsx(tmp_path / "roi.xlsx", effects, summary, manifest))
    assumptions = {r[0]: (r[1], r[2]) for r in wb["Assumptions"].iter_rows(min_row=2, values_only=True) if r[0]}
    margin = next(v for k, v in assumptions.items() if k.startswith("Finance: Gross margin"))
    assert margin == (summary["finance"]["gross_margin"], "synthetic truth")
    assert next(v for k, v in assumptions.items() if k.startswith("Finance: Hurdle rate"))[0] == 0.05
    for label in ("Currency", "Value per KPI unit", "Customer lifetime value"):
        assert any(k.startswith(f"Finance: {label}") for k in assumptions), label
    assert next(v for k, v in assumptions.items() if k.startswith("Finance: Customer lifetime"))[0] == "not set"
    scalar_inputs = [k for k in summary["finance"] if not k.endswith("_source") and k != "gross_margin_by_channel"]
    assert len([k for k in assumptions if k.startswith("Finance: ")]) == (
        len(scalar_inputs) + len(summary["finance"]["gross_margin_by_channel"]))
    assert assumptions["Interval mass (equal-tailed posterior interval)"][0] == 0.9
    assert assumptions["Analysis window start"][0] == summary["window"]["start"]
    assert assumptions["KPI"][0] == summary["kpi"]
    assert assumptions["Currency"][0] == "USD"

    provenance = {r[0]: r[1] for r in wb["Provenance"].iter_rows(min_row=2, values_only=True)}
    assert provenance["Run id"] == "run-xlsx"
    assert provenance["Created at (UTC)"] == manifest["created_at"]
    assert provenance["Data SHA-256"] == manifest["data"]["sha256"]
    assert provenance["Config SHA-256 (of the run's config.yaml)"] == manifest["config_sha256"]
    assert provenance["Seed"] == 7
    assert provenance["Sampler: sampler"] == "nutpie" and provenance["Sampler: draws"] == 3
    assert provenance["Version: numpy"] == manifest["versions"]["numpy"]


def test_clv_basis_columns_when_summary_has_them(tmp_path):
    effects, summary, manifest = _run(count_kpi=True)
    assert all("roas_clv" in f for f in summary["channels"].values())
    wb = openpyxl.load_workbook(write_roi_xlsx(tmp_path / "roi.xlsx", effects, summary, manifest))
    headers, rows = _table(wb["ROI"])
    assert "ROAS, CLV basis (USD per USD) — mean" in headers
    assert any(h.startswith("Incremental revenue (revenue) — mean") for h in headers)  # count KPI: its own unit
    for row in rows[:-1]:
        for part in ("mean", "lo", "hi"):
            assert row[_column(headers, "ROAS, CLV basis", part)] == pytest.approx(
                summary["channels"][row["Channel"]]["roas_clv"][part], rel=1e-12)
    sources = {r[0]: r[2] for r in wb["Assumptions"].iter_rows(min_row=2, values_only=True) if r[0]}
    assert sources["Finance: Customer lifetime value (USD per customer)"] == "finance: 3-year CLV model"


def test_failed_diagnostics_put_a_warning_on_the_figures(tmp_path):
    effects, summary, manifest = _run(ok=False)
    wb = openpyxl.load_workbook(write_roi_xlsx(tmp_path / "roi.xlsx", effects, summary, manifest))
    for name in ("ROI", "Contributions (month)", "Contributions (quarter)"):
        assert "FAILED its diagnostics" in wb[name]["A1"].value
        assert "R-hat" in wb[name]["A1"].value


def test_mismatched_summary_is_refused(tmp_path, revenue_run):
    effects, summary, manifest = revenue_run
    tampered = json.loads(json.dumps(summary))
    channel = effects.channels[0]
    tampered["channels"][channel]["roas"]["mean"] *= 1.01
    with pytest.raises(XlsxInputError, match=f"{channel} roas mean"):
        write_roi_xlsx(tmp_path / "roi.xlsx", effects, tampered, manifest)
    assert list(tmp_path.iterdir()) == []  # nothing written, no temp file left


def test_write_is_atomic_and_replaces(tmp_path, revenue_run, monkeypatch):
    effects, summary, manifest = revenue_run
    target = tmp_path / "roi.xlsx"
    write_roi_xlsx(target, effects, summary, manifest)
    first_inode = os.stat(target).st_ino
    assert sorted(p.name for p in tmp_path.iterdir()) == ["roi.xlsx"]

    replaced = []
    real_replace = os.replace

    def spy(src, dst):
        replaced.append((os.fspath(src), os.fspath(dst)))
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    write_roi_xlsx(target, effects, summary, manifest)
    assert len(replaced) == 1
    src, dst = replaced[0]
    assert os.path.dirname(src) == str(tmp_path) and dst == str(target)  # same folder: a true rename
    assert os.stat(target).st_ino != first_inode
    assert sorted(p.name for p in tmp_path.iterdir()) == ["roi.xlsx"]
    assert openpyxl.load_workbook(target).sheetnames == list(SHEETS)

    # a failure while saving leaves the old workbook in place and no temp file behind
    monkeypatch.setattr(openpyxl.Workbook, "save", lambda self, fh: (_ for _ in ()).throw(OSError("disk full")))
    before = target.read_bytes()
    with pytest.raises(OSError, match="disk full"):
        write_roi_xlsx(target, effects, summary, manifest)
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["roi.xlsx"]


def test_present_value_columns_equal_summary_and_their_total_is_spend_weighted(tmp_path):
    result = generate(SynthSpec(seed=2))
    raw = json.loads(json.dumps(result.config))
    raw["finance"]["discount_rate"] = {"value": 0.2, "source": "treasury"}
    config = Config.from_dict(raw)
    data = load_data(result.data, config.roles())
    scaling = series_scaling(data)
    effects = compute_effects(truth_posterior(result.truth, config, data, n_draws=3), config, data, scaling)
    sampler = {"sampler": "nutpie", "chains": 1, "draws": 3, "tune": 0, "seed": 7}
    fit = FitResult(idata=xr.DataTree.from_dict({"posterior": truth_posterior(result.truth, config, data)}),
                    diagnostics=Diagnostics(max_rhat=1.0, min_ess_bulk=400.0, divergences=0,
                                            thresholds=DiagnosticThresholds(), chains=1, problems=[]),
                    sampler=sampler, timings={})
    summary = json.loads(json.dumps(build_summary(config, data, fit, effects, wall_s=1.0)))
    manifest = json.loads(json.dumps(build_manifest(
        run_id="run-npv", config_text="name: test\n", data=data, seed=7, sampler=sampler, timings={},
        diagnostics_ok=True, scaling=scaling), default=str))
    wb = openpyxl.load_workbook(write_roi_xlsx(tmp_path / "roi.xlsx", effects, summary, manifest))
    headers, rows = _table(wb["ROI"])
    mean = _column(headers, "ROAS, present value", "mean")
    for row in rows[:-1]:
        assert row[mean] == pytest.approx(summary["channels"][row["Channel"]]["roas_npv"]["mean"], rel=1e-9)
        assert row[mean] < row[_column(headers, "ROAS", "mean")]
    assert rows[-1][mean] == pytest.approx(summary["totals"]["roas_npv"]["mean"], rel=1e-9)
    assert any(v == "treasury" for v in wb["Assumptions"].iter_cols(min_col=3, max_col=3, values_only=True).__next__())
