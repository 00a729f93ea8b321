"""Column widths for the reports' tables, sized to their content.

reportlab draws a plain string in a table cell on one line, and breaks a Paragraph only at
spaces: a word longer than its column runs under the next one (or off the page). The reports
give their tables' widths as a design and :func:`fit_widths` widens any column too narrow
for its longest word, taking the room from the columns with the most to spare, so that
headers like "Cross-feed" and place names such as "Horbury and South Ossett" are never cut.
"""
from __future__ import annotations

from collections.abc import Sequence

from reportlab.pdfbase.pdfmetrics import stringWidth

CELL_PADDING = 6.0  # points: reportlab's default padding left and right of a table cell
SHORT_WORDS = 3     # a body cell of at most this many words is kept on one line


def cell_text(value) -> str:
    """A cell's text: the string, or a Paragraph's text (its markup as written)."""
    return value if isinstance(value, str) else str(getattr(value, "text", ""))


def fit_widths(rows: Sequence[Sequence], widths: Sequence[float], *, header_rows: int = 1,
               size: float = 8.5, head_size: float | None = None) -> list[float]:
    """``widths`` with each column at least as wide as its longest word (Helvetica at ``size``
    points, the header rows bold at ``head_size``) plus the cell's padding; a body cell of
    ``SHORT_WORDS`` words or fewer (a figure with its percentage, a feed's name) counts whole.

    The total stays that of ``widths`` when the other columns can spare the room (taken in
    proportion to what each can spare); otherwise the table grows by what is missing.
    """
    head_size = head_size or size

    def width(text: str, head: bool) -> float:
        return stringWidth(text, "Helvetica-Bold" if head else "Helvetica",
                           head_size if head else size)

    def needed(of) -> list[float]:
        return [max(of(row[c], r < header_rows) for r, row in enumerate(rows))
                + 2 * CELL_PADDING + 1 for c in range(len(widths))]

    def unbroken(value, head: bool) -> float:
        """The widest part of the cell that must not be broken: a word, or the whole of a
        short value in the body ("+21 (+262%)", "31 Jan 2027") that reads badly split."""
        parts = cell_text(value).split()
        if not head and len(parts) <= SHORT_WORDS:
            return width(" ".join(parts), head)
        return max((width(w, head) for w in parts), default=0.0)

    words = needed(unbroken)
    lines = needed(lambda value, head: width(cell_text(value), head))
    fitted = [max(w, n) for w, n in zip(widths, words)]
    # The room is taken first from columns wider than their longest line (nothing of theirs
    # wraps for it), then from those wider than their longest word.
    for floor in (lines, words):
        excess = sum(fitted) - sum(widths)
        spare = [max(0.0, f - max(n, w)) for f, n, w in zip(fitted, floor, words)]
        if excess > 0 and sum(spare) > 0:
            take = min(excess, sum(spare))
            fitted = [f - take * s / sum(spare) for f, s in zip(fitted, spare)]
    return fitted
