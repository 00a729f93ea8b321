"""Issue 14 item 6, second round: the location fast paths give exactly what they replace.

* the grid-cell → LSOA table (``data.lsoa_grid``) against the exact tree query it short-cuts,
  on random points, on LSOA vertices (edges, where generalised polygons overlap), on the table's
  own cell lines and corners, and on points that are not numbers or lie off the table;
* ``resolve_locations`` (one pass, table look-ups by position, one projection per masked cell,
  the grid) against the function as it was before (:func:`_reference_resolve_locations`), on
  the generated feeds and on every readable file of the bad-input corpus;
* a whole ingest (the location stage on a second thread, one chunk) against the chunked,
  exact-query ingest on one thread, stored rows and hashes compared; and refusals (problems,
  their order and wording) the same both ways.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely

from core.errors import DashboardError, Problem
from data import content_hash as content_hash_module
from data import ingest as ingest_module
from data import location, lsoa_grid, parse
from data.ingest import ingest_file
from data.readers import ROW_COLUMN
from data.synthetic import generate
from geo.areas import (
    areas_of_lsoas,
    containing_lsoa,
    lsoa_of_points,
    lsoas_bng,
    normalise_lsoa_codes,
)
from geo.boundaries import load_boundaries
from geo.geomask import bng_to_lonlat, lonlat_to_bng, snap_to_grid
from storage.parquet import ParquetStore
from tests.corpus import readable_corpus_frames


def _reference_resolve_locations(frame: pd.DataFrame, cell_m: int):
    """``data.location.resolve_locations`` as it was before the grid table (commit da8c5bc):
    every point through ``lsoa_of_points``, areas by a merge, every row projected back."""
    rows = frame[ROW_COLUMN].to_numpy()
    problems: list[Problem] = []
    numbers, unreadable = {}, np.zeros(len(frame), dtype=bool)
    for column in ("longitude", "latitude", "easting", "northing"):
        numbers[column], bad = location._number(frame, column, rows, problems)
        unreadable |= bad
    lsoa_text = location.clean_text(frame["lsoa_code"]) if "lsoa_code" in frame else \
        pd.Series("", index=frame.index, dtype="string")
    lon, lat, east, north = (numbers[c] for c in ("longitude", "latitude", "easting", "northing"))
    has_ll = location._pair(lon, lat, ("longitude", "latitude"), rows, problems, unreadable)
    misplaced = location._hint_lonlat(lon, lat, has_ll, rows, problems)
    has_ll &= ~misplaced
    has_en = location._pair(east, north, ("easting", "northing"), rows, problems, unreadable) \
        & ~has_ll & ~misplaced
    degrees = location._hint_bng(east, north, has_en, rows, problems)
    has_en &= ~degrees
    misplaced |= degrees
    e = np.full(len(frame), np.nan)
    n = np.full(len(frame), np.nan)
    if has_ll.any():
        e[has_ll], n[has_ll] = lonlat_to_bng(lon[has_ll], lat[has_ll])
    if has_en.any():
        e[has_en], n[has_en] = east[has_en], north[has_en]
    has_point = has_ll | has_en
    out = pd.DataFrame(index=frame.index, columns=location.LOCATION_OUTPUT)
    lsoa = np.full(len(frame), None, dtype=object)
    if has_point.any():
        codes, distance = lsoa_of_points(e[has_point], n[has_point])
        lsoa[has_point] = codes.to_numpy(dtype=object, na_value=None)
        outside = codes.isna().to_numpy()
        for row, km in zip(rows[has_point][outside], distance[outside] / 1000):
            problems.append(Problem(int(row), "location", None,
                                    f"is outside West Yorkshire ({km:,.1f} km beyond its boundary)"))
    only_lsoa = ~has_point & (lsoa_text != "").to_numpy()
    if only_lsoa.any():
        mapped, known = normalise_lsoa_codes(lsoa_text[only_lsoa])
        lsoa[only_lsoa] = mapped.to_numpy(dtype=object, na_value=None)
        for row, value in zip(rows[only_lsoa][~known.to_numpy()], lsoa_text[only_lsoa][~known]):
            problems.append(Problem(int(row), "lsoa_code", str(value),
                                    "is not a West Yorkshire LSOA code (2021 or 2011)"))
    nothing = ~has_point & ~only_lsoa & ~misplaced & ~unreadable & \
        ~location._partial(lon, lat, east, north)
    for row in rows[nothing]:
        problems.append(Problem(int(row), "location", None,
                                "no location: give longitude and latitude, easting and northing, "
                                "or lsoa_code"))
    out["lsoa_code"] = pd.array(lsoa, dtype="string")
    areas = areas_of_lsoas(out["lsoa_code"])
    out["ward_code"], out["district_code"] = areas["ward_code"], areas["district_code"]
    masked_e, masked_n = snap_to_grid(np.nan_to_num(e), np.nan_to_num(n), cell_m)
    m_lon, m_lat = bng_to_lonlat(masked_e, masked_n)
    out["has_point"] = has_point
    out["easting"] = pd.arrays.IntegerArray(np.where(has_point, masked_e, 0).astype(np.int32),
                                            ~has_point)
    out["northing"] = pd.arrays.IntegerArray(np.where(has_point, masked_n, 0).astype(np.int32),
                                             ~has_point)
    out["longitude"] = np.where(has_point, np.round(m_lon, 6), np.nan)
    out["latitude"] = np.where(has_point, np.round(m_lat, 6), np.nan)
    out["geomask_m"] = np.int16(cell_m)
    return out, problems


@pytest.fixture
def grid_always(monkeypatch):
    """The grid table for every batch, however small (normally only from MIN_POINTS)."""
    monkeypatch.setattr(location, "MIN_POINTS", 0)
    return lsoa_grid.lsoa_grid()


def _exact(easting, northing) -> np.ndarray:
    return containing_lsoa(shapely.points(easting, northing), lsoas_bng())


def test_the_grid_table_answers_only_what_the_exact_query_answers(grid_always):
    grid, lsoas = grid_always, lsoas_bng()
    rng = np.random.default_rng(11)
    west, south, east, north = lsoas.total_bounds
    x = [rng.uniform(west - 2_000, east + 2_000, 60_000)]
    y = [rng.uniform(south - 2_000, north + 2_000, 60_000)]
    # On the LSOA edges (every vertex, where generalised neighbours overlap) and just off them.
    vertices = shapely.get_coordinates(shapely.boundary(np.asarray(lsoas.geometry.array)))
    for dx, dy in ((0, 0), (0.3, -0.3), (-1.5, 2.0)):
        x.append(vertices[:, 0] + dx)
        y.append(vertices[:, 1] + dy)
    # Anywhere along the edges, not only at vertices (long straight edges run between them).
    edges = shapely.boundary(np.asarray(lsoas.geometry.array))
    along = shapely.line_interpolate_point(np.repeat(edges, 40),
                                           rng.random(len(edges) * 40), normalized=True)
    along = shapely.get_coordinates(along)
    x.insert(2, along[:, 0])
    y.insert(2, along[:, 1])
    # On the table's own cell lines and corners, and a hair either side of them.
    columns = grid.x0 + grid.cell_m * rng.integers(0, grid.table.shape[1], 20_000)
    rows = grid.y0 + grid.cell_m * rng.integers(0, grid.table.shape[0], 20_000)
    for step in (0.0, 1e-9, -1e-9):
        x += [columns + step, columns + step, rng.uniform(west, east, 20_000)]
        y += [rows + step, rng.uniform(south, north, 20_000), rows + step]
    found = [grid.lookup(a, b) for a, b in zip(x, y)]
    assert (found[0] != lsoa_grid.NO_LSOA).mean() > 0.4     # the table answers a good share
    assert (found[1] == lsoa_grid.NO_LSOA).all()            # never on an LSOA edge
    assert (found[2] == lsoa_grid.NO_LSOA).all()
    x, y, found = np.concatenate(x), np.concatenate(y), np.concatenate(found)
    known = found != lsoa_grid.NO_LSOA
    expected = _exact(x[known], y[known])
    assert np.array_equal(grid.codes[found[known]], expected.astype(object))


def test_the_grid_table_leaves_unknown_what_it_cannot_answer(grid_always):
    grid = grid_always
    far = grid.lookup(np.array([np.nan, np.inf, -np.inf, 1e300, 0.0, 600_000.0, 430_000.0]),
                      np.array([430_000, 430_000, 430_000, 430_000, 0, 430_000, np.nan]))
    assert (far == lsoa_grid.NO_LSOA).all()
    # Its positions count in the order of the boundaries the stored codes come from.
    assert list(grid.codes) == list(load_boundaries("lsoa")["code"])
    assert location._lsoa_table()[0][:-1].to_pylist() == list(grid.codes)


def _text_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A generated feed as the reader hands it on: text cells and the file's row numbers."""
    text = frame.astype("string").fillna("").reset_index(drop=True)
    text[ROW_COLUMN] = np.arange(2, len(text) + 2)
    return text


