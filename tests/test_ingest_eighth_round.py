"""Issue 14 item 6, eighth round: the 1,000,000-event ingest; each shortcut against the path it
replaces.

* points near an LSOA edge answered by their cell's candidate LSOAs (``data.lsoa_grid``,
  ``LsoaGrid.on_edges``): every answer is the exact tree query's (``geo.areas``), on random
  points, on every boundary vertex and a hair off it, along the edges, on the table's cell lines
  and outside the county; the points it leaves open are those no LSOA contains;
* ``resolve_locations`` with the candidates against the every-point reference of
  ``tests/test_ingest_location_grid`` (locations, problems and their order), with repeated places
  inside, on edges and outside, and against the grid table without candidates;
* a batch under ``MIN_POINTS`` (a large file's last chunk) uses the table when the process
  has it already, never makes it; the same locations either way;
* one C heap for every thread of an ingest (``data.memory_pool``: ``M_ARENA_MAX`` 1 with the
  other kept-heap settings), set before the warm-up thread starts;
* the kept file (``data.grid_cache``, format 2): the candidates read back equal to a fresh
  build; a file of the old format, or with damaged candidates, is rebuilt, never used;
* the identifier check given to the second thread after the locations
  (``data.locating.checked_first``): run there when that thread is free, claimed back when it
  is busy; an identifier still refuses the file first, whatever else is wrong with it (rows
  that do not parse, duplicate ids, ``--accept-valid``), nothing is stored or quarantined, and
  the audit trail says so, on one thread and on two.
"""
from __future__ import annotations

import dataclasses
import json
import threading

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import shapely

from core.errors import IdentifierError, SchemaError
from data import grid_cache, location, lsoa_grid, memory_pool
from data import ingest as ingest_module
from data.ingest import ingest_file
from data.locating import Located, SecondThread, checked_first
from geo.areas import containing_lsoa, lsoas_bng
from storage.parquet import ParquetStore
from tests.conftest import VALID_ROWS, store_snapshot, write_csv
from tests.test_ingest_fifth_round import COARSE, _rewrite, builds  # noqa: F401 - a fixture
from tests.test_ingest_location_grid import _reference_resolve_locations
from tests.test_ingest_seventh_round import _repeated_places_frame


def _exact(easting, northing) -> np.ndarray:
    """The exact query's code for each point (``None`` where no LSOA contains it)."""
    return containing_lsoa(shapely.points(easting, northing), lsoas_bng())


def _edge_points(grid: lsoa_grid.LsoaGrid, seed: int):
    """Points the cell table leaves open, and others: on and off every boundary vertex, along
    the edges, on cell lines and corners (and a hair either side), random, outside."""
    rng = np.random.default_rng(seed)
    lsoas = lsoas_bng()
    edges = shapely.boundary(np.asarray(lsoas.geometry.array))
    vertices = shapely.get_coordinates(edges)
    x, y = [], []
    for dx, dy in ((0, 0), (0.3, -0.3), (-1.5, 2.0), (1e-9, 0), (7.0, -4.0)):
        x.append(vertices[:, 0] + dx)
        y.append(vertices[:, 1] + dy)
    along = shapely.get_coordinates(shapely.line_interpolate_point(
        np.repeat(edges, 30), rng.random(len(edges) * 30), normalized=True))
    x.append(along[:, 0])
    y.append(along[:, 1])
    columns = grid.x0 + grid.cell_m * rng.integers(0, grid.table.shape[1], 20_000)
    rows = grid.y0 + grid.cell_m * rng.integers(0, grid.table.shape[0], 20_000)
    for step in (0.0, 1e-9, -1e-9):
        x += [columns + step, columns + step]
        y += [rows + step, rng.uniform(grid.y0, grid.y0 + grid.cell_m * grid.table.shape[0],
                                       20_000)]
    west, south, east, north = lsoas.total_bounds
    x.append(rng.uniform(west - 3_000, east + 3_000, 40_000))
    y.append(rng.uniform(south - 3_000, north + 3_000, 40_000))
    x.append(np.array([np.nan, np.inf, -np.inf, 1e300, 0.0, 600_000.0, 430_000.0]))
    y.append(np.array([430_000, 430_000, 430_000, 430_000, 0, 430_000, np.nan]))
    return np.concatenate(x), np.concatenate(y)


