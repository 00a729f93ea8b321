"""Locations resolved on a second thread of the ingest (``data.ingest``), with their part of
the content hash.

The location columns need only the raw cells, so a large file's locations are resolved (and
their columns hashed) on a second thread from just after the file is read, while the first
thread looks for identifiers, parses and validates: geometry, projection and Arrow work there
release the GIL. The thread's work was the longer of the two, so hashing its columns there
(rather than on the first thread once both are done) and starting it before the identifier
check both shorten the ingest. A row's hash does not depend on the other rows, so the
per-chunk hashes joined are the whole column's (a test compares them).

Either thread may run a task (:class:`SecondThread`): the second takes the tasks in the order
they were given; the first, once it needs a result, runs itself every task the second has not
started (``Future.cancel`` succeeds only for those) and then waits for the rest. Every task is
a function of its arguments alone, so which thread ran it changes nothing in the results; it
only keeps both cores busy at the end (NRM: the last location chunk, which the first thread
used to wait for). Only location work goes there (projections, tree queries and Arrow release
the GIL); hashing the parsed columns there too, while validation ran, cost CPU on a busy
machine (text hashing holds the GIL) and was dropped (docs/benchmarks.md, sixth round).
"""
from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.errors import IdentifierError, Problem
from data.content_hash import text_hashes
from data.readers import ROW_COLUMN


def locate_chunk(resolve, chunk: pd.DataFrame, cell_m: int):
    """``resolve(chunk, cell_m) -> (locations, problems)``, and each location column's
    :func:`~data.content_hash.text_hashes` (none when a row has a problem: such a file's
    hashes are made from the rows kept, by the caller)."""
    location, problems = resolve(chunk, cell_m)
    hashes = None if problems else {c: text_hashes(location[c]) for c in location.columns}
    return location, problems, hashes


def location_chunks(frame: pd.DataFrame, chunk_rows: int) -> list[pd.DataFrame]:
    """``frame`` in as many chunks as ``chunk_rows`` rows a chunk give (one, possibly empty,
    at least), ``chunk_rows`` each but the last two, which share the rest equally (to a row).
    The first thread, its own work done, runs every chunk the second has not started: the
    second-to-last, while the second thread runs the last. NRM's 539,764 rows went 250,000 /
    250,000 / 39,764 and the second thread sat idle ~0.3 s while the first ran a whole chunk
    alone (docs/benchmarks.md, ninth round); now 250,000 / 144,882 / 144,882: the same number
    of chunks, so the same fixed work per chunk."""
    count = max(1, -(-len(frame) // chunk_rows))
    if count < 2:
        return [frame.iloc[0:chunk_rows]]
    start = (count - 2) * chunk_rows
    middle = start + (len(frame) - start + 1) // 2
    return [*(frame.iloc[i * chunk_rows:(i + 1) * chunk_rows] for i in range(count - 2)),
            frame.iloc[start:middle], frame.iloc[middle:]]


def joined(futures, advance) -> tuple[pd.DataFrame, list[Problem], dict[str, np.ndarray] | None]:
    """The :func:`locate_chunk` results of ``futures`` (one per chunk, in row order) joined,
    calling ``advance(rows)`` as each chunk is ready: the locations (same index as the file),
    every problem (in row order), and the column hashes (``None`` unless every chunk has them)."""
    parts, problems, hashes = [], [], []
    for future in claim_pending(futures):
        part, found, hashed = future.result()
        parts.append(part)
        problems += found
        hashes.append(hashed)
        advance(len(part))
    frame = parts[0] if len(parts) == 1 else pd.concat(parts)
    if any(h is None for h in hashes):
        return frame, problems, None
    return frame, problems, {c: np.concatenate([h[c] for h in hashes]) for c in frame.columns}


@contextmanager
def checked_first(located: Located | None, check, path, frame: pd.DataFrame,
                  columns: dict[str, str]):
    """``check(path, frame, columns)`` (``data.identifiers.refuse_identifiers``) given to the
    second thread after the location chunks; yields its :class:`Claimable` (``result()``
    raises ``IdentifierError`` or is ``None``), or ``None`` having run it here at once when
    there is no second thread's work (``located`` ``None``: an empty file or a refused cell
    size, which is refused next). Leaving the block with any other error, an identifier
    refusal, if the check finds one, is raised instead: as when it ran before anything else.

    Its Arrow work (factorising, one regular expression over the distinct values) releases
    the GIL. A file whose locations end early (Rosewood's 330k rows come from 45 places) has it
    checked there while the first thread parses; a file whose locations are the longer work
    (NRM) has it claimed back and run on the first thread, as before. ``data.ingest`` takes the
    verdict before its first refusal or write, so an identifier still refuses the file first
    and nothing of it is stored."""
    if located is None:
        check(path, frame, columns)
        yield None
        return
    # A frame of its own over the same arrays (no copy): the second thread never indexes the
    # frame the first parses from.
    cells = pd.DataFrame({c: frame[c] for c in [*columns, ROW_COLUMN]}, copy=False)
    task = located.second.submit(check, path, cells, columns)
    try:
        yield task
    except BaseException:
        try:
            task.result()
        except IdentifierError as refusal:
            raise refusal from None
        raise


class Claimable:
    """A task given to the second thread, which the first runs itself if it is still waiting
    there when its result is needed (see the module's docstring)."""

    def __init__(self, pool, work, *args):
        self._work, self._args = work, args
        self._claimed: Future | None = None
        self.future = pool.submit(work, *args)

    def claim(self) -> bool:
        """Run the task here if the second thread has not started it; ``True`` if so."""
        if self._claimed is not None or not self.future.cancel():
            return False
        self._claimed = Inline().submit(self._work, *self._args)
        return True

    def result(self):
        self.claim()
        return (self._claimed or self.future).result()

    def cancel(self) -> None:
        """Its result will not be asked for: not started, it never runs (started, it ends)."""
        self.future.cancel()


def claim_pending(tasks):
    """``tasks`` (in the same order), having first run here every one the second thread has
    not started (the others are then waited for by ``result``)."""
    tasks = list(tasks)
    for task in tasks:
        if isinstance(task, Claimable):
            task.claim()
    return tasks


class SecondThread:
    """The ingest's second thread (``Inline`` for a small file: a thread costs more than it
    saves there); :meth:`submit` gives a :class:`Claimable`."""

    def __init__(self, threaded: bool):
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest-locations") \
            if threaded else Inline()

    def submit(self, work, *args) -> Claimable:
        return Claimable(self.pool, work, *args)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self.pool.shutdown(wait=wait, cancel_futures=cancel_futures)


@dataclass
class Located:
    """The ingest's second thread and its tasks for a file's locations and their hashes, one
    per chunk (``data.ingest``)."""

    second: SecondThread
    chunks: list


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
