"""The audit trail: an append-only, hash-chained log of who did what.

Every sign-in, sign-out, failed sign-in, page view, filter change on a sensitive page, export,
ingestion and refusal is recorded as one ``AuditEvent``. ``record()`` gives it the next sequence
number and chains it to the previous entry::

    hash = sha256(prev_hash + canonical JSON of the entry without "hash")

so that editing, deleting, inserting or reordering an entry breaks the chain, and a separate head
marker (the seq and hash of the last entry) catches entries deleted at the end. ``verify()`` (and
``python -m safeguards.audit verify``) walks the chain and names the first bad entry.

The chain logic here does not know how entries are stored: it talks to an ``AuditSink``
(``storage.audit_log``: the embedded store's files; ``storage.postgis``: a table plus a one-row
head table, written in one transaction under an advisory lock). See docs/audit.md.

    python -m safeguards.audit verify [--store URL] [--expect SEQ:HASH]
    python -m safeguards.audit list   [--store URL] [--limit 20] [--actor A] [--action X]
    python -m safeguards.audit purge  [--store URL] [--before DATE] [--apply]

The chain primitives are in ``safeguards.audit_chain``, verifying in ``safeguards.audit_verify``
and the retention purge (a checkpoint entry keeps the chain verifiable) in
``safeguards.audit_retention``; this module re-exports their public names.
"""
from __future__ import annotations

import argparse
import collections
import datetime as dt
import getpass
import json
import os
import re
import sys
from dataclasses import dataclass, field
from typing import Iterable

import filelock
import pandas as pd

from core import clock
from core.errors import ConfigError, StoreError
from safeguards.audit_chain import (  # noqa: F401 (names this module has always offered)
    CHECKPOINT_ACTION,
    ENTRY_FIELDS,
    FORMAT,
    GENESIS,
    canonical_json,
    checkpoint_anchor,
    entry_hash,
)
from safeguards.audit_chain import chain_end as _chain_end
from safeguards.audit_chain import parse_entry as _parse_entry
from safeguards.audit_chain import well_typed as _well_typed
from safeguards.audit_retention import AuditPurge, purge_audit  # noqa: F401
from safeguards.audit_verify import VerifyResult, chain_head, verify  # noqa: F401
from storage.audit_log import (  # noqa: F401
    AUDIT_DIR,
    HEAD_FILE,
    LOCK_TIMEOUT_S,
    LOG_FILE,
    AuditError,
    AuditSink,
    FileAuditSink,
)
from storage.open import audit_sink, open_store

ACTIONS = (
    "sign-in", "sign-in-failed", "sign-out",
    "page-view", "filter-change", "view-points",
    "export", "ingest", "access-denied", "user-change",
    "view-hotspots", "view-exposure", "tasking",
    "withdraw", "purge",          # data lifecycle (safeguards.lifecycle)
    CHECKPOINT_ACTION,            # written only by the audit retention purge
)

# Limits that keep entries short and free of data: detail is a code-chosen label, not data.
MAX_ACTOR = 254               # the longest email address
MAX_ROLE = 32
MAX_PAGE = 120
MAX_DETAIL = 200
MAX_ENTRY_BYTES = 64 * 1024

REDACTED = "[redacted]"
# A filter key whose normalised name (lower case, no "_", "-", ".", " ") contains one of these
# has its value replaced by REDACTED, however deeply nested.
SECRET_KEY_PARTS = ("password", "passwd", "passphrase", "pwd", "secret", "token", "apikey",
                    "authorization", "cookie", "credential", "privatekey", "sessionid")
SECRET_KEY_NAMES = ("otp", "totp", "pin", "mfa", "mfacode", "auth")  # whole key names only
# Secret-looking text inside any string value (filters or detail) is redacted too.
_SECRET_TEXT = [
    # "password=hunter2", "token: abc"
    (re.compile(r"(?i)\b(pass(?:word|wd|phrase)?|pwd|secret|token|api[_-]?key|authorization)"
                r"(\s*[:=]\s*)(?:bearer\s+)?\S+"), r"\1\2" + REDACTED),
    (re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]{8,}"), "Bearer " + REDACTED),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"), REDACTED),  # JWT
    (re.compile(r"\$argon2(?:id|i|d)\$\S+"), REDACTED),                                      # hash
]
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")



