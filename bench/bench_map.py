"""Benchmark: the explorer map's payload and server time, against a naive one-marker-per-event map.

    .venv/bin/python bench/bench_map.py [--events 10000 100000 1000000] [--runs 5]
                                        [--naive-runs 3 1 0] [--month-runs 5]
                                        [--stores /tmp/bench-stores]

For each size a synthetic store is built once, by the same command as the demo store,
``python -m data.synthetic --store DIR --years 5 --seed 1 --events N``, and kept in
``--stores`` (default ``/tmp/bench-stores/store_N``) so later runs reuse it. Then, as an analyst:

- **explorer**: what ``pages/explore.py`` does on the server after a filter change, through
  the page's own cached loaders (``ui.explore_loaders``: headline, area counts, 100 m cells,
  points) with a filter that is new each run, so every ``st.cache_data`` lookup misses; then
  ``views.explore_map.build_map`` (areas, hexagons, heat map, and the points when there are at most
  ``maps.point_layer.MAX_POINTS``) and ``st_folium`` building what it sends to the browser. The
  payload is the JSON of the arguments ``st_folium`` hands to its component (script, header,
  html, links): what goes over the WebSocket for the map. "cache hit" is the same view again
  (a rerun after a click, say), where the loaders answer from the cache.
- **naive**: the points of every feed (``RoleScopedQuery.points``) and one
  ``folium.CircleMarker`` per point on the same base map, sent through ``st_folium``: the way
  most Streamlit map tutorials draw events. Run only where feasible (``--naive-runs`` per size;
  0 skips it: at 1,000,000 events it would be ~400 MB and minutes per filter change).
- **month step** (``--month-runs``; moved here from ``tests/test_explore_modes.py``, which
  printed it): the months mode's slider, a step to a month not shown yet and back to one shown
  before, through the page's own cached loaders (``ui.explore_modes``), and the view's frames
  computed once.

The view is the store's whole period (every event in view, the largest payload), starting one
day later on each run: a filter change a user makes by moving the start date. Times (wall
clock, and this process's CPU time, which other work on a shared machine inflates less) are
medians over ``--runs`` runs after one warm-up run (boundaries, vendor manifest and imports are
loaded once per process, as in the dashboard). Prints a markdown table; record results in
docs/benchmarks.md.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import platform
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import folium  # noqa: E402
import streamlit_folium  # noqa: E402

from core.schema import FEEDS  # noqa: E402
from geo.boundaries import DISTRICT_CODES, load_boundaries  # noqa: E402
from maps.basemap import base_map  # noqa: E402
from safeguards.access import Principal, RoleScopedQuery  # noqa: E402
from storage.open import open_store  # noqa: E402
from views.viewstate import ExplorerState, to_filter  # noqa: E402

PAYLOAD_TARGET = 2_000_000
TIME_TARGET_S = 1.0
DEFAULT_STORES = Path("/tmp/bench-stores")
RETURNED = ["last_object_clicked", "last_active_drawing"]  # as pages/explore.py asks


# -- stores ------------------------------------------------------------------------------------
def ensure_store(stores: Path, events: int) -> Path:
    """The cached store of ``events`` records, built with the synthetic generator's CLI if new."""
    path = stores / f"store_{events}"
    if (path / "_manifest.json").is_file():
        return path
    stores.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "data.synthetic", "--store", str(path), "--years", "5",
                    "--seed", "1", "--events", str(events)], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    print(f"  built {path} in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return path


# -- what st_folium sends ----------------------------------------------------------------------
def folium_payload(m: folium.Map, render: bool = False) -> int:
    """Bytes of the component arguments ``st_folium`` sends for ``m`` (as JSON), called as
    ``pages/explore.py`` calls it (``render=False``; the naive map keeps the default)."""
    sent = {}

    def capture(**kwargs):
        kwargs.pop("on_change", None)
        sent.update(kwargs)
        return kwargs.get("default")

    original = streamlit_folium._component_func
    streamlit_folium._component_func = capture
    try:
        streamlit_folium.st_folium(m, key="explore_map", height=560, use_container_width=True,
                                   returned_objects=RETURNED, render=render)
    finally:
        streamlit_folium._component_func = original
    return len(json.dumps(sent, default=str).encode())


# -- the two maps ------------------------------------------------------------------------------
def views(period: tuple[dt.date, dt.date], n: int) -> list[ExplorerState]:
    """``n`` whole-period views, each starting a day later than the one before (all distinct)."""
    first, last = period
    return [ExplorerState(start=first + dt.timedelta(days=i), end=last, level="ward")
            for i in range(n)]


def explorer_once(principal: Principal, state: ExplorerState) -> dict:
    """The page's server work for one view, timed in three parts."""
    from ui import explore_loaders as load
    from views.explore_map import build_map
    from views.explore_words import describe

    started, cpu = time.perf_counter(), time.process_time()
    headline = load.load_headline(principal, state)
    counts = load.load_area_counts(principal, state)
    cells = load.load_cells(principal, state)
    points = load.load_points(principal, state, cells)
    loaded = time.perf_counter()
    view = build_map(state, counts=counts, cells=cells, points=points,
                     note=describe(state, DISTRICT_CODES))
    built = time.perf_counter()
    size = folium_payload(view.map)
    done = time.perf_counter()
    return {"bytes": size, "seconds": done - started, "cpu": time.process_time() - cpu,
            "data": loaded - started,
            "layers": built - loaded, "render": done - built,
            "in_view": sum(f.count or 0 for f in headline.feeds),
            "drawn": f"{len(counts):,} wards, {len(cells):,} cells"
                     + (", points" if view.message is None else ", no points")}


def naive_once(principal: Principal, state: ExplorerState) -> dict:
    query = RoleScopedQuery(open_store(), principal)
    started, cpu = time.perf_counter(), time.process_time()
    points = pd.concat([query.points(feed, to_filter(state))[["latitude", "longitude"]]
                        for feed in FEEDS], ignore_index=True)
    loaded = time.perf_counter()
    m = base_map()
    for row in points.itertuples(index=False):
        folium.CircleMarker(location=[row.latitude, row.longitude], radius=3, fill=True,
                            weight=1).add_to(m)
    built = time.perf_counter()
    size = folium_payload(m, render=True)
    done = time.perf_counter()
    return {"bytes": size, "seconds": done - started, "cpu": time.process_time() - cpu,
            "data": loaded - started,
            "layers": built - loaded, "render": done - built, "in_view": len(points),
            "drawn": f"{len(points):,} markers"}


def month_steps(principal: Principal, state: ExplorerState, runs: int) -> dict:
    """Months mode (``view=months``): a step of the month slider as the page makes it
    (``ui.explore_modes.load_frame_map``: the month's map built and rendered, cached per view
    and month), to a month not shown yet ("new") and back to one shown before ("cached"); and
    the view's frames (``load_frames``: every month's counts and the fixed breaks), once."""
    from ui import explore_modes
    from views.explore_words import describe

    note = describe(state, DISTRICT_CODES)
    started, cpu = time.perf_counter(), time.process_time()
    frames = explore_modes.load_frames(principal, state)
    setup = {"seconds": time.perf_counter() - started, "cpu": time.process_time() - cpu}
    months = list(frames.months[-(runs + 1):])
    explore_modes.load_frame_map(principal, state, frames, months[0], None, note)  # warm-up

    def step(month: str) -> dict:
        started, cpu = time.perf_counter(), time.process_time()
        explore_modes.load_frame_map(principal, state, frames, month, None, note)
        return {"seconds": time.perf_counter() - started, "cpu": time.process_time() - cpu}

    new = [step(month) for month in months[1:]]
    cached = [step(month) for month in months[1:]]
    return {"months": len(frames.months), "frames": setup,
            **{name: {k: statistics.median(r[k] for r in results) for k in ("seconds", "cpu")}
               for name, results in (("new", new), ("cached", cached))}, "runs": len(new)}


def median_of(results: list[dict]) -> dict:
    out = {k: statistics.median(r[k] for r in results)
           for k in ("seconds", "cpu", "data", "layers", "render")}
    out.update({k: results[-1][k] for k in ("in_view", "drawn")})
    out["bytes"] = max(r["bytes"] for r in results)
    out["runs"] = len(results)
    return out


def run_size(events: int, args) -> list[dict]:
    path = ensure_store(args.stores, events)
    os.environ["STORE_URL"] = str(path)  # the loaders open the store the page would
    principal = Principal("bench", "analyst")
    period = open_store().period()
    states = views(period, args.runs + 2)
    explorer_once(principal, states[0])  # warm-up
    misses = [explorer_once(principal, s) for s in states[1:args.runs + 1]]
    hits = [explorer_once(principal, s) for s in states[1:args.runs + 1]]
    rows = [{"events": events, "map": "explorer (filter change: cache miss)", **median_of(misses)},
            {"events": events, "map": "explorer (same view again: cache hit)", **median_of(hits)}]
    runs = dict(zip(args.events, args.naive_runs)).get(events, 0)
    if runs > 0:
        # No warm-up run: at 100k one run takes about a minute, and the explorer's warm-up
        # already loaded everything the two share.
        rows.append({"events": events, "map": "naive CircleMarker per event",
                     **median_of([naive_once(principal, s) for s in states[1:runs + 1]])})
    else:
        rows.append({"events": events, "map": "naive CircleMarker per event", "skipped": True})
    if args.month_runs > 0:
        rows.append({"events": events, "map": "month step", **month_steps(
            principal, ExplorerState(start=period[0], end=period[1], level="ward"),
            args.month_runs)})
    return rows


def table(rows: list[dict]) -> str:
    lines = ["| stored events | map | records in view | what is drawn | payload | server time "
             "(median) | CPU time (median) | of which data / layers / st_folium | runs | "
             "naive ÷ explorer |",
             "| ---: | --- | ---: | --- | ---: | ---: | ---: | --- | ---: | --- |"]
    explorer = {r["events"]: r for r in rows if "cache miss" in r["map"]}
    for r in rows:
        if r["map"] == "month step":
            continue
        if r.get("skipped"):
            lines.append(f"| {r['events']:,} | {r['map']} | – | – | – | – | – | – | 0 | "
                         "not run: hundreds of MB, minutes per filter change |")
            continue
        ratio = ""
        if r["map"].startswith("naive"):
            base = explorer[r["events"]]
            ratio = (f"{r['bytes'] / base['bytes']:,.0f}× bytes, "
                     f"{r['seconds'] / base['seconds']:,.0f}× time")
        lines.append(
            f"| {r['events']:,} | {r['map']} | {r['in_view']:,} | {r['drawn']} | "
            f"{r['bytes'] / 1e6:,.2f} MB | {r['seconds']:.2f} s | {r['cpu']:.2f} s | "
            f"{r['data']:.2f} / "
            f"{r['layers']:.2f} / {r['render']:.2f} s | {r['runs']} | {ratio} |")
    steps = [r for r in rows if r["map"] == "month step"]
    if steps:
        lines += ["", "| stored events | months mode: months | frames, once (wall / CPU) | "
                  "step to a new month, median (wall / CPU) | step to a month shown before | "
                  "steps |", "| ---: | ---: | ---: | ---: | ---: | ---: |"]
        lines += [f"| {r['events']:,} | {r['months']} | {r['frames']['seconds']:.2f} / "
                  f"{r['frames']['cpu']:.2f} s | {r['new']['seconds']:.3f} / "
                  f"{r['new']['cpu']:.3f} s | {r['cached']['seconds']:.3f} / "
                  f"{r['cached']['cpu']:.3f} s | {r['runs']} |" for r in steps]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--naive-runs", type=int, nargs="+", default=[3, 1, 0],
                        help="naive-map runs per size, in the order of --events (0 = skip)")
    parser.add_argument("--month-runs", type=int, default=5,
                        help="month-slider steps timed in months mode, per size (0 = skip)")
    parser.add_argument("--stores", type=Path, default=DEFAULT_STORES,
                        help="where the stores are kept between runs")
    args = parser.parse_args()
    # Outside `streamlit run`, st.cache_data warns on every call that there is no runtime.
    import streamlit.logger

    streamlit.logger.set_log_level(logging.CRITICAL)
    warnings.filterwarnings("ignore")
    load_boundaries("ward")
    load_avg = os.getloadavg()[0]
    print(f"# map benchmark: {platform.node()} · {os.cpu_count()} CPUs · "
          f"{platform.processor() or platform.machine()} · Python {platform.python_version()} · "
          f"{time.strftime('%Y-%m-%d %H:%M %Z')} · load {load_avg:.1f}")
    rows = []
    for events in args.events:
        rows.extend(run_size(events, args))
        print(f"  {events:,} done (load {os.getloadavg()[0]:.1f})", file=sys.stderr)
    print(table(rows))
    for r in rows:
        if "cache miss" in r["map"]:
            ok_bytes = r["bytes"] <= PAYLOAD_TARGET
            ok_time = r["seconds"] <= TIME_TARGET_S
            print(f"- {r['events']:,} events: payload {'within' if ok_bytes else 'OVER'} 2 MB "
                  f"(max {r['bytes']:,} bytes), server time {'within' if ok_time else 'OVER'} "
                  f"1 s (median {r['seconds']:.2f} s wall, {r['cpu']:.2f} s CPU)")
    print(f"- load average at the end: {os.getloadavg()[0]:.1f} (2 cores; other work was "
          "running)" if os.getloadavg()[0] > 1 else "")


if __name__ == "__main__":
    main()
