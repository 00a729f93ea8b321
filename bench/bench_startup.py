"""Benchmark: from server start to the Explore map drawn in a real browser (issue 14, item 2).

    .venv/bin/python bench/bench_startup.py --store store [--runs 3]
        [--command serve|make|streamlit] [--repo DIR] [--compare DIR] [--trace]
        [--file-watcher none|auto]

Each run starts a fresh server the way ``make run`` does (``--command serve``: ``python -m
ui.serve``, the warm launcher; ``--command streamlit``: ``python -m streamlit run dashboard.py``,
as ``make run`` did before it; ``--command make``: ``make run`` itself, its checks of the
venv, store, map assets and kept grids included, which is what someone typing it waits for;
the checkout needs its ``.venv``, e.g. a link to this one's), then opens ``/explore`` in Debian's Chromium (launched once,
before the clock starts, as a browser is already open when someone visits) and waits until the
map's district outlines and area layer are drawn inside the map's frame. Times are from the
server's start: when its health check first answers, when the first visitor's map is drawn,
and a second visitor's map (a new browser context) right after. ``--repo`` runs another
checkout (a copy of the code before a change) with this checkout's interpreter.

``--in-process N`` measures the server's part only, without a browser, N times in fresh
processes: the warm-up's first stage (``ui.serve.warm_first_stage``, what the router's first
run waits for) and then the first run of ``/explore`` as the demo analyst through Streamlit's
AppTest (the session's first run, the router's and the page's, as a visitor's link opens it:
the map built and made ready to send), wall clock and the process's CPU time (less inflated
by other work on a shared machine).

Servers start with the options ``make run`` gives (Streamlit's file watcher left to the
launcher: ``ui.serve`` turns it off unless told otherwise; a checkout from before 2026-12-04
watches with watchdog); ``--file-watcher none`` passes ``--server.fileWatcherType none`` to
both, as every round before 2026-12-04 did.

``--compare DIR`` measures two checkouts in one run, alternating them run by run (``--repo``,
then ``DIR``, then ``--repo``...), so both see the same load on a shared machine. Each run also
reports the server process's CPU time (``/proc``) from its start to the first map drawn: the
server's share of the critical path, less inflated by other work than wall clock. ``--trace``
adds when the first visitor's page was parsed (DOMContentLoaded), the map's WebSocket message
arrived, the map's frame was requested and appeared, and, from the server's ``Warm trace:``
lines (``ui.serve.TRACE_ENV``; a checkout without them shows none), when the warm-up's first
stage was done, when it had compiled what the first run would (``first run readied``,
``ui.first_run_ready``; a checkout from before 2026-12-04 19:30 UTC has no such mark), and the
first page run started and ended, and the time from the map's message
to the map drawn (the browser's part after the run).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path(os.environ.get("E2E_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
MAP_IFRAME = 'iframe[title="streamlit_folium.st_folium"]'
#: A WebSocket message this large is the map's (the demo store's default map: ~0.5 MB; the
#: page's other messages are under 50 kB).
MAP_MESSAGE_BYTES = 200_000
TIMEOUT_S = 120


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(command: str, repo: Path, store: Path, port: int, log,
                 trace: bool = False, file_watcher: str | None = None) -> subprocess.Popen:
    options = ["--server.headless", "true", "--server.address", "127.0.0.1",
               "--server.port", str(port), "--browser.gatherUsageStats", "false"]
    if file_watcher:   # else the launcher's own choice, as with `make run`
        options += ["--server.fileWatcherType", file_watcher]
    scratch = Path(tempfile.mkdtemp(prefix="bench-startup-"))
    env = {**os.environ, "STORE_URL": str(store), "USERS_FILE": str(scratch / "no-users.json"),
           "ROLES_FILE": str(scratch / "no-roles.yaml"), "PYTHONPATH": str(repo)}
    if trace:
        env["WARM_START_TRACE"] = "1"
    if command == "make":   # its own session, so stopping it stops the server it started
        rest = [o for o in options if o not in ("--server.port", str(port))]
        return subprocess.Popen(["make", "--no-print-directory", "run", f"STORE={store}",
                                 f"PORT={port}", f"ARGS={' '.join(rest)}"], cwd=repo, env=env,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    launcher = (["-m", "ui.serve"] if command == "serve"
                else ["-m", "streamlit", "run", "dashboard.py"])
    return subprocess.Popen([sys.executable, *launcher, *options], cwd=repo, env=env,
                            stdout=log, stderr=subprocess.STDOUT)


def wait_healthy(url: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with status {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as response:
                if b"ok" in response.read():
                    return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError("server never became healthy")


def map_drawn(browser, url: str, marks: dict | None = None) -> None:
    """Open /explore in a new context and wait until the map's areas are drawn; ``marks``
    gets the ``time.perf_counter()`` of the page parsed and of the map frame visible."""
    marks = {} if marks is None else marks
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()

        def on_frame(payload) -> None:
            if len(payload) > MAP_MESSAGE_BYTES:
                marks.setdefault("map message", time.perf_counter())

        def on_request(request) -> None:
            if "/component/" in request.url:
                marks.setdefault("map frame requested", time.perf_counter())

        page.on("websocket", lambda socket: socket.on("framereceived", on_frame))
        page.on("request", on_request)
        page.goto(f"{url}/explore", wait_until="domcontentloaded")
        marks["page parsed"] = time.perf_counter()
        iframe = page.locator(MAP_IFRAME)
        iframe.wait_for(state="visible", timeout=TIMEOUT_S * 1000)
        marks["map frame"] = time.perf_counter()
        frame = iframe.element_handle().content_frame()
        frame.locator("path.wy-district").first.wait_for(state="attached",
                                                         timeout=TIMEOUT_S * 1000)
        frame.locator("path.leaflet-interactive").first.wait_for(state="attached",
                                                                 timeout=TIMEOUT_S * 1000)
    finally:
        context.close()


TRACED = ("first stage done", "first run readied", "first run starts", "run 1 ends", "run 2 ends", "second stage starts", "second stage done")


def one_run(browser, command: str, repo: Path, store: Path,
            trace: bool = False, file_watcher: str | None = None) -> dict[str, float]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.NamedTemporaryFile("wb", suffix=".log", delete=False) as log:
        started, started_unix = time.perf_counter(), time.time()
        process = start_server(command, repo, store, port, log, trace, file_watcher)
    try:
        wait_healthy(url, process)
        healthy = time.perf_counter() - started
        marks: dict[str, float] = {}
        map_drawn(browser, url, marks)
        first = time.perf_counter() - started
        server_cpu = (process_cpu(process.pid) if command != "make"
                      else _descendants_cpu(process.pid))
        map_drawn(browser, url)
        second = time.perf_counter() - started - first
        result = {"healthy": healthy, "first map": first, "second visitor": second}
        if server_cpu is not None:
            result["server CPU to first map"] = server_cpu
        if trace:
            result |= {what: at - started for what, at in marks.items()}
            result |= _server_marks(Path(log.name), started_unix)
            # The browser's part after the run: the map's message to the map drawn (the
            # component mounted, its frame loaded, Leaflet and the map's script run).
            if "map message" in marks:
                result["map message to drawn"] = first - (marks["map message"] - started)
        return result
    except Exception:
        print(Path(log.name).read_text(errors="replace")[-3000:], file=sys.stderr)
        raise
    finally:
        if command == "make":
            os.killpg(process.pid, signal.SIGTERM)
        else:
            process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def process_cpu(pid: int) -> float | None:
    """CPU seconds (user and system) process ``pid`` has used so far (Linux ``/proc``)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _descendants_cpu(pid: int) -> float | None:
    """CPU seconds of ``pid``'s live descendants (``make run``'s server), from ``/proc``."""
    total, stack = 0.0, [pid]
    while stack:
        parent = stack.pop()
        try:
            tasks = Path(f"/proc/{parent}/task").iterdir()
            children = [int(c) for t in tasks for c in (t / "children").read_text().split()]
        except OSError:
            continue
        for child in children:
            total += process_cpu(child) or 0.0
            stack.append(child)
    return total or None


