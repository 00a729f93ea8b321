"""The partnership briefing pack: one PDF for a meeting period, suppressed as for a chair.

    python -m reports.briefing --period 2026-Q3 --out pack.pdf [--store URL] [--district CODE]

The pack holds, on pages marked "OFFICIAL-SENSITIVE" at the top and bottom: the period, when it
was generated, the data sources (and "SYNTHETIC" when the store is synthetic), the headline KPI
table, the district comparison, a static map of the top areas over the districts, trend charts
and the tasking list. Its figures are those of meeting mode (``views.meeting_figures``), read
through the role-scoped query layer with chair-level suppression; the command line builds it as a
chair (``cli:<login name>``). Every pack is audited as an export. Ward and district level only: no
points, coordinates, record ids or person references appear in it (the map is a picture with no
axes).

Exit status: 0 written; 2 wrong arguments (a period that is not a quarter or month the data
cover completely: malformed, without data, or recorded in part, e.g. a fourth quarter of a store
ending on 30 November); 1 the store cannot be read or the file cannot be written. No Streamlit here, and no browser.
"""
from __future__ import annotations

import argparse
import datetime as dt
import getpass
import html
import io
import sys
from collections.abc import Callable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display: render to memory
import matplotlib.pyplot as plt
from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import (
    Image,
    KeepTogether,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Table,
    TableStyle,
)
from tqdm import tqdm

from core import clock
from core.errors import (
    DashboardError,
    PeriodError,
)
from core.trend_words import HOTSPOT_CLASS_NOTE
from geo.boundaries import DISTRICT_CODES, load_boundaries
from reports.marking import MARKING, draw_marking
from reports.table_layout import fit_widths
from safeguards.access import Principal
from safeguards.audit import AuditEvent, record
from storage.base import Store
from storage.open import open_store
from views.kpis import TEST_NOTE
from views.meeting import MeetingState, check_period
from views.meeting_figures import (
    MeetingData,
    meeting_data,
    meeting_query,
    shown_records,
)
from views.meeting_steps import (
    FEED_COLOURS,
    coverage_text,
    hotspot_rows,
    no_hotspot_text,
    variation_text,
)

HANDLING = "Handle under your information-sharing agreement. Do not forward outside the partnership."
SYNTHETIC_NOTE = "SYNTHETIC DATA — not real cases. Do not use these figures for decisions."
ATTRIBUTION = ("Boundaries and populations: Office for National Statistics, Open Government "
               "Licence v3.0; contains OS data © Crown copyright and database right 2014–2022.")
STAGES = ("figures", "map", "trend charts", "layout")
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def build_briefing(store: Store, principal: Principal, period: str, district: str | None = None,
                   *, now: dt.datetime | None = None,
                   progress: Callable[[str], None] | None = None) -> bytes:
    """The briefing pack of ``period`` (and ``district``, None for West Yorkshire) as PDF bytes.

    Parameters
    ----------
    store : Store
    principal : Principal
        Who asks: figures are read as this user and role (their levels and actions apply, so an
        executive's pack has no ward-level pages) and always suppressed as for a chair.
    period : str
        "2026-Q3" or "2026-09": must be a period the data cover completely.
    district : str, optional
        A district code to focus on.
    now : datetime, optional
        The generation time to print (default: now, UTC).
    progress : callable, optional
        Called with each stage's name (``STAGES``) as it ends.

    Raises
    ------
    PeriodError
        The period is malformed, has no data or is not complete in the data.
    AccessDenied
        The role may not see district figures (audited).
    """
    done = progress or (lambda _stage: None)
    check_period(period, store.period())
    if district is not None and district not in DISTRICT_CODES:
        raise PeriodError(f"district {district[:20]!r} is not a West Yorkshire district code")
    data = meeting_data(meeting_query(store, principal), MeetingState(period, district))
    done(STAGES[0])
    map_png = hotspot_map_png(data)
    done(STAGES[1])
    trend_png = trend_chart_png(data)
    done(STAGES[2])
    now = (now or clock.now()).astimezone(dt.UTC)
    pdf = _layout(data, principal, now, map_png, trend_png)
    record(store, AuditEvent(action="export", actor=principal.user, role=principal.role,
                             page="meeting", filters={"period": period, "district": district},
                             records=shown_records(data), detail="pdf: briefing pack"))
    done(STAGES[3])
    return pdf


