"""The Arrow memory pool an ingest allocates from.

pyarrow's default pool on Linux is mimalloc. An ingest makes and frees hundreds of MB of
short-lived Arrow buffers (the read's columns, distinct values, hash tables, the sorted table),
and mimalloc hands freed pages back to the kernel soon after, so the next buffer faults them
in again: in a fresh process the first 539k-row NRM file of the 1,000,000-event benchmark spent
2.0–4.0 s of CPU in the kernel (``sys`` time) with mimalloc, 0.6–1.4 s with jemalloc and
0.6–1.1 s with the system allocator (glibc malloc), for the same user time (docs/benchmarks.md,
"Ingest at 1M events, fifth round"). So an ingest switches the process's default pool to the
system allocator (always built in; jemalloc measured about the same) while it runs.

Which pool a buffer came from is recorded in the buffer itself, so switching is safe for
buffers made before or after; the previous default is restored when the last of overlapping
ingests ends. ``INGEST_MEMORY_POOL`` (``system``, ``jemalloc``, ``mimalloc``, or ``default``: leave
the pool alone) chooses another; any other value is refused (``ConfigError`` naming the variable
and the values allowed) rather than silently ignored, so a typo cannot measure the wrong pool.
"""
from __future__ import annotations

import os
import threading
from contextlib import contextmanager

import pyarrow as pa

from core.errors import ConfigError

POOL_ENV = "INGEST_MEMORY_POOL"
DEFAULT_POOL = "system"
_FACTORIES = {"jemalloc": pa.jemalloc_memory_pool, "mimalloc": pa.mimalloc_memory_pool,
              "system": pa.system_memory_pool}
#: Leave Arrow's default pool as it is.
KEEP_DEFAULT = "default"
ALLOWED = (*sorted(_FACTORIES), KEEP_DEFAULT)
_LOCK = threading.Lock()
_STATE: dict = {"users": 0, "previous": None}


def ingest_pool() -> pa.MemoryPool | None:
    """The pool ``INGEST_MEMORY_POOL`` names (default the system allocator; it too where the
    one named is not built in), or ``None`` (``default``) to leave the default pool as it is.

    Raises ``ConfigError`` for any other value."""
    raw = os.environ.get(POOL_ENV, "")
    name = raw.strip().lower() or DEFAULT_POOL
    if name == KEEP_DEFAULT:
        return None
    if name not in _FACTORIES:
        raise ConfigError(f"{POOL_ENV} was {raw!r}; expected one of {', '.join(ALLOWED)} "
                          f"(or unset, for {DEFAULT_POOL})")
    try:
        return _FACTORIES[name]()
    except NotImplementedError:  # pyarrow built without it
        return pa.system_memory_pool()


@contextmanager
def ingest_memory_pool():
    """Arrow's default pool is :func:`ingest_pool` inside the block (for every thread)."""
    pool = ingest_pool()
    if pool is None:
        yield
        return
    with _LOCK:
        if _STATE["users"] == 0:
            _STATE["previous"] = pa.default_memory_pool()
            pa.set_memory_pool(pool)
        _STATE["users"] += 1
    try:
        yield
    finally:
        with _LOCK:
            _STATE["users"] -= 1
            if _STATE["users"] == 0:
                pa.set_memory_pool(_STATE["previous"])
                _STATE["previous"] = None
