"""Verifying the audit trail: walk the hash chain and name the first bad entry.

``verify(store)`` (``python -m safeguards.audit verify``) checks every entry's hash, the
sequence, the links and the head marker (see ``safeguards.audit`` and docs/audit.md). A log
whose oldest entries were removed by the retention purge (``safeguards.audit_retention``)
starts after seq 1: it is accepted only when its last checkpoint entry anchors it, that is when
the first kept entry is the one after the checkpoint's recorded seq and chains to its recorded
hash. A checkpoint that was edited fails its own hash; one that was forged, or that does not
match the entries kept, fails the anchor check.
"""
from __future__ import annotations

import collections
from dataclasses import dataclass

from safeguards.audit_chain import GENESIS, checkpoint_anchor, entry_hash, parse_entry
from storage.audit_log import HEAD_FILE, AuditError
from storage.open import audit_sink


@dataclass(frozen=True)
class VerifyResult:
    """The outcome of ``verify()``. ``kind`` is None when intact, else one of "edited",
    "missing", "reordered", "chain-broken", "unreadable", "truncated", "head", "expected",
    "checkpoint"."""

    ok: bool
    entries: int
    first_bad_seq: int | None = None
    reason: str | None = None
    kind: str | None = None
    last_hash: str | None = None

    def __str__(self) -> str:
        if self.ok:
            last = self.last_hash[:12] if self.last_hash else "(none)"
            return f"audit chain intact: {self.entries} entries, last {last}"
        where = f" at seq {self.first_bad_seq}" if self.first_bad_seq is not None else ""
        return f"audit chain BROKEN{where}: {self.reason} ({self.entries} entries read)"


