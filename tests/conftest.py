"""Test layout: one folder per package stage (tests/spec mirrors mmm/spec, ...), plus the layering and
notebook tests here. Tests share helpers by module name (``from test_fit import ...``,
``from synthetic_runs import ...``), so every test folder is importable from every other."""

import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent
for folder in [TESTS, *sorted(p for p in TESTS.iterdir() if p.is_dir() and p.name.isidentifier())]:
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
