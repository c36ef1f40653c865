"""Holidays and other dated events: ``events:`` in a config, as dated entries or a holiday calendar.

Each event has a name, its dates, and optional windows of whole periods before and after each date;
every (event, offset) is its own column in the model (a week before Christmas and Christmas week do
not share an effect), and every year's occurrence of an event shares that column's effect. An event
may be restricted to some geos of a panel. A calendar CSV in Robyn's ``dt_prophet_holidays.csv``
layout (columns ``ds``, ``holiday``, ``country``) is read once, at config time, into dated events:
the resolved config (a run folder's ``config.yaml``) lists the dates, so a run never needs the
calendar file again.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from numbers import Integral
from pathlib import Path
from typing import Any

from mmm.spec.errors import ConfigError, refuse_unknown_keys

MAX_WINDOW = 8  # periods before or after an event date
CALENDAR_COLUMNS = ("ds", "holiday", "country")


@dataclass(frozen=True)
class EventSpec:
    """One named event: its dates (ISO), a window of periods before and after each, and its geos (None: all)."""

    name: str
    dates: tuple[str, ...]
    before: int = 0
    after: int = 0
    geos: tuple[str, ...] | None = None

    @property
    def offsets(self) -> range:
        return range(-self.before, self.after + 1)

    def column(self, offset: int) -> str:
        """The model column of this event at ``offset`` periods from each date (``"xmas"``, ``"xmas -1"``)."""
        return self.name if offset == 0 else f"{self.name} {offset:+d}"

    def columns(self) -> list[str]:
        return [self.column(o) for o in self.offsets]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "dates": list(self.dates)}
        if self.before:
            out["before"] = self.before
        if self.after:
            out["after"] = self.after
        if self.geos is not None:
            out["geos"] = list(self.geos)
        return out


def event_columns(events: Sequence[EventSpec]) -> list[str]:
    """Every (event, offset) column in config order."""
    return [col for event in events for col in event.columns()]


def parse_events(raw: Any, base_dir: Path, source: str) -> tuple[EventSpec, ...]:
    """``events:`` as a list of ``{name, dates, before, after, geos}`` entries and/or
    ``{calendar: file.csv, country: US, names: [...], before, after, geos}`` entries."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ConfigError(f"{source}: `events` is a list, e.g. [{{name: black_friday, dates: [2024-11-29]}}, "
                          f"{{calendar: holidays.csv, country: US}}]; got {raw!r}")
    events: list[EventSpec] = []
    for i, entry in enumerate(raw):
        where = f"events[{i}]"
        if not isinstance(entry, Mapping):
            raise ConfigError(f"{source}: {where} must be a mapping with `name` and `dates`, or `calendar` and "
                              f"`country`; got {entry!r}")
        if "calendar" in entry:
            events += _calendar_events(entry, base_dir, source, where)
        else:
            events.append(_dated_event(entry, source, where))
    seen: dict[str, int] = {}
    for event in events:
        seen[event.name] = seen.get(event.name, 0) + 1
    repeated = [name for name, n in seen.items() if n > 1]
    if repeated:
        raise ConfigError(f"{source}: event name(s) {', '.join(map(repr, repeated))} appear more than once in "
                          "`events`; give each event one entry (list all its dates there)")
    return tuple(events)


def _window(entry: Mapping, key: str, source: str, where: str) -> int:
    value = entry.get(key, 0)
    if not isinstance(value, Integral) or isinstance(value, bool) or not 0 <= value <= MAX_WINDOW:
        raise ConfigError(f"{source}: {where}.{key} is a whole number of periods 0..{MAX_WINDOW} (each period of "
                          f"the window gets its own effect); got {value!r}")
    return int(value)


def _geos(entry: Mapping, source: str, where: str) -> tuple[str, ...] | None:
    geos = entry.get("geos")
    if geos is None:
        return None
    if isinstance(geos, str):
        geos = [geos]
    if not isinstance(geos, list) or not geos:
        raise ConfigError(f"{source}: {where}.geos is a list of geo names (the event then acts only there); "
                          f"got {entry['geos']!r}")
    return tuple(str(g) for g in geos)


