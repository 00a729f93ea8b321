"""The life of a stored record: retention periods, purges, and withdrawals of what was sent in
error. The rules only; who may run them, and the audit trail, are in ``safeguards.lifecycle``.

Retention is set per feed, in years, by ``RETENTION_YEARS_<FEED>`` (``RETENTION_YEARS_NRM=6``);
``DEFAULT_RETENTION_YEARS`` holds the defaults, the one place they are written down. A record is
due for purge once its event date is more than that many years before today. The audit trail has
its own period, ``AUDIT_RETENTION_YEARS`` (default ``DEFAULT_AUDIT_RETENTION_YEARS``), enforced
by ``python -m safeguards.audit purge``.

A withdrawal removes a whole batch (a partner's file sent in error) or listed records, with
``Store.remove``: every stored copy goes (Parquet files rewritten and the old ones deleted, or
rows deleted and the table vacuumed), and so do the quarantine files the batch's ingest wrote.

The exposure layers (``storage.exposure``: asylum accommodation sites, Rosewood's denominator)
follow the same rules. Each load is a batch (listed by :func:`batch_table` with feed
``exposure:<layer>``) that can be withdrawn whole (:func:`withdraw_exposure`). A site is due
for purge once it **closed** more than the retention period of the feeds the layer is the
denominator of before today (:func:`exposure_retention_years`): every bed-night it gave is then
older than every record it could be the denominator of, so nothing kept loses its denominator;
an open site stays. With no layer (withdrawn, or every site purged) the feed falls back to
residents (``core.denominators``).
"""
from __future__ import annotations

import csv
import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from core.denominators import exposure_feeds
from core.errors import ConfigError, StoreError
from core.filters import EventFilter
from core.schema import FEEDS
from storage.base import Removed, Selection, Store
from storage.exposure import (
    LAYERS,
    closed_before,
    layer_batch,
    purge_closed,
    read_layer,
)
from storage.exposure import remove_layer as remove_exposure_layer

#: How an exposure layer is named where feeds are (batch table, purge counts, audit entries).
EXPOSURE_PREFIX = "exposure:"

DEFAULT_RETENTION_YEARS = {"nrm": 6, "rosewood": 6, "mandevilla": 6}
DEFAULT_AUDIT_RETENTION_YEARS = 7
RETENTION_ENV = "RETENTION_YEARS_{feed}"
AUDIT_RETENTION_ENV = "AUDIT_RETENTION_YEARS"
MAX_RETENTION_YEARS = 100
#: A quarantine file is written just after its batch is stored (``data.ingest``), named
#: ``<file stem>-<local time>.csv``; one written within this long of a batch of that file name
#: (and before the next one) belongs to it.
QUARANTINE_WINDOW = dt.timedelta(hours=1)


class LifecycleError(StoreError):
    """A withdrawal or purge cannot be done as asked (unknown batch, no ids, bad setting)."""


# -- retention settings ------------------------------------------------------------------------
def _years_setting(name: str, default: int) -> int:
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    if not text.isdigit() or not 1 <= int(text) <= MAX_RETENTION_YEARS:
        raise ConfigError(f"{name}={text!r}: expected a whole number of years from 1 to "
                          f"{MAX_RETENTION_YEARS}")
    return int(text)


def retention_years(feed: str) -> int:
    """How many years records of ``feed`` are kept (``RETENTION_YEARS_<FEED>``, else default)."""
    return _years_setting(RETENTION_ENV.format(feed=feed.upper()), DEFAULT_RETENTION_YEARS[feed])


def audit_retention_years() -> int:
    """How many years audit entries are kept (``AUDIT_RETENTION_YEARS``, else default)."""
    return _years_setting(AUDIT_RETENTION_ENV, DEFAULT_AUDIT_RETENTION_YEARS)


