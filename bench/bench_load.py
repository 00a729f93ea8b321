"""Load benchmark: N concurrent sessions walking each role's pages, without a browser (issue 14,
item 5).

    .venv/bin/python bench/bench_load.py --store STORE [--mode single proxy] [--workers 2]
        [--sessions 1 5 10 20] [--walks 2] [--roles analyst chair executive admin]
        [--pages overview explore ...] [--think SECONDS] [--json out.json]
    .venv/bin/python bench/bench_load.py --url http://host:port [--pids PID ...]  # running server
    .venv/bin/python bench/bench_load.py --store STORE --floor 10 [--before REV]  # CPU per run

Each session speaks Streamlit's own protocol, as the browser does, but draws nothing: it loads
``/`` over HTTP (which gives it the proxy's sticky cookie), opens the WebSocket
``/_stcore/stream`` with that cookie, and for each page sends a ``rerun_script`` ``BackMsg``
(the page's URL path as ``page_name``, the demo role picker's value as a widget state) and reads
``ForwardMsg``s until ``script_finished`` (past ``FINISHED_EARLY_FOR_RERUN``). A page's time is
from sending the rerun to its ``script_finished``: the server's time for the page, queueing
included. Errors: an exception element, an "Access denied" alert, a compile error, a page not
found, a timeout or a lost connection. Component iframes (the maps) are not loaded, so this
measures the server, not the browser.

Session ``i`` takes role ``--roles[i % len]``; it picks the role in the sidebar (demo mode: a
synthetic store with no sign-in configured), then walks that role's pages (``ui.registry``)
``--walks`` times, back to back unless ``--think`` makes it wait before each page (with none,
the heaviest load N sessions can make). Before the levels, one session per role and worker
walks every page once, unmeasured, so the caches are warm. Each level (``--sessions``) starts
its sessions together and reports per page p50/p95 and errors, the runs per second, the server
processes' CPU seconds (``/proc/PID/stat``, summed over the workers and HAProxy) and resident
memory (VmRSS).

``--floor RERUNS`` measures instead the CPU of one page run, per page and role, a visit and an
unchanged rerun, with ``--before REV`` on the code at a git revision too (``bench/load_floor.py``).

``--mode single`` starts ``python -m ui.serve`` (one process); ``--mode proxy`` starts
``deploy/cluster.py`` (``--workers`` processes behind HAProxy, sticky cookie). The client runs in
this process, one thread per session, on the same machine: its CPU is printed too.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# -- the protocol client: bench/load_session.py --------------------------------------------------
from bench.load_session import ROLES, RUN_TIMEOUT_S, StreamlitSession, choose_role  # noqa: E402
from ui.registry import DEFAULT_PAGE, ROLE_PAGES  # noqa: E402


# -- one session, one level ----------------------------------------------------------------------
def walk(base_url: str, role: str, walks: int, pages: list[str] | None, results: list,
         start: threading.Barrier | None = None, duration: float | None = None,
         think: float = 0.0, seed: int = 0) -> None:
    """One session: connect, pick ``role``, then run its pages ``walks`` times, and walk on
    until ``duration`` seconds have passed since the role was picked, if given; ``think``
    seconds on average before each page run (a reader looking at the page: drawn uniformly
    from half to one and a half times ``think``, seeded by ``seed``, so sessions do not fire in
    step). Appends ``(role, kind, Run)`` per run, or ``(role, "failed", error text)``."""
    own = [p for p in ROLE_PAGES[role] if pages is None or p in pages]
    pause = random.Random(seed)
    try:
        if start is not None:
            start.wait()
        with StreamlitSession(base_url) as session:
            results.append((role, "worker", session.ws_worker))
            if session.http_worker != session.ws_worker:  # behind the proxy: must be one worker
                raise RuntimeError(f"page from {session.http_worker}, WebSocket to "
                                   f"{session.ws_worker}")
            first = session.run(DEFAULT_PAGE)
            results.append((role, "connect", first))
            switched = choose_role(session, first, role)
            if switched is not None:
                results.append((role, "connect", switched))
            stop_at = None if duration is None else time.perf_counter() + duration
            done = 0
            while done < walks or (stop_at is not None and time.perf_counter() < stop_at):
                for page in own:
                    if think:
                        time.sleep(think * pause.uniform(0.5, 1.5))
                    results.append((role, "page", session.run(page)))
                done += 1
    except Exception as exc:  # noqa: BLE001 - a session's failure is a measured error
        results.append((role, "failed", f"{type(exc).__name__}: {exc}"))


def level(base_url: str, n: int, roles: list[str], walks: int, pages: list[str] | None,
          pids: list[int], duration: float | None = None, think: float = 0.0,
          db_pid: int | None = None) -> dict:
    """``n`` sessions at once; their runs, errors, and the server's CPU and RSS (and the
    database server's CPU, ``db_pid`` being its postmaster)."""
    results: list = []
    barrier = threading.Barrier(n + 1)
    cpu_before = {pid: cpu_s(pid) for pid in pids}
    db_before = tree_cpu_s(db_pid) if db_pid else 0.0
    client_before = time.process_time()
    threads = []
    for i in range(n):
        thread = threading.Thread(target=walk, daemon=True, args=(
            base_url, roles[i % len(roles)], walks, pages, results, barrier, duration, think, i))
        threads.append(thread)
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join(RUN_TIMEOUT_S * 20)
    wall = time.perf_counter() - started
    result = summarise(n, results, wall, {pid: cpu_s(pid) - cpu_before.get(pid, 0.0)
                                          for pid in pids if _alive(pid)},
                       {pid: rss_mb(pid) for pid in pids if _alive(pid)},
                       time.process_time() - client_before)
    result["db_cpu_s"] = tree_cpu_s(db_pid) - db_before if db_pid else None
    result["role_workers"] = {(role, str(item)) for role, what, item in results
                              if what == "worker"}
    return result


