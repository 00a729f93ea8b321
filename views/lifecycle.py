"""What the administrator's Data lifecycle page shows: the batches stored, each feed's retention
(when its oldest records will be purged), the withdrawals and purges done, and the withdrawal
of a batch with a typed confirmation. An exposure layer (accommodation sites) is listed and
withdrawn as a batch, and has its own retention row (sites are due once closed longer than the
period of the feed they are the denominator of: ``storage.lifecycle``). No Streamlit here; the actions are
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
from storage.lifecycle import (
    EXPOSURE_PREFIX,
    LifecycleError,
    batch_table,
    exposure_status,
    retention_status,
)

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
    return LifecycleView(*stored_tables(store, principal, today),
                         actions_table(store, principal))


def stored_tables(store: Store, principal: Principal, today: dt.date | None = None
                  ) -> tuple[pd.DataFrame, list[str], pd.DataFrame]:
    """What the store holds: the batches (newest first), their ids and each feed's retention
    on ``today``; they change only with the store's content, its exposure layers and the day
    (``ui.admin_loaders`` caches them so)."""
    _admin_only(principal)
    today = today or clock.today()
    table = batch_table(store).iloc[::-1]
    batches = table[list(BATCH_COLUMNS)].rename(columns=BATCH_COLUMNS).reset_index(drop=True)
    retention = pd.DataFrame([{
        "Feed": _title(s.feed), "Kept (years)": s.years,
        "Records before this day are due": s.cutoff.isoformat(),
        "Oldest record": s.first_event.isoformat() if s.first_event else "none",
        "Oldest data purged on": s.purge_from.isoformat() if s.purge_from else "-",
        "Due now": s.due}
        for s in [*retention_status(store, today), *exposure_status(store, today)]])
    return batches, table["id"].tolist(), retention


def actions_table(store: Store, principal: Principal) -> pd.DataFrame:
    """Past withdrawals and purges, newest first, from the audit trail."""
    _admin_only(principal)
    return _actions(store)


def _admin_only(principal: Principal) -> None:
    if principal.role != "admin":
        raise AccessDenied("only the administrator role manages the data lifecycle")


def _title(feed: str) -> str:
    """A feed's title; an exposure layer's says its rows are sites, dated by their closing."""
    if feed.startswith(EXPOSURE_PREFIX):
        return f"{feed[len(EXPOSURE_PREFIX):].capitalize()} sites (exposure layer; by closing date)"
    return FEED_TITLES[feed]


def _measured(layer: str) -> str:
    """"Rosewood is": the feeds a layer is the denominator of (``core.denominators``)."""
    from core.denominators import exposure_feeds
    from views.overview import FEED_SHORT_TITLES

    feeds = [FEED_SHORT_TITLES[f] for f, name in exposure_feeds().items() if name == layer]
    return (" and ".join(feeds) + (" are" if len(feeds) > 1 else " is")) if feeds else \
        "nothing is"


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
    if batch["feed"].startswith(EXPOSURE_PREFIX):
        return (f"Exposure layer {batch_id} ({batch['file_name']}) withdrawn: "
                f"{batch['rows']:,} sites removed; {_measured(batch['layer'])} measured "
                "against residents until a new list is loaded. Recorded in the audit log.")
    return (f"Batch {batch_id} ({batch['file_name']}) withdrawn: {removed.records:,} records "
            "removed. Recorded in the audit log.")
