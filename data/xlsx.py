"""Read an XLSX workbook as a partner file, trusting nothing the workbook says about itself.

A workbook can hide things from the person who exports it, and each of these has let data in
(or kept rows out) unseen:

- **The ``<dimension>`` tag** says how big a sheet is, and openpyxl's fast reader believes it: a
  sheet declaring ``A1:H2`` but holding a ``Nationality`` column I and 100 more rows was read as
  one row of eight columns. The tag is ignored here (``reset_dimensions``): every row and every
  column that holds a value is read, and the header row is as wide as the widest row.
- **Other sheets.** Every sheet's header row is checked for forbidden fields, whichever sheet is
  read. A workbook with more than one sheet holding data, or a hidden sheet holding data, is
  refused unless ``--sheet NAME`` names the one to read (a hidden sheet cannot be named).
- **Hidden rows and columns** of the sheet read are refused: hiding is not removing, and a
  partner who hid a column believed it would not be sent.

Cells become text (``data.cells.cell_text``); rows keep their numbers as Excel shows them.
"""
from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pandas as pd

from core.errors import FileFormatError, ForbiddenFieldError, Problem
from data.cells import ROW_COLUMN, cell_text
from data.forbidden import forbidden_category

_CHUNK = 1 << 20
_OVERLAP = 4096
_ROW_TAG = re.compile(rb"<(?:\w+:)?row\b[^>]*>")
_COL_TAG = re.compile(rb"<(?:\w+:)?col\b[^>]*>")
_ZERO_HEIGHT = re.compile(rb"<(?:\w+:)?sheetFormatPr\b[^>]*\bzeroHeight=\"(?:1|true)\"")
_HIDDEN = re.compile(rb"\bhidden=\"(?:1|true)\"")


