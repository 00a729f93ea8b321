"""Issue 14 item 6, fifth round: first-file costs of an ingest in a fresh process; each
shortcut against the path it replaces.

* the grid-cell → LSOA table kept on disk (``data.grid_cache``): read back equal to a fresh
  build; a stale file (other parameters, boundaries, key or format) or a damaged one
  (truncated, garbage, a changed cell, wrong codes) is rebuilt and replaced, never used; the
  write is atomic (a failed write leaves the old file and no temporary file); an unwritable
  folder only means building each time;
* dates of the one common shape ``yyyy-mm-ddThh:mm`` read by position (``data.parse``)
  against the ISO/UK patterns, on random digits of that shape (impossible months, days, hours
  and minutes included), edge values, columns mixing in one cell of another shape, the
  generated feeds and every date column of the bad-input corpus: same stamps, same problems;
* the Arrow memory pool switched for the ingest (``data.memory_pool``): switched and restored
  (nested, from two threads), and the store written under it byte for byte what the default
  pool writes.
"""
from __future__ import annotations

import threading

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from core import derived_cache
from core.schema import feed_fields
from data import grid_cache, lsoa_grid, memory_pool, parse
from data.ingest import _parse, ingest_file
from data.synthetic import generate
from geo.areas import lsoas_bng
from storage.parquet import ParquetStore
from tests.conftest import store_snapshot
from tests.corpus import readable_corpus_frames

#: A coarse table: quick to build, the same code path as the shipped 30 m one.
COARSE = (250.0, 1.0, 8.0)


@pytest.fixture
def builds(monkeypatch):
    """Counts the tables built (not read back)."""
    made = []
    real = lsoa_grid.build_grid

    def counted(*args, **kwargs):
        made.append(args[:3])
        return real(*args, **kwargs)

    monkeypatch.setattr(lsoa_grid, "build_grid", counted)
    return made


def _same(a: lsoa_grid.LsoaGrid, b: lsoa_grid.LsoaGrid) -> None:
    assert (a.x0, a.y0, a.cell_m) == (b.x0, b.y0, b.cell_m)
    assert a.table.dtype == b.table.dtype == np.int32
    np.testing.assert_array_equal(a.table, b.table)
    assert list(a.codes) == list(b.codes)


def test_a_kept_table_is_read_back_equal_to_a_fresh_build(tmp_path, builds):
    path = tmp_path / "cache" / grid_cache.FILE_NAME
    first = lsoa_grid.kept_grid(*COARSE, path)
    assert len(builds) == 1 and path.is_file()
    again = lsoa_grid.kept_grid(*COARSE, path)
    assert len(builds) == 1  # read, not built
    _same(again, first)
    _same(again, lsoa_grid.build_grid(*COARSE))
    assert again.codes.dtype == object  # as built: codes of the boundaries, not of the file
    assert [p.name for p in path.parent.iterdir()] == [grid_cache.FILE_NAME]  # no temporaries


def test_the_process_table_is_the_built_one(tmp_path, monkeypatch):
    monkeypatch.setenv(grid_cache.CACHE_ENV, str(tmp_path))
    monkeypatch.setattr(lsoa_grid, "_BUILT", [])
    built = lsoa_grid.lsoa_grid()
    monkeypatch.setattr(lsoa_grid, "_BUILT", [])
    read = lsoa_grid.lsoa_grid()
    assert read is not built and (tmp_path / grid_cache.FILE_NAME).is_file()
    _same(read, built)
    _same(read, lsoa_grid.build_grid(lsoa_grid.CELL_M, lsoa_grid.MARGIN_M, lsoa_grid.STEP_M))


