"""Bad input never slips through (issue 13): a corpus of broken and unusual inputs, one test each.

Every refusal is bad input: exit code 2, a message naming the file, the column, the line or
date where there is one, and the fix; and nothing is written (no run folder, no temporary
folder beside it). Inputs that are valid but unusual (a BOM, semicolons, decimal commas, an
.xlsx workbook, a path with spaces and accents, unsorted dates) load to the right numbers.

Decisions this corpus pins down:

- A semicolon-separated file is a European spreadsheet export. With a decimal comma in any cell,
  ``1.234,56`` is 1234.56 and ``1.234`` is 1234; a ``12.5`` in the same file is refused (two
  decimal marks). Without any decimal comma a column of ``1.234``-like values only is refused as
  ambiguous (1.234 or 1234) — never guessed.
- An ``.xlsx`` workbook with one sheet is read; with more sheets it is refused (which sheet?).
- Unsorted dates are sorted, with a note; duplicated dates are refused.

Runs for the workflow commands hold a synthetic posterior (no sampling); the two kill -9
tests run ``mmm fit`` in a child process that stalls at a patched point, so the kill lands
deterministically.
"""

from __future__ import annotations

import re

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
import yaml

from mmm.data.panel_design import series_scaling
from mmm.cli.main import main
from mmm.spec.config import Config, ignored_config_notes
from mmm.data.load import load_data
from mmm.runs.folder import manifest, write_run
from mmm.data.synth import SynthSpec, generate
from mmm.model.truth import truth_posterior

TINY_FIT = ["--draws", "5", "--tune", "5", "--chains", "1", "--no-progress"]


@pytest.fixture(scope="module")
def synthetic():
    return generate(SynthSpec(seed=0, n_periods=60, n_channels=2))


@pytest.fixture
def frame(synthetic) -> pd.DataFrame:
    return synthetic.data.assign(date=synthetic.data["date"].dt.strftime("%Y-%m-%d"))


@pytest.fixture
def raw_config(synthetic) -> dict:
    return yaml.safe_load(yaml.safe_dump(synthetic.config))


def project(folder: Path, raw_config: dict, frame: pd.DataFrame | None = None, *, text: str | bytes | None = None,
            data_name: str = "data.csv", **sections) -> Path:
    """A config (with ``sections`` replaced) and its data file in ``folder``; returns the config path."""
    folder.mkdir(parents=True, exist_ok=True)
    data_path = folder / data_name
    if isinstance(text, bytes):
        data_path.write_bytes(text)
    elif text is not None:
        data_path.write_text(text, encoding="utf-8")
    elif frame is not None:
        frame.to_csv(data_path, index=False)
    config = {**raw_config, **sections}
    config["data"] = {**config["data"], "path": data_name}
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True))
    return path


def refused(argv: list[str], capsys, *, written: Path | None = None) -> str:
    """Run the CLI; it must exit 2 and write nothing under ``written``'s parent but what was there."""
    before = sorted(p.name for p in written.parent.iterdir()) if written is not None else None
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "\nerror: " in "\n" + err, err
    if written is not None:
        assert not written.exists()
        assert sorted(p.name for p in written.parent.iterdir()) == before  # no temporary folder either
    return err


def fit_refused(config_path: Path, capsys) -> str:
    """``mmm fit`` on bad input: exit 2 before any sampling, no run folder."""
    out = config_path.parent / "run"
    return refused(["fit", str(config_path), "--out", str(out), *TINY_FIT], capsys, written=out)


def loaded(config_path: Path):
    from mmm.analysis.pipeline import load, load_config

    return load(load_config(config_path)).national()  # the panel of one geo, as its national series


# ---- valid but unusual files: read to the right numbers ----------------------------------------------


def test_csv_with_utf8_bom_loads(tmp_path, raw_config, frame, capsys):
    config = project(tmp_path, raw_config, text=b"\xef\xbb\xbf" + frame.to_csv(index=False).encode())
    data = loaded(config)
    assert data.dates[0] == pd.Timestamp(frame["date"].iloc[0])
    np.testing.assert_allclose(data.kpi.to_numpy(), frame["revenue"].to_numpy())
    assert main(["validate", str(config)]) == 0


