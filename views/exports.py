"""Downloads of the map explorer: the area table as a safe CSV, and the map as one HTML file.

**CSV** (:func:`safe_csv`, from ``core.csv_safety``, the one escaping every CSV the system
writes goes through: quarantine files and pseudonymised exports too). Text cells and column
names that a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``, tab, CR first) get a
``'`` in front; numeric columns are written as numbers, so -3 stays -3. UTF-8 with a BOM.

Every CSV download is :func:`labelled_csv`: the table after a **label block** that says what
the file is, so that a copy found later carries its own context. The block is the first lines
of the file, each one cell starting with ``#`` (``# Protective marking: OFFICIAL-SENSITIVE``,
then ``SYNTHETIC DATA`` where the data are synthetic, the contents, period, feeds, filters, the
role it was made for and when), and ends at the first empty line; the table's header row
follows. Read it back with :func:`read_labelled_csv`, or skip to the first empty line (e.g.
``pandas.read_csv(path, skiprows=<lines of the block + 1>)``). Every cell of the block goes
through the same escaping as the table.

**Map** (:func:`standalone_map_html`). The dashboard's maps link their scripts, styles and
fonts from its own server (``/app/static/vendor``, see ``maps.local_assets``), which a
downloaded file cannot reach. The exported file inlines every vendored file it links (scripts
and styles; images and fonts the styles use become ``data:`` URIs), so it opens offline, from
disk, and loads nothing from anywhere. An overlay (title, legend, what the map counts) is added
on top.

No Streamlit here.
"""
from __future__ import annotations

import base64
import csv
import io
import mimetypes
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from core import clock
from core.csv_safety import CSV_ENCODING, safe_cell, safe_csv
from core.marking import MARKING
from core.roles import ROLE_TITLES
from maps.local_assets import VENDOR_DIR, resolve_asset_prefix
from views.readable import BLANK, FEED_NAMES, filters_text, time_text

PER = 100_000
_FONT_TYPES = {".woff2": "font/woff2", ".woff": "font/woff", ".ttf": "font/ttf"}
_SOURCE_MAP = re.compile(r"^\s*//# sourceMappingURL=\S+\s*$", re.MULTILINE)
_CSS_URL = re.compile(r"""url\(\s*(['"]?)([^'")]+)\1\s*\)""")
#: Column titles of :func:`area_table`: official Census 2021 populations (districts, LSOAs)...
RESIDENTS_COLUMN = "Residents (2021)"
RATE_COLUMN = "Rate per 100,000"
#: ... and best-fit estimates (wards: see ``geo.boundaries``).
ESTIMATED_RESIDENTS_COLUMN = "Residents (2021, estimate)"
ESTIMATED_RATE_COLUMN = "Rate per 100,000 (estimated residents)"


def population_is_estimate(level: str, areas: pd.DataFrame | None = None) -> bool:
    """Whether the populations of ``level`` are estimates: wards always (``geo.boundaries``
    sums LSOA populations to the best-fitting ward), any level whose ``areas`` frame flags
    one (``population_estimate``); districts and LSOAs otherwise not (official figures)."""
    if level == "ward":
        return True
    if areas is not None and "population_estimate" in areas.columns:
        return bool(areas["population_estimate"].fillna(False).astype(bool).any())
    return False


def area_table(counts: pd.DataFrame, level: str, areas: pd.DataFrame | None = None
               ) -> pd.DataFrame:
    """The map's figures as a table for download: one row per area, by name.

    Parameters
    ----------
    counts : DataFrame
        ``RoleScopedQuery.area_counts`` (``code``, ``count``, ``display``, ``suppressed``).
    level : {"district", "ward", "lsoa"}
    areas : DataFrame, optional
        ``code``, ``name``, ``district_name``, ``population`` of the level's areas; default
        the shipped boundaries (``geo.boundaries.load_boundaries``).

    Returns
    -------
    DataFrame
        ``<Level> code``, ``<Level>``, ``District``, ``Residents (2021)``, ``Records`` (text,
        as shown: "<10" where hidden), ``Rate per 100,000`` (empty where the count is hidden).
        Ward populations are estimates (each LSOA's Census 2021 population summed to the ward
        it overlaps most), so at ward level (or wherever ``areas`` has a true
        ``population_estimate``) the two columns say so: ``Residents (2021, estimate)`` and
        ``Rate per 100,000 (estimated residents)``. District and LSOA populations are the
        official Census figures and carry no such label.
    """
    title = {"lsoa": "LSOA", "ward": "Ward", "district": "District"}[level]
    if areas is None:
        from geo.boundaries import load_boundaries

        areas = load_boundaries(level)
    table = counts[["code", "count", "display"]].merge(
        areas[["code", "name", "district_name", "population"]], on="code", how="left")
    population = table["population"].astype("float")
    rate = (table["count"].astype("Float64") / population.where(population > 0) * PER).round(1)
    columns = {f"{title} code": table["code"], title: table["name"]}
    if level != "district":
        columns["District"] = table["district_name"]
    estimate = population_is_estimate(level, areas)
    residents, per = ((ESTIMATED_RESIDENTS_COLUMN, ESTIMATED_RATE_COLUMN) if estimate
                      else (RESIDENTS_COLUMN, RATE_COLUMN))
    out = pd.DataFrame({**columns, residents: table["population"].astype("Int64"),
                        "Records": table["display"].astype(str),
                        per: rate.astype("Float64")})
    return out.sort_values([c for c in ("District", title) if c in out]).reset_index(drop=True)


