"""The store: where validated, geomasked records live, behind one interface.

``open_store()`` picks the backend from a single setting, ``STORE_URL`` (a directory path by
default). The embedded backend is a Parquet dataset written with pyarrow:

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

    python -m storage.base copy --from URL --to URL   move a store between backends (checked)
    python -m storage.base migrate [--store URL]      create or upgrade a PostGIS store's schema
    python -m storage.base checksum [--store URL]     records per feed and a content checksum
"""
from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import sys
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import filelock
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from core.errors import ConfigError, StoreError
from core.filters import EventFilter
from core.schema import FEEDS, feed_fields

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_STORE = PROJECT_ROOT / "store"
MANIFEST = "_manifest.json"
LOCK_TIMEOUT_S = 600
ROW_GROUP_SIZE = 131_072

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


def open_store(url: str | os.PathLike | None = None) -> Store:
    """Open the store named by ``url``, else by ``STORE_URL``, else ``./store``.

    A folder (or ``file://`` URL) is the embedded Parquet store; ``postgresql://`` is the PostGIS
    store (its schema is created or migrated on first use).
    """
    url = str(url or os.environ.get("STORE_URL") or DEFAULT_STORE)
    if "://" in url and not url.startswith("file://"):
        from storage import postgis as store_pg  # noqa: PLC0415 (SQLAlchemy only when it is used)

        if store_pg.is_postgres_url(url):
            return store_pg.PostgisStore(url)
        raise ConfigError(f"STORE_URL {url.split('://')[0]}://...: unsupported kind of store; "
                          "use a folder path (embedded store) or postgresql://user@host/db")
    return ParquetStore(Path(url.removeprefix("file://")))


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
        schema = stored_schema(feed)
        for attempt in (1, 2):  # a concurrent --replace may delete a file we were about to read
            files = [str(self.root / b["file"]) for b in self.batches() if b["feed"] == feed]
            try:
                if not files:
                    table = schema.empty_table()
                else:
                    dataset = ds.dataset(files, schema=schema, format="parquet")
                    table = dataset.to_table(columns=columns,
                                             filter=_expression(feed, filters or EventFilter()))
                break
            except FileNotFoundError:
                if attempt == 2:
                    raise
        if columns is not None:
            table = table.select(columns)
        return table.to_pandas()

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
        check_unique(feed, frame)
        with self.lock():
            self._remove_strays()
            manifest = self._manifest()
            stored = self.record_keys(feed)
            new, unchanged, conflicts = _diff(frame, stored)
            if len(conflicts) and not replace:
                raise RecordConflict(feed, conflicts["record_id"].tolist())
            if new.empty and conflicts.empty:
                return AppendResult(0, len(unchanged), 0, None)
            batch_id = _new_batch_id()
            entries = [b for b in manifest["batches"]]
            if len(conflicts):
                entries = self._rewrite_without(feed, entries, set(conflicts["record_id"]))
            rows = pd.concat([new, conflicts], ignore_index=True)
            entries.append(self._write_batch(feed, rows, batch_id, source, file_name))
            self._commit({**manifest, "batches": entries})
            return AppendResult(len(new), len(unchanged), len(conflicts), batch_id)

    def _write_batch(self, feed, frame, batch_id, source, file_name) -> dict:
        table = pa.Table.from_pandas(frame.sort_values("event_date"), schema=stored_schema(feed),
                                     preserve_index=False)
        relative = f"{feed}/{batch_id}.parquet"
        final = self.root / relative
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = final.with_name(f".tmp-{batch_id}.parquet")
        pq.write_table(table, tmp, row_group_size=ROW_GROUP_SIZE, compression="zstd")
        _fsync(tmp)
        os.replace(tmp, final)  # visible only once the manifest names it
        return {"id": batch_id, "feed": feed, "file": relative, "rows": table.num_rows,
                "source": source, "file_name": str(file_name),
                "ingested_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}

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
                kept.append(self._write_batch(feed, rest, _new_batch_id(), entry["source"],
                                              entry["file_name"]))
        return kept

    def _commit(self, manifest: dict) -> None:
        old = {b["file"] for b in self._manifest()["batches"]}
        manifest["version"] = int(manifest.get("version", 0)) + 1
        tmp = self.root / f".{MANIFEST}.tmp"
        tmp.write_text(json.dumps(manifest, indent=1), encoding="utf-8")
        _fsync(tmp)
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


def check_unique(feed: str, frame: pd.DataFrame) -> None:
    """Refuse a batch that holds a record_id twice (ingestion refuses such files earlier)."""
    twice = frame["record_id"][frame["record_id"].duplicated()]
    if len(twice):
        raise StoreError(f"{feed}: {twice.nunique()} record_id(s) appear more than once in one "
                         f"batch, e.g. {sorted(set(twice))[:5]}; nothing was stored")


def _diff(frame: pd.DataFrame, stored: pd.DataFrame):
    """Split incoming rows into new, unchanged (same id and hash) and conflicting ones."""
    known = dict(zip(stored["record_id"], stored["content_hash"]))
    prior = frame["record_id"].map(known)
    is_new = prior.isna()
    same = ~is_new & (prior == frame["content_hash"])
    return frame[is_new], frame[same], frame[~is_new & ~same]


def _expression(feed: str, f: EventFilter):
    expr = pc.scalar(True)
    if f.start:
        expr &= pc.field("event_date") >= pa.scalar(pd.Timestamp(f.start), pa.timestamp("ms"))
    if f.end:  # inclusive end date
        end = pd.Timestamp(f.end) + pd.Timedelta(days=1)
        expr &= pc.field("event_date") < pa.scalar(end, pa.timestamp("ms"))
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


def _new_batch_id() -> str:
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S")
    return f"{stamp}-{uuid.uuid4().hex[:8]}"


def _fsync(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


# -- command line: copy between backends, migrate, checksum ------------------------------------
# Side documents that travel with a store: the synthetic ground truth and the tasking
# records (views.tasking.TASKS_DOCUMENT; not imported here: views.tasking imports this module).
DOCUMENTS = ("_synthetic_truth.json", "_tasking/tasks.json")


@dataclass(frozen=True)
class CopyReport:
    batches: int
    records: dict[str, int]
    checksums: dict[str, str]
    audit_entries: int
    documents: list[str]

    def __str__(self) -> str:
        lines = [f"copied {self.batches} batch(es), {self.audit_entries} audit entries, "
                 f"documents: {', '.join(self.documents) or 'none'}"]
        lines += [f"  {feed:<10} {n:>10,} records  sha256 {self.checksums[feed][:16]}…  identical"
                  for feed, n in self.records.items()]
        return "\n".join(lines)


def copy_store(source: str | Store, target: str | Store) -> CopyReport:
    """Copy every batch, side document and the audit log from ``source`` into an empty ``target``.

    Batches keep their ids, sources, file names and times; audit entries are copied as stored, so
    the hash chain (and any head kept outside) still verifies. Afterwards the record counts and
    checksums of every feed, the batch lists and the audit chains of both stores are compared;
    ``StoreError`` if anything differs. Into a database (a target with ``import_store``) the
    whole copy is one transaction, so a copy that fails part way leaves the target empty.
    """
    from safeguards import audit  # noqa: PLC0415 (audit imports this module)

    src = source if isinstance(source, Store) else open_store(source)
    dst = target if isinstance(target, Store) else open_store(target)
    src_sink, dst_sink = audit.audit_sink(src), audit.audit_sink(dst)
    if dst.batches() or dst_sink.last() is not None:
        raise StoreError(f"target store {dst.url} is not empty: copy only into a new store "
                         "(a new folder, or a new empty database)")
    texts = {name: text for name in DOCUMENTS
             if (text := src.read_document(name)) is not None}
    documents = list(texts)
    lines, head = list(src_sink.read()), src_sink.head()
    batches = ((batch, src.batch_frame(batch)) for batch in src.batches())
    if hasattr(dst, "import_store"):
        # A database target takes the whole copy in one transaction: a failure part way leaves
        # it empty, and the copy can simply be run again.
        dst.import_store(batches, texts, lines, head)
    else:
        for batch, frame in batches:
            dst.import_batch(batch, frame)
        for name, text in texts.items():
            dst.write_document(name, text)
        _import_audit(dst_sink, lines, head)

    records, checksums = {}, {}
    for feed in FEEDS:
        before, after = src.checksum(feed), dst.checksum(feed)
        if before != after:
            raise StoreError(f"copy check failed for {feed}: source {before[0]} records "
                             f"({before[1][:12]}), target {after[0]} ({after[1][:12]})")
        records[feed], checksums[feed] = before
    keys = ("id", "feed", "rows", "source", "file_name", "ingested_at")
    if [{k: b[k] for k in keys} for b in src.batches()] != \
            [{k: b[k] for k in keys} for b in dst.batches()]:
        raise StoreError("copy check failed: the batch lists differ")
    ends = [(h or {}).get("seq") and (h["seq"], h["hash"]) for h in (head, dst_sink.head())]
    if list(dst_sink.read()) != lines or ends[0] != ends[1]:
        raise StoreError("copy check failed: the audit logs differ")
    for name in documents:
        if dst.read_document(name) != src.read_document(name):
            raise StoreError(f"copy check failed: document {name} differs")
    return CopyReport(len(src.batches()), records, checksums, len(lines), documents)


def _import_audit(sink, lines: list[str], head: dict | None) -> None:
    if not lines and head is None:
        return
    if hasattr(sink, "import_entries"):
        sink.import_entries(lines, head)
        return
    from safeguards import audit  # noqa: PLC0415

    if not isinstance(sink, audit.FileAuditSink):
        raise StoreError(f"cannot copy an audit log into {sink!r}")
    with sink.writing():
        sink.root.mkdir(parents=True, exist_ok=True)
        tmp = sink.root / f".{audit.LOG_FILE}.tmp"
        tmp.write_bytes("".join(line + "\n" for line in lines).encode("utf-8"))
        _fsync(tmp)
        os.replace(tmp, sink.log_path)
        if head is not None:
            sink.head_path.write_text(json.dumps(head), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m storage.base",
                                     description="Store maintenance: copy, migrate, checksum.")
    commands = parser.add_subparsers(dest="command", required=True)
    copy = commands.add_parser("copy", help="copy a whole store into a new, empty one")
    copy.add_argument("--from", dest="source", required=True, help="source folder or URL")
    copy.add_argument("--to", dest="target", required=True, help="target folder or URL (empty)")
    for name, text in (("migrate", "create or upgrade the schema of a postgresql:// store"),
                       ("checksum", "records per feed and a content checksum")):
        sub = commands.add_parser(name, help=text)
        sub.add_argument("--store", help="store URL or folder (default: STORE_URL, else ./store)")
    args = parser.parse_args(argv)
    try:
        if args.command == "copy":
            try:
                print(copy_store(args.source, args.target))
            except StoreError as exc:
                if str(exc).startswith("copy check failed"):
                    raise StoreError(f"{exc}. The target holds a copy that differs from the "
                                     "source: do not use it; empty it and copy again") from exc
                raise
        elif args.command == "migrate":
            store = open_store(args.store)
            if not hasattr(store, "engine"):
                print(f"{store.url}: an embedded store has no schema to migrate")
                return 0
            from storage.postgis import current_revision  # noqa: PLC0415

            print(f"{store.url}: schema at revision {current_revision(store.url)}")
        else:
            store = open_store(args.store)
            for feed in FEEDS:
                n, digest = store.checksum(feed)
                print(f"{feed:<10} {n:>10,} records  sha256 {digest}")
    except (ConfigError, StoreError) as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    # Run through the package module, so that classes are the ones storage.postgis subclasses.
    from storage.base import main as _main

    sys.exit(_main())