def test_semicolon_separated_with_decimal_points_loads(tmp_path, raw_config, frame):
    data = loaded(project(tmp_path, raw_config, text=frame.to_csv(index=False, sep=";")))
    np.testing.assert_allclose(data.spend["tv"].to_numpy(), frame["tv_spend"].to_numpy())
    np.testing.assert_allclose(data.controls["price_index"].to_numpy(), frame["price_index"].to_numpy())
    assert any("semicolon-separated" in note and "decimal points" in note for note in data.notes)


def test_european_export_with_decimal_commas_and_thousands_dots_loads(tmp_path, raw_config, frame):
    """What German or French Excel writes: ``;`` between fields, ``1.234.567,89`` in them."""
    def european(value: float) -> str:
        return f"{value:,.2f}".replace(",", "_").replace(".", ",").replace("_", ".")

    text = frame.copy()
    for column in ("revenue", "tv_spend", "search_spend", "price_index"):
        text[column] = frame[column].map(european)
    assert text["revenue"].str.contains(r"^\d{1,3}\.\d{3},\d\d$").any()  # thousands dots really are there
    data = loaded(project(tmp_path, raw_config, text=text.to_csv(index=False, sep=";")))
    np.testing.assert_allclose(data.kpi.to_numpy(), frame["revenue"].round(2).to_numpy())
    np.testing.assert_allclose(data.spend["search"].to_numpy(), frame["search_spend"].round(2).to_numpy())
    np.testing.assert_allclose(data.controls["price_index"].to_numpy(), frame["price_index"].round(2).to_numpy())
    assert any("decimal commas (1.234,56 = 1234.56)" in note for note in data.notes)


def test_xlsx_workbook_with_one_sheet_is_read(tmp_path, raw_config, frame):
    folder = tmp_path / "xlsx"
    config = project(folder, raw_config, data_name="data.xlsx")
    frame.assign(date=pd.to_datetime(frame["date"])).to_excel(folder / "data.xlsx", index=False)
    data = loaded(config)
    assert data.n_periods == len(frame) and data.freq == "W"
    np.testing.assert_allclose(data.spend["tv"].to_numpy(), frame["tv_spend"].to_numpy())


def test_data_path_with_spaces_and_non_ascii_letters_works(tmp_path, raw_config, frame, capsys):
    folder = tmp_path / "Données clients" / "Q1 Umsätze"
    config = project(folder, raw_config, frame, data_name="ventes été 2024.csv")
    assert main(["validate", str(config)]) == 0
    assert "60 weeks" in capsys.readouterr().out
    np.testing.assert_allclose(loaded(config).kpi.to_numpy(), frame["revenue"].to_numpy())


def test_unsorted_dates_are_sorted_with_a_note(tmp_path, raw_config, frame, capsys):
    shuffled = frame.sample(frac=1.0, random_state=1)
    config = project(tmp_path, raw_config, shuffled)
    data = loaded(config)
    assert data.dates.is_monotonic_increasing
    np.testing.assert_allclose(data.kpi.to_numpy(), frame["revenue"].to_numpy())  # rows travel with their date
    np.testing.assert_allclose(data.spend["tv"].to_numpy(), frame["tv_spend"].to_numpy())
    assert main(["validate", str(config)]) == 0
    assert "note: Sorted the rows by 'date'" in capsys.readouterr().out


# ---- files that cannot be read as meant ---------------------------------------------------------------


def test_semicolon_file_with_only_thousands_like_dots_is_ambiguous(tmp_path, raw_config, frame, capsys):
    text = frame.assign(tv_spend=[f"{v / 1000:.3f}" if v else "0" for v in frame["tv_spend"]])
    err = fit_refused(project(tmp_path, raw_config, text=text.to_csv(index=False, sep=";")), capsys)
    assert "data.csv: column 'tv_spend' is ambiguous" in err and "(line " in err
    assert "without thousands separators" in err


