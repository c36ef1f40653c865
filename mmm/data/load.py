"""Load, validate, align and scale the modeling data.

The input is a wide table, one row per period (or per geo and period for a
panel): a CSV path or a pandas DataFrame. Which column plays which role comes
from the caller as :class:`DataRoles`. :func:`load_data` returns an immutable
:class:`MMMData` or raises :class:`DataError` naming the file, the column, the
first offending dates or rows, and the fix. Nothing is guessed: the only
changes made to the data (sorting by date, summing geos) are recorded in
``MMMData.notes``.

Scaling constants (:class:`Scaling`) are computed once from the fitted rows and
stored with the run, so a refresh on new data uses the same model units.
"""

from __future__ import annotations

import hashlib
import io
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mmm.data import validation as checks
from mmm.spec.roles import DataRoles

DAYS_PER_YEAR = 365.25
PERIODS_PER_YEAR = {"W": 52.1775, "D": DAYS_PER_YEAR}
_FRAME_SOURCE = "<DataFrame>"
_SCALING_KEYS = ("kpi", "spend", "control_center", "control_scale", "time_origin")


class DataError(ValueError):
    """The data cannot be used as given; the message says where and how to fix it."""


@dataclass(frozen=True, eq=False)  # eq would compare DataFrames elementwise and fail
class MMMData:
    """One validated series (national data, or one geo of a panel) on a regular daily or weekly calendar;
    the model reads it as a :class:`mmm.data.panel.Panel` of one geo (:func:`mmm.data.panel.as_panel`).

    Attributes
    ----------
    dates
        Sorted, evenly spaced period dates without gaps.
    freq
        ``"W"`` (weekly, any anchor weekday) or ``"D"`` (daily).
    kpi
        KPI per period, in KPI units.
    spend
        Spend per period and channel, in currency; columns are channel names in user order.
    exposure
        Exposure per period for the channels that have one; None if none do.
    controls
        Control values per period; columns are control names (possibly none).
    source
        The file path, or ``"<DataFrame>"``.
    sha256
        Hash of the file bytes, or of a canonical CSV of the DataFrame.
    notes
        Changes made to the data that the user should hear about.
    organic
        Exposure per period of each organic channel (media without spend); None if there are none.
    geo
        The geo this series is, when it is one geo of a panel (events may act in some geos only).
    frequency
        Average frequency per period of the reach-and-frequency channels (their reach is in ``exposure``);
        None if there are none.
    """

    dates: pd.DatetimeIndex
    freq: str
    kpi: pd.Series
    spend: pd.DataFrame
    exposure: pd.DataFrame | None
    controls: pd.DataFrame
    source: str
    sha256: str
    notes: tuple[str, ...] = ()
    organic: pd.DataFrame | None = None
    geo: str | None = None
    frequency: pd.DataFrame | None = None

    @property
    def channels(self) -> list[str]:
        """Channel names in the user's order."""
        return list(self.spend.columns)

    @property
    def n_periods(self) -> int:
        return len(self.dates)

    @property
    def periods_per_year(self) -> float:
        """52.1775 for weekly data, 365.25 for daily data."""
        return PERIODS_PER_YEAR[self.freq]

    def years_since(self, origin: str) -> np.ndarray:
        """Time of each period in years since `origin` (an ISO date): ``days / 365.25``."""
        return np.asarray((self.dates - pd.Timestamp(origin)) / pd.Timedelta(days=1)) / DAYS_PER_YEAR

    def slice(self, start: str | pd.Timestamp | None = None, end: str | pd.Timestamp | None = None) -> MMMData:
        """The periods from `start` to `end`, both inclusive; None leaves that side open."""
        try:
            lo, hi = (pd.Timestamp(x) if x is not None else None for x in (start, end))
        except ValueError as err:
            raise DataError(f"cannot slice {self.source}: {err}. Give dates as YYYY-MM-DD.") from None
        keep = np.ones(self.n_periods, dtype=bool)
        if lo is not None:
            keep &= self.dates >= lo
        if hi is not None:
            keep &= self.dates <= hi
        if not keep.any():
            raise DataError(
                f"{self.source}: no periods between {start} and {end}; the data covers "
                f"{self.dates[0]:%Y-%m-%d} to {self.dates[-1]:%Y-%m-%d}."
            )
        return replace(
            self,
            dates=self.dates[keep],
            kpi=self.kpi[keep],
            spend=self.spend[keep],
            exposure=None if self.exposure is None else self.exposure[keep],
            controls=self.controls[keep],
            organic=None if self.organic is None else self.organic[keep],
            frequency=None if self.frequency is None else self.frequency[keep],
        )


