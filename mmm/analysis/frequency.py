"""The optimal frequency of reach-and-frequency channels, per posterior draw.

At a fixed budget, impressions are fixed: reach = impressions / frequency. The channel's effect is
``adstock(reach x gain(frequency))`` with ``gain`` its saturation of frequency, so for a budget the
effect is proportional to ``gain(f) / f``. The optimal frequency maximizes that ratio (Meridian's
definition): each draw's ``f*`` on a grid from 1 to 3x the largest frequency in the data. With a Hill
curve of slope s > 1 it is ``half_saturation x (s - 1)^(1/s)``; with s <= 1 the ratio falls everywhere and
the optimum is the grid's lowest frequency, 1.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from mmm.model import media
from mmm.model.transforms import SATURATIONS
from mmm.spec.config import Config

GRID_POINTS = 400


def optimal_frequency(posterior: xr.Dataset, config: Config, frequency_scale: dict[str, float],
                      largest: dict[str, float]) -> dict[str, np.ndarray]:
    """Per reach-and-frequency channel, (D,) the frequency (in the data's units) that buys the most effect
    per unit of spend, by draw. ``frequency_scale``: the run's scaling (mean frequency); ``largest``: the
    largest frequency in the data, which sets the grid's top (3x it)."""
    out = {}
    stacked = posterior.stack(sample=("chain", "draw"))
    for kind, idx in media.groups(config.channels, "saturation").items():
        transform = SATURATIONS[kind]
        dim = media.group_dim(kind, idx, len(config.channels))
        for i in idx:
            channel = config.channels[i]
            if not channel.frequency:
                continue
            params = {p: np.asarray(stacked[media.var_name(kind, p)].sel({dim: channel.name}).values,
                                    dtype=float)[:, None] for p in transform.param_names}  # (D, 1)
            grid = np.linspace(1.0, 3.0 * max(largest[channel.name], 1.0), GRID_POINTS)  # data units
            gain = transform(grid[:, None] / frequency_scale[channel.name], params)[..., 0]  # (D, grid)
            out[channel.name] = grid[np.argmax(gain / grid[None, :], axis=1)]
    return out