def summarise(n: int, results: list, wall: float, cpu: dict, rss: dict, client_cpu: float) -> dict:
    per_page: dict[str, list[float]] = {}
    errors: dict[str, list[str]] = {}
    runs = 0
    workers: dict[str, int] = {}
    for role, what, item in results:
        if what == "worker":
            workers[str(item)] = workers.get(str(item), 0) + 1
            continue
        if what == "failed":
            errors.setdefault("(session)", []).append(f"{role}: {item}")
            continue
        runs += 1
        if item.errors:
            errors.setdefault(item.page, []).extend(f"{role}: {e}" for e in item.errors)
        if what == "page":
            per_page.setdefault(item.page, []).append(item.seconds)
    pages = {}
    for page, times in per_page.items():
        pages[page] = {"runs": len(times), "p50": percentile(times, 50),
                       "p95": percentile(times, 95), "max": max(times),
                       "errors": len(errors.get(page, []))}
    every = [t for times in per_page.values() for t in times]
    return {"sessions": n, "wall_s": wall, "runs": runs, "runs_per_s": runs / wall if wall else 0,
            "pages": pages,
            "all": {"runs": len(every), "p50": percentile(every, 50), "p95": percentile(every, 95),
                    "max": max(every) if every else float("nan")},
            "errors": sum(len(v) for v in errors.values()), "error_samples":
                {k: v[:3] for k, v in errors.items()},
            "sessions_per_worker": workers,
            "server_cpu_s": sum(cpu.values()), "server_cpu_per_process": cpu,
            "server_rss_mb": sum(rss.values()), "server_rss_per_process": rss,
            "client_cpu_s": client_cpu}


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (p95 of 20 runs is the 19th)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))
    return ordered[int(rank) - 1]


# -- the server's processes: bench/load_server.py ------------------------------------------------
from bench.load_server import (
    _alive,
    cpu_s,
    descendants,
    free_ports,
    rss_mb,
    server_env,
    start_proxy,
    start_single,
    stop,
    tree_cpu_s,
    wait_healthy,
)

__all__ = ["StreamlitSession", "cpu_s", "descendants", "free_ports", "level", "main", "rss_mb",
           "server_env", "start_proxy", "start_single", "stop", "tree_cpu_s", "wait_healthy"]