# -- events ------------------------------------------------------------------------------------
def _utc_now() -> dt.datetime:
    return clock.now()


@dataclass
class AuditEvent:
    """One thing that happened: who (``actor``, ``role``), what (``action``), where (``page``),
    with which ``filters``, over how many ``records``, and a short code-chosen ``detail``.

    Values are checked and normalised on construction: ``action`` must be one of ``ACTIONS``;
    ``filters`` must be JSON-serialisable (dates become ISO strings, sets sorted lists) and any
    key that names a secret (password, token, ...) has its value replaced by ``"[redacted]"``, as
    has secret-looking text in any string; text is made single-line and cut to length.
    """

    action: str
    actor: str = "anonymous"
    role: str | None = None
    page: str | None = None
    filters: dict = field(default_factory=dict)
    records: int | None = None
    detail: str | None = None
    created: dt.datetime = field(default_factory=_utc_now)

    def __post_init__(self):
        if self.action not in ACTIONS:
            raise ValueError(f"unknown audit action {self.action!r}; expected one of "
                             f"{', '.join(ACTIONS)}")
        self.actor = _short_text(self.actor, MAX_ACTOR, "actor") or "anonymous"
        self.role = _short_text(self.role, MAX_ROLE, "role")
        self.page = _short_text(self.page, MAX_PAGE, "page")
        self.detail = _short_text(self.detail, MAX_DETAIL, "detail", scrub=True)
        self.filters = _clean_filters(self.filters)
        if self.records is not None:
            if isinstance(self.records, bool) or not hasattr(self.records, "__index__"):
                raise TypeError(f"records must be an int or None, not {self.records!r}")
            self.records = int(self.records)
            if self.records < 0:
                raise ValueError(f"records must not be negative (was {self.records})")
        if not isinstance(self.created, dt.datetime):
            raise TypeError(f"created must be a datetime, not {self.created!r}")
        if self.created.tzinfo is None:
            raise ValueError("created must be timezone-aware (use UTC)")
        self.created = self.created.astimezone(dt.timezone.utc)

    def to_dict(self) -> dict:
        """The entry body (no seq or hashes), in the order entries are written."""
        return {"created": self.created.isoformat(timespec="microseconds"),
                "action": self.action, "actor": self.actor, "role": self.role,
                "page": self.page, "filters": self.filters, "records": self.records,
                "detail": self.detail}


def _clean_str(text: str) -> str:
    """One line of valid UTF-8 (lone surrogates replaced)."""
    text = text.encode("utf-8", "replace").decode("utf-8")
    return _CONTROL.sub(" ", text).strip()


def _scrub(text: str) -> str:
    for pattern, replacement in _SECRET_TEXT:
        text = pattern.sub(replacement, text)
    return text


def _short_text(value, limit: int, name: str, scrub: bool = False) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(f"{name} must be text or None, not {type(value).__name__}")
    text = _clean_str(value)
    if scrub:
        text = _scrub(text)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text or None


def is_secret_key(key: str) -> bool:
    """Whether a filter key names a secret (its value is never logged)."""
    name = re.sub(r"[\s_.\-]", "", str(key).lower())
    return name in SECRET_KEY_NAMES or any(part in name for part in SECRET_KEY_PARTS)


def _json_default(value):
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=str)
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return value.item()
    if hasattr(value, "tolist") and callable(value.tolist):  # numpy arrays, pandas Index
        return value.tolist()
    raise TypeError(f"audit filters must be JSON-serialisable; got {type(value).__name__}")


