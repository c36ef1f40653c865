"""Checks on modeling data that return problems in plain language.

Each check takes columns already pulled out of the user's table plus a label per
row (the CSV line before dates are known, the date afterwards) and returns a
list of messages. A message names the column, the first offending rows (with a
count of the rest) and the fix. Checks never raise: :func:`mmm.data.load.load_data`
collects the messages of one stage and raises a single ``DataError``, so a user
sees every problem of that stage at once instead of one per attempt.
"""

from __future__ import annotations

import difflib
import re
import warnings
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

SHOWN = 5  # offending rows named in a message; the rest are counted
DEFAULT_MIN_PERIODS = {"W": 52, "D": 180}  # about a year: enough to tell media from seasonality
FREQ_WORDS = {"W": "weekly", "D": "daily"}
_STEP_FREQ = {7.0: "W", 1.0: "D"}
_MISSING_MARKERS = {"na", "n/a", "#n/a", "nan", "null", "none", "-", "?"}


def listing(items: Iterable[object], limit: int = SHOWN) -> str:
    """``"a, b, c and 4 more"``: the first `limit` items, then a count of the rest."""
    items = list(items)
    return _examples([str(item) for item in items[:limit]], len(items))


def _examples(shown: Sequence[str], total: int) -> str:
    rest = total - len(shown)
    return ", ".join(shown) + (f" and {rest} more" if rest > 0 else "")


def _where(labels: pd.Series, mask: np.ndarray, values: pd.Series | None = None,
           lines: pd.Series | None = None) -> str:
    """The labels of the first flagged rows, each with its raw value (quoted if text) when given,
    then the file lines of the same rows when given: ``2021-02-08, 2021-02-15 (lines 7, 8)``."""
    positions = np.flatnonzero(mask)
    first = positions[:SHOWN]
    names = labels.iloc[first].tolist()
    if values is not None:
        names = [f"{name} ({_show(value)})" for name, value in zip(names, values.iloc[first].tolist())]
    shown = _examples(names, len(positions))
    if lines is None:
        return shown
    numbers = [str(line).removeprefix("line ") for line in lines.iloc[first]]
    return f"{shown} ({'line' if len(positions) == 1 else 'lines'} {_examples(numbers, len(positions))})"


def _show(value: object) -> str:
    if isinstance(value, str):
        return repr(value)
    return "blank" if pd.isna(value) else f"{value:g}" if isinstance(value, float) else str(value)


def column_problems(available: Sequence[object], wanted: Sequence[tuple[str, str]]) -> list[str]:
    """Role columns that are absent, duplicated in the header, or given two roles.

    Parameters
    ----------
    available
        Column names of the data, in file order.
    wanted
        ``(column, role)`` pairs, the role in the user's words with its config
        key, e.g. ``("tv_spend", "spend of channel 'tv', channels.tv")``.
    """
    problems = []
    names = [str(name) for name in available]
    roles_of: dict[str, list[str]] = {}
    for column, role in wanted:
        roles_of.setdefault(column, []).append(role)
    for column, roles in roles_of.items():
        if len(roles) > 1:
            problems.append(
                f"column {column!r} is given {len(roles)} roles ({'; '.join(roles)}); "
                "a column can play only one role: fix the config."
            )
    lowered = {name.lower(): name for name in names}  # matches ignore case: 'TV_Spend' ~ 'tv_spend'
    for column, role in wanted:
        count = names.count(column)
        if count > 1:
            problems.append(f"column {column!r} ({role}) appears {count} times in the header; rename the copies.")
        elif count == 0:
            close = difflib.get_close_matches(column.lower(), list(lowered), n=3, cutoff=0.6)
            hint = f" Did you mean {' or '.join(repr(lowered[c]) for c in close)}?" if close else ""
            problems.append(
                f"column {column!r} ({role}) is not in the data.{hint} "
                f"Available columns: {listing(map(repr, names), limit=40)}. "
                "Fix the name in the config or rename the column in the data."
            )
    return problems