def test_semicolon_file_mixing_decimal_marks_is_refused(tmp_path, raw_config, frame, capsys):
    text = frame.astype(str)
    text["revenue"] = text["revenue"].str.replace(".", ",")
    text.loc[4, "revenue"] = "1234.5"
    err = fit_refused(project(tmp_path, raw_config, text=text.to_csv(index=False, sep=";")), capsys)
    assert "column 'revenue' mixes decimal marks: '1234.5' (line 6)" in err and "Write '1234,5' there" in err
    example = re.search(r"with a comma \(e\.g\. '([^']*)', line (\d+)\)", err)
    assert example and "," in example[1], err  # a real decimal-comma cell of the file, and where it is


def test_xlsx_with_two_sheets_is_refused(tmp_path, raw_config, frame, capsys):
    config = project(tmp_path, raw_config, data_name="book.xlsx")
    with pd.ExcelWriter(tmp_path / "book.xlsx") as book:
        frame.to_excel(book, sheet_name="data", index=False)
        frame.head().to_excel(book, sheet_name="notes", index=False)
    err = fit_refused(config, capsys)
    assert "book.xlsx has 2 sheets ('data', 'notes')" in err and "Delete the other sheets" in err


def test_legacy_xls_is_refused_with_the_export_to_do(tmp_path, raw_config, capsys):
    config = project(tmp_path, raw_config, text=b"\xd0\xcf\x11\xe0 not really excel", data_name="old.xls")
    err = fit_refused(config, capsys)
    assert "old.xls is a legacy Excel (.xls) file" in err and "Save it as .xlsx" in err


def test_missing_data_file_names_the_path(tmp_path, raw_config, capsys):
    err = fit_refused(project(tmp_path, raw_config), capsys)
    assert "data file not found" in err and "data.csv" in err and "data.path" in err


# ---- dates ----------------------------------------------------------------------------------------------


def test_duplicated_dates_name_the_date_and_lines(tmp_path, raw_config, frame, capsys):
    doubled = pd.concat([frame.iloc[:11], frame.iloc[[10]], frame.iloc[11:]])
    err = fit_refused(project(tmp_path, raw_config, doubled), capsys)
    assert f"repeats 1 date(s): {frame['date'].iloc[10]} (line 12, line 13)" in err and "remove or merge" in err


def test_mixed_daily_and_weekly_rows_are_named(tmp_path, raw_config, frame, capsys):
    daily = frame.iloc[40:50].assign(date=pd.date_range(frame["date"].iloc[39], periods=11, freq="D")[1:]
                                     .strftime("%Y-%m-%d"))
    err = fit_refused(project(tmp_path, raw_config, pd.concat([frame.iloc[:40], daily])), capsys)
    assert "mixes weekly and daily periods" in err
    assert f"daily, {frame['date'].iloc[39]} to " in err and "sum the daily rows into weeks" in err


def test_one_missing_week_is_named(tmp_path, raw_config, frame, capsys):
    err = fit_refused(project(tmp_path, raw_config, frame.drop(index=20)), capsys)
    assert f"1 period(s) are missing: {frame['date'].iloc[20]}" in err and "Add rows for them" in err


def test_unparseable_date_names_the_line(tmp_path, raw_config, frame, capsys):
    err = fit_refused(project(tmp_path, raw_config, frame.assign(date=frame["date"].where(frame.index != 3,
                                                                                           "2021-13-45"))), capsys)
    assert "line 5 ('2021-13-45')" in err and "YYYY-MM-DD" in err


