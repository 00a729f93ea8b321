"""The per-page CPU floor of a warm rerun (issue 14, 20 concurrent sessions; docs/benchmarks.md).

- ``ui.heap``: the long-lived heap is frozen, so the collection Streamlit runs after every page
  run skips it; it is refrozen at most every ``REFREEZE_S`` seconds, which collects cyclic
  garbage among frozen objects (nothing is kept for good).
- Hotspots: an unchanged view builds and renders its map once (``ui.hotspot_map``); a rerun
  sends the component the very same arguments; a new selection or filter makes a new map.
"""
from __future__ import annotations

import gc
import json
import weakref

import pytest

from tests import hotspot_fixtures
from tests.apptest import (
    assert_reruns_resend_the_map,
    calls_to,
    map_json,
    open_page,
    serve_store,
)
from ui import heap


# -- ui.heap -----------------------------------------------------------------------------------
class Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the cyclic collector frees it


@pytest.fixture
def fresh_heap():
    heap.reset()
    yield
    heap.reset()


def test_the_heap_is_frozen_and_refrozen_only_when_due(fresh_heap):
    assert heap.refreeze_if_due(now=1000.0)
    frozen = gc.get_freeze_count()
    assert frozen > 1000                      # this process's objects, out of every collection
    assert not heap.refreeze_if_due(now=1000.0 + heap.REFREEZE_S - 1)
    assert heap.refreeze_if_due(now=1000.0 + heap.REFREEZE_S)
    assert not heap.refreeze_if_due(now=1000.0 + heap.REFREEZE_S + 1)


def test_a_frozen_cycle_is_collected_at_the_next_refreeze(fresh_heap):
    node = Node()
    alive = weakref.ref(node)
    assert heap.refreeze_if_due(now=0.0)      # the cycle, still in use, is frozen
    del node
    gc.collect()                              # what Streamlit runs after a page: skips it
    assert alive() is not None
    assert heap.refreeze_if_due(now=heap.REFREEZE_S)
    assert alive() is None                    # refrozen: collected


def test_garbage_made_after_a_freeze_is_collected_after_the_run(fresh_heap):
    heap.refreeze_if_due(now=0.0)
    node = Node()
    alive = weakref.ref(node)
    del node
    gc.collect()
    assert alive() is None


# -- Hotspots: the map once per view -----------------------------------------------------------
store = hotspot_fixtures.store  # the sample store with five hotspots by construction


@pytest.fixture
def env(monkeypatch, store, tmp_path):
    return serve_store(monkeypatch, store, tmp_path)


def test_an_unchanged_hotspots_view_builds_its_map_once(env):
    from ui import hotspot_map

    with calls_to(hotspot_map, "hotspot_map", lambda *a, **kw: kw.get("selected")) as built:
        # Dates no other test asks for: the first run builds the map.
        at = open_page("pages/hotspots.py", "analyst", **{"from": "2023-01-01",
                                                          "to": "2026-10-31"})
        first = map_json(at)
        assert built == [None]
        assert '"hotspot_id"' in json.loads(first)["script"]
        assert_reruns_resend_the_map(at, first)
        assert built == [None]
        at.session_state["hotspots_table"] = {"selection": {"rows": [1], "columns": []}}
        at.run()                                 # a selection: a new map, zoomed to it
        assert not at.exception
        assert len(built) == 2 and built[1] is not None
        assert "fitBounds" in map_json(at) and map_json(at) != first
        at.run()
        assert len(built) == 2


# -- the store's fingerprint, read once per page run -------------------------------------------
def test_the_fingerprint_is_read_once_within_a_held_block(env, tmp_path):
    import shutil

    from data.ingest import ingest_frame
    from storage.base import fingerprints_held, store_fingerprint
    from storage.parquet import ParquetStore
    from tests.sample_store import feed_rows

    shutil.copytree(env.root, tmp_path / "copy")
    store = ParquetStore(tmp_path / "copy")
    with calls_to(ParquetStore, "batches") as reads:
        before = store_fingerprint(store)
        with fingerprints_held():
            held = store_fingerprint(store)
            with fingerprints_held():          # nested: the outer block's
                assert store_fingerprint(store) == held
            # A write committed meanwhile (another session) shows at the next run, not in this one.
            rows = feed_rows("nrm", 40).tail(3).assign(record_id=["NEW-1", "NEW-2", "NEW-3"])
            seen = len(reads)
            ingest_frame(rows, "nrm", name="more.csv", store=store, source="synthetic")
            del reads[seen:]                   # the ingest's own reads
            assert store_fingerprint(store) == held
            assert store_fingerprint(ParquetStore(tmp_path / "copy")) == held  # by URL
        assert len(reads) == 2                 # once outside, once in the block
        after = store_fingerprint(store)       # the block over: read again, the write seen
    assert held == before and after != held
    assert len(reads) == 3


def test_a_trends_rerun_reads_the_store_manifest_a_few_times_only(env):
    from storage.parquet import ParquetStore

    at = open_page("pages/trends.py", "chair")
    with calls_to(ParquetStore, "batches") as reads:
        at.run()
    assert not at.exception
    assert 1 <= len(reads) <= 3, len(reads)   # was about 60: one per cached loader
