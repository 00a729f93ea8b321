"""The hash chain of the audit trail: how an entry is hashed, parsed, and chained to the last.

Shared by writing (``safeguards.audit.record``), verifying (``safeguards.audit_verify``) and the
audit retention purge (``safeguards.audit_retention``). A *checkpoint* is the entry a purge
writes (action ``CHECKPOINT_ACTION``): its ``filters["checkpoint"]`` holds the seq and hash of
the last entry the purge removed, the anchor the first kept entry chains to.
"""
from __future__ import annotations

import hashlib
import json
import re

from storage.audit_log import AuditError, AuditSink

FORMAT = 1
GENESIS = "0" * 64            # prev_hash of entry 1
CHECKPOINT_ACTION = "audit-purge"


def canonical_json(entry: dict) -> str:
    """The text that is hashed: sorted keys, no spaces, ASCII (\\u escapes), no NaN."""
    return json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=True,
                      allow_nan=False)


def entry_hash(entry: dict) -> str:
    """sha256(prev_hash + canonical JSON of the entry without its "hash"), in hex."""
    body = {k: v for k, v in entry.items() if k != "hash"}
    return hashlib.sha256((entry["prev_hash"] + canonical_json(body)).encode("utf-8")).hexdigest()


ENTRY_FIELDS = ("v", "seq", "created", "action", "actor", "role", "page", "filters", "records",
                "detail", "prev_hash", "hash")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


def parse_entry(text: str) -> tuple[dict | None, str | None]:
    """(entry, None) for a well-formed entry, else (None, what is wrong)."""
    try:
        entry = json.loads(text)
    except ValueError:
        return None, "not valid JSON"
    if not isinstance(entry, dict):
        return None, "not a JSON object"
    missing = [f for f in ENTRY_FIELDS if f not in entry]
    if missing:
        return None, f"missing field(s) {', '.join(missing)}"
    extra = sorted(set(entry) - set(ENTRY_FIELDS))
    if extra:
        return None, f"unexpected field(s) {', '.join(extra)}"
    if not isinstance(entry["seq"], int) or isinstance(entry["seq"], bool) or entry["seq"] < 1:
        return None, f"bad seq {entry['seq']!r}"
    if not all(isinstance(entry[k], str) and _HEX64.match(entry[k]) for k in ("hash", "prev_hash")):
        return None, "bad hash or prev_hash"
    return entry, None


def well_typed(entry: dict) -> bool:
    """Whether the fields have the types ``record()`` writes (for reading, not for verifying)."""
    text_or_none = all(entry[k] is None or isinstance(entry[k], str)
                       for k in ("role", "page", "detail"))
    records = entry["records"]
    return (text_or_none and isinstance(entry["created"], str) and isinstance(entry["action"], str)
            and isinstance(entry["actor"], str) and isinstance(entry["filters"], dict)
            and (records is None or (isinstance(records, int) and not isinstance(records, bool))))


def checkpoint_anchor(entry: dict) -> tuple[int, str] | None:
    """(seq, hash) of the last removed entry, if ``entry`` is a well-formed checkpoint."""
    if entry.get("action") != CHECKPOINT_ACTION or not isinstance(entry.get("filters"), dict):
        return None
    anchor = entry["filters"].get("checkpoint")
    if not isinstance(anchor, dict):
        return None
    seq, digest = anchor.get("seq"), anchor.get("hash")
    if not (isinstance(seq, int) and not isinstance(seq, bool) and 0 < seq < entry["seq"]
            and isinstance(digest, str) and _HEX64.match(digest)):
        return None
    return seq, digest


def chain_end(sink: AuditSink) -> tuple[int, str]:
    """(seq, hash) to chain the next entry to: the later of the head marker and the last entry.

    The head wins when the log ends before it (entries were deleted at the end): the new entry
    then keeps the gap visible instead of hiding it. The last entry wins when it is one past the
    head (a writer stopped between writing the entry and the head).
    """
    try:
        head = sink.head()
    except AuditError:
        head = None
    ends = [(head["seq"], head["hash"])] if head else []
    text = sink.last()
    if text is not None:
        last, _ = parse_entry(text)
        if last is None:  # the last line is unreadable: use the last readable entry
            last = None
            for line in sink.read():
                parsed, _ = parse_entry(line)
                if parsed is not None and (last is None or parsed["seq"] >= last["seq"]):
                    last = parsed
        if last is not None:
            ends.append((last["seq"], last["hash"]))
    return max(ends, key=lambda end: end[0]) if ends else (0, GENESIS)