# ---- values ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("cell", "words"), [
    pytest.param("lots", "has 1 value(s) that are not numbers", id="spend-as-text"),
    pytest.param("inf", "is infinite on 1 date(s)", id="spend-inf"),
    pytest.param("-250", "is negative on 1 date(s)", id="spend-negative"),
    pytest.param("", "is missing on 1 date(s)", id="spend-empty-cell"),
])
def test_bad_spend_cell_names_column_line_and_date(tmp_path, raw_config, frame, capsys, cell, words):
    bad = frame.astype({"tv_spend": object})
    bad.loc[5, "tv_spend"] = cell
    err = fit_refused(project(tmp_path, raw_config, bad), capsys)
    shown = {"lots": " ('lots')", "-250": " (-250)"}.get(cell, "")
    assert (f"column 'tv_spend' (spend of channel 'tv', channels.tv) {words}: {frame['date'].iloc[5]}{shown} "
            "(line 7)") in err
    assert "data.csv" in err


def test_kpi_all_zeros_is_refused(tmp_path, raw_config, frame, capsys):
    err = fit_refused(project(tmp_path, raw_config, frame.assign(revenue=0.0)), capsys)
    assert "KPI column 'revenue' has mean 0" in err and "right KPI column" in err


def test_constant_kpi_is_refused(tmp_path, raw_config, frame, capsys):
    err = fit_refused(project(tmp_path, raw_config, frame.assign(revenue=1000.0)), capsys)
    assert "KPI column 'revenue' is constant (1000 on every date)" in err and "data.kpi" in err


def test_only_ten_periods_is_refused(tmp_path, raw_config, frame, capsys):
    err = fit_refused(project(tmp_path, raw_config, frame.head(10)), capsys)
    assert "the data has 10 weekly periods" in err and "at least 52" in err and "data.min_periods" in err


def test_more_channels_than_periods_is_refused(tmp_path, raw_config, frame, capsys):
    wide = frame.head(8).copy()
    channels = {}
    for k in range(9):
        wide[f"ch{k}_spend"] = frame["search_spend"].head(8).to_numpy() * (k + 1) + np.arange(8)
        channels[f"ch{k}"] = f"ch{k}_spend"
    config = project(tmp_path, raw_config, wide, channels=channels, controls=[],
                     data={**raw_config["data"], "min_periods": 4})
    err = fit_refused(config, capsys)
    assert "the data has 8 periods but 9 channel(s) and 0 control(s)" in err and "fewer channels" in err


def test_one_column_for_two_channels_is_refused(tmp_path, raw_config, frame, capsys):
    channels = {**raw_config["channels"], "tv_copy": "tv_spend"}
    err = fit_refused(project(tmp_path, raw_config, frame, channels=channels), capsys)
    assert "column 'tv_spend' is given 2 roles" in err and "channels.tv_copy" in err and "fix the config" in err


def test_misspelled_column_suggests_the_real_one(tmp_path, raw_config, frame, capsys):
    channels = {**raw_config["channels"], "tv": "TV_Spend_"}
    err = fit_refused(project(tmp_path, raw_config, frame, channels=channels), capsys)
    assert "column 'TV_Spend_' (spend of channel 'tv', channels.tv) is not in the data. Did you mean 'tv_spend'?" in err


# ---- config ---------------------------------------------------------------------------------------------


def test_unknown_key_suggests_the_right_one(tmp_path, raw_config, frame, capsys):
    raw = dict(raw_config)
    raw["chanels"] = raw.pop("channels")
    err = fit_refused(project(tmp_path, raw, frame), capsys)
    assert "config.yaml: unknown key `chanels` in top level; did you mean `channels`?" in err


@pytest.mark.parametrize(("section", "value", "words"), [
    pytest.param("fit", {"draws": "many"}, "fit.draws must be a positive whole number; got 'many'", id="draws-many"),
    pytest.param("finance", {"gross_margin": 1.5}, "finance.gross_margin is a share in (0, 1], e.g. 0.6; got 1.5",
                 id="gross-margin-1.5"),
    pytest.param("finance", {"gross_margin": -0.1}, "finance.gross_margin is a share in (0, 1], e.g. 0.6; got -0.1",
                 id="gross-margin-negative"),
])
def test_wrong_config_types_name_the_key(tmp_path, raw_config, frame, capsys, section, value, words):
    err = fit_refused(project(tmp_path, raw_config, frame, **{section: value}), capsys)
    assert "config.yaml: " + words in err