def verify(store, *, expect: tuple[int, str] | None = None) -> VerifyResult:
    """Walk the whole chain and report the first problem.

    ``expect`` is a (seq, hash or hash prefix) kept outside the store (see docs/audit.md): the
    entry with that seq must still be there with that hash, which catches a rewritten chain.
    """
    sink = audit_sink(store)
    try:
        head = sink.head()
    except AuditError as exc:
        head, head_error = None, str(exc)
    else:
        head_error = None
    lines = list(sink.read())
    parsed = [parse_entry(text) for text in lines]
    later_seqs = collections.Counter(e["seq"] for e, _ in parsed if e is not None)
    n = len(lines)

    def bad(seq, kind, reason):
        return VerifyResult(False, n, seq, reason, kind)

    expected_seq, prev_hash = 1, GENESIS
    checkpoint = _last_checkpoint(parsed)
    anchor = checkpoint_anchor(checkpoint) if checkpoint else None
    if checkpoint is not None:
        if entry_hash(checkpoint) != checkpoint["hash"]:
            return bad(checkpoint["seq"], "edited", f"checkpoint entry seq {checkpoint['seq']} "
                                                    "was edited: its content does not match its "
                                                    "hash")
        expected_seq, prev_hash = anchor[0] + 1, anchor[1]
    seen_hash: dict[int, str] = {}
    wanted = {s for s in ((head or {}).get("seq"), expect[0] if expect else None) if s}
    for position, (entry, problem) in enumerate(parsed, 1):
        if entry is None:
            return bad(expected_seq, "unreadable",
                       f"entry {position} of the log is unreadable ({problem}) where seq "
                       f"{expected_seq} was expected (edited by hand, or an interrupted write)")
        seq = entry["seq"]
        later_seqs[seq] -= 1
        if entry_hash(entry) != entry["hash"]:
            return bad(seq, "edited", f"entry seq {seq} was edited: its content does not match "
                                      "its hash")
        if position == 1 and anchor is not None and (seq, entry["prev_hash"]) != \
                (anchor[0] + 1, anchor[1]):
            return bad(seq, "checkpoint",
                       f"the log starts at seq {seq}, but the checkpoint at seq "
                       f"{checkpoint['seq']} records the entries up to seq {anchor[0]} (hash "
                       f"{anchor[1][:12]}…) as removed by the retention purge, and the first "
                       "kept entry does not follow that one: entries were removed or put back "
                       "outside the purge, or the checkpoint is forged")
        if seq != expected_seq:
            if seq < expected_seq:
                return bad(expected_seq, "reordered",
                           f"found seq {seq} where seq {expected_seq} was expected "
                           "(duplicated or reordered entry)")
            if later_seqs[expected_seq] > 0:
                return bad(expected_seq, "reordered",
                           f"found seq {seq} where seq {expected_seq} was expected; seq "
                           f"{expected_seq} comes later in the log (entries reordered)")
            gone = (f"seq {expected_seq}" if seq == expected_seq + 1
                    else f"seq {expected_seq}–{seq - 1}")
            return bad(expected_seq, "missing",
                       f"{gone} missing: found seq {seq} next (entries deleted)")
        if entry["prev_hash"] != prev_hash:
            return bad(seq, "chain-broken",
                       f"entry seq {seq} does not chain to the entry before it: its prev_hash "
                       f"is not the hash of seq {seq - 1} (an entry was edited and re-hashed, "
                       "replaced, or inserted)")
        if seq in wanted:
            seen_hash[seq] = entry["hash"]
        prev_hash = entry["hash"]
        expected_seq += 1
    last_seq = expected_seq - 1

    if head_error:
        return bad(None, "head", head_error)
    if head is None and last_seq > 1:
        return bad(None, "head", f"{HEAD_FILE} is missing: the end of the log cannot be checked "
                                 "(deleted?)")
    if head is not None:
        if head["seq"] > last_seq:
            lost = last_seq + 1
            return bad(lost, "truncated",
                       f"truncated at the end: the head records seq {head['seq']} but the log "
                       f"ends at seq {last_seq} (seq {lost}–{head['seq']} deleted)"
                       if head["seq"] > lost else
                       f"truncated at the end: the head records seq {head['seq']} but the log "
                       f"ends at seq {last_seq} (the last entry was deleted)")
        known = seen_hash.get(head["seq"])
        if known is None and anchor is not None and head["seq"] == anchor[0]:
            known = anchor[1]  # a purge stopped before its head was written: the anchor is it
        if known != head["hash"]:
            return bad(head["seq"], "head",
                       f"entry seq {head['seq']} is not the entry the head records (its hash "
                       "differs): the end of the log was rewritten")
        if last_seq > head["seq"] + 1:
            return bad(head["seq"] + 1, "head",
                       f"the head records seq {head['seq']} but the log goes on to seq "
                       f"{last_seq}: the head file was replaced by an older copy")
    if expect:
        seq, prefix = expect
        if anchor is not None and seq <= anchor[0]:
            if seq == anchor[0] and anchor[1].startswith(prefix.lower()):
                return VerifyResult(True, n, None, None, None, prev_hash)
            return bad(seq, "expected", f"seq {seq} (kept outside the store) was removed by the "
                                        f"retention purge recorded at seq {checkpoint['seq']}: "
                                        "it can no longer be checked; keep a head recorded "
                                        "after the purge")
        if seq > last_seq:
            return bad(seq, "expected", f"seq {seq} (kept outside the store) is no longer in "
                                        f"the log, which ends at seq {last_seq}")
        if not seen_hash.get(seq, "").startswith(prefix.lower()):
            return bad(seq, "expected", f"entry seq {seq} does not have the hash kept outside "
                                        f"the store ({prefix[:12]}…): the chain was rewritten")
    return VerifyResult(True, n, None, None, None, prev_hash if last_seq else None)


def _last_checkpoint(parsed: list[tuple[dict | None, str | None]]) -> dict | None:
    """The last well-formed checkpoint entry of the log (the one that anchors its start)."""
    found = None
    for entry, _ in parsed:
        if entry is not None and checkpoint_anchor(entry) is not None:
            found = entry
    return found


def chain_head(store) -> dict | None:
    """The head marker ``{"seq", "hash", "created"}``: show it, or copy it somewhere else."""
    return audit_sink(store).head()
