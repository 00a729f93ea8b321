"""What every reader hands on: cells as text, and the row number the user sees.

Shared by ``data.readers`` (CSV, Parquet) and ``data.xlsx`` (workbooks).
"""
from __future__ import annotations

import datetime as dt

#: The column of a read frame holding each row's number as shown in the file (the header is
#: row 1 of a CSV or spreadsheet; in Parquet, record 1 is row 1).
ROW_COLUMN = "_row"


def cell_text(value) -> str:
    """A cell's value as the text a user would read: dates ISO, whole floats without ``.0``."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ") if value.time() != dt.time() else value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
