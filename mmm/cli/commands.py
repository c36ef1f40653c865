"""Sub-commands beyond the core ones, one module per workflow (refresh, compare, optimize, ...).

Each module named in :data:`WORKFLOWS` defines ``register(subparsers)``, which adds its
parser(s) with ``set_defaults(handler=...)``; ``mmm.cli.main`` registers them in that order,
so a new workflow adds its module and one name here, never an edit to the core CLI. Handlers return an exit code (0/1/2, as in the README)
and raise ``ConfigError``/``DataError``/``OSError`` for bad input (exit 2).
"""

from __future__ import annotations

import argparse
import importlib

WORKFLOWS = ("backtest", "batch", "compare", "design_test", "history", "optimize", "prior_check", "refresh", "scenario", "sensitivity")


def register_all(subparsers: argparse._SubParsersAction) -> None:
    for name in WORKFLOWS:
        importlib.import_module(f"mmm.cli.{name}").register(subparsers)