# -- pictures ----------------------------------------------------------------------------------
def hotspot_map_png(data: MeetingData) -> bytes:
    """The districts with the hotspots shaded and numbered by rank; no axes, no coordinates."""
    districts = load_boundaries("district").to_crs(27700)
    fig, ax = plt.subplots(figsize=(7.2, 5.2), dpi=150)
    districts.plot(ax=ax, facecolor="#f4f6f7", edgecolor="#34495e", linewidth=1.2)
    focus = districts[districts["code"] == data.district] if data.district else districts
    hotspots = data.hotspots.to_crs(27700) if data.hotspots is not None else None
    # District names inside their district but clear of the hotspots (2 km), so a rank number
    # never sits on a name.
    clear = (hotspots.union_all().buffer(2_000) if hotspots is not None and len(hotspots)
             else None)
    for _, row in focus.iterrows():
        shape = row.geometry if clear is None else row.geometry.difference(clear)
        point = (shape if not shape.is_empty else row.geometry).representative_point()
        ax.annotate(row["name"].upper(), (point.x, point.y), ha="center", va="center",
                    fontsize=8, color="#5d6d7e", fontweight="bold")
    if hotspots is not None and len(hotspots):
        hotspots.plot(ax=ax, facecolor="#c0392b", edgecolor="#641e16", linewidth=0.8, alpha=0.85)
        for rank, geometry in zip(hotspots["rank"], hotspots.geometry):
            point = geometry.representative_point()
            ax.annotate(str(int(rank)), (point.x, point.y), ha="center", va="center",
                        fontsize=8, color="#641e16", fontweight="bold", zorder=5,
                        bbox={"boxstyle": "circle,pad=0.25", "fc": "white", "ec": "#641e16",
                              "lw": 0.8})
    if data.district:   # a district focus: the map zooms to it
        xmin, ymin, xmax, ymax = focus.total_bounds
        pad = 0.05 * max(xmax - xmin, ymax - ymin)
        ax.set_xlim(xmin - pad, xmax + pad)
        ax.set_ylim(ymin - pad, ymax + pad * 3)
    ax.set_axis_off()
    ax.set_aspect("equal")
    fig.tight_layout()
    return _png(fig)


