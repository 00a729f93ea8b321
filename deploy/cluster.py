"""Several dashboard processes behind HAProxy, with sticky sessions: one command.

    make cluster WORKERS=3 STORE=postgresql://wy@localhost:5432/wy [PORT=8501]
    .venv/bin/python deploy/cluster.py --workers 3 --port 8501 [--store URL]
        [--first-worker-port 8502] [--address 127.0.0.1] [--print-config] [-- STREAMLIT OPTIONS]

Starts ``--workers`` dashboard processes with the warm launcher (``python -m ui.serve``, as
``make run`` does) on consecutive loopback ports from ``--first-worker-port`` (default: the
port after ``--port``), waits until each answers ``/_stcore/health``, then runs HAProxy (Debian's
``haproxy`` package: ``apt-get install haproxy``) in the foreground on ``--address:--port``, with
the configuration generated from ``deploy/haproxy.cfg.in`` into a temporary folder. Ctrl-C (or
SIGTERM) stops HAProxy and every worker and removes the folder; if any of them exits on its own,
the others are stopped too and the exit status is 1.

Why sticky: a Streamlit session lives in the memory of the process holding its WebSocket; the
cookie ``WYSRV`` that HAProxy sets on the first response sends the page's WebSocket and its
other requests (uploads, media, components) to that process. What several processes share is
the store: use the PostGIS store (``STORE_URL=postgresql://...``), which every worker reads and
writes with transactions. The page caches (``st.cache_data``) are per process and keyed by
``storage.base.store_fingerprint``, read from the database's ``batches`` table on every page
run, so a write made through any worker (or an ingest from the command line) is seen by the
next page run on every worker. The workers share one cookie secret (generated per start unless
``STREAMLIT_SERVER_COOKIE_SECRET`` is set), so a session that moves to another worker after a
worker failure keeps a valid XSRF cookie (its widgets and session state start afresh).

Not a package module (``deploy/`` sits outside the application's layers); standard library
only, so it runs before the virtual environment is complete.
"""
from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from string import Template

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = Path(__file__).resolve().parent / "haproxy.cfg.in"
HEALTH_TIMEOUT_S = 120
STOP_TIMEOUT_S = 15


def haproxy_binary() -> str | None:
    """HAProxy's path (``PATH``, then Debian's ``/usr/sbin``), or None."""
    return shutil.which("haproxy") or next(
        (p for p in ("/usr/sbin/haproxy", "/usr/local/sbin/haproxy") if os.access(p, os.X_OK)),
        None)


def worker_ports(port: int, workers: int, first: int | None = None) -> list[int]:
    start = first if first is not None else port + 1
    return list(range(start, start + workers))


def render_config(address: str, port: int, ports: list[int]) -> str:
    """The HAProxy configuration for workers on ``ports`` (``w1``, ``w2``, ... in order)."""
    servers = "\n".join(f"    server w{i} 127.0.0.1:{p} check cookie w{i}"
                        for i, p in enumerate(ports, start=1))
    return Template(TEMPLATE.read_text(encoding="utf-8")).substitute(
        address=address, port=port, servers=servers)


def start_worker(port: int, env: dict[str, str], extra: list[str], log) -> subprocess.Popen:
    command = [sys.executable, "-m", "ui.serve", "--server.address", "127.0.0.1",
               "--server.port", str(port), "--server.headless", "true",
               "--browser.gatherUsageStats", "false", *extra]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def wait_healthy(port: int, process: subprocess.Popen, deadline: float) -> None:
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"worker on port {port} exited with status {process.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health",
                                        timeout=2) as response:
                if response.read().strip() == b"ok":
                    return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"worker on port {port} not healthy after {HEALTH_TIMEOUT_S} s")


def stop_all(processes: list[subprocess.Popen]) -> None:
    """SIGTERM each (HAProxy first), then SIGKILL what is still running after the timeout."""
    for process in processes:
        if process.poll() is None:
            process.terminate()
    deadline = time.monotonic() + STOP_TIMEOUT_S
    for process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class _Stop(Exception):
    pass


def _raise_stop(signum, frame):
    raise _Stop(signal.Signals(signum).name)


