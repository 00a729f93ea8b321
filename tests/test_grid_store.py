"""The shipped populations' grids kept on disk (models.grid_store): a stored grid is the grid
built today, cell for cell; a stale, damaged or unwritable cache is never trusted and never
fails a fit."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely

from models import _grid, grid_store, scan_areas
from models._grid import (
    _build,
    _build_by_centres,
    _default_areas,
    analysis_grid,
    centre_grid,
)

BUILDERS = {"overlap": (analysis_grid, _build), "centre": (centre_grid, _build_by_centres)}


def reference_population(kind: str, cell_m: int, areas) -> np.ndarray:
    """The cell populations as ``models._grid`` built them before the grids were stored or
    built faster (commit 8886d46: one STRtree query of every cell, every overlap overlaid):
    what every grid must still equal, bit for bit."""
    xmin, ymin, xmax, ymax = areas.total_bounds
    x0, y0 = np.floor(xmin / cell_m) * cell_m, np.floor(ymin / cell_m) * cell_m
    nx, ny = int(np.ceil((xmax - x0) / cell_m)), int(np.ceil((ymax - y0) / cell_m))
    col, row = np.meshgrid(np.arange(nx), np.arange(ny))
    polygons = areas.geometry.to_numpy()
    people = areas["population"].to_numpy(float)
    if kind == "overlap":
        left, bottom = x0 + col.ravel() * cell_m, y0 + row.ravel() * cell_m
        boxes = shapely.box(left, bottom, left + cell_m, bottom + cell_m)
        cell_i, area_i = shapely.STRtree(polygons).query(boxes, predicate="intersects")
        overlap = shapely.area(shapely.intersection(boxes[cell_i], polygons[area_i]))
        weights = overlap / shapely.area(polygons)[area_i] * people[area_i]
        cells = np.bincount(cell_i, weights=weights, minlength=nx * ny).reshape(ny, nx)
        touched = np.bincount(cell_i, weights=(overlap > 0) * 1.0, minlength=nx * ny) > 0
        return np.where(touched.reshape(ny, nx) & (cells <= 0), 1e-9, cells)
    centres = shapely.points(x0 + (col.ravel() + 0.5) * cell_m, y0 + (row.ravel() + 0.5) * cell_m)
    cell_i, area_i = shapely.STRtree(polygons).query(centres, predicate="within")
    cell_i, first = np.unique(cell_i, return_index=True)
    area_i = area_i[first]
    n_cells = np.bincount(area_i, minlength=len(people))
    cells = np.bincount(cell_i, weights=people[area_i] / n_cells[area_i], minlength=nx * ny)
    empty = np.flatnonzero(n_cells == 0)
    if len(empty):
        inner = shapely.point_on_surface(polygons[empty])
        c = np.clip(((shapely.get_x(inner) - x0) // cell_m).astype(int), 0, nx - 1)
        r = np.clip(((shapely.get_y(inner) - y0) // cell_m).astype(int), 0, ny - 1)
        np.add.at(cells, r * nx + c, np.maximum(people[empty], 1e-9))
    cells = cells.reshape(ny, nx)
    land = np.zeros(nx * ny, bool)
    land[cell_i] = True
    return np.where(land.reshape(ny, nx) & (cells <= 0), 1e-9, cells)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """An empty grid cache directory, and no grid kept in this process before or after."""
    directory = tmp_path / "grids"
    monkeypatch.setenv(grid_store.CACHE_DIR_ENV, str(directory))
    saved = dict(_grid._CACHE)
    kept_windows = dict(scan_areas._LABELS), dict(scan_areas._WINDOWS)
    _grid._CACHE.clear()
    _grid._areas_bng.cache_clear()
    scan_areas._LABELS.clear()
    scan_areas._WINDOWS.clear()
    yield directory
    _grid._CACHE.clear()
    _grid._CACHE.update(saved)
    _grid._areas_bng.cache_clear()
    scan_areas._LABELS.clear()
    scan_areas._WINDOWS.clear()
    scan_areas._LABELS.update(kept_windows[0])
    scan_areas._WINDOWS.update(kept_windows[1])


def same_grid(a, b) -> None:
    assert (a.cell_m, a.x0, a.y0, a.nx, a.ny) == (b.cell_m, b.x0, b.y0, b.nx, b.ny)
    assert a.area_km2 == b.area_km2
    assert a.population.dtype == b.population.dtype == np.float64
    assert np.array_equal(a.population, b.population)  # bit for bit, not close
    assert np.array_equal(a.land, b.land)


def sample_points(grid, n=5000):
    rng = np.random.default_rng(0)
    x = rng.uniform(grid.x0 - 500, grid.x0 + grid.nx * grid.cell_m + 500, n)
    y = rng.uniform(grid.y0 - 500, grid.y0 + grid.ny * grid.cell_m + 500, n)
    return x, y


@pytest.mark.parametrize("kind,cell_m", [("overlap", 300), ("centre", 100)])
def test_a_stored_grid_is_the_grid_built_from_the_shipped_boundaries(cache, kind, cell_m):
    make, build = BUILDERS[kind]
    built_today = build(cell_m, _default_areas())   # the builder, no cache anywhere
    assert np.array_equal(built_today.population,
                          reference_population(kind, cell_m, _default_areas()))
    first = make(cell_m)                              # built, then written
    assert grid_store.grid_path(kind, cell_m).is_file()
    _grid._CACHE.clear()                              # a fresh process: read from disk
    read = make(cell_m)
    assert read is not first
    for grid in (first, read):
        same_grid(grid, built_today)
        x, y = sample_points(grid)
        assert np.array_equal(grid.cell_index(x, y), built_today.cell_index(x, y))
    assert (read.cell_index(*sample_points(read)) >= 0).any()
    assert read.population.sum() == pytest.approx(_default_areas()["population"].sum())
    assert not list(cache.glob("*.tmp")) and not list(cache.glob(".*"))


def test_a_stale_grid_is_rebuilt_and_written_again(cache, monkeypatch):
    analysis_grid(1000)
    path = grid_store.grid_path("overlap", 1000)
    written = path.read_bytes()
    # The boundaries (or the code deriving the grid) changed since it was written.
    grid_store.inputs_digest.cache_clear()
    monkeypatch.setattr(grid_store, "inputs_digest", lambda: "other sources")
    assert grid_store.read_grid("overlap", 1000) is None
    calls = []
    monkeypatch.setattr(_grid, "_build", lambda *a: calls.append(a) or _build(*a))
    _grid._CACHE.clear()
    grid = analysis_grid(1000)
    assert len(calls) == 1                           # built, not read
    assert path.read_bytes() != written              # stored under the new key
    assert grid_store.read_grid("overlap", 1000) is not None
    same_grid(grid, _build(1000, _default_areas()))


@pytest.mark.parametrize("damage", ["truncated", "garbage", "wrong shape", "nan", "negative",
                                    "no population field"])
def test_a_damaged_grid_is_never_trusted(cache, damage):
    good = analysis_grid(1000)
    path = grid_store.grid_path("overlap", 1000)
    key = f"overlap 1000 {grid_store.inputs_digest()}"
    fields = {name: np.array(getattr(good, name)) for name in grid_store.SCALARS}
    population = good.population.copy()
    if damage == "truncated":
        path.write_bytes(path.read_bytes()[:1000])
    elif damage == "garbage":
        path.write_bytes(b"not a grid at all" * 100)
    else:
        if damage == "wrong shape":
            population = population[:-1]
        elif damage == "nan":
            population[5, 5] = np.nan
        elif damage == "negative":
            population[5, 5] = -1.0
        arrays = {"key": np.array(key), **fields}
        if damage != "no population field":
            arrays["population"] = population
        with open(path, "wb") as out:
            np.savez(out, **arrays)
    assert grid_store.read_grid("overlap", 1000) is None
    _grid._CACHE.clear()
    same_grid(analysis_grid(1000), good)             # rebuilt
    read = grid_store.read_grid("overlap", 1000)    # and the file made whole again
    assert read is not None and np.array_equal(read["population"], good.population)


def test_an_unwritable_cache_falls_back_to_building(tmp_path, monkeypatch):
    blocker = tmp_path / "a file"
    blocker.write_text("not a directory")
    monkeypatch.setenv(grid_store.CACHE_DIR_ENV, str(blocker / "grids"))
    saved = dict(_grid._CACHE)
    _grid._CACHE.clear()
    try:
        grid = analysis_grid(1000)
        assert grid_store.write_grid("overlap", 1000, {
            **{name: getattr(grid, name) for name in grid_store.SCALARS},
            "population": grid.population}) is False
        same_grid(grid, _build(1000, _default_areas()))
    finally:
        _grid._CACHE.clear()
        _grid._CACHE.update(saved)


def test_a_callers_own_population_is_built_not_stored(cache):
    lsoas = _default_areas()
    from geo.boundaries import load_boundaries

    codes = load_boundaries("lsoa")["code"]
    doubled = pd.Series(lsoas["population"].to_numpy() * 2, index=codes.to_numpy())
    grid = analysis_grid(1000, doubled)
    assert not cache.exists() or not list(cache.iterdir())
    assert grid.population.sum() == pytest.approx(2 * lsoas["population"].sum())


def test_a_bad_cell_size_is_refused_before_any_cache(cache):
    with pytest.raises(ValueError, match="multiple of 100"):
        analysis_grid(250)
    with pytest.raises(ValueError, match="multiple of 100"):
        centre_grid(150)
    assert not cache.exists()


@pytest.mark.parametrize("kind,cell_m", [("overlap", 500), ("centre", 200)])
def test_a_callers_own_population_gets_the_grid_it_got_before(cache, kind, cell_m):
    """The faster builders on a caller's own polygons (every third LSOA, people doubled)."""
    areas = _default_areas().iloc[::3].copy()
    areas["population"] = areas["population"] * 2
    make, _ = BUILDERS[kind]
    grid = make(cell_m, areas)
    assert np.array_equal(grid.population, reference_population(kind, cell_m, areas))


