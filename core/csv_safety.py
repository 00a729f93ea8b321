"""Spreadsheet-safe CSV: the one escaping every CSV this system writes goes through.

A spreadsheet treats a cell that starts with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage
return, which some programs skip before looking) as a formula, so a crafted value could run one
when the file is opened ("CSV injection"). Every *text* cell, and every column name, that starts
with one of those characters gets a ``'`` in front, which spreadsheets read as "this is text".

The policy for negative numbers: cells of a **numeric column** (int, float, nullable Int64) are
written as numbers, unchanged, so a change of -3 stays the number -3 (a number cannot carry a
formula); **text** that looks like a negative number ("-3") is still prefixed, because text is
where untrusted values live and telling a harmless "-3" from "-3+HYPERLINK(...)" is not worth
the risk. Files are UTF-8 with a byte order mark, so Excel reads non-ASCII letters correctly.

:func:`unescape_cell` undoes exactly this escaping, so a CSV the system wrote (a quarantine
file, a pseudonymised export) reads back as what it held: ingestion applies it to CSV cells.
(So a partner's value that itself begins with an apostrophe and a formula character is read
without the apostrophe; no contract field can hold such a value anyway.)

Used by ``views.exports`` (downloads), ``data.ingest`` (quarantine) and ``data.pseudonymise``.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CSV_ENCODING = "utf-8-sig"
#: A cell escaped by :func:`safe_cell`: an apostrophe, then a formula character.
ESCAPED_CELL = r"^'(?=[=+\-@\t\r])"


def safe_cell(value):
    """``value`` with a ``'`` in front if it is text that a spreadsheet would run as a formula.

    Examples
    --------
    >>> safe_cell("=1+1"), safe_cell("Leeds"), safe_cell(-3)
    ("'=1+1", 'Leeds', -3)
    """
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def unescape_cell(value: str) -> str:
    """Undo :func:`safe_cell` on one text cell: ``"'=1+1"`` -> ``"=1+1"``; anything else as is."""
    if value.startswith("'") and value[1:2] and value[1] in "=+-@\t\r":
        return value[1:]
    return value


def safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with every text cell and column name escaped by :func:`safe_cell`."""
    out = frame.copy()
    out.columns = [safe_cell(str(column)) for column in out.columns]
    for position in range(out.shape[1]):
        column = out.iloc[:, position]
        if not pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
            out.isetitem(position, column.map(safe_cell, na_action="ignore"))
    return out


def safe_csv(frame: pd.DataFrame) -> bytes:
    """``frame`` as CSV bytes that no spreadsheet will run as formulas (see module docstring).

    Written without its index (reset it first to keep it); ``frame`` is not modified. UTF-8
    with a byte order mark, CRLF line ends; missing values are empty cells.
    """
    return safe_frame(frame).to_csv(index=False, lineterminator="\r\n").encode(CSV_ENCODING)


def write_safe_csv(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write :func:`safe_csv` of ``frame`` to ``path`` atomically (a hidden temporary file,
    then a rename), so a reader never sees half a file."""
    path = Path(path)
    tmp = path.with_name("." + path.name + ".tmp")
    tmp.write_bytes(safe_csv(frame))
    tmp.replace(path)
    return path