# -- standalone map ------------------------------------------------------------------------
def standalone_map_html(page_html: str, *, overlay_html: str = "", title: str = "Map",
                        prefix: str | None = None,
                        vendor_dir: Path | str | None = None) -> bytes:
    """A folium page (``m.get_root().render()``) as one self-contained HTML file.

    Parameters
    ----------
    page_html : str
        The rendered page of a ``maps.local_assets.LocalAssetMap``: its links point under
        ``prefix``.
    overlay_html : str
        Trusted HTML (already escaped, e.g. ``views.explore_map.legend_html``) shown in a box on
        the map.
    title : str
        The page title (escaped here).
    prefix, vendor_dir : optional
        Where the links point and where the files are (``maps.local_assets`` defaults).

    Returns
    -------
    bytes
        UTF-8 HTML with no ``<script src>`` or stylesheet link left: every linked vendored file
        is inlined, and every image and font its styles use is a ``data:`` URI.

    Raises
    ------
    FileNotFoundError
        A linked vendored file is missing (run ``make assets``).
    ValueError
        The page links a file that is not under ``prefix``: it would be fetched from elsewhere.
    """
    import html as html_lib

    prefix = resolve_asset_prefix(prefix)
    root = Path(vendor_dir) if vendor_dir is not None else VENDOR_DIR
    script = re.compile(r'<script\s+src="([^"]+)"\s*>\s*</script>')
    link = re.compile(r'<link\s+rel="stylesheet"\s+href="([^"]+)"\s*/?>')

    def local(url: str) -> Path:
        if not url.startswith(prefix + "/"):
            raise ValueError(f"the map links {url}, which is not a vendored file")
        return root / url[len(prefix) + 1:]

    def inline_script(match: re.Match) -> str:
        code = _SOURCE_MAP.sub("", local(match.group(1)).read_text(encoding="utf-8"))
        return "<script>" + code.replace("</script", "<\\/script") + "</script>"

    def inline_style(match: re.Match) -> str:
        path = local(match.group(1))
        css = _inline_css_urls(path.read_text(encoding="utf-8"), path.parent)
        return "<style>" + css.replace("</style", "<\\/style") + "</style>"

    page = script.sub(inline_script, page_html)
    page = link.sub(inline_style, page)
    head = f"<title>{html_lib.escape(title)}</title>"
    page = page.replace("<head>", "<head>" + head, 1)
    if overlay_html:
        # Bottom left, above Leaflet's scale bar.
        box = ('<div style="position:fixed;left:12px;bottom:52px;z-index:1000;max-width:340px;'
               'background:rgba(255,255,255,0.95);padding:8px 10px;border-radius:6px;'
               'box-shadow:0 1px 4px rgba(0,0,0,0.3);font-family:Arial,Helvetica,sans-serif">'
               f"{overlay_html}</div>")
        page = page.replace("</body>", box + "</body>", 1)
    return page.encode("utf-8")


def _inline_css_urls(css: str, base: Path) -> str:
    """``url(...)`` of local files as ``data:`` URIs; ``.ttf`` fallbacks left out (woff2 is
    enough for every browser that runs Leaflet 1.9) and anything else that cannot be found
    replaced by an empty URI, so that the file never asks for anything."""

    def replace(match: re.Match) -> str:
        target = match.group(2)
        if target.startswith(("data:", "#")):
            return match.group(0)
        path = (base / target.split("?")[0].split("#")[0]).resolve()
        if path.suffix == ".ttf" or not path.is_file():
            return 'url("data:,")'
        kind = _FONT_TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0] \
            or "application/octet-stream"
        encoded = base64.b64encode(path.read_bytes()).decode("ascii")
        return f'url("data:{kind};base64,{encoded}")'

    return _CSS_URL.sub(replace, css)



def explorer_map_file(state, *, counts: pd.DataFrame, cells: pd.DataFrame | None = None,
                      note: str = "", synthetic: bool = False,
                      threshold: int | None = None) -> bytes:
    """The explorer's map as a download: areas (and hexagons), legend, no heat map or points.

    Parameters
    ----------
    state : views.viewstate.ExplorerState
    counts, cells : DataFrame
        As for ``views.explore_map.build_map``.
    note : str
        What the map counts (``views.explore.describe``): the legend and the page title.
    synthetic : bool
        Say on the map that the data are synthetic.
    threshold : int, optional
        k of the suppression, explained under the legend.

    Returns
    -------
    bytes
        A self-contained HTML file (:func:`standalone_map_html`).
    """
    from views.explore_map import build_map, legend_html

    view = build_map(state, counts=counts, cells=cells, note=note, export=True)
    banner = ('<div style="color:#b00020;font-weight:700">SYNTHETIC DATA — not real cases'
              "</div>") if synthetic else ""
    return standalone_map_html(view.map.get_root().render(),
                               overlay_html=banner + legend_html(view.legend,
                                                                 threshold=threshold),
                               title=f"West Yorkshire map: {note}")