# -- output --------------------------------------------------------------------------------------
def print_level(label: str, result: dict, page_order: list[str]) -> None:
    print(f"\n{label}: {result['sessions']} sessions, {result['runs']} runs in "
          f"{result['wall_s']:.1f} s ({result['runs_per_s']:.2f} runs/s), errors "
          f"{result['errors']}; server CPU {result['server_cpu_s']:.1f} s "
          f"({result['server_cpu_s'] / result['wall_s']:.2f} cores), RSS "
          f"{result['server_rss_mb']:.0f} MB ("
          + ", ".join(f"{v:.0f}" for v in result["server_rss_per_process"].values())
          + f"); client CPU {result['client_cpu_s']:.1f} s"
          + (f"; database CPU {result['db_cpu_s']:.1f} s" if result.get("db_cpu_s") is not None
             else "")
          + (f"; sessions per worker {result['sessions_per_worker']}"
             if any(k != "None" for k in result["sessions_per_worker"]) else ""), flush=True)
    print(f"  {'page':<16}{'runs':>6}{'p50 s':>8}{'p95 s':>8}{'max s':>8}{'errors':>8}")
    for page in [*page_order, "all"]:
        row = result["all"] if page == "all" else result["pages"].get(page)
        if row is None:
            continue
        print(f"  {page:<16}{row['runs']:>6}{row['p50']:>8.2f}{row['p95']:>8.2f}"
              f"{row['max']:>8.2f}{row.get('errors', result['errors']):>8}")
    for page, samples in result["error_samples"].items():
        print(f"  errors on {page}: {samples}")


