"""The spec's error: a config that cannot be used as written, and the unknown-key check every section uses."""

from __future__ import annotations

import difflib
from collections.abc import Mapping


class ConfigError(ValueError):
    """The config cannot be used as written; the message names the key and the fix."""


def refuse_unknown_keys(section: Mapping, allowed: tuple[str, ...], source: str, where: str) -> None:
    """ConfigError unless ``section`` is a mapping whose keys are all ``allowed`` (with a "did you mean")."""
    if not isinstance(section, Mapping):
        raise ConfigError(f"{source}: `{where}` must be a mapping; got {section!r}")
    for key in section:
        if key not in allowed:
            hint = difflib.get_close_matches(str(key), allowed, n=1)
            fix = f"did you mean `{hint[0]}`?" if hint else f"allowed keys: {', '.join(allowed)}"
            raise ConfigError(f"{source}: unknown key `{key}` in {where}; {fix}")
