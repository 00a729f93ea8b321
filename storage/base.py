"""The store: where validated, geomasked records live, behind one interface (``Store``).

``storage.open.open_store()`` picks the backend from a single setting, ``STORE_URL`` (a directory path by
default). The embedded backend (``storage.parquet``) is a Parquet dataset written with pyarrow:

    <store>/_manifest.json     the list of committed batches: the single commit point
    <store>/_lock              file lock taken by every writer
    <store>/<feed>/<batch>.parquet   immutable batch files, sorted by event date

A write goes to a temporary file, is renamed into the feed folder, and only then becomes visible
when a new manifest is renamed over the old one. A writer killed at any point therefore leaves the
store holding exactly the batches that completed; stray files from a killed writer are removed by
the next writer, under the lock. Readers never take the lock: they read the manifest once and
open only the files it names, with filters pushed down to the Parquet row groups.

``STORE_URL=postgresql://user@host/db`` selects the shared PostgreSQL + PostGIS store instead
(``storage.postgis``): the same interface and behaviour, for multi-user deployments.

Removing records (a batch withdrawn, records withdrawn, records past their retention period):
``Store.remove(selection)``, atomic on both backends, leaving no copy of the removed values in
any file the store owns (``storage.lifecycle`` has the rules; ``safeguards.lifecycle`` audits).

Copies between backends: ``storage.copy``; the command line: ``python -m storage``
(``storage.cli``).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import os
import threading
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from core import clock
from core.errors import StoreError
from core.filters import EventFilter
from core.schema import FEEDS, feed_fields

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_STORE = PROJECT_ROOT / "store"

# Columns every stored record carries besides its feed's contract fields.
COMMON_COLUMNS = [
    ("event_date", pa.timestamp("ms")),
    ("lsoa_code", pa.string()),
    ("ward_code", pa.string()),
    ("district_code", pa.string()),
    ("has_point", pa.bool_()),
    ("easting", pa.int32()),      # geomasked: centre of a BNG grid cell, never the raw point
    ("northing", pa.int32()),
    ("longitude", pa.float64()),  # the same cell centre in WGS84, for web maps
    ("latitude", pa.float64()),
    ("geomask_m", pa.int16()),
    ("content_hash", pa.string()),
]
# Side documents that travel with a store: the synthetic ground truth, the tasking
# records (views.tasking.TASKS_DOCUMENT; the views sit above the store) and the exposure
# layer (storage.exposure).
DOCUMENTS = ("_synthetic_truth.json", "_tasking/tasks.json", "_exposure/accommodation.json")
_KIND_TYPES = {"id": pa.string(), "ref": pa.string(), "category": pa.string(),
               "multi": pa.string(), "date": pa.timestamp("ms"), "datetime": pa.timestamp("ms"),
               "bool": pa.bool_()}


def stored_schema(feed: str) -> pa.Schema:
    """The Arrow schema of a stored batch of ``feed`` (same for every batch, so they concatenate)."""
    fields = [(f.name, _KIND_TYPES[f.kind]) for f in feed_fields(feed)]
    return pa.schema(fields + COMMON_COLUMNS)


@dataclass(frozen=True)
class AppendResult:
    added: int
    unchanged: int
    replaced: int
    batch_id: str | None


@dataclass(frozen=True)
class Selection:
    """Records to remove: every record of the batches ``batch_ids``, the records ``record_ids``
    (of ``feeds``), or the records of each feed in ``before`` whose event date is before its
    cut-off date. Exactly one of the three is given."""

    batch_ids: frozenset[str] = frozenset()
    record_ids: frozenset[str] = frozenset()
    feeds: tuple[str, ...] = tuple(FEEDS)
    before: Mapping[str, dt.date] = field(default_factory=dict)

    def __post_init__(self):
        given = [bool(self.batch_ids), bool(self.record_ids), bool(self.before)]
        if sum(given) != 1:
            raise ValueError("a Selection names batches, record ids or cut-off dates: one of them")
        unknown = set(self.feeds) - set(FEEDS)
        if unknown:
            raise ValueError(f"unknown feed(s) {sorted(unknown)}")

    def mask(self, feed: str, batch_id: str, frame: pd.DataFrame) -> pd.Series:
        """Which rows of ``frame`` (one stored batch of ``feed``) are selected."""
        if self.batch_ids:
            return pd.Series(batch_id in self.batch_ids, index=frame.index)
        if self.record_ids:
            return frame["record_id"].isin(self.record_ids) & (feed in self.feeds)
        cut = self.before.get(feed)
        if cut is None:
            return pd.Series(False, index=frame.index)
        return frame["event_date"] < pd.Timestamp(cut)


@dataclass(frozen=True)
class Removed:
    """What ``Store.remove`` removed: records per feed and event year (``counts``: feed →
    {year: n}), the batches removed whole, and the batches that lost some of their records."""

    counts: dict[str, dict[int, int]]
    batches_removed: tuple[str, ...] = ()
    batches_changed: tuple[str, ...] = ()

    @property
    def records(self) -> int:
        return sum(n for years in self.counts.values() for n in years.values())


def year_counts(feed_years: pd.DataFrame) -> dict[str, dict[int, int]]:
    """{feed: {year: n}} from a frame with columns ``feed`` and ``year`` (one row a record)."""
    out: dict[str, dict[int, int]] = {}
    for (feed, year), n in feed_years.groupby(["feed", "year"]).size().items():
        out.setdefault(str(feed), {})[int(year)] = int(n)
    return {feed: dict(sorted(years.items())) for feed, years in sorted(out.items())}


class RecordConflict(StoreError):
    """Some record_ids are already stored with different content."""

    def __init__(self, feed: str, record_ids: list[str]):
        self.feed = feed
        self.record_ids = record_ids
        super().__init__(f"{len(record_ids)} {feed} record_id(s) already stored with different "
                         f"content, e.g. {record_ids[:5]}")


class Store(ABC):
    """What every backend offers. Pages never call it directly: they go through the query layer."""

    url: str

    @abstractmethod
    def append(self, feed: str, frame: pd.DataFrame, *, source: str, file_name: str,
               replace: bool = False) -> AppendResult:
        """Add validated records atomically; rows already stored unchanged are skipped.

        Raises ``RecordConflict`` when a record_id is stored with other content, unless
        ``replace`` is set, in which case the stored record is replaced.
        """

    @abstractmethod
    def query(self, feed: str, filters: EventFilter | None = None,
              columns: list[str] | None = None) -> pd.DataFrame:
        """The stored records of ``feed`` that pass ``filters`` (only ``columns`` if given)."""

    @abstractmethod
    def batches(self) -> list[dict]:
        """Metadata of every committed batch: id, feed, rows, source, file name, time."""

    @abstractmethod
    def remove(self, selection: Selection) -> Removed:
        """Remove the selected records, atomically; a batch left with no record goes too.

        Parquet: the batch files holding selected records are rewritten without them (same
        batch id and metadata, a new file), the manifest is swapped, the old files deleted, all
        under the writer lock. PostGIS: one transaction, then ``VACUUM FULL`` of the tables
        touched, so no removed value stays in a table file. A writer killed at any point leaves
        the old store or the new one, never a mix. Returns what was removed.
        """

    def counts(self, feed: str, by: list[str], filters: EventFilter | None = None,
               freq: str | None = None) -> pd.DataFrame:
        """Count records grouped by columns ``by`` and, with ``freq`` ("M" or "Q"), by period."""
        frame = self.query(feed, filters, columns=[*by, "event_date"] if freq else by)
        keys = list(by)
        if freq:
            frame["period"] = frame["event_date"].dt.to_period(freq)
            keys.append("period")
        if frame.empty:
            return pd.DataFrame(columns=[*keys, "count"])
        return frame.groupby(keys, observed=True).size().rename("count").reset_index()

    def cell_counts(self, feed: str, filters: EventFilter | None = None,
                    cell_m: int = 100) -> pd.DataFrame:
        """Records with a point per square BNG cell of ``cell_m`` metres, sorted by cell.

        Columns ``easting``, ``northing`` (the cell centre, int64) and ``count`` (int64). This is
        the generic version (grouped here, in NumPy); a backend that can group where the data
        live overrides it with the same result (``PostgisStore.cell_counts``, in SQL).
        """
        rows = self.query(feed, filters, columns=["easting", "northing"]).dropna()
        e = rows["easting"].to_numpy(np.int64) // cell_m
        n = rows["northing"].to_numpy(np.int64) // cell_m
        # One int64 key per cell (BNG cell indices are below 10^6): a 1-D unique is ~5x faster
        # than np.unique(axis=0) on pairs, and sorts the cells by easting, then northing.
        keys, counts = np.unique(e * 1_000_000 + n, return_counts=True)
        return pd.DataFrame({"easting": (keys // 1_000_000) * cell_m + cell_m // 2,
                             "northing": (keys % 1_000_000) * cell_m + cell_m // 2,
                             "count": counts.astype(np.int64)})

    def sources(self) -> set[str]:
        """Kinds of data held: {"synthetic"}, {"real"}, both, or empty."""
        return {b["source"] for b in self.batches()}

    def is_synthetic_only(self) -> bool:
        return self.sources() <= {"synthetic"}

    def summary(self) -> pd.DataFrame:
        """Records per feed and district, for the landing page."""
        parts = [self.counts(feed, ["district_code"]).assign(feed=feed) for feed in FEEDS]
        return pd.concat(parts, ignore_index=True)[["feed", "district_code", "count"]]

    def first_event_dates(self) -> dict[str, dt.date | None]:
        """The earliest event date of each feed (None for a feed with no records)."""
        out = {}
        for feed in FEEDS:
            dates = self.query(feed, columns=["event_date"])["event_date"]
            out[feed] = dates.min().date() if len(dates) else None
        return out

    def period(self) -> tuple[dt.date, dt.date] | None:
        """First and last event date across all feeds, or None for an empty store."""
        bounds = []
        for feed in FEEDS:
            dates = self.query(feed, columns=["event_date"])["event_date"]
            if len(dates):
                bounds += [dates.min(), dates.max()]
        return (min(bounds).date(), max(bounds).date()) if bounds else None

    # -- side documents, quarantine, whole batches ------------------------------------------
    @abstractmethod
    def read_document(self, name: str) -> str | None:
        """A small text document kept with the store (e.g. the synthetic ground truth), or None."""

    @abstractmethod
    def write_document(self, name: str, text: str) -> None:
        """Write (or overwrite) a small text document kept with the store, atomically."""

    @abstractmethod
    def update_document(self, name: str, change: Callable[[str | None], str | None]
                        ) -> str | None:
        """Read-modify-write a side document atomically; return the text now stored.

        ``change`` gets the current text (None if there is none) and returns the new text, or
        None to leave the document as it is. No other ``update_document`` of the same document,
        from any process, runs in between (Parquet: the store's writer lock; PostGIS: a
        transaction holding an advisory lock on the name), so concurrent writers never lose each
        other's changes. If ``change`` raises, nothing is written and the error propagates; a
        writer killed at any point leaves the old text or the new one, never part of one.
        """

    @abstractmethod
    def quarantine_dir(self) -> Path:
        """The folder where ``--accept-valid`` writes the rows it set aside."""

    @abstractmethod
    def batch_frame(self, batch: dict) -> pd.DataFrame:
        """Every stored record of one committed ``batch`` (an entry of ``batches()``)."""

    @abstractmethod
    def import_batch(self, batch: dict, frame: pd.DataFrame) -> None:
        """Store ``frame`` as ``batch``, keeping its id, source, file name and time (for copy)."""

    def checksum(self, feed: str) -> tuple[int, str]:
        """(records, sha256) of every stored value of ``feed``, independent of row order."""
        frame = self.query(feed).sort_values("record_id", ignore_index=True)
        digest = hashlib.sha256()
        for column in frame.columns:  # schema order; text form of each value, nulls marked
            digest.update(column.encode())
            values = frame[column].astype("string").fillna("\x00")
            digest.update(pd.util.hash_pandas_object(values, index=False).to_numpy().tobytes())
        return len(frame), digest.hexdigest()


def check_unique(feed: str, frame: pd.DataFrame) -> None:
    """Refuse a batch that holds a record_id twice (ingestion refuses such files earlier)."""
    if frame["record_id"].is_unique:
        # ``is_unique`` hashes once (0.07 s for 540k text ids); ``duplicated()`` on pandas'
        # string dtype took 0.56 s, paid by every clean batch only to find nothing.
        return
    twice = frame["record_id"][frame["record_id"].duplicated()]
    if len(twice):
        raise StoreError(f"{feed}: {twice.nunique()} record_id(s) appear more than once in one "
                         f"batch, e.g. {sorted(set(twice))[:5]}; nothing was stored")


def new_batch_id() -> str:
    stamp = clock.now().strftime("%Y%m%dT%H%M%S")
    return f"{stamp}-{uuid.uuid4().hex[:8]}"


def fsync_file(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def store_fingerprint(store: Store) -> str:
    """A short key that changes whenever the store's content changes.

    Every committed write adds a batch with a new id (a replacement rewrites batches under new
    ids too), and every removal drops batches or lowers their row counts (``Store.remove``
    keeps a batch's id), so the sorted batch ids with their row counts identify the content:
    rows of a batch only ever go down. Reading them costs one small file (Parquet) or one
    query (PostGIS); within :func:`fingerprints_held` (a page run) it is read once per store.

    Parameters
    ----------
    store : Store

    Returns
    -------
    str
        A hex digest of the store URL and its batch ids and row counts.
    """
    held = getattr(_held_fingerprints, "by_url", None)
    if held is not None and store.url in held:
        return held[store.url]
    ids = sorted(f"{b['id']}:{b['rows']}" for b in store.batches())
    fingerprint = hashlib.sha256("\n".join([store.url, *ids]).encode()).hexdigest()[:16]
    if held is not None:
        held[store.url] = fingerprint
    return fingerprint


_held_fingerprints = threading.local()


@dataclass
class SharedScan:
    """One read of a feed shared by a run's queries (:func:`share_reads`): its filters and
    columns, and the rows once read (an Arrow table, by the backend)."""

    filters: EventFilter
    columns: tuple[str, ...]
    table: object = None

    def covers(self, filters: EventFilter, columns) -> bool:
        """Whether the rows of a query of ``filters`` and ``columns`` are these rows within
        the query's dates: the same filters but for dates inside these, and these columns."""
        return (columns is not None and set(columns) <= set(self.columns)
                and _without_dates(filters) == _without_dates(self.filters)
                and _within(filters.start, self.filters.start, lambda a, b: a >= b)
                and _within(filters.end, self.filters.end, lambda a, b: a <= b))


def _without_dates(filters: EventFilter) -> EventFilter:
    return replace(filters, start=None, end=None)


def _within(date, bound, inside) -> bool:
    return bound is None or (date is not None and inside(date, bound))


def share_reads(store_url: str, scans: Mapping[str, SharedScan | Sequence[SharedScan]]
                ) -> None:
    """For the rest of this thread's :func:`fingerprints_held` block (a page run), read each
    scan of ``scans`` (one or a few per feed) at most once: a query of the store at
    ``store_url`` that one of its feed's scans ``covers`` (the same filters, dates within the
    scan's, columns among its) is answered from the first such scan's rows, read at the first
    such query, with the query's own dates applied to them.
    The rows, their order and types are the same as the query's own read (tests); a query the
    scan does not cover reads as always. Outside such a block this does nothing.

    For a page that asks several questions of one view (Explore: the headline and the previous
    period's, the areas, the cells and the points of the same filters, each its own query
    through ``safeguards.access``, whose rules are unchanged): one read of each feed instead of
    five. The embedded store shares them (``ParquetStore.query``); PostGIS answers each query
    in SQL, as before."""
    held = getattr(_held_fingerprints, "scans", None)
    if held is not None:
        held[store_url] = {feed: (tuple(scan) if isinstance(scan, Sequence) else (scan,))
                           for feed, scan in scans.items()}


def shared_scan(store_url: str, feed: str, filters: EventFilter, columns) -> SharedScan | None:
    """The scan of :func:`share_reads` that answers this query in this thread, if any."""
    held = getattr(_held_fingerprints, "scans", None)
    scans = held.get(store_url, {}).get(feed, ()) if held else ()
    return next((scan for scan in scans if scan.covers(filters, columns)), None)


@contextmanager
def fingerprints_held() -> Iterator[None]:
    """Within this block, in this thread, each store's fingerprint is read once.

    The dashboard's router holds them for a page run (``dashboard.py``): every cached loader of
    a page keys on the fingerprint (Trends asks for it about 60 times a run), and each call read
    the manifest again (Parquet) or queried the ``batches`` table (PostGIS). Held, a run sees
    one state of the store throughout: a write committed while it runs (by another session or
    process) shows at the next run, as if it had come just after this run began. Writes made by
    the dashboard itself (a withdrawal) run in widget callbacks, before the router's block.
    Nested blocks share the outer one's fingerprints. Reads a page shares (:func:`share_reads`)
    are kept until the outermost block ends.
    """
    outer = getattr(_held_fingerprints, "by_url", None)
    if outer is None:
        _held_fingerprints.by_url = {}
        _held_fingerprints.scans = {}
    try:
        yield
    finally:
        if outer is None:
            _held_fingerprints.by_url = None
            _held_fingerprints.scans = None   # the shared rows go with the run