def read_xlsx(path: Path, sheet: str | None = None) -> tuple[list[str], pd.DataFrame]:
    """``(headers, frame)`` of the one data sheet of the workbook at ``path`` (see module doc).

    ``sheet`` names the sheet to read; without it the workbook must have exactly one visible
    sheet holding data. Raises ``ForbiddenFieldError`` for a forbidden header on any sheet and
    ``FileFormatError`` for everything else.
    """
    import openpyxl  # only needed for spreadsheets

    handle = open(path, "rb")  # a file object: openpyxl would refuse a workbook named .csv
    try:
        book = openpyxl.load_workbook(handle, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a damaged file
        handle.close()
        raise FileFormatError(path, [Problem(None, None, None, f"not a readable XLSX workbook: {exc}")])
    try:
        for ws in book.worksheets:
            ws.reset_dimensions()  # never trust <dimension>: read the real extent
        summaries = [_summary(ws) for ws in book.worksheets]
        _refuse_forbidden_headers(path, summaries)
        chosen = _choose_sheet(path, summaries, sheet)
        ws = book[chosen["name"]]
        rows = [list(r) for r in ws.iter_rows(values_only=True)]
        hidden_rows, hidden_cols, all_rows_hidden = _hidden_parts(path, ws._worksheet_path)
    finally:
        book.close()
        handle.close()
    return _frame(path, chosen["name"], rows, hidden_rows, hidden_cols, all_rows_hidden)


def _summary(ws) -> dict:
    """A sheet's name, state, header (its first row holding a value) and whether it holds any."""
    header = None
    for values in ws.iter_rows(values_only=True):
        cells = [cell_text(v) for v in values]
        if any(c.strip() for c in cells):
            header = cells
            break
    return {"name": ws.title, "state": ws.sheet_state, "header": header or [],
            "has_data": header is not None}


def _refuse_forbidden_headers(path, summaries: list[dict]) -> None:
    several = len(summaries) > 1
    problems = []
    for s in summaries:
        where = f" (sheet {s['name']!r}, {s['state']})" if several else ""
        problems += [Problem(None, h, None, f"denotes {forbidden_category(h)}{where}")
                     for h in s["header"] if h.strip() and forbidden_category(h)]
    if problems:
        raise ForbiddenFieldError(path, problems)


def _choose_sheet(path, summaries: list[dict], sheet: str | None) -> dict:
    names = [s["name"] for s in summaries]
    if sheet is not None:
        found = [s for s in summaries if s["name"] == sheet]
        if not found:
            raise FileFormatError(path, [Problem(None, None, None, f"--sheet {sheet!r}: the workbook "
                                  f"has no such sheet; its sheets are {', '.join(map(repr, names))}")])
        if found[0]["state"] != "visible":
            raise FileFormatError(path, [Problem(None, None, None, f"sheet {sheet!r} is hidden: "
                                  "unhide it and check what it holds, then send the file again")])
        return found[0]
    with_data = [s for s in summaries if s["has_data"]]
    hidden = [s for s in with_data if s["state"] != "visible"]
    if hidden:
        raise FileFormatError(path, [Problem(None, None, None, "hidden sheet(s) holding data: "
                              f"{', '.join(repr(s['name']) for s in hidden)}. Hiding a sheet does "
                              "not remove it: delete it, or unhide it and name the sheet to read "
                              "with --sheet NAME")])
    if len(with_data) > 1:
        raise FileFormatError(path, [Problem(None, None, None, "several sheets hold data ("
                              f"{', '.join(repr(s['name']) for s in with_data)}): name the one "
                              "to read with --sheet NAME")])
    if not with_data:
        raise FileFormatError(path, [Problem(None, None, None, "the workbook is empty")])
    return with_data[0]


def _hidden_parts(path, member: str) -> tuple[set[int], set[int], bool]:
    """Hidden row numbers, hidden column numbers (1-based) and whether rows are hidden by
    default, scanned from the sheet's XML (openpyxl's fast reader does not report them)."""
    rows, cols, zero_height = set(), set(), False
    with zipfile.ZipFile(path) as archive, archive.open(member) as source:
        tail = b""
        while True:
            chunk = source.read(_CHUNK)
            data = tail + chunk
            for tag in _ROW_TAG.findall(data):
                if _HIDDEN.search(tag):
                    number = re.search(rb"\br=\"(\d+)\"", tag)
                    if number:
                        rows.add(int(number.group(1)))
            for tag in _COL_TAG.findall(data):
                if _HIDDEN.search(tag):
                    low = re.search(rb"\bmin=\"(\d+)\"", tag)
                    high = re.search(rb"\bmax=\"(\d+)\"", tag)
                    if low and high:
                        cols.update(range(int(low.group(1)), min(int(high.group(1)), 16384) + 1))
            zero_height = zero_height or bool(_ZERO_HEIGHT.search(data))
            if not chunk:
                break
            tail = data[-_OVERLAP:]
    return rows, cols, zero_height


def _frame(path, name, rows, hidden_rows, hidden_cols, all_rows_hidden):
    if not rows:
        raise FileFormatError(path, [Problem(None, None, None, f"sheet {name!r} is empty")])
    width = max((_used_width(r) for r in rows), default=0)
    header = rows[0] + [None] * (width - len(rows[0]))
    headers = [cell_text(h) for h in header[:width]]
    records, numbers = [], []
    for number, values in enumerate(rows[1:], start=2):
        cells = [cell_text(v) for v in values[:width]] + [""] * max(0, width - len(values))
        if any(cells):
            records.append(cells)
            numbers.append(number)
    problems = []
    if all_rows_hidden:
        problems.append(Problem(None, None, None, f"sheet {name!r} hides its rows by default"))
    with_values = {1, *numbers}
    shown_rows = sorted(r for r in hidden_rows if r in with_values)
    if shown_rows:
        listed = ", ".join(map(str, shown_rows[:20])) + (" …" if len(shown_rows) > 20 else "")
        problems.append(Problem(None, None, None, f"hidden rows holding data: {listed}"))
    hidden_used = sorted(c for c in hidden_cols if c <= width)
    if hidden_used:
        problems.append(Problem(None, ", ".join(repr(headers[c - 1] or _letter(c))
                                                for c in hidden_used), None,
                                "hidden column(s)"))
    if problems:
        raise FileFormatError(path, problems, headline=(
            "refused: the sheet hides rows or columns. Hiding does not remove them: delete "
            "what should not be sent, unhide the rest, and send the file again"))
    frame = pd.DataFrame(records, columns=range(width), dtype=object) if records else \
        pd.DataFrame(columns=range(width), dtype=object)
    frame.columns = headers
    frame[ROW_COLUMN] = numbers
    return headers, frame


def _used_width(values) -> int:
    width = len(values)
    while width and (values[width - 1] is None or cell_text(values[width - 1]) == ""):
        width -= 1
    return width


def _letter(column: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(column)
