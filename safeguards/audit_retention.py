"""Retention of the audit trail: remove entries older than a date, keeping the chain verifiable.

    python -m safeguards.audit purge [--before DATE] [--apply] [--store URL]

Dry run by default: says how many entries would go. With ``--apply``, under the log's write
lock, the oldest entries created before ``DATE`` are removed and one *checkpoint* entry is
appended to the chain (action ``audit-purge``), recording the seq and hash of the last entry
removed, how many were removed, who purged and the cut-off. ``verify`` then accepts a log that
starts after seq 1 only when its last checkpoint anchors it: the first kept entry must be the
one after the recorded seq and chain to the recorded hash (``safeguards.audit_verify``). The
checkpoint is hash-chained like any entry, so editing it, or forging one that does not match
the kept entries, fails ``verify``.

``DATE`` defaults to today minus ``AUDIT_RETENTION_YEARS`` (``storage.lifecycle``), and a later
date is refused: no entry younger than the retention period can be purged. A broken chain is
never purged (the evidence would go): ``verify`` must pass first.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from core import clock
from safeguards.audit_chain import (
    CHECKPOINT_ACTION,
    FORMAT,
    chain_end,
    entry_hash,
    parse_entry,
)
from safeguards.audit_verify import verify
from storage.audit_log import AuditError
from storage.lifecycle import AUDIT_RETENTION_ENV, audit_retention_years, years_before
from storage.open import audit_sink

MAX_ACTOR = 254


@dataclass(frozen=True)
class AuditPurge:
    """What an audit purge removed (or, in a dry run, would remove)."""

    before: dt.date
    removed: int
    through_seq: int | None
    applied: bool
    checkpoint_seq: int | None = None

    def __str__(self) -> str:
        if not self.removed:
            return f"no audit entry was created before {self.before}: nothing to purge"
        verb = "removed" if self.applied else "would remove"
        text = (f"{verb} {self.removed:,} audit entries created before {self.before} "
                f"(seq up to {self.through_seq})")
        if self.checkpoint_seq:
            text += f"; checkpoint written as seq {self.checkpoint_seq}"
        return text if self.applied else text + " (dry run: --apply to remove them)"


def default_cutoff(today: dt.date) -> dt.date:
    """The oldest day audit entries are kept from: today minus the audit retention period."""
    return years_before(today, audit_retention_years())


def purge_audit(store, *, before: dt.date | None = None, apply: bool = False,
                actor: str = "unknown") -> AuditPurge:
    """Remove (with ``apply``) the audit entries created before ``before``; see the module."""
    latest = default_cutoff(clock.today())
    before = before or latest
    if before > latest:
        raise AuditError(f"--before {before} would remove entries younger than the audit "
                         f"retention period of {audit_retention_years()} years "
                         f"({AUDIT_RETENTION_ENV}): the latest cut-off today is {latest}")
    sink = audit_sink(store)
    with sink.writing():
        state = verify(store)
        if not state.ok:
            raise AuditError(f"the audit chain is broken, so nothing is purged (the evidence "
                             f"would go): {state}")
        entries = [parse_entry(text)[0] for text in sink.read()]
        limit = pd.Timestamp(before).tz_localize("UTC")
        count = 0
        for entry in entries:
            if pd.Timestamp(entry["created"]) >= limit:
                break
            count += 1
        if not count:
            return AuditPurge(before, 0, None, apply)
        last = entries[count - 1]
        if not apply:
            return AuditPurge(before, count, last["seq"], False)
        seq, prev_hash = chain_end(sink)
        checkpoint = {
            "v": FORMAT, "seq": seq + 1,
            "created": clock.now().isoformat(timespec="microseconds"),
            "action": CHECKPOINT_ACTION, "actor": (actor or "unknown")[:MAX_ACTOR],
            "role": "admin", "page": "safeguards.audit",
            "filters": {"checkpoint": {"seq": last["seq"], "hash": last["hash"]},
                        "before": before.isoformat(), "first_seq": entries[0]["seq"]},
            "records": count,
            "detail": f"retention: audit entries up to seq {last['seq']} removed",
            "prev_hash": prev_hash}
        checkpoint["hash"] = entry_hash(checkpoint)
        sink.purge(count, checkpoint)
    return AuditPurge(before, count, last["seq"], True, checkpoint["seq"])
