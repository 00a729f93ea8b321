"""Issue 14 item 6, sixth round: the 1,000,000-event ingest in a fresh process; each shortcut
against the path it replaces.

* work shared by the ingest's two threads (``data.locating.SecondThread``): a location chunk
  the second thread has not started is run by the first when it needs the result, the rest
  waited for. Results
  (stored rows, hashes, problems) equal the all-on-one-thread path, whichever thread ran what;
  a cancelled task never runs; a task's error reaches the caller from either thread;
* the store's batch write (``storage.parquet``): each row group's rows taken on a helper
  thread while the one before is written, byte for byte the file ``pq.write_table`` of the
  whole sorted table wrote (sizes around the row group size, every feed); the batch's own
  uniqueness test run meanwhile, its refusal (``StoreError``) still first, before a conflict,
  and nothing of the batch left in the store folder (a new batch or a conflicting one);
* category and multi-choice cells cleaned once per distinct raw value (``data.parse``)
  against cleaning every cell first: same typed column on the generated feeds, every such
  column of the bad-input corpus, and random cells of spaces, tabs, non-breaking spaces, case,
  hyphens, separators and empties (missing cells take the old path);
* ``INGEST_MEMORY_POOL`` set to an unknown name is a ``ConfigError`` naming the variable and
  the values allowed (it was silently ignored), and nothing is stored;
* with the system allocator, glibc's heap keeps freed memory from the first ingest on
  (``data.memory_pool.keep_freed_heap``): set once per process, both settings, nothing done
  without glibc; the stored rows are those of an ingest that leaves the allocator alone.
"""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from core.errors import ConfigError, SchemaError, StoreError
from core.schema import feed_fields
from data import ingest as ingest_module
from data import location, memory_pool, parse
from data.ingest import ingest_file
from data.locating import Claimable, SecondThread, claim_pending
from data.synthetic import generate
from storage import parquet as parquet_store
from storage.base import RecordConflict, stored_schema
from storage.parquet import ParquetStore
from tests.conftest import VALID_ROWS, store_snapshot, write_csv
from tests.corpus import readable_corpus_frames


# -- the two threads share the work ---------------------------------------------------------
def _ran_on(log):
    def work(value):
        log.append((value, threading.current_thread().name))
        return value * 2
    return work


def test_a_task_the_second_thread_has_not_started_runs_on_the_caller():
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="second")
    busy, release = threading.Event(), threading.Event()
    pool.submit(lambda: (busy.set(), release.wait(30)))  # the second thread is kept busy
    busy.wait(30)
    log = []
    tasks = [Claimable(pool, _ran_on(log), n) for n in range(4)]
    results = [task.result() for task in claim_pending(tasks)]
    release.set()
    pool.shutdown(wait=True)
    assert results == [0, 2, 4, 6]
    assert sorted(log) == [(n, threading.current_thread().name) for n in range(4)]  # once each


def test_a_started_task_is_waited_for_and_runs_once():
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="second")
    started, release = threading.Event(), threading.Event()
    log = []

    def slow(value):
        started.set()
        release.wait(30)
        return _ran_on(log)(value)

    first = Claimable(pool, slow, 1)
    started.wait(30)
    assert not first.claim()  # running there: not claimed
    threading.Timer(0.2, release.set).start()
    assert first.result() == 2
    pool.shutdown(wait=True)
    assert [name.startswith("second") for _, name in log] == [True]


def test_a_cancelled_task_never_runs_and_errors_reach_the_caller_from_either_thread():
    pool = ThreadPoolExecutor(max_workers=1)
    busy, release = threading.Event(), threading.Event()
    pool.submit(lambda: (busy.set(), release.wait(30)))
    busy.wait(30)
    log = []
    never = Claimable(pool, _ran_on(log), 9)
    never.cancel()

    def fails(_):
        raise SchemaError("f.csv", [])

    claimed = Claimable(pool, fails, 0)  # pending: run here by result()
    with pytest.raises(SchemaError):
        claimed.result()
    started_there = threading.Event()

    def fails_there(_):
        started_there.set()
        raise SchemaError("f.csv", [])

    release.set()
    there = Claimable(pool, fails_there, 0)
    assert started_there.wait(30)  # the second thread has taken it: result() waits for it
    with pytest.raises(SchemaError):
        there.result()
    pool.shutdown(wait=True)
    assert log == []


def test_a_small_file_runs_every_task_inline():
    log = []
    second = SecondThread(threaded=False)
    task = second.submit(_ran_on(log), 3)
    assert log == [(3, threading.current_thread().name)]  # at once, on this thread
    assert task.result() == 6 and not task.claim()


def _stored(store: ParquetStore, feed: str) -> pd.DataFrame:
    return store.query(feed).sort_values("record_id", ignore_index=True)


