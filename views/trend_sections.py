"""What the Trends page draws of its chart sections, and the catalogue of its downloads.

The page draws one chart per section: the district series of one feed (small multiples in one
chart) and one chart of the other measures. Which feed and which measure chart are chosen with
a control above each and kept in the link (``?feed=rosewood&chart=repeat``), so a link opens
the chart someone was looking at; the others are not built or sent until chosen. The page's
tables and charts download through one control (:func:`download_items`): which file, then one
button, the file made (and audited) on the click. No Streamlit here.
"""
from __future__ import annotations

from dataclasses import dataclass

from core.schema import FEEDS
from views.feed_tables import FEED_SHORT_TITLES
from views.trend_series import MEASURE_GROUPS

P_FEED, P_CHART = "feed", "chart"
FIRST_FEED = next(iter(FEEDS))
TYPES_CHART = "types"
#: The other measures' charts: (key, title, unit), the NRM exploitation type mix last.
CHARTS = (*((key, title, unit) for key, title, _, unit in MEASURE_GROUPS),
          (TYPES_CHART, "NRM referrals: exploitation type mix", "share"))
CHART_TITLES = {key: title for key, title, _ in CHARTS}
#: Short names for the chart picker's buttons (the chart's own title says it in full).
CHART_NAMES = {"rates": "Per 100,000", "children": "Children", "repeat": "Repeat episodes",
               "missing": "Still missing", "found": "Time to found",
               "police": "Referred to police", TYPES_CHART: "Exploitation types"}
TYPES_NOTE = "Referrals with more than one type count as 'several types'."


@dataclass(frozen=True)
class Sections:
    """The feed of the district series and the measure chart shown; ``warnings`` say what
    part of the link could not be used."""

    feed: str = FIRST_FEED
    chart: str = CHARTS[0][0]
    warnings: tuple[str, ...] = ()


def sections_view(params: dict) -> Sections:
    """The sections a link asks for (unknown values: the first feed or chart, and a warning)."""
    def first(key):
        value = params.get(key)
        if isinstance(value, (list, tuple)):
            value = value[0] if value else None
        return None if value in (None, "") else str(value)

    warnings, feed, chart = [], first(P_FEED), first(P_CHART)
    if feed is not None and feed not in FEEDS:
        warnings.append(f"feed {feed[:20]!r} is not one of {', '.join(FEEDS)}")
        feed = None
    if chart is not None and chart not in CHART_TITLES:
        warnings.append(f"chart {chart[:20]!r} is not one of {', '.join(CHART_TITLES)}")
        chart = None
    return Sections(feed or FIRST_FEED, chart or CHARTS[0][0], tuple(warnings))


def sections_params(sections: Sections) -> dict[str, str]:
    """The link's part for ``sections`` (a choice only when it is not the first)."""
    params = {}
    if sections.feed != FIRST_FEED:
        params[P_FEED] = sections.feed
    if sections.chart != CHARTS[0][0]:
        params[P_CHART] = sections.chart
    return params


def chart_caption(title: str, how: str, download: str) -> str:
    """The text alternative under a chart: which chart, how it draws its figures, and which
    download holds them as shown (the chart's marks are hidden from screen readers:
    ``ui.a11y``)."""
    return (f"Chart \"{title}\": {how}. Its figures, as shown, are in \"{download}\" under "
            "Downloads at the end of the page.")


# -- downloads ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class DownloadItem:
    """One file the page offers: ``key`` (what the page makes), the picker's ``label``, the
    file's name and type, and the audit entry's ``detail``."""

    key: str
    label: str
    file_name: str
    mime: str
    detail: str

    @property
    def icon(self) -> str:
        return ":material/image:" if self.mime == "image/png" else ":material/download:"


def download_items(period: str, freq: str, measure: str) -> list[DownloadItem]:
    """Every table (CSV) and chart (PNG) of the page for ``period`` (KPI and measures tables),
    ``freq`` (the series) and ``measure`` (records or rates of the district series), in page
    order. Details and file names are those the page's buttons had, one per file."""
    csv, png = "text/csv", "image/png"
    items = [DownloadItem("kpis", "Records per feed: KPI table (CSV)",
                          f"trends-kpis-{period}.csv", csv, "csv: kpi table")]
    for feed in FEEDS:
        name = f"{FEED_SHORT_TITLES[feed]} by district"
        items += [DownloadItem(f"series:{feed}", f"{name} (CSV)", f"trends-{feed}-{freq}.csv",
                               csv, f"csv: {feed} series"),
                  DownloadItem(f"series-png:{feed}", f"{name}: chart (PNG)",
                               f"trends-{feed}-{measure}-{freq}.png", png, f"png: {feed} series")]
    items.append(DownloadItem("measures", "Other measures of the period (CSV)",
                              f"trends-measures-{period}.csv", csv, "csv: measures"))
    for key, title, _ in CHARTS:
        items += [DownloadItem(f"chart:{key}", f"{title} (CSV)", f"trends-{key}-{freq}.csv", csv,
                               f"csv: {key} series"),
                  DownloadItem(f"chart-png:{key}", f"{title}: chart (PNG)",
                               f"trends-{key}-{freq}.png", png, f"png: {key}")]
    items.append(DownloadItem("flags", "Rising or falling, by district: trend flags (CSV)",
                              "trends-flags.csv", csv, "csv: trend flags"))
    return items