def years_before(day: dt.date, years: int) -> dt.date:
    """The same calendar day ``years`` earlier (29 February becomes 28 February)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def years_after(day: dt.date, years: int) -> dt.date:
    return years_before(day, -years)


def retention_cutoffs(today: dt.date) -> dict[str, dt.date]:
    """Per feed: records with an event date before this day are due for purge."""
    return {feed: years_before(today, retention_years(feed)) for feed in FEEDS}


@dataclass(frozen=True)
class RetentionStatus:
    """One feed's retention: its period, today's cut-off, its oldest record, the day that record
    will be purged (``purge_from``) and how many records are due now."""

    feed: str
    years: int
    cutoff: dt.date
    first_event: dt.date | None
    purge_from: dt.date | None
    due: int


def retention_status(store: Store, today: dt.date) -> list[RetentionStatus]:
    """The retention of every feed of ``store`` on ``today``."""
    firsts = store.first_event_dates()
    plan = purge_plan(store, today)
    out = []
    for feed in FEEDS:
        years, first = retention_years(feed), firsts.get(feed)
        out.append(RetentionStatus(
            feed, years, years_before(today, years), first,
            None if first is None else max(years_after(first, years), today),
            sum(plan.get(feed, {}).values())))
    return out


def next_purge(store: Store, today: dt.date) -> dt.date | None:
    """When the oldest stored record is due for purge (today if it already is), or None."""
    days = [s.purge_from for s in retention_status(store, today) if s.purge_from is not None]
    return min(days) if days else None


def purge_plan(store: Store, today: dt.date) -> dict[str, dict[int, int]]:
    """{feed: {event year: records}} of the records past their retention period on ``today``."""
    plan = {}
    for feed, cutoff in retention_cutoffs(today).items():
        dates = store.query(feed, EventFilter(end=cutoff - dt.timedelta(days=1)),
                            columns=["event_date"])["event_date"]
        if len(dates):
            years = dates.dt.year.value_counts().sort_index()
            plan[feed] = {int(y): int(n) for y, n in years.items()}
    return plan


def purge(store: Store, today: dt.date) -> Removed:
    """Remove every record past its feed's retention period on ``today``."""
    if not purge_plan(store, today):
        return Removed({})
    return store.remove(Selection(before=retention_cutoffs(today)))


# -- batches and withdrawals -------------------------------------------------------------------
def find_batch(store: Store, batch_id: str) -> dict:
    for batch in store.batches():
        if batch["id"] == batch_id:
            return batch
    raise LifecycleError(f"no batch {batch_id!r} in store {store.url}: list them with "
                         "`python -m data.store batches`")


def withdraw_batch(store: Store, batch_id: str) -> tuple[dict, Removed, list[Path]]:
    """Remove every record of one batch and its ingest's quarantine files; returns the batch,
    what was removed and the quarantine files deleted."""
    batch = find_batch(store, batch_id)
    files = quarantine_files(store, batch)
    removed = store.remove(Selection(batch_ids=frozenset({batch_id})))
    for path in files:
        path.unlink(missing_ok=True)
    return batch, removed, files


def withdraw_records(store: Store, record_ids,
                     feeds: tuple[str, ...] = tuple(FEEDS)) -> Removed:
    """Remove the records ``record_ids`` (of ``feeds``) wherever they are stored."""
    ids = frozenset(str(i).strip() for i in record_ids if str(i).strip())
    if not ids:
        raise LifecycleError("no record ids to withdraw: give a CSV with a record_id column "
                             "(or one id a line)")
    return store.remove(Selection(record_ids=ids, feeds=tuple(feeds)))


def read_record_ids(path: str | os.PathLike) -> list[str]:
    """The record ids of a CSV: its ``record_id`` column, or else one id a line (no header)."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            rows = [row for row in csv.reader(handle) if any(cell.strip() for cell in row)]
    except (OSError, UnicodeDecodeError) as exc:
        raise LifecycleError(f"{path}: cannot read the list of record ids: {exc}") from exc
    if not rows:
        raise LifecycleError(f"{path}: the list of record ids is empty")
    header = [cell.strip().lower() for cell in rows[0]]
    if "record_id" in header:
        column = header.index("record_id")
        ids = [row[column].strip() for row in rows[1:] if len(row) > column]
    elif all(len(row) == 1 for row in rows):
        ids = [row[0].strip() for row in rows]
    else:
        raise LifecycleError(f"{path}: no record_id column; give a record_id column or one id "
                             "a line")
    return [i for i in dict.fromkeys(ids) if i]


def quarantine_files(store: Store, batch: dict) -> list[Path]:
    """The quarantine files the ingest of ``batch`` wrote (``data.ingest`` names them
    ``<file stem>-<local time>.csv``, just after the batch is stored)."""
    folder = store.quarantine_dir()
    if not folder.is_dir():
        return []
    stem = Path(batch["file_name"]).stem
    start = dt.datetime.fromisoformat(batch["ingested_at"])
    later = [dt.datetime.fromisoformat(b["ingested_at"]) for b in store.batches()
             if Path(b["file_name"]).stem == stem
             and dt.datetime.fromisoformat(b["ingested_at"]) > start]
    end = min([start + QUARANTINE_WINDOW, *later])
    found = []
    for path in folder.glob(f"{stem}-*.csv"):
        stamp = path.stem[len(stem) + 1:]
        try:
            written = dt.datetime.strptime(stamp, "%Y%m%dT%H%M%S-%f").astimezone()
        except ValueError:
            continue  # another file whose name starts the same way
        if start <= written < end:
            found.append(path)
    return sorted(found)


def batch_table(store: Store) -> pd.DataFrame:
    """Every batch, oldest first: what ``python -m data.store batches`` and the admin page list.
    An exposure layer's load is a batch too (feed ``exposure:<layer>``, rows = its sites)."""
    columns = ["id", "feed", "rows", "source", "file_name", "ingested_at"]
    layers = exposure_batches(store)
    table = pd.DataFrame([{k: b.get(k) for k in columns} for b in [*store.batches(), *layers]],
                         columns=columns)
    if not layers:
        return table
    order = pd.to_datetime(table["ingested_at"], utc=True, format="ISO8601")
    return table.iloc[order.argsort(kind="stable")].reset_index(drop=True)


