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
"""
from __future__ import annotations

import datetime as dt
import json
import os
import uuid
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

import filelock
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from data.errors import ConfigError, StoreError
from data.filters import EventFilter
from data.schema import FEEDS, feed_fields

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


def open_store(url: str | os.PathLike | None = None) -> Store:
    """Open the store named by ``url``, else by ``STORE_URL``, else ``./store``."""
    url = str(url or os.environ.get("STORE_URL") or DEFAULT_STORE)
    if "://" in url and not url.startswith("file://"):
        raise ConfigError(f"STORE_URL {url!r}: only a directory path is supported by this version "
                          "(the PostgreSQL backend is planned); set STORE_URL to a folder")
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

    # -- writing -------------------------------------------------------------------------
    def lock(self) -> filelock.FileLock:
        self.root.mkdir(parents=True, exist_ok=True)
        return filelock.FileLock(str(self.root / "_lock"), timeout=LOCK_TIMEOUT_S)

    def append(self, feed, frame, *, source, file_name, replace=False):
        if source not in ("synthetic", "real"):
            raise ValueError(f"source was {source!r}; expected 'synthetic' or 'real'")
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
