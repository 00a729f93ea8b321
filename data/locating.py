"""Locations resolved on a second thread of the ingest (``data.ingest``), with their part of
the content hash.

The location columns need only the raw cells, so a large file's locations are resolved (and
their columns hashed) on a second thread from just after the file is read, while the first
thread looks for identifiers, parses and validates: geometry, projection and Arrow work there
release the GIL. The thread's work was the longer of the two, so hashing its columns there
(rather than on the first thread once both are done) and starting it before the identifier
check both shorten the ingest. A row's hash does not depend on the other rows, so the
per-chunk hashes joined are the whole column's (a test compares them).
"""
from __future__ import annotations

from concurrent.futures import Future

import numpy as np
import pandas as pd

from core.errors import Problem
from data.content_hash import text_hashes


def locate_chunk(resolve, chunk: pd.DataFrame, cell_m: int):
    """``resolve(chunk, cell_m) -> (locations, problems)``, and each location column's
    :func:`~data.content_hash.text_hashes` (none when a row has a problem: such a file's
    hashes are made from the rows kept, by the caller)."""
    location, problems = resolve(chunk, cell_m)
    hashes = None if problems else {c: text_hashes(location[c]) for c in location.columns}
    return location, problems, hashes


def joined(futures, advance) -> tuple[pd.DataFrame, list[Problem], dict[str, np.ndarray] | None]:
    """The :func:`locate_chunk` results of ``futures`` (one per chunk, in row order) joined,
    calling ``advance(rows)`` as each chunk is ready: the locations (same index as the file),
    every problem (in row order), and the column hashes (``None`` unless every chunk has them)."""
    parts, problems, hashes = [], [], []
    for future in futures:
        part, found, hashed = future.result()
        parts.append(part)
        problems += found
        hashes.append(hashed)
        advance(len(part))
    frame = parts[0] if len(parts) == 1 else pd.concat(parts)
    if any(h is None for h in hashes):
        return frame, problems, None
    return frame, problems, {c: np.concatenate([h[c] for h in hashes]) for c in frame.columns}


class Inline:
    """An executor that runs each task when it is submitted (``ThreadPoolExecutor``'s
    interface, as far as ``data.ingest`` uses it): a small file's thread costs more than it
    saves."""

    def submit(self, work, *args) -> Future:
        done = Future()
        try:
            done.set_result(work(*args))
        except Exception as exc:  # noqa: BLE001 - handed on by result(), as from a thread
            done.set_exception(exc)
        return done

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        return None