def _server_marks(log: Path, started_unix: float) -> dict[str, float]:
    """Seconds from the server's start of its ``Warm trace:`` lines (ui/serve.py)."""
    marks = {}
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith("Warm trace: "):
            what, _, at = line[len("Warm trace: "):].rpartition(" ")
            if what in TRACED:
                marks[what] = float(at) - started_unix
    return marks


IN_PROCESS = """
import json, logging, os, sys, time
logging.disable(logging.WARNING)
from ui import serve
serve.no_legacy_pages_mode()
# As the server does before it listens: without it AppTest's first run pays Streamlit's slow
# component scan (0.3-0.5 s), which no visitor's run does.
getattr(serve, "quick_component_scan", lambda: None)()
wall, cpu = time.perf_counter(), time.process_time()
# What the warm-up thread runs (a checkout from before first_stage_collected: the bare stage).
stages = getattr(serve, "first_stage_collected", serve.warm_first_stage)()
out = {"first stage": [time.perf_counter() - wall, time.process_time() - cpu]}
# What the warm-up does next while the browser loads the page (a checkout from before
# ui.first_run_ready: nothing); the first run does not wait for it.
try:
    from ui.first_run_ready import ready_first_run
except ImportError:
    ready_first_run = dict
wall, cpu = time.perf_counter(), time.process_time()
ready_first_run()
out["first run readied"] = [time.perf_counter() - wall, time.process_time() - cpu]
from streamlit.testing.v1 import AppTest
at = AppTest.from_file("dashboard.py", default_timeout=300)
at.secrets["test"] = "bench"
at.session_state["auth_demo_role"] = "analyst"
# The visitor's link opens /explore: the session's first run is the router's and Explore's
# (rounds before 2026-12-04 ran the Overview first, whose figures Explore then found cached).
at.switch_page("pages/explore.py")
wall, cpu = time.perf_counter(), time.process_time()
at.run()
assert not at.exception, [e.value for e in at.exception]
assert at.main.get("component_instance"), "no map"
out["first Explore run"] = [time.perf_counter() - wall, time.process_time() - cpu]
# The next pages' first runs before the warm-up's second stage (the worst case for an import
# left out of the first stage), and which of the heavy packages each step had loaded.
heavy = ("altair", "pandera", "scipy", "sklearn", "reportlab", "matplotlib")
loaded = {"first stage + Explore": [m for m in heavy if m in sys.modules]}
for page in ("hotspots", "trends"):
    wall, cpu = time.perf_counter(), time.process_time()
    at.switch_page(f"pages/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    out[f"then first {page.title()} run"] = [time.perf_counter() - wall,
                                             time.process_time() - cpu]
    loaded[page] = [m for m in heavy if m in sys.modules]
print("loaded:", loaded, file=sys.stderr)
print(json.dumps(out))
"""


