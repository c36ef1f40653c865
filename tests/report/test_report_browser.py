"""The report in a real browser: headless Chromium renders it without console errors,
a 1280 px screenshot is not blank, and ``write_pdf`` / ``mmm report --pdf`` print it.

Tests that need Chromium skip with a visible reason where it is not installed
(``.ci/run`` installs Debian's ``chromium`` when it can).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mmm.cli.main import main
from mmm.report import write_report
from mmm.report import pdf as report_pdf
from mmm.report.pdf import ChromiumMissing, chromium_command, find_chromium, write_pdf


from test_report import make_run  # noqa: E402  (tests/ is on sys.path under pytest)

CHROMIUM = find_chromium()
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None,
    reason="headless Chromium not installed (apt-get install chromium): browser render, screenshot and PDF "
           "tests skipped",
)
TIMEOUT_S = 120


def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    profile.mkdir()
    return subprocess.run(chromium_command(CHROMIUM, profile, *args), stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=TIMEOUT_S, check=False)


def _page_errors(stderr: str) -> list[str]:
    """Lines the page itself logged (console messages, uncaught exceptions); not dbus/GPU noise."""
    return [line for line in stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line]


@pytest.fixture(scope="module")
def report_run(tmp_path_factory) -> Path:
    run_dir = make_run(tmp_path_factory.mktemp("browser"))
    write_report(run_dir)
    return run_dir


@needs_chromium
def test_screenshot_at_1280px_is_not_blank(report_run, tmp_path):
    from PIL import Image

    shot = tmp_path / "shot.png"
    proc = _chromium(tmp_path, f"--screenshot={shot}", "--window-size=1280,2000", "--hide-scrollbars",
                     (report_run / "report.html").resolve().as_uri())
    assert shot.is_file(), f"no screenshot (exit {proc.returncode}):\n{proc.stderr[-2000:]}"
    with Image.open(shot) as image:
        assert image.width == 1280
        pixels = np.asarray(image.convert("RGB"))
    non_white = np.any(pixels < 245, axis=-1).mean()
    colours = np.unique(pixels.reshape(-1, 3), axis=0)
    assert non_white > 0.02, f"only {non_white:.1%} of the page is not white"
    assert len(colours) > 2, f"only {len(colours)} distinct colours"


@needs_chromium
def test_renders_roi_table_without_console_errors(report_run, tmp_path):
    proc = _chromium(tmp_path, "--enable-logging=stderr", "--v=0", "--dump-dom",
                     (report_run / "report.html").resolve().as_uri())
    dom = proc.stdout
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert 'id="roi"' in dom and "<table" in dom
    for name in ("tv", "search", "social"):
        assert f"<td>{name}</td>" in dom
    assert "2.47 (1.90 to 3.10)" in dom  # tv ROAS, as rendered by the browser
    assert _page_errors(proc.stderr) == []


@needs_chromium
def test_console_error_filter_catches_a_broken_page(tmp_path):
    """The check above can fail: a page that throws is caught by the same filter."""
    page = tmp_path / "broken.html"
    page.write_text("<!DOCTYPE html><html><body><p>x</p><script>undefinedFunction();</script></body></html>")
    proc = _chromium(tmp_path, "--enable-logging=stderr", "--v=0", "--dump-dom", page.resolve().as_uri())
    assert any("Uncaught" in line for line in _page_errors(proc.stderr)), proc.stderr[-2000:]


@needs_chromium
def test_write_pdf_prints_a_real_pdf_atomically(report_run):
    path = write_pdf(report_run)
    assert path == report_run / "report.pdf"
    data = path.read_bytes()
    assert data.startswith(b"%PDF")
    assert len(data) > 10_000
    assert not list(report_run.glob(".report.pdf.*"))  # no temporary file left behind


@needs_chromium
def test_cli_report_pdf_writes_html_and_pdf(tmp_path, capsys):
    run_dir = make_run(tmp_path)
    main(["report", str(run_dir), "--pdf"])
    out = capsys.readouterr().out
    assert (run_dir / "report.html").is_file()
    assert (run_dir / "report.pdf").read_bytes().startswith(b"%PDF")
    assert f"pdf: {run_dir / 'report.pdf'}" in out


def test_missing_chromium_says_how_to_install(tmp_path, monkeypatch):
    run_dir = make_run(tmp_path)
    write_report(run_dir)
    monkeypatch.setattr(report_pdf, "find_chromium", lambda: None)
    with pytest.raises(ChromiumMissing, match="apt-get install chromium") as err:
        write_pdf(run_dir)
    assert isinstance(err.value, FileNotFoundError)
    assert not (run_dir / "report.pdf").exists()
    assert not list(run_dir.glob(".report.pdf.*"))


def test_cli_pdf_without_chromium_exits_2_but_writes_html(tmp_path, monkeypatch, capsys):
    run_dir = make_run(tmp_path)
    monkeypatch.setattr(report_pdf, "find_chromium", lambda: None)
    assert main(["report", str(run_dir), "--pdf"]) == 2
    err = capsys.readouterr().err
    assert "Chromium not found" in err and "apt-get install chromium" in err
    assert (run_dir / "report.html").is_file()
    assert not (run_dir / "report.pdf").exists()


def test_write_pdf_needs_the_html_first(tmp_path):
    run_dir = make_run(tmp_path)
    with pytest.raises(FileNotFoundError, match="report.html"):
        write_pdf(run_dir)


def test_find_chromium_looks_on_path(tmp_path, monkeypatch):
    fake = tmp_path / "chromium-browser"
    fake.write_text("#!/bin/sh\nexit 0\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(report_pdf, "CHROMIUM_FALLBACK_PATHS", ())
    assert find_chromium() == str(fake)
    fake.unlink()
    assert find_chromium() is None


@needs_chromium
def test_backtest_page_renders_offline_and_prints(tmp_path):
    """The backtest page (mmm backtest): no console errors, nothing fetched from outside, a real PDF."""
    from test_backtest import parent_and_data  # every tests/ folder is on sys.path (conftest.py)

    from mmm.report.backtest import write_backtest
    from mmm.runs.backtest import backtest

    run, data, _ = parent_and_data(tmp_path, seed=1)
    _offline_page_prints(write_backtest(tmp_path / "bt", backtest(run, data)) / "backtest.html",
                         "Forecast against actuals", tmp_path)


def _offline_page_prints(page: Path, marker: str, tmp_path: Path) -> None:
    """``page`` fetches nothing, renders ``marker`` without console errors and prints to a real PDF."""
    text = page.read_text()
    assert "http://" not in text and "https://" not in text and "<script" not in text
    proc = _chromium(tmp_path, "--enable-logging=stderr", "--v=0", "--dump-dom", page.resolve().as_uri())
    assert proc.returncode == 0 and marker in proc.stdout
    assert _page_errors(proc.stderr) == []
    pdf = tmp_path / f"{page.stem}.pdf"
    _chromium(tmp_path, f"--print-to-pdf={pdf}", "--no-pdf-header-footer", page.resolve().as_uri())
    assert pdf.read_bytes().startswith(b"%PDF") and pdf.stat().st_size > 5_000


@needs_chromium
def test_design_test_page_renders_offline_and_prints(tmp_path):
    """The design-test page (mmm design-test): no console errors, nothing fetched from outside, a real PDF."""
    from test_experiment_design import truth_run  # every tests/ folder is on sys.path (conftest.py)

    from mmm.report.experiment_design import write_design
    from mmm.runs.experiment_choice import design_tests

    design = design_tests(truth_run(tmp_path / "run"), weeks=[4, 8], simulations=100)
    _offline_page_prints(write_design(tmp_path / "design", design) / "design_test.html", "Recommendation", tmp_path)


@needs_chromium
def test_report_with_present_value_and_a_track_record_renders(tmp_path):
    """A refreshed run's report: the face/present value table and the backtest of its parent render in Chromium."""
    import json
    from dataclasses import replace

    from test_backtest import parent_and_data

    from mmm.report.backtest import write_backtest
    from mmm.runs.backtest import backtest, default_dir

    run_dir = make_run(tmp_path)
    summary = json.loads((run_dir / "summary.json").read_text())
    summary["finance"] |= {"discount_rate": 0.08, "discount_rate_source": "FY26 WACC"}
    for figures in summary["channels"].values():
        figures |= {k: figures[face] for k, face in (("roas_npv", "roas"), ("profit_roi_npv", "profit_roi"),
                                                      ("payback_50_npv", "payback_50"),
                                                      ("payback_90_npv", "payback_90"))} | {"p_profitable_npv": 0.5}
    (run_dir / "summary.json").write_text(json.dumps(summary))
    parent, data, _ = parent_and_data(tmp_path / "parent", seed=1)
    result = replace(backtest(parent, data), run=run_dir.name)
    write_backtest(default_dir(run_dir), result)
    manifest = json.loads((run_dir / "manifest.json").read_text())
    (run_dir / "manifest.json").write_text(json.dumps(manifest | {"parent_run": result.parent}))
    write_report(run_dir)
    proc = _chromium(tmp_path, "--enable-logging=stderr", "--v=0", "--dump-dom",
                     (run_dir / "report.html").resolve().as_uri())
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Face value and present value" in proc.stdout and "Track record" in proc.stdout
    assert "8.00% a year" in proc.stdout
    assert _page_errors(proc.stderr) == []