# -- exposure layers ---------------------------------------------------------------------------
def exposure_batches(store: Store) -> list[dict]:
    """The loaded exposure layers, each as a batch (``storage.exposure.layer_batch``)."""
    return [b for b in (layer_batch(store, layer) for layer in LAYERS) if b is not None]


def exposure_batch(store: Store, batch_id: str) -> dict | None:
    """The exposure layer batch ``batch_id``, or None when it is not one."""
    return next((b for b in exposure_batches(store) if b["id"] == batch_id), None)


def withdraw_exposure(store: Store, batch_id: str) -> tuple[dict, int]:
    """Withdraw the exposure layer loaded as ``batch_id``: every site goes; returns the batch
    and how many sites were removed."""
    batch = exposure_batch(store, batch_id)
    if batch is None:
        raise LifecycleError(f"no exposure layer batch {batch_id!r} in store {store.url}: list "
                             "them with `python -m data.store batches`")
    return batch, remove_exposure_layer(store, batch["layer"])


def exposure_retention_years(layer: str) -> int:
    """How long a closed site of ``layer`` is kept: the longest period of the feeds it is the
    denominator of (``RETENTION_YEARS_<FEED>``), so none of their records outlives it."""
    feeds = [feed for feed, name in exposure_feeds().items() if name == layer] or list(FEEDS)
    return max(retention_years(feed) for feed in feeds)


def exposure_cutoffs(today: dt.date) -> dict[str, dt.date]:
    """Per layer: sites that closed before this day are due for purge."""
    return {layer: years_before(today, exposure_retention_years(layer)) for layer in LAYERS}


def exposure_purge_plan(store: Store, today: dt.date) -> dict[str, dict[int, int]]:
    """{"exposure:<layer>": {year closed: sites}} of the sites due for purge on ``today``."""
    plan = {}
    for layer, cutoff in exposure_cutoffs(today).items():
        stored = read_layer(store, layer)
        if stored is None:
            continue
        sites = stored[1]
        due = closed_before(sites, cutoff)
        if due.any():
            years = pd.to_datetime(sites["closed_on"][due]).dt.year.value_counts().sort_index()
            plan[EXPOSURE_PREFIX + layer] = {int(y): int(n) for y, n in years.items()}
    return plan


def purge_exposure(store: Store, today: dt.date) -> dict[str, dict[int, int]]:
    """Remove the sites due on ``today`` (:func:`exposure_purge_plan`); returns what went."""
    out = {}
    for layer, cutoff in exposure_cutoffs(today).items():
        removed = purge_closed(store, layer, cutoff)
        if removed:
            out[EXPOSURE_PREFIX + layer] = removed
    return out


def exposure_status(store: Store, today: dt.date) -> list[RetentionStatus]:
    """Each loaded layer's retention on ``today``, as :func:`retention_status` gives a feed's:
    ``feed`` is "exposure:<layer>", ``first_event`` the earliest closing day of a closed site
    (None while every site is open), ``purge_from`` the day that site is due."""
    out = []
    for layer, cutoff in exposure_cutoffs(today).items():
        stored = read_layer(store, layer)
        if stored is None:
            continue
        sites, years = stored[1], exposure_retention_years(layer)
        closed = pd.to_datetime(sites["closed_on"]).dropna()
        first = closed.min().date() if len(closed) else None
        out.append(RetentionStatus(
            EXPOSURE_PREFIX + layer, years, cutoff, first,
            None if first is None else max(years_after(first, years), today),
            int(closed_before(sites, cutoff).sum())))
    return out
