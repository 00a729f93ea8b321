"""Turn text cells into typed values, collecting a Problem for every cell that cannot be parsed.

Vectorised over whole columns so a million-row file parses in seconds. Domain rules (categories,
future dates, found-before-missing) are the pandera schema's job (``core.schema``); this module
only decides what a cell *says*.
"""
from __future__ import annotations

import re
from functools import partial

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from core.errors import Problem
from core.schema import MULTI_SEPARATOR, Field
from data.identifiers import mask
from data.pseudonymise import PSEUDONYM_PATTERN
from data.readers import ROW_COLUMN

_ISO = (r"^(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})"
        r"(?:[T ](?P<H>\d{2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:\.\d+)?)?(?P<tz>Z|[+-]\d{2}:?\d{2})?)?$")
_UK = (r"^(?P<d>\d{1,2})/(?P<m>\d{1,2})/(?P<y>\d{4})"
       r"(?:[ T](?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2}))?)?$")
#: The date-time shape partner systems mostly write, and where ``_ISO``'s groups sit in it.
_FIXED_ISO_MINUTE = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}$"
_FIXED_ISO_PLACES = {"y": (0, 4), "m": (5, 7), "d": (8, 10), "H": (11, 13), "M": (14, 16)}
_EXCEL_SERIAL = r"^\d{5}(?:\.\d+)?$"
_TWO_DIGIT_YEAR = r"^\d{1,2}[/.-]\d{1,2}[/.-]\d{2}$"
_TRUE = {"yes", "y", "true", "1"}
_FALSE = {"no", "n", "false", "0"}


def clean_text(series: pd.Series) -> pd.Series:
    """Strip surrounding white space (including non-breaking spaces) from every cell."""
    return series.astype("string").fillna("").str.strip().str.strip("\u00a0")


def parse_field(frame: pd.DataFrame, field: Field) -> tuple[pd.Series, list[Problem]]:
    """Parse one contract column; return the typed column and the problems found."""
    if field.kind in ("category", "multi"):  # no problems: judged by the schema
        canonical = _canonical_category if field.kind == "category" else _canonical_multi
        return _per_distinct_cleaned(frame[field.name], canonical), []
    text = clean_text(frame[field.name])
    if field.kind in ("date", "datetime"):
        return parse_dates(text, frame[ROW_COLUMN], field)
    if field.kind == "bool":
        return _parse_bool(text, frame[ROW_COLUMN], field)
    if field.kind == "category":
        return _per_distinct_text(text, _canonical_category), []
    if field.kind == "multi":
        return _multi(text), []
    problems = _empty_problems(text, frame[ROW_COLUMN], field)
    if field.kind == "ref":
        problems += _not_pseudonyms(text, frame[ROW_COLUMN], field)
    return text.replace("", pd.NA), problems


def _not_pseudonyms(text, rows, field) -> list[Problem]:
    """A ``ref`` must be a keyed pseudonym (``data.pseudonymise``); anything else is refused,
    shown masked: it may be the partner's own reference, which the system must not hold."""
    bad = (text != "") & ~text.str.fullmatch(PSEUDONYM_PATTERN).fillna(False)
    return [Problem(int(r), field.name, mask(v), "is not a pseudonym made by python -m "
                    "data.pseudonymise (PR- and 26 capital letters and digits 2-7): give the "
                    "partner's reference to that command, never the reference itself")
            for r, v in zip(rows[bad], text[bad])]


def _canonical_category(value: str):
    return re.sub(r"[\s\-]+", "_", value.lower()) if value else pd.NA


def _multi(text: pd.Series) -> pd.Series:
    return _per_distinct_text(text, _canonical_multi)


def _canonical_multi(value: str):
    tokens = {_canonical_category(t.strip()) for t in re.split(r"[;,|]", value)}
    tokens.discard(pd.NA)
    return MULTI_SEPARATOR.join(sorted(tokens)) if tokens else pd.NA


def _per_distinct(text: pd.Series, function) -> pd.Series:
    """Apply ``function`` once per distinct value (columns repeat a few values many times)."""
    codes, uniques = pd.factorize(text)
    results = pd.Series([function(u) for u in uniques], dtype=object)
    return pd.Series(results.to_numpy()[codes], index=text.index)


def _per_distinct_text(text: pd.Series, function) -> pd.Series:
    """``_per_distinct(text, function).astype("string")`` without a Python object per row: the
    distinct results become Arrow text once and are spread over the rows by an Arrow take."""
    codes, uniques = pd.factorize(text)
    if (codes < 0).any():  # a missing cell (never after clean_text): the plain way
        return _per_distinct(text, function).astype("string")
    results = pa.array([function(u) for u in uniques], type=pa.string(), from_pandas=True)
    return pd.Series(pd.arrays.ArrowStringArray(results.take(pa.array(codes))), index=text.index)


