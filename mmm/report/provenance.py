"""The report's provenance section (run manifest): package and library versions, data and config hashes,
seed, sampler settings and timings, written for a reader rather than as JSON."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

MISSING = "n/a"  # what the report shows for a figure the run did not write


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def provenance_section(manifest: Mapping[str, Any]) -> dict[str, Any]:
    data = manifest.get("data") or {}
    path = data.get("path")
    # the file name only: the folder it was read from is the analyst's machine, not part of the result
    data_file = re.split(r"[\\/]", str(path).rstrip("\\/"))[-1] if path else MISSING
    versions: dict[str, str] = {}
    for name, version in (manifest.get("versions") or {}).items():
        key = str(name).lower()
        if key != "mmm" and key not in versions:  # mmm's own version has its own line
            versions[key] = str(version)
    return {
        "package_version": manifest.get("package_version", MISSING),
        "python": manifest.get("python", MISSING),
        "versions": sorted(versions.items()),
        "data_file": data_file,
        "data_sha256": data.get("sha256", MISSING),
        "config_sha256": manifest.get("config_sha256", MISSING),
        "seed": manifest.get("seed", MISSING),
        "sampler": _sampler_text(manifest.get("sampler")),
        "timings": _timings_text(manifest.get("timings")),
        "diagnostics_ok": manifest.get("diagnostics_ok", MISSING),
        "parent_run": manifest.get("parent_run") or "none (first run)",
    }


# manifest sampler key -> label; keys not listed are shown with their underscores as spaces
SAMPLER_LABELS = {"chains": "chains", "draws": "draws per chain", "tune": "tuning draws per chain",
                  "seed": "seed", "target_accept": "target acceptance", "adaptation": "adaptation"}


def _sampler_text(sampler: Any) -> str:
    """``{"sampler": "nutpie", "chains": 4, ...}`` -> ``"nutpie: 4 chains, 1000 draws per chain, ..."``."""
    if not isinstance(sampler, Mapping):
        return MISSING if sampler is None else str(sampler)
    settings = dict(sampler)
    name = settings.pop("sampler", None) or settings.pop("name", None)
    parts = []
    for key, value in settings.items():
        label = SAMPLER_LABELS.get(str(key), str(key).replace("_", " "))
        shown = _provenance_value(value)
        parts.append(f"{shown} {label}" if key in ("chains", "draws", "tune") else f"{label} {shown}")
    return ": ".join(p for p in (str(name) if name else "", ", ".join(parts)) if p) or MISSING


def _timings_text(timings: Any) -> str:
    """``{"compile_s": 9.0148, "sampling_s": 3.21}`` -> ``"compile 9.0 s, sampling 3.2 s"``."""
    if not isinstance(timings, Mapping) or not timings:
        return MISSING
    parts = []
    for key, value in timings.items():
        label = str(key).removesuffix("_s").replace("_", " ")
        parts.append(f"{label} {float(value):,.1f} s" if is_number(value) else f"{label} {MISSING}")
    return ", ".join(parts)


def _provenance_value(value: Any) -> str:
    if isinstance(value, float) and math.isfinite(value):
        return f"{value:.3g}"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)
