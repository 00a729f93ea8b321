"""Benchmark: the explorer map's payload and server time, against a naive one-marker-per-event map.

    .venv/bin/python bench/bench_map.py [--events 10000 100000 1000000] [--runs 5]
                                        [--naive-runs 5 1] [--proposed-cell-counts]

For each size a synthetic store is built once in a temporary folder
(``data.synthetic.build_store(url, events=N, seed=1)``). Then, as an analyst, for ``--runs``
different date filters (a new ``EventFilter`` each time, as when a user moves the date slider):

- **explorer**: ``area_counts`` of all feeds by ward + ``cell_counts`` (100 m) of each feed,
  then ``area_layer`` (ward rates), ``hex_layer`` (500 m), ``heat_layer``, ``explorer_map`` and
  ``m.get_root().render()``: the time from the filter change to the map's HTML, and its size.
- **naive**: ``points`` of each feed and one ``folium.CircleMarker`` per point on the same base
  map, the way most Streamlit map tutorials draw events. Run only where feasible:
  ``--naive-runs`` gives the runs per size (10k: 5, 100k: 1); it is skipped beyond that (the
  1M version would be ~500 MB of HTML and several minutes of rendering per filter change).

Times are medians over the runs after one warm-up run (boundaries and the vendor manifest are
loaded once per process, as in the dashboard). ``--proposed-cell-counts`` adds rows with
``RoleScopedQuery.cell_counts`` replaced by the same aggregation over a 1-D int64 key (checked
to give the same frame), to show what that change to ``data/access.py`` would save. Prints a
markdown table; record results in docs/benchmarks.md.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import folium  # noqa: E402

from data.access import Principal, RoleScopedQuery  # noqa: E402
from data.filters import EventFilter  # noqa: E402
from data.schema import FEEDS  # noqa: E402
from data.store import open_store  # noqa: E402
from data.synthetic import build_store  # noqa: E402
from geo.boundaries import load_boundaries  # noqa: E402
from geo.geomask import bng_to_lonlat  # noqa: E402
from geo.layers import (area_layer, combine_cells, explorer_map, filter_note,  # noqa: E402
                        heat_layer, hex_layer, layer_geojson)
from geo.maps import base_map  # noqa: E402

PAYLOAD_TARGET = 2_000_000
TIME_TARGET_S = 1.0


def filters_for(store, runs: int) -> list[EventFilter]:
    """``runs + 1`` different date ranges (the first is the warm-up): the store's whole period,
    then ranges starting 1, 2, ... weeks later, as a user dragging the start date would make.
    Each keeps nearly every event in view, so the payload is that of the whole store."""
    first, last = store.period()
    return [EventFilter(start=first + dt.timedelta(weeks=i), end=last) for i in range(runs + 1)]


def explorer_once(query: RoleScopedQuery, filters: EventFilter) -> dict:
    feeds = list(FEEDS)
    started = time.perf_counter()
    counts = query.area_counts(feeds, "ward", filters)
    cells = combine_cells(query.cell_counts(feed, filters, cell_m=100) for feed in feeds)
    queried = time.perf_counter()
    note = filter_note(feeds, filters)
    areas, _ = area_layer(counts, "ward", measure="rate", note=note, name="Wards")
    hexes, _ = hex_layer(cells, size_m=500, note=note)
    heat = heat_layer(cells)
    m = explorer_map([areas, hexes, heat], show={"Wards", "Heat map"})
    built = time.perf_counter()
    page = m.get_root().render()
    done = time.perf_counter()
    return {"bytes": len(page.encode()), "seconds": done - started, "query": queried - started,
            "layers": built - queried, "render": done - built,
            "in_view": int(cells["count"].sum()),
            "drawn": len(counts) + len(layer_geojson(hexes)["features"])
            + len(next(iter(heat._children.values())).data)}


def naive_once(query: RoleScopedQuery, filters: EventFilter) -> dict:
    started = time.perf_counter()
    points = pd.concat([query.points(feed, filters)[["latitude", "longitude"]] for feed in FEEDS],
                       ignore_index=True)
    queried = time.perf_counter()
    m = base_map()
    for row in points.itertuples(index=False):
        folium.CircleMarker(location=[row.latitude, row.longitude], radius=3, fill=True,
                            weight=1).add_to(m)
    built = time.perf_counter()
    page = m.get_root().render()
    done = time.perf_counter()
    return {"bytes": len(page.encode()), "seconds": done - started, "query": queried - started,
            "layers": built - queried, "render": done - built, "in_view": len(points),
            "drawn": len(points)}


def proposed_cell_counts(self, feed, filters=None, cell_m=100):
    """``RoleScopedQuery.cell_counts`` with a 1-D key instead of ``np.unique(axis=0)``."""
    from data.schema import check_feed

    check_feed(feed)
    self.require_level("point")
    if cell_m < 100 or cell_m % 100:
        raise ValueError(f"cell_m was {cell_m}; use a multiple of the 100 m geomask")
    rows = self.store.query(feed, filters, columns=["easting", "northing"]).dropna()
    ei = rows["easting"].to_numpy(np.int64) // cell_m
    ni = rows["northing"].to_numpy(np.int64) // cell_m
    keys, counts = np.unique(ei * 1_000_000 + ni, return_counts=True)  # BNG < 1e6 cells
    e = (keys // 1_000_000) * cell_m + cell_m // 2
    n = (keys % 1_000_000) * cell_m + cell_m // 2
    lon, lat = bng_to_lonlat(e, n)
    self._audit("view-points", feed=feed, filters=filters, records=int(counts.sum()),
                detail=f"cells of {cell_m} m")
    return pd.DataFrame({"easting": e, "northing": n, "longitude": np.round(lon, 6),
                         "latitude": np.round(lat, 6), "count": counts})


def median_of(results: list[dict]) -> dict:
    keys = ("seconds", "query", "layers", "render")
    out = {k: statistics.median(r[k] for r in results) for k in keys}
    out.update({k: results[0][k] for k in ("bytes", "in_view", "drawn")})  # same filter for all
    out["bytes_max"] = max(r["bytes"] for r in results)
    out["runs"] = len(results)
    return out


def measure(fn, query, filters: list[EventFilter], runs: int) -> dict:
    fn(query, filters[0])  # warm-up
    return median_of([fn(query, f) for f in filters[1:runs + 1]])


def run_size(events: int, args, tmp: Path) -> list[dict]:
    url = tmp / f"store_{events}"
    started = time.perf_counter()
    built = build_store(url, events=events, seed=1)
    build_s = time.perf_counter() - started
    print(f"  built {events:,} events in {build_s:.1f} s: {built['records']}", file=sys.stderr)
    store = open_store(url)
    query = RoleScopedQuery(store, Principal("bench", "analyst"))
    filters = filters_for(store, args.runs)
    rows = [{"events": events, "map": "explorer", **measure(explorer_once, query, filters,
                                                             args.runs)}]
    if args.proposed_cell_counts:
        original = RoleScopedQuery.cell_counts
        check = EventFilter()
        for feed in FEEDS:
            pd.testing.assert_frame_equal(original(query, feed, check),
                                          proposed_cell_counts(query, feed, check),
                                          check_dtype=False)
        RoleScopedQuery.cell_counts = proposed_cell_counts
        try:
            rows.append({"events": events, "map": "explorer, proposed cell_counts",
                         **measure(explorer_once, query, filters, args.runs)})
        finally:
            RoleScopedQuery.cell_counts = original
    naive_runs = dict(zip(args.events, args.naive_runs))
    if naive_runs.get(events, 0) > 0:
        runs = naive_runs[events]
        # No warm-up run for the naive map: at 100k one run is ~40 s; the explorer's warm-up
        # already loaded everything the two share.
        rows.append({"events": events, "map": "naive CircleMarker",
                     **median_of([naive_once(query, f) for f in filters[1:runs + 1]])})
    else:
        rows.append({"events": events, "map": "naive CircleMarker", "skipped": True})
    return rows


def table(rows: list[dict]) -> str:
    lines = ["| stored events | map | events in view / map objects | HTML payload | server time "
             "(median) | of which query / layers / render | runs | vs explorer |",
             "| ---: | --- | ---: | ---: | ---: | --- | ---: | --- |"]
    explorer = {r["events"]: r for r in rows if r["map"] == "explorer"}
    for r in rows:
        if r.get("skipped"):
            lines.append(f"| {r['events']:,} | {r['map']} | – | – | – | – | 0 | skipped: "
                         "~500 MB of HTML, minutes per filter change |")
            continue
        ratio = ""
        base = explorer[r["events"]]
        if r is not base:
            ratio = (f"{r['bytes'] / base['bytes']:,.1f}× bytes, "
                     f"{r['seconds'] / base['seconds']:,.1f}× time")
        objects = f"{r['in_view']:,} / {r['drawn']:,}"
        lines.append(
            f"| {r['events']:,} | {r['map']} | {objects} | {r['bytes'] / 1e6:,.2f} MB | "
            f"{r['seconds']:.2f} s | {r['query']:.2f} / {r['layers']:.2f} / {r['render']:.2f} s"
            f" | {r['runs']} | {ratio} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--naive-runs", type=int, nargs="+", default=[5, 1, 0],
                        help="naive-map runs per size, in the order of --events (0 = skip)")
    parser.add_argument("--proposed-cell-counts", action="store_true")
    args = parser.parse_args()
    load_boundaries("ward")
    print(f"# map benchmark: {platform.node()} · {os.cpu_count()} CPUs · "
          f"{platform.processor() or platform.machine()} · Python {platform.python_version()} · "
          f"{time.strftime('%Y-%m-%d %H:%M %Z')} · load {os.getloadavg()[0]:.1f}")
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench_map_") as tmp:
        for events in args.events:
            rows.extend(run_size(events, args, Path(tmp)))
    print(table(rows))
    for r in rows:
        if r["map"].startswith("explorer"):
            ok_bytes = r["bytes_max"] <= PAYLOAD_TARGET
            ok_time = r["seconds"] <= TIME_TARGET_S
            print(f"- {r['events']:,} events, {r['map']}: payload "
                  f"{'within' if ok_bytes else 'OVER'} 2 MB (max {r['bytes_max']:,} bytes), "
                  f"server time {'within' if ok_time else 'OVER'} 1 s")


if __name__ == "__main__":
    main()
