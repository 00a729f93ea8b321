"""Meeting mode and briefing pack timings on a synthetic store (prints figures; not a test).

    .venv/bin/python bench/bench_briefing.py [--years 5] [--runs 3]

Builds a synthetic store (seed 1) in a temporary folder, then times, median of ``--runs``:
the meeting's figures for the last quarter (district table, trends, hotspot fit, tasking) and
the whole briefing pack PDF (the same figures plus the static map, the charts and the layout).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from data.synthetic import build_store  # noqa: E402
from reports.briefing import build_briefing  # noqa: E402
from safeguards.access import Principal  # noqa: E402
from storage.parquet import ParquetStore  # noqa: E402
from views.meeting import MeetingState, available_periods  # noqa: E402
from views.meeting_figures import meeting_data, meeting_query  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--years", type=int, default=5)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    chair = Principal("bench", "chair")
    with tempfile.TemporaryDirectory() as tmp:
        built = build_store(Path(tmp) / "store", years=args.years, seed=1, end="2026-09-30")
        store = ParquetStore(Path(tmp) / "store")
        period = available_periods(store.period())[0]
        print(f"store: {args.years} years, {sum(built['records'].values()):,} records; "
              f"period {period}")
        for name, run in (
                ("meeting figures (quarter)",
                 lambda: meeting_data(meeting_query(store, chair), MeetingState(period))),
                ("briefing pack PDF (quarter)", lambda: build_briefing(store, chair, period))):
            times = []
            for _ in range(args.runs):
                started = time.perf_counter()
                result = run()
                times.append(time.perf_counter() - started)
            size = f", {len(result):,} bytes" if isinstance(result, bytes) else ""
            print(f"{name}: median {statistics.median(times):.2f} s over {args.runs} runs "
                  f"(min {min(times):.2f}, max {max(times):.2f}){size}")


if __name__ == "__main__":
    main()