def trend_chart_png(data: MeetingData) -> bytes:
    """One small line chart per feed over the trend window; hidden periods are gaps."""
    trend = data.trend
    feeds = list(dict.fromkeys(trend["feed"]))
    fig, axes = plt.subplots(1, len(feeds), figsize=(7.6, 2.6), dpi=150, sharex=True)
    for ax, feed in zip(axes, feeds):
        part = trend[trend["feed"] == feed]
        ax.plot(range(len(part)), part["count"].astype(float), marker="o", markersize=3,
                color=FEED_COLOURS.get(feed, "#333333"), linewidth=1.6)
        ax.set_title(feed, fontsize=9)
        ticks = list(range(0, len(part), max(1, len(part) // 4)))
        ax.set_xticks(ticks, [part["period"].iloc[i] for i in ticks], fontsize=6.5,
                      rotation=30)
        ax.tick_params(axis="y", labelsize=7)
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
    fig.tight_layout()
    return _png(fig)


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()


# -- the document ------------------------------------------------------------------------------
def _styles() -> dict[str, ParagraphStyle]:
    base = getSampleStyleSheet()
    return {
        "title": ParagraphStyle("title", parent=base["Title"], fontSize=20, spaceAfter=4),
        # keepWithNext: a heading never ends a page without what it heads.
        "h2": ParagraphStyle("h2", parent=base["Heading2"], fontSize=13, spaceBefore=8,
                             spaceAfter=4, keepWithNext=1),
        "body": ParagraphStyle("body", parent=base["BodyText"], fontSize=9.5, leading=12),
        "small": ParagraphStyle("small", parent=base["BodyText"], fontSize=8, leading=10,
                                textColor=colors.HexColor("#424949")),
        "warning": ParagraphStyle("warning", parent=base["BodyText"], fontSize=11, leading=14,
                                  textColor=colors.white, backColor=colors.HexColor("#922b21"),
                                  borderPadding=5, spaceBefore=4, spaceAfter=8),
        "cell": ParagraphStyle("cell", parent=base["BodyText"], fontSize=8.5, leading=10),
        "head": ParagraphStyle("head", parent=base["BodyText"], fontName="Helvetica-Bold",
                               fontSize=8.5, leading=10, textColor=colors.white),
    }


def _table(rows: list[list], widths=None, header_rows: int = 1, total_row: bool = False,
           right_from: int = 1) -> Table:
    """A grid table; columns from ``right_from`` on (the numbers) are right-aligned.

    Every text cell is drawn as a Paragraph (escaped), so a long value wraps inside its
    column instead of running under the next one (a plain string is drawn on one line,
    whatever the column's width). Cells that are already flowables are kept as they are.
    """
    styles = _cell_styles()
    body_end = len(rows) - 1 if total_row else len(rows)

    def cell(value, row: int, column: int):
        if not isinstance(value, str):
            return value
        kind = ("head" if row < header_rows else "total" if row >= body_end else "cell")
        align = "right" if row >= header_rows and column >= right_from else "left"
        return Paragraph(html.escape(value), styles[kind, align])

    if widths is not None:
        widths = fit_widths(rows, widths, header_rows=header_rows)
    rows = [[cell(v, r, c) for c, v in enumerate(row)] for r, row in enumerate(rows)]
    table = Table(rows, colWidths=widths, repeatRows=header_rows, hAlign="LEFT")
    style = [("FONT", (0, 0), (-1, header_rows - 1), "Helvetica-Bold", 8.5),
             ("FONT", (0, header_rows), (-1, -1), "Helvetica", 8.5),
             ("BACKGROUND", (0, 0), (-1, header_rows - 1), colors.HexColor("#1b2631")),
             ("TEXTCOLOR", (0, 0), (-1, header_rows - 1), colors.white),
             ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#aab7b8")),
             ("ALIGN", (right_from, header_rows), (-1, -1), "RIGHT"),
             ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
             ("ROWBACKGROUNDS", (0, header_rows), (-1, -1),
              [colors.white, colors.HexColor("#f2f3f4")])]
    if total_row:
        style.append(("FONT", (0, -1), (-1, -1), "Helvetica-Bold", 8.5))
    table.setStyle(TableStyle(style))
    return table


def _cell_styles() -> dict[tuple[str, str], ParagraphStyle]:
    """Paragraph styles of table cells: (header, body or total row; left or right aligned)."""
    base = _styles()
    bold = ParagraphStyle("bold", parent=base["cell"], fontName="Helvetica-Bold")
    return {(kind, side): ParagraphStyle(f"{kind}-{side}", parent=parent,
                                         alignment=TA_RIGHT if side == "right" else TA_LEFT)
            for kind, parent in (("head", base["head"]), ("cell", base["cell"]),
                                 ("total", bold))
            for side in ("left", "right")}


def _layout(data: MeetingData, principal: Principal, now: dt.datetime, map_png: bytes,
            trend_png: bytes) -> bytes:
    s = _styles()
    esc = html.escape
    story = [Paragraph("Partnership briefing pack", s["title"]),
             Paragraph(f"<b>Period:</b> {esc(data.period.label)} ({esc(data.period.key)}) · "
                       f"<b>Area:</b> {esc(data.area_label)}", s["body"]),
             Paragraph(f"<b>Generated:</b> {now:%d %b %Y %H:%M} UTC for "
                       f"{esc(principal.user)}", s["body"])]
    if data.data_kind != "real":
        story.append(Paragraph(esc(SYNTHETIC_NOTE if data.is_synthetic else
                                   "MIXED DATA: real and SYNTHETIC records are combined here."),
                               s["warning"]))
    story += [Paragraph("Data sources", s["h2"]),
              *[Paragraph(esc(line), s["body"]) for line in data.sources],
              Paragraph(esc(ATTRIBUTION), s["small"]),
              Paragraph(f"Small numbers are hidden (disclosure control): {esc(data.note)}",
                        s["small"])]

    kpi_rows = _kpi_rows(data)
    kpi_rows[0] = [Paragraph(esc(text), s["head"]) for text in kpi_rows[0]]
    for row in kpi_rows[1:]:   # the trend names its window: wrapped, not clipped
        row[-1] = Paragraph(esc(row[-1]), s["cell"])
    story += [Paragraph("Headline figures", s["h2"]),
              _table(kpi_rows, widths=[27 * mm, 14 * mm, 17 * mm, 19 * mm, 17 * mm, 14 * mm,
                                       19 * mm, 17 * mm, 33 * mm]),
              Paragraph(f"Previous period: {esc(data.previous.label)}. Same period last year: "
                        f"{esc(data.last_year.label)}. {esc(TEST_NOTE)} Not tested (—) where a "
                        "count is hidden or missing. Trend: Mann-Kendall test over the periods "
                        "charted below, 5% level.", s["small"])]

    district_rows = [["District", *data.districts.columns]]
    district_rows += [[name, *row] for name, row in zip(data.districts.index,
                                                        data.districts.to_numpy().tolist())]
    story += [Paragraph("District comparison", s["h2"]),
              _table(district_rows, total_row=True),
              Paragraph("Records in the period by district and feed; rate per 100,000 "
                        "residents (Census 2021) of all feeds.", s["small"])]

    story.append(PageBreak())
    if data.hotspots is not None:
        table = hotspot_rows(data.hotspots)
        rows = [list(table.columns)]
        rows += [[str(r[0]), Paragraph(esc(r[1]), s["cell"]), r[2],
                  Paragraph(esc(r[3]), s["cell"]), *r[4:]]
                 for r in table.itertuples(index=False)]
        story += [Paragraph(f"Hotspots: {esc(data.area_label)}", s["h2"]),
                  *_coverage_paragraphs(data, s),
                  Image(io.BytesIO(map_png), width=160 * mm, height=115 * mm),
                  Paragraph(f"Hotspots of all feeds over the {esc(data.hotspot_window)} "
                            "(Poisson scan against residents; Rosewood against accommodation bed-nights "
                            "where that layer is loaded), shown as the wards they fall in "
                            "and numbered by rank. "
                            f"Trend classes: {esc(HOTSPOT_CLASS_NOTE)}", s["small"]),
                  _table(rows, widths=[12 * mm, 68 * mm, 18 * mm, 58 * mm, 20 * mm],
                         right_from=2) if len(rows) > 1 else
                  Paragraph(esc(no_hotspot_text(data)), s["body"])]
        story += _alert_paragraphs(data, s)
    story += [KeepTogether([Paragraph(f"Trends: {esc(data.area_label)}", s["h2"]),
                            Image(io.BytesIO(trend_png), width=180 * mm, height=61.6 * mm),
                            Paragraph("Records per period; a gap is a hidden (small) count, "
                                      "a period before the data start or one they cover only "
                                      "in part.", s["small"])])]
    if data.tasks is not None:
        # One block: the heading, the list and its note start on the same page (a list longer
        # than a page then runs on, its header row repeated).
        section = [Paragraph("Tasking", s["h2"])]
        if data.tasks:
            rows = [["Change", "Task", "Area", "Lead agency", "Status", "Due"]]
            # Plain strings in a cell are drawn as they are (no markup); a Paragraph is escaped.
            # Long text wraps in its cell (a Paragraph), never runs into the next one.
            rows += [[t.change or "—", Paragraph(esc(t.title), s["cell"]),
                      Paragraph(esc(t.area), s["cell"]), Paragraph(esc(t.lead_agency), s["cell"]),
                      t.status + (" (overdue)" if t.overdue else ""),
                      t.due.strftime("%d %b %Y") if t.due else ""] for t in data.tasks]
            section.append(_table(rows, widths=[15 * mm, 48 * mm, 45 * mm, 34 * mm, 18 * mm,
                                                20 * mm], right_from=5))
        section.append(Paragraph(esc(data.tasking_note) + f" Changes are since the last meeting "
                                 f"(the start of {esc(data.period.label)}).", s["small"]))
        story.append(KeepTogether(section))

    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer, pagesize=A4, leftMargin=15 * mm, rightMargin=15 * mm, topMargin=20 * mm,
        bottomMargin=20 * mm, title=f"Briefing pack {data.period.key}",
        author="West Yorkshire exploitation dashboard", subject=MARKING,
        keywords=[MARKING], creator="reports.briefing")
    marks = _Marks(data)
    document.build(story, onFirstPage=marks, onLaterPages=marks)
    return buffer.getvalue()


class _Marks:
    """The protective marking at the top and bottom of every page, with the page number."""

    def __init__(self, data: MeetingData):
        self.data = data

    def __call__(self, canvas, document) -> None:
        canvas.saveState()
        draw_marking(canvas, HANDLING)
        canvas.drawRightString(A4[0] - 15 * mm, 9 * mm, f"Page {document.page}")
        left = f"Briefing pack {self.data.period.key}"
        if self.data.data_kind != "real":
            left += " · SYNTHETIC DATA"
        canvas.drawString(15 * mm, 9 * mm, left)
        canvas.restoreState()


def _coverage_paragraphs(data: MeetingData, s: dict) -> list:
    """What the hotspots cover against the list's area limit, in the words of the Hotspots
    page and the meeting (``views.meeting_steps.coverage_text``), and why there is a limit."""
    coverage = coverage_text(data)
    if not coverage:
        return []
    return [Paragraph(html.escape(coverage), s["body"]),
            *([Paragraph(html.escape(data.hotspot_coverage_help), s["small"])]
              if data.hotspot_coverage_help else [])]


def _alert_paragraphs(data: MeetingData, s: dict) -> list:
    """New-hotspot alerts of the period's last month (``views.hotspot_alerts``), escaped."""
    from views.hotspot_alerts import alert_lines, alert_summary

    if data.alerts is None:
        return []
    return [Paragraph(f"<b>{html.escape(alert_summary(data.alerts))}</b>", s["body"]),
            *[Paragraph("• " + html.escape(line), s["body"]) for line in alert_lines(data.alerts)],
            Paragraph("A new cluster: records gathering in a place this month as they did not "
                      "before (prospective space-time scan, each place against its own "
                      "history); 'by chance' is how rarely chance alone would give one this "
                      "strong. Records are those of the wards it covers.", s["small"])]


def _kpi_rows(data: MeetingData) -> list[list[str]]:
    """The headline table: each change with whether it is beyond normal variation ("—" where
    not tested, as where the change is not shown: a count hidden or missing)."""
    rows = [["Feed", "This period", "Previous", "Change", "Beyond normal variation",
             "Last year", "Change", "Beyond normal variation", "Trend"]]
    for k in data.kpis:
        rows.append([k.title, k.display, k.previous_display, k.change_previous or "—",
                     variation_text(k.beyond_previous), k.last_year_display,
                     k.change_year or "—", variation_text(k.beyond_year), k.trend])
    return rows


# -- command line ------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m reports.briefing",
        description="Write the partnership briefing pack (PDF, OFFICIAL-SENSITIVE) of a period, "
                    "suppressed as for a partnership chair.")
    parser.add_argument("--period", required=True,
                        help="a quarter (2026-Q3) or a month (2026-09) the data cover completely")
    parser.add_argument("--out", required=True, type=Path, help="the PDF file to write")
    parser.add_argument("--store", help="store folder (default: STORE_URL, else ./store)")
    parser.add_argument("--district", help="focus on one district (its ONS code, e.g. "
                                           "E08000035 for Leeds)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    principal = Principal(f"cli:{_login()}", "chair")
    try:
        store = open_store(args.store)
        if not store.batches():
            print(f"error: the store {store.url} holds no records", file=sys.stderr)
            return EXIT_FAILED
        with tqdm(total=len(STAGES), desc="briefing pack", unit="step",
                  disable=args.quiet) as bar:
            def advance(stage: str) -> None:
                bar.set_postfix_str(stage)
                bar.update(1)
            pdf = build_briefing(store, principal, args.period, args.district,
                                 progress=advance)
    except PeriodError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except DashboardError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    try:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        tmp = args.out.with_name(args.out.name + ".part")
        tmp.write_bytes(pdf)
        tmp.replace(args.out)
    except OSError as exc:
        print(f"error: cannot write {args.out}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_FAILED
    print(f"wrote {args.out} ({len(pdf):,} bytes, {MARKING})")
    return EXIT_OK


def _login() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown"


if __name__ == "__main__":
    sys.exit(main())
