"""The stored file's Parquet encoding, column by column (issue 14 item 6, tenth round).

Ingests a synthetic feed (``--events``) into a scratch store, reads the stored table back and
times writing it with the store's options and variants: each column alone (as stored; without
compression; without dictionary; without statistics) and the whole table with candidate option
sets. Times are CPU seconds of this process (``time.process_time``, best of ``--repeat``): the
encoding runs on one thread, so its CPU is its wall on a quiet core.

    .venv/bin/python bench/bench_encode.py --events 1000000 --feeds nrm rosewood --repeat 3 --reads
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(HERE))

import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

from storage.parquet import ROW_GROUP_SIZE, write_options  # noqa: E402


def cpu_write(table: pa.Table, repeat: int, **options) -> tuple[float, int]:
    """Best CPU seconds of writing ``table`` to memory with ``options``, and the bytes."""
    best, size = float("inf"), 0
    for _ in range(repeat):
        sink = pa.BufferOutputStream()
        started = time.process_time()
        pq.write_table(table, sink, row_group_size=ROW_GROUP_SIZE, **options)
        best = min(best, time.process_time() - started)
        size = len(sink.getvalue())
    return best, size


def stored_table(feed: str, frame, folder: Path) -> pa.Table:
    """``frame`` written as a CSV and ingested into a scratch store: the stored rows."""
    from data.ingest import ingest_file
    from storage.parquet import ParquetStore

    folder.mkdir(parents=True)
    path = folder / f"{feed}.csv"
    frame.to_csv(path, index=False)
    ingest_file(path, feed, store=ParquetStore(folder / "store"))
    files = sorted((folder / "store" / feed).glob("*.parquet"))
    return pa.concat_tables(pq.read_table(f) for f in files)


def per_column(table: pa.Table, repeat: int) -> None:
    print("| column | type | distinct | as stored s | KiB | zstd off s | no dictionary s (KiB) "
          "| no statistics s |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    total = [0.0] * 4
    for name in table.column_names:
        one = table.select([name])
        options = write_options(one.schema)
        base, size = cpu_write(one, repeat, **options)
        plain, _ = cpu_write(one, repeat, **{**options, "compression": "none"})
        no_dict, no_dict_size = cpu_write(one, repeat, **{**options, "use_dictionary": False})
        no_stats, _ = cpu_write(one, repeat, **options, write_statistics=False)
        distinct = len(one.column(0).unique()) if one.num_rows else 0
        for i, value in enumerate((base, plain, no_dict, no_stats)):
            total[i] += value
        print(f"| {name} | {one.schema.field(0).type} | {distinct:,} | {base:.3f} | "
              f"{size / 1024:,.0f} | {plain:.3f} | {no_dict:.3f} ({no_dict_size / 1024:,.0f}) | "
              f"{no_stats:.3f} |")
    print(f"| **sum** | | | {total[0]:.3f} | | {total[1]:.3f} | {total[2]:.3f} | {total[3]:.3f} |")



def whole(table: pa.Table, repeat: int, variants: dict[str, dict]) -> None:
    print("| options | CPU s | MiB | vs stored |")
    print("| --- | ---: | ---: | ---: |")
    first = None
    for label, options in variants.items():
        seconds, size = cpu_write(table, repeat, **options)
        first = first or (seconds, size)
        print(f"| {label} | {seconds:.3f} | {size / 2**20:.2f} | "
              f"{seconds / first[0] - 1:+.0%} time, {size / first[1] - 1:+.1%} size |")


def variants(schema: pa.Schema) -> dict[str, dict]:
    stored = write_options(schema)
    names = schema.names
    filtered = [c for c in ("event_date", "district_code", "ward_code", "age_group",
                            "exploitation_type", "indicators", "found_at") if c in names]
    out = {"as stored (this checkout's options)": stored,
           "zstd level 1": {**stored, "compression_level": 1},
           "statistics: filtered columns only": {**stored, "write_statistics": filtered},
           "statistics: event_date only": {**stored, "write_statistics": ["event_date"]},
           "zstd 1 + filtered statistics": {**stored, "compression_level": 1,
                                            "write_statistics": filtered},
           "snappy": {**stored, "compression": "snappy"},
           "lz4": {**stored, "compression": "lz4"},
           "data_page_size 4 MiB": {**stored, "data_page_size": 4 << 20},
           "coordinates byte-stream-split": {
               **stored, "use_dictionary": [c for c in stored["use_dictionary"]
                                            if c not in ("longitude", "latitude")],
               "column_encoding": {c: "BYTE_STREAM_SPLIT" for c in ("longitude", "latitude")}}}
    out["old options (before the tenth round)"] = old_options(schema)
    return out


def old_options(schema: pa.Schema) -> dict:
    """The store's write options before the tenth round (every column's statistics)."""
    return {"compression": "zstd",
            "use_dictionary": [c for c in schema.names if c not in {"record_id", "content_hash"}]}


def reads(feed: str, table: pa.Table, folder: Path, repeat: int) -> None:
    """The same rows stored with the old and the new options; the store's queries on each
    (CPU and wall, best of ``repeat``, alternating), and the file sizes."""
    import datetime as dt

    import storage.parquet as parquet_store
    from core.filters import EventFilter
    from storage.parquet import ParquetStore

    frame = table.to_pandas()
    stores = {}
    for label, options in (("old options", old_options), ("new options", write_options)):
        real = parquet_store.write_options
        parquet_store.write_options = options
        try:
            stores[label] = ParquetStore(folder / label.replace(" ", "-"))
            stores[label].append(feed, frame, source="synthetic", file_name=f"{feed}.csv")
        finally:
            parquet_store.write_options = real
    sample = frame.iloc[len(frame) // 3]
    filters = {"all rows": EventFilter(),
               "one year": EventFilter(start=dt.date(2023, 1, 1), end=dt.date(2023, 12, 31)),
               "one district": EventFilter(districts=(sample["district_code"],)),
               "one ward, one age group": EventFilter(wards=(sample["ward_code"],),
                                                      age_groups=(sample["age_group"],)),
               "a month, counts columns": EventFilter(start=dt.date(2024, 3, 1),
                                                      end=dt.date(2024, 3, 31))}
    sizes = {label: sum(p.stat().st_size for p in (s.root / feed).glob("*.parquet"))
             for label, s in stores.items()}
    print(f"\nfile size: old {sizes['old options'] / 2**20:.2f} MiB, new "
          f"{sizes['new options'] / 2**20:.2f} MiB "
          f"({sizes['new options'] / sizes['old options'] - 1:+.1%})\n")
    print("| query | old: CPU ms / wall ms | new: CPU ms / wall ms | rows |")
    print("| --- | ---: | ---: | ---: |")
    columns = ["event_date", "district_code", "ward_code"]
    for name, f in [*filters.items(), ("period (statistics)", None)]:
        best = {label: (float("inf"), float("inf")) for label in stores}
        rows = 0
        for _ in range(repeat):
            for label, store in stores.items():  # alternating
                started, started_cpu = time.perf_counter(), time.process_time()
                if f is None:
                    store.period()
                else:
                    rows = len(store.query(feed, f, columns if "counts" in name else None))
                elapsed = (time.process_time() - started_cpu, time.perf_counter() - started)
                best[label] = min(best[label], elapsed)
        old, new = best["old options"], best["new options"]
        print(f"| {name} | {old[0] * 1e3:.0f} / {old[1] * 1e3:.0f} | {new[0] * 1e3:.0f} / "
              f"{new[1] * 1e3:.0f} | {rows:,} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--feeds", nargs="+", default=["nrm", "rosewood"])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-columns", action="store_true", help="whole-table variants only")
    parser.add_argument("--reads", action="store_true",
                        help="also time the store's queries on files of the old and new options")
    args = parser.parse_args()
    print(f"{time.strftime('%Y-%m-%d %H:%M %Z')} · load {os.getloadavg()[0]:.2f} · "
          f"pyarrow {pa.__version__} · {args.events:,} events, seed {args.seed}")
    from data.synthetic import generate

    frames = generate(seed=args.seed, events=args.events)
    with tempfile.TemporaryDirectory() as tmp:
        for feed in args.feeds:
            table = stored_table(feed, frames[feed], Path(tmp) / feed)
            print(f"\n### {feed}: {table.num_rows:,} rows, {table.num_columns} columns\n")
            if not args.skip_columns:
                per_column(table, args.repeat)
                print()
            whole(table, args.repeat, variants(table.schema))
            if args.reads:
                reads(feed, table, Path(tmp) / f"{feed}-reads", max(args.repeat, 5))
    print(f"\nload at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
