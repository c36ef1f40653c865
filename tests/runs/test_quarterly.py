"""Quarterly reruns end to end on synthetic data (slow: four small real fits, shared by every test).

Runs, all in one folder (which `mmm history` reads):
  q1         fit on the first 130 weeks of the default synthetic data (tv, search, social)
  q2         `mmm refresh q1 --data <156 weeks>` (refit): also the full-data fit
  q2-update  `mmm refresh q1 --data <156 weeks> --mode update`
  s1         fit on the first 130 weeks of a second dataset (tv, search, radio; low noise)
  s2         refit of s1 on 156 weeks in which tv's true effect is x4 from week 130 on
"""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest
from synthetic_runs import reseal

from mmm.runs.catalog import history
from mmm.cli.main import main
from mmm.report.comparison import write_comparison
from mmm.runs.compare import compare
from mmm.spec.config import Config
from mmm.data.panel_design import PanelScaling
from mmm.data.load import DataError
from mmm.api import fit, load
from mmm.api import refresh
from mmm.data.synth import BUILTIN_CHANNELS, ChannelTruth, SynthSpec, generate
from mmm.data.synth_truth import true_figures

pytestmark = pytest.mark.slow

CHANNELS = ("tv", "search", "social")  # the default synthetic set
SHIFT_CHANNELS = ("tv", "search", "radio")
SHIFTED, FACTOR = "tv", 4.0  # tv's true effect x4 from week 130: its full-window ROAS rises by about half
N_OLD, N_ALL = 130, 156
FIT = {"draws": 500, "tune": 500, "chains": 4}


def _channels(coefs=None, shift=False):
    return [ChannelTruth(c, pattern=BUILTIN_CHANNELS[c][0], level=BUILTIN_CHANNELS[c][1],
                         **({"coef": coefs[c]} if coefs else {"target_roas": BUILTIN_CHANNELS[c][2]}),
                         effect_change_period=N_OLD if shift and c == SHIFTED else None,
                         effect_change_factor=FACTOR if shift and c == SHIFTED else 1.0) for c in SHIFT_CHANNELS]


@pytest.fixture(scope="module")
def quarters(tmp_path_factory):
    root = tmp_path_factory.mktemp("quarters")
    runs = root / "runs"
    base = generate(SynthSpec(n_periods=N_ALL, n_channels=3, seed=3))
    base.data.iloc[:N_OLD].to_csv(root / "q1.csv", index=False)
    base.data.to_csv(root / "q2.csv", index=False)
    q1 = fit(Config.from_dict(base.config, base_dir=root).with_fit(**FIT), root / "q1.csv")
    q1.save(runs / "q1", report=False)
    refresh(runs / "q1", root / "q2.csv", mode="refit").save(runs / "q2", report=False)
    code = main(["refresh", str(runs / "q1"), "--data", str(root / "q2.csv"), "--mode", "update",
                 "--out", str(runs / "q2-update"), "--no-progress"])
    assert code in (0, 1)  # written either way; 1 = diagnostics flagged

    steady = generate(SynthSpec(n_periods=N_ALL, noise=0.03, seed=7, channels=_channels()))
    coefs = {c: v["coef"] for c, v in steady.truth["params_natural"]["channels"].items()}
    # same seed and coefficients: the same spend, controls and noise; only the shifted channel's effect differs
    shifted = generate(SynthSpec(n_periods=N_ALL, noise=0.03, seed=7, channels=_channels(coefs, shift=True)))
    shifted_data = pd.concat([steady.data.iloc[:N_OLD], shifted.data.iloc[N_OLD:]], ignore_index=True)
    steady.data.iloc[:N_OLD].to_csv(root / "s1.csv", index=False)
    shifted_data.to_csv(root / "s2.csv", index=False)
    fit(Config.from_dict(steady.config, base_dir=root).with_fit(**FIT), root / "s1.csv").save(runs / "s1",
                                                                                              report=False)
    refresh(runs / "s1", root / "s2.csv", mode="refit").save(runs / "s2", report=False)
    truth = {"old": true_figures(steady.data, steady.truth, window=(0, N_OLD)),
             "new": true_figures(shifted_data, shifted.truth)}
    return {"root": root, "runs": runs, "base": base, "truth": truth}


def _summary(run_dir):
    return json.loads((run_dir / "summary.json").read_text())


def _manifest(run_dir):
    return json.loads((run_dir / "manifest.json").read_text())


