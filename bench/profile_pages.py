"""Where a warm page run goes: cProfile inside a running ``python -m ui.serve``, driven by the
load benchmark's protocol client (``bench/bench_load.py``), and what each run sends.

    .venv/bin/python bench/profile_pages.py --store STORE [--roles analyst admin]
        [--pages trends meeting audit_log data_lifecycle] [--reruns 5] [--top 25]

One server (this module run as ``--serve``: ``ui.serve`` with Streamlit's script runs wrapped in
cProfile, one ``.prof`` file per run), one session per role: the role's pages walked once
(warm), then per page a visit and ``--reruns`` unchanged reruns. Printed per page: elements,
messages and bytes the rerun sent (references to the client's cached copies counted apart),
and the rerun profiles' top functions by cumulative time.
"""
from __future__ import annotations

import argparse
import collections
import cProfile
import itertools
import os
import pstats
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def serve_profiled(argv: list[str]) -> None:
    """``python -m ui.serve`` with every script run profiled to ``$PROFILE_DIR``."""
    from streamlit.runtime.scriptrunner import script_runner

    out = Path(os.environ["PROFILE_DIR"])
    counter = itertools.count()
    lock = threading.Lock()
    real = script_runner.ScriptRunner._run_script

    def profiled(self, rerun_data):
        profile = cProfile.Profile()
        profile.enable()
        try:
            return real(self, rerun_data)
        finally:
            profile.disable()
            with lock:
                n = next(counter)
            name = (rerun_data.page_name or "overview").replace("/", "_")
            profile.dump_stats(out / f"{n:05d}-{name}.prof")

    script_runner.ScriptRunner._run_script = profiled
    from ui.serve import main

    main(argv)


def drive(store: str, roles: list[str], pages: list[str] | None, reruns: int, top: int) -> None:
    from bench.load_server import free_ports, server_env, stop, wait_healthy
    from bench.load_session import StreamlitSession, choose_role
    from ui.registry import DEFAULT_PAGE, ROLE_PAGES

    scratch = Path(tempfile.mkdtemp(prefix="profile-pages-"))
    profiles = scratch / "profiles"
    profiles.mkdir()
    port = free_ports(1)
    env = {**server_env(store, scratch), "PROFILE_DIR": str(profiles)}
    log = open(scratch / "server.log", "wb")  # noqa: SIM115 - the server's, closed after it
    process = subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), "--serve", "--server.headless", "true",
         "--server.address", "127.0.0.1", "--server.port", str(port),
         "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, process)
        for role in roles:
            own = [p for p in ROLE_PAGES[role] if pages is None or p in pages]
            with StreamlitSession(url) as session:
                first = session.run(DEFAULT_PAGE)
                choose_role(session, first, role)
                for page in ROLE_PAGES[role]:
                    session.run(page)
                for page in own:
                    visit = session.run(page)
                    for old in profiles.glob("*.prof"):
                        old.unlink()
                    runs = [session.run(page) for _ in range(reruns)]
                    report(role, page, visit, runs, sorted(profiles.glob("*.prof")), top)
    finally:
        stop(process)
        log.close()


def report(role: str, page: str, visit, runs: list, files: list[Path], top: int) -> None:
    last = runs[-1]
    kinds = collections.Counter(last.elements)
    print(f"\n== {role} / {page}: visit {visit.seconds:.3f} s, {visit.messages} messages, "
          f"{visit.bytes / 1000:.1f} kB; rerun {sorted(r.seconds for r in runs)[len(runs) // 2]:.3f}"
          f" s (median), {last.messages} messages, {last.bytes / 1000:.1f} kB, "
          f"{last.references} references; elements {sum(kinds.values())}: "
          + ", ".join(f"{k} {n}" for k, n in kinds.most_common()), flush=True)
    if not files:
        return
    stats = pstats.Stats(str(files[0]))
    for more in files[1:]:
        stats.add(str(more))
    stats.sort_stats("cumulative").print_stats(top)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--serve":
        serve_profiled(argv[1:])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", required=True)
    parser.add_argument("--roles", nargs="+", default=["analyst", "admin"])
    parser.add_argument("--pages", nargs="+", default=None)
    parser.add_argument("--reruns", type=int, default=5)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args(argv)
    drive(args.store, args.roles, args.pages, args.reruns, args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