@dataclass(frozen=True)
class Scaling:
    """Constants that map one series to model units: one geo's part of a
    :class:`mmm.data.panel_design.PanelScaling`, which is what a run stores and reuses.

    Attributes
    ----------
    kpi
        Mean KPI over the fitted rows (KPI units, > 0); the model sees ``kpi / kpi_mean``.
    spend
        Per channel, mean spend over the fitted rows (currency, > 0).
    control_center, control_scale
        Per control, the mean and the standard deviation (ddof=0, > 0).
    time_origin
        ISO date of the first fitted period; model time is years since it.
    exposure
        Channels whose media effect is driven by exposure (impressions, clicks, GRPs): mean exposure
        over the fitted rows; the model sees ``exposure / this`` instead of scaled spend. For these
        channels ``spend`` is the currency per unit of model input at :attr:`cost_per_unit`, so a plan
        in currency becomes exposure at that cost.
    cost_per_unit
        Those channels' recent cost per unit of exposure (spend / exposure over the last fitted quarter).
    organic
        Per organic channel, its mean exposure over the fitted rows; the model sees ``exposure / this``.
    frequency
        Per reach-and-frequency channel, its reach-weighted mean frequency; the model's frequency curve
        reads ``frequency / this``.
    """

    kpi: float
    spend: dict[str, float]
    control_center: dict[str, float]
    control_scale: dict[str, float]
    time_origin: str
    exposure: dict[str, float] = field(default_factory=dict)
    cost_per_unit: dict[str, float] = field(default_factory=dict)
    organic: dict[str, float] = field(default_factory=dict)
    frequency: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        def positive(what: str, value: Any) -> float:
            number = float(value)
            if not np.isfinite(number) or number <= 0:
                raise DataError(f"scaling: {what} must be a positive number, got {value!r}.")
            return number

        object.__setattr__(self, "kpi", positive("the KPI mean", self.kpi))
        spend = {k: positive(f"mean spend of channel {k!r}", v) for k, v in self.spend.items()}
        object.__setattr__(self, "spend", spend)
        object.__setattr__(self, "control_center", {k: float(v) for k, v in self.control_center.items()})
        object.__setattr__(
            self, "control_scale", {k: positive(f"scale of control {k!r}", v) for k, v in self.control_scale.items()}
        )
        if set(self.control_center) != set(self.control_scale):
            raise DataError(
                "scaling: control_center and control_scale must name the same controls; got "
                f"{sorted(self.control_center)} and {sorted(self.control_scale)}."
            )
        try:
            object.__setattr__(self, "time_origin", f"{pd.Timestamp(self.time_origin):%Y-%m-%d}")
        except (ValueError, TypeError):
            raise DataError(f"scaling: time_origin must be an ISO date, got {self.time_origin!r}.") from None

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-ready form (floats and strings only)."""
        return {
            "kpi": self.kpi,
            "spend": dict(self.spend),
            "control_center": dict(self.control_center),
            "control_scale": dict(self.control_scale),
            "time_origin": self.time_origin,
            **({"exposure": dict(self.exposure), "cost_per_unit": dict(self.cost_per_unit)} if self.exposure else {}),
            **({"organic": dict(self.organic)} if self.organic else {}),
            **({"frequency": dict(self.frequency)} if self.frequency else {}),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Scaling:
        """Rebuild from :meth:`to_dict` output, e.g. read back from a run folder."""
        missing = [key for key in _SCALING_KEYS if key not in d]
        if missing:
            raise DataError(
                f"stored scaling lacks {', '.join(missing)} (it has: {', '.join(map(str, d)) or 'nothing'}); "
                "it was edited or written by another tool. Refit the run to recompute the scaling."
            )
        for key in ("spend", "control_center", "control_scale"):
            if not isinstance(d[key], dict):
                raise DataError(f"stored scaling: {key} must map names to numbers, got {d[key]!r}.")
        return cls(**{key: d[key] for key in _SCALING_KEYS},
                   **{key: dict(d[key]) for key in ("exposure", "cost_per_unit", "organic", "frequency") if key in d})


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a data file (CSV, or an .xlsx workbook with one sheet); DataError if it is missing, unreadable or
    has no rows."""
    return _read_csv(Path(path))[0]


