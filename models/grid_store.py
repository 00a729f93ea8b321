"""Built analysis grids kept on disk, so a process's first fit reads its grid instead of
building it.

Building the shipped boundaries' grids takes most of a fresh process's first hotspot fit
(``models._grid``: the 300 m exact-overlap grid ~1 s of CPU, the 100 m centre grid ~0.7 s,
docs/hotspot-evaluation.md "First fit in a fresh process"); reading a stored one takes a few
milliseconds. Only grids of the *shipped* populations are kept (a caller's own population is
built in memory as before).

A stored grid is a ``.npz`` (no pickles) named by its kind and cell size, holding the grid's
fields and the key it was built under: a SHA-256 of the boundary and population source files
(``geo.prepared.sources_digest``), of the code that derives the grid from them
(``models/_grid.py``, ``geo/boundaries.py``, ``geo/prepared.py``), of the NumPy, Shapely, GEOS,
pyproj and PROJ versions (the overlap areas are GEOS's arithmetic, the reprojection PROJ's) and
of :data:`FORMAT`. A file whose key differs (stale), that does not read, or whose fields are not
a well-formed grid (damaged) is never used: the grid is built and the file written again. Writes
go to a temporary file in the same directory, then ``os.replace``: a reader sees the old file or
the new one, never half of one, and two processes building at once both leave a whole file. The
wards' and districts' BNG outlines that name a hotspot's areas (``Grid.areas_touched``) are kept
the same way (``areas-ward.npz``, ``areas-district.npz``: names and WKB).

Where: the project's one derived-data folder (``core.derived_cache``: ``DERIVED_CACHE_DIR``, default
``instance/cache``, git-ignored; the dashboard's image makes ``instance/`` writable; the
deprecated ``GRID_CACHE_DIR`` still points the grids elsewhere). Where that cannot be written (a read-only
install), grids are built in memory every process, as before, and nothing fails.
"""
from __future__ import annotations

import hashlib
import logging
from functools import lru_cache
from pathlib import Path

import numpy as np

from core.atomic_files import write_atomically
from core.derived_cache import derived_cache_dir

#: Deprecated (docs/deprecations.md): ``DERIVED_CACHE_DIR`` names the folder of every cache.
CACHE_DIR_ENV = "GRID_CACHE_DIR"
PROJECT_ROOT = Path(__file__).resolve().parent.parent
#: Bumped when what a stored grid holds changes, so an older file is rebuilt.
FORMAT = 1
#: Code the shipped grids are derived by, besides the source files.
CODE_FILES = ("models/_grid.py", "geo/boundaries.py", "geo/prepared.py")
SCALARS = ("cell_m", "x0", "y0", "nx", "ny", "area_km2")

log = logging.getLogger(__name__)


def cache_dir() -> Path:
    """Where stored grids live (``core.derived_cache``)."""
    return derived_cache_dir(CACHE_DIR_ENV)


@lru_cache(maxsize=1)
def inputs_digest() -> str:
    """SHA-256 of what a shipped grid is built from (module docstring); once per process."""
    import pyproj
    import shapely

    from geo.prepared import sources_digest

    digest = hashlib.sha256(f"grid format {FORMAT}\n".encode())
    digest.update(sources_digest().encode())
    for name in CODE_FILES:
        digest.update(name.encode() + b"\x00")
        try:
            digest.update((PROJECT_ROOT / name).read_bytes())
        except OSError:  # installed without sources: the versions below still change with them
            digest.update(b"missing")
    digest.update(f"numpy {np.__version__} shapely {shapely.__version__} "
                  f"geos {shapely.geos_version_string} pyproj {pyproj.__version__} "
                  f"proj {pyproj.proj_version_str}".encode())
    return digest.hexdigest()


def grid_path(kind: str, cell_m: int) -> Path:
    return cache_dir() / f"{kind}-{int(cell_m)}m.npz"


