"""Test layout: one folder per package stage (tests/spec mirrors mmm/spec, ...), plus the layering and
notebook tests here. Tests share helpers by module name (``from test_fit import ...``,
``from synthetic_runs import ...``), so every test folder is importable from every other."""

import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent
for folder in [TESTS, *sorted(p for p in TESTS.iterdir() if p.is_dir() and p.name.isidentifier())]:
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))


import pytest  # noqa: E402


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """Fits in this process use one specification unless the test is marked ``candidates``.

    The package's default fits each config beside three structural variants and stacks them
    (mmm.spec.candidates), which multiplies a fit's cost by about four; tests of other features fit
    the config as written. tests/analysis/test_stacking.py, the truth-suite test and the CLI and
    notebook tests (separate processes) exercise the default. Set before the test's fixtures, so a
    module-scoped fixture is fitted as its first test is marked."""
    from mmm.spec import sections

    sections.DEFAULT_CANDIDATES = "auto" if item.get_closest_marker("candidates") else "none"
