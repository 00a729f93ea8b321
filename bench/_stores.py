"""Synthetic stores the benchmarks share: built once in ``/tmp/bench-stores`` and reused."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from storage.parquet import ParquetStore

BENCH_STORES = Path("/tmp/bench-stores")
ROOT = Path(__file__).resolve().parent.parent


def source_store(events: int, given: str | None = None) -> ParquetStore:
    """The store at ``given``, else the benchmarks' synthetic store of ``events`` events
    (``store_N``, or an older ``store-N``), built with ``python -m data.synthetic`` if none."""
    candidates = [Path(given)] if given else [BENCH_STORES / f"store_{events}",
                                              BENCH_STORES / f"store-{events}"]
    for path in candidates:
        if (path / "_manifest.json").exists():
            return ParquetStore(path)
    target = candidates[0]
    print(f"building {target} (python -m data.synthetic --events {events}) ...", flush=True)
    subprocess.run([sys.executable, "-m", "data.synthetic", "--events", str(events), "--store",
                    str(target)], check=True, cwd=ROOT)
    return ParquetStore(target)