def test_edge_candidates_answer_exactly_what_the_exact_query_answers():
    grid = lsoa_grid.lsoa_grid()
    x, y = _edge_points(grid, seed=21)
    open_ = grid.lookup(x, y) == lsoa_grid.NO_LSOA
    x, y = x[open_], y[open_]  # the points the cell table leaves to the exact way
    found = grid.on_edges(x, y)
    expected = _exact(x, y)
    answered = found != lsoa_grid.NO_LSOA
    assert answered.sum() > 200_000
    np.testing.assert_array_equal(grid.codes[found[answered]], expected[answered])
    # Left open: only the points no LSOA contains (outside, on a boundary line, not numbers).
    assert all(code is None for code in expected[~answered])


def test_where_lsoas_overlap_the_first_listed_is_the_answer():
    """Where polygons overlap, the exact query keeps the LSOA listed first, and so must the
    candidates (kept in ascending position): boundaries in which every tenth LSOA is grown by
    60 m over its neighbours (the shipped ones overlap in two places only)."""
    lsoas = lsoas_bng().copy()
    grown = np.arange(len(lsoas)) % 10 == 3
    lsoas.loc[grown, "geometry"] = lsoas.geometry[grown].buffer(60.0)
    grid = lsoa_grid.build_grid(*COARSE, lsoas)
    rng = np.random.default_rng(9)
    shells = shapely.get_coordinates(shapely.boundary(np.asarray(lsoas.geometry.array)))
    x = np.concatenate([shells[:, 0] + rng.uniform(-40, 40, len(shells)),
                        rng.uniform(*lsoas.total_bounds[[0, 2]], 50_000)])
    y = np.concatenate([shells[:, 1] + rng.uniform(-40, 40, len(shells)),
                        rng.uniform(*lsoas.total_bounds[[1, 3]], 50_000)])
    open_ = grid.lookup(x, y) == lsoa_grid.NO_LSOA
    found = grid.on_edges(x[open_], y[open_])
    expected = containing_lsoa(shapely.points(x[open_], y[open_]), lsoas)
    answered = found != lsoa_grid.NO_LSOA
    assert answered.sum() > 10_000
    np.testing.assert_array_equal(grid.codes[found[answered]], expected[answered])
    assert all(code is None for code in expected[~answered])
    # Points in two LSOAs at once are among them, answered by the one listed first.
    polygons = np.asarray(lsoas.geometry.array)
    points = shapely.points(x[open_][answered], y[open_][answered])
    holders = shapely.STRtree(points).query(polygons, predicate="contains")[1]
    assert (np.bincount(holders, minlength=len(points)) > 1).sum() > 1_000


@pytest.mark.parametrize("seed", [5, 17])
def test_locations_with_edge_candidates_are_the_reference_row_by_row(monkeypatch, seed):
    monkeypatch.setattr(location, "MIN_POINTS", 0)  # the table (and its candidates) always
    frame = _repeated_places_frame(5_000, seed=seed)
    got, got_problems = location.resolve_locations(frame, 100)
    want, want_problems = _reference_resolve_locations(frame, 100)
    pd.testing.assert_frame_equal(got, want)
    assert got_problems == want_problems
    assert any("outside West Yorkshire" in p.reason for p in got_problems)


