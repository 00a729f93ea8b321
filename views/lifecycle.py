"""What the administrator's Data lifecycle page shows: the batches stored, each feed's retention
(when its oldest records will be purged), the withdrawals and purges done, and the withdrawal
of a batch with a typed confirmation. No Streamlit here; the actions are
``safeguards.lifecycle``'s (role checked, audited)."""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

import pandas as pd

from core import clock
from core.errors import AccessDenied
from core.schema import FEED_TITLES
from safeguards.access import Principal
from safeguards.lifecycle import past_actions, withdraw_batch
from storage.base import Store
from storage.lifecycle import LifecycleError, batch_table, retention_status

BATCH_COLUMNS = {"file_name": "File", "feed": "Feed", "rows": "Records", "source": "Source",
                 "ingested_at": "Ingested (UTC)", "id": "Batch id"}


@dataclass(frozen=True)
class LifecycleView:
    batches: pd.DataFrame       # one row a batch, newest first, columns BATCH_COLUMNS' titles
    batch_ids: list[str]        # newest first, for the withdrawal form
    retention: pd.DataFrame     # one row a feed
    actions: pd.DataFrame       # past withdrawals and purges, newest first


def lifecycle_view(store: Store, principal: Principal, today: dt.date | None = None
                   ) -> LifecycleView:
    """The page's tables, for an administrator (``AccessDenied`` for any other role)."""
    if principal.role != "admin":
        raise AccessDenied("only the administrator role manages the data lifecycle")
    today = today or clock.today()
    table = batch_table(store).iloc[::-1]
    batches = table[list(BATCH_COLUMNS)].rename(columns=BATCH_COLUMNS).reset_index(drop=True)
    retention = pd.DataFrame([{
        "Feed": FEED_TITLES[s.feed], "Kept (years)": s.years,
        "Records before this day are due": s.cutoff.isoformat(),
        "Oldest record": s.first_event.isoformat() if s.first_event else "none",
        "Oldest data purged on": s.purge_from.isoformat() if s.purge_from else "-",
        "Due now": s.due} for s in retention_status(store, today)])
    return LifecycleView(batches, table["id"].tolist(), retention, _actions(store))


def _actions(store: Store) -> pd.DataFrame:
    frame = past_actions(store)
    rows = []
    for entry in frame.itertuples(index=False):
        filters = json.loads(entry.filters)
        what = (f"batch {filters['batch']} ({filters.get('file', '?')})" if "batch" in filters
                else f"{filters['ids_listed']} listed record id(s)" if "ids_listed" in filters
                else "audit entries" if entry.action == "audit-purge" else "retention purge")
        rows.append({"When (UTC)": entry.created.strftime("%Y-%m-%d %H:%M"),
                     "Action": entry.action, "Who": entry.actor, "What": what,
                     "Records": entry.records, "Outcome": entry.detail or "",
                     "Reason": filters.get("reason", "")})
    return pd.DataFrame(rows, columns=["When (UTC)", "Action", "Who", "What", "Records",
                                       "Outcome", "Reason"])


def withdraw_from_page(store: Store, principal: Principal, batch_id: str, confirmation: str,
                       reason: str) -> str:
    """Withdraw ``batch_id`` once ``confirmation`` (typed by the user) is that id; returns the
    message to show. ``LifecycleError`` when the confirmation does not match (nothing done)."""
    if (confirmation or "").strip() != batch_id:
        raise LifecycleError("type the batch id exactly to confirm the withdrawal; nothing was "
                             "withdrawn")
    batch, removed = withdraw_batch(store, batch_id, reason=reason, actor=principal.user,
                                    role=principal.role)
    return (f"Batch {batch_id} ({batch['file_name']}) withdrawn: {removed.records:,} records "
            "removed. Recorded in the audit log.")