def in_process(repos: list[Path], store: Path, runs: int) -> None:
    """``--in-process``: the first stage and the first Explore run in fresh processes."""
    results = {repo: [] for repo in repos}
    loads = []
    for _ in range(runs):
        for repo in repos:
            loads.append(os.getloadavg()[0])
            scratch = Path(tempfile.mkdtemp(prefix="bench-startup-"))
            env = {**os.environ, "STORE_URL": str(store), "PYTHONPATH": str(repo),
                   "USERS_FILE": str(scratch / "no-users.json"),
                   "ROLES_FILE": str(scratch / "no-roles.yaml")}
            done = subprocess.run([sys.executable, "-c", IN_PROCESS], cwd=repo, env=env,
                                  capture_output=True, text=True, check=True)
            results[repo].append(json.loads(done.stdout.strip().splitlines()[-1]))
            print(f"{repo.name}: {results[repo][-1]}", file=sys.stderr, flush=True)
            print(f"{repo.name}: {done.stderr.strip().splitlines()[-1]}", file=sys.stderr,
                  flush=True)
    print(f"\nServer side on {store} ({platform.python_version()}, {os.cpu_count()} cores, load "
          f"average {min(loads):.1f}-{max(loads):.1f}); medians of {runs} fresh processes:\n")
    print("| step | " + " | ".join(f"{r.name} wall s | {r.name} CPU s" for r in repos)
          + " |\n|---|" + "---:|" * (2 * len(repos)))
    for what in results[repos[0]][0]:
        cells = []
        for repo in repos:
            cells += [f"{statistics.median(r[what][i] for r in results[repo]):.2f}"
                      for i in (0, 1)]
        print(f"| {what} | " + " | ".join(cells) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", type=Path, default=ROOT / "store")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--command", choices=("serve", "make", "streamlit"), default="serve")
    parser.add_argument("--repo", type=Path, default=ROOT)
    parser.add_argument("--compare", type=Path, default=None,
                        help="a second checkout, measured in turn with --repo")
    parser.add_argument("--trace", action="store_true")
    parser.add_argument("--in-process", type=int, default=0, metavar="N")
    parser.add_argument("--file-watcher", choices=("none", "auto"), default=None,
                        help="pass --server.fileWatcherType (rounds before 2026-12-04 passed "
                             "none); default: none passed, as `make run`")
    args = parser.parse_args()
    repos = [args.repo.resolve()] + ([args.compare.resolve()] if args.compare else [])
    if args.in_process:
        in_process(repos, args.store.resolve(), args.in_process)
        return
    from playwright.sync_api import sync_playwright

    runs: dict[Path, list] = {repo: [] for repo in repos}
    loads = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                             args=CHROMIUM_ARGS)
        for i in range(args.runs):
            for repo in repos:
                loads.append(os.getloadavg()[0])
                result = one_run(browser, args.command, repo, args.store.resolve(), args.trace,
                                 args.file_watcher)
                runs[repo].append(result)
                print(f"run {i + 1} {repo.name}: "
                      + ", ".join(f"{k} {v:.2f} s" for k, v in result.items()), flush=True)
        browser.close()
    print(f"\n{args.command} on {args.store} ({platform.python_version()}, {os.cpu_count()} "
          f"cores, load average {min(loads):.1f}-{max(loads):.1f} at the runs' starts); medians "
          f"of {args.runs} runs:")
    for repo, results in runs.items():
        print(f"  {repo}:")
        names = dict.fromkeys(name for result in results for name in result)
        for name in names:
            values = [r[name] for r in results if name in r]
            print(f"    {name}: {statistics.median(values):.2f} s")


if __name__ == "__main__":
    main()
