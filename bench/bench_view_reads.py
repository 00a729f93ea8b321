"""Benchmark: the store reads of one Explore view, each query its own read or one read per feed.

    .venv/bin/python bench/bench_view_reads.py --store store [--store /tmp/c1m] [--repeat 9]
        [--role analyst]

What the first Explore run asks ``safeguards.access`` for the default view (the last 12 months
of every feed, wards): the headline (every feed by district, now and in the previous period),
the areas, the cells and, when there are few enough to draw, the points, made by the page's own
functions, with ``ui.explore_loaders.share_view_reads`` (one read per feed,
``storage.base.share_reads``) and without (each query its own read), alternately in one
process, ``--repeat`` times each after one warm-up of each. Printed per store: medians of the
process's CPU time (pyarrow's decoding threads included) and wall time, the reads of the feeds'
files (``ParquetStore._read``) and that both ways gave the same figures.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", type=Path, action="append", required=True)
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--role", default="analyst")
    args = parser.parse_args()

    import logging

    logging.disable(logging.WARNING)
    import pandas as pd

    from core.roles import may_see_level
    from safeguards.access import Principal, RoleScopedQuery
    from storage.base import fingerprints_held
    from storage.parquet import ParquetStore
    from ui.explore_loaders import share_view_reads
    from views.explore import headline
    from views.explore_map import points_to_read
    from views.viewstate import ExplorerState, from_query_params, to_filter

    for root in args.store:
        os.environ["STORE_URL"] = str(root.resolve())
        store = ParquetStore(root.resolve())
        period = store.period()
        state: ExplorerState = from_query_params({}, role=args.role, store_period=period)  # a link without parameters
        principal = Principal("bench", args.role)
        query = RoleScopedQuery(store, principal)

        def figures():
            out = [headline(query, state, period[0]),
                   query.area_counts(state.feeds, state.level, to_filter(state))]
            if may_see_level(args.role, "point"):
                cells = [query.cell_counts(feed, to_filter(state)) for feed in state.feeds]
                out += cells
                if points_to_read(pd.concat(cells)) is None:
                    out += [query.points(feed, to_filter(state)) for feed in state.feeds]
            return out

        reads = []
        real_read = ParquetStore._read

        def counted(self, *a, **k):
            reads.append(1)
            return real_read(self, *a, **k)

        ParquetStore._read = counted

        def once(shared: bool):
            reads.clear()
            cpu, wall = time.process_time(), time.perf_counter()
            with fingerprints_held():
                if shared:
                    share_view_reads(principal, state)
                made = figures()
            return (time.process_time() - cpu, time.perf_counter() - wall, len(reads), made)

        results = {False: [], True: []}
        for shared in (False, True):   # warm-up: imports, first reads
            once(shared)
        same = True
        for _ in range(args.repeat):
            for shared in (False, True):
                results[shared].append(once(shared))
            own, shared_made = results[False][-1][3], results[True][-1][3]
            for a, b in zip(own, shared_made):
                if isinstance(a, pd.DataFrame):
                    same &= a.equals(b) and list(a.dtypes) == list(b.dtypes)
                else:
                    same &= a == b
        ParquetStore._read = real_read
        rows = sum(b["rows"] for b in store.batches())
        print(f"\n{root} ({rows:,} records; {state.start} to {state.end}, {state.level}; role "
              f"{args.role}; load average {os.getloadavg()[0]:.1f}); medians of {args.repeat}:")
        for shared, label in ((False, "each query its own read"), (True, "one read per feed")):
            runs = results[shared]
            print(f"  {label}: CPU {statistics.median(r[0] for r in runs) * 1000:.1f} ms, "
                  f"wall {statistics.median(r[1] for r in runs) * 1000:.1f} ms, "
                  f"{runs[0][2]} reads")
        print(f"  same figures both ways: {same}")


if __name__ == "__main__":
    main()