def test_count_kpi_without_value_per_kpi(tmp_path, raw_config, frame, capsys):
    config = project(tmp_path, raw_config, frame, data={**raw_config["data"], "kpi_type": "count"},
                     finance={"gross_margin": 0.6})
    err = fit_refused(config, capsys)
    assert "data.kpi_type is count, so finance.value_per_kpi" in err and "value_per_kpi: {value: 45" in err


def test_exposure_is_validated_and_used_without_a_warning(tmp_path, raw_config, frame, capsys):
    channels = {**raw_config["channels"], "search": {"spend": "search_spend", "exposure": "search_clicks"}}
    config = project(tmp_path, raw_config, frame.assign(search_clicks=frame["search_spend"] / 2), channels=channels)
    assert main(["validate", str(config)]) == 0
    assert "exposure" not in capsys.readouterr().err  # it drives the channel's effect now (tests/analysis/test_exposure)
    assert ignored_config_notes(Config.load(config)) == []


def test_geo_only_keys_on_national_data_are_said_to_be_unused(tmp_path, raw_config, frame, capsys):
    config = project(tmp_path, raw_config, frame.assign(people=1000), model={"geo": {"adstock": "geo"}},
                     data={**raw_config["data"], "population": "people"})
    assert main(["validate", str(config)]) == 0
    err = capsys.readouterr().err.splitlines()
    assert ("warning: data.population ('people') is not used: only a geo panel (data.geo) is modelled per capita; "
            "set data.geo or drop data.population") in err
    assert any(line.startswith("warning: model.geo.adstock ('geo') is not used") for line in err)


def test_exposure_column_with_bad_cells_is_bad_input(tmp_path, raw_config, frame, capsys):
    channels = {**raw_config["channels"], "search": {"spend": "search_spend", "exposure": "search_clicks"}}
    clicks = (frame["search_spend"] / 2).where(frame.index != 8, -1.0)
    err = fit_refused(project(tmp_path, raw_config, frame.assign(search_clicks=clicks), channels=channels), capsys)
    assert f"column 'search_clicks' (exposure of channel 'search', channels.search.exposure) is negative on 1 " \
           f"date(s): {frame['date'].iloc[8]} (-1) (line 10)" in err


# ---- lift tests -----------------------------------------------------------------------------------------

EXPERIMENT_HEADER = "channel,start,end,incremental_kpi,se\n"


@pytest.mark.parametrize(("row", "words"), [
    pytest.param("radio,2021-03-01,2021-03-29,50000,9000",
                 "experiments.csv: row 2: channel 'radio' is not in the model's channels", id="unknown-channel"),
    pytest.param("tv,2021-02-30,2021-03-29,50000,9000",
                 "experiments.csv: row 2: start '2021-02-30' is not a date (write YYYY-MM-DD)", id="impossible-date"),
    pytest.param("tv,2021-03-29,2021-03-01,50000,9000", "row 2: end 2021-03-01 is before start 2021-03-29",
                 id="end-before-start"),
    pytest.param("tv,2025-03-03,2025-03-31,50000,9000",
                 "row 2 (tv 2025-03-03..2025-03-31): dates 2025-03-03..2025-03-31 are outside the data",
                 id="outside-the-data"),
])
def test_experiments_file_problems_name_file_row_and_fix(tmp_path, raw_config, frame, capsys, row, words):
    (tmp_path / "experiments.csv").write_bytes(b"\xef\xbb\xbf" + (EXPERIMENT_HEADER + row + "\n").encode())
    err = fit_refused(project(tmp_path, raw_config, frame, experiments="experiments.csv"), capsys)
    assert words in err


# ---- runs for the workflow commands (no sampling) -------------------------------------------------------


