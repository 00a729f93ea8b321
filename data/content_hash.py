"""The content hash of stored records: a stable 64-bit fingerprint of each record, as hex text.

Re-ingesting an unchanged record gives the same hash, and the hash must never change between
versions (``storage`` compares it to tell unchanged records from conflicting ones).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc


def content_hash(records: pd.DataFrame) -> pd.Series:
    """A stable 64-bit fingerprint of each record's stored content, as hex text.

    Computed on stored (geomasked) values only, so it reveals nothing the store does not already
    hold. Re-ingesting an unchanged record gives the same hash, and the hash must never change
    between versions: it is ``pandas.util.hash_pandas_object`` of the columns (sorted by name)
    as text (``astype("string")``, missing values a NUL character), without the index. Here
    each column's text is made and hashed once per *distinct* value and the per-column hashes
    are combined as pandas combines them (:func:`_combine_hashes`): the same numbers, since a
    value's text and hash do not depend on the other rows (a test compares the two ways).
    """
    return content_hash_of({c: text_hashes(records[c]) for c in records.columns
                             if c != "content_hash"}, records.index)


def content_hash_of(hashes: dict[str, np.ndarray], index: pd.Index) -> pd.Series:
    """:func:`content_hash` from each column's :func:`text_hashes` (column name → hashes)."""
    columns = sorted(c for c in hashes if c != "content_hash")
    hashed = _combine_hashes([hashes[c] for c in columns], len(index))
    return pd.Series(pd.arrays.ArrowStringArray(_hex16(hashed)), index=index)


def text_hashes(column: pd.Series) -> np.ndarray:
    """``pandas.util.hash_array`` of each cell's text (see :func:`content_hash`): once per
    distinct value, except in a text column of distinct values (ids), where finding the
    distinct values would cost more than it saves."""
    if column.dtype == "string" and column.name in DISTINCT_TEXT_COLUMNS:
        text = column.fillna("\x00").to_numpy(dtype=object)
        return pd.util.hash_array(text, categorize=False)
    codes, uniques = pd.factorize(column, use_na_sentinel=True)
    text = np.empty(len(uniques) + 1, dtype=object)  # not np.append: it drops a NUL string
    dated = datetime_text(uniques) if uniques.dtype.kind == "M" else None
    if uniques.dtype == np.float64:  # no missing values among the distinct ones
        text[:-1] = float_text(np.asarray(uniques))
    elif dated is not None:
        text[:-1] = dated
    else:
        text[:-1] = pd.Series(uniques).astype("string").fillna("\x00").to_numpy(dtype=object)
    text[-1] = "\x00"  # code -1 (missing) takes the last entry
    return pd.util.hash_array(text, categorize=False)[codes]


def float_text(values: np.ndarray) -> np.ndarray:
    """``str(x)`` of each float (Python's shortest repr, which ``astype("string")`` gives), as
    Python strings, without a Python call per value where Arrow writes the same text.

    Arrow's float → text cast writes the same shortest round-trip digits as Python but differs
    in form for whole numbers (``53`` for ``53.0``), in where it switches to an exponent
    (``0.00001`` for ``1e-05``, ``1.6e+10`` for ``16000000000.5``) and for ``-0.0``. Python
    writes plain digits for 1e-4 <= |x| < 1e16; where Arrow also wrote plain digits (no
    exponent) for a non-whole value there, both texts are those digits with a decimal point,
    the same (a test compares them on generated coordinates and on random doubles). Every other
    value (rare in stored data: coordinates are six-decimal degrees) takes ``str``.
    """
    values = np.asarray(values, dtype=np.float64)
    size = np.abs(values)
    cast = pc.cast(pa.array(values), pa.string())
    plain = (size >= 1e-4) & (size < 1e16) & (values != np.trunc(values)) & \
        ~pc.match_substring(cast, "e").to_numpy(zero_copy_only=False)  # NaN, inf: not plain
    text = cast.to_numpy(zero_copy_only=False)
    for i in np.flatnonzero(~plain):
        text[i] = str(values[i])
    return text


#: The years :func:`datetime_text` writes itself (four digits, as pandas writes them).
_FOUR_DIGIT_YEARS = (np.datetime64("1000-01-01"), np.datetime64("9999-12-31"))


