"""Per-(geo, channel) changes between two geo runs: ``comparison.json["geo"]`` (see :mod:`mmm.runs.compare`).

Each geo's ROAS and profit ROI in A and B come from the runs' per-geo draws (the same draws
whose sums over geos are the national figures); the difference B − A uses the same
independent pairs of draws as the national one, and the attribution the same swap chain,
read per geo. A pair whose geo did not spend on the channel in one run's window has no ROAS
there: it is listed with a note instead of figures.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mmm.runs.compare import METRICS, chain_parts, change, flags
from mmm.analysis.geo_effects import GeoEffects


def geo_changes(a: GeoEffects, b: GeoEffects, channels: list[str], pairs: tuple[np.ndarray, np.ndarray],
                interval: float, change_probability: float, chain: list[GeoEffects] | None) -> dict[str, Any]:
    """Per geo in both runs and per channel in both: spend, figures, differences, flags and attribution."""
    shared = [g for g in a.geos if g in b.geos]
    geos: dict[str, dict[str, Any]] = {}
    flagged = []
    for geo in shared:
        ga, gb = a.geos.index(geo), b.geos.index(geo)
        geos[geo] = {}
        for channel in channels:
            ka, kb = a.channels.index(channel), b.channels.index(channel)
            spend = {"a": float(a.spend[ga, ka]), "b": float(b.spend[gb, kb])}
            entry: dict[str, Any] = {"spend": spend}
            silent = [run for run, value in spend.items() if not value > 0]
            if silent:
                entry["note"] = (f"no spend in the window of run {' and '.join(r.upper() for r in silent)}: "
                                 f"ROAS is not defined there")
                geos[geo][channel] = entry
                continue
            for metric in METRICS:
                entry[metric] = change(a.by_geo[metric][:, ga, ka], b.by_geo[metric][:, gb, kb], pairs, interval)
            entry["flags"] = flags(entry["roas"], change_probability)
            if chain is not None:
                entry["attribution"] = {m: chain_parts([_draws(e, m, geo, channel) for e in chain], pairs, interval)
                                        for m in METRICS}
            if entry["flags"]["changed"]:
                flagged.append({"geo": geo, "channel": channel, "direction": entry["flags"]["direction"]})
            geos[geo][channel] = entry
    return {
        "n_geos": {"a": len(a.geos), "b": len(b.geos)},
        "geos_only_in_a": [g for g in a.geos if g not in b.geos],
        "geos_only_in_b": [g for g in b.geos if g not in a.geos],
        "national_is_sum_over_geos": True,
        "flagged_changed": flagged,
        "geos": geos,
    }


def _draws(effects: GeoEffects, metric: str, geo: str, channel: str) -> np.ndarray:
    return effects.by_geo[metric][:, effects.geos.index(geo), effects.channels.index(channel)]
