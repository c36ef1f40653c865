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


@pytest.fixture(autouse=True)
def one_specification_unless_marked(request, monkeypatch):
    """Fits in this process use one specification unless the test is marked ``candidates``.

    The package's default fits each config beside three structural variants and stacks them
    (mmm.spec.candidates), which multiplies a fit's cost by about four; tests of other features fit
    the config as written. tests/analysis/test_stacking.py, the truth-suite tests and the CLI and
    notebook tests (separate processes) exercise the default."""
    if request.node.get_closest_marker("candidates") is None:
        from mmm.spec import sections

        monkeypatch.setattr(sections, "DEFAULT_CANDIDATES", "none")
