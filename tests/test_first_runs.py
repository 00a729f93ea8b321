"""Sessions whose first runs start together on a fresh server all run through the router.

Streamlit decides on a process's first session whether the app is a legacy ``pages/`` app;
``ui.serve.no_legacy_pages_mode`` decides it (no) before any session exists. Without it, some of
six sessions opened at once on a fresh process drew their widgets under other ids than on their
next run (in a browser: a lost first click), reproduced 3 times in 3 by the load benchmark.
"""
from __future__ import annotations

import threading

import pytest

from bench.load_server import free_ports, server_env, start_single, stop, wait_healthy
from bench.load_session import StreamlitSession
from tests.sample_store import build_store

pytestmark = pytest.mark.e2e

SESSIONS = 6


def test_simultaneous_first_runs_draw_their_widgets_under_one_id(tmp_path):
    store = build_store(tmp_path / "store", {"nrm": 8, "rosewood": 4}, source="synthetic")
    port = free_ports(1)
    log_path = tmp_path / "server.log"
    with open(log_path, "wb") as log:
        process = start_single(port, server_env(str(store.root), tmp_path), log)
    url = f"http://127.0.0.1:{port}"
    seen, errors, lock = [], [], threading.Lock()
    barrier = threading.Barrier(SESSIONS)

    def session():
        try:
            barrier.wait()
            with StreamlitSession(url) as s:
                first, second = s.run(), s.run()
            with lock:
                seen.append((tuple(first.radios.values()), tuple(second.radios.values())))
        except Exception as exc:  # noqa: BLE001 - reported below
            with lock:
                errors.append(repr(exc))

    try:
        wait_healthy(url, process, timeout=120)
        threads = [threading.Thread(target=session) for _ in range(SESSIONS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
    finally:
        stop(process)
    assert not errors, errors
    assert len(seen) == SESSIONS
    ids = {ids for pair in seen for ids in pair}
    assert len(ids) == 1 and next(iter(ids)), (ids, log_path.read_text(errors="replace")[-2000:])