def test_a_stale_table_is_rebuilt_and_replaced(tmp_path, builds, monkeypatch):
    path = tmp_path / grid_cache.FILE_NAME
    lsoa_grid.kept_grid(*COARSE, path)
    other = (200.0, 1.0, 8.0)  # other parameters: another key
    _same(lsoa_grid.kept_grid(*other, path), lsoa_grid.build_grid(*other))
    assert len(builds) == 3  # the coarse one, the other (stale file), and the reference
    lsoa_grid.kept_grid(*other, path)
    assert len(builds) == 3  # the replaced file is read
    # Another format, or boundaries that changed: another key, so the file is not read.
    monkeypatch.setattr(grid_cache, "FORMAT", grid_cache.FORMAT + 1)
    lsoa_grid.kept_grid(*other, path)
    assert len(builds) == 4
    monkeypatch.undo()
    lsoas = lsoas_bng()
    codes = lsoas["code"].to_numpy(dtype=object)
    key = grid_cache.grid_key(codes, lsoas.geometry.array, *COARSE)
    moved = lsoas.geometry.translate(xoff=1.0).array
    assert grid_cache.grid_key(codes, moved, *COARSE) != key
    assert grid_cache.grid_key(codes[::-1], lsoas.geometry.array, *COARSE) != key
    # A file kept under another key is stale even when its content is otherwise sound.
    grid = lsoa_grid.build_grid(*COARSE)
    assert grid_cache.write_grid(path, "0" * 64, grid.x0, grid.y0, grid.cell_m, grid.table,
                                 grid.codes)
    assert grid_cache.read_grid(path, key, codes) is None
    assert grid_cache.read_grid(path, "0" * 64, codes) is not None
    assert grid_cache.read_grid(path, "0" * 64, codes[::-1]) is None  # other codes: stale


def _rewrite(path, **changes) -> None:
    """Rewrite the kept file with some of its arrays changed (its digest left as it was)."""
    with np.load(path, allow_pickle=False) as kept:
        arrays = {name: kept[name] for name in kept.files}
    arrays.update(changes)
    with open(path, "wb") as out:
        np.savez_compressed(out, **arrays)


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty", "cell", "origin",
                                    "out of range", "codes", "no digest", "pickled"])