def parse_dates(raw: pd.Series, column: str, lines: pd.Series) -> tuple[pd.Series, list[str]]:
    """Parse the date column; blank, unparseable or ambiguous values are problems.

    ISO 8601 is tried first. Other layouts are tried only when no value is ISO
    (so a typo such as ``2020-13-01`` is reported, not reread day-first), and
    then both day-first and month-first: if both read every value and disagree,
    the column is ambiguous and no reading is picked.
    """
    fix = "Write dates as YYYY-MM-DD (ISO 8601)."
    if isinstance(raw.dtype, pd.DatetimeTZDtype):
        raw = raw.dt.tz_localize(None)  # keep the wall-clock dates the user sees
    if pd.api.types.is_datetime64_dtype(raw):
        dates = raw
    elif pd.api.types.is_numeric_dtype(raw):
        return raw, [
            f"date column {column!r} holds numbers (e.g. {raw.iloc[0]!r}), not dates. {fix} "
            "Spreadsheet serial dates need converting before export."
        ]
    else:
        dates = pd.to_datetime(raw, format="ISO8601", errors="coerce")
        if dates.notna().sum() == 0 and raw.notna().any():
            with warnings.catch_warnings():  # pandas warns when it falls back to per-value parsing
                warnings.simplefilter("ignore", UserWarning)
                month_first = pd.to_datetime(raw, dayfirst=False, errors="coerce")
                day_first = pd.to_datetime(raw, dayfirst=True, errors="coerce")
            differ = (month_first != day_first).to_numpy() & month_first.notna().to_numpy()
            if month_first.notna().all() and day_first.notna().all() and differ.any():
                i = int(np.flatnonzero(differ)[0])
                return dates, [
                    f"date column {column!r} is ambiguous: {raw.iloc[i]!r} ({lines.iloc[i]}) reads as "
                    f"{month_first.iloc[i]:%Y-%m-%d} month-first or {day_first.iloc[i]:%Y-%m-%d} day-first. {fix}"
                ]
            dates = day_first if day_first.notna().sum() > month_first.notna().sum() else month_first
    bad = dates.isna().to_numpy()
    if not bad.any():
        return dates, []
    return dates, [
        f"date column {column!r} has {bad.sum()} value(s) that are not dates: "
        f"{_where(lines, bad, raw)}. {fix}"
    ]


def parse_numbers(raw: pd.Series, what: str, labels: pd.Series, *,
                  lines: pd.Series | None = None) -> tuple[pd.Series, list[str]]:
    """Read a column as float; text that is not a number is a problem (blanks stay NaN).

    ``lines`` (``"line 7"`` per row), when given, are named after the offending rows' labels.
    """
    if pd.api.types.is_bool_dtype(raw):
        return raw.astype(float), []
    values = pd.to_numeric(raw, errors="coerce").astype(float)
    bad = (values.isna() & raw.notna()).to_numpy()
    if not bad.any():
        return values, []
    shown = [str(value).strip().lower() for value in raw[bad].iloc[:50]]
    text = " ".join(shown)
    if all(value in _MISSING_MARKERS for value in shown):
        fix = "These mark missing values: fill in the real values (0 where nothing was spent)."
    elif "," in text:
        fix = "Remove thousands separators (write 1234, not 1,234) or use a dot as decimal mark."
    elif re.search(r"[$€£¥%]", text):
        fix = "Remove currency symbols and % signs so the cells hold plain numbers."
    else:
        fix = "Replace them with plain numbers."
    return values, [f"{what} has {bad.sum()} value(s) that are not numbers: {_where(labels, bad, raw, lines)}. {fix}"]


def value_problems(values: pd.Series, what: str, labels: pd.Series, *, missing_fix: str,
                   negative_fix: str | None = None, lines: pd.Series | None = None) -> list[str]:
    """Missing and infinite values, and negatives unless `negative_fix` is None (negatives allowed)."""
    array = values.to_numpy()
    problems = []
    missing = np.isnan(array)
    if missing.any():
        problems.append(
            f"{what} is missing on {missing.sum()} date(s): {_where(labels, missing, lines=lines)}. {missing_fix}"
        )
    infinite = np.isinf(array)
    if infinite.any():
        problems.append(
            f"{what} is infinite on {infinite.sum()} date(s): {_where(labels, infinite, lines=lines)}. "
            "Fix these values at the source (often a division by zero in a spreadsheet)."
        )
    negative = array < 0
    if negative_fix is not None and negative.any():
        problems.append(
            f"{what} is negative on {negative.sum()} date(s): {_where(labels, negative, values, lines)}. {negative_fix}"
        )
    return problems