def run(args: argparse.Namespace, extra: list[str]) -> int:
    ports = worker_ports(args.port, args.workers, args.first_worker_port)
    config = render_config(args.address, args.port, ports)
    if args.print_config:
        print(config)
        return 0
    haproxy = haproxy_binary()
    if haproxy is None:
        print("deploy/cluster.py: haproxy not found (Debian: apt-get install haproxy)",
              file=sys.stderr)
        return 2
    env = dict(os.environ)
    if args.store:
        env["STORE_URL"] = args.store
    # One secret for every worker: XSRF and auth cookies signed by one are valid on the others.
    env.setdefault("STREAMLIT_SERVER_COOKIE_SECRET", secrets.token_urlsafe(32))
    folder = Path(tempfile.mkdtemp(prefix="wy-cluster-"))
    config_path = folder / "haproxy.cfg"
    config_path.write_text(config, encoding="utf-8")
    check = subprocess.run([haproxy, "-c", "-q", "-f", str(config_path)], capture_output=True,
                           text=True, check=False)
    if check.returncode != 0:
        print(f"deploy/cluster.py: invalid HAProxy configuration:\n{check.stderr}",
              file=sys.stderr)
        shutil.rmtree(folder, ignore_errors=True)
        return 2

    signal.signal(signal.SIGTERM, _raise_stop)
    signal.signal(signal.SIGINT, _raise_stop)
    workers: list[subprocess.Popen] = []
    proxy: subprocess.Popen | None = None
    status = 0
    try:
        for i, port in enumerate(ports, start=1):
            if args.worker_logs == "inherit":
                workers.append(start_worker(port, env, extra, None))
            else:
                with open(folder / f"w{i}.log", "wb") as log:  # the worker keeps its own copy
                    workers.append(start_worker(port, env, extra, log))
            print(f"worker w{i}: pid {workers[-1].pid}, http://127.0.0.1:{port}", flush=True)
        deadline = time.monotonic() + HEALTH_TIMEOUT_S
        for port, process in zip(ports, workers):
            wait_healthy(port, process, deadline)
        proxy = subprocess.Popen([haproxy, "-db", "-f", str(config_path)])
        print(f"HAProxy: pid {proxy.pid}, http://{args.address}:{args.port} -> "
              f"{len(workers)} workers (config {config_path}); Ctrl-C stops all", flush=True)
        while True:
            for name, process in [("haproxy", proxy), *((f"w{i}", w) for i, w in
                                                        enumerate(workers, start=1))]:
                if process.poll() is not None:
                    print(f"deploy/cluster.py: {name} exited with status {process.returncode}; "
                          "stopping the others", file=sys.stderr, flush=True)
                    status = 1
                    raise _Stop(name)
            time.sleep(0.5)
    except _Stop:
        pass
    except (RuntimeError, TimeoutError) as exc:
        print(f"deploy/cluster.py: {exc}", file=sys.stderr)
        for i in range(1, len(workers) + 1):
            log_path = folder / f"w{i}.log"
            if log_path.exists():
                print(f"--- w{i}.log (end) ---\n"
                      f"{log_path.read_text(errors='replace')[-2000:]}", file=sys.stderr)
        status = 1
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):  # a second Ctrl-C must not cut the clean-up
            signal.signal(signum, signal.SIG_IGN)
        stop_all(([proxy] if proxy else []) + workers)
        shutil.rmtree(folder, ignore_errors=True)
        print("deploy/cluster.py: stopped", flush=True)
    return status


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    extra: list[str] = []
    if "--" in argv:
        at = argv.index("--")
        argv, extra = argv[:at], argv[at + 1:]
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=2, help="dashboard processes (default 2)")
    parser.add_argument("--port", type=int, default=8501, help="HAProxy's port (default 8501)")
    parser.add_argument("--address", default="127.0.0.1",
                        help="HAProxy's address (default 127.0.0.1: put TLS in front)")
    parser.add_argument("--first-worker-port", type=int, default=None,
                        help="port of the first worker (default: --port + 1)")
    parser.add_argument("--store", default=None, help="store URL (default: $STORE_URL)")
    parser.add_argument("--worker-logs", choices=("inherit", "files"), default="inherit",
                        help="workers' output to this terminal (default) or to files in the "
                             "temporary folder (shown if a worker fails to start)")
    parser.add_argument("--print-config", action="store_true",
                        help="print the HAProxy configuration and exit")
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    return run(args, extra)


if __name__ == "__main__":
    sys.exit(main())