@pytest.fixture(scope="module")
def feeds():
    return generate(seed=11, events=6_000)


def test_the_stored_rows_are_the_same_whichever_thread_ran_each_task(tmp_path, monkeypatch,
                                                                     feeds):
    """The reference: every task inline (one thread). Then the second thread with many chunks,
    held in its first location chunk until the first thread has run a later chunk itself;
    then the second thread left to do what it takes. The parsed columns' hashes stay on the
    first thread."""
    monkeypatch.setattr(location, "MIN_POINTS", 0)  # the grid table on these small chunks
    ran = {"locations": set(), "hashes": set()}
    real_locate, real_hashes = ingest_module.locate_chunk, ingest_module.text_hashes
    hold = {"on": False, "released": threading.Event()}

    def locate(*args):
        name = threading.current_thread().name
        ran["locations"].add(name)
        if not name.startswith("ingest-locations"):
            hold["released"].set()  # the first thread runs a chunk: let the second go on
        elif hold["on"]:
            assert hold["released"].wait(30)
        return real_locate(*args)

    def hashes(column):
        ran["hashes"].add(threading.current_thread().name)
        return real_hashes(column)

    monkeypatch.setattr(ingest_module, "locate_chunk", locate)
    monkeypatch.setattr(ingest_module, "text_hashes", hashes)
    stored = {}
    for case, thread_min_rows, chunk_rows in (("inline", 10**12, 10**9), ("shared", 0, 997),
                                              ("threaded", 0, 1_500)):
        monkeypatch.setattr(ingest_module, "THREAD_MIN_ROWS", thread_min_rows)
        monkeypatch.setattr(ingest_module, "CHUNK_ROWS", chunk_rows)
        for feed, frame in feeds.items():
            hold["on"] = case == "shared" and len(frame) > chunk_rows  # a later chunk to run
            hold["released"].clear()
            path = tmp_path / f"{feed}.csv"
            frame.to_csv(path, index=False)
            store = ParquetStore(tmp_path / case / feed)
            report = ingest_file(path, feed, store=store)
            assert report.added == len(frame)
            stored[case, feed] = _stored(store, feed)
        if case == "shared":
            main = threading.current_thread().name
            assert main in ran["locations"] and ran["hashes"] == {main}, ran
            assert any(n.startswith("ingest-locations") for n in ran["locations"]), ran
        ran = {"locations": set(), "hashes": set()}
    for feed in feeds:
        for case in ("shared", "threaded"):
            pd.testing.assert_frame_equal(stored[case, feed], stored["inline", feed],
                                          obj=f"{feed} {case}")


def test_a_refused_file_gives_the_same_problems_with_the_work_shared(tmp_path, monkeypatch,
                                                                    feeds):
    frame = feeds["rosewood"].copy()
    frame.loc[3, "found_at"] = "2001-01-01T00:00"  # found before reported missing
    frame.loc[7, "age_group"] = "ninety"
    path = tmp_path / "rosewood.csv"
    frame.to_csv(path, index=False)
    messages = []
    for thread_min_rows, chunk_rows in ((10**12, 10**9), (0, 997)):
        monkeypatch.setattr(ingest_module, "THREAD_MIN_ROWS", thread_min_rows)
        monkeypatch.setattr(ingest_module, "CHUNK_ROWS", chunk_rows)
        store = ParquetStore(tmp_path / f"s{thread_min_rows}")
        with pytest.raises(SchemaError) as caught:
            ingest_file(path, "rosewood", store=store)
        messages.append(str(caught.value))
        assert not store.batches()
        # --accept-valid: the other rows stored, the same two quarantined
        report = ingest_file(path, "rosewood", store=store, accept_valid=True)
        assert (report.added, report.quarantined) == (len(frame) - 2, 2)
    assert messages[0] == messages[1]
    assert "row 5" in messages[0] and "row 9" in messages[0]


# -- categories cleaned per distinct value ---------------------------------------------------
CHOICE_FIELDS = {f.name: f for feed in ("nrm", "rosewood", "mandevilla")
                 for f in feed_fields(feed) if f.kind in ("category", "multi")}


def _old_choice(raw: pd.Series, field) -> pd.Series:
    """``parse_field`` for a category or multi column as it was: every cell cleaned first."""
    canonical = parse._canonical_category if field.kind == "category" else parse._canonical_multi
    return parse._per_distinct_text(parse.clean_text(raw), canonical)


def _same_choices(raw: pd.Series, field, what: str) -> None:
    frame = pd.DataFrame({field.name: raw, "_row": np.arange(2, len(raw) + 2)})
    new, problems = parse.parse_field(frame, field)
    assert problems == []
    pd.testing.assert_series_equal(new, _old_choice(raw, field), check_names=False, obj=what)


