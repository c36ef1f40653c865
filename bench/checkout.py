"""Running the CLI of another checkout of this repository (for the old-vs-new benchmarks).

``python -P`` keeps the current folder off ``sys.path``, so ``PYTHONPATH=root`` decides which
``mmm`` is imported even where the working copy is installed editable.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

CLI = "import sys; from mmm.cli import main; sys.exit(main())"


def checkout_env(root: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(root)}


def check_package(root: Path) -> str:
    """Where ``mmm`` is imported from under ``root``'s environment; stops unless it is ``root``'s own."""
    out = subprocess.run([sys.executable, "-P", "-c", "import mmm; print(mmm.__file__)"], cwd=root,
                         env=checkout_env(root), capture_output=True, text=True, check=True).stdout.strip()
    if not Path(out).resolve().is_relative_to(root.resolve()):
        raise SystemExit(f"PYTHONPATH={root} imports mmm from {out}, not from {root}")
    return out
