"""The tasking sheet: one A4 page listing tasks, with a small map of their hotspots.

Marked "OFFICIAL-SENSITIVE" at the top and bottom. The page holds the title, when it was made
and by whom, "SYNTHETIC DATA" when the store is synthetic, a static map (matplotlib, no axes:
the district outlines and the task polygons, numbered) and a table: task, place, lead agency,
action, due date, status, and for done tasks the events before and after (as the viewer's role
may see them: ``views.task_outcome.outcome``). Areas only: no points, record ids or coordinates.

Everything user-supplied (actions, agencies, names) is escaped before it reaches reportlab's
paragraph markup. It is always one page: rows that do not fit are left out and the sheet says
how many (the CSV has them all). No Streamlit here.
"""
from __future__ import annotations

import datetime as dt
import html
import io
from collections.abc import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from reportlab.lib import colors  # noqa: E402
from reportlab.lib.pagesizes import A4  # noqa: E402
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet  # noqa: E402
from reportlab.lib.units import mm  # noqa: E402
from reportlab.platypus import (  # noqa: E402
    Image,
    KeepInFrame,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from core import clock
from reports.marking import MARKING, draw_marking  # noqa: E402
from reports.table_layout import fit_widths
from views.task_outcome import Outcome  # noqa: E402
from views.tasking import STATUS_TITLES, Task  # noqa: E402

HANDLING = ("Partnership tasking. Share only with the named lead agencies; do not copy into "
            "case records. Small numbers are hidden as \"<k\".")
#: Rows that fit under the map on one page (actions are cut to ``ACTION_CHARS``).
MAX_ROWS = 14
ACTION_CHARS = 160
MAP_HEIGHT_MM = 70


def tasking_sheet(tasks: Sequence[Task], *, title: str = "Hotspot tasking sheet",
                  generated_by: str = "", synthetic: bool = False,
                  outcomes: Mapping[str, Outcome] | None = None,
                  now: dt.datetime | None = None, map_png: bytes | None = None) -> bytes:
    """The tasking sheet of ``tasks`` as PDF bytes (always exactly one page).

    Parameters
    ----------
    tasks : sequence of Task
        In the order to list them (the first ``MAX_ROWS``; the sheet says how many more).
    title : str
    generated_by : str
        Who made it (shown, escaped).
    synthetic : bool
        Say "SYNTHETIC DATA — not real cases" under the title.
    outcomes : mapping of task id to Outcome, optional
        Before/after events of done tasks, already suppressed for the viewer.
    now : datetime, optional
        When it was made (default: now, UTC).
    map_png : bytes, optional
        The map picture; default :func:`task_map_png` of the listed tasks.
    """
    now = now or clock.now()
    outcomes = outcomes or {}
    listed = list(tasks)[:MAX_ROWS]
    hidden = len(tasks) - len(listed)
    styles = _styles()
    story = [Paragraph(_esc(title), styles["title"]),
             Paragraph(f"Made {now:%d %b %Y %H:%M} UTC"
                       + (f" by {_esc(generated_by)}" if generated_by else "")
                       + f" · {len(tasks)} task{'s' if len(tasks) != 1 else ''}",
                       styles["small"])]
    if synthetic:
        story.append(Paragraph("SYNTHETIC DATA — not real cases", styles["synthetic"]))
    story.append(Spacer(1, 3 * mm))
    if listed:
        png = map_png if map_png is not None else task_map_png(listed)
        story.append(Image(io.BytesIO(png), width=180 * mm * 0.75, height=MAP_HEIGHT_MM * mm,
                           kind="proportional"))
        story.append(Spacer(1, 3 * mm))
        story.append(_task_table(listed, outcomes, styles))
        if hidden:
            story.append(Spacer(1, 2 * mm))
            story.append(Paragraph(f"… and {hidden} more task{'s' if hidden != 1 else ''}: "
                                   "see the CSV download for the full list.", styles["small"]))
    else:
        story.append(Paragraph("No tasks.", styles["body"]))
    buffer = io.BytesIO()
    document = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=12 * mm, rightMargin=12 * mm,
                                 topMargin=18 * mm, bottomMargin=22 * mm, title=title,
                                 author="West Yorkshire exploitation dashboard",
                                 subject=MARKING)
    # Shrunk to fit if need be: the sheet is one page whatever the actions' lengths.
    page = KeepInFrame(document.width, document.height - 2 * mm, story, mode="shrink")
    document.build([page], onFirstPage=_marking, onLaterPages=_marking)
    return buffer.getvalue()


#: Margin around the tasks' areas on the sheet's map, and its smallest width (metres): a
#: hotspot of a few hundred metres is drawn with its streets' scale of context, not as a dot
#: on the county.
MAP_MARGIN_M = 1_500
MAP_MIN_WIDTH_M = 5_000


def map_extent(shapes) -> tuple[float, float, float, float]:
    """(xmin, ymin, xmax, ymax) in BNG metres framing ``shapes`` (a BNG GeoSeries): their bounds
    with :data:`MAP_MARGIN_M` around, widened to :data:`MAP_MIN_WIDTH_M` and to the map's 7.2 × 4.2
    shape."""
    xmin, ymin, xmax, ymax = shapes.total_bounds
    xmin, ymin, xmax, ymax = xmin - MAP_MARGIN_M, ymin - MAP_MARGIN_M, xmax + MAP_MARGIN_M, \
        ymax + MAP_MARGIN_M
    width = max(xmax - xmin, MAP_MIN_WIDTH_M, (ymax - ymin) * 7.2 / 4.2)
    height = width * 4.2 / 7.2
    cx, cy = (xmin + xmax) / 2, (ymin + ymax) / 2
    return cx - width / 2, cy - height / 2, cx + width / 2, cy + height / 2


