"""Store the grids derived from the shipped boundaries once, at set-up: ``python -m
models.prime_grids`` (``make store`` runs it).

Both are kept on disk and checked against what they are built from on every read (stale or
damaged files are rebuilt, never trusted), so this only moves their building to set-up: the
hotspot model's grids (``models.grid_store``: a process's first fit reads instead of builds,
~1.3 s of CPU) and the LSOA lookup table an ingest locates points with (``data.grid_cache``,
~1.45 s) and the scan's LSOA windows (``models.scan_areas``: cell labels and adjacency,
~0.2 s). Where a cache folder cannot be written, nothing fails: they are built when needed.
"""
from __future__ import annotations

from data.lsoa_grid import lsoa_grid
from models import grid_store
from models._grid import analysis_grid, prime_default_grids
from models.hotspots import HotspotModel
from models.scan_areas import area_windows


def main() -> None:
    prime_default_grids()
    area_windows(analysis_grid(HotspotModel().cell_size_m))
    lsoa_grid()
    print(f"Hotspot grids stored in {grid_store.cache_dir()}; LSOA lookup table ready")


if __name__ == "__main__":
    main()