def test_a_damaged_table_is_rebuilt_never_used(tmp_path, builds, damage):
    path = tmp_path / grid_cache.FILE_NAME
    good = lsoa_grid.kept_grid(*COARSE, path)
    data = path.read_bytes()
    if damage == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "garbage":
        path.write_bytes(bytes(reversed(data)))
    elif damage == "empty":
        path.write_bytes(b"")
    elif damage == "cell":  # one cell says another LSOA: the digest no longer matches
        table = good.table.copy()
        table.flat[np.flatnonzero(table >= 0)[len(table) // 2]] += 1
        _rewrite(path, table=table)
    elif damage == "origin":
        _rewrite(path, origin=np.array([good.x0 + 30, good.y0, good.cell_m]))
    elif damage == "out of range":  # even with a matching digest, positions must exist
        table = good.table.copy()
        table.flat[0] = len(good.codes) + 5
        origin = np.array([good.x0, good.y0, good.cell_m])
        _rewrite(path, table=table, digest=np.array(grid_cache._digest(origin, table,
                                                                        good.codes.astype(str))))
    elif damage == "codes":
        _rewrite(path, codes=good.codes.astype(str)[::-1])
    elif damage == "no digest":
        with np.load(path, allow_pickle=False) as kept:
            arrays = {name: kept[name] for name in kept.files if name != "digest"}
        with open(path, "wb") as out:
            np.savez_compressed(out, **arrays)
    elif damage == "pickled":  # an object array would need pickle: refused, not loaded
        _rewrite(path, codes=good.codes)
    assert len(builds) == 1
    rebuilt = lsoa_grid.kept_grid(*COARSE, path)
    assert len(builds) == 2  # not used: built again
    _same(rebuilt, good)
    lsoa_grid.kept_grid(*COARSE, path)
    assert len(builds) == 2  # and the file replaced by a sound one


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path, builds, monkeypatch):
    path = tmp_path / grid_cache.FILE_NAME
    lsoa_grid.kept_grid(*COARSE, path)
    before = path.read_bytes()

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(grid_cache.np, "savez_compressed", full_disk)
    other = (200.0, 1.0, 8.0)
    grid = lsoa_grid.kept_grid(*other, path)  # built; keeping it fails quietly
    assert grid.cell_m == 200.0 and len(builds) == 2
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == [grid_cache.FILE_NAME]


def test_an_unwritable_folder_only_means_building_each_time(tmp_path, builds):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    path = blocker / "cache" / grid_cache.FILE_NAME
    first = lsoa_grid.kept_grid(*COARSE, path)
    _same(lsoa_grid.kept_grid(*COARSE, path), first)
    assert len(builds) == 2 and blocker.read_text() == "x"


def test_the_cache_folder_is_set_by_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(grid_cache.CACHE_ENV, str(tmp_path / "elsewhere"))
    assert grid_cache.cache_path() == tmp_path / "elsewhere" / grid_cache.FILE_NAME
    monkeypatch.delenv(grid_cache.CACHE_ENV)
    monkeypatch.delenv(derived_cache.ENV, raising=False)
    assert grid_cache.cache_path() == derived_cache.DEFAULT_DIR / grid_cache.FILE_NAME


def test_the_ingest_pool_is_switched_and_restored(monkeypatch):
    monkeypatch.delenv(memory_pool.POOL_ENV, raising=False)
    before = pa.default_memory_pool().backend_name
    with memory_pool.ingest_memory_pool():
        assert pa.default_memory_pool().backend_name == "system"
        with memory_pool.ingest_memory_pool():  # nested (or overlapping) ingests
            assert pa.default_memory_pool().backend_name == "system"
        assert pa.default_memory_pool().backend_name == "system"
    assert pa.default_memory_pool().backend_name == before
    # Two threads overlapping: restored only when the last one ends.
    inside, release = threading.Event(), threading.Event()

    def other():
        with memory_pool.ingest_memory_pool():
            inside.set()
            release.wait(30)

    thread = threading.Thread(target=other)
    thread.start()
    inside.wait(30)
    with memory_pool.ingest_memory_pool():
        pass
    assert pa.default_memory_pool().backend_name == "system"
    release.set()
    thread.join(30)
    assert pa.default_memory_pool().backend_name == before
    with pytest.raises(RuntimeError), memory_pool.ingest_memory_pool():  # a failure too
        raise RuntimeError("refused")
    assert pa.default_memory_pool().backend_name == before
    monkeypatch.setenv(memory_pool.POOL_ENV, "default")
    with memory_pool.ingest_memory_pool():
        assert pa.default_memory_pool().backend_name == before
    monkeypatch.setenv(memory_pool.POOL_ENV, "jemalloc")
    assert memory_pool.ingest_pool().backend_name in ("jemalloc", "system")


def test_the_store_is_the_same_whatever_the_pool(tmp_path, monkeypatch):
    frames = generate(seed=21, events=4_000)
    snapshots = {}
    for pool in ("default", "system", "jemalloc"):
        monkeypatch.setenv(memory_pool.POOL_ENV, pool)
        store = ParquetStore(tmp_path / pool)
        for feed, frame in frames.items():
            path = tmp_path / f"{feed}.csv"
            frame.to_csv(path, index=False)
            ingest_file(path, feed, store=store)
        snapshots[pool] = {name: data for name, data in store_snapshot(store.root).items()
                           if not name.endswith(".json")}  # the manifest names batch ids
        tables = {feed: store.query(feed) for feed in frames}
        snapshots[pool + " rows"] = tables
    assert len(snapshots["default"]) == len(snapshots["system"]) > 0
    for feed in frames:
        for pool in ("system", "jemalloc"):
            assert snapshots[pool + " rows"][feed].equals(snapshots["default rows"][feed])


@pytest.mark.parametrize("feed", ["nrm", "rosewood", "mandevilla"])
def test_the_warm_up_runs_the_whole_quick_pass_on_a_valid_example(feed):
    from core.schema import feed_schema
    from data import validation

    example = validation._example(feed)
    schema = feed_schema(feed)
    assert validation.passes_on_distinct_values(example, schema)  # every check ran
    schema.validate(example, lazy=True)  # and pandera's full run agrees
    validation.warm_up(feed)
    assert feed in validation._WARMED
    assert [name for name, c in schema.columns.items() if c.unique] == ["record_id"]  # unchanged


def test_the_quick_pass_skips_only_pandera_s_second_uniqueness_test():
    from core.schema import feed_schema
    from data import validation

    frames = generate(seed=3, events=3_000)
    for feed, frame in frames.items():
        text = frame.astype("string").fillna("").reset_index(drop=True)
        text["_row"] = range(2, len(text) + 2)
        typed, problems = _parse(text, feed)
        assert problems == []
        schema = feed_schema(feed)
        assert validation.passes_on_distinct_values(typed, schema)
        repeated = typed.copy()
        repeated.loc[5, "record_id"] = repeated.loc[7, "record_id"]
        assert not validation.passes_on_distinct_values(repeated, schema)
        bad_id = typed.copy()
        bad_id.loc[5, "record_id"] = "has space"  # the id pattern still checked on every id
        assert not validation.passes_on_distinct_values(bad_id, schema)
        assert [p.reason for p in validation.validate(bad_id, text, feed)] == [
            "must be 1-64 letters, digits or . _ : / - (no spaces)"]
        assert schema.columns["record_id"].unique  # the schema itself is left as it was


def test_a_large_file_warms_up_on_a_second_thread(tmp_path, monkeypatch):
    from data import ingest as ingest_module

    started = []
    monkeypatch.setattr(ingest_module, "GRID_MIN_BYTES", 0)
    monkeypatch.setattr(ingest_module, "warm_up_in_background", started.append)
    frame = generate(seed=4, events=800)["mandevilla"]
    frame.to_csv(tmp_path / "m.csv", index=False)
    ingest_file(tmp_path / "m.csv", "mandevilla", store=ParquetStore(tmp_path / "s"))
    assert started == ["mandevilla"]


def _dates_both_ways(monkeypatch, text: pd.Series, field):
    """``parse_dates`` with the fixed-shape reading, then with every cell by the patterns."""
    rows = pd.Series(range(2, len(text) + 2), index=text.index)
    fast = parse.parse_dates(text, rows, field)
    with monkeypatch.context() as patched:
        patched.setattr(parse, "_fixed_shape_numbers", lambda cells, index: None)
        slow = parse.parse_dates(text, rows, field)
    return fast, slow


def _assert_same_dates(fast, slow, what) -> None:
    pd.testing.assert_series_equal(fast[0], slow[0], obj=what)
    assert fast[1] == slow[1], what  # the same problems, rows, columns, values and words


def test_dates_read_by_position_are_the_patterns_dates(monkeypatch):
    fields = {f.name: f for feed in ("nrm", "rosewood", "mandevilla") for f in feed_fields(feed)}
    rng = np.random.default_rng(8)
    digits = rng.integers(0, 10, size=(40_000, 12))
    shaped = ["".join(map(str, d[:4])) + "-" + "".join(map(str, d[4:6])) + "-"
              + "".join(map(str, d[6:8])) + sep + "".join(map(str, d[8:10])) + ":"
              + "".join(map(str, d[10:12])) for d, sep in zip(digits, rng.choice(["T", " "], 40_000))]
    plausible = [f"20{rng.integers(0, 30):02d}-{rng.integers(1, 13):02d}-{rng.integers(1, 32):02d}"
                 f"T{rng.integers(0, 26):02d}:{rng.integers(0, 62):02d}" for _ in range(20_000)]
    edge = ["2021-02-29T10:00", "2020-02-29T10:00", "2021-12-31T24:00", "2021-12-31T23:60",
            "0000-01-01T00:00", "0999-12-31T23:59", "9999-12-31T23:59", "2021-00-10T10:00",
            "2021-04-31 10:00", "2021-12-01T00:33", ""]
    near = ["2021-12-01T00:33:05", "2021-12-01T00:33Z", "2021-12-01", "01/12/2021 00:33",
            "2021-12-01T0:33", "2021-12-01t00:33", "2021-12-01T00:33 ", "x2021-12-01T00:33",
            "2021-12-01T00:33+01:00", "44530.5"]
    cases = {"random digits": shaped, "plausible": plausible, "edges": edge * 50,
             "edges and empties": edge + [""] * 20, "only empties": ["", ""],
             "one of another shape each": None}
    for what, values in cases.items():
        for name in ("reported_missing_at", "found_at", "referral_date"):
            lists = [values] if values is not None else [plausible[:500] + [odd] for odd in near]
            for cells in lists:
                text = pd.Series(cells, dtype="string")
                _assert_same_dates(*_dates_both_ways(monkeypatch, text, fields[name]),
                                   f"{what} / {name}")
    # The generated feeds' date columns, and every date column of the bad-input corpus.
    for feed, frame in generate(seed=12, events=20_000).items():
        for f in feed_fields(feed):
            if f.kind in ("date", "datetime"):
                text = parse.clean_text(frame[f.name].astype("string").fillna(""))
                _assert_same_dates(*_dates_both_ways(monkeypatch, text, f), f"{feed}.{f.name}")
    compared = 0
    for file_name, frame in readable_corpus_frames():
        for name in frame.columns if len(frame) else ():  # (a header alone is refused earlier)
            if name in fields and fields[name].kind in ("date", "datetime"):
                text = parse.clean_text(frame[name])
                _assert_same_dates(*_dates_both_ways(monkeypatch, text, fields[name]),
                                   f"{file_name}.{name}")
                compared += 1
    assert compared >= 20


def test_the_fixed_shape_is_taken_only_when_every_cell_has_it():
    index = pd.RangeIndex(3)
    got = parse._fixed_shape_numbers(pa.array(["2021-12-01T00:33", "", "1999-02-03 04:05"]), index)
    assert got["y"].tolist()[0::2] == [2021.0, 1999.0] and got.loc[1].isna().all()
    assert got.loc[2, ["m", "d", "H", "M"]].tolist() == [2.0, 3.0, 4.0, 5.0]
    assert got["S"].isna().all()
    sliced = pa.array(["x", "2021-12-01T00:33", "2021-12-01T00:34"]).slice(1)  # an offset
    assert parse._fixed_shape_numbers(sliced, pd.RangeIndex(2))["M"].tolist() == [33.0, 34.0]
    for other in (["2021-12-01T00:33", "2021-12-01"], ["2021-12-01T00:33", None], []):
        assert parse._fixed_shape_numbers(pa.array(other, type=pa.string()),
                                          pd.RangeIndex(len(other))) is None


def test_person_refs_hashed_cell_by_cell_hash_as_once_per_distinct_value(monkeypatch):
    from data import content_hash as content_hash_module

    refs = generate(seed=6, events=6_000)["rosewood"]["person_ref"].astype("string")
    refs = pd.concat([refs, pd.Series([None, "\x00", "", "Ünï"], dtype="string")],
                     ignore_index=True).rename("person_ref")
    direct = content_hash_module.text_hashes(refs)
    monkeypatch.setattr(content_hash_module, "DISTINCT_TEXT_COLUMNS", set())
    np.testing.assert_array_equal(direct, content_hash_module.text_hashes(refs))


def test_a_first_batch_is_written_without_the_concat_as_with_it(tmp_path):
    frames = generate(seed=7, events=3_000)
    store = ParquetStore(tmp_path / "s")
    for feed, frame in frames.items():
        frame.to_csv(tmp_path / f"{feed}.csv", index=False)
        ingest_file(tmp_path / f"{feed}.csv", feed, store=store)
        stored = store.query(feed)
        rows = stored.sample(frac=1.0, random_state=1)  # any order, an index with gaps
        rows = rows[rows.index % 7 != 0]
        plain, _ = store._write_file(feed, rows, "plain")
        joined_rows = pd.concat([rows, rows.iloc[:0]], ignore_index=True)  # as it was done
        joined, _ = store._write_file(feed, joined_rows, "joined")
        assert (store.root / plain).read_bytes() == (store.root / joined).read_bytes(), feed


def test_the_quick_verdict_on_dates_and_whole_frame_rules_is_the_old_one():
    from core.schema import feed_schema
    from data import validation
    from tests.test_ingest_fourth_round import _old_passes_on_distinct_values

    for feed, frame in generate(seed=13, events=3_000).items():
        text = frame.astype("string").fillna("").reset_index(drop=True)
        text["_row"] = range(2, len(text) + 2)
        typed, _ = _parse(text, feed)
        schema = feed_schema(feed)
        dates = [n for n in typed.columns if typed[n].dtype.kind == "M"]
        variants = {"as generated": typed}
        for name in dates:
            for label, value in (("future", pd.Timestamp("2031-01-01")),
                                 ("before 2000", pd.Timestamp("1999-12-31 23:59")),
                                 ("missing", pd.NaT), ("repeated", typed[name].iloc[0])):
                changed = typed.copy()
                changed.loc[changed.index[9], name] = value
                variants[f"{name} {label}"] = changed
        if feed == "rosewood":
            found_first = typed.copy()
            row = found_first.index[found_first["found_at"].notna()][3]
            found_first.loc[row, "found_at"] = (found_first.loc[row, "reported_missing_at"]
                                                - pd.Timedelta(minutes=1))
            variants["found before missing"] = found_first
            same_minute = typed.copy()
            same_minute.loc[row, "found_at"] = same_minute.loc[row, "reported_missing_at"]
            variants["found the same minute"] = same_minute
        verdicts = {}
        for label, variant in variants.items():
            new = validation.passes_on_distinct_values(variant, schema)
            assert new == _old_passes_on_distinct_values(variant, schema), f"{feed} {label}"
            verdicts[label] = new
        assert verdicts["as generated"] and not all(verdicts.values()), feed
        if feed == "rosewood":
            assert not verdicts["found before missing"] and verdicts["found the same minute"]