def test_a_fit_on_stored_grids_is_the_fit_on_built_grids(cache):
    """The default model (its forecast ranking included) fitted in a process that built its
    grids, then in one that read them: the same hotspots and the same ranking."""
    from models.hotspots import HotspotModel
    from tests.test_hotspots import null_events

    background = null_events(800, seed=3)
    planted = background.iloc[:80].copy()
    planted["geometry"] = background.geometry.iloc[0]   # 80 events in one cell: a hotspot
    events = pd.concat([background, planted], ignore_index=True)
    built = HotspotModel(random_state=0).fit(events)
    assert len(built.hotspots_) >= 1 and built.hotspots_["wards"].map(len).min() >= 1
    assert _grid_store_files(cache) == {"centre-100m.npz", "overlap-300m.npz",
                                        "areas-ward.npz", "areas-district.npz",
                                        "lsoa-windows-300m.npz"}
    _grid._CACHE.clear()
    _grid._areas_bng.cache_clear()
    scan_areas._LABELS.clear()
    scan_areas._WINDOWS.clear()
    read = HotspotModel(random_state=0).fit(events)
    assert read.grid_ is not built.grid_
    pd.testing.assert_frame_equal(read.hotspots_.drop(columns="geometry"),
                                  built.hotspots_.drop(columns="geometry"))
    assert read.hotspots_.geometry.geom_equals_exact(built.hotspots_.geometry, 0).all()
    assert np.array_equal(read.cell_scores_, built.cell_scores_)
    assert read.ranker_.grid_ is not built.ranker_.grid_
    assert np.array_equal(read.ranker_.scores_, built.ranker_.scores_)


