"""What the ingest benches that compare checkouts share (``bench_read``, ``bench_locations``,
``profile_ingest_stages``, ``timeline_ingest``): the checkouts ``--compare NAME=PATH`` names
and this one (``after``), a worker run of the bench's own script inside a checkout (a fresh
process with that checkout's code), the partner files made once, and the load line."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent


def checkouts(compare: list[str]) -> list[tuple[str, Path]]:
    """``(name, root)`` of each ``NAME=PATH`` of ``--compare``, then this checkout as ``after``."""
    return [(name, Path(path).resolve()) for name, path in
            (item.split("=", 1) for item in compare)] + [("after", HERE)]


def run_worker(script: str, tree: Path, *arguments: str, env: dict | None = None) -> dict:
    """Run ``script`` (a bench's own file) with ``arguments`` in ``tree`` as a fresh process;
    its last line of output is the JSON it reports."""
    done = subprocess.run([sys.executable, script, *arguments], capture_output=True, text=True,
                          check=True, cwd=tree, env={**os.environ, **(env or {})})
    return json.loads(done.stdout.strip().splitlines()[-1])


def partner_files(files: Path, feeds, events: int, seed: int) -> Path:
    """``files``, holding every feed's synthetic partner CSV (``bench_ingest.write_feeds``,
    written once: kept for the next run)."""
    if not all((files / f"{feed}.csv").exists() for feed in feeds):
        files.mkdir(parents=True, exist_ok=True)
        sys.path.insert(0, str(HERE / "bench"))
        from bench_ingest import write_feeds
        write_feeds(files, events, seed)
    return files


def load_line(title: str) -> str:
    """``# title: N cores · date · load average a b c``, a bench's first line."""
    return (f"# {title}: {os.cpu_count()} cores · {time.strftime('%Y-%m-%d %H:%M %Z')} · "
            f"load average {load_average()}")


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def add_checkout_arguments(parser, rounds: int) -> None:
    """``--files`` (the partner files' folder), ``--compare NAME=PATH`` and ``--rounds``."""
    parser.add_argument("--files", default="/tmp/ingest_stage_files")
    parser.add_argument("--compare", action="append", default=[], metavar="NAME=PATH")
    parser.add_argument("--rounds", type=int, default=rounds)
