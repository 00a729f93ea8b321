"""Benchmark: identical reruns of Explore and Trends on a real server (issue 14, item 3).

    .venv/bin/python bench/bench_reruns.py --store store [--reruns 10 200] [--pages explore trends]
        [--command serve|streamlit] [--repo DIR]

Starts the dashboard (``python -m ui.serve``, or ``streamlit run dashboard.py`` with ``--command
streamlit``; ``--repo`` runs another checkout, e.g. a copy of the code before a change), opens
each page in Debian's Chromium and reruns it unchanged by pressing "r" (Streamlit's rerun
shortcut), as many times as the largest ``--reruns``. For each rerun it records the time from
the key press to the server's ``script_finished`` message, the server's CPU time meanwhile
(steadier than wall time on a shared machine) and the bytes the server sent over the
WebSocket (ForwardMsgs, parsed with Streamlit's protobufs: an element the browser already holds
comes back as a small reference when its bytes are unchanged). After 10 and 200 reruns (each
value of ``--reruns``) it prints the server's resident memory (VmRSS) and the median time and
bytes per rerun so far. The first visit and the first rerun warm caches and are not counted.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_startup import (  # noqa: E402
    CHROMIUM,
    CHROMIUM_ARGS,
    free_port,
    start_server,
    wait_healthy,
)

TIMEOUT_S = 120


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def cpu_s(pid: int) -> float:
    """CPU seconds the server has used (user + system): less inflated than wall time by other
    work on a shared machine."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Wire:
    """What the server sends one page: bytes and finished runs, counted per frame."""

    def __init__(self, page) -> None:
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        self._parse = ForwardMsg
        self.bytes = 0
        self.finished = 0
        page.on("websocket", lambda ws: ws.on("framereceived", self._frame))

    def _frame(self, payload) -> None:
        data = payload if isinstance(payload, bytes) else payload.encode()
        self.bytes += len(data)
        msg = self._parse()
        try:
            msg.ParseFromString(data)
        except Exception:  # not a ForwardMsg
            return
        if msg.WhichOneof("type") == "script_finished":
            self.finished += 1


def wait_for(page, condition, what: str) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        page.wait_for_timeout(5)


def settle(page, wire: Wire) -> None:
    """Wait until no run has finished for a second (a map's first value may rerun once)."""
    last, since = wire.finished, time.monotonic()
    while time.monotonic() - since < 1.0:
        page.wait_for_timeout(50)
        if wire.finished != last:
            last, since = wire.finished, time.monotonic()


def bench_page(browser, url: str, path: str, pid: int, checkpoints: list[int]) -> list[dict]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    wire = Wire(page)
    page.goto(url + path, wait_until="domcontentloaded")
    wait_for(page, lambda: wire.finished >= 1, "first run")
    settle(page, wire)
    rows, times, sizes, cpu = [], [], [], []
    for rerun in range(max(checkpoints) + 1):
        before_bytes, before_runs, before_cpu = wire.bytes, wire.finished, cpu_s(pid)
        page.locator("body").press("r")
        started = time.perf_counter()
        wait_for(page, lambda: wire.finished > before_runs, f"rerun {rerun}")
        elapsed = time.perf_counter() - started
        page.wait_for_timeout(20)  # the run's last frames
        if rerun == 0:
            continue  # warms the caches
        times.append(elapsed)
        cpu.append(cpu_s(pid) - before_cpu)
        sizes.append(wire.bytes - before_bytes)
        if rerun in checkpoints:
            rows.append({"page": path, "reruns": rerun, "rss_mb": rss_mb(pid),
                         "median_s": statistics.median(times), "last_s": times[-1],
                         "median_cpu_s": statistics.median(cpu),
                         "median_bytes": statistics.median(sizes), "max_bytes": max(sizes)})
            print(f"{path}: after {rerun} reruns: RSS {rows[-1]['rss_mb']:.1f} MB, "
                  f"per rerun median {rows[-1]['median_s']:.3f} s (last {times[-1]:.3f} s; server "
                  f"CPU {rows[-1]['median_cpu_s']:.3f} s), "
                  f"sent median {rows[-1]['median_bytes'] / 1e3:.1f} kB "
                  f"(max {rows[-1]['max_bytes'] / 1e3:.1f} kB)", flush=True)
    context.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", type=Path, default=ROOT / "store")
    parser.add_argument("--reruns", type=int, nargs="+", default=[10, 200])
    parser.add_argument("--pages", nargs="+", default=["explore", "trends"])
    parser.add_argument("--command", choices=("serve", "streamlit"), default="serve")
    parser.add_argument("--repo", type=Path, default=ROOT)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = open(os.devnull, "wb")
    process = start_server(args.command, args.repo.resolve(), args.store.resolve(), port, log)
    try:
        wait_healthy(url, process)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                                 args=CHROMIUM_ARGS)
            print(f"server RSS at start: {rss_mb(process.pid):.1f} MB", flush=True)
            for name in args.pages:
                bench_page(browser, url, f"/{name}", process.pid, sorted(args.reruns))
            browser.close()
    finally:
        process.terminate()
        process.wait(timeout=20)
    print(f"({args.command} in {args.repo}, store {args.store}, Python "
          f"{platform.python_version()}, load {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