@pytest.fixture(scope="module")
def runs(synthetic, tmp_path_factory) -> Path:
    """A folder holding run ``r1``, written as ``mmm fit`` writes (checksums in manifest.json)."""
    root = tmp_path_factory.mktemp("runs")
    config = Config.from_dict(synthetic.config, base_dir=root)
    data = load_data(synthetic.data, config.roles())
    scaling = series_scaling(data)
    posterior = truth_posterior(synthetic.truth, config, data, n_draws=50)
    config_text = yaml.safe_dump({**synthetic.config, "data": {**synthetic.config["data"], "path": "data.csv"}},
                                 sort_keys=False)
    files = {
        "config.yaml": config_text,
        "data.csv": synthetic.data.assign(date=synthetic.data["date"].dt.strftime("%Y-%m-%d")),
        "posterior.nc": xr.DataTree.from_dict({"posterior": posterior}),
        "summary.json": {"interval": 0.9, "channels": {}, "diagnostics": {"ok": True}},
        "manifest.json": manifest(run_id="r1", config_text=config_text, data=data, seed=0, sampler={}, timings={},
                                  diagnostics_ok=True, scaling=scaling),
    }
    write_run(root / "r1", files=files)
    return root


@pytest.fixture
def run_copy(runs, tmp_path) -> Path:
    """A fresh copy of run r1 to damage."""
    return Path(shutil.copytree(runs / "r1", tmp_path / "runs" / "r1"))


def test_the_manifest_records_a_checksum_of_every_file(runs):
    recorded = json.loads((runs / "r1" / "manifest.json").read_text())["files"]
    assert set(recorded) == {"config.yaml", "data.csv", "posterior.nc", "summary.json"}
    assert all(len(digest) == 64 for digest in recorded.values())


def workflow_commands(run: Path, other: Path, tmp: Path) -> dict[str, list[str]]:
    """Every command that loads a run, pointed at ``run``."""
    return {
        "report": ["report", str(run)],
        "compare": ["compare", str(other), str(run), "--out", str(tmp / "cmp")],
        "refresh": ["refresh", str(run), "--data", str(other / "data.csv"), "--out", str(tmp / "next"), *TINY_FIT],
        "optimize": ["optimize", str(run), "--budget", "100000", "--out", str(tmp / "plan")],
        "scenario": ["scenario", str(run), str(tmp / "plans.csv"), "--out", str(tmp / "scen")],
        "sensitivity": ["sensitivity", str(run), "--psense", "--out", str(tmp / "sens")],
    }


