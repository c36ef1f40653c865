"""Print a run folder's ``report.html`` to ``report.pdf`` with headless Chromium.

The PDF is the browser's own print of the page (the report's print stylesheet
applies), so it shows exactly what finance would get from "Print to PDF".
Chromium is optional: without it :func:`write_pdf` raises
:class:`ChromiumMissing`, whose message says how to install it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from mmm.report.render import REPORT_NAME

PDF_NAME = "report.pdf"
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
CHROMIUM_FALLBACK_PATHS = ("/usr/bin/chromium",)
TIMEOUT_S = 120.0
INSTALL_HINT = ("install it (Debian/Ubuntu: `apt-get install chromium`; or put chromium, chromium-browser "
                "or google-chrome on PATH), or open report.html in a browser and print it to PDF")
# Flags for a quiet, isolated, offline-friendly headless print; --user-data-dir is added per call.
HEADLESS_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
)


class ChromiumMissing(FileNotFoundError):
    """No headless Chromium found; the message says how to install one."""


class PdfError(OSError):
    """Chromium ran but did not produce a PDF (crash, timeout or empty output)."""


def find_chromium() -> str | None:
    """Path of a Chromium-family browser on PATH (or at /usr/bin/chromium), else ``None``."""
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    for path in CHROMIUM_FALLBACK_PATHS:
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return None


def chromium_command(browser: str, user_data_dir: str | os.PathLike[str], *args: str) -> list[str]:
    """The headless Chromium command line with this module's isolation flags, then ``args``."""
    return [browser, *HEADLESS_FLAGS, f"--user-data-dir={user_data_dir}", *args]


def write_pdf(run_dir: str | os.PathLike[str], *, timeout: float = TIMEOUT_S) -> Path:
    """Print ``run_dir/report.html`` to ``run_dir/report.pdf`` and return the PDF's path.

    The PDF is written to a temporary file in the run folder and moved into
    place only when Chromium succeeded, so a failed print leaves any previous
    ``report.pdf`` untouched.

    Raises
    ------
    FileNotFoundError
        ``report.html`` is missing (write it first with ``mmm report``).
    ChromiumMissing
        No Chromium-family browser is installed.
    PdfError
        Chromium failed, timed out or wrote no PDF.
    """
    run_dir = Path(run_dir)
    html = run_dir / REPORT_NAME
    if not html.is_file():
        raise FileNotFoundError(f"{html} not found; write the report first with `mmm report {run_dir}`")
    browser = find_chromium()
    if browser is None:
        raise ChromiumMissing(f"cannot write {run_dir / PDF_NAME}: headless Chromium not found; {INSTALL_HINT}")
    target = run_dir / PDF_NAME
    fd, tmp_name = tempfile.mkstemp(dir=run_dir, prefix=f".{PDF_NAME}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(tmp_name)
    tmp.unlink()  # Chromium creates it; an empty placeholder must not pass for a PDF
    try:
        with tempfile.TemporaryDirectory(prefix="mmm-chromium-") as profile:
            cmd = chromium_command(browser, profile, f"--print-to-pdf={tmp}", "--no-pdf-header-footer",
                                   html.resolve().as_uri())
            try:
                proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                      timeout=timeout, check=False)
            except subprocess.TimeoutExpired as err:
                raise PdfError(f"Chromium ({browser}) did not finish printing {html} within {timeout:.0f} s") from err
        if proc.returncode != 0 or not tmp.is_file() or tmp.stat().st_size == 0:
            tail = "\n".join((proc.stderr or "").strip().splitlines()[-5:])
            raise PdfError(f"Chromium ({browser}) could not print {html} to PDF (exit {proc.returncode})"
                           + (f":\n{tail}" if tail else ""))
        with open(tmp, "rb") as handle:
            if handle.read(5) != b"%PDF-":
                raise PdfError(f"Chromium ({browser}) wrote something that is not a PDF for {html}")
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; a report is for sharing
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target