def _grid_store_files(directory) -> set[str]:
    return {p.name for p in directory.iterdir()}


@pytest.mark.parametrize("level", ["ward", "district"])
def test_stored_area_outlines_are_the_reprojected_boundaries(cache, level):
    """``areas_touched`` reads the wards' and districts' BNG outlines from the store: the same
    names and coordinates as reprojecting the shipped boundaries, and the same answers."""
    from geo.boundaries import load_boundaries
    from geo.crs import BNG

    expected = load_boundaries(level)[["name", "geometry"]].to_crs(BNG)
    _grid._areas_bng.cache_clear()
    built = _grid._areas_bng(level)                 # reprojected, then stored
    _grid._areas_bng.cache_clear()
    read = _grid._areas_bng(level)                  # read
    for names, geoms, _ in (built, read):
        assert names == list(expected["name"]) and all(type(n) is str for n in names)
        assert all(shapely.equals_exact(geoms, expected.geometry.to_numpy(), tolerance=0))
    grid = analysis_grid(1000)
    centres = shapely.buffer(shapely.points(*grid.centres(np.flatnonzero(grid.land.ravel())[::97])),
                             800)
    touched = grid.areas_touched(centres, level)
    _grid._areas_bng.cache_clear()
    (cache / f"areas-{level}.npz").write_bytes(b"damaged")
    assert grid.areas_touched(centres, level) == touched   # damaged: the boundaries again
    assert any(len(found) > 1 for found in touched) and all(touched)


@pytest.mark.parametrize("damage", ["cut outline", "names and outlines differ", "not wkb"])
def test_damaged_area_outlines_are_never_used(cache, damage):
    outlines = [shapely.to_wkb(shapely.box(0, 0, 10, 10)), shapely.to_wkb(shapely.box(5, 5, 9, 9))]
    names = ["A", "B"]
    if damage == "cut outline":
        outlines[1] = outlines[1][:-7]
    elif damage == "names and outlines differ":
        names = ["A", "B", "C"]
        outlines.append(b"")
    else:
        outlines[0] = b"\x01\x02\x03 not a geometry at all"
    assert grid_store.write_areas("ward", names, outlines)
    assert grid_store.read_areas("ward") is None
    assert grid_store.write_areas("ward", ["A", "B"], [shapely.to_wkb(shapely.box(0, 0, 1, 1))] * 2)
    names_read, geoms = grid_store.read_areas("ward")
    assert names_read == ["A", "B"] and shapely.equals(geoms, shapely.box(0, 0, 1, 1)).all()


def test_make_store_primes_every_grid_a_first_fit_reads(cache, tmp_path):
    """``python -m models.prime_grids`` (run by ``make run`` when the code, boundaries or libraries changed) stores the overlap and centre
    grids and both outline levels, each current for this process's reader, and the ingest's
    LSOA lookup table."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    done = subprocess.run([sys.executable, "-m", "models.prime_grids"], cwd=root,
                          env={**os.environ, grid_store.CACHE_DIR_ENV: str(cache),
                               "LSOA_GRID_CACHE_DIR": str(tmp_path / "lsoa")},
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert grid_store.read_grid("overlap", 300) is not None
    assert grid_store.read_grid("centre", 100) is not None
    for level in ("ward", "district"):
        assert grid_store.read_areas(level) is not None
    assert list((tmp_path / "lsoa").glob("*.npz"))