def read_grid(kind: str, cell_m: int) -> dict | None:
    """The stored fields of the ``kind`` grid of ``cell_m`` metres, or None when there is no
    current, well-formed one (never an error: the caller builds it)."""
    path = grid_path(kind, cell_m)
    key = f"{kind} {int(cell_m)} {inputs_digest()}"
    try:
        with np.load(path, allow_pickle=False) as stored:
            if str(stored["key"]) != key:
                log.info("grid cache %s is stale: building the grid again", path)
                return None
            fields = {name: stored[name].item() for name in SCALARS}
            population = np.array(stored["population"])
        for name, kind_of in (("cell_m", int), ("nx", int), ("ny", int), ("x0", float),
                              ("y0", float), ("area_km2", float)):
            fields[name] = kind_of(fields[name])
    except FileNotFoundError:
        return None
    except Exception as error:  # noqa: BLE001 - a damaged file of any kind is rebuilt
        log.warning("grid cache %s does not read (%s): building the grid again", path, error)
        return None
    if not _well_formed(fields, population, cell_m):
        log.warning("grid cache %s is damaged: building the grid again", path)
        return None
    return {**fields, "population": population}


def write_grid(kind: str, cell_m: int, fields: dict) -> bool:
    """Store a built grid's ``fields`` (``SCALARS`` and ``population``) atomically; False when
    the cache directory cannot be written (the grid is then only kept in memory)."""
    key = f"{kind} {int(cell_m)} {inputs_digest()}"
    return _write(cache_dir(), grid_path(kind, cell_m), {
        "key": np.array(key), "population": np.asarray(fields["population"], float),
        **{name: np.array(fields[name]) for name in SCALARS}})


def _well_formed(fields: dict, population: np.ndarray, cell_m: int) -> bool:
    return (fields["cell_m"] == int(cell_m) and fields["nx"] > 0 and fields["ny"] > 0
            and population.dtype == np.float64 and population.shape == (fields["ny"], fields["nx"])
            and bool(np.isfinite(population).all()) and bool((population >= 0).all())
            and bool((population > 0).any()) and np.isfinite(fields["area_km2"])
            and fields["area_km2"] > 0 and np.isfinite(fields["x0"]) and np.isfinite(fields["y0"]))


def read_areas(level: str) -> tuple[list[str], np.ndarray] | None:
    """The stored names and BNG outlines of the wards or districts, as
    ``Grid.areas_touched`` uses them, or None when there is no current, well-formed copy."""
    import shapely

    path = cache_dir() / f"areas-{level}.npz"
    key = f"areas {level} {inputs_digest()}"
    try:
        with np.load(path, allow_pickle=False) as stored:
            if str(stored["key"]) != key:
                return None
            names, blob, ends = np.array(stored["names"]), bytes(stored["wkb"]), np.array(
                stored["ends"])
        if (names.ndim != 1 or ends.ndim != 1 or len(ends) != len(names) or not len(names)
                or ends[-1] != len(blob) or (np.diff(ends, prepend=0) <= 0).any()):
            raise ValueError("names and outlines do not match")
        starts = np.concatenate([[0], ends[:-1]])
        geoms = shapely.from_wkb([blob[a:b] for a, b in zip(starts, ends)])
        if shapely.is_missing(geoms).any() or not shapely.is_valid_input(geoms).all():
            raise ValueError("an outline is missing")
    except FileNotFoundError:
        return None
    except Exception as error:  # noqa: BLE001 - a damaged file of any kind is rebuilt
        log.warning("grid cache %s does not read (%s): reading the boundaries", path, error)
        return None
    return [str(name) for name in names], geoms


def write_areas(level: str, names, wkb: list[bytes]) -> bool:
    """Store the names and BNG outlines (WKB) of ``level``'s areas (as :func:`write_grid`)."""
    directory = cache_dir()
    key = f"areas {level} {inputs_digest()}"
    ends = np.cumsum([len(b) for b in wkb]).astype(np.int64)
    return _write(directory, directory / f"areas-{level}.npz", {
        "key": np.array(key), "names": np.asarray(names, dtype=str), "ends": ends,
        "wkb": np.frombuffer(b"".join(wkb), dtype=np.uint8)})


def _write(directory: Path, path: Path, arrays: dict) -> bool:
    if write_atomically(path, lambda out: np.savez(out, **arrays)):
        return True
    log.info("grid cache %s is not writable: grids are built in memory", directory)
    return False
