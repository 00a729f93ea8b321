"""What the landing page shows about a store: its period, its size, and what kind of data it holds.

``store_overview(store)`` gathers everything the landing page needs in one ``Overview`` object, so
the page itself only lays it out. ``store_fingerprint(store)`` is a cheap key that changes whenever
the store's content changes, for caching the overview between page views.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd

from core import clock
from core.schema import FEED_TITLES, FEEDS
from safeguards.access import RoleScopedQuery
from safeguards.disclosure import (
    TOTAL,
    SuppressedTable,
    legend,
    legend_for,
    threshold_for,
)
from storage.lifecycle import next_purge
from views.readable import thousands

# Column headings of the district table: the full feed titles are too long for a table header.
FEED_SHORT_TITLES = {
    "nrm": "NRM referrals",
    "rosewood": "Rosewood episodes",
    "mandevilla": "Mandevilla flags",
}
TOTAL_LABEL = TOTAL
#: Shown for an all-feed sum where one of its parts is hidden.
DISTRICT_LABEL = "District"

# What a store holds, from its batches' sources.
EMPTY, SYNTHETIC, REAL, MIXED = "empty", "synthetic", "real", "mixed"


@dataclass(frozen=True)
class FeedCount:
    """The number of stored records of one feed, as the viewer's role may see it.

    ``count`` is None where small-number suppression hides it; ``display`` is what to show
    ("1,234", "<5" or "[c]").
    """

    feed: str
    title: str
    short_title: str
    count: int | None
    display: str


@dataclass(frozen=True)
class Overview:
    """A summary of one store, ready to display.

    Attributes
    ----------
    store_url : str
        Where the store lives (a folder path).
    data_kind : {"empty", "synthetic", "real", "mixed"}
        What the store holds: nothing, only synthetic records, only real records, or both.
    period : tuple of (date, date) or None
        First and last event date across all feeds; None when the store is empty.
    feeds : tuple of FeedCount
        One entry per feed of the contract, in contract order, zero for a feed with no records.
    district_table : DataFrame
        One row per West Yorkshire district (by name, alphabetical), then a ``Total`` row. One
        column per feed (short titles) and a ``Total`` column. Text: the counts as the viewer's
        role may see them, small numbers shown as "<k" for roles under disclosure control.
    suppressed : bool
        True when any count in the table is hidden (the page then explains "<k").
    threshold : int
        k of the suppression applied (the strictest feed's; 1 when nothing is suppressed).
    thresholds : dict
        Feed short title → k, where each feed is hidden at its own threshold.
    n_batches : int
        The number of committed batches (ingested files or frames).
    last_ingested_at : datetime or None
        When the most recent batch was committed (UTC), None for an empty store.
    purge_from : date or None
        When the oldest stored records are due for purge under their feed's retention period
        (``storage.lifecycle``; today if some already are), None for an empty store.
    """

    store_url: str
    data_kind: str
    period: tuple[dt.date, dt.date] | None
    feeds: tuple[FeedCount, ...]
    district_table: pd.DataFrame
    suppressed: bool
    threshold: int
    n_batches: int
    last_ingested_at: dt.datetime | None
    thresholds: Mapping[str, int] = field(default_factory=dict)
    purge_from: dt.date | None = None

    @property
    def purge_label(self) -> str:
        """When the oldest data will be purged, as text; empty for an empty store."""
        if self.purge_from is None:
            return ""
        return f"The oldest records are due for purge on {_day(self.purge_from)} (retention)."

    @property
    def suppression_note(self) -> str:
        """The note under the table explaining what is hidden (each feed's threshold)."""
        return legend_for(self.thresholds) if self.thresholds else legend(self.threshold)

    @property
    def is_empty(self) -> bool:
        """True when the store holds no record at all."""
        return self.data_kind == EMPTY

    @property
    def is_synthetic(self) -> bool:
        """True when every stored record is synthetic (and there is at least one)."""
        return self.data_kind == SYNTHETIC

    @property
    def records_label(self) -> str:
        """The number of records across all feeds, as the role may see it."""
        return self.district_table.loc[TOTAL_LABEL, TOTAL_LABEL]

    @property
    def period_label(self) -> str:
        """The period as text, e.g. ``"1 Jan 2021 – 31 Dec 2025"``; empty for an empty store."""
        if self.period is None:
            return ""
        first, last = self.period
        return f"{_day(first)} – {_day(last)}"

    @property
    def last_ingested_label(self) -> str:
        """The last ingest time as text in UTC, e.g. ``"25 Nov 2026 09:37 UTC"``."""
        if self.last_ingested_at is None:
            return ""
        return f"{_day(self.last_ingested_at)} {self.last_ingested_at:%H:%M} UTC"


def store_overview(query: RoleScopedQuery,
                   district_names: Mapping[str, str] | None = None) -> Overview:
    """Summarise a store for the landing page, as the viewer's role may see it.

    Parameters
    ----------
    query : RoleScopedQuery
        The store and the viewer: ``query.district_feed_table()`` over the whole store. For a
        chair, executive or admin its figures are sums of published atoms
        (``safeguards.publication``), like every page's, so this page cannot be subtracted from
        another; each feed at its own threshold, the all-feed ``Total`` at the strictest.
    district_names : mapping of str to str, optional
        District code → district name. Default: the West Yorkshire districts from the shipped
        boundaries (``geo.boundaries.load_boundaries("district")``).

    Returns
    -------
    Overview

    Raises
    ------
    StoreError
        If the store's manifest cannot be read.
    """
    store = query.store
    names = dict(_district_names() if district_names is None else district_names)
    batches = store.batches()
    per_feed = query.suppressed and bool(batches)
    table = query.district_feed_table()
    return Overview(
        store_url=store.url,
        data_kind=_data_kind({b["source"] for b in batches}),
        period=store.period() if batches else None,
        feeds=_feed_counts(table),
        district_table=_district_table(table, names),
        suppressed=bool(table.suppressed.to_numpy().any()),
        threshold=table.threshold,
        n_batches=len(batches),
        last_ingested_at=_last_ingested(batches),
        thresholds=({FEED_SHORT_TITLES[f]: threshold_for(f) for f in FEEDS} if per_feed
                    else {}),
        purge_from=next_purge(store, clock.today()) if batches else None,
    )


def is_synthetic_store(store) -> bool:
    """``Overview.is_synthetic`` from the store's batches alone: every stored record is
    synthetic, and there is at least one. The same for every role (which records are synthetic
    is no figure), so a page that needs only this does not count the records
    (``ui.loaders.open_store_page``)."""
    return _data_kind({b["source"] for b in store.batches()}) == SYNTHETIC


def _district_names() -> dict[str, str]:
    """District code → name, from the shipped boundaries."""
    # Imported here so that tests passing their own names do not load geometries.
    from geo.boundaries import load_boundaries

    districts = load_boundaries("district")
    return dict(zip(districts["code"], districts["name"]))


def _data_kind(sources: set[str]) -> str:
    if not sources:
        return EMPTY
    if sources == {"synthetic"}:
        return SYNTHETIC
    if sources == {"real"}:
        return REAL
    return MIXED


def _feed_counts(table: SuppressedTable) -> tuple[FeedCount, ...]:
    totals, shown = table.counts.loc[TOTAL_LABEL], table.display.loc[TOTAL_LABEL]
    return tuple(FeedCount(feed, FEED_TITLES[feed], FEED_SHORT_TITLES[feed],
                           None if pd.isna(totals[feed]) else int(totals[feed]),
                           thousands(shown[feed]))
                 for feed in FEEDS)


def _district_table(table: SuppressedTable, names: Mapping[str, str]) -> pd.DataFrame:
    """Districts × feeds with totals, as text; districts by name, alphabetical."""
    shown = table.display.map(thousands)
    shown = shown.rename(index=lambda code: names.get(code, code),
                         columns=lambda feed: FEED_SHORT_TITLES.get(feed, feed))
    rows = sorted(names.values())
    shown = shown.reindex(index=[*rows, TOTAL_LABEL])
    shown.index.name = DISTRICT_LABEL
    shown.columns.name = None
    return shown


def _last_ingested(batches: list[dict]) -> dt.datetime | None:
    times = [dt.datetime.fromisoformat(b["ingested_at"]) for b in batches if b.get("ingested_at")]
    return max(times) if times else None


def _day(value: dt.date) -> str:
    # "%-d" is not portable (Windows), so strip the leading zero by hand.
    return f"{value.day} {value:%b %Y}"
