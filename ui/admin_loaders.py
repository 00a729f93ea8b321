"""Loaders of the administrator's Audit log and Data lifecycle pages (pages/audit_log.py,
pages/data_lifecycle.py): what they read, cached by what it depends on.

Under load every page view anywhere appends to the audit log, and these pages read it: the
chain check walks every entry (JSON and SHA-256 of each, 0.08 s at 2,700 entries, growing with
the log) and the lifecycle page queried every feed's dates on every run. So:

- the Data lifecycle page's store tables (batches, retention) are cached per store content,
  exposure layers, day and role; its past withdrawals and purges per audit head (the last
  entry's seq and hash: a new entry, or a purge, changes it);
- the Audit log page's chain check runs at most once per :data:`CHAIN_CHECK_TTL_S` per process
  (the page says when it was checked, and "Check the chain now" runs it at once); the entries
  shown are read on every run.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd
import streamlit as st

from core import clock
from safeguards.access import Principal
from safeguards.audit import VerifyResult, read_audit, verify
from storage.base import store_fingerprint
from storage.exposure import layers_fingerprint
from storage.open import audit_sink, open_store
from views import audit_log as _audit_log
from views import lifecycle as _lifecycle

CHAIN_CHECK_TTL_S = 30


def audit_head(store) -> tuple[int, str] | None:
    """The audit log's head marker (seq, hash): changes with every entry written."""
    head = audit_sink(store).head()
    return None if head is None else (head["seq"], head["hash"])


# -- Data lifecycle --------------------------------------------------------------------------
def load_lifecycle(principal: Principal) -> _lifecycle.LifecycleView:
    """``views.lifecycle.lifecycle_view`` for ``principal`` (an administrator)."""
    store = open_store()
    tables = _cached_stored_tables(store.url, store_fingerprint(store), layers_fingerprint(store),
                                   clock.today(), principal)
    actions = _cached_actions(store.url, audit_head(store), principal)
    return _lifecycle.LifecycleView(*tables, actions)


@st.cache_data(ttl="10m", max_entries=8, show_spinner=False)
def _cached_stored_tables(store_url, fingerprint, layers, today, principal):
    return _lifecycle.stored_tables(open_store(store_url), principal, today)


@st.cache_data(ttl="10m", max_entries=8, show_spinner=False)
def _cached_actions(store_url, head, principal):
    return _lifecycle.actions_table(open_store(store_url), principal)


# -- Audit log -------------------------------------------------------------------------------
@dataclass(frozen=True)
class ChainCheck:
    """A chain check's result and when it ran."""

    result: VerifyResult
    checked_at: dt.datetime


def load_chain_check() -> ChainCheck:
    """The audit chain's check, at most :data:`CHAIN_CHECK_TTL_S` seconds old."""
    return _cached_chain_check(open_store().url)


def check_chain_now() -> None:
    """Drop the last check: the next run checks the chain again (a button's callback)."""
    _cached_chain_check.clear()


@st.cache_data(ttl=CHAIN_CHECK_TTL_S, max_entries=4, show_spinner=False)
def _cached_chain_check(store_url) -> ChainCheck:
    return ChainCheck(verify(open_store(store_url)), clock.now())


def load_audit_table(since, until, actor: str | None, action: str | None, limit: int
                     ) -> tuple[pd.DataFrame, str]:
    """The page's table of entries (``views.audit_log.audit_table``) and its count line, read
    on every run: the entries as stored now (an entry edited in place shows as edited even
    when no entry was added; not cached by the head)."""
    entries = read_audit(open_store(), since=since, until=until, actor=actor, action=action,
                         limit=limit)
    return _audit_log.audit_table(entries), _audit_log.count_text(entries)
