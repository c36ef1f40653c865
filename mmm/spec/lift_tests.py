"""Lift tests as the config writes them: one measured lift per channel and period (national or one geo).

Parsed and validated here, with the spec; :mod:`mmm.model.lift_tests` turns them into likelihood terms.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmm.spec.errors import ConfigError


FIELDS = ("channel", "start", "end", "incremental_kpi", "se", "lift", "lift_se", "baseline_kpi", "spend", "name",
          "geo")


@dataclass(frozen=True)
class Experiment:
    """One measured lift: KPI units, dates as ISO strings (inclusive)."""

    channel: str
    start: str
    end: str
    incremental_kpi: float
    se: float
    spend: float | None = None
    name: str = ""
    geo: str | None = None  # geo (panel) models: the one geo the test ran in; None: every geo (national)
    origin: str = field(default="", compare=False, repr=False)  # where it was written (file and row), for errors

    @property
    def label(self) -> str:
        return self.name or f"{self.channel}{f' {self.geo}' if self.geo else ''} {self.start}..{self.end}"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"channel": self.channel, "start": self.start, "end": self.end,
                               "incremental_kpi": self.incremental_kpi, "se": self.se}
        if self.spend is not None:
            out["spend"] = self.spend
        if self.name:
            out["name"] = self.name
        if self.geo:
            out["geo"] = self.geo
        return out


def parse_experiments(raw: Any, channels: tuple[str, ...], base_dir: Path, source: str,
                      geo_column: str | None = None) -> tuple[Experiment, ...]:
    """Validate ``experiments:`` (a list of mappings or a CSV path) into :class:`Experiment` objects.

    ``geo_column``: the config's ``data.geo``; an experiment may name a geo only when it is set
    (whether that geo exists is checked against the data, :func:`check_against_data`).
    """

    if raw is None or raw == []:
        return ()
    if isinstance(raw, (str, Path)):
        path = Path(raw) if Path(raw).is_absolute() else (base_dir / raw).resolve()
        if not path.is_file():
            raise ConfigError(f"{source}: experiments file not found: {path}. Fix the path (relative to the config) "
                              f"or list the experiments inline")
        with path.open(newline="", encoding="utf-8-sig") as handle:  # a spreadsheet's CSV may start with a BOM
            reader = csv.DictReader(handle)
            unknown = [c for c in reader.fieldnames or [] if c not in FIELDS]
            if unknown:
                raise ConfigError(f"{path}: unknown column(s) {', '.join(unknown)}; allowed: {', '.join(FIELDS)}")
            rows = [{k: v for k, v in row.items() if v not in (None, "")} for row in reader]
        where = [f"{path}: row {i + 2}" for i in range(len(rows))]  # +1 header, +1 one-based
    elif isinstance(raw, list):
        rows = raw
        where = [f"{source}: experiments[{i}]" for i in range(len(rows))]
    else:
        raise ConfigError(f"{source}: `experiments` is a list of mappings (channel, start, end, incremental_kpi, se) "
                          f"or the path of a CSV with those columns; got {raw!r}")
    parsed = tuple(_one(row, at, channels, geo_column) for row, at in zip(rows, where, strict=True))
    _no_overlap(parsed, where)
    return parsed


def _one(row: Any, where: str, channels: tuple[str, ...], geo_column: str | None) -> Experiment:

    if not isinstance(row, Mapping):
        raise ConfigError(f"{where}: an experiment is a mapping with channel, start, end, incremental_kpi, se; "
                          f"got {row!r}")
    unknown = [k for k in row if k not in FIELDS]
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(map(str, unknown))}; allowed: {', '.join(FIELDS)}")
    for key in ("channel", "start", "end"):
        if row.get(key) in (None, ""):
            raise ConfigError(f"{where}: `{key}` is required")
    channel = str(row["channel"])
    if channel not in channels:
        raise ConfigError(f"{where}: channel {channel!r} is not in the model's channels ({', '.join(channels)}); "
                          f"fix the name or add the channel to `channels`")
    start, end = _date(row["start"], where, "start"), _date(row["end"], where, "end")
    if end < start:
        raise ConfigError(f"{where}: end {end} is before start {start} ({channel}); swap them")

    def number(key: str) -> float | None:
        value = row.get(key)
        if value is None:
            return None
        try:
            out = float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: `{key}` must be a number; got {value!r}") from None
        if isinstance(value, bool) or not math.isfinite(out):
            raise ConfigError(f"{where}: `{key}` must be a finite number; got {value!r}")
        return out

    incremental, se = number("incremental_kpi"), number("se")
    lift, lift_se, baseline = number("lift"), number("lift_se"), number("baseline_kpi")
    if lift is not None:
        if incremental is not None:
            raise ConfigError(f"{where}: give either incremental_kpi (with se) or lift with baseline_kpi, not both")
        if baseline is None or baseline <= 0:
            raise ConfigError(f"{where}: a `lift` (share, e.g. 0.08 for +8%) needs `baseline_kpi`, the KPI the test "
                              f"region would have had without the channel over [start, end] (> 0)")
        incremental = lift * baseline
        if se is None and lift_se is not None:
            se = lift_se * baseline
    if incremental is None:
        raise ConfigError(f"{where}: `incremental_kpi` is required (the KPI the channel's spend in [start, end] "
                          f"caused, carry-over included), or `lift` with `baseline_kpi`")
    if se is None:
        raise ConfigError(f"{where}: `se` (standard error of incremental_kpi, KPI units) is required"
                          + (" (or `lift_se` for a lift)" if lift is not None else ""))
    if not se > 0:
        raise ConfigError(f"{where}: se must be positive (the experiment's standard error in KPI units); got {se:g}")
    spend = number("spend")
    if spend is not None and spend <= 0:
        raise ConfigError(f"{where}: spend of the test must be positive; got {spend:g}")
    geo = None if row.get("geo") in (None, "") else str(row["geo"])
    if geo is not None and geo_column is None:
        raise ConfigError(f"{where}: names geo {geo!r}, but this is a national model (data.geo is not set), whose "
                          f"one geo is the whole market; drop `geo` and state the lift and spend for the whole modeled market, or "
                          f"fit the geo panel (set data.geo)")
    return Experiment(channel=channel, start=start, end=end, incremental_kpi=float(incremental), se=float(se),
                      spend=spend, name=str(row.get("name") or ""), geo=geo, origin=where)


def _date(value: Any, where: str, key: str) -> str:

    import datetime

    try:  # strict ISO (YYYY-MM-DD): pandas would read "March" as year 1
        return datetime.date.fromisoformat(str(value).strip()[:10]).isoformat()
    except ValueError:
        raise ConfigError(f"{where}: {key} {value!r} is not a date (write YYYY-MM-DD)") from None


def _no_overlap(experiments: tuple[Experiment, ...], where: list[str]) -> None:

    for i, a in enumerate(experiments):
        for j in range(i + 1, len(experiments)):
            b = experiments[j]
            # tests in different geos may run at once; a national test covers every geo
            same_market = a.geo is None or b.geo is None or a.geo == b.geo
            if a.channel == b.channel and same_market and a.start <= b.end and b.start <= a.end:
                raise ConfigError(f"{where[j]}: overlaps {a.label} ({a.start}..{a.end}) on channel {a.channel}; "
                                  f"two tests of one channel in one market cannot share periods — merge them into "
                                  f"one experiment or fix the dates")