@pytest.mark.parametrize("cell_m", [100, 250])
def test_resolve_locations_matches_the_reference_on_generated_feeds(grid_always, cell_m):
    feeds = generate(seed=5, events=12_000)
    for feed, frame in feeds.items():
        text = _text_frame(frame)
        # Out of the county, swapped and half-given locations too, so problems are compared.
        text.loc[3, ["longitude", "latitude", "easting", "northing"]] = ["-2.2426", "53.4808", "", ""]
        text.loc[5, ["longitude", "latitude", "easting", "northing"]] = ["53.8", "-1.55", "", ""]
        text.loc[8, ["longitude", "latitude", "easting", "northing"]] = ["", "", "430000", ""]
        text.loc[10, ["longitude", "latitude", "easting", "northing"]] = ["", "", "-5000", "-70001"]
        text.loc[12, ["longitude", "latitude", "easting", "northing"]] = ["", "", "1e9", "2e9"]
        got, got_problems = location.resolve_locations(text, cell_m)
        want, want_problems = _reference_resolve_locations(text, cell_m)
        pd.testing.assert_frame_equal(got, want, obj=feed)
        assert got_problems == want_problems, feed
        assert len(got_problems) >= 5


def _corpus_frames():
    for name, frame in readable_corpus_frames():
        if {"longitude", "easting", "lsoa_code"} & set(frame.columns):
            yield name, frame


