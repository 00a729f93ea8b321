"""The embedded store: a folder of immutable Parquet batches plus a manifest (see
``storage.base`` for the layout and the commit protocol)."""
from __future__ import annotations

import json
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import filelock
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from core import clock
from core.errors import StoreError
from core.filters import EventFilter
from core.schema import FEEDS
from storage.base import (
    AppendResult,
    RecordConflict,
    Removed,
    Selection,
    Store,
    check_unique,
    fsync_file,
    new_batch_id,
    shared_scan,
    stored_schema,
    year_counts,
)

MANIFEST = "_manifest.json"
LOCK_TIMEOUT_S = 600
ROW_GROUP_SIZE = 131_072
#: Columns whose values are (nearly) all distinct: written without a dictionary, which would
#: be built only to be given up (the same values are stored either way). Rosewood's person
#: references and times (62-93% distinct) are smaller and quicker to write without one
#: (docs/benchmarks.md, "tenth round": 12.8 -> 10.8 MiB at 330k rows).
DISTINCT_COLUMNS = {"record_id", "content_hash", "person_ref", "reported_missing_at", "found_at"}
#: The only columns given min/max statistics in each row group: those a query's filter tests
#: (``_expression``; pushdown skips row groups by them; ``found_at``'s null count) and
#: ``event_date`` (``ParquetStore.period`` reads its bounds from them). The other columns'
#: statistics were computed on every write (a string column's min/max cost about as much as
#: its encoding) and never read.
STATISTICS_COLUMNS = ("event_date", "district_code", "ward_code", "age_group", "found_at")


