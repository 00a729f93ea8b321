"""Files written whole or not at all: a temporary file in the target's folder, flushed to
disk, then renamed over the target (``os.replace``). A reader sees the old file or the new one,
never half of one, and two writers at once each leave a whole file.

Used by the derived-data caches (``models.grid_store``, ``data.grid_cache``), for which a
folder that cannot be written is not an error: the caller builds in memory instead.
"""
from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


def write_atomically(path: Path, write: Callable[[BinaryIO], None], mode: int = 0o644) -> bool:
    """Write ``path`` by ``write(handle)`` (temporary file, fsync, rename) with permissions
    ``mode``. ``False``, with nothing left behind, when the folder cannot be written."""
    path = Path(path)
    temporary = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.",
                                         suffix=".tmp", delete=False) as out:
            temporary = Path(out.name)
            write(out)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, mode)  # a cache other users' processes of the install may read
        os.replace(temporary, path)
        return True
    except OSError:
        if temporary is not None:
            temporary.unlink(missing_ok=True)
        return False
