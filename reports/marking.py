"""The protective marking every printed page carries (the briefing pack, the tasking sheet)."""
from __future__ import annotations

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm

from core.marking import MARKING  # one marking for printed pages and CSV downloads


def draw_marking(canvas, handling: str, *, handling_at: tuple[float, float] = (15 * mm, 14 * mm),
                 handling_size: float = 7.5) -> None:
    """MARKING centred at the top and bottom of an A4 page, and the handling line at
    ``handling_at`` (points). Call between ``canvas.saveState()`` and ``restoreState()``."""
    width, height = A4
    canvas.setFont("Helvetica-Bold", 11)
    canvas.drawCentredString(width / 2, height - 11 * mm, MARKING)
    canvas.drawCentredString(width / 2, 9 * mm, MARKING)
    canvas.setFont("Helvetica", handling_size)
    canvas.drawString(*handling_at, handling)
