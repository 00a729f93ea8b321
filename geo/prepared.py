"""The shipped boundaries, prepared: what ``geo.boundaries`` and ``geo.outlines`` derive from
``data/boundaries``, stored in the project as GeoParquet so a server reads it in a few
milliseconds instead of deriving it at every start.

Deriving takes about 2 s of a start on this project's machine (parsing 2 MB of LSOA GeoJSON,
the LSOA-to-ward overlay behind ward populations, areas in BNG, the outlines rounded for the
maps, the label points), measured in docs/benchmarks.md. ``data/boundaries/prepared/`` holds
one file per level (the ``load_boundaries`` frame, plus each area's rounded outline as GeoJSON
text and, for districts and wards, its label point) and ``manifest.json``, which names the
SHA-256 of the source files it was made from. A prepared copy whose sources have changed since
is never read: the loaders derive from the sources as before (tests/test_boundaries.py fails
until it is made again).

Made again with ``.venv/bin/python -m geo.make_prepared`` (after any change to the source files or
to the derivation in ``geo.boundaries`` / ``geo.outlines``). No Streamlit here.
"""
from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path

import geopandas as gpd

from geo.crs import WGS84

#: ``geo.boundaries.BOUNDARY_DIR`` (not imported: ``geo.boundaries`` reads this module).
BOUNDARY_DIR = Path(__file__).resolve().parent.parent / "data" / "boundaries"
PREPARED_DIR = BOUNDARY_DIR / "prepared"
MANIFEST = "manifest.json"
#: Everything the prepared frames are derived from (besides the code).
SOURCES = ("districts.geojson", "wards.geojson", "lsoa.geojson", "lsoa_population_2021.csv",
           "district_population_2021.csv")
#: Bumped when what is stored changes shape, so an older copy is not read.
FORMAT = 1
#: Columns stored beside ``load_boundaries``' own: the outline (``geo.outlines``) and label point.
EXTRA_COLUMNS = ("outline", "label_lat", "label_lon")


def sources_digest(directory: Path | None = None) -> str:
    """SHA-256 over the source files' names and bytes (in ``directory``, default the shipped
    ones), and :data:`FORMAT`."""
    directory = BOUNDARY_DIR if directory is None else directory
    digest = hashlib.sha256(f"format {FORMAT}\n".encode())
    for name in SOURCES:
        digest.update(name.encode() + b"\x00")
        digest.update((directory / name).read_bytes())
    return digest.hexdigest()


@lru_cache(maxsize=1)
def is_current() -> bool:
    """Whether the prepared copy was made from the source files as they are now."""
    try:
        manifest = json.loads((PREPARED_DIR / MANIFEST).read_text())
    except (OSError, ValueError):
        return False
    return manifest.get("sources") == sources_digest() and manifest.get("format") == FORMAT


@lru_cache(maxsize=3)
def read_prepared(level: str) -> gpd.GeoDataFrame | None:
    """The prepared frame of ``level`` (``load_boundaries``' columns and
    :data:`EXTRA_COLUMNS`), or None when there is no current prepared copy."""
    if not is_current():
        return None
    path = PREPARED_DIR / f"{level}.parquet"
    if not path.is_file():
        return None
    return gpd.read_parquet(path).set_crs(WGS84, allow_override=True)
