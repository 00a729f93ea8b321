"""Where a PDF's text is drawn, read back with pypdf: to check that a table's cells stay in
their columns (a cell that runs on into the next column is cut or overlaps, on paper).

:func:`text_runs` lists the runs of text on a page with their start and end on the x axis (the
end from the font's metrics, as reportlab measured them when it drew the text).
:func:`cells_outside_columns` takes a table's header texts, finds the columns where those are
drawn and returns every run between the header and ``until`` that crosses into the next column.
"""
from __future__ import annotations

import io
from dataclasses import dataclass

from pypdf import PdfReader
from reportlab.pdfbase.pdfmetrics import stringWidth

# reportlab's default cell padding (points): a column starts this far left of its text.
CELL_PADDING = 6.0


@dataclass(frozen=True)
class Run:
    text: str
    x0: float
    x1: float
    y: float


def text_runs(pdf: bytes, page: int) -> list[Run]:
    """The runs of text of page ``page`` (0-based), top to bottom as drawn."""
    runs: list[Run] = []

    def visit(text, cm, tm, font, size):
        text = text.strip()
        if not text or font is None:
            return
        scale = tm[0] * cm[0]
        x0 = tm[4] * cm[0] + cm[4]
        y = tm[5] * cm[3] + cm[5]
        width = stringWidth(text, str(font["/BaseFont"]).lstrip("/"), size * scale)
        runs.append(Run(text, x0, x0 + width, y))

    PdfReader(io.BytesIO(pdf)).pages[page].extract_text(visitor_text=visit)
    return runs


def cells_outside_columns(pdf: bytes, page: int, header: list[str],
                          until: str | tuple[str, ...]
                          ) -> list[tuple[str, str]]:
    """Runs of the table headed by ``header`` (each column's first header word, in order) that
    cross into the next column: ``[(run text, column)]``, empty when every cell fits.

    The table's rows are the runs below the header row and above the first run starting with
    ``until`` (the paragraph after the table; a tuple: the first of several). The last column ends at the rightmost run's end.
    """
    runs = text_runs(pdf, page)
    heads = _header(runs, header)
    lefts = [h.x0 - CELL_PADDING for h in heads]
    top = min(h.y for h in heads)
    bottom = next(r.y for r in runs if r.y < top and r.text.startswith(until))
    body = [r for r in runs if bottom < r.y < top]
    assert body, f"no rows found under {header}"
    right = max(r.x1 for r in body) + CELL_PADDING
    outside = []
    for run in body:
        column = max(i for i, left in enumerate(lefts) if left <= run.x0 + 0.5)
        end = lefts[column + 1] if column + 1 < len(lefts) else right
        if run.x1 > end - CELL_PADDING / 2:
            outside.append((run.text, header[column]))
    return outside


def _header(runs: list[Run], header: list[str]) -> list[Run]:
    """The runs of ``header``'s words, left to right on one row (a header cell may wrap, so
    "one row" is within 15 points)."""
    for first in (r for r in runs if r.text.split()[0] == header[0]):
        heads = [first]
        for word in header[1:]:
            run = next((r for r in runs if r.text.split()[0] == word and r.x0 > heads[-1].x1
                        and abs(r.y - first.y) < 15), None)
            if run is None:
                break
            heads.append(run)
        if len(heads) == len(header):
            return heads
    raise AssertionError(f"no table headed {header} on the page")