def test_choices_cleaned_per_distinct_value_are_those_cleaned_per_cell(feeds):
    for feed, frame in feeds.items():
        for f in feed_fields(feed):
            if f.kind in ("category", "multi"):
                _same_choices(frame[f.name].astype("string").fillna(""), f, f"{feed}.{f.name}")
    compared = 0
    for file_name, frame in readable_corpus_frames():
        for name in frame.columns:
            if name in CHOICE_FIELDS and len(frame):
                _same_choices(frame[name], CHOICE_FIELDS[name], f"{file_name}.{name}")
                compared += 1
    assert compared >= 20
    rng = np.random.default_rng(6)
    pieces = ["", " ", "\t", "\u00a0", "Male", "male", "FEMALE", " other ", "18-24", "18 24",
              "sexual;labour", "Labour , Sexual", "criminal|domestic_servitude", ";", "x-y_z",
              "\u00a0 unknown\u00a0", "Local Authority", "police\n"]
    cells = ["".join(rng.choice(pieces, size=rng.integers(0, 4))) for _ in range(5_000)]
    for field in CHOICE_FIELDS.values():
        _same_choices(pd.Series(cells, dtype="string"), field, f"random {field.name}")
        _same_choices(pd.Series(cells, dtype="string").iloc[100:], field, "offset index")
        with_missing = pd.Series(cells[:50] + [None], dtype="string")  # the old path
        _same_choices(with_missing, field, "missing cell")
        _same_choices(pd.Series(cells[:50], dtype=object), field, "object cells")


