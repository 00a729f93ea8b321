"""Withdrawals and retention purges, as audited administrator actions (command line and page).

    python -m safeguards.lifecycle batches  [--store URL]
    python -m safeguards.lifecycle withdraw --batch BATCH_ID --reason TEXT [--store URL]
    python -m safeguards.lifecycle withdraw --records ids.csv --reason TEXT [--feed F] [--store URL]
    python -m safeguards.lifecycle purge    [--apply] [--store URL]

``python -m data.store batches|withdraw|purge`` runs the same. The rules (retention periods,
what a withdrawal removes) are in ``storage.lifecycle``; this module checks the role (the
administrator's ``ingest`` action: whoever may put data in may take it out) and writes one audit
entry per action: who, when, which batch (id, feed, file name) or how many ids were listed (and
a SHA-256 of the sorted list, never the ids), records removed per feed and event year, and the
reason. Never the records' contents. A refused action is audited too.

An exposure layer (asylum accommodation sites, ``storage.exposure``) is a batch like any other
here: ``withdraw --batch`` with its id (``batches`` lists it, feed ``exposure:<layer>``) removes
every site, and the purge removes sites closed longer ago than the retention period of the
feeds it is the denominator of; the audit entry counts sites per closing year, never a site.

The command line acts as the ``admin`` role, with the operator as actor (``$AUDIT_ACTOR``, else
the operating-system user), as ``python -m data.ingest`` does.
"""
from __future__ import annotations

import argparse
import datetime as dt
import getpass
import hashlib
import os
import sys
from contextlib import contextmanager

from core import clock, roles
from core.errors import AccessDenied, ConfigError, DashboardError
from core.schema import FEEDS
from safeguards.audit import AuditEvent, read_audit, record
from storage.base import Removed, Store
from storage.lifecycle import (
    EXPOSURE_PREFIX,
    LifecycleError,
    batch_table,
    exposure_batch,
    exposure_cutoffs,
    exposure_purge_plan,
    exposure_status,
    purge_exposure,
    purge_plan,
    read_record_ids,
    retention_cutoffs,
    retention_status,
    withdraw_exposure,
)
from storage.lifecycle import purge as purge_store
from storage.lifecycle import withdraw_batch as withdraw_store_batch
from storage.lifecycle import withdraw_records as withdraw_store_records
from storage.open import open_store

ROLE = "admin"
ACTION = "ingest"        # core.roles: the administrator's action over what is stored
PAGE = "data.lifecycle"
MAX_REASON = 300
MIN_REASON = 5


def _actor() -> str:
    try:
        return os.environ.get("AUDIT_ACTOR") or getpass.getuser()
    except (KeyError, OSError):  # no user name in a minimal container
        return "unknown"


def _reason(reason: str | None) -> str:
    text = " ".join(str(reason or "").split())
    if len(text) < MIN_REASON:
        raise LifecycleError(f"give the reason for the withdrawal (at least {MIN_REASON} "
                             "characters): it is kept in the audit trail")
    return text[:MAX_REASON]


@contextmanager
def _audited(store: Store, actor: str, role: str, action: str, filters: dict):
    """Check the role, run the body, then record one ``action`` entry; a refusal or failure is
    recorded too (``access-denied``, or ``detail`` "refused: <error type>"). The body fills
    ``outcome``: ``records``, ``detail`` and more ``filters``."""
    try:
        roles.require(roles.check_role(role), ACTION)
    except AccessDenied as exc:
        record(store, AuditEvent(action="access-denied", actor=actor,
                                 role=role if role in roles.ROLES else None, page=PAGE,
                                 filters={"action": action, **filters}, detail=str(exc)))
        raise
    outcome: dict = {"records": None, "detail": None, "filters": {}}
    try:
        yield outcome
    except DashboardError as exc:
        record(store, AuditEvent(action=action, actor=actor, role=role, page=PAGE,
                                 filters=filters, detail=f"refused: {type(exc).__name__}"))
        raise
    record(store, AuditEvent(action=action, actor=actor, role=role, page=PAGE,
                             filters={**filters, **outcome["filters"]},
                             records=outcome["records"], detail=outcome["detail"]))