class ParquetStore(Store):
    """The embedded store: a folder of immutable Parquet batches plus a manifest."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.url = str(self.root)

    # -- reading -------------------------------------------------------------------------
    def _manifest(self) -> dict:
        try:
            return json.loads((self.root / MANIFEST).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {"format": 1, "batches": []}
        except (OSError, ValueError) as exc:
            raise StoreError(f"store {self.root}: cannot read {MANIFEST}: {exc}") from exc

    def exists(self) -> bool:
        return (self.root / MANIFEST).exists()

    def batches(self) -> list[dict]:
        return list(self._manifest()["batches"])

    def query(self, feed, filters=None, columns=None):
        filters = filters or EventFilter()
        scan = shared_scan(self.url, feed, filters, columns)
        if scan is not None:
            # Rows of the run's one read of the feed (storage.base.share_reads): the same
            # filters but for the dates, applied here; only the query's columns are copied.
            if scan.table is None:
                scan.table = self._read(feed, scan.filters, list(scan.columns))
            mask = _date_mask(scan.table["event_date"], filters)
            table = scan.table.select(columns)
            if not pc.all(mask).as_py():   # else every row: no copy of them
                table = table.filter(mask)
            return table.to_pandas()
        table = self._read(feed, filters, columns)
        if columns is not None:
            table = table.select(columns)
        return table.to_pandas()

    def _read(self, feed: str, filters: EventFilter, columns: list[str] | None) -> pa.Table:
        """One read of the feed's batch files: the rows passing ``filters``, ``columns`` only."""
        schema = stored_schema(feed)
        for attempt in (1, 2):  # a concurrent --replace may delete a file we were about to read
            files = [str(self.root / b["file"]) for b in self.batches() if b["feed"] == feed]
            try:
                if not files:
                    return schema.empty_table()
                dataset = ds.dataset(files, schema=schema, format="parquet")
                return dataset.to_table(columns=columns, filter=_expression(feed, filters))
            except FileNotFoundError:
                if attempt == 2:
                    raise

    def period(self):
        """First and last event date across all feeds, or None for an empty store: from the
        batch files' statistics (each row group's minimum and maximum event date, in its
        footer), not their dates. A file whose row groups lack them (or a file another writer
        has just replaced) has its dates read instead (``Store.period``'s answer either way)."""
        batches = self.batches()
        bounds = [bound for feed in FEEDS for bound in self._date_bounds(feed, batches)]
        return (min(bounds).date(), max(bounds).date()) if bounds else None

    def first_event_dates(self):
        """The earliest event date of each feed, from the files' statistics (as ``period``);
        None for a feed with no dated record."""
        batches = self.batches()
        return {feed: (min(bounds).date() if (bounds := self._date_bounds(feed, batches))
                       else None) for feed in FEEDS}

    def _date_bounds(self, feed: str, batches: list[dict]) -> list[pd.Timestamp]:
        """The earliest and latest event date of each batch file of ``feed`` holding one."""
        bounds = []
        for batch in batches:
            if batch["feed"] != feed:
                continue
            path = self.root / batch["file"]
            try:
                stats = _event_date_statistics(path)
                if stats is None:
                    stats = tuple(_date_bound(pq.read_table(path, columns=["event_date"])
                                              .to_pandas()))
            except FileNotFoundError:  # replaced meanwhile: read the feed as it is now
                return _date_bound(self.query(feed, columns=["event_date"]))
            bounds += [pd.Timestamp(bound) for bound in stats]
        return bounds

    def record_keys(self, feed: str) -> pd.DataFrame:
        return self.query(feed, columns=["record_id", "content_hash"])

    def batch_frame(self, batch: dict) -> pd.DataFrame:
        return pq.read_table(self.root / batch["file"], schema=stored_schema(batch["feed"])
                             ).to_pandas()

    def import_batch(self, batch: dict, frame: pd.DataFrame) -> None:
        with self.lock():
            self._remove_strays()
            manifest = self._manifest()
            if any(b["id"] == batch["id"] for b in manifest["batches"]):
                raise StoreError(f"store {self.root}: batch {batch['id']} is already stored")
            entry = self._write_batch(batch["feed"], frame, batch["id"], batch["source"],
                                      batch["file_name"])
            entry["ingested_at"] = batch["ingested_at"]
            self._commit({**manifest, "batches": [*manifest["batches"], entry]})

    def read_document(self, name: str) -> str | None:
        try:
            return (self.root / name).read_text(encoding="utf-8")
        except FileNotFoundError:
            return None

    def write_document(self, name: str, text: str) -> None:
        target = self.root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, target)

    def update_document(self, name, change):
        """Under the writer lock: read, ``change``, write a temporary file, fsync, rename."""
        target = self.root / name
        with self.lock():
            current = self.read_document(name)
            text = change(current)
            if text is None:
                return current
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f".{target.name}.tmp")
            with open(tmp, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
            return text

    def quarantine_dir(self) -> Path:
        return self.root / "quarantine"

    # -- writing -------------------------------------------------------------------------
    def lock(self) -> filelock.FileLock:
        self.root.mkdir(parents=True, exist_ok=True)
        return filelock.FileLock(str(self.root / "_lock"), timeout=LOCK_TIMEOUT_S)

    def append(self, feed, frame, *, source, file_name, replace=False):
        if source not in ("synthetic", "real"):
            raise ValueError(f"source was {source!r}; expected 'synthetic' or 'real'")
        # The batch's own uniqueness test runs on a helper thread while the batch is written
        # to a file no manifest names yet; its verdict is awaited before anything else is
        # decided or committed, so a batch holding an id twice is refused (``StoreError``,
        # before any other error) and nothing of it is kept, as when it ran first.
        unique = _helpers().submit(check_unique, feed, frame)
        written: list[Path] = []
        try:
            with self.lock():
                self._remove_strays()
                manifest = self._manifest()
                stored = self.record_keys(feed)
                new, unchanged, conflicts = _diff(frame, stored)
                if len(conflicts):
                    unique.result()  # before a conflict is reported or a batch rewritten
                if len(conflicts) and not replace:
                    raise RecordConflict(feed, conflicts["record_id"].tolist())
                if new.empty and conflicts.empty:
                    unique.result()
                    return AppendResult(0, len(unchanged), 0, None)
                batch_id = new_batch_id()
                entries = [b for b in manifest["batches"]]
                if len(conflicts):
                    entries = self._rewrite_without(feed, entries, set(conflicts["record_id"]))
                # No conflicts (every first batch): the new rows as they are, not a copy of
                # every column by concat (0.1 s at 540k rows); the index is not stored anyway.
                rows = pd.concat([new, conflicts], ignore_index=True) if len(conflicts) else new
                entries.append(self._write_batch(feed, rows, batch_id, source, file_name))
                written.append(self.root / entries[-1]["file"])
                unique.result()
                self._commit({**manifest, "batches": entries})
                return AppendResult(len(new), len(unchanged), len(conflicts), batch_id)
        except BaseException:
            for path in written:  # named by no manifest: never part of the store
                path.unlink(missing_ok=True)
            unique.result()  # the batch's own duplicate ids are the error reported first
            raise

    def _write_batch(self, feed, frame, batch_id, source, file_name) -> dict:
        relative, rows = self._write_file(feed, frame, batch_id)
        return {"id": batch_id, "feed": feed, "file": relative, "rows": rows,
                "source": source, "file_name": str(file_name),
                "ingested_at": clock.now().isoformat(timespec="seconds")}

    def _write_file(self, feed, frame, stem) -> tuple[str, int]:
        """Write ``frame`` to ``<feed>/<stem>.parquet`` (temporary file, fsync, rename), its rows
        in event date order (:func:`sorted_table`)."""
        relative = f"{feed}/{stem}.parquet"
        final = self.root / relative
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = final.with_name(f".tmp-{stem}.parquet")
        rows = write_sorted(frame, stored_schema(feed), tmp)
        fsync_file(tmp)
        os.replace(tmp, final)  # visible only once the manifest names it
        return relative, rows

    def remove(self, selection: Selection) -> Removed:
        """Under the lock: rewrite each batch file holding selected records without them (same
        batch id, a new file name), swap the manifest, then delete the old files (``_commit``).
        Killed before the swap: the old store, and the new files are strays the next writer
        deletes; killed after it: the new store, and the old files are strays likewise."""
        with self.lock():
            self._remove_strays()
            manifest = self._manifest()
            kept, gone, removed, changed = [], [], [], []
            for entry in manifest["batches"]:
                feed = entry["feed"]
                if selection.batch_ids and entry["id"] not in selection.batch_ids:
                    kept.append(entry)
                    continue
                frame = self.batch_frame(entry)
                mask = selection.mask(feed, entry["id"], frame)
                if not mask.any():
                    kept.append(entry)
                    continue
                gone.append(pd.DataFrame({"feed": feed,
                                          "year": frame.loc[mask, "event_date"].dt.year}))
                rest = frame[~mask]
                if rest.empty:
                    removed.append(entry["id"])
                    continue
                stem = f"{entry['id']}.v{int(manifest.get('version', 0)) + 1}"
                relative, rows = self._write_file(feed, rest, stem)
                kept.append({**entry, "file": relative, "rows": rows})
                changed.append(entry["id"])
            if not gone:
                return Removed({})
            self._commit({**manifest, "batches": kept})
        return Removed(year_counts(pd.concat(gone, ignore_index=True)), tuple(removed),
                       tuple(changed))

    def _rewrite_without(self, feed, entries, record_ids) -> list[dict]:
        """Rewrite the batches of ``feed`` holding ``record_ids`` without them (for --replace)."""
        kept = []
        for entry in entries:
            if entry["feed"] != feed:
                kept.append(entry)
                continue
            table = pq.read_table(self.root / entry["file"], schema=stored_schema(feed))
            mask = pc.is_in(table["record_id"], value_set=pa.array(sorted(record_ids)))
            if not pc.any(mask).as_py():
                kept.append(entry)
                continue
            rest = table.filter(pc.invert(mask)).to_pandas()
            if len(rest):
                kept.append(self._write_batch(feed, rest, new_batch_id(), entry["source"],
                                              entry["file_name"]))
        return kept

    def _commit(self, manifest: dict) -> None:
        old = {b["file"] for b in self._manifest()["batches"]}
        manifest["version"] = int(manifest.get("version", 0)) + 1
        tmp = self.root / f".{MANIFEST}.tmp"
        tmp.write_text(json.dumps(manifest, indent=1), encoding="utf-8")
        fsync_file(tmp)
        os.replace(tmp, self.root / MANIFEST)  # the commit point
        for gone in old - {b["file"] for b in manifest["batches"]}:
            (self.root / gone).unlink(missing_ok=True)

    def _remove_strays(self) -> None:
        """Delete files a killed writer left behind (called under the lock)."""
        listed = {b["file"] for b in self._manifest()["batches"]}
        for feed in FEEDS:
            folder = self.root / feed
            if folder.is_dir():
                for path in folder.iterdir():
                    if f"{feed}/{path.name}" not in listed and path.suffix == ".parquet":
                        path.unlink(missing_ok=True)
        (self.root / f".{MANIFEST}.tmp").unlink(missing_ok=True)


def sorted_table(frame: pd.DataFrame, schema: pa.Schema) -> pa.Table:
    """``frame`` as an Arrow table of ``schema``, rows in the order
    ``frame.sort_values("event_date")`` gives (the same sort of the same dates, so ties keep
    the same order), without sorting every pandas column first: the rows are converted once,
    then taken in that order by Arrow."""
    table, order = _table_and_order(frame, schema)
    return table.take(order)


def _table_and_order(frame: pd.DataFrame, schema: pa.Schema) -> tuple[pa.Table, pa.Array]:
    order = pd.Series(frame["event_date"].to_numpy(), copy=False).sort_values().index
    table = pa.Table.from_pandas(frame, schema=schema, preserve_index=False)
    return table, pa.array(order.to_numpy(), type=pa.int64())


def write_options(schema: pa.Schema) -> dict:
    """How every batch file is written (``pq.write_table``/``ParquetWriter`` options). Files
    written before statistics were limited to ``STATISTICS_COLUMNS`` (every column had them)
    read and append the same: the options change how values are encoded, never the schema,
    rows or values."""
    return {"compression": "zstd",
            "use_dictionary": [c for c in schema.names if c not in DISTINCT_COLUMNS],
            "write_statistics": [c for c in schema.names if c in STATISTICS_COLUMNS]}


def write_sorted(frame: pd.DataFrame, schema: pa.Schema, path: Path) -> int:
    """Write :func:`sorted_table` of ``frame`` to ``path`` in row groups of
    ``ROW_GROUP_SIZE`` rows, the same file as ``pq.write_table(sorted_table(...), path,
    row_group_size=ROW_GROUP_SIZE, **write_options(schema))`` (a test compares the bytes):
    each row group's rows are taken (Arrow, on a helper thread) while the one before is
    encoded and compressed here, instead of taking every row before writing the first.
    Returns the number of rows."""
    table, order = _table_and_order(frame, schema)
    options = write_options(table.schema)
    if len(order) <= ROW_GROUP_SIZE:  # one row group: nothing to overlap
        pq.write_table(table.take(order), path, row_group_size=ROW_GROUP_SIZE, **options)
        return table.num_rows
    starts = range(0, len(order), ROW_GROUP_SIZE)
    pieces = [_helpers().submit(table.take, order.slice(start, ROW_GROUP_SIZE))
              for start in starts]
    try:
        with pq.ParquetWriter(path, table.schema, **options) as writer:
            for piece in pieces:
                writer.write_table(piece.result(), row_group_size=ROW_GROUP_SIZE)
    finally:
        for piece in pieces:
            piece.cancel()
    return table.num_rows


_HELPERS: list = []
_HELPERS_LOCK = threading.Lock()


def _helpers() -> ThreadPoolExecutor:
    """Two threads for a batch write's side work (its uniqueness test, taking its rows in
    order); made per process (a forked child has no copy of its parent's threads)."""
    with _HELPERS_LOCK:
        if not _HELPERS or _HELPERS[0][0] != os.getpid():
            _HELPERS[:] = [(os.getpid(), ThreadPoolExecutor(
                max_workers=2, thread_name_prefix="store-write"))]
        return _HELPERS[0][1]


def _diff(frame: pd.DataFrame, stored: pd.DataFrame):
    """Split incoming rows into new, unchanged (same id and hash) and conflicting ones."""
    if stored.empty:  # a first batch: every row is new (and no per-row look-up is needed)
        return frame, frame.iloc[:0], frame.iloc[:0]
    known = dict(zip(stored["record_id"], stored["content_hash"]))
    prior = frame["record_id"].map(known)
    is_new = prior.isna()
    same = ~is_new & (prior == frame["content_hash"])
    return frame[is_new], frame[same], frame[~is_new & ~same]


def _event_date_statistics(path: Path) -> tuple | None:
    """(earliest, latest) event date of a batch file from its row groups' statistics, ``()``
    when it holds no date (no rows, or nulls only), None when a row group holding dates has no
    statistics of them (then the dates must be read)."""
    metadata = pq.read_metadata(path)
    index = metadata.schema.to_arrow_schema().get_field_index("event_date")
    low = high = None
    for group in range(metadata.num_row_groups):
        column = metadata.row_group(group).column(index)
        stats = column.statistics
        if stats is not None and stats.has_min_max:
            low = stats.min if low is None else min(low, stats.min)
            high = stats.max if high is None else max(high, stats.max)
        elif not (stats is not None and stats.has_null_count
                  and stats.null_count == column.num_values):
            return None
    return () if low is None else (low, high)


def _date_bound(frame: pd.DataFrame) -> list:
    """[earliest, latest] of the frame's event dates, [] when it has none."""
    dates = frame["event_date"].dropna()
    return [dates.min(), dates.max()] if len(dates) else []


def _date_expression(f: EventFilter):
    """The part of a query's filter on its dates (inclusive start and end dates)."""
    expr = pc.scalar(True)
    if f.start:
        expr &= pc.field("event_date") >= pa.scalar(pd.Timestamp(f.start), pa.timestamp("ms"))
    if f.end:  # inclusive end date
        end = pd.Timestamp(f.end) + pd.Timedelta(days=1)
        expr &= pc.field("event_date") < pa.scalar(end, pa.timestamp("ms"))
    return expr


def _date_mask(dates: pa.ChunkedArray, f: EventFilter) -> pa.ChunkedArray:
    """Which of ``dates`` :func:`_date_expression` keeps (a null date: null, so not kept)."""
    mask = pc.is_valid(dates)
    if f.start:
        mask = pc.and_(mask, pc.greater_equal(
            dates, pa.scalar(pd.Timestamp(f.start), pa.timestamp("ms"))))
    if f.end:
        end = pd.Timestamp(f.end) + pd.Timedelta(days=1)
        mask = pc.and_(mask, pc.less(dates, pa.scalar(end, pa.timestamp("ms"))))
    return mask


def _expression(feed: str, f: EventFilter):
    expr = _date_expression(f)
    for column, values in (("district_code", f.districts), ("ward_code", f.wards),
                           ("age_group", f.age_groups)):
        if values:
            expr &= pc.field(column).isin(list(values))
    if feed == "nrm" and f.exploitation_types:
        expr &= _any_token("exploitation_type", f.exploitation_types)
    if feed == "mandevilla" and f.indicators:
        expr &= _any_token("indicators", f.indicators)
    if feed == "rosewood" and f.rosewood_status:
        found = pc.field("found_at").is_valid()
        expr &= found if f.rosewood_status == "found" else pc.invert(found)
    return expr


def _any_token(column: str, tokens) -> ds.Expression:
    pattern = "(^|;)(" + "|".join(t for t in tokens if t.replace("_", "").isalnum()) + ")(;|$)"
    return pc.match_substring_regex(pc.field(column), pattern)
