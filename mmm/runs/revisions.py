"""What differs between two runs' inputs: resolved configs, and restated history in the data.

Pure pandas/dict code, shared by ``mmm refresh`` (recorded in the manifest) and
``mmm compare`` (shown in the comparison report).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from mmm.spec.config import Config

# keys that differ between any two runs by construction, not by anyone's choice
IGNORED_CONFIG_KEYS = ("data.path",)
# relative size of a change below which two values are the same number (CSV round trips)
REVISION_RTOL = 1e-9


def flatten(tree: Any, prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` -> ``{"a.b": 1}``; lists stay values."""
    if isinstance(tree, Mapping):
        out: dict[str, Any] = {}
        for key, value in tree.items():
            out.update(flatten(value, f"{prefix}{key}."))
        return out if out or not prefix else {prefix[:-1]: {}}
    return {prefix[:-1]: tree}


def config_diff(before: Config, after: Config) -> list[dict[str, Any]]:
    """Every resolved-config key whose value differs: ``[{key, section, before, after}]``.

    Resolved configs have every default filled in, so a changed default shows up too.
    ``section`` groups keys for the report: priors, finance, model, fit, data, ...
    """
    a, b = flatten(before.to_dict()), flatten(after.to_dict())
    rows = []
    for key in list(a) + [k for k in b if k not in a]:
        if key in IGNORED_CONFIG_KEYS:
            continue
        old, new = a.get(key, "(not set)"), b.get(key, "(not set)")
        if _same(old, new):
            continue
        rows.append({"key": key, "section": _section(key), "before": old, "after": new})
    return rows


def _same(x: Any, y: Any) -> bool:
    if isinstance(x, (int, float)) and isinstance(y, (int, float)) and not isinstance(x, bool):
        return bool(np.isclose(x, y, rtol=1e-12, atol=0.0)) or x == y
    return x == y


def _section(key: str) -> str:
    if ".priors." in key or key.startswith("model.priors"):
        return "priors"
    head = key.split(".", 1)[0]
    return {"channels": "model", "controls": "model", "window": "window", "holdout": "window",
            "refresh": "window", "report": "report"}.get(head, head)


def data_revisions(before: pd.DataFrame, after: pd.DataFrame, date: str, *, geo: str | None = None,
                   rtol: float = REVISION_RTOL) -> pd.DataFrame:
    """Values of periods present in both tables that changed: restated history.

    Parameters
    ----------
    before, after : DataFrame
        The two datasets, in the config's column names (a run folder's ``data.csv``).
    date : str
        The date column.
    geo : str, optional
        The geo column of a panel: rows are then matched per (geo, date).

    Returns
    -------
    DataFrame
        One row per changed cell: ``date``, ``column``, ``before``, ``after``, ``change``
        (after - before) and ``change_pct`` (of before; NaN when before is 0), in date then
        column order; a panel's rows start with ``geo`` and are in geo, date, column order.
        Columns in only one table are not compared (the config diff shows them); periods (or
        geos) in only one table are new or dropped, not revisions.
    """
    keys = [geo, date] if geo else [date]
    a = before.assign(**{date: pd.to_datetime(before[date])}).set_index(keys)
    b = after.assign(**{date: pd.to_datetime(after[date])}).set_index(keys)
    rows_in_both = a.index.intersection(b.index).sort_values()
    columns = [c for c in a.columns if c in b.columns]
    rows = []
    for column in columns:
        old = pd.to_numeric(a.loc[rows_in_both, column], errors="coerce").to_numpy(dtype=float)
        new = pd.to_numeric(b.loc[rows_in_both, column], errors="coerce").to_numpy(dtype=float)
        same = np.isclose(old, new, rtol=rtol, atol=0.0) | (np.isnan(old) & np.isnan(new))
        for i in np.flatnonzero(~same):
            key = rows_in_both[i]
            change = new[i] - old[i]
            rows.append({**({"geo": str(key[0])} if geo else {}),
                         "date": (key[1] if geo else key).date().isoformat(), "column": column,
                         "before": float(old[i]), "after": float(new[i]), "change": float(change),
                         "change_pct": float(change / old[i]) if old[i] != 0 else float("nan")})
    frame = pd.DataFrame(rows, columns=revision_columns(geo is not None))
    order = {c: i for i, c in enumerate(columns)}
    return frame.sort_values([*(["geo"] if geo else []), "date", "column"],
                             key=lambda s: s.map(order) if s.name == "column" else s, ignore_index=True)


def revision_columns(panel: bool) -> list[str]:
    """The columns of :func:`data_revisions`' table (a panel's start with ``geo``)."""
    return [*(["geo"] if panel else []), "date", "column", "before", "after", "change", "change_pct"]


def periods(before: pd.DataFrame, after: pd.DataFrame, date: str) -> dict[str, list[str]]:
    """Dates only in ``after`` (new periods) and only in ``before`` (dropped, e.g. a rolling window)."""
    a, b = set(pd.to_datetime(before[date])), set(pd.to_datetime(after[date]))
    return {"new": [d.date().isoformat() for d in sorted(b - a)],
            "dropped": [d.date().isoformat() for d in sorted(a - b)]}