def test_without_candidates_every_open_point_goes_the_exact_way(monkeypatch):
    """A grid whose candidates are empty (nothing near an edge is known): the same locations
    as with them, every open point asked the exact way."""
    monkeypatch.setattr(location, "MIN_POINTS", 0)
    frame = _repeated_places_frame(3_000, seed=8)
    with_candidates = location.resolve_locations(frame, 100)
    grid = lsoa_grid.lsoa_grid()
    bare = dataclasses.replace(grid, edges=lsoa_grid.EdgeCandidates(*grid_cache.NO_EDGES))
    asked = []
    real = location.lsoa_of_points

    def counted(easting, northing):
        asked.append(len(easting))
        return real(easting, northing)

    monkeypatch.setattr(location, "lsoa_grid", lambda: bare)
    monkeypatch.setattr(location, "lsoa_of_points", counted)
    without = location.resolve_locations(frame, 100)
    pd.testing.assert_frame_equal(without[0], with_candidates[0])
    assert without[1] == with_candidates[1]
    assert np.all(bare.on_edges(np.array([430_000.0]), np.array([433_000.0]))
                  == lsoa_grid.NO_LSOA)
    with_asked = []
    monkeypatch.setattr(location, "lsoa_grid", lambda: grid)
    monkeypatch.setattr(location, "lsoa_of_points", lambda e, n: with_asked.append(len(e))
                        or real(e, n))
    location.resolve_locations(frame, 100)
    assert sum(with_asked) < sum(asked) / 2  # the candidates answer most open points


def _same_edges(a: lsoa_grid.LsoaGrid, b: lsoa_grid.LsoaGrid) -> None:
    for name in ("cells", "start", "lsoas"):
        got, want = getattr(a.edges, name), getattr(b.edges, name)
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)


def test_kept_candidates_are_read_back_equal_to_a_fresh_build(tmp_path, builds):  # noqa: F811
    path = tmp_path / grid_cache.FILE_NAME
    first = lsoa_grid.kept_grid(*COARSE, path)
    again = lsoa_grid.kept_grid(*COARSE, path)
    assert len(builds) == 1  # read, not built
    fresh = lsoa_grid.build_grid(*COARSE)
    _same_edges(again, first)
    _same_edges(again, fresh)
    assert len(again.edges.cells) > 1_000
    assert shapely.is_prepared(again.polygons).all()
    assert again.polygons is not fresh.polygons
    x, y = _edge_points(again, seed=4)
    np.testing.assert_array_equal(again.on_edges(x, y), fresh.on_edges(x, y))


@pytest.mark.parametrize("damage", ["old format", "cell off the table", "unsorted cells",
                                    "lsoa out of range", "offsets", "candidates changed"])
def test_damaged_or_old_candidates_are_rebuilt_never_used(tmp_path, builds, damage):  # noqa: F811
    path = tmp_path / grid_cache.FILE_NAME
    good = lsoa_grid.kept_grid(*COARSE, path)
    origin = np.array([good.x0, good.y0, good.cell_m])
    codes = good.codes.astype(str)
    cells, start, lsoas = (good.edges.cells.copy(), good.edges.start.copy(),
                           good.edges.lsoas.copy())
    if damage == "old format":  # format 1: no candidates (and its own digest)
        with np.load(path, allow_pickle=False) as kept:
            arrays = {name: kept[name] for name in kept.files
                      if not name.startswith("edge_")}
        arrays["format"] = np.array(1)
        arrays["digest"] = np.array(grid_cache._digest(origin, good.table, codes))
        with open(path, "wb") as out:
            np.savez_compressed(out, **arrays)
    elif damage == "candidates changed":  # digest left as it was
        lsoas[0] = (lsoas[0] + 1) % len(codes)
        _rewrite(path, edge_lsoas=lsoas)
    else:  # even with a matching digest, the candidates must make sense
        if damage == "cell off the table":
            cells[-1] = good.table.size
        elif damage == "unsorted cells":
            cells[[0, 1]] = cells[[1, 0]]
        elif damage == "lsoa out of range":
            lsoas[0] = len(codes)
        elif damage == "offsets":
            start[1] = start[2] + 1
        _rewrite(path, edge_cells=cells, edge_start=start, edge_lsoas=lsoas,
                 digest=np.array(grid_cache._digest(origin, good.table, codes,
                                                    (cells, start, lsoas))))
    assert len(builds) == 1
    rebuilt = lsoa_grid.kept_grid(*COARSE, path)
    assert len(builds) == 2  # not used: built again
    _same_edges(rebuilt, good)
    lsoa_grid.kept_grid(*COARSE, path)
    assert len(builds) == 2  # and the file replaced by a sound one