def _per_distinct_cleaned(raw: pd.Series, function) -> pd.Series:
    """``_per_distinct_text(clean_text(raw), function)`` with the cells cleaned once per
    distinct raw value instead of on every row (``clean_text`` treats each cell on its own,
    so the results are the same: a test compares them); the plain way if a cell is missing."""
    if raw.dtype != "string" or raw.hasnans:
        return _per_distinct_text(clean_text(raw), function)
    codes, uniques = pd.factorize(raw)
    cleaned = clean_text(pd.Series(uniques, dtype="string"))
    results = pa.array([function(u) for u in cleaned], type=pa.string(), from_pandas=True)
    return pd.Series(pd.arrays.ArrowStringArray(results.take(pa.array(codes))), index=raw.index)


def _empty_problems(text, rows, field) -> list[Problem]:
    if field.nullable:
        return []
    return [Problem(int(r), field.name, "", "is empty") for r in rows[text == ""]]


def _parse_bool(text, rows, field):
    lower = text.str.lower()
    value = pd.Series(pd.NA, index=text.index, dtype="boolean")
    value[lower.isin(_TRUE)] = True
    value[lower.isin(_FALSE)] = False
    bad = value.isna()
    problems = [Problem(int(r), field.name, str(v), "must be yes or no")
                for r, v in zip(rows[bad], text[bad])]
    return value, problems


def parse_dates(text: pd.Series, rows: pd.Series, field: Field) -> tuple[pd.Series, list[Problem]]:
    """Parse ISO (``2024-03-31``, ``2024-03-31T14:05``) and UK (``31/03/2024 14:05``) dates.

    Naive times are UK local time; times with an offset are converted to UK local time. A
    ``date`` field keeps the date only. Excel serial numbers, two-digit years, US-style dates
    (month > 12) and dates that do not exist are reported, never guessed.
    """
    codes, uniques = pd.factorize(text)
    stamps, use_uk, months = _parse_distinct_dates(pd.Series(uniques, dtype="string"), field)
    stamps = pd.Series(stamps.to_numpy()[codes], index=text.index)
    failed = ((text != "") & stamps.isna()).to_numpy()
    problems = []
    for row, code in zip(rows[failed], codes[failed]):
        problems.append(Problem(int(row), field.name, str(uniques[code]),
                                _date_reason(str(uniques[code]), months[code], use_uk[code])))
    if not field.nullable:
        problems += _empty_problems(text, rows, field)
    return stamps, problems


def _parse_distinct_dates(text: pd.Series, field: Field):
    cells = pa.array(text.array, type=pa.string())
    ascii_only = bool(pc.all(pc.string_is_ascii(cells)).as_py() is not False)
    numbers = _fixed_shape_numbers(cells, text.index) if ascii_only else None
    use_uk = pd.Series(False, index=text.index)
    offsets = None
    if numbers is None:  # some cell of another shape: every cell by the ISO (and UK) pattern
        parts = _extract(text, cells, _ISO, ascii_only)
        if parts["y"].isna().any():  # the UK form is only read where the ISO one did not match
            uk = _extract(text, cells, _UK, ascii_only)
            use_uk = parts["y"].isna() & uk["y"].notna()
            parts.loc[use_uk, ["y", "m", "d", "H", "M", "S"]] = \
                uk.loc[use_uk, ["y", "m", "d", "H", "M", "S"]]
        numbers = parts[["y", "m", "d", "H", "M", "S"]].apply(
            _ascii_digits if ascii_only else partial(pd.to_numeric, errors="coerce")).astype(float)
        offsets = parts["tz"]
    matched = numbers["y"].notna()
    numbers[["H", "M", "S"]] = numbers[["H", "M", "S"]].fillna(0)
    stamps = pd.to_datetime(
        numbers.rename(columns={"y": "year", "m": "month", "d": "day", "H": "hour", "M": "minute",
                                "S": "second"}).where(matched), errors="coerce")
    if offsets is not None:
        stamps = _apply_offsets(stamps, offsets)
    if field.kind == "date":
        stamps = stamps.dt.normalize()
    return stamps, use_uk.to_numpy(), numbers["m"].to_numpy()


