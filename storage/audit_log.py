"""Where the audit trail is kept: the sink interface and the embedded store's files.

The hash chain that decides what an entry holds and whether the log is intact is above this,
in ``safeguards.audit``; a sink only stores entries and the head marker, in order, under a lock.
The embedded store keeps, next to the data (the reader ignores ``_`` folders)::

    <store>/_audit/audit.jsonl   one JSON object per line, in seq order, only ever appended to
    <store>/_audit/head.json     {"seq", "hash", "created"} of the last entry (atomic rename)
    <store>/_audit/_lock         file lock held by every writer

The PostGIS store has its own sink (``storage.postgis``): a table plus a one-row head table.
"""
from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import ContextManager, Iterator, Protocol, runtime_checkable

import filelock

from core.errors import StoreError

AUDIT_DIR = "_audit"
LOG_FILE = "audit.jsonl"
HEAD_FILE = "head.json"
LOCK_FILE = "_lock"
LOCK_TIMEOUT_S = 60
LOCK_POLL_S = 0.002


class AuditError(StoreError):
    """The audit log cannot be read or written."""



@runtime_checkable
class AuditSink(Protocol):
    """Where entries live. A sink stores; it never computes hashes or sequence numbers.

    - ``writing()``: a context manager giving exclusive write access (across processes);
      ``record()`` reads the head and appends inside it.
    - ``append(entry)``: durably store one entry after the others and record it as the head
      (its seq and hash), both before returning.
    - ``read()``: every stored entry as its JSON text, in stored order (verify needs them as
      stored, readable or not).
    - ``last()``: the JSON text of the last stored entry, or None (cheap: no full scan).
    - ``head()``: the head marker ``{"seq", "hash", ...}`` written by the last append, or None;
      raises ``AuditError`` if it exists but cannot be read.
    - ``purge(count, checkpoint)`` (inside ``writing()``): remove the first ``count`` stored
      entries and append ``checkpoint`` as ``append`` does, atomically (the audit retention
      purge, ``safeguards.audit_retention``; the only removal a sink allows).
    """

    def writing(self) -> ContextManager[None]: ...

    def append(self, entry: dict) -> None: ...

    def read(self) -> Iterator[str]: ...

    def last(self) -> str | None: ...

    def head(self) -> dict | None: ...

    def purge(self, count: int, checkpoint: dict) -> None: ...


class FileAuditSink:
    """The audit log of the embedded store: a JSON-lines file plus a head file, in ``root``."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        self.log_path = self.root / LOG_FILE
        self.head_path = self.root / HEAD_FILE

    def __repr__(self) -> str:
        return f"FileAuditSink({str(self.root)!r})"

    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        lock = filelock.FileLock(str(self.root / LOCK_FILE), timeout=LOCK_TIMEOUT_S)
        # Entries are written in a few milliseconds: poll often rather than every 50 ms.
        with lock.acquire(poll_interval=LOCK_POLL_S):
            yield

    def append(self, entry: dict) -> None:
        # ASCII only: no character in an entry can be taken for a line break by any reader.
        line = (json.dumps(entry, ensure_ascii=True, separators=(",", ":"), allow_nan=False)
                + "\n").encode("ascii")
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "a+b") as handle:  # O_APPEND: every write goes to the end
            handle.seek(0, os.SEEK_END)
            if handle.tell():
                handle.seek(-1, os.SEEK_END)
                if handle.read(1) != b"\n":
                    # An interrupted write left a partial line: end it, never delete it
                    # (verify reports it as unreadable).
                    line = b"\n" + line
            handle.write(line)
            handle.flush()
            os.fsync(handle.fileno())
        self._write_head(entry)

    def _write_head(self, entry: dict) -> None:
        head = {"seq": entry["seq"], "hash": entry["hash"], "created": entry["created"]}
        tmp = self.root / f".{HEAD_FILE}.tmp"
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(head, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self.head_path)

    def purge(self, count: int, checkpoint: dict) -> None:
        """Write the log without its first ``count`` entries and with ``checkpoint`` to a
        temporary file, fsync it and rename it over the log, then write the head: a writer killed
        before the rename leaves the old log, after it the new one (with the head one behind,
        which ``record`` and ``verify`` accept)."""
        kept = list(self.read())[count:]
        kept.append(json.dumps(checkpoint, ensure_ascii=True, separators=(",", ":"),
                               allow_nan=False))
        tmp = self.root / f".{LOG_FILE}.tmp"
        with open(tmp, "wb") as handle:
            handle.write("".join(line + "\n" for line in kept).encode("ascii"))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self.log_path)
        self._write_head(checkpoint)

    def read(self) -> Iterator[str]:
        try:
            handle = open(self.log_path, "rb")
        except FileNotFoundError:
            return
        with handle:
            for raw in handle:
                text = raw.decode("utf-8", "replace").rstrip("\r\n")
                if text.strip():
                    yield text

    def last(self) -> str | None:
        try:
            handle = open(self.log_path, "rb")
        except FileNotFoundError:
            return None
        with handle:
            pos = handle.seek(0, os.SEEK_END)
            buffer = b""
            while pos > 0:
                step = min(65536, pos)
                pos -= step
                handle.seek(pos)
                buffer = handle.read(step) + buffer
                body = buffer.rstrip(b"\r\n \t")
                cut = body.rfind(b"\n")
                if cut >= 0:
                    return body[cut + 1:].decode("utf-8", "replace")
            body = buffer.strip()
            return body.decode("utf-8", "replace") if body else None

    def head(self) -> dict | None:
        try:
            head = json.loads(self.head_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise AuditError(f"{self.head_path}: cannot read: {exc}") from exc
        if not (isinstance(head, dict) and isinstance(head.get("seq"), int)
                and isinstance(head.get("hash"), str)):
            raise AuditError(f"{self.head_path}: not a head record")
        return head
