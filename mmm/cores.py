"""How many cores this process may use: ``MMM_CORES`` when set (a batch worker's share of the machine), else the
cores the operating system lets it run on."""

from __future__ import annotations

import os

CORES_VARIABLE = "MMM_CORES"


def available_cores() -> int:
    """The cores a fit may spread its chains (and candidate fits) over; at least 1."""
    written = os.environ.get(CORES_VARIABLE, "").strip()
    if written:
        try:
            cores = int(written)
        except ValueError:
            cores = 0
        if cores < 1:
            raise ValueError(f"environment variable {CORES_VARIABLE}={written!r} must be a whole number >= 1 "
                             f"(the cores one fit may use); unset it to use every core")
        return cores
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # no affinity on this platform
        return max(1, os.cpu_count() or 1)