# -- the batch write ------------------------------------------------------------------------
@pytest.mark.parametrize("group", [1_000, 2_048])
def test_the_batch_file_is_byte_for_byte_the_whole_table_write(tmp_path, monkeypatch, feeds,
                                                               group):
    monkeypatch.setattr(parquet_store, "ROW_GROUP_SIZE", group)
    for feed, frame in feeds.items():
        store = ParquetStore(tmp_path / feed)
        ingest_module.ingest_frame(frame, feed, name=f"{feed}.csv", store=store)
        records = store.query(feed).sample(frac=1, random_state=2).reset_index(drop=True)
        schema = stored_schema(feed)
        for rows in (0, 1, group - 1, group, group + 1, 2 * group, 2 * group + 3, len(records)):
            part = records.iloc[:rows]
            whole, pieces = tmp_path / "whole.parquet", tmp_path / "pieces.parquet"
            pq.write_table(parquet_store.sorted_table(part, schema), whole,
                           row_group_size=group, **parquet_store.write_options(schema))
            assert parquet_store.write_sorted(part, schema, pieces) == len(part)
            assert pieces.read_bytes() == whole.read_bytes(), (feed, rows)
            assert pq.ParquetFile(pieces).num_row_groups == -(-len(part) // group) or rows == 0


def _parquet_files(store: ParquetStore) -> list[str]:
    return sorted(p.name for p in store.root.rglob("*.parquet"))


def test_a_batch_holding_an_id_twice_is_refused_first_and_leaves_nothing(tmp_path, feeds):
    store = ParquetStore(tmp_path / "s")
    ingest_module.ingest_frame(feeds["nrm"], "nrm", name="nrm.csv", store=store)
    before = (_parquet_files(store), store.batches(), _stored(store, "nrm"))
    rows = store.query("nrm")
    new = rows.assign(record_id=[f"N-{i}" for i in range(len(rows))])
    twice = pd.concat([new, new.iloc[:1]], ignore_index=True)  # new rows, one id twice
    with pytest.raises(StoreError, match="more than once"):
        store.append("nrm", twice, source="real", file_name="twice.csv")
    # Conflicting rows (stored ids, other content) and an id twice: the duplicate is reported.
    changed = rows.assign(gender="other", content_hash="0" * 16)
    clash = pd.concat([changed, rows.iloc[:1]], ignore_index=True)
    with pytest.raises(StoreError, match="more than once"):
        store.append("nrm", clash, source="real", file_name="clash.csv")
    with pytest.raises(StoreError, match="more than once"):
        store.append("nrm", clash, source="real", file_name="clash.csv", replace=True)
    after = (_parquet_files(store), store.batches(), _stored(store, "nrm"))
    assert after[:2] == before[:2]
    pd.testing.assert_frame_equal(after[2], before[2])
    with pytest.raises(RecordConflict):  # without the duplicate: the conflict, as before
        store.append("nrm", changed, source="real", file_name="c.csv")
    assert _parquet_files(store) == before[0]


def test_a_failed_write_leaves_no_file_and_the_store_unchanged(tmp_path, monkeypatch, feeds):
    store = ParquetStore(tmp_path / "s")
    ingest_module.ingest_frame(feeds["nrm"], "nrm", name="nrm.csv", store=store)
    before = (_parquet_files(store), store.batches())
    rows = store.query("nrm").assign(record_id=lambda f: "M-" + f["record_id"])

    def fails(*_):
        raise OSError("disk full")

    monkeypatch.setattr(parquet_store.ParquetStore, "_commit", fails)
    with pytest.raises(OSError, match="disk full"):
        store.append("nrm", rows, source="real", file_name="more.csv")
    assert (_parquet_files(store), store.batches()) == before


# -- INGEST_MEMORY_POOL ----------------------------------------------------------------------
@pytest.mark.parametrize("value", ["jemaloc", "malloc", "none"])
def test_an_unknown_memory_pool_is_a_clear_error(monkeypatch, value):
    monkeypatch.setenv(memory_pool.POOL_ENV, value)
    with pytest.raises(ConfigError) as caught:
        memory_pool.ingest_pool()
    message = str(caught.value)
    assert "INGEST_MEMORY_POOL" in message and repr(value) in message
    for allowed in ("system", "jemalloc", "mimalloc", "default"):
        assert allowed in message


@pytest.mark.parametrize("value", ["", "system", " System ", "default", "mimalloc", "jemalloc"])
def test_the_known_memory_pool_names_are_accepted(monkeypatch, value):
    monkeypatch.setenv(memory_pool.POOL_ENV, value)
    pool = memory_pool.ingest_pool()
    assert (pool is None) == (value == "default")


def test_an_ingest_with_an_unknown_memory_pool_stores_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv(memory_pool.POOL_ENV, "jemaloc")
    store = ParquetStore(tmp_path / "s")
    path = write_csv(tmp_path / "nrm.csv", VALID_ROWS["nrm"])
    with pytest.raises(ConfigError, match="INGEST_MEMORY_POOL"):
        ingest_file(path, "nrm", store=store)
    assert not any(name.endswith(".parquet") for name in store_snapshot(store.root)) \
        if store.root.exists() else True
    assert ingest_module.main([str(path), "--feed", "nrm", "--store", str(tmp_path / "t")]) == 2


class _FakeLibc:
    def __init__(self, answer=1):
        self.calls, self.answer = [], answer

    def mallopt(self, option, value):
        self.calls.append((option, value))
        return self.answer


def test_the_heap_is_told_to_keep_freed_memory_once(monkeypatch):
    monkeypatch.setitem(memory_pool._HEAP, "kept", False)
    libc = _FakeLibc()
    assert memory_pool.keep_freed_heap(libc) and memory_pool.keep_freed_heap(libc)
    assert libc.calls == list(memory_pool.KEPT_HEAP.items())  # both settings, once
    monkeypatch.setitem(memory_pool._HEAP, "kept", False)
    refused = _FakeLibc(answer=0)
    assert not memory_pool.keep_freed_heap(refused)
    assert refused.calls == list(memory_pool.KEPT_HEAP.items())  # both tried
    monkeypatch.setitem(memory_pool._HEAP, "kept", False)
    monkeypatch.setattr(memory_pool, "_libc", lambda: None)  # not glibc: nothing to do
    assert not memory_pool.keep_freed_heap()


@pytest.mark.parametrize("pool, kept", [("system", True), ("jemalloc", False),
                                        ("default", False)])
def test_an_ingest_keeps_the_heap_with_the_system_allocator_only(tmp_path, monkeypatch,
                                                                 pool, kept):
    monkeypatch.setenv(memory_pool.POOL_ENV, pool)
    monkeypatch.setitem(memory_pool._HEAP, "kept", False)
    libc = _FakeLibc()
    monkeypatch.setattr(memory_pool, "_libc", lambda: libc)
    store = ParquetStore(tmp_path / "s")
    ingest_file(write_csv(tmp_path / "nrm.csv", VALID_ROWS["nrm"]), "nrm", store=store)
    assert bool(libc.calls) == kept


def test_the_stored_rows_are_the_same_with_the_heap_kept(tmp_path, monkeypatch, feeds):
    stored = {}
    for pool in ("default", "system"):
        monkeypatch.setenv(memory_pool.POOL_ENV, pool)
        store = ParquetStore(tmp_path / pool)
        for feed, frame in feeds.items():
            path = tmp_path / f"{feed}.csv"
            frame.to_csv(path, index=False)
            ingest_file(path, feed, store=store)
            stored[pool, feed] = _stored(store, feed)
    if memory_pool._libc() is not None:  # glibc here: the real settings were made
        assert memory_pool._HEAP["kept"]
    for feed in feeds:
        pd.testing.assert_frame_equal(stored["system", feed], stored["default", feed])
