"""Keep the garbage collection Streamlit runs after every page run cheap.

Streamlit collects garbage after every script run (``gc.collect(2)``, its ``runner.postScriptGC``
option, on by default) so that what a run leaves in reference cycles is freed at once rather
than at Python's next full collection. A full collection visits every object the process holds,
not only the run's: with the warmed server's modules, boundaries, hotspot grid and caches
(about 300,000 objects on the demo store) it took 0.12-0.16 s of CPU, measured alone, and was
the largest part of every warm page run (0.63 of 0.78 s of an Overview rerun under cProfile;
docs/benchmarks.md, "Per-page CPU floor").

``gc.freeze()`` moves every object alive at that moment to a permanent generation that
collections skip, so the collection after a run visits only what was made since. Frozen objects
are still freed by reference counting when their last reference goes; only a *cycle* of frozen
objects that became garbage would wait. That wait is bounded: :func:`refreeze_if_due`, called by
the router after each page run, at most every ``REFREEZE_S`` seconds unfreezes everything,
collects in full (freeing such cycles) and freezes what is left. One run in that interval pays a
full collection; the others pay for their own objects. Memory use is what it was, within that
delay (bench/bench_reruns.py measures RSS over hundreds of reruns).
"""
from __future__ import annotations

import gc
import threading

from core import clock

#: Seconds between two full collections (one page run pays each).
REFREEZE_S = 30.0

_lock = threading.Lock()
_last_refreeze: float | None = None


def refreeze_if_due(now: float | None = None) -> bool:
    """Collect in full and freeze the survivors if ``REFREEZE_S`` have passed since the last
    time (or it never ran in this process). Returns whether it did.

    ``now`` (seconds, ``core.clock.timestamp()`` by default) is for tests. Another thread already
    refreezing is not waited for: the caller's run goes on."""
    global _last_refreeze
    now = clock.timestamp() if now is None else now
    if _last_refreeze is not None and 0 <= now - _last_refreeze < REFREEZE_S:
        return False
    if not _lock.acquire(blocking=False):
        return False
    try:
        _last_refreeze = now
        gc.unfreeze()  # what was frozen and has since become cyclic garbage is collected now
        gc.collect()
        gc.freeze()
    finally:
        _lock.release()
    return True


def freeze_without_collecting(now: float | None = None) -> None:
    """Freeze everything alive now and count it as a refreeze, without the full collection.

    For the warm-up's first stage (``ui.serve``), which ran with collection off: what it made
    is long-lived, and the full collection (0.1-0.2 s of CPU) would hold up the first page
    run, which waits for that stage. The few cycles of garbage it left are collected at the
    next refreeze, ``REFREEZE_S`` later."""
    global _last_refreeze
    with _lock:
        _last_refreeze = clock.timestamp() if now is None else now
        gc.freeze()


def reset() -> None:
    """Forget the last refreeze and unfreeze everything (tests)."""
    global _last_refreeze
    _last_refreeze = None
    gc.unfreeze()
