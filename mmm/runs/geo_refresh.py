"""What a refresh of a geo run adds to the national one (:mod:`mmm.runs.refresh`).

* **The parent's geos, and only those.** A refresh keeps the parent's per-geo scaling
  (:class:`~mmm.data.geo_design.GeoScaling`), and an update carries its per-geo parameters
  forward; neither exists for a geo the parent never saw, and a dropped geo would leave
  the pooled means describing a different set of markets. A panel with geos added or
  removed is therefore refused, naming the geos (fit a new model instead). The same geos
  in another row order are put back in the parent's order.
* **The update's model** (:mod:`mmm.model.geo_update_prior`). The geo model is built with ``fit_start`` (earlier periods feed
  the adstock carry-in only) and every one of its free variables (per-geo intercepts,
  pooled and per-geo media terms, the geo spreads and their standard-normal offsets)
  gets the moment-matched prior of :mod:`mmm.model.update_prior`, with the bounds of the prior
  it was fitted under.
* **Re-centred time, per geo.** Each geo has its own trend, so each geo's intercept moves
  by its own ``trend_g × (new mean time − old)``, draw by draw.
"""

from __future__ import annotations

from mmm.data.geo_design import GeoScaling
from mmm.data.load import DataError
from mmm.data.panel import GeoData
from mmm.data.validation import listing


def match_parent_geos(panel: GeoData, scaling: GeoScaling, parent_name: str) -> GeoData:
    """``panel`` with the parent's geos in the parent's order; a clear error when geos were added or removed."""
    added = [g for g in panel.geos if g not in scaling.geos]
    removed = [g for g in scaling.geos if g not in panel.geos]
    if added or removed:
        found = []
        if added:
            found.append(f"geo(s) {listing(added)} are not in run {parent_name}")
        if removed:
            found.append(f"run {parent_name}'s geo(s) {listing(removed)} are missing")
        raise DataError(f"{panel.source}: {'; '.join(found)}. A refresh keeps the parent's per-geo scaling and "
                        f"per-geo parameters, which exist for its geos only ({listing(scaling.geos)}). Fit a new "
                        f"model on this panel (`mmm fit CONFIG` with data.path set to it), or refresh with a panel "
                        f"of the parent's geos.")
    return panel.select_geos(scaling.geos)