def test_resolve_locations_matches_the_reference_on_the_bad_input_corpus(grid_always):
    compared = 0
    for name, frame in _corpus_frames():
        got, got_problems = location.resolve_locations(frame, 100)
        want, want_problems = _reference_resolve_locations(frame, 100)
        pd.testing.assert_frame_equal(got, want, obj=name)
        assert got_problems == want_problems, name
        compared += 1
    assert compared >= 20


def test_a_whole_ingest_stores_what_the_chunked_exact_ingest_stored(tmp_path, monkeypatch):
    feeds = generate(seed=3, events=9_000)
    for feed, frame in feeds.items():
        path = tmp_path / f"{feed}.csv"
        frame.to_csv(path, index=False)
        monkeypatch.setattr(location, "MIN_POINTS", 0)
        monkeypatch.setattr(ingest_module, "THREAD_MIN_ROWS", 0)        # the second thread
        fast = ParquetStore(tmp_path / f"fast-{feed}")
        ingest_file(path, feed, store=fast)
        monkeypatch.setattr(location, "MIN_POINTS", 10**12)           # exact query only
        monkeypatch.setattr(ingest_module, "CHUNK_ROWS", 997)           # many chunks
        monkeypatch.setattr(ingest_module, "THREAD_MIN_ROWS", 10**12)   # all on this thread
        monkeypatch.setattr(location, "resolve_locations", _reference_resolve_locations)
        monkeypatch.setattr(ingest_module, "resolve_locations", _reference_resolve_locations)
        slow = ParquetStore(tmp_path / f"slow-{feed}")
        ingest_file(path, feed, store=slow)
        monkeypatch.undo()
        stored = [s.query(feed).sort_values("record_id").reset_index(drop=True)
                  for s in (fast, slow)]
        pd.testing.assert_frame_equal(stored[0], stored[1], obj=feed)
        assert stored[0]["content_hash"].notna().all() and len(stored[0]) == len(frame)


