"""The audit log of the PostGIS store: the ``audit_log`` table and the one-row ``audit_head``,
written in one transaction under an advisory lock (the chain itself: ``safeguards.audit``)."""
from __future__ import annotations

import contextlib
import json

from core.errors import StoreError
from storage.audit_log import AuditError

AUDIT_LOCK_KEY = 7_000_002


class PgAuditSink:
    """The audit log in the ``audit_log`` table (entries as JSON text, in insertion order) and the
    one-row ``audit_head`` table, written in one transaction under an advisory lock."""

    def __init__(self, store):  # a storage.postgis.PostgisStore
        self.store = store
        self._conn = None

    def __repr__(self) -> str:
        return f"PgAuditSink({self.store.url!r})"

    @contextlib.contextmanager
    def writing(self):
        with self.store.connection() as conn:
            conn.execute("SELECT pg_advisory_xact_lock(%s)", [AUDIT_LOCK_KEY])
            self._conn = conn
            try:
                yield
            finally:
                self._conn = None

    def _run(self, statement, params=None) -> list[tuple]:
        if self._conn is not None:
            return self._conn.execute(statement, params).fetchall()
        return self.store.scalar_rows(statement, params)

    def append(self, entry: dict) -> None:
        text = json.dumps(entry, ensure_ascii=True, separators=(",", ":"), allow_nan=False)
        statements = [
            ("INSERT INTO audit_log (seq, entry) VALUES (%s, %s)", [entry["seq"], text]),
            ("INSERT INTO audit_head (id, seq, hash, created) VALUES (1, %s, %s, %s) "
             "ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, "
             "created = excluded.created", [entry["seq"], entry["hash"], entry["created"]]),
        ]
        if self._conn is not None:
            for statement, params in statements:
                self._conn.execute(statement, params)
            return
        with self.store.connection() as conn:
            conn.execute("SELECT pg_advisory_xact_lock(%s)", [AUDIT_LOCK_KEY])
            for statement, params in statements:
                conn.execute(statement, params)

    def purge(self, count: int, checkpoint: dict) -> None:
        """Delete the first ``count`` stored entries and append ``checkpoint``, inside the
        caller's ``writing()`` transaction: both happen, or neither. The append-only trigger
        lets a DELETE through only in a transaction that sets ``wy.audit_retention`` to
        ``purge`` (migration 0002); UPDATE and TRUNCATE stay refused."""
        if self._conn is None:
            raise AuditError("purge() runs inside writing()")
        self._conn.execute("SET LOCAL wy.audit_retention = 'purge'")
        self._conn.execute("DELETE FROM audit_log WHERE pos IN "
                           "(SELECT pos FROM audit_log ORDER BY pos LIMIT %s)", [count])
        self._conn.execute("SET LOCAL wy.audit_retention = ''")
        self.append(checkpoint)

    def read(self):
        try:
            with self.store.connection() as conn, conn.cursor(name="audit_read") as cursor:
                cursor.itersize = 5000
                cursor.execute("SELECT entry FROM audit_log ORDER BY pos")
                for (text,) in cursor:
                    yield text
        except StoreError as exc:
            raise AuditError(str(exc)) from exc

    def last(self) -> str | None:
        rows = self._run("SELECT entry FROM audit_log ORDER BY pos DESC LIMIT 1")
        return rows[0][0] if rows else None

    def head(self) -> dict | None:
        rows = self._run("SELECT seq, hash, created FROM audit_head WHERE id = 1")
        return {"seq": int(rows[0][0]), "hash": rows[0][1], "created": rows[0][2]} if rows \
            else None

    def import_entries(self, lines: list[str], head: dict | None) -> None:
        """Copy a whole log (entries as stored, and its head) into an empty one."""
        with self.store.connection() as conn:
            conn.execute("SELECT pg_advisory_xact_lock(%s)", [AUDIT_LOCK_KEY])
            import_audit_entries(conn, self.store.url, lines, head)


def import_audit_entries(conn, url: str, lines: list[str], head: dict | None) -> None:
    """Copy a whole log into the empty ``audit_log`` on ``conn`` (the caller's transaction,
    holding the audit lock)."""
    if not lines and head is None:
        return
    if conn.execute("SELECT count(*) FROM audit_log").fetchone()[0]:
        raise StoreError(f"store {url}: the audit log is not empty")
    with conn.cursor() as cursor, cursor.copy("COPY audit_log (seq, entry) FROM STDIN") as copy:
        for position, text in enumerate(lines, 1):
            try:
                seq = int(json.loads(text).get("seq"))
            except (ValueError, TypeError, AttributeError):
                seq = -position  # unreadable lines are kept as they are, for verify
            copy.write_row((seq, text))
    if head is not None:
        conn.execute("INSERT INTO audit_head (id, seq, hash, created) VALUES (1, %s, %s, %s)",
                     [head["seq"], head["hash"], head.get("created") or ""])