def test_refit_keeps_the_parent_scaling(quarters):
    runs = quarters["runs"]
    parent, child = _manifest(runs / "q1"), _manifest(runs / "q2")
    assert child["scaling"] == parent["scaling"]
    # ...which is not what this data alone would give: the test could fail
    own = PanelScaling.compute(load(Config.from_dict(quarters["base"].config, base_dir=quarters["root"]),
                                  quarters["root"] / "q2.csv")).to_dict()
    assert parent["scaling"]["geos"] == ["national"]  # national data: the scaling of a panel of one geo
    assert own["kpi"]["national"] != pytest.approx(parent["scaling"]["kpi"]["national"], rel=1e-6)
    assert child["parent_run"] == "q1" and child["refresh"]["mode"] == "refit"
    record = child["refresh"]
    assert record["new_periods"] == N_ALL - N_OLD and record["revised_values"] == 0
    assert record["data"]["parent"]["n_periods"] == N_OLD and record["data"]["new"]["n_periods"] == N_ALL
    assert record["config_changes"] == []


def test_update_matches_the_full_data_fit(quarters):
    runs = quarters["runs"]
    full, update = _summary(runs / "q2"), _summary(runs / "q2-update")
    print(f"\n{'channel':>8} {'full mean':>10} {'full 90% interval':>20} {'update mean':>12} "
          f"{'update 90% interval':>20} {'width ratio':>11}")
    for channel in CHANNELS:
        f, u = full["channels"][channel]["roas"], update["channels"][channel]["roas"]
        ratio = (u["hi"] - u["lo"]) / (f["hi"] - f["lo"])
        print(f"{channel:>8} {f['mean']:10.3f} {f['lo']:9.3f} – {f['hi']:7.3f} {u['mean']:12.3f} "
              f"{u['lo']:9.3f} – {u['hi']:7.3f} {ratio:11.3f}")
        assert f["lo"] <= u["mean"] <= f["hi"], channel
        assert abs(ratio - 1) <= 0.25, channel


def test_update_observes_only_the_new_periods(quarters):
    runs = quarters["runs"]
    manifest = _manifest(runs / "q2-update")
    record = manifest["refresh"]
    assert manifest["parent_run"] == "q1" and record["mode"] == "update"
    assert record["likelihood"]["periods"] == N_ALL - N_OLD  # 26 weeks observed, not 156
    assert record["likelihood"]["carry_in_periods"] == N_OLD
    assert record["likelihood"]["start"] == quarters["base"].data["date"].iloc[N_OLD].date().isoformat()
    assert "update_prior" in record and record["update_prior"]["n_draws"] == FIT["draws"] * FIT["chains"]
    # the updated run saw everything up to week 156: updating it with the same file again adds nothing
    with pytest.raises(DataError, match="no periods after"):
        refresh(runs / "q2-update", quarters["root"] / "q2.csv", mode="update")
    assert main(["refresh", str(runs / "q2-update"), "--data", str(quarters["root"] / "q2.csv"),
                 "--mode", "update", "--out", str(quarters["root"] / "never")]) == 2
    assert not (quarters["root"] / "never").exists()


def test_compare_flags_the_channel_whose_effect_changed(quarters):
    runs = quarters["runs"]
    result = compare(runs / "s1", runs / "s2")
    truth = quarters["truth"]
    print()
    for channel, entry in result["channels"].items():
        roas = entry["roas"]
        print(f"{channel:>8}: true ROAS {truth['old'][channel]['roas']:.2f} -> {truth['new'][channel]['roas']:.2f}; "
              f"estimated {roas['a']['mean']:.2f} -> {roas['b']['mean']:.2f}, P(increase) {roas['p_increase']:.3f}, "
              f"flags {entry['flags']['changed']}/{entry['flags']['unstable']}")
    assert result["flagged_changed"] == [SHIFTED]
    assert result["channels"][SHIFTED]["roas"]["p_increase"] > 0.9
    for channel in set(SHIFT_CHANNELS) - {SHIFTED}:
        roas = result["channels"][channel]["roas"]
        assert max(roas["p_increase"], roas["p_decrease"]) <= 0.9
    # the attribution parts add up to the total change, for every channel
    for entry in result["channels"].values():
        parts = entry["attribution"]["roas"]
        assert sum(parts[k] for k in ("revised_history", "new_periods", "assumptions", "re_estimation")) == \
            pytest.approx(parts["total"], abs=1e-12)
        assert parts["total"] == pytest.approx(entry["roas"]["b"]["mean"] - entry["roas"]["a"]["mean"], abs=1e-9)


def test_compare_lists_exactly_the_restated_values(quarters, tmp_path):
    runs = quarters["runs"]
    tampered = tmp_path / "q2-restated"
    shutil.copytree(runs / "q2", tampered)
    frame = pd.read_csv(tampered / "data.csv")
    edits = {(10, "revenue"): 1.05, (64, "tv_spend"): 0.8, (101, "search_spend"): 1.25}
    for (row, column), factor in edits.items():
        frame.loc[row, column] = round(frame.loc[row, column] * factor, 2)
    frame.to_csv(tampered / "data.csv", index=False, float_format="%.17g")
    reseal(tampered)  # a run of the restated data, not an edited run folder
    out = write_comparison(runs / "q1", tampered, tmp_path / "comparison")
    result = json.loads((out / "comparison.json").read_text())
    expected = sorted((frame.loc[row, "date"], column) for row, column in edits)
    assert sorted((r["date"], r["column"]) for r in result["data_revisions"]) == expected
    assert result["data_periods"]["new"] and not result["data_periods"]["dropped"]
    # restated spend moves the "revised history" part of that channel's ROAS change; restated revenue does not
    attribution = {c: e["attribution"]["roas"]["revised_history"] for c, e in result["channels"].items()}
    assert attribution["tv"] != 0 and attribution["search"] != 0 and attribution["social"] == 0
    html = (out / "comparison.html").read_text()
    for date, column in expected:
        assert date in html and column in html
    assert "Why ROAS changed" in html and "<script" not in html and "http" not in html.split("</style>")[1]


