"""Synthetic geo panels with a known truth per geo and nationally.

Each geo is one national simulation of :mod:`mmm.data.synth` (its own spend
patterns and noise) with a geo size, a geo-specific spend mix and a geo-specific
true ROAS per channel around the channel's ROAS; adstock and saturation are
shared across geos, as in the default geo model. The truth of each geo comes
from :func:`mmm.data.synth.true_figures`; the national truth sums incremental KPI and
spend over geos (ROAS = sum of incremental value / sum of spend).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from mmm.data.synth import BUILTIN_CHANNELS, ChannelTruth, SynthResult, SynthSpec, generate

GEO_COLUMN = "geo"
POPULATION_COLUMN = "population"


def generate_panel(spec: SynthSpec, n_geos: int, *, size_spread: float = 0.5, roas_spread: float = 0.2,
                   mix_spread: float = 0.3) -> SynthResult:
    """A panel of ``n_geos`` geos sharing ``spec``'s calendar; ``spec.seed`` fixes everything.

    Parameters
    ----------
    size_spread
        Log-sd of geo size (KPI and spend scale together; population follows size).
    roas_spread
        Log-sd of each geo's true ROAS around the channel's ROAS.
    mix_spread
        Log-sd of each geo's spend level per channel around its size.
    """
    if n_geos < 1:
        raise ValueError(f"n_geos must be >= 1; got {n_geos}")
    rng = np.random.default_rng([spec.seed, 7])
    base = _channels(spec)
    size = np.exp(rng.normal(0.0, size_spread, n_geos))
    size = size / size.mean()
    roas_dev = np.exp(rng.normal(0.0, roas_spread, (n_geos, len(base))))
    mix = np.exp(rng.normal(0.0, mix_spread, (n_geos, len(base))))
    intercept = spec.intercept * np.exp(rng.normal(0.0, 0.1, n_geos))
    names = [f"geo_{g:03d}" for g in range(n_geos)]
    frames, geo_truth = [], {}
    for g, name in enumerate(names):
        channels = [replace(ch, level=ch.level * size[g] * mix[g, k], target_roas=ch.target_roas * roas_dev[g, k])
                    for k, ch in enumerate(base)]
        geo_spec = replace(spec, channels=channels, kpi_scale=spec.kpi_scale * size[g], intercept=float(intercept[g]),
                           seed=spec.seed * 100_003 + g)
        one = generate(geo_spec)
        frame = one.data.copy()
        frame.insert(0, GEO_COLUMN, name)
        frame[POPULATION_COLUMN] = round(float(size[g]) * 1_000_000)
        frames.append(frame)
        geo_truth[name] = {"size": float(size[g]), "figures": one.truth["figures"], "params": one.truth["params"],
                           "scaling": one.truth["scaling"]}
    data = pd.concat(frames, ignore_index=True)
    national = {}
    for ch in base:
        spend = sum(t["figures"][ch.name]["spend"] for t in geo_truth.values())
        inc = sum(t["figures"][ch.name]["incremental_kpi"] for t in geo_truth.values())
        roas = inc / spend
        national[ch.name] = {"spend": spend, "incremental_kpi": inc, "roas": roas,
                             "profit_roi": roas * spec.gross_margin - 1.0}
    first = generate(replace(spec, channels=base, seed=spec.seed))  # the national config layout
    config = {**first.config, "name": f"synthetic-geo{n_geos}-seed{spec.seed}"}
    config["data"] = {**config["data"], "geo": GEO_COLUMN}
    truth: dict[str, Any] = {"seed": spec.seed, "n_geos": n_geos, "figures": national, "geos": geo_truth,
                             "window": first.truth["window"],
                             "spec": {**first.truth["spec"], "n_geos": n_geos, "size_spread": size_spread,
                                      "roas_spread": roas_spread, "mix_spread": mix_spread}}
    return SynthResult(data=data, config=config, truth=truth)


def _channels(spec: SynthSpec) -> list[ChannelTruth]:
    if spec.channels is not None:
        return [c if isinstance(c, ChannelTruth) else ChannelTruth(**c) for c in spec.channels]
    if not 1 <= spec.n_channels <= len(BUILTIN_CHANNELS):
        raise ValueError(f"n_channels must be 1..{len(BUILTIN_CHANNELS)} for the built-in set; got {spec.n_channels}")
    return [ChannelTruth(name, pattern=row[0], level=row[1], target_roas=row[2], adstock=spec.adstock,
                         saturation=spec.saturation, max_lag=spec.max_lag)
            for name, row in list(BUILTIN_CHANNELS.items())[: spec.n_channels]]
