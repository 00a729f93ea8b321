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
ingests ends.

With the system allocator, the C library's heap is also told to keep what is freed (glibc
``mallopt``: no ``mmap`` per large block, no trimming of the heap's top) from the first ingest
of a process on, so the next buffer reuses pages already touched instead of faulting fresh ones
in: the 1,000,000-event benchmark took some 35% fewer page faults (383-392k to 251-257k) and
0.3-0.4 s less kernel time (docs/benchmarks.md, "sixth round"). Kept for the rest of the process,
not undone: the next ingest reuses that heap (Rosewood and Mandevilla after NRM), and ingests
run in their own processes (the command line, the generator, benchmarks), whose peak memory
rises a little (0.85 to 0.96 GB there). Elsewhere than glibc nothing is changed.

Since the eighth round every thread also allocates from that one heap (``M_ARENA_MAX`` 1, set
before the ingest starts its warm-up thread): by default glibc gives each new thread an arena
of its own, whose freed pages the main thread never reuses (the read's Arrow threads, the
location and warm-up threads, the store's helpers). NRM's 539,764 rows took 156-161k page
faults instead of 178-185k and 0.52-0.60 s of kernel time instead of 0.70-0.75 s, peak memory
0.83-0.84 GB instead of 0.87-0.88 (docs/benchmarks.md, "eighth round").

``INGEST_MEMORY_POOL`` (``system``, ``jemalloc``, ``mimalloc``, or ``default``: leave the pool
and the heap alone) chooses another; any other value is refused (``ConfigError`` naming the variable
and the values allowed) rather than silently ignored, so a typo cannot measure the wrong pool.
"""
from __future__ import annotations

import ctypes
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


#: glibc ``mallopt`` parameters (``malloc.h``) and the values an ingest sets: blocks of any
#: size from the heap, no trimming of its top, and one heap (arena) for every thread, so
#: freed pages are reused, whichever thread frees and which allocates next.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD, _M_ARENA_MAX = -1, -3, -8
KEPT_HEAP = {_M_MMAP_THRESHOLD: 1 << 30, _M_TRIM_THRESHOLD: 1 << 30, _M_ARENA_MAX: 1}
_HEAP = {"kept": False}


def _libc():
    """The C library when it is glibc (it has ``mallopt``), else ``None``."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        return libc if hasattr(libc, "mallopt") and hasattr(libc, "gnu_get_libc_version") \
            else None
    except OSError:  # not Linux with glibc
        return None


def keep_freed_heap(libc=None) -> bool:
    """Tell glibc's heap to keep freed memory for reuse (see the module's docstring), once per
    process; ``True`` if it is (now or already) set."""
    with _LOCK:
        if not _HEAP["kept"]:
            libc = libc if libc is not None else _libc()
            if libc is None:
                return False
            done = [libc.mallopt(option, value) == 1 for option, value in KEPT_HEAP.items()]
            _HEAP["kept"] = all(done)
        return _HEAP["kept"]


@contextmanager
def ingest_memory_pool():
    """Arrow's default pool is :func:`ingest_pool` inside the block (for every thread); with
    the system allocator the C heap keeps freed memory too (:func:`keep_freed_heap`)."""
    pool = ingest_pool()
    if pool is None:
        yield
        return
    if pool.backend_name == "system":
        keep_freed_heap()
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
