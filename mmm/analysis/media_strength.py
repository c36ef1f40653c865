"""How strong paid media was in each period: the time-varying media effect's multiplier as a table
(``media_strength.csv`` of a run folder, the report's chart). Absent when the media effect is steady."""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from mmm.data.design import build_design
from mmm.data.load import MMMData, Scaling
from mmm.model import media_effect
from mmm.spec.config import Config


def media_strength(posterior: xr.Dataset, config: Config, data: MMMData, scaling: Scaling) -> pd.DataFrame | None:
    """Tidy: date, strength_mean, strength_lo, strength_hi (``config.interval``); 1 is the data's average
    strength on the log scale. None when the posterior has no time-varying media effect."""
    if media_effect.COEFS not in posterior:
        return None
    draws = {name: np.asarray(posterior[name].stack(sample=("chain", "draw")).transpose("sample", ...).values,
                              dtype=float) for name in media_effect.VARIABLES}
    strength = media_effect.multiplier_draws(draws, build_design(data, scaling, config.design).time)
    lo, hi = np.quantile(strength, [(1 - config.interval) / 2, (1 + config.interval) / 2], axis=0)
    return pd.DataFrame({"date": data.dates,
                         "strength_mean": strength.mean(axis=0), "strength_lo": lo, "strength_hi": hi})
