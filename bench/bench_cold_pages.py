"""Benchmark: the **cold** first view of Hotspots, Meeting and Trends per role, and the fit.

    .venv/bin/python bench/bench_cold_pages.py --store /tmp/c1m [--roles analyst chair]
        [--pages hotspots meeting trends] [--runs 1] [--compare DIR] [--profile DIR]
    .venv/bin/python bench/bench_cold_pages.py --fit --store /tmp/c1m --store /tmp/c1m_demo
        [--runs 3] [--compare DIR]

Each page view runs in a **fresh process** (nothing cached, nothing fitted, no server warm-up:
what the first visitor after a data load meets) through Streamlit's ``AppTest``: the dashboard
opened as the demo role (its first run, the Overview, is timed apart), then switched to the page;
the switch's run is the page's cold first view. Wall clock and the process's CPU time
(``time.process_time``: less inflated than wall clock on a shared machine).

``--fit``: ``HotspotModel().fit`` (the default model, as ``bench/bench_hotspots.py`` fits it:
every stored point, all feeds) on each ``--store``, in a fresh process per run, after the
one-off population grid.

``--compare DIR`` measures a second checkout (``git archive`` of the base commit, with the
vendored map assets) the same way, alternating with this one run by run. ``--profile DIR``
writes a cProfile of each page view there (``DIR/<checkout>-<role>-<page>.prof``).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
PAGES = {"hotspots": "pages/hotspots.py", "meeting": "pages/meeting.py",
         "trends": "pages/trends.py"}


def page_worker(checkout: Path, store: Path, role: str, page: str, profile: Path | None,
                timeout: float) -> dict:
    """One fresh process: open the dashboard as ``role``, then ``page``; time both runs."""
    import logging
    import tempfile

    logging.disable(logging.WARNING)
    scratch = Path(tempfile.mkdtemp())
    os.environ.update(STORE_URL=str(store), USERS_FILE=str(scratch / "no-users.json"),
                      ROLES_FILE=str(scratch / "no-roles.yaml"))
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(checkout / "dashboard.py"), default_timeout=timeout)
    at.secrets["test"] = "no sign-in secrets"
    at.session_state["auth_demo_role"] = role
    wall, cpu = time.perf_counter(), time.process_time()
    at.run()
    home = [time.perf_counter() - wall, time.process_time() - cpu]
    profiler = None
    if profile is not None:
        # The page runs in the script runner's thread: profile that thread's script run.
        import cProfile

        from streamlit.runtime.scriptrunner import script_runner

        profiler = cProfile.Profile()
        original = script_runner.ScriptRunner._run_script

        def profiled(self, rerun_data):
            profiler.enable()
            try:
                return original(self, rerun_data)
            finally:
                profiler.disable()

        script_runner.ScriptRunner._run_script = profiled
    wall, cpu = time.perf_counter(), time.process_time()
    at.switch_page(str(checkout / PAGES[page])).run()
    view = [time.perf_counter() - wall, time.process_time() - cpu]
    if profiler is not None:
        profile.mkdir(parents=True, exist_ok=True)
        profiler.dump_stats(str(profile / f"{checkout.name}-{role}-{page}.prof"))
    errors = [str(e.value)[:200] for e in at.exception]
    return {"home": home, "page": view, "errors": errors,
            "elements": len(at.main.children) if hasattr(at.main, "children") else None}


def fit_worker(store: Path) -> dict:
    """One fresh process: the default ``HotspotModel().fit`` on every point of ``store``."""
    import geopandas as gpd
    import pandas as pd

    from core.schema import FEEDS
    from models._events import events_frame
    from models.hotspots import HotspotModel
    from storage.parquet import ParquetStore

    st = ParquetStore(store)
    frames = [events_frame(st.query(feed, columns=["event_date", "easting", "northing"]), feed)
              for feed in FEEDS]
    events = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry",
                              crs=frames[0].crs)
    from models._grid import analysis_grid

    analysis_grid(300)   # the one-off grid, left out as bench/bench_hotspots.py leaves it out
    wall, cpu = time.perf_counter(), time.process_time()
    model = HotspotModel().fit(events)
    first = [time.perf_counter() - wall, time.process_time() - cpu]
    # Again, with the forecast ranking's 100 m grid built by the first (also once a process).
    wall, cpu = time.perf_counter(), time.process_time()
    HotspotModel().fit(events)
    return {"fit": first, "again": [time.perf_counter() - wall, time.process_time() - cpu],
            "events": int(model.n_events_), "hotspots": len(model.hotspots_)}


def _run(checkout: Path, args: list[str]) -> dict:
    done = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--worker",
                           str(checkout), *args], cwd=checkout, capture_output=True, text=True, check=False,
                          env={**os.environ, "PYTHONPATH": str(checkout)})
    if done.returncode:
        return {"failed": done.stderr.strip().splitlines()[-3:]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, action="append", required=True)
    parser.add_argument("--roles", nargs="+", default=["analyst", "chair"])
    parser.add_argument("--pages", nargs="+", default=list(PAGES), choices=list(PAGES))
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--compare", type=Path, default=None)
    parser.add_argument("--profile", type=Path, default=None)
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--fit", action="store_true")
    parser.add_argument("--worker", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--role", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--page", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        store = args.store[0].resolve()
        out = fit_worker(store) if args.fit else page_worker(
            args.worker, store, args.role, args.page, args.profile, args.timeout)
        print(json.dumps(out))
        return 0
    checkouts = [HERE] + ([args.compare.resolve()] if args.compare else [])
    names = ["this" if c == HERE else c.name for c in checkouts]
    if args.fit:
        cases = [(store, None, None) for store in args.store]
    else:
        cases = [(args.store[0], role, page) for role in args.roles for page in args.pages]
    results: dict = {}
    loads = []
    for _ in range(args.runs):
        for store, role, page in cases:
            for checkout, name in zip(checkouts, names):
                loads.append(os.getloadavg()[0])
                extra = ["--store", str(store)]
                extra += ["--fit"] if args.fit else ["--role", role, "--page", page,
                                                     "--timeout", str(args.timeout)]
                if args.profile:
                    extra += ["--profile", str(args.profile)]
                out = _run(checkout, extra)
                results.setdefault((str(store), role, page, name), []).append(out)
                print(f"{name} {store} {role or ''} {page or 'fit'}: {out}", file=sys.stderr,
                      flush=True)
    print(f"\n{platform.python_version()}, {os.cpu_count()} cores, load average "
          f"{min(loads):.1f}-{max(loads):.1f}; median of {args.runs} fresh process(es), "
          "wall s / CPU s:\n")
    what = "fit" if args.fit else "page"
    head = "| store | fit |" if args.fit else "| role | page |"
    print(head + "".join(f" {n} wall / CPU s |" for n in names)
          + ("" if args.fit else " hotspots / errors |")
          + "\n|---|---|" + "---:|" * len(names) + ("" if args.fit else "---|"))

    def cell(outs, what=what):
        ok = [o for o in outs if "failed" not in o and what in o]
        if not ok:
            return "failed: " + "; ".join(outs[0].get("failed", ["-"]))[:120]
        return (f"{statistics.median(o[what][0] for o in ok):.2f} / "
                f"{statistics.median(o[what][1] for o in ok):.2f}")

    for store, role, page in cases:
        outs = [results[(str(store), role, page, n)] for n in names]
        line = (f"| {Path(store).name} | HotspotModel().fit |" if args.fit
                else f"| {role} | {page} |") + "".join(f" {cell(o)} |" for o in outs)
        if args.fit:
            first = outs[0][0]
            line += f" ({first.get('events')} events, {first.get('hotspots')} hotspots)"
            line += ("\n| " + Path(store).name + " | the same fit again (grids built) |"
                     + "".join(f" {cell(o, 'again')} |" for o in outs))
        else:
            line += " " + "; ".join(str(o[0].get("errors", o[0].get("failed"))) for o in outs)\
                + " |"
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