def _counts(removed: Removed) -> dict:
    """{feed: {year: n}} with text keys (JSON), for the audit entry."""
    return {feed: {str(year): n for year, n in years.items()}
            for feed, years in removed.counts.items()}


def withdraw_batch(store: Store, batch_id: str, *, reason: str, actor: str | None = None,
                   role: str = ROLE) -> tuple[dict, Removed]:
    """Withdraw a whole batch (a file sent in error): every record, and its quarantine files."""
    actor = actor or _actor()
    with _audited(store, actor, role, "withdraw", {"batch": batch_id}) as outcome:
        reason = _reason(reason)
        if exposure_batch(store, batch_id) is not None:
            batch, sites = withdraw_exposure(store, batch_id)
            outcome["records"] = sites
            outcome["detail"] = f"exposure layer {batch['layer']} withdrawn: {sites} sites"
            outcome["filters"] = {"feed": batch["feed"], "file": batch["file_name"],
                                  "sites": sites, "reason": reason}
            return batch, Removed({})
        batch, removed, files = withdraw_store_batch(store, batch_id)
        outcome["records"] = removed.records
        outcome["detail"] = f"batch {batch_id} withdrawn"
        outcome["filters"] = {"feed": batch["feed"], "file": batch["file_name"],
                              "counts": _counts(removed), "quarantine_files": len(files),
                              "reason": reason}
    return batch, removed


def withdraw_records(store: Store, record_ids, *, reason: str, actor: str | None = None,
                     role: str = ROLE, feeds: tuple[str, ...] = tuple(FEEDS)) -> Removed:
    """Withdraw listed records wherever they are stored; the audit entry keeps how many ids
    were listed and a SHA-256 of the sorted list (to match it later), never the ids."""
    actor = actor or _actor()
    ids = sorted({str(i).strip() for i in record_ids if str(i).strip()})
    digest = hashlib.sha256("\n".join(ids).encode("utf-8")).hexdigest()
    with _audited(store, actor, role, "withdraw",
                  {"ids_listed": len(ids), "ids_sha256": digest, "feeds": list(feeds)}
                  ) as outcome:
        reason = _reason(reason)
        removed = withdraw_store_records(store, ids, feeds)
        outcome["records"] = removed.records
        outcome["detail"] = f"{removed.records} listed record(s) withdrawn"
        outcome["filters"] = {"counts": _counts(removed), "reason": reason,
                              "batches_removed": list(removed.batches_removed)}
    return removed


def purge(store: Store, *, apply: bool = False, actor: str | None = None, role: str = ROLE,
          today: dt.date | None = None) -> dict[str, dict[int, int]]:
    """The records past their retention period, per feed and event year; removed with
    ``apply`` (audited), else only counted (a dry run, not audited: it reads counts only)."""
    today = today or clock.today()
    if not apply:
        roles.require(roles.check_role(role), ACTION)
        return {**purge_plan(store, today), **exposure_purge_plan(store, today)}
    actor = actor or _actor()
    cutoffs = {feed: day.isoformat() for feed, day in retention_cutoffs(today).items()}
    cutoffs.update({EXPOSURE_PREFIX + layer: day.isoformat()
                    for layer, day in exposure_cutoffs(today).items()})
    with _audited(store, actor, role, "purge", {"before": cutoffs}) as outcome:
        removed = purge_store(store, today)
        sites = purge_exposure(store, today)
        outcome["records"] = removed.records
        n_sites = sum(sum(years.values()) for years in sites.values())
        outcome["detail"] = "retention purge" + (f", {n_sites} exposure sites" if n_sites else "")
        outcome["filters"] = {"counts": _counts(removed),
                              "batches_removed": list(removed.batches_removed),
                              **({"sites": {layer: {str(y): n for y, n in years.items()}
                                            for layer, years in sites.items()}}
                                 if sites else {})}
    return {**removed.counts, **sites}