def test_the_cache_key_changes_with_the_format(monkeypatch):
    lsoas = lsoas_bng()
    codes = lsoas["code"].to_numpy(dtype=object)
    key = grid_cache.grid_key(codes, lsoas.geometry.array, *COARSE)
    assert grid_cache.FORMAT == 2
    monkeypatch.setattr(grid_cache, "FORMAT", 1)
    assert grid_cache.grid_key(codes, lsoas.geometry.array, *COARSE) != key


def _where_checked(monkeypatch) -> list[str]:
    """The name of the thread each identifier check ran on."""
    ran = []
    real = ingest_module.refuse_identifiers

    def recorded(*args):
        ran.append(threading.current_thread().name)
        return real(*args)

    monkeypatch.setattr(ingest_module, "refuse_identifiers", recorded)
    return ran


def _text_buffer(column: pd.Series) -> int:
    """Where the column's characters are in memory (Arrow's data buffer)."""
    return pa.array(column.array, type=pa.string()).buffers()[-1].address


def test_the_check_runs_on_a_free_second_thread_and_is_claimed_from_a_busy_one():
    frame = pd.DataFrame({"record_id": pd.array(["A-1", "NHS-485-777-3456"], dtype="string"),
                          "_row": [2, 3]})
    ran = []

    def check(path, cells, columns):
        ran.append(threading.current_thread().name)
        assert list(cells.columns) == [*columns, "_row"]
        assert _text_buffer(cells["record_id"]) == _text_buffer(frame["record_id"])  # no copy
        from data.identifiers import refuse_identifiers
        refuse_identifiers(path, cells, columns)

    free = SecondThread(threaded=True)
    with pytest.raises(IdentifierError):
        with checked_first(Located(free, []), check, "f.csv", frame, {"record_id": "id"}) as task:
            task.future.exception()  # waits for the second thread to run it
            task.result()
    assert ran == [f"{free.pool._thread_name_prefix}_0"]
    free.shutdown()

    busy, release = SecondThread(threaded=True), threading.Event()
    blocker = busy.submit(release.wait)
    with pytest.raises(IdentifierError):
        with checked_first(Located(busy, [blocker]), check, "f.csv", frame,
                           {"record_id": "id"}) as task:
            task.result()  # not started there: run here
    assert ran[-1] == threading.current_thread().name
    release.set()
    busy.shutdown()


@pytest.mark.parametrize("thread_min_rows", [0, 10**9], ids=["two threads", "one thread"])
@pytest.mark.parametrize("also", ["unparsed rows", "accept valid", "duplicate ids",
                                  "nothing else"])
def test_an_identifier_still_refuses_the_file_first(tmp_path, monkeypatch, thread_min_rows,
                                                     also):
    monkeypatch.setattr(ingest_module, "THREAD_MIN_ROWS", thread_min_rows)
    ran = _where_checked(monkeypatch)
    rows = [dict(r) for r in VALID_ROWS["nrm"]]
    rows[1]["record_id"] = "NHS-485-777-3456"
    if also in ("unparsed rows", "accept valid"):
        rows[0]["referral_date"] = "31st of never"
        rows[2]["longitude"] = "far west"
    if also == "duplicate ids":
        rows[2]["record_id"] = rows[0]["record_id"]
    path = write_csv(tmp_path / "nrm.csv", rows)
    store = ParquetStore(tmp_path / "s")
    before = store_snapshot(store.root) if store.root.exists() else {}
    with pytest.raises(IdentifierError) as caught:
        ingest_file(path, "nrm", store=store, accept_valid=also == "accept valid")
    assert type(caught.value) is IdentifierError and caught.value.__cause__ is None
    assert [(p.row, p.column) for p in caught.value.problems] == [(3, "record_id")]
    assert ran and len(ran) == 1  # checked once
    after = store_snapshot(store.root) if store.root.exists() else {}
    assert after == before and not (store.root / "quarantine").exists()
    audit = [json.loads(line) for line in
             (store.root / "_audit" / "audit.jsonl").read_text().splitlines()]
    assert [e.get("detail") for e in audit if e.get("action") == "ingest"] == \
        ["refused: IdentifierError"]
    # Without the identifier the same file is refused for what else is wrong (or stored).
    rows[1]["record_id"] = "SYN-NRM-X"
    clean = write_csv(tmp_path / "clean.csv", rows)
    if also == "nothing else":
        assert ingest_file(clean, "nrm", store=ParquetStore(tmp_path / "t")).added == len(rows)
    elif also == "accept valid":
        report = ingest_file(clean, "nrm", store=ParquetStore(tmp_path / "t"), accept_valid=True)
        assert report.quarantined == 2
    else:
        with pytest.raises(SchemaError) as other:
            ingest_file(clean, "nrm", store=ParquetStore(tmp_path / "t"))
        assert not isinstance(other.value, IdentifierError)