def _fixed_shape_numbers(cells, index) -> pd.DataFrame | None:
    """The numbers the ISO pattern's groups give (``y m d H M S`` as floats, all missing for an
    empty cell), read by position, when every cell is empty or of the one shape
    ``yyyy-mm-ddThh:mm`` (or with a space for ``T``); ``None`` otherwise. In that shape each
    group is the digits at a fixed place and the seconds and offset take no part, so these are
    the numbers ``_extract(..., _ISO, ...)`` then ``_ascii_digits`` make, without RE2 capturing
    groups over every distinct value (Rosewood: 300k distinct times a column)."""
    if isinstance(cells, pa.ChunkedArray):
        cells = cells.combine_chunks()
    if len(cells) == 0 or cells.null_count:
        return None
    shaped = pc.match_substring_regex(cells, _FIXED_ISO_MINUTE)
    if not pc.all(pc.or_(shaped, pc.equal(cells, ""))).as_py():
        return None
    shaped = shaped.to_numpy(zero_copy_only=False)
    if not shaped.any():  # only empty cells
        return pd.DataFrame(np.nan, index=index, columns=["y", "m", "d", "H", "M", "S"])
    starts = np.frombuffer(cells.buffers()[1], dtype=np.int32)[cells.offset:][:len(cells)]
    starts = np.where(shaped, starts, 0)  # an empty cell reads any bytes, then is set missing
    data = np.frombuffer(cells.buffers()[2], dtype=np.uint8)
    numbers = {}
    for name, (first, end) in _FIXED_ISO_PLACES.items():
        value = np.zeros(len(cells))
        for place in range(first, end):
            value = value * 10 + (data[np.minimum(starts + place, len(data) - 1)] - ord("0"))
        numbers[name] = np.where(shaped, value, np.nan)
    numbers["S"] = np.full(len(cells), np.nan)
    return pd.DataFrame(numbers, index=index)


def _extract(text: pd.Series, cells, pattern: str, ascii_only: bool) -> pd.DataFrame:
    """``text.str.extract(pattern)``: in Arrow's RE2 at once when every cell is ASCII (where
    ``\\d`` means the same to both engines), else Python's ``re`` cell by cell. The patterns'
    groups never match empty text, so RE2's "" for a group that took no part is a missing one."""
    if not ascii_only:
        return text.str.extract(pattern)
    found = pc.extract_regex(cells, pattern)
    names = re.compile(pattern).groupindex
    return pd.DataFrame({
        name: pd.arrays.ArrowStringArray(pa.chunked_array([pc.if_else(
            pc.equal(group, ""), pa.scalar(None, pa.string()), group)]))
        for name, group in ((n, pc.struct_field(found, n)) for n in names)}, index=text.index)


def _ascii_digits(part: pd.Series) -> pd.Series:
    """A column of ASCII digit strings (or missing) as floats, in one Arrow cast."""
    return pd.Series(pc.cast(pa.array(part.array, type=pa.string()), pa.float64())
                     .to_numpy(zero_copy_only=False), index=part.index)


def _apply_offsets(stamps: pd.Series, offsets: pd.Series) -> pd.Series:
    has_tz = offsets.notna() & stamps.notna()
    if not has_tz.any():
        return stamps
    stamps = stamps.copy()
    tz = offsets[has_tz].str.replace("Z", "+00:00").str.replace(r"^([+-]\d{2})(\d{2})$", r"\1:\2",
                                                                regex=True)
    sign = tz.str[0].map({"+": 1, "-": -1})
    minutes = sign * (tz.str[1:3].astype(int) * 60 + tz.str[-2:].astype(int))
    utc = (stamps[has_tz] - pd.to_timedelta(minutes, unit="min")).dt.tz_localize("UTC")
    stamps[has_tz] = utc.dt.tz_convert("Europe/London").dt.tz_localize(None)
    return stamps


def _date_reason(value: str, month, is_uk: bool) -> str:
    if re.match(_EXCEL_SERIAL, value):
        day = pd.Timestamp("1899-12-30") + pd.Timedelta(days=float(value))
        return (f"looks like an Excel serial date (= {day:%d/%m/%Y}); format the column as a date "
                "(dd/mm/yyyy) before exporting")
    if re.match(_TWO_DIGIT_YEAR, value):
        return "two-digit year is ambiguous; use dd/mm/yyyy or yyyy-mm-dd"
    if is_uk and pd.notna(month) and month > 12:
        return (f"month {int(month)} does not exist: this looks like a US mm/dd/yyyy date; the "
                "contract uses dd/mm/yyyy")
    if re.match(_ISO, value) or re.match(_UK, value):
        return "is not a real date or time"
    return "unrecognised date; use yyyy-mm-dd or dd/mm/yyyy (optionally with hh:mm)"
