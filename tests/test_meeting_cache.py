"""Meeting mode's cached figures follow the tasking records (``ui.meeting_loaders``).

The figures are cached per store content (``storage.base.store_fingerprint``: batches), but the
tasking step lists the store's tasks, a side document that a chair changes from the Hotspots
page in any dashboard process. A task created after the meeting was first drawn must show on
the next run, in every process, not after the cache's ten minutes.
"""
from __future__ import annotations

import datetime as dt

import pytest

from core.schema import FEEDS
from data.synthetic import build_store as build_synthetic
from safeguards.access import Principal, RoleScopedQuery
from storage.parquet import ParquetStore
from ui.meeting_loaders import load_meeting, tasks_version
from views.hotspots import fit_hotspots
from views.meeting import MeetingState, Period
from views.tasking import DEFAULT_AGENCIES, TaskBook

CHAIR = Principal("chair@example.org", "chair")


@pytest.fixture
def store(tmp_path, monkeypatch) -> ParquetStore:
    root = tmp_path / "store"
    build_synthetic(root, years=2, seed=3, end="2026-09-30")
    monkeypatch.setenv("STORE_URL", str(root))
    return ParquetStore(root)


def test_a_new_task_shows_in_the_cached_meeting(store):
    state = MeetingState("2026-Q3")
    before = load_meeting(CHAIR, state)
    assert before.tasks == ()
    assert load_meeting(CHAIR, state) is not None  # served from the cache
    version = tasks_version(store)

    view = fit_hotspots(RoleScopedQuery(store, CHAIR), list(FEEDS), Period("2026-Q3").filter())
    TaskBook(store, CHAIR).create(view.hotspots.iloc[0], lead_agency=DEFAULT_AGENCIES[0],
                                  action="Joint visit", due=dt.date(2027, 1, 31),
                                  feeds=list(FEEDS))
    assert tasks_version(store) != version

    [task] = load_meeting(CHAIR, state).tasks
    assert task.title == "Joint visit"