def bench(url: str, pids: list[int], sessions: list[int], roles: list[str], walks: int,
          pages: list[str] | None, warm_sessions: int, label: str,
          think: float = 0.0, db_pid: int | None = None) -> list[dict]:
    order = [p for p in dict.fromkeys(k for r in roles for k in ROLE_PAGES[r])
             if pages is None or p in pages]
    # Every role warms every worker: which worker a session lands on is the proxy's choice
    # (with 4 roles and 2 workers taking turns, a role's sessions all landed on one worker, and
    # the other's first Hotspots fit, 10-15 s, fell in the measured level). Warm-up rounds,
    # the roles rotated, until each (role, worker) pair has walked its pages, at most 6.
    workers = max(1, warm_sessions // len(roles))
    covered: set = set()
    for turn in range(6):
        rotated = roles[turn % len(roles):] + roles[:turn % len(roles)]
        warm = level(url, warm_sessions, rotated, 1, pages, pids)
        covered |= warm["role_workers"]
        print(f"{label}: warm-up {turn + 1} ({warm_sessions} sessions, one walk each): "
              f"{warm['runs']} runs, {warm['errors']} errors, {warm['wall_s']:.1f} s", flush=True)
        if warm["errors"]:
            print(f"  warm-up errors: {warm['error_samples']}", flush=True)
        seen = {w for _, w in covered}
        if len(seen) >= workers and all((r, w) in covered for r in roles for w in seen):
            break
    out = []
    for n in sessions:
        result = level(url, n, roles, walks, pages, pids, think=think, db_pid=db_pid)
        result["label"] = label
        print_level(label, result, order)
        out.append(result)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", default=str(ROOT / "store"),
                        help="store folder or postgresql:// URL (must be synthetic: demo mode)")
    parser.add_argument("--url", help="bench a running server instead of starting one")
    parser.add_argument("--pids", type=int, nargs="*", default=[],
                        help="with --url: the server's processes, for CPU and RSS")
    parser.add_argument("--mode", nargs="+", choices=("single", "proxy"),
                        default=["single", "proxy"])
    parser.add_argument("--workers", type=int, default=2, help="workers behind the proxy")
    parser.add_argument("--sessions", type=int, nargs="+", default=[1, 5, 10, 20])
    parser.add_argument("--walks", type=int, default=2, help="walks of its pages per session")
    parser.add_argument("--roles", nargs="+", choices=ROLES, default=list(ROLES))
    parser.add_argument("--pages", nargs="+", default=None, help="only these pages (keys)")
    parser.add_argument("--think", type=float, default=0.0,
                        help="seconds each session waits on average before each page "
                             "(default 0: back to back, the heaviest load N sessions can make)")
    parser.add_argument("--db-pid", type=int, default=None,
                        help="the PostgreSQL postmaster's pid: report the database's CPU too")
    parser.add_argument("--json", type=Path, help="write every figure to this file")
    parser.add_argument("--root", type=Path, default=ROOT,
                        help="serve the code in this folder (e.g. an exported revision, "
                             "bench/load_floor.export_revision) with this client")
    parser.add_argument("--floor", type=int, metavar="RERUNS",
                        help="instead of the levels: CPU per page visit and per unchanged "
                             "rerun, per role, one session alone (bench/load_floor.py)")
    parser.add_argument("--before", metavar="REV",
                        help="with --floor: measure the code at this git revision first")
    args = parser.parse_args(argv)
    if args.floor:
        from bench.load_floor import floor

        print(f"Python {platform.python_version()}, {os.cpu_count()} cores, load "
              f"{os.getloadavg()[0]:.1f}; store {args.store}", flush=True)
        figures = floor(args.store, args.roles, args.pages, args.floor, args.walks, args.before)
        if args.json:
            args.json.write_text(json.dumps(figures, indent=1, default=str), encoding="utf-8")
        print(f"(load average at the end {os.getloadavg()[0]:.1f})")
        return 0

    results = []
    print(f"Python {platform.python_version()}, {os.cpu_count()} cores, load "
          f"{os.getloadavg()[0]:.1f}; store {args.store}; think {args.think} s", flush=True)
    if args.url:
        results += bench(args.url, args.pids, args.sessions, args.roles, args.walks, args.pages,
                         len(args.roles), "server", args.think, args.db_pid)
    else:
        for mode in args.mode:
            scratch = Path(tempfile.mkdtemp(prefix=f"bench-load-{mode}-"))
            workers = 1 if mode == "single" else args.workers
            port = free_ports(workers + 1)
            env = server_env(args.store, scratch, args.root)
            with open(scratch / "server.log", "wb") as log:  # the server keeps its own copy
                process = (start_single(port, env, log, args.root) if mode == "single"
                           else start_proxy(port, workers, env, log, args.root))
            url = f"http://127.0.0.1:{port}"
            try:
                wait_healthy(url, process)
                if mode == "proxy":  # HAProxy up: wait until its health checks see every worker
                    time.sleep(2.5)
                pids = descendants(process.pid)
                if mode == "proxy":
                    pids.remove(process.pid)  # the launcher itself only sleeps
                label = "single process" if mode == "single" else f"proxy, {workers} workers"
                results += bench(url, pids, args.sessions, args.roles, args.walks, args.pages,
                                 len(args.roles) * workers, label, args.think, args.db_pid)
            except Exception:
                print((scratch / "server.log").read_text(errors="replace")[-3000:],
                      file=sys.stderr)
                raise
            finally:
                stop(process)
    print_comparison(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=str), encoding="utf-8")
    print(f"(load average at the end {os.getloadavg()[0]:.1f})")
    return 0


def print_comparison(results: list[dict]) -> None:
    """One line per level and set-up: p50/p95 over every page, errors, CPU and RSS."""
    print(f"\n{'set-up':<20}{'N':>4}{'runs/s':>8}{'p50 s':>8}{'p95 s':>8}{'errors':>8}"
          f"{'CPU s':>8}{'cores':>7}{'CPU/run':>9}{'RSS MB':>8}"
          + (f"{'DB CPU s':>10}" if any(r.get("db_cpu_s") is not None for r in results) else ""))
    for r in results:
        print(f"{r['label']:<20}{r['sessions']:>4}{r['runs_per_s']:>8.2f}{r['all']['p50']:>8.2f}"
              f"{r['all']['p95']:>8.2f}{r['errors']:>8}{r['server_cpu_s']:>8.1f}"
              f"{r['server_cpu_s'] / r['wall_s']:>7.2f}"
              f"{r['server_cpu_s'] / max(1, r['runs']):>9.3f}{r['server_rss_mb']:>8.0f}"
              + (f"{r['db_cpu_s']:>10.1f}" if r.get("db_cpu_s") is not None else ""))


if __name__ == "__main__":
    sys.exit(main())
