"""The one folder for data derived from the shipped boundaries: analysis grids
(``models.grid_store``) and the grid-cell → LSOA table (``data.grid_cache``).

Both are rebuilt from the shipped files when missing, stale or damaged, so the folder holds
nothing that cannot be thrown away; one folder means one thing to mount writable, back up (or
not) and clear. Where: ``$DERIVED_CACHE_DIR`` if set, else ``instance/cache`` in the project
(git-ignored).

The two earlier variables still work for the cache each named (``GRID_CACHE_DIR`` for grids,
``LSOA_GRID_CACHE_DIR`` for the LSOA table; docs/deprecations.md) and win over
``DERIVED_CACHE_DIR`` when set, so a script that pointed one cache elsewhere keeps doing so.
"""
from __future__ import annotations

import os
from pathlib import Path

ENV = "DERIVED_CACHE_DIR"
DEFAULT_DIR = Path(__file__).resolve().parent.parent / "instance" / "cache"


def derived_cache_dir(legacy_env: str | None = None) -> Path:
    """The cache folder: ``$legacy_env`` if given and set (deprecated), else
    ``$DERIVED_CACHE_DIR``, else ``instance/cache``."""
    for name in (legacy_env, ENV):
        folder = os.environ.get(name, "").strip() if name else ""
        if folder:
            return Path(folder)
    return DEFAULT_DIR