def _redact(value):
    if isinstance(value, dict):
        return {k: (REDACTED if is_secret_key(k) else _redact(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact(v) for v in value]
    if isinstance(value, str):
        return _scrub(_clean_str(value))
    return value


def _clean_filters(filters) -> dict:
    if filters is None:
        return {}
    if not isinstance(filters, dict):
        raise TypeError(f"filters must be a dict, not {type(filters).__name__}")
    try:  # the round trip makes the value exactly what is written and hashed
        plain = json.loads(json.dumps(filters, default=_json_default, allow_nan=False))
    except ValueError as exc:
        raise ValueError(f"audit filters must be JSON-serialisable: {exc}") from exc
    return _redact(plain)


# -- writing -------------------------------------------------------------------------------
def record(store, event: AuditEvent) -> dict:
    """Append ``event`` to the audit log of ``store``; return the entry as written.

    Raises ``AuditError`` if the log cannot be written (callers decide whether to go on; an
    export or ingestion should not).
    """
    if not isinstance(event, AuditEvent):
        raise TypeError(f"record() takes an AuditEvent, not {type(event).__name__}")
    if event.action == CHECKPOINT_ACTION:
        raise ValueError(f"{CHECKPOINT_ACTION} entries are written only by the audit retention "
                         "purge (safeguards.audit_retention)")
    sink = audit_sink(store)
    body = event.to_dict()
    try:
        with sink.writing():
            seq, prev_hash = _chain_end(sink)
            entry = {"v": FORMAT, "seq": seq + 1, **body, "prev_hash": prev_hash}
            entry["hash"] = entry_hash(entry)
            if len(canonical_json(entry).encode("utf-8")) > MAX_ENTRY_BYTES:
                raise ValueError(f"audit entry larger than {MAX_ENTRY_BYTES} bytes "
                                 "(too many filter values?)")
            sink.append(entry)
    except filelock.Timeout as exc:
        raise AuditError(f"audit log of {sink!r}: lock not acquired in {LOCK_TIMEOUT_S}s") from exc
    except OSError as exc:
        raise AuditError(f"audit log of {sink!r}: cannot write: {exc}") from exc
    return entry


# -- reading -----------------------------------------------------------------------------------
COLUMNS = ["seq", "created", "action", "actor", "role", "page", "filters", "records", "detail",
           "prev_hash", "hash"]


def _utc(value, name: str) -> pd.Timestamp | None:
    if value is None:
        return None
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}: not a date or time: {value!r}") from exc
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def read_audit(store, *, since=None, until=None, actor: str | None = None,
               action: str | Iterable[str] | None = None, limit: int | None = None
               ) -> pd.DataFrame:
    """Entries of the audit log, newest first, as a DataFrame with ``COLUMNS``.

    ``since <= created < until`` (datetimes, dates or ISO strings; naive ones are UTC);
    ``actor`` matches exactly, ignoring case; ``action`` is one action or several; ``limit``
    keeps the newest N matches. ``filters`` is given as its JSON text. Unreadable lines are
    skipped (``verify`` reports them). A missing log gives an empty frame.
    """
    start, end = _utc(since, "since"), _utc(until, "until")
    actions = None
    if action is not None:
        actions = {action} if isinstance(action, str) else set(action)
        unknown = actions - set(ACTIONS)
        if unknown:
            raise ValueError(f"unknown audit action(s) {sorted(unknown)}; expected one of "
                             f"{', '.join(ACTIONS)}")
    who = actor.casefold() if actor is not None else None
    if limit is not None and limit < 0:
        raise ValueError("limit must not be negative")
    kept: collections.deque = collections.deque(maxlen=limit)
    for text in audit_sink(store).read():
        entry, _ = _parse_entry(text)
        if entry is None or not _well_typed(entry):
            continue
        if actions is not None and entry["action"] not in actions:
            continue
        if who is not None and str(entry["actor"]).casefold() != who:
            continue
        if start is not None or end is not None:
            try:
                created = pd.Timestamp(entry["created"]).tz_convert("UTC")
            except (TypeError, ValueError):
                continue
            if (start is not None and created < start) or (end is not None and created >= end):
                continue
        kept.append(entry)
    rows = [{**{k: e[k] for k in COLUMNS}, "filters": canonical_json(e["filters"])}
            for e in reversed(kept)]
    frame = pd.DataFrame(rows, columns=COLUMNS)
    frame["seq"] = frame["seq"].astype("int64")
    frame["created"] = pd.to_datetime(frame["created"], utc=True, format="ISO8601",
                                      errors="coerce").astype(
        "datetime64[us, UTC]")
    frame["records"] = frame["records"].astype("Int64")
    for column in ("action", "actor", "role", "page", "filters", "detail", "prev_hash", "hash"):
        frame[column] = frame[column].astype(object)
    return frame


# -- command line ------------------------------------------------------------------------------
def _parse_expect(text: str) -> tuple[int, str]:
    seq, _, prefix = text.partition(":")
    if not (seq.isdigit() and int(seq) > 0 and re.fullmatch(r"[0-9a-fA-F]{8,64}", prefix)):
        raise argparse.ArgumentTypeError("expected SEQ:HASH (a hash prefix of 8+ hex digits)")
    return int(seq), prefix.lower()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m safeguards.audit", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("verify", help="check the hash chain; exit 1 if it is broken")
    check.add_argument("--store", help="store URL or folder (default: STORE_URL, else ./store)")
    check.add_argument("--expect", type=_parse_expect, metavar="SEQ:HASH",
                       help="a head recorded earlier outside the store, which must still match")
    show = commands.add_parser("list", help="print the most recent entries, newest first")
    show.add_argument("--store", help="store URL or folder (default: STORE_URL, else ./store)")
    show.add_argument("--limit", type=int, default=20)
    show.add_argument("--actor")
    show.add_argument("--action", choices=ACTIONS)
    purge = commands.add_parser("purge", help="remove entries older than the audit retention "
                                "period, keeping the chain verifiable (dry run without --apply)")
    purge.add_argument("--store", help="store URL or folder (default: STORE_URL, else ./store)")
    purge.add_argument("--before", type=dt.date.fromisoformat, metavar="DATE",
                       help="remove entries created before this day (default: today minus "
                            "AUDIT_RETENTION_YEARS)")
    purge.add_argument("--apply", action="store_true", help="remove them (default: dry run)")
    args = parser.parse_args(argv)

    try:
        store = open_store(args.store)
        if args.command == "verify":
            result = verify(store, expect=args.expect)
            print(result, file=sys.stdout if result.ok else sys.stderr)
            return 0 if result.ok else 1
        if args.command == "purge":
            print(purge_audit(store, before=args.before, apply=args.apply, actor=_os_actor()))
            return 0
        frame = read_audit(store, actor=args.actor, action=args.action, limit=args.limit)
    except (ConfigError, StoreError, ValueError, OSError) as exc:
        print(exc, file=sys.stderr)
        return 2
    if frame.empty:
        print("no audit entries")
    for row in frame.itertuples(index=False):
        parts = [f"{row.seq:>6}", row.created.strftime("%Y-%m-%d %H:%M:%S"), f"{row.action:<14}",
                 f"{row.actor} ({row.role or '-'})"]
        if row.page:
            parts.append(f"page={row.page}")
        if not pd.isna(row.records):
            parts.append(f"records={row.records}")
        if row.filters != "{}":
            parts.append(f"filters={row.filters}")
        if row.detail:
            parts.append(f"detail={row.detail!r}")
        print("  ".join(parts))
    return 0


def _os_actor() -> str:
    """Who runs a command: ``$AUDIT_ACTOR``, else the operating-system user."""
    try:
        return os.environ.get("AUDIT_ACTOR") or getpass.getuser()
    except (KeyError, OSError):  # no user name in a minimal container
        return "unknown"


if __name__ == "__main__":
    sys.exit(main())