def test_a_smaller_batch_uses_the_table_only_once_the_process_has_it(monkeypatch):
    frame = _repeated_places_frame(800, seed=3)
    assert 300 < len(frame) < 2_000
    want = _reference_resolve_locations(frame, 100)
    monkeypatch.setattr(location, "MIN_POINTS", 2_000)  # the rows: under it, over a tenth
    grid = lsoa_grid.lsoa_grid()
    used = []
    monkeypatch.setattr(lsoa_grid.LsoaGrid, "lookup",
                        lambda self, e, n, real=lsoa_grid.LsoaGrid.lookup:
                        used.append(len(e)) or real(self, e, n))
    monkeypatch.setattr(lsoa_grid, "_BUILT", [])  # a process without the table
    made = []
    monkeypatch.setattr(location, "lsoa_grid", lambda: made.append(1) or grid)
    got = location.resolve_locations(frame, 100)
    assert not used and not made  # not made for a small batch, nor used
    pd.testing.assert_frame_equal(got[0], want[0])
    assert got[1] == want[1]
    monkeypatch.setattr(lsoa_grid, "_BUILT", [grid])  # a process that has it
    got = location.resolve_locations(frame, 100)
    assert used and not made
    pd.testing.assert_frame_equal(got[0], want[0])
    assert got[1] == want[1]
    used.clear()
    location.resolve_locations(frame.iloc[:150], 100)  # under a tenth: the exact way
    assert not used


def test_every_thread_shares_the_kept_heap_set_before_the_warm_up_starts(tmp_path, monkeypatch):
    assert memory_pool.KEPT_HEAP[-8] == 1  # glibc's M_ARENA_MAX (malloc.h): one arena
    assert memory_pool.KEPT_HEAP[-3] == memory_pool.KEPT_HEAP[-1] == 1 << 30
    order = []
    monkeypatch.setattr(memory_pool, "_HEAP", {"kept": False})
    monkeypatch.setattr(memory_pool, "_libc", lambda: None)  # not this test process's heap
    real_keep = memory_pool.keep_freed_heap
    monkeypatch.setattr(memory_pool, "keep_freed_heap",
                        lambda libc=None: order.append("heap") or real_keep(libc))
    monkeypatch.setattr(ingest_module, "warm_up_in_background",
                        lambda feed: order.append("warm-up"))
    monkeypatch.setattr(ingest_module, "GRID_MIN_BYTES", 0)
    monkeypatch.delenv(memory_pool.POOL_ENV, raising=False)
    path = write_csv(tmp_path / "nrm.csv", VALID_ROWS["nrm"])
    ingest_file(path, "nrm", store=ParquetStore(tmp_path / "s"))
    assert order == ["heap", "warm-up"]


def test_two_threads_locating_at_once_get_the_serial_answers():
    """The ingest's two threads may locate chunks at the same time (the first claims one):
    the shared prepared polygons give each the answers it gets alone."""
    from concurrent.futures import ThreadPoolExecutor

    grid = lsoa_grid.lsoa_grid()
    x, y = _edge_points(grid, seed=31)
    parts = np.array_split(np.arange(len(x)), 8)
    serial = [grid.on_edges(x[p], y[p]) for p in parts]
    with ThreadPoolExecutor(max_workers=2) as pool:
        both = list(pool.map(lambda p: grid.on_edges(x[p], y[p]), parts))
    for alone, together in zip(serial, both):
        np.testing.assert_array_equal(alone, together)