@pytest.mark.parametrize("function", [parse._canonical_category, parse._canonical_multi])
def test_per_distinct_text_equals_per_distinct_as_text(function):
    cells = ["Labour", "", "sexual; Labour", "criminal-exploitation", "Ünïcode  x", "a|b,c",
             "Labour", "", " ; "] * 50
    for text in (pd.Series(cells, dtype="string"), pd.Series(cells + [None], dtype="string")):
        text.index = text.index + 7                          # a frame's own index is kept
        expected = parse._per_distinct(text, function).astype("string")
        pd.testing.assert_series_equal(parse._per_distinct_text(text, function), expected)


def test_the_content_hash_made_while_locations_resolve_is_the_original_hash(tmp_path,
                                                                            monkeypatch):
    from tests.test_ingest_fast_paths import _reference_hash

    appended = []
    real_append = ParquetStore.append
    monkeypatch.setattr(ParquetStore, "append", lambda self, feed, frame, **kw: (
        appended.append(frame.copy()), real_append(self, feed, frame, **kw))[1])
    whole_frame = []  # the hash of the assembled records: only when rows were dropped
    monkeypatch.setattr(ingest_module, "content_hash",
                        lambda records: whole_frame.append(1) or _reference_hash(records))
    for feed, frame in generate(seed=8, events=4_000).items():
        path = tmp_path / f"{feed}.csv"
        frame.to_csv(path, index=False)
        ingest_file(path, feed, store=ParquetStore(tmp_path / "s"))
        records = appended[-1]
        pd.testing.assert_series_equal(records["content_hash"],
                                       _reference_hash(records.drop(columns="content_hash")),
                                       check_names=False, obj=feed)
    assert len(appended) == 3 and not whole_frame


def test_refusals_are_the_same_with_the_location_thread_and_without(tmp_path, monkeypatch):
    frame = generate(seed=4, events=3_000)["nrm"].astype("string").fillna("")
    frame.loc[frame.index[2], "gender"] = "robot"                      # schema
    frame.loc[frame.index[5], "referral_date"] = "31/02/2024"          # parse
    frame.loc[frame.index[9], ["longitude", "latitude", "easting", "northing"]] = \
        ["-2.2426", "53.4808", "", ""]                                 # outside
    frame.loc[frame.index[11], ["longitude", "latitude", "easting", "northing"]] = \
        ["", "", "", ""]                                               # no location
    path = tmp_path / "nrm.csv"
    frame.to_csv(path, index=False)
    refusals = []
    for rows in (0, 10**12):
        monkeypatch.setattr(ingest_module, "THREAD_MIN_ROWS", rows)
        monkeypatch.setattr(location, "MIN_POINTS", 0 if rows == 0 else 10**12)
        with pytest.raises(DashboardError) as caught:
            ingest_file(path, "nrm", store=ParquetStore(tmp_path / f"s{rows}"))
        refusals.append(str(caught.value))
    assert refusals[0] == refusals[1]
    for row, column in ((4, "gender"), (7, "referral_date"), (11, "location"), (13, "location")):
        assert f"row {row}, column '{column}'" in refusals[0], (row, column, refusals[0][:600])


def test_ids_hashed_cell_by_cell_hash_as_once_per_distinct_value(monkeypatch):
    ids = pd.Series([f"NRM-{i % 700}" for i in range(2_000)] + [None, "\x00", "", "Ünï"],
                    dtype="string", name="record_id")
    direct = content_hash_module.text_hashes(ids)
    monkeypatch.setattr(content_hash_module, "DISTINCT_TEXT_COLUMNS", set())
    np.testing.assert_array_equal(direct, content_hash_module.text_hashes(ids))
