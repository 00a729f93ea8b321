"""The one-off costs of the first ingest in a process, paid on a second thread.

A fresh process's first large ingest used to pay, on its main path, for the grid-cell → LSOA
table (``data.lsoa_grid``: read from disk, or built) and for pandera's first validation
(registering its backends imports ``hypothesis``: 0.2-0.4 s of CPU). ``data.ingest`` starts
this thread before reading such a file, so both happen while the file is read.
"""
from __future__ import annotations

import threading
from contextlib import suppress

from data.lsoa_grid import lsoa_grid
from data.validation import warm_up


def warm_up_in_background(feed: str) -> None:
    """On a daemon thread: the LSOA grid table (which the locations need first), then the
    feed's first pandera run (``data.validation.warm_up``). Either, still running when the
    ingest needs it, is waited for there, never done twice (each is made under a lock)."""
    def warm() -> None:
        lsoa_grid()
        # Only a warm-up: whatever fails here fails again, and is reported, in the validation.
        with suppress(Exception):
            warm_up(feed)

    threading.Thread(target=warm, name="ingest-warm-up", daemon=True).start()