@pytest.mark.parametrize("command", ["report", "compare", "refresh", "optimize", "scenario", "sensitivity"])
def test_truncated_posterior_is_refused_by_every_command(runs, run_copy, tmp_path, capsys, command):
    posterior = run_copy / "posterior.nc"
    posterior.write_bytes(posterior.read_bytes()[: posterior.stat().st_size // 2])
    argv = workflow_commands(run_copy, runs / "r1", tmp_path)[command]
    err = refused(argv, capsys)
    assert f"{posterior} was changed after the run was written" in err and "fit again" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["runs"]  # no plan, comparison or run written


@pytest.mark.parametrize("command", ["report", "compare", "refresh", "optimize"])
def test_edited_summary_is_refused_by_every_command(runs, run_copy, tmp_path, capsys, command):
    summary = run_copy / "summary.json"
    summary.write_text(summary.read_text().replace('"ok": true', '"ok": false'))
    err = refused(workflow_commands(run_copy, runs / "r1", tmp_path)[command], capsys)
    assert f"{summary} was changed after the run was written" in err


def test_a_run_without_checksums_still_loads_but_a_damaged_posterior_is_named(runs, run_copy, tmp_path, capsys):
    """A run written before checksums were recorded: accepted, yet an unreadable posterior.nc is bad input."""
    manifest_path = run_copy / "manifest.json"
    old = json.loads(manifest_path.read_text())
    del old["files"]
    manifest_path.write_text(json.dumps(old))
    from mmm.runs.folder import load_run

    assert load_run(run_copy).posterior()["posterior"]["intercept"].size == 50
    (run_copy / "posterior.nc").write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 64)
    err = refused(["optimize", str(run_copy), "--budget", "1000", "--out", str(tmp_path / "plan")], capsys)
    assert f"{run_copy / 'posterior.nc'} is not a readable posterior" in err


def test_a_file_listed_in_the_manifest_but_deleted_is_named(runs, run_copy, tmp_path, capsys):
    (run_copy / "data.csv").unlink()
    err = refused(["optimize", str(run_copy), "--budget", "1000", "--out", str(tmp_path / "plan")], capsys)
    assert f"{run_copy} lacks data.csv, which manifest.json lists" in err


@pytest.mark.parametrize("budget", [pytest.param("0", id="zero"), pytest.param("-5000", id="negative")])
def test_optimize_with_a_budget_that_is_not_positive(runs, tmp_path, capsys, budget):
    out = tmp_path / "plan"
    err = refused(["optimize", str(runs / "r1"), f"--budget={budget}", "--out", str(out)], capsys, written=out)
    assert f"--budget must be a positive amount (currency over the plan periods); got {float(budget):g}" in err


@pytest.mark.parametrize(("content", "words"), [
    pytest.param("channel,max\nradio,50000\n", "row 2: unknown channel 'radio'; the run's channels are",
                 id="unknown-channel"),
    pytest.param("channel,min,max\ntv,,-100\n", "row 2: max = '-100' is out of range", id="negative-max"),
])
def test_optimize_bounds_file_problems(runs, tmp_path, capsys, content, words):
    (tmp_path / "bounds.csv").write_text(content)
    out = tmp_path / "plan"
    err = refused(["optimize", str(runs / "r1"), "--budget", "100000", "--bounds", str(tmp_path / "bounds.csv"),
                   "--out", str(out)], capsys, written=out)
    assert "bounds.csv: " + words in err


def test_refresh_with_other_channels_than_the_parent(runs, tmp_path, capsys, raw_config, frame):
    channels = {**raw_config["channels"], "radio": "search_spend"}
    channels.pop("search")
    config = project(tmp_path / "new", raw_config, frame, channels=channels)
    out = tmp_path / "next"
    err = refused(["refresh", str(runs / "r1"), "--data", str(tmp_path / "new" / "data.csv"), "--config",
                   str(config), "--out", str(out), *TINY_FIT], capsys, written=out)
    assert "config.yaml: radio not in run r1; a refresh keeps the parent's channels" in err


def test_refresh_dropping_a_channel_of_the_parent(runs, tmp_path, capsys, raw_config, frame):
    channels = {"tv": raw_config["channels"]["tv"]}
    config = project(tmp_path / "new", raw_config, frame, channels=channels)
    out = tmp_path / "next"
    err = refused(["refresh", str(runs / "r1"), "--data", str(tmp_path / "new" / "data.csv"), "--config",
                   str(config), "--out", str(out), *TINY_FIT], capsys, written=out)
    assert "run r1 also models search, which this config drops" in err


@pytest.mark.parametrize("mode", ["refit", "update"])
def test_refresh_without_new_weeks(runs, tmp_path, capsys, mode):
    out = tmp_path / "next"
    err = refused(["refresh", str(runs / "r1"), "--data", str(runs / "r1" / "data.csv"), "--mode", mode,
                   "--out", str(out), *TINY_FIT], capsys, written=out)
    assert "data.csv" in err
    assert ("nothing to refresh" in err) if mode == "refit" else ("--mode refit" in err)


def test_compare_a_run_with_itself(runs, tmp_path, capsys):
    out = tmp_path / "cmp"
    err = refused(["compare", str(runs / "r1"), str(runs / "r1"), "--out", str(out)], capsys, written=out)
    assert "RUN_A and RUN_B are the same folder" in err
    copy = shutil.copytree(runs / "r1", tmp_path / "r1-copy")
    err = refused(["compare", str(runs / "r1"), str(copy), "--out", str(out)], capsys, written=out)
    assert "r1-copy is a copy of" in err


def test_compare_with_a_folder_that_is_not_a_run(runs, tmp_path, capsys):
    (tmp_path / "notes").mkdir()
    out = tmp_path / "cmp"
    err = refused(["compare", str(runs / "r1"), str(tmp_path / "notes"), "--out", str(out)], capsys, written=out)
    assert "notes is not a run folder (no manifest.json)" in err


# ---- kill -9 of `mmm fit` -------------------------------------------------------------------------------

# The child runs the CLI with one function patched to announce itself (a marker file) and hang:
# the parent kills it with SIGKILL only once it is known to be at that point.
CHILD = """
import importlib, os, sys, time
from pathlib import Path

target = importlib.import_module("{module}")

original = target.{function}

def stall(*args, **kwargs):
    out = original(*args, **kwargs) if {call_first} else None
    if {condition}:
        Path(os.environ["MMM_TEST_MARKER"]).write_text("here")
        time.sleep(600)
    return out

target.{function} = stall
from mmm.cli.main import main
sys.exit(main(sys.argv[1:]))
"""


def kill_fit_at(config: Path, out: Path, marker: Path, **patch: str) -> None:
    code = CHILD.format(**patch)
    env = {**os.environ, "MMM_TEST_MARKER": str(marker)}
    child = subprocess.Popen([sys.executable, "-c", code, "fit", str(config), "--out", str(out), *TINY_FIT],
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 300
        while not marker.exists():
            if child.poll() is not None:
                raise AssertionError(f"mmm fit ended (rc {child.returncode}) before the kill point:\n"
                                     f"{child.stdout.read().decode()}")
            assert time.monotonic() < deadline, "mmm fit never reached the kill point"
            time.sleep(0.05)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(timeout=60)
        child.stdout.close()
    assert child.returncode == -signal.SIGKILL


def assert_nothing_accepts(out: Path, leftovers: list[Path], runs: Path, tmp_path: Path, capsys) -> None:
    """Neither --out nor any folder the killed process left is taken as a run by any command."""
    assert not out.exists()
    for folder in [out, *leftovers]:
        for command, argv in workflow_commands(folder, runs / "r1", tmp_path).items():
            if command in ("scenario", "sensitivity"):
                continue
            err = refused(argv, capsys)
            assert str(folder) in err, (command, err)


def test_kill_during_sampling_leaves_no_run(tmp_path, raw_config, frame, runs, capsys):
    config = project(tmp_path / "project", raw_config, frame)
    out = tmp_path / "reports" / "q1"
    kill_fit_at(config, out, tmp_path / "marker", module="mmm.model.sample", function="sample", call_first="False",
                condition="True")
    assert not out.exists() and (not out.parent.exists() or not any(out.parent.iterdir()))
    assert_nothing_accepts(out, [], runs, tmp_path, capsys)


@pytest.mark.slow
def test_kill_during_the_folder_write_leaves_no_run(tmp_path, raw_config, frame, runs, capsys):
    """Killed once every contract file is in the temporary folder (manifest.json included), before the rename."""
    config = project(tmp_path / "project", raw_config, frame)
    out = tmp_path / "reports" / "q1"
    kill_fit_at(config, out, tmp_path / "marker", module="mmm.runs.folder", function="_write_one", call_first="True",
                condition="args[0].name == 'manifest.json'")
    leftovers = list(out.parent.iterdir())
    assert [p.name for p in leftovers] and all(p.name.startswith(".q1.tmp-") for p in leftovers)
    assert (leftovers[0] / "manifest.json").is_file() and (leftovers[0] / "posterior.nc").is_file()
    assert_nothing_accepts(out, leftovers, runs, tmp_path, capsys)
    err = refused(["report", str(leftovers[0])], capsys)
    assert "is the temporary folder of a run that was never finished" in err and "Delete it and fit again" in err
