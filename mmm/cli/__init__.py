"""The command line: parses arguments, calls the public API, maps errors to exit codes."""

from mmm.cli.main import main

__all__ = ["main"]
