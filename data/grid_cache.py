"""The grid-cell → LSOA table (``data.lsoa_grid``) kept on disk between processes.

Building the table costs 1.5–2 s of CPU, the largest one-off of an ingest in a fresh process
(issue 14: 1,000,000 events at 200k rows/s). It depends only on the LSOA boundaries and the
code that builds it, so it is kept in one file (``lsoa-grid.npz`` in the project's derived-data
folder, ``core.derived_cache``: ``$DERIVED_CACHE_DIR``, default ``instance/cache``, git-ignored)
and read back in some 20 ms.

A kept table is never trusted beyond what it proves about itself:

* its **key** is a SHA-256 of everything the table is derived from: the LSOA codes in order,
  every boundary's geometry as read (WKB, British National Grid), the cell size, margin and
  vertex step, the source of the modules that build and query it, and the shapely/GEOS
  versions. A file made under any other key is *stale*: rebuilt and replaced.
* its **digest** (SHA-256 of the table, origin, codes and edge cells' candidates as stored)
  must match what the file says it is, and its shape, type and values must make sense (cells
  ascending and on the table, offsets ascending from 0 to the candidates' count, positions
  of known LSOAs); a file that fails that, or does not read at all, is *damaged*: rebuilt and
  replaced.
* it is written atomically (a temporary file in the same folder, flushed, then renamed over
  the old one), so a reader never sees half a file; a folder that cannot be written only means
  the next process builds the table again.
"""
from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import numpy as np
import shapely

from core.atomic_files import write_atomically
from core.derived_cache import derived_cache_dir

#: Bumped when what is stored changes shape, so an older file is not read (2: the edge
#: cells' candidate LSOAs, ``data.lsoa_grid``).
FORMAT = 2
#: Deprecated (docs/deprecations.md): ``DERIVED_CACHE_DIR`` names the folder of every cache.
CACHE_ENV = "LSOA_GRID_CACHE_DIR"
FILE_NAME = "lsoa-grid.npz"
#: The modules whose code decides what the table holds (its build and the exact query).
_SOURCES = ("data/lsoa_grid.py", "geo/areas.py")
_ROOT = Path(__file__).resolve().parent.parent


def cache_path() -> Path:
    """Where the table is kept: ``lsoa-grid.npz`` in the derived-data folder."""
    return derived_cache_dir(CACHE_ENV) / FILE_NAME


def grid_key(codes: np.ndarray, geometries: np.ndarray, cell_m: float, margin_m: float,
             step_m: float) -> str:
    """SHA-256 of everything a table is derived from (see the module's docstring)."""
    digest = hashlib.sha256(
        f"lsoa-grid format {FORMAT}; cell {cell_m!r} margin {margin_m!r} step {step_m!r}; "
        f"shapely {shapely.__version__} geos {shapely.geos_version_string}\n".encode())
    for source in _SOURCES:
        digest.update((_ROOT / source).read_bytes())
    digest.update("\x00".join(str(code) for code in codes).encode() + b"\x01")
    for wkb in shapely.to_wkb(np.asarray(geometries)):
        digest.update(len(wkb).to_bytes(8, "little") + wkb)
    return digest.hexdigest()


#: No edge cells (what a file written without them holds).
NO_EDGES = (np.zeros(0, np.int64), np.zeros(1, np.int64), np.zeros(0, np.int32))
_EDGE_TYPES = ("<i8", "<i8", "<i4")


def _digest(origin: np.ndarray, table: np.ndarray, codes: np.ndarray, edges=NO_EDGES) -> str:
    digest = hashlib.sha256(np.ascontiguousarray(origin, dtype="<f8").tobytes())
    digest.update(str(table.shape).encode())
    digest.update(np.ascontiguousarray(table, dtype="<i4").tobytes())
    digest.update("\x00".join(str(code) for code in codes).encode())
    for array, dtype in zip(edges, _EDGE_TYPES):
        digest.update(str(len(array)).encode() + b"\x01")
        digest.update(np.ascontiguousarray(array, dtype=dtype).tobytes())
    return digest.hexdigest()


def _sound_edges(edges, cells_on_table: int, codes: int) -> bool:
    cells, start, lsoas = edges
    return (cells.dtype == np.int64 and start.dtype == np.int64 and lsoas.dtype == np.int32
            and cells.ndim == start.ndim == lsoas.ndim == 1 and len(start) == len(cells) + 1
            and start[0] == 0 and start[-1] == len(lsoas)
            and bool((np.diff(start) > 0).all()) and bool((np.diff(cells) > 0).all())
            and (not len(cells) or (cells[0] >= 0 and cells[-1] < cells_on_table))
            and (not len(lsoas) or (lsoas.min() >= 0 and lsoas.max() < codes)))


def read_grid(path: Path, key: str, codes: np.ndarray):
    """``(x0, y0, cell_m, table, codes, (edge_cells, edge_start, edge_lsoas))`` kept at
    ``path`` under ``key``, or ``None`` when there is none, it is stale (another key, other
    codes) or damaged (see the module's docstring)."""
    try:
        with np.load(path, allow_pickle=False) as kept:
            if str(kept["key"]) != key or int(kept["format"]) != FORMAT:
                return None
            origin, table, kept_codes = kept["origin"], kept["table"], kept["codes"]
            edges = (kept["edge_cells"], kept["edge_start"], kept["edge_lsoas"])
            digest = str(kept["digest"])
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None  # missing, unreadable or not a table file
    if (origin.shape != (3,) or not np.isfinite(origin).all() or origin[2] <= 0
            or table.ndim != 2 or table.dtype != np.int32 or kept_codes.shape != codes.shape
            or list(kept_codes) != [str(code) for code in codes]
            or _digest(origin, table, kept_codes, edges) != digest):
        return None
    if table.size and (table.min() < -1 or table.max() >= len(codes)):
        return None
    if not _sound_edges(edges, table.size, len(codes)):
        return None
    return (float(origin[0]), float(origin[1]), float(origin[2]), table, np.asarray(codes),
            edges)


def write_grid(path: Path, key: str, x0: float, y0: float, cell_m: float, table: np.ndarray,
               codes: np.ndarray, edges=NO_EDGES) -> bool:
    """Keep a table (and its edge cells' candidates: ``(cells, start, lsoas)``) at ``path``
    under ``key``, atomically; ``False`` (and nothing written) when the folder cannot be
    written."""
    origin = np.array([x0, y0, cell_m], dtype="<f8")
    table = np.ascontiguousarray(table, dtype=np.int32)
    text_codes = np.array([str(code) for code in codes], dtype=str)
    cells, start, lsoas = (np.ascontiguousarray(array, dtype=dtype)
                           for array, dtype in zip(edges, _EDGE_TYPES))
    return write_atomically(path, lambda out: np.savez_compressed(
        out, key=np.array(key), format=np.array(FORMAT), origin=origin, table=table,
        codes=text_codes, edge_cells=cells, edge_start=start, edge_lsoas=lsoas,
        digest=np.array(_digest(origin, table, text_codes, (cells, start, lsoas)))))