def geo_problems(dates: pd.Series, geos: pd.Series, geo_column: str, lines: pd.Series) -> list[str]:
    """A panel needs a geo on every row, one row per (geo, date), and the same dates in every geo."""
    blank = geos.isna().to_numpy()
    if blank.any():
        return [f"geo column {geo_column!r} is blank on {blank.sum()} row(s): {_where(lines, blank)}. Fill in the geo."]
    problems = []
    pairs = pd.DataFrame({"geo": geos.to_numpy(), "date": dates.to_numpy()})
    repeated = pairs.duplicated(keep="first").to_numpy()
    if repeated.any():
        shown = pairs[repeated].drop_duplicates()
        problems.append(
            f"{repeated.sum()} row(s) repeat a (geo, date) pair: "
            + _examples([f"({g}, {d:%Y-%m-%d})" for g, d in shown.iloc[:SHOWN].itertuples(index=False)], len(shown))
            + f". Each geo needs exactly one row per date in column {geo_column!r}; remove or merge the copies."
        )
    present = pd.crosstab(pairs["geo"], pairs["date"]) > 0  # geos x dates
    lacking = present.index[~present.all(axis=1)]
    if len(lacking):
        gaps = [
            f"{geo!r} lacks {listing(f'{d:%Y-%m-%d}' for d in present.columns[~present.loc[geo].to_numpy()])}"
            for geo in lacking[:SHOWN]
        ]
        rest = len(lacking) - len(gaps)
        problems.append(
            f"geos do not share the same dates ({len(lacking)} of {len(present)} geos lack some): "
            f"{'; '.join(gaps)}{f'; and {rest} more geos' if rest else ''}. "
            "Add the missing rows (0 spend where nothing was spent)."
        )
    return problems


def duplicate_date_problems(dates: pd.Series, column: str, lines: pd.Series) -> list[str]:
    """Each date may appear once in national data."""
    repeated = dates.duplicated(keep=False).to_numpy()
    if not repeated.any():
        return []
    groups = pd.Series(lines[repeated].to_numpy()).groupby(dates[repeated].to_numpy(), sort=True).agg(", ".join)
    return [
        f"date column {column!r} repeats {len(groups)} date(s): "
        + _examples([f"{d:%Y-%m-%d} ({where})" for d, where in groups.iloc[:SHOWN].items()], len(groups))
        + ". Each period must appear once: remove or merge the copies, or, if the data has one row "
        "per region and date, name the region column as the geo column (data.geo)."
    ]