def datetime_text(values) -> np.ndarray | None:
    """The text ``astype("string")`` gives distinct time-zone-naive date-times (none missing),
    as ASCII ``bytes`` (which ``pandas.util.hash_array`` hashes as it hashes the same ``str``),
    built from the digits without formatting each value in Python; ``None`` (the caller then
    formats them the pandas way) for anything but whole seconds in years 1000-9999.

    pandas writes a column of date-times ``yyyy-mm-dd`` when every value is a midnight, else
    ``yyyy-mm-dd hh:mm:ss`` (with a fraction when any value has one: not handled here), and it
    decides that from all the values given, so the distinct values give the same text as the
    whole column (a test compares them with pandas on midnights, times and mixed columns)."""
    stamps = np.asarray(values)
    if stamps.dtype.kind != "M" or len(stamps) == 0 or np.isnat(stamps).any():
        return None
    seconds = stamps.astype("datetime64[s]")
    if (seconds != stamps).any() or seconds.min() < _FOUR_DIGIT_YEARS[0] or \
            seconds.max() >= _FOUR_DIGIT_YEARS[1] + np.timedelta64(1, "D"):
        return None
    days = seconds.astype("datetime64[D]")
    months = days.astype("datetime64[M]")
    of_day = (seconds - days).astype(np.int64)
    fields = [((months.astype("datetime64[Y]").astype(np.int64) + 1970), 4), ("-", 0),
              (months.astype(np.int64) % 12 + 1, 2), ("-", 0),
              ((days - months).astype(np.int64) + 1, 2)]
    if of_day.any():  # not every value a midnight
        fields += [(" ", 0), (of_day // 3600, 2), (":", 0), (of_day // 60 % 60, 2), (":", 0),
                   (of_day % 60, 2)]
    width = sum(max(places, 1) for _, places in fields)
    # One row of bytes per character (contiguous writes), turned into one row per value once;
    # each field's digits looked up two at a time (every field is under 100 but the year).
    by_place = np.empty((width, len(stamps)), dtype=np.uint8)
    at = 0
    for number, places in fields:
        if not places:
            by_place[at] = ord(number)
            at += 1
            continue
        number = number.astype(np.intp)
        for pair in ((number // 100, number % 100) if places == 4 else (number,)):
            by_place[at] = _TENS[pair]
            by_place[at + 1] = _ONES[pair]
            at += 2
    out = np.ascontiguousarray(by_place.T)
    return out.view(f"S{width}").ravel().astype(object)


#: The ASCII tens and units digits of 0..99.
_TENS = np.array([ord("0") + i // 10 for i in range(100)], dtype=np.uint8)
_ONES = np.array([ord("0") + i % 10 for i in range(100)], dtype=np.uint8)


def _combine_hashes(hashes: list[np.ndarray], rows: int) -> np.ndarray:
    """The column hashes combined into one per row, exactly as ``hash_pandas_object`` combines
    a frame's columns (``pandas.core.util.hashing.combine_hash_arrays``, written out here so
    a stored hash never depends on a private pandas function)."""
    out = np.full(rows, 0x345678, dtype=np.uint64)
    multiplier = np.uint64(1000003)
    for i, column in enumerate(hashes):
        inverse_i = len(hashes) - i
        out ^= column
        out *= multiplier
        multiplier += np.uint64(82520 + inverse_i + inverse_i)
    return out + np.uint64(97531)


#: Text columns whose values are (nearly) all distinct: hashed cell by cell. Rosewood's
#: ``person_ref`` has some 206k distinct values in 330k rows: finding them cost more than it
#: saved (0.10-0.20 s against 0.07-0.09 s cell by cell, the same hashes).
DISTINCT_TEXT_COLUMNS = {"record_id", "person_ref"}

_HEX_PAIRS = np.array([f"{i:02x}".encode() for i in range(256)], dtype="S2")


def _hex16(values: np.ndarray) -> pa.Array:
    """``"{:016x}".format`` of each uint64, as Arrow text made straight from the hex digits'
    bytes (16 per value), without a Python string per value."""
    octets = values.astype(">u8").view(np.uint8).reshape(-1, 8)
    digits = np.ascontiguousarray(_HEX_PAIRS[octets]).view(np.uint8).ravel()
    offsets = np.arange(0, 16 * len(values) + 1, 16, dtype=np.int64)
    return pa.Array.from_buffers(pa.large_string(), len(values),
                                 [None, pa.py_buffer(offsets), pa.py_buffer(digits)])
