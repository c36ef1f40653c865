"""The report's section on candidate shapes (stacked runs): each shape's weight and ROAS beside the combined
figure (docs/model-candidates.md)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any


def structure_section(structure: Mapping[str, Any] | None, channels: Mapping[str, Mapping[str, Any]],
                      cell: Callable[[Any], str]) -> dict[str, Any] | None:
    """The candidate shapes, their stacking weights and ROAS, beside the combined figure (stacked runs);
    ``cell`` writes a ROAS with its interval as the ROI table does."""
    if not structure:
        return None
    names = list(channels)
    rows = [{"label": c["label"], "weight": f"{float(c['weight']):.2f}",
             "converged": "yes" if c.get("diagnostics_ok") else "no (no weight)",
             "roas": [cell(c["roas"].get(n)) for n in names]}
            for c in structure["candidates"]]
    high_k = [c["label"] for c in structure["candidates"] if c.get("share_pareto_k_above_0.7", 0) > 0.05]
    note = (f"Leave-one-out is approximate for {', '.join(high_k)} (more than 5% of weeks with Pareto k above "
            f"0.7): the weights are less certain than they look." if high_k else "")
    return {"primary": structure.get("primary"), "channels": names, "rows": rows, "loo_note": note,
            "combined": [cell(channels[n].get("roas")) for n in names]}