def infer_frequency(dates: pd.DatetimeIndex, column: str) -> tuple[str | None, list[str]]:
    """``"W"`` or ``"D"`` from sorted unique dates; gaps and uneven steps are problems.

    The most common step sets the frequency, so one mistyped date is reported
    where it is instead of turning weekly data into daily data with gaps.
    """
    if len(dates) < 2:
        return None, [f"date column {column!r} has {len(dates)} distinct date(s); a model needs a time series."]
    steps = np.diff(dates.to_numpy()) / np.timedelta64(1, "D")
    values, counts = np.unique(steps, return_counts=True)
    step = float(values[np.argmax(counts)])
    if step not in _STEP_FREQ:
        if np.all((steps >= 28) & (steps <= 31)):
            kind = "monthly"
        elif np.all((steps >= 89) & (steps <= 92)):
            kind = "quarterly"
        else:
            kind = f"{step:g}-day"
        return None, [
            f"date column {column!r} has {kind} periods (most common step: {step:g} days); only daily and "
            "weekly data are supported. Aggregate the data to weekly (or daily) periods."
        ]
    freq = _STEP_FREQ[step]
    daily, weekly = np.flatnonzero(steps == 1), np.flatnonzero(steps == 7)
    if len(daily) >= 2 and len(weekly) >= 2:  # one calendar appended to another, not a typo
        def stretch(at: np.ndarray) -> str:
            return f"{dates[at[0]]:%Y-%m-%d} to {dates[at[-1] + 1]:%Y-%m-%d}"

        return freq, [
            f"date column {column!r} mixes weekly and daily periods: {len(weekly)} steps of 7 days (weekly, "
            f"{stretch(weekly)}) and {len(daily)} steps of 1 day (daily, {stretch(daily)}). A model has one "
            "period length: sum the daily rows into weeks (KPI and spend summed, controls averaged), or "
            "supply daily rows throughout."
        ]
    jumps = [f"{a:%Y-%m-%d} to {b:%Y-%m-%d} ({s:g} days)" for a, b, s in zip(dates[:-1], dates[1:], steps)]
    uneven = np.flatnonzero(steps % step != 0)
    if len(uneven):
        return freq, [
            f"date column {column!r} is not evenly spaced: most dates are {step:g} "
            f"{'day' if step == 1 else 'days'} apart but "
            f"{len(uneven)} step(s) are not a multiple of that: {listing(jumps[i] for i in uneven)}. "
            "Check these dates for typos or a change of week anchor (e.g. Sunday- vs Monday-dated weeks)."
        ]
    gaps = np.flatnonzero(steps > step)
    if len(gaps):
        missing = pd.date_range(dates[0], dates[-1], freq=f"{step:g}D").difference(dates)
        return freq, [
            f"date column {column!r} has gaps: {FREQ_WORDS[freq]} dates jump at {len(gaps)} place(s): "
            f"{listing(jumps[i] for i in gaps)}; so {len(missing)} period(s) are missing: "
            f"{listing(f'{d:%Y-%m-%d}' for d in missing)}. Add rows for them (0 spend where nothing was spent)."
        ]
    return freq, []


def national_problems(kpi: pd.Series, kpi_column: str, spend: pd.DataFrame, spend_columns: dict[str, str],
                      controls: pd.DataFrame, freq: str, min_periods: int | None) -> list[str]:
    """Checks on the final national series: scalable KPI, live channels, varying controls, enough history."""
    problems = []
    for channel, column in spend_columns.items():
        if not (spend[channel] != 0).any():
            problems.append(
                f"channel {channel!r} (column {column!r}) has zero spend on every date; its effect cannot "
                "be estimated. Drop it from channels."
            )
    kpi_mean = float(kpi.mean())
    if kpi_mean <= 0:
        problems.append(
            f"KPI column {kpi_column!r} has mean {kpi_mean:g}; the model scales the KPI by its mean, so the "
            "mean must be positive. Check that this is the right KPI column (not a differenced or centred series)."
        )
    if kpi_mean > 0 and kpi.max() == kpi.min():
        problems.append(
            f"KPI column {kpi_column!r} is constant ({kpi.iloc[0]:g} on every date), so there is no variation "
            "for media or anything else to explain. Check that data.kpi names the right column."
        )
    constant = controls.columns[(controls.max() == controls.min()).to_numpy()]
    for control in constant:
        problems.append(
            f"control {control!r} is constant ({controls[control].iloc[0]:g} on every date), so it is collinear "
            "with the intercept. Drop it from controls."
        )
    needed = DEFAULT_MIN_PERIODS[freq] if min_periods is None else min_periods
    if len(kpi) < needed:
        problems.append(
            f"the data has {len(kpi)} {FREQ_WORDS[freq]} periods ({kpi.index[0]:%Y-%m-%d} to "
            f"{kpi.index[-1]:%Y-%m-%d}); at least {needed} are needed to tell media effects from trend and "
            "seasonality. Supply more history, or lower data.min_periods in the config knowingly."
        )
    terms = spend.shape[1] + controls.shape[1]
    if terms >= len(kpi):
        problems.append(
            f"the data has {len(kpi)} periods but {spend.shape[1]} channel(s) and {controls.shape[1]} control(s) "
            f"to tell apart, besides the baseline; with at least as many drivers as periods any fit is "
            f"arbitrary. Supply more periods (the default minimum is {DEFAULT_MIN_PERIODS[freq]} "
            f"{FREQ_WORDS[freq]}), or model fewer channels (merge small ones)."
        )
    return problems