def test_compare_shows_a_changed_assumption(quarters, tmp_path):
    runs = quarters["runs"]
    changed = tmp_path / "q2-margin"
    shutil.copytree(runs / "q2", changed)
    text = (changed / "config.yaml").read_text().replace("gross_margin: 0.6", "gross_margin: 0.5")
    (changed / "config.yaml").write_text(text)
    reseal(changed)
    assert main(["compare", str(runs / "q2"), str(changed), "--out", str(tmp_path / "cmp")]) == 0
    result = json.loads((tmp_path / "cmp" / "comparison.json").read_text())
    assert [c["key"] for c in result["config_changes"]] == ["finance.gross_margin"]
    assert "finance.gross_margin" in (tmp_path / "cmp" / "comparison.html").read_text()
    tv = result["channels"]["tv"]
    # same posterior and data: ROAS is unchanged; profit ROI falls by ROAS x 0.1, all of it from the assumption
    assert tv["attribution"]["roas"]["total"] == pytest.approx(0.0, abs=1e-12)
    profit = tv["attribution"]["profit_roi"]
    assert profit["assumptions"] == pytest.approx(-0.1 * tv["roas"]["a"]["mean"], rel=1e-9)
    assert profit["re_estimation"] == pytest.approx(0.0, abs=1e-9)


def test_history_lists_the_quarters_and_survives_catalog_and_folder_removal(quarters, tmp_path):
    runs = tmp_path / "runs"
    shutil.copytree(quarters["runs"], runs)
    table = history(runs)
    modes = dict(zip(table["run_id"], table["mode"]))
    assert modes == {"q1": "fit", "q2": "refit", "q2-update": "update", "s1": "fit", "s2": "refit"}
    assert dict(zip(table["run_id"], table["parent_run"].fillna(""))) == {
        "q1": "", "q2": "q1", "q2-update": "q1", "s1": "", "s2": "s1"}
    (runs / "catalog.sqlite").unlink()
    assert main(["history", str(runs)]) == 0
    assert (runs / "catalog.sqlite").is_file()  # rebuilt from the folders
    shutil.rmtree(runs / "s2")
    assert set(history(runs)["run_id"]) == {"q1", "q2", "q2-update", "s1"}


def test_each_refresh_backtests_its_parent_and_flags_the_changed_quarter(quarters):
    """refresh writes <run>-backtest beside the run: the parent's forecast of the new weeks. s2's weeks have tv's
    effect x4, which s1 could not know: the bias interval excludes zero. q2's weeks are the same world."""
    runs = quarters["runs"]
    steady, changed = (json.loads((runs / f"{r}-backtest" / "backtest.json").read_text()) for r in ("q2", "s2"))
    print(f"\nq1 -> q2: coverage {steady['coverage']:.2f}, bias {steady['bias_share']}"
          f"\ns1 -> s2: coverage {changed['coverage']:.2f}, bias {changed['bias_share']}")
    assert (steady["parent_run"], steady["run"], steady["periods"]) == ("q1", "q2", N_ALL - N_OLD)
    assert steady["flag"] is None and steady["total_inside_interval"]
    assert steady["coverage"] >= 0.7
    assert changed["bias"]["hi"] < 0 and "predicted less than happened" in changed["flag"]
    assert (runs / "q2-update-backtest" / "backtest.json").is_file()  # the CLI's refresh too
    from mmm.report.render import render_report

    assert "Track record: did the previous run predict" in render_report(runs / "q2")
    assert "Track record" not in render_report(runs / "q1")  # no parent, no backtest


def test_compare_and_history_show_the_track_record(quarters, tmp_path, capsys):
    runs = quarters["runs"]
    out = write_comparison(runs / "s1", runs / "s2", tmp_path / "cmp")
    html = (out / "comparison.html").read_text()
    assert "Did run A predict run B" in html and "predicted less than happened" in html
    assert main(["history", str(runs), "--track-record-csv", str(tmp_path / "record.csv")]) == 0
    assert "track record" in capsys.readouterr().out
    record = pd.read_csv(tmp_path / "record.csv")
    assert set(zip(record["parent_run"], record["run"])) == {("q1", "q2"), ("q1", "q2-update"), ("s1", "s2")}
    assert dict(zip(record["run"], record["flagged"]))["s2"]