def _iso_dates(values: Any, source: str, where: str) -> tuple[str, ...]:
    import pandas as pd

    if isinstance(values, (str, int)) or not isinstance(values, Sequence) or not values:
        values = [values] if values not in (None, [], ()) else []
    if not values:
        raise ConfigError(f"{source}: {where}.dates lists the event's dates (YYYY-MM-DD), at least one")
    out = []
    for value in values:
        try:
            out.append(pd.Timestamp(str(value)).date().isoformat())
        except ValueError:
            raise ConfigError(f"{source}: {where}.dates: {value!r} is not a date (write YYYY-MM-DD)") from None
    return tuple(sorted(set(out)))


def _dated_event(entry: Mapping, source: str, where: str) -> EventSpec:
    refuse_unknown_keys(entry, ("name", "dates", "before", "after", "geos"), source, where)
    name = entry.get("name")
    if not name or not isinstance(name, str):
        raise ConfigError(f"{source}: {where} needs a `name` (text, e.g. black_friday)")
    return EventSpec(name=name, dates=_iso_dates(entry.get("dates"), source, f"{where} ({name})"),
                     before=_window(entry, "before", source, where), after=_window(entry, "after", source, where),
                     geos=_geos(entry, source, where))


def _calendar_events(entry: Mapping, base_dir: Path, source: str, where: str) -> list[EventSpec]:
    import pandas as pd

    refuse_unknown_keys(entry, ("calendar", "country", "names", "before", "after", "geos"), source, where)
    path = Path(str(entry["calendar"]))
    path = path if path.is_absolute() else (base_dir / path).resolve()
    if not path.is_file():
        raise ConfigError(f"{source}: {where}.calendar: file not found: {path}. A calendar is a CSV with columns "
                          f"{', '.join(CALENDAR_COLUMNS)} (Robyn's dt_prophet_holidays.csv layout); paths are read "
                          "from the config file's folder")
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, UnicodeDecodeError) as err:
        raise ConfigError(f"{source}: {where}.calendar: {path} is not a readable CSV: {err}") from None
    missing = [c for c in CALENDAR_COLUMNS if c not in table.columns]
    if missing:
        raise ConfigError(f"{source}: {where}.calendar: {path} lacks column(s) {', '.join(missing)}; a calendar has "
                          f"columns {', '.join(CALENDAR_COLUMNS)} (one row per holiday date)")
    country = entry.get("country")
    if not country:
        raise ConfigError(f"{source}: {where} needs `country` (a code in the calendar's country column, e.g. US)")
    rows = table[table["country"] == str(country)]
    if rows.empty:
        known = sorted(table["country"].unique())
        by_case = {k.upper(): k for k in known}
        hint = ([by_case[str(country).upper()]] if str(country).upper() in by_case
                else difflib.get_close_matches(str(country), known, n=1))
        raise ConfigError(f"{source}: {where}.country {country!r} is not in {path.name}"
                          + (f"; did you mean {hint[0]!r}?" if hint else f" (it has {len(known)} countries)"))
    names = entry.get("names")
    available = list(dict.fromkeys(rows["holiday"]))
    if names is not None:
        if isinstance(names, str) or not isinstance(names, list) or not names:
            raise ConfigError(f"{source}: {where}.names is a list of holiday names to keep; got {names!r}")
        unknown = [n for n in names if n not in available]
        if unknown:
            hint = difflib.get_close_matches(str(unknown[0]), available, n=1)
            raise ConfigError(f"{source}: {where}.names: {unknown[0]!r} is not a {country} holiday in {path.name}"
                              + (f"; did you mean {hint[0]!r}?" if hint else f" (it has: {', '.join(available[:12])})"))
        available = [str(n) for n in names]
    before, after, geos = _window(entry, "before", source, where), _window(entry, "after", source, where), \
        _geos(entry, source, where)
    events = []
    for name in available:
        dates = _iso_dates(list(rows.loc[rows["holiday"] == name, "ds"]), source, f"{where} ({name})")
        events.append(EventSpec(name=name, dates=dates, before=before, after=after, geos=geos))
    return events
