"""The PostgreSQL + PostGIS store: ``STORE_URL=postgresql://user@host:5432/db``.

Same ``Store`` interface and behaviour as the embedded Parquet store (``storage.base``), for
deployments with several analysts, uploading partners and dashboard instances:

- **Schema** created and migrated by the application with Alembic (``storage/migrations/``,
  ``storage.pg_engine``) when the store is first opened, under an advisory lock;
  ``python -m storage migrate`` does it explicitly. The PostGIS extension must be available on
  the server (the migration creates it if the user may, else says what to ask the DBA for).
- **Tables**: ``batches``; one ``events_<feed>`` table per feed with ``record_id`` as primary key
  and ``geom``, the geomasked cell centre as a ``Point`` in British National Grid (EPSG:27700),
  generated from easting/northing and GiST-indexed; ``audit_log`` + ``audit_head`` (the same hash
  chain as the file log, ``safeguards.audit``; the sink is ``storage.pg_audit``); ``documents``
  (small text files such as the synthetic ground truth).
- **Removal** (withdrawal, retention purge): one transaction, then ``VACUUM (FULL, ANALYZE)``.
- **Ingestion is one transaction per file**: rows are COPYed into a temporary table, compared with
  what is stored, and inserted under a per-feed advisory lock; a refused or failed file leaves
  nothing. Concurrent ingests from several processes serialise on the lock, and the primary key
  guarantees each record lands once.
- **Reads** push filters into SQL and stream the result with ``COPY ... TO STDOUT`` into Arrow,
  converted exactly as the Parquet store converts (same dtypes). ``counts`` groups by area and
  period in SQL.

Passwords: prefer ``PGPASSWORD`` or a ``~/.pgpass`` file to a password in the URL. If the URL
has one, ``store.url`` shows it masked (``***``), and ``open_store`` accepts the masked URL in
the same process.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import os
from collections.abc import Iterable
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from core import clock
from core.errors import StoreError
from core.filters import EventFilter
from core.schema import FEEDS, check_feed
from storage.base import (
    PROJECT_ROOT,
    AppendResult,
    RecordConflict,
    Removed,
    Selection,
    Store,
    check_unique,
    new_batch_id,
    stored_schema,
)
from storage.pg_audit import AUDIT_LOCK_KEY, PgAuditSink, import_audit_entries
from storage.pg_engine import (  # noqa: F401 (the names this module has always offered)
    MIGRATIONS,
    current_revision,
    dispose_engines,
    engine_for,
    engine_url,
    ensure_schema,
    first_line,
    full_url,
    head_revision,
    is_postgres_url,
    masked,
    migrate,
    remember_full_url,
)
from storage.pg_filters import where_clause

SRID = 27700
#: Tables a removal deleted rows from and has not vacuumed yet (see ``_pending_vacuum``).
PENDING_VACUUM = "_lifecycle/vacuum-pending.json"
_LOCK_DOCUMENT = 7_000_003  # with hashtext(name): one lock per side document
_LOCK_FEED = {feed: 7_000_100 + i for i, feed in enumerate(FEEDS)}
_PG_TYPES = {pa.string(): "text", pa.timestamp("ms"): "timestamp", pa.bool_(): "boolean",
             pa.int32(): "integer", pa.int16(): "smallint", pa.float64(): "double precision"}


class PostgisStore(Store):
    """The shared store in PostgreSQL + PostGIS (see the module docstring)."""

    def __init__(self, url: str, *, migrate_schema: bool = True):
        full = full_url(url)
        self.url = remember_full_url(full)
        self._full_url = full
        self.engine = engine_for(full)
        if migrate_schema:
            ensure_schema(full)

    def __repr__(self) -> str:
        return f"PostgisStore({self.url!r})"

    # -- connections ---------------------------------------------------------------------------
    @contextlib.contextmanager
    def connection(self):
        """A raw psycopg connection from the pool, in one transaction (committed on success)."""
        from sqlalchemy import exc as sa_exc

        try:
            raw = self.engine.raw_connection()
        except sa_exc.SQLAlchemyError as exc:
            raise StoreError(f"store {self.url}: cannot connect: {first_line(exc)}") from exc
        try:
            conn = raw.driver_connection
            with conn.transaction():
                yield conn
        finally:
            raw.close()

    def scalar_rows(self, statement, params=None) -> list[tuple]:
        with self.connection() as conn:
            return conn.execute(statement, params).fetchall()

    # -- reading -------------------------------------------------------------------------------
    def exists(self) -> bool:
        return bool(self.batches())

    def batches(self) -> list[dict]:
        rows = self.scalar_rows("SELECT id, feed, rows, source, file_name, ingested_at "
                                 "FROM batches ORDER BY pos")
        return [{"id": r[0], "feed": r[1], "rows": r[2], "source": r[3], "file_name": r[4],
                 "ingested_at": r[5].astimezone(dt.timezone.utc).isoformat(timespec="seconds")}
                for r in rows]

    def sources(self) -> set[str]:
        return {r[0] for r in self.scalar_rows("SELECT DISTINCT source FROM batches")}

    def query(self, feed, filters=None, columns=None):
        check_feed(feed)
        schema = stored_schema(feed)
        wanted = list(columns) if columns is not None else schema.names
        unknown = [c for c in wanted if c not in schema.names]
        if unknown:
            raise StoreError(f"{feed}: no such column(s) {unknown}")
        from psycopg import sql

        select = sql.SQL("SELECT {} FROM {} WHERE {}").format(
            sql.SQL(", ").join(map(sql.Identifier, wanted)), sql.Identifier(f"events_{feed}"),
            where_clause(feed, filters or EventFilter()))
        return self._copy_out(select, pa.schema([schema.field(c) for c in wanted])).to_pandas()

    def _copy_out(self, select, schema: pa.Schema) -> pa.Table:
        """Run ``select`` as COPY ... TO STDOUT (CSV) and parse it with Arrow into ``schema``."""
        from psycopg import sql

        buffer = io.BytesIO()
        with self.connection() as conn, conn.cursor() as cursor:
            with cursor.copy(sql.SQL("COPY ({}) TO STDOUT WITH (FORMAT csv)").format(select)) \
                    as copy:
                for block in copy:
                    buffer.write(block)
        if not schema.names:
            return pa.table({})
        if buffer.tell() == 0:
            return schema.empty_table()
        buffer.seek(0)
        return pacsv.read_csv(
            buffer,
            read_options=pacsv.ReadOptions(column_names=schema.names, block_size=1 << 24),
            convert_options=pacsv.ConvertOptions(
                column_types=schema, strings_can_be_null=True, quoted_strings_can_be_null=False,
                null_values=[""], true_values=["t"], false_values=["f"]),
            parse_options=pacsv.ParseOptions(newlines_in_values=True))

    def record_keys(self, feed: str) -> pd.DataFrame:
        return self.query(feed, columns=["record_id", "content_hash"])

    def counts(self, feed, by, filters=None, freq=None):
        """Counts grouped in SQL; same result as ``Store.counts`` (rows with a null key dropped)."""
        check_feed(feed)
        from psycopg import sql

        schema = stored_schema(feed)
        for column in by:
            if column not in schema.names:
                raise StoreError(f"{feed}: no such column {column!r}")
        keys = [sql.Identifier(c) for c in by]
        if freq:
            unit = {"M": "month", "Q": "quarter", "Y": "year", "A": "year"}.get(freq)
            if unit is None:
                raise ValueError(f"freq was {freq!r}; expected 'M', 'Q' or 'Y'")
            keys.append(sql.SQL("date_trunc({}, event_date)").format(sql.Literal(unit)))
        not_null = [sql.SQL("{} IS NOT NULL").format(sql.Identifier(c)) for c in by]
        where = sql.SQL(" AND ").join([where_clause(feed, filters or EventFilter()), *not_null])
        select = sql.SQL("SELECT {keys}, count(*) FROM {table} WHERE {where} GROUP BY {keys}"
                         ).format(keys=sql.SQL(", ").join(keys),
                                  table=sql.Identifier(f"events_{feed}"), where=where)
        out_schema = pa.schema([schema.field(c) for c in by]
                               + ([pa.field("period", pa.timestamp("ms"))] if freq else [])
                               + [pa.field("count", pa.int64())])
        frame = self._copy_out(select, out_schema).to_pandas()
        names = [*by, "period"] if freq else list(by)
        if frame.empty:
            return pd.DataFrame(columns=[*names, "count"])
        if freq:
            frame["period"] = frame["period"].dt.to_period(freq)
        return frame.sort_values(names, ignore_index=True)

    def cell_counts(self, feed: str, filters: EventFilter | None = None,
                    cell_m: int = 100) -> pd.DataFrame:
        """Records per square BNG cell of ``cell_m`` metres, grouped in SQL: the same frame as
        ``Store.cell_counts``. Grouped on the integer easting/northing that ``geom`` is made
        from (up to 2x faster than ``ST_X(geom)``, same cells: BNG coordinates are never
        negative, so integer division is the floor division NumPy does; bench/bench_cells.py)."""
        check_feed(feed)
        from psycopg import sql

        size = sql.Literal(int(cell_m))
        select = sql.SQL(
            "SELECT (easting / {s}) * {s} + {s} / 2, (northing / {s}) * {s} + {s} / 2, "
            "count(*) FROM {t} WHERE easting IS NOT NULL AND northing IS NOT NULL AND {w} "
            "GROUP BY 1, 2 ORDER BY 1, 2").format(
            s=size, t=sql.Identifier(f"events_{feed}"), w=where_clause(feed, filters or EventFilter()))
        schema = pa.schema([("easting", pa.int64()), ("northing", pa.int64()),
                            ("count", pa.int64())])
        return self._copy_out(select, schema).to_pandas()

    def period(self):
        parts = " UNION ALL ".join(f"SELECT min(event_date), max(event_date) FROM events_{f}"
                                   for f in FEEDS)
        rows = [r for r in self.scalar_rows(parts) if r[0] is not None]
        if not rows:
            return None
        return min(r[0] for r in rows).date(), max(r[1] for r in rows).date()

    # -- writing -------------------------------------------------------------------------------
    def append(self, feed, frame, *, source, file_name, replace=False):
        if source not in ("synthetic", "real"):
            raise ValueError(f"source was {source!r}; expected 'synthetic' or 'real'")
        check_feed(feed)
        check_unique(feed, frame)
        table = pa.Table.from_pandas(frame, schema=stored_schema(feed), preserve_index=False)
        with self.connection() as conn:
            return self._append(conn, feed, table, source=source, file_name=str(file_name),
                                replace=replace)

    def _append(self, conn, feed, table: pa.Table, *, source, file_name, replace,
                batch_id=None, ingested_at=None) -> AppendResult:
        from psycopg import sql

        events = sql.Identifier(f"events_{feed}")
        conn.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_FEED[feed]])
        columns = table.schema.names
        conn.execute(sql.SQL("CREATE TEMP TABLE incoming ({}) ON COMMIT DROP").format(
            sql.SQL(", ").join(sql.SQL("{} {}").format(sql.Identifier(f.name),
                                                       sql.SQL(_PG_TYPES[f.type]))
                               for f in table.schema)))
        _copy_in(conn, "incoming", columns, table)
        new, unchanged, conflicts = conn.execute(sql.SQL(
            "SELECT count(*) FILTER (WHERE e.record_id IS NULL), "
            "count(*) FILTER (WHERE e.content_hash = i.content_hash), "
            "coalesce(array_agg(i.record_id ORDER BY i.record_id) "
            "FILTER (WHERE e.content_hash <> i.content_hash), '{{}}') "
            "FROM incoming i LEFT JOIN {} e USING (record_id)").format(events)).fetchone()
        if conflicts and not replace:
            raise RecordConflict(feed, list(conflicts))
        if not new and not conflicts:
            conn.execute("DROP TABLE incoming")
            return AppendResult(0, unchanged, 0, None)
        batch_id = batch_id or new_batch_id()
        stamp = ingested_at or clock.now().replace(microsecond=0)
        conn.execute("INSERT INTO batches (id, feed, rows, source, file_name, ingested_at) "
                     "VALUES (%s, %s, %s, %s, %s, %s)",
                     [batch_id, feed, new + len(conflicts), source, file_name, stamp])
        if conflicts:
            conn.execute(sql.SQL(
                "WITH gone AS (DELETE FROM {} e USING incoming i WHERE e.record_id = i.record_id "
                "AND e.content_hash <> i.content_hash RETURNING e.batch_id), "
                "per AS (SELECT batch_id, count(*) AS n FROM gone GROUP BY batch_id) "
                "UPDATE batches b SET rows = b.rows - per.n FROM per WHERE b.id = per.batch_id"
            ).format(events))
            conn.execute("DELETE FROM batches WHERE feed = %s AND rows = 0", [feed])
        names = sql.SQL(", ").join(map(sql.Identifier, columns))
        conn.execute(sql.SQL(
            "INSERT INTO {events} ({names}, batch_id) SELECT {names}, %s FROM incoming i "
            "WHERE NOT EXISTS (SELECT 1 FROM {events} e WHERE e.record_id = i.record_id)"
        ).format(events=events, names=names), [batch_id])
        conn.execute("DROP TABLE incoming")
        return AppendResult(new, unchanged, len(conflicts), batch_id)

    # -- removing records (withdrawal, retention) -----------------------------------------------
    def remove(self, selection: Selection) -> Removed:
        """One transaction under the feeds' locks: delete the selected rows, lower the batches'
        row counts, delete emptied batches; then ``VACUUM (FULL, ANALYZE)`` of every table
        touched, which rewrites it (and its indexes) into new files without the dead rows.
        Killed before the commit: nothing was removed. Killed after it, before the vacuum: the
        rows are gone for every reader, and the next removal (or any VACUUM FULL) rewrites the
        files."""
        from psycopg import sql

        if selection.before:
            feeds = [f for f in FEEDS if f in selection.before]
            condition, param = "event_date < %s", None
        elif selection.record_ids:
            feeds = [f for f in FEEDS if f in selection.feeds]
            condition, param = "record_id = ANY(%s)", sorted(selection.record_ids)
        else:
            feeds = list(FEEDS)
            condition, param = "batch_id = ANY(%s)", sorted(selection.batch_ids)
        gone: list[tuple[str, str, int, int]] = []
        with self.connection() as conn:
            for feed in feeds:  # always in the same order: two removals never deadlock
                conn.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_FEED[feed]])
            for feed in feeds:
                value = param if param is not None else dt.datetime.combine(
                    selection.before[feed], dt.time())
                statement = sql.SQL(
                    "WITH gone AS (DELETE FROM {} WHERE " + condition + " RETURNING batch_id, "
                    "extract(year FROM event_date)::int AS year) "
                    "SELECT batch_id, year, count(*) FROM gone GROUP BY 1, 2"
                ).format(sql.Identifier(f"events_{feed}"))
                gone += [(feed, *row) for row in conn.execute(statement, [value]).fetchall()]
            per_batch: dict[str, int] = {}
            for _, batch_id, _, n in gone:
                per_batch[batch_id] = per_batch.get(batch_id, 0) + n
            for batch_id, n in per_batch.items():
                conn.execute("UPDATE batches SET rows = rows - %s WHERE id = %s", [n, batch_id])
            emptied = [r[0] for r in conn.execute(
                "DELETE FROM batches WHERE id = ANY(%s) AND (rows = 0 OR id = ANY(%s)) "
                "RETURNING id", [list(per_batch), sorted(selection.batch_ids)]).fetchall()]
            touched = [f"events_{f}" for f in FEEDS if any(g[0] == f for g in gone)]
            pending = self._pending_vacuum(conn, touched + ["batches"] if gone else [])
        if pending:
            self.vacuum(pending)
            with self.connection() as conn:
                self._pending_vacuum(conn, [], done=pending)
        if not gone:
            return Removed({})
        counts: dict[str, dict[int, int]] = {}
        for feed, _, year, n in sorted(gone, key=lambda g: (g[0], g[2])):
            counts.setdefault(feed, {})
            counts[feed][year] = counts[feed].get(year, 0) + n
        changed = tuple(b for b in per_batch if b not in emptied)
        return Removed(counts, tuple(sorted(emptied)), tuple(sorted(changed)))

    def _pending_vacuum(self, conn, tables: list[str], done: list[str] = ()) -> list[str]:
        """The tables still to vacuum, kept in the document ``PENDING_VACUUM`` and written in
        the removal's own transaction: a process killed after the commit and before its vacuum
        leaves the list, and the next removal vacuums them. Adds ``tables``, drops ``done``."""
        conn.execute("SELECT pg_advisory_xact_lock(%s::integer, hashtext(%s))",
                     [_LOCK_DOCUMENT, PENDING_VACUUM])
        row = conn.execute("SELECT body FROM documents WHERE name = %s",
                           [PENDING_VACUUM]).fetchone()
        listed = json.loads(row[0]) if row else []
        wanted = sorted((set(listed) | set(tables)) - set(done))
        if wanted != listed:
            conn.execute("INSERT INTO documents (name, body) VALUES (%s, %s) ON CONFLICT (name) "
                         "DO UPDATE SET body = excluded.body, updated_at = now()",
                         [PENDING_VACUUM, json.dumps(wanted)])
        return wanted

    def vacuum(self, tables: list[str]) -> None:
        """``VACUUM (FULL, ANALYZE)`` each table: a new copy of its live rows (and indexes) in
        new files, the old files deleted, and statistics recomputed from the rows that remain."""
        from psycopg import sql

        raw = self.engine.raw_connection()
        try:
            conn = raw.driver_connection
            conn.autocommit = True  # VACUUM cannot run inside a transaction
            try:
                for table in tables:
                    conn.execute(sql.SQL("VACUUM (FULL, ANALYZE) {}").format(
                        sql.Identifier(table)))
            finally:
                conn.autocommit = False
        finally:
            raw.close()

    def first_event_dates(self):
        parts = " UNION ALL ".join(f"SELECT '{f}', min(event_date) FROM events_{f}"
                                   for f in FEEDS)
        return {feed: (day.date() if day is not None else None)
                for feed, day in self.scalar_rows(parts)}

    # -- whole batches (for ``python -m storage copy``) --------------------------------------
    def batch_frame(self, batch: dict) -> pd.DataFrame:
        from psycopg import sql

        schema = stored_schema(batch["feed"])
        select = sql.SQL("SELECT {} FROM {} WHERE batch_id = {} ORDER BY event_date, record_id"
                         ).format(sql.SQL(", ").join(map(sql.Identifier, schema.names)),
                                  sql.Identifier(f"events_{batch['feed']}"),
                                  sql.Literal(batch["id"]))
        return self._copy_out(select, schema).to_pandas()

    def import_batch(self, batch: dict, frame: pd.DataFrame) -> None:
        with self.connection() as conn:
            self._import_batch(conn, batch, frame)

    def _import_batch(self, conn, batch: dict, frame: pd.DataFrame) -> None:
        table = pa.Table.from_pandas(frame, schema=stored_schema(batch["feed"]),
                                     preserve_index=False)
        result = self._append(conn, batch["feed"], table, source=batch["source"],
                              file_name=batch["file_name"], replace=False, batch_id=batch["id"],
                              ingested_at=dt.datetime.fromisoformat(batch["ingested_at"]))
        if result.added != len(frame):
            raise StoreError(f"batch {batch['id']}: {result.added} of {len(frame)} rows "
                             "added (records already in the target store)")

    def import_store(self, batches: Iterable[tuple[dict, pd.DataFrame]],
                     documents: dict[str, str], lines: list[str], head: dict | None) -> None:
        """Fill this empty store with a whole store's batches, side documents and audit log in
        ONE transaction (``python -m storage copy``): a failure at any point, or a killed
        copy, leaves the store as empty as it was, so the copy can simply be run again.

        ``batches`` is read one batch at a time, so a large store is never held in memory.
        """
        with self.connection() as conn:
            conn.execute("SELECT pg_advisory_xact_lock(%s)", [AUDIT_LOCK_KEY])
            held = conn.execute("SELECT (SELECT count(*) FROM batches) + "
                                "(SELECT count(*) FROM audit_log)").fetchone()[0]
            if held:
                raise StoreError(f"target store {self.url} is not empty: copy only into a new "
                                 "store (a new folder, or a new empty database)")
            for batch, frame in batches:
                self._import_batch(conn, batch, frame)
            for name, text in documents.items():
                conn.execute("INSERT INTO documents (name, body) VALUES (%s, %s) ON CONFLICT "
                             "(name) DO UPDATE SET body = excluded.body, updated_at = now()",
                             [name, text])
            import_audit_entries(conn, self.url, lines, head)

    # -- documents and quarantine ----------------------------------------------------------------
    def read_document(self, name: str) -> str | None:
        rows = self.scalar_rows("SELECT body FROM documents WHERE name = %s", [name])
        return rows[0][0] if rows else None

    def write_document(self, name: str, text: str) -> None:
        with self.connection() as conn:
            conn.execute("INSERT INTO documents (name, body) VALUES (%s, %s) ON CONFLICT (name) "
                         "DO UPDATE SET body = excluded.body, updated_at = now()", [name, text])

    def update_document(self, name, change):
        """One transaction holding an advisory lock on the document's name (a row lock would not
        cover a document not written yet): read, ``change``, upsert, commit."""
        with self.connection() as conn:
            conn.execute("SELECT pg_advisory_xact_lock(%s::integer, hashtext(%s))",
                         [_LOCK_DOCUMENT, name])
            row = conn.execute("SELECT body FROM documents WHERE name = %s", [name]).fetchone()
            current = row[0] if row else None
            text = change(current)
            if text is None:
                return current
            conn.execute("INSERT INTO documents (name, body) VALUES (%s, %s) ON CONFLICT (name) "
                         "DO UPDATE SET body = excluded.body, updated_at = now()", [name, text])
            return text

    def quarantine_dir(self) -> Path:
        """Quarantine CSVs stay on the ingesting machine: ``QUARANTINE_DIR``, else ./quarantine."""
        return Path(os.environ.get("QUARANTINE_DIR") or PROJECT_ROOT / "quarantine")

    # -- audit ---------------------------------------------------------------------------------
    def audit_sink(self) -> PgAuditSink:
        return PgAuditSink(self)


def _copy_in(conn, table: str, columns: list[str], data: pa.Table) -> None:
    """COPY an Arrow table into ``table``: CSV with every value quoted, so that an unquoted empty
    field is NULL and a quoted empty one an empty string."""
    from psycopg import sql

    buffer = io.BytesIO()
    pacsv.write_csv(data, buffer, pacsv.WriteOptions(include_header=False,
                                                     quoting_style="all_valid"))
    statement = sql.SQL("COPY {} ({}) FROM STDIN WITH (FORMAT csv)").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns)))
    view = buffer.getbuffer()
    with conn.cursor() as cursor, cursor.copy(statement) as copy:
        for start in range(0, len(view), 1 << 22):
            copy.write(view[start:start + (1 << 22)])
    del view