def _read_csv(path: Path) -> tuple[pd.DataFrame, bytes]:
    """The parsed table and the file's bytes (hashed for the run manifest).

    A CSV may be comma-, semicolon- or tab-separated (the header line decides). A semicolon
    file is a European spreadsheet export: its numbers are read with a decimal comma when any
    cell has one (``1.234,56`` is 1234.56), see :func:`_semicolon_numbers`. An ``.xlsx`` workbook
    with exactly one sheet is read as that sheet.
    """
    if not path.exists():
        raise DataError(
            f"data file not found: {path} (looked at {path.resolve()}). Check data.path in the config; "
            "a relative path is read from the config file's folder."
        )
    if path.is_dir():
        raise DataError(f"{path} is a folder, not a CSV file; point data.path at the CSV file.")
    suffix = path.suffix.lower()
    if suffix in _OTHER_WORKBOOKS:
        raise DataError(f"{path} is a {_OTHER_WORKBOOKS[suffix]} file, which mmm does not read. Save it as .xlsx "
                        "or export the sheet as 'CSV UTF-8', and point data.path at that file.")
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise DataError(f"cannot read data file {path}: {err.strerror}. Check that it is readable.") from None
    if not raw.strip():
        raise DataError(f"data file {path} is empty; expected a CSV with a header row and one row per period.")
    if suffix in (".xlsx", ".xlsm"):
        frame = _read_workbook(path, raw)
    else:
        frame = _read_text(path, raw)
    if frame.empty:
        raise DataError(f"data file {path} has a header but no data rows.")
    return frame, raw


_OTHER_WORKBOOKS = {".xls": "legacy Excel (.xls)", ".xlsb": "binary Excel (.xlsb)", ".ods": "OpenDocument (.ods)",
                    ".numbers": "Apple Numbers"}


def _read_text(path: Path, raw: bytes) -> pd.DataFrame:
    try:
        header = raw.decode("utf-8-sig").lstrip().splitlines()[0]
    except UnicodeDecodeError:
        raise DataError(
            f"{path} is not UTF-8 text. Save it as 'CSV UTF-8' (or give the .xlsx workbook itself)."
        ) from None
    sep = next((s for s in (",", ";", "\t") if s in header), ",")
    try:
        # only blank cells are missing: pandas' default markers would turn a geo "NA" into NaN
        frame = pd.read_csv(io.BytesIO(raw), sep=sep, encoding="utf-8-sig", keep_default_na=False, na_values=[""],
                            dtype=str if sep == ";" else None)
    except pd.errors.ParserError as err:
        raise DataError(
            f"{path} is not a readable CSV: {err}. Check the quoting and that every row has as many fields "
            "as the header."
        ) from None
    if sep != ";":
        return frame
    frame = _semicolon_numbers(frame, path)
    frame.attrs["note"] = (f"Read {path.name} as a semicolon-separated file with "
                           + ("decimal commas (1.234,56 = 1234.56)." if frame.attrs.pop("european")
                              else "decimal points (12.5 = 12.5)."))
    return frame