# -- labelled CSV --------------------------------------------------------------------------
LABEL_MARK = "#"
SYNTHETIC = ("SYNTHETIC DATA", "not real cases")


@dataclass(frozen=True)
class ExportLabel:
    """What a CSV download holds, written at its top (:func:`labelled_csv`).

    ``contents`` says what the table is ("Ward table"); ``period`` is already readable
    ("1 Jan 2026 to 31 Mar 2026", "Q3 2026 (Jul–Sep)"); ``feeds`` are feed keys; ``filters`` a
    filter set (``views.readable.filters_text``: codes are shown by name); ``role`` the role
    it was made for; ``synthetic`` whether the data are synthetic.
    """

    contents: str
    period: str
    feeds: tuple[str, ...]
    role: str
    synthetic: bool
    filters: dict = field(default_factory=dict)
    marking: str = MARKING

    def lines(self) -> list[tuple[str, str]]:
        """The block as (name, value) pairs, in file order."""
        filters = filters_text(self.filters)
        rows = [("Protective marking", self.marking)]
        if self.synthetic:
            rows.append(SYNTHETIC)
        rows += [("Contents", self.contents), ("Period", self.period or BLANK),
                 ("Feeds", ", ".join(FEED_NAMES.get(f, f) for f in self.feeds) or BLANK),
                 ("Filters", "none" if filters == BLANK else filters),
                 ("Role", ROLE_TITLES.get(self.role, self.role)),
                 ("Made", (f"{time_text(clock.now())} UTC by the West Yorkshire "
                           "exploitation dashboard"))]
        return rows


def labelled_csv(frame: pd.DataFrame, label: ExportLabel) -> bytes:
    """``frame`` as :func:`safe_csv`, after the label block of ``label`` and an empty line.

    Every line of the block is one cell, ``# <name>: <value>``, escaped as every cell is (a
    cell that starts with ``#`` is never a formula, but the escaping is not left to that).
    The file starts with the protective marking, so a glance at it (or a preview) shows it.
    """
    block = io.StringIO()
    writer = csv.writer(block, lineterminator="\r\n")
    for name, value in label.lines():
        writer.writerow([safe_cell(f"{LABEL_MARK} {name}: {value}")])
    writer.writerow([])
    table = safe_csv(frame).decode(CSV_ENCODING)
    return (block.getvalue() + table).encode(CSV_ENCODING)


def read_labelled_csv(data: bytes) -> tuple[dict[str, str], pd.DataFrame]:
    """The label (name → value) and the table of a :func:`labelled_csv` file (cells as text)."""
    text = data.decode(CSV_ENCODING)
    head, _, table = text.partition("\r\n\r\n")
    label = {}
    for (cell,) in csv.reader(io.StringIO(head)):
        name, _, value = cell.removeprefix(LABEL_MARK + " ").partition(": ")
        label[name] = value
    return label, pd.read_csv(io.StringIO(table), dtype=str, keep_default_na=False)


def explorer_label(state, *, role: str, synthetic: bool, contents: str) -> ExportLabel:
    """The label of a CSV made from an explorer-style view (``views.viewstate.ExplorerState``:
    the Explore and Hotspots pages): its period, feeds and filters."""
    from core.periods import coverage_text
    from views.viewstate import audit_filters

    filters = {k: v for k, v in audit_filters(state).items()
               if k not in ("start", "end", "feeds", "layer")}
    period = coverage_text(state.start, state.end) if state.start else BLANK
    return ExportLabel(contents=contents, period=period, feeds=tuple(state.feeds), role=role,
                       synthetic=synthetic, filters=filters)


def tasks_label(role: str, synthetic: bool) -> ExportLabel:
    """The label of the tasking list's CSV: every task, whatever the page's filters."""
    from core.schema import FEEDS
    from views.readable import date_text

    return ExportLabel(contents="Hotspot tasks: every task set, whatever the page's filters",
                       period=f"every task to {date_text(clock.today())}", feeds=tuple(FEEDS),
                       role=role, synthetic=synthetic)


def trends_label(role: str, synthetic: bool, contents: str, *, period: str | None = None,
                 freq: str = "M", feeds=None, filters: dict | None = None) -> ExportLabel:
    """The label of a Trends CSV: of one ``period`` (``"2026-Q3"``), or, without one, of every
    whole month or quarter (``freq``) in the data (the series)."""
    from core.periods import parse_period, period_label
    from core.schema import FEEDS

    noun = {"M": "month", "Q": "quarter"}[freq]
    shown = period_label(parse_period(period)) if period else f"every whole {noun} in the data"
    return ExportLabel(contents=contents, period=shown, feeds=tuple(feeds or FEEDS), role=role,
                       synthetic=synthetic, filters=dict(filters or {}))