def past_actions(store, limit: int = 200):
    """Withdrawals, purges and audit purges from the audit trail, newest first."""
    return read_audit(store, action=("withdraw", "purge", "audit-purge"), limit=limit)


# -- command line ------------------------------------------------------------------------------
def _print_counts(counts: dict[str, dict[int, int]], verb: str) -> None:
    if not counts:
        print(f"nothing {verb}")
        return
    for feed, years in counts.items():
        unit = "sites" if feed.startswith(EXPOSURE_PREFIX) else "records"
        for year, n in years.items():
            print(f"  {feed:<10} {year}  {n:>8,} {unit} {verb}")
    records = {feed: years for feed, years in counts.items()
               if not feed.startswith(EXPOSURE_PREFIX)}
    print(f"  total {sum(sum(y.values()) for y in records.values()):,} records {verb}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m data.store",
                                     description="Batches, withdrawals and retention purges "
                                                 "(audited, as the admin role).")
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("batches", help="list every batch: id, feed, rows, file name")
    withdraw = commands.add_parser("withdraw", help="remove a batch, or listed records, "
                                   "from the store")
    which = withdraw.add_mutually_exclusive_group(required=True)
    which.add_argument("--batch", help="the id of the batch to withdraw (see `batches`)")
    which.add_argument("--records", metavar="IDS.CSV",
                       help="a CSV with a record_id column (or one id a line)")
    withdraw.add_argument("--reason", required=True, help="why (kept in the audit trail)")
    withdraw.add_argument("--feed", choices=FEEDS, action="append",
                          help="with --records: only this feed (repeat for more)")
    purging = commands.add_parser("purge", help="records past their feed's retention period: "
                                  "counted (dry run), or removed with --apply")
    purging.add_argument("--apply", action="store_true", help="remove them (default: dry run)")
    for sub in (listing, withdraw, purging):
        sub.add_argument("--store", help="store URL or folder (default: STORE_URL, else ./store)")
    args = parser.parse_args(argv)
    try:
        store = open_store(args.store)
        if args.command == "batches":
            _print_batches(store)
        elif args.command == "withdraw" and args.batch:
            batch, removed = withdraw_batch(store, args.batch, reason=args.reason)
            print(f"withdrew batch {batch['id']} ({batch['feed']}, {batch['file_name']})")
            if batch["feed"].startswith(EXPOSURE_PREFIX):
                print(f"  {batch['rows']:,} sites removed")
            else:
                _print_counts(removed.counts, "removed")
        elif args.command == "withdraw":
            ids = read_record_ids(args.records)
            removed = withdraw_records(store, ids, reason=args.reason,
                                       feeds=tuple(args.feed or FEEDS))
            print(f"{len(ids):,} record id(s) listed, {removed.records:,} found and withdrawn")
            _print_counts(removed.counts, "removed")
        else:
            counts = purge(store, apply=args.apply)
            for status in retention_status(store, clock.today()):
                print(f"{status.feed:<10} kept {status.years} years: records before "
                      f"{status.cutoff} are due")
            for status in exposure_status(store, clock.today()):
                print(f"{status.feed} sites kept {status.years} years after closing: sites "
                      f"closed before {status.cutoff} are due")
            _print_counts(counts, "removed" if args.apply else
                          "due (dry run: --apply to remove them)")
    except (ConfigError, DashboardError) as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


def _print_batches(store: Store) -> None:
    table = batch_table(store)
    if table.empty:
        print("no batches")
        return
    print(f"{'batch id':<26} {'feed':<10} {'rows':>8}  {'source':<9} {'ingested at (UTC)':<25} "
          "file name")
    for row in table.itertuples(index=False):
        print(f"{row.id:<26} {row.feed:<10} {row.rows:>8,}  {row.source:<9} "
              f"{row.ingested_at:<25} {row.file_name}")


if __name__ == "__main__":
    sys.exit(main())