_PLAIN = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_GROUPED = re.compile(r"^[+-]?[1-9]\d{0,2}(\.\d{3})+$")  # 1.234 or 12.345.678: dots that may group thousands
_COMMA_DECIMAL = re.compile(r"^[+-]?([1-9]\d{0,2}(\.\d{3})+|\d+),\d+$")  # 1.234,56 or 12,5


def _semicolon_numbers(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    """Numbers of a semicolon-separated file, read as the spreadsheet that wrote it meant them.

    With a decimal comma in any cell, the file is European: ``1.234,56`` is 1234.56 and ``1.234``
    is 1234; a cell such as ``12.5`` then contradicts the file's own convention and is refused.
    Without any decimal comma, dots are decimal points, except in a column whose every dotted
    value looks like thousands grouping: with a value such as ``1.234.567`` the dots group
    thousands; with only values such as ``1.234`` (1.234 or 1234?) the column is refused as
    ambiguous. Cells that are not numbers stay text, for the column checks to report.
    """
    text = frame.apply(lambda column: column.str.strip())
    comma = text.apply(lambda column: column.str.match(_COMMA_DECIMAL.pattern, na=False))
    european = bool(comma.to_numpy().any())
    lines = pd.Series(np.arange(2, len(frame) + 2))
    out = {}
    for name in frame.columns:
        cells = text[name]
        dotted = cells.str.contains(".", regex=False, na=False)
        grouped = cells.str.match(_GROUPED.pattern, na=False)
        if european:
            plain = cells.str.match(_PLAIN.pattern, na=False) & dotted & ~grouped & ~comma[name]
            if plain.any():
                i = int(np.flatnonzero(plain.to_numpy())[0])
                row, col = (a[0] for a in np.nonzero(comma.to_numpy()))  # the first decimal-comma cell
                raise DataError(
                    f"{path}: column {name!r} mixes decimal marks: {cells.iloc[i]!r} (line {lines.iloc[i]}) has a "
                    f"decimal point, but this semicolon-separated file writes decimals with a comma "
                    f"(e.g. {text.iat[row, col]!r}, line {lines.iloc[row]}). Write {cells.iloc[i].replace('.', ',')!r} "
                    "there, or export the whole sheet again with one decimal mark."
                )
            numbers = cells.where(~(grouped | comma[name]), cells.str.replace(".", "", regex=False)
                                  .str.replace(",", ".", regex=False))
        else:
            multi = cells.str.count(r"\.") > 1
            only_grouped = dotted.any() and bool((grouped | ~dotted).all())
            if only_grouped and not multi.any():
                i = int(np.flatnonzero(grouped.to_numpy())[0])
                raise DataError(
                    f"{path}: column {name!r} is ambiguous: {cells.iloc[i]!r} (line {lines.iloc[i]}) reads as "
                    f"{cells.iloc[i]} with a decimal point or {cells.iloc[i].replace('.', '')} with a thousands "
                    "separator, and no cell of this semicolon-separated file settles which. Export the numbers "
                    "without thousands separators (Excel: Format Cells > Number, untick 'Use 1000 Separator'), "
                    "or as a comma-separated 'CSV UTF-8' file."
                )
            numbers = cells.str.replace(".", "", regex=False) if only_grouped else cells
        parsed = pd.to_numeric(numbers, errors="coerce")
        out[name] = parsed.where(parsed.notna(), frame[name]) if parsed.notna().any() else frame[name]
    out = pd.DataFrame(out)
    out.attrs["european"] = european
    return out


def _read_workbook(path: Path, raw: bytes) -> pd.DataFrame:
    try:
        sheets = pd.read_excel(io.BytesIO(raw), sheet_name=None, engine="openpyxl", keep_default_na=False,
                               na_values=[""])
    except Exception as err:  # openpyxl raises several kinds for a damaged or mislabelled file
        raise DataError(f"{path} is not a readable .xlsx workbook ({type(err).__name__}: {err}). Open it in Excel "
                        "and save it again, or export the sheet as 'CSV UTF-8'.") from None
    if len(sheets) != 1:
        raise DataError(f"{path} has {len(sheets)} sheets ({checks.listing(map(repr, sheets))}); mmm reads a "
                        "workbook with exactly one sheet, so it never guesses which one holds the data. Delete the "
                        "other sheets, or export the data sheet as 'CSV UTF-8'.")
    frame = next(iter(sheets.values()))
    frame.columns = [str(c) for c in frame.columns]
    return frame


def load_data(source: str | Path | pd.DataFrame, roles: DataRoles, *, min_periods: int | None = None,
              aggregate_geo: bool = True) -> MMMData:
    """Load, validate and align the modeling data.

    Parameters
    ----------
    source
        A CSV path, or a DataFrame in the same wide layout.
    roles
        Which column plays which role.
    min_periods
        Fewest periods accepted; default 52 for weekly and 180 for daily data.
    aggregate_geo
        For a panel (``roles.geo`` set): sum KPI, spend and exposure over geos and
        average the controls per date, noted in ``notes``. False is an error: the
        panel with its geo axis is :func:`mmm.data.panel.load_panel`'s job.

    Returns
    -------
    MMMData

    Raises
    ------
    DataError
        Listing every problem found at the first stage that has any: columns,
        dates, values, panel and calendar structure, then the national series.
    """
    if isinstance(source, pd.DataFrame):
        frame, label = source.reset_index(drop=True), _FRAME_SOURCE
        digest = hashlib.sha256(source.to_csv(index=False, lineterminator="\n").encode()).hexdigest()
        lines = "row " + pd.Series(np.arange(len(frame))).astype(str)
    else:
        frame, raw = _read_csv(Path(source))
        label, digest = str(source), hashlib.sha256(raw).hexdigest()
        lines = "line " + pd.Series(np.arange(2, len(frame) + 2)).astype(str)  # the header is line 1
    notes = [frame.attrs["note"]] if frame.attrs.get("note") else []

    def stop_if(problems: list[str]) -> None:
        if len(problems) == 1:
            raise DataError(f"{label}: {problems[0]}")
        if problems:
            body = "\n".join(f"  {i}. {problem}" for i, problem in enumerate(problems, 1))
            raise DataError(f"{label}: {len(problems)} problems in the data:\n{body}")

    if not roles.channels:
        raise DataError(f"{label}: no channels given; name at least one media channel and its spend column.")
    values_wanted = _value_roles(roles)
    stop_if(checks.column_problems(frame.columns, _id_roles(roles) + [(c, r) for c, r, *_ in values_wanted]))
    if roles.geo is not None and not aggregate_geo:
        raise DataError(
            f"{label}: load_data returns national data; for the panel with geo column {roles.geo!r} use "
            "mmm.data.panel.load_panel (a config with data.geo keeps the geo axis), or allow aggregate_geo=True."
        )

    dates, problems = checks.parse_dates(frame[roles.date], roles.date, lines)
    stop_if(problems)
    labels = dates.dt.strftime("%Y-%m-%d")
    if roles.geo is not None:
        labels = labels + " (geo " + frame[roles.geo].astype(str) + ")"
    file_lines = None if label == _FRAME_SOURCE else lines  # a spreadsheet's row numbers, beside the dates
    table = pd.DataFrame({"date": dates.to_numpy()})
    problems = []
    for column, role, missing_fix, negative_fix in values_wanted:
        what = f"column {column!r} ({role})"
        table[column], found = checks.parse_numbers(frame[column], what, labels, lines=file_lines)
        # non-numbers read as NaN: report them once, as text, not again as missing
        problems += found or checks.value_problems(
            table[column], what, labels, missing_fix=missing_fix, negative_fix=negative_fix, lines=file_lines
        )
    stop_if(problems)

    if roles.geo is not None:
        stop_if(checks.geo_problems(dates, frame[roles.geo], roles.geo, lines))
        summed = [roles.kpi] + [c for cols in roles.channels.values() for c in (cols.spend, cols.exposure) if c]
        summed += list(roles.organic.values())
        rf = {cols.frequency: cols.exposure for cols in roles.channels.values() if cols.frequency}
        for freq_column, reach_column in rf.items():  # national frequency: reach-weighted over geos
            table[freq_column] = table[freq_column] * table[reach_column]
        how = ({column: "sum" for column in [*summed, *rf]} | {column: "mean" for column in roles.controls})
        table = table.groupby("date", sort=True).agg(how)
        for freq_column, reach_column in rf.items():
            reach = table[reach_column].to_numpy(dtype=float)
            table[freq_column] = np.divide(table[freq_column].to_numpy(dtype=float), reach,
                                           out=np.zeros_like(reach), where=reach > 0)
        geos = frame[roles.geo].unique()
        notes.append(
            f"Aggregated {len(geos)} geos ({checks.listing(geos)}) into one national series: KPI, spend and "
            "exposure summed per date, controls averaged (a config with data.geo keeps the geo axis)."
        )
    else:
        stop_if(checks.duplicate_date_problems(dates, roles.date, lines))
        table = table.set_index("date")
        if not table.index.is_monotonic_increasing:
            table = table.sort_index()
            notes.append(f"Sorted the rows by {roles.date!r}: they were not in date order.")
    index = pd.DatetimeIndex(table.index, name="date")
    freq, problems = checks.infer_frequency(index, roles.date)
    stop_if(problems)

    table.index = index
    spend = table[[cols.spend for cols in roles.channels.values()]].set_axis(list(roles.channels), axis=1)
    with_exposure = {name: cols.exposure for name, cols in roles.channels.items() if cols.exposure}
    exposure = table[list(with_exposure.values())].set_axis(list(with_exposure), axis=1) if with_exposure else None
    controls = table[list(roles.controls)]
    organic = (table[list(roles.organic.values())].set_axis(list(roles.organic), axis=1) if roles.organic
               else None)
    with_frequency = {name: cols.frequency for name, cols in roles.channels.items() if cols.frequency}
    frequency = (table[list(with_frequency.values())].set_axis(list(with_frequency), axis=1) if with_frequency
                 else None)
    kpi = table[roles.kpi]
    spend_columns = {name: cols.spend for name, cols in roles.channels.items()}
    stop_if(checks.national_problems(kpi, roles.kpi, spend, spend_columns, controls, freq, min_periods))
    return MMMData(index, freq, kpi, spend, exposure, controls, label, digest, tuple(notes), organic=organic,
                   frequency=frequency)


def _id_roles(roles: DataRoles) -> list[tuple[str, str]]:
    """The identifying columns (date, geo) with their roles."""
    found = [(roles.date, "date column, data.date")]
    return found + ([(roles.geo, "geo column, data.geo")] if roles.geo is not None else [])


def _value_roles(roles: DataRoles) -> list[tuple[str, str, str, str | None]]:
    """``(column, role, fix if missing, fix if negative or None)`` for each numeric column."""
    fill_spend = "Fill them in (0 where nothing was spent); the model does not guess missing spend."
    negative = "Spend and exposure cannot be negative; correct these values at the source."
    found = [(roles.kpi, "KPI, data.kpi", "Fill them in, or cut the data to the dates that have a KPI.", None)]
    for name, cols in roles.channels.items():
        found.append((cols.spend, f"spend of channel {name!r}, channels.{name}", fill_spend, negative))
        if cols.exposure and cols.frequency:
            found.append((cols.exposure, f"reach of channel {name!r}, channels.{name}.reach",
                          "Fill them in (0 where the channel did not run).", negative))
            found.append((cols.frequency, f"frequency of channel {name!r}, channels.{name}.frequency",
                          "Fill them in (0 where the channel did not run).",
                          "Frequency cannot be negative; correct these values at the source."))
        elif cols.exposure:
            found.append((cols.exposure, f"exposure of channel {name!r}, channels.{name}.exposure",
                          "Fill them in (0 where the channel did not run).", negative))
    for name, column in roles.organic.items():
        found.append((column, f"exposure of organic channel {name!r}, organic.{name}",
                      "Fill them in (0 where the channel did not run).",
                      "Organic exposure cannot be negative; correct these values at the source."))
    for control in roles.controls:
        found.append((control, "control, controls", "Fill them in explicitly (e.g. carry the last value forward).",
                      None))
    return found


def scale(data: MMMData, scaling: Scaling) -> dict[str, np.ndarray]:
    """The data in model units, using stored constants so refreshes stay comparable.

    Channels and controls are matched to the constants by name, not position.

    Returns
    -------
    dict
        ``kpi`` (T,) = KPI / KPI mean; ``spend`` (T, K) = the media input: spend / channel mean
        spend, or exposure / mean exposure for a channel modelled from exposure, columns in
        ``data.channels`` order; ``controls`` (T, C) =
        (value - center) / scale; ``time`` (T,) = years since ``time_origin``; ``organic`` (T, O) = each
        organic channel's exposure / its mean.
    """
    by_exposure = [k for k in data.channels if k in scaling.exposure]
    no_column = [k for k in by_exposure if data.exposure is None or k not in data.exposure.columns]
    if no_column:
        raise DataError(f"{data.source}: channel(s) {', '.join(map(repr, no_column))} were modelled from exposure, "
                        "but this data has no exposure column for them; give `exposure:` in the config as before.")
    lacking = [f"channel {k!r}" for k in data.channels if k not in scaling.spend]
    lacking += [f"control {c!r}" for c in data.controls.columns if c not in scaling.control_center]
    if lacking:
        raise DataError(
            f"{data.source}: the stored scaling has no constant for {', '.join(lacking)} (it covers channels "
            f"{sorted(scaling.spend)} and controls {sorted(scaling.control_center)}). A refresh must use the "
            "channels and controls of the original run; fit a new model to add new ones."
        )
    controls = list(data.controls.columns)
    center = np.array([scaling.control_center[c] for c in controls], dtype=float)
    spread = np.array([scaling.control_scale[c] for c in controls], dtype=float)
    media_input = np.column_stack([
        data.exposure[k].to_numpy(dtype=float) / scaling.exposure[k] if k in scaling.exposure
        else data.spend[k].to_numpy(dtype=float) / scaling.spend[k] for k in data.channels])
    organic_names = [] if data.organic is None else list(data.organic.columns)
    unscaled = [o for o in organic_names if o not in scaling.organic]
    if unscaled:
        raise DataError(f"{data.source}: the stored scaling has no constant for organic channel(s) "
                        f"{', '.join(map(repr, unscaled))}; a refresh keeps the original run's organic channels, "
                        "fit a new model to add new ones.")
    organic = np.column_stack([data.organic[o].to_numpy(dtype=float) / scaling.organic[o] for o in organic_names]
                              ) if organic_names else np.zeros((data.n_periods, 0))
    frequency = np.ones((data.n_periods, len(data.channels)))
    for k, channel in enumerate(data.channels):
        if channel in scaling.frequency:
            if data.frequency is None or channel not in data.frequency.columns:
                raise DataError(f"{data.source}: channel {channel!r} was modelled from reach and frequency, but this "
                                "data has no frequency column for it; give `reach:` and `frequency:` as before.")
            values = data.frequency[channel].to_numpy(dtype=float) / scaling.frequency[channel]
            frequency[:, k] = np.where(values > 0, values, 1.0)  # no reach, no effect: any finite frequency
    return {
        "frequency": frequency,
        "organic": organic.reshape(data.n_periods, len(organic_names)),
        "kpi": data.kpi.to_numpy(dtype=float) / scaling.kpi,
        "spend": media_input.reshape(data.n_periods, len(data.channels)),
        "controls": (data.controls.to_numpy(dtype=float).reshape(data.n_periods, len(controls)) - center) / spread,
        "time": data.years_since(scaling.time_origin),
    }
