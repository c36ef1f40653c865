"""Geo-level (panel) models: per-geo baselines, media effects partially pooled across geos.

A ``data.geo`` column in the config sends :func:`mmm.pipeline.fit` here.
"""

from mmm.geo.design import GeoScaling
from mmm.geo.panel import GeoData, load_panel

__all__ = ["GeoData", "GeoScaling", "load_panel"]