def task_map_png(tasks: Sequence[Task], *, dpi: int = 150) -> bytes:
    """The tasks' areas outlined and labelled, framed on them (:func:`map_extent`), over ward and
    district boundaries with the names of the wards in view (no axes)."""
    import geopandas as gpd
    from matplotlib import patheffects

    from geo.boundaries import load_boundaries
    from geo.crs import BNG, WGS84

    shapes = gpd.GeoSeries([t.polygon for t in tasks], crs=WGS84).to_crs(BNG)
    xmin, ymin, xmax, ymax = map_extent(shapes)
    wards = load_boundaries("ward").to_crs(BNG).cx[xmin:xmax, ymin:ymax]
    districts = load_boundaries("district").to_crs(BNG)
    halo = [patheffects.withStroke(linewidth=2.5, foreground="white")]
    fig, ax = plt.subplots(figsize=(7.2, 4.2))
    wards.boundary.plot(ax=ax, color="#aab7b8", linewidth=0.5)
    districts.boundary.plot(ax=ax, color="#34495e", linewidth=1.0)
    for point, name in zip(wards.representative_point(), wards["name"]):
        if xmin < point.x < xmax and ymin < point.y < ymax:
            ax.annotate(str(name), (point.x, point.y), ha="center", fontsize=6,
                        color="#566573", path_effects=halo)
    shapes.plot(ax=ax, facecolor="#ef8a62", edgecolor="#b2182b", linewidth=1.4, alpha=0.8)
    for task, shape in zip(tasks, shapes):
        centre = shape.representative_point()
        ax.annotate(task.task_id, (centre.x, centre.y), xytext=(4, 4),
                    textcoords="offset points", fontsize=8, weight="bold", color="#7f0000",
                    path_effects=halo)
    ax.set_xlim(xmin, xmax)
    ax.set_ylim(ymin, ymax)
    ax.set_axis_off()
    ax.set_aspect("equal")
    fig.tight_layout(pad=0.2)
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=dpi)
    plt.close(fig)
    return out.getvalue()


def _task_table(tasks: Sequence[Task], outcomes: Mapping[str, Outcome], styles) -> Table:
    cell = styles["cell"]
    header = ["Task", "Place", "Lead agency", "Action", "Due", "Status", "Before / after"]
    rows = [[Paragraph(h, styles["head"]) for h in header]]
    for task in tasks:
        result = outcomes.get(task.task_id)
        change = (f"{_esc(result.before_display)} / {_esc(result.after_display)}"
                  if result and result.before_period else "–")
        action = task.action if len(task.action) <= ACTION_CHARS \
            else task.action[:ACTION_CHARS - 1] + "…"
        rows.append([Paragraph(_esc(task.task_id), cell), Paragraph(_esc(task.place), cell),
                     Paragraph(_esc(task.lead_agency), cell), Paragraph(_esc(action), cell),
                     Paragraph(f"{task.due:%d %b %Y}", cell),
                     Paragraph(_esc(STATUS_TITLES.get(task.status, task.status)), cell),
                     Paragraph(change, cell)])
    # Sized to content: no place name, agency or header word is cut at its column's edge.
    widths = fit_widths(rows, [14 * mm, 38 * mm, 28 * mm, 56 * mm, 18 * mm, 16 * mm, 16 * mm],
                        size=cell.fontSize, head_size=styles["head"].fontSize)
    table = Table(rows, colWidths=widths, repeatRows=1)
    table.setStyle(TableStyle([
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8ecf0")),
        ("GRID", (0, 0), (-1, -1), 0.3, colors.HexColor("#9aa5b1")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("TOPPADDING", (0, 0), (-1, -1), 1.5), ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5)]))
    return table


def _esc(value) -> str:
    """Text for reportlab's paragraph markup: escaped, line breaks kept."""
    return html.escape(str(value)).replace("\n", "<br/>")


def _styles() -> dict[str, ParagraphStyle]:
    base = getSampleStyleSheet()
    return {
        "title": ParagraphStyle("title", parent=base["Title"], fontSize=15, spaceAfter=2),
        "small": ParagraphStyle("small", parent=base["Normal"], fontSize=8,
                                textColor=colors.HexColor("#444444")),
        "body": ParagraphStyle("body", parent=base["Normal"], fontSize=9),
        "synthetic": ParagraphStyle("synthetic", parent=base["Normal"], fontSize=10,
                                    textColor=colors.HexColor("#b00020"),
                                    fontName="Helvetica-Bold"),
        "head": ParagraphStyle("head", parent=base["Normal"], fontSize=7.5,
                               fontName="Helvetica-Bold", leading=9),
        "cell": ParagraphStyle("cell", parent=base["Normal"], fontSize=7, leading=8.4),
    }


def _marking(canvas, document) -> None:
    canvas.saveState()
    draw_marking(canvas, HANDLING, handling_at=(12 * mm, 15 * mm), handling_size=7)
    canvas.restoreState()
