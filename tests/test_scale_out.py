"""Two dashboard processes behind HAProxy on one PostGIS store (``deploy/cluster.py``).

The launcher is started as ``make cluster`` starts it, with two workers, on a fresh database of
the throwaway PostgreSQL cluster (tests/pg_fixtures.py) holding a small synthetic sample (demo
mode: no sign-in). Sessions are driven at the protocol level (``bench.bench_load``: HTTP for the
cookies, then Streamlit's WebSocket), which shows which worker answered (HAProxy's
``X-WY-Worker`` header) and the figures a page drew.

Checked: a session's requests and its WebSocket stay on the worker its cookie names; a write
to the shared store (an ingest from another process) shows on the next page run of sessions
on *both* workers, although each had the old figures cached (``st.cache_data`` keyed by
``storage.base.store_fingerprint``, read from the database on every run); Ctrl-C (SIGINT) to
the launcher stops HAProxy and both workers.

Needs Debian's ``haproxy`` and PostgreSQL + PostGIS: skipped with the reason where they are
missing, failed instead with ``CI=true`` (``.ci/run`` installs them).
"""
from __future__ import annotations

import http.cookiejar
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

from bench.load_server import descendants, free_ports
from bench.load_session import WORKER_HEADER, StreamlitSession
from data.ingest import ingest_frame
from deploy.cluster import haproxy_binary
from storage.base import store_fingerprint
from storage.open import open_store
from tests.pg_fixtures import TEMPLATE
from tests.pgcluster import ci
from tests.sample_store import feed_rows

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[1]

ROWS = {"nrm": 20, "rosewood": 10, "mandevilla": 5}
ADDED_NRM = 5
NRM_TILE = "NRM referrals"   # views.overview.FEED_SHORT_TITLES["nrm"], the Overview's tile
START_TIMEOUT_S = 90
START_POLL_S = 0.2


def _unavailable(reason: str) -> None:
    if ci():
        pytest.fail(f"{reason} (CI=true: the scale-out test must run on CI; .ci/run installs "
                    "haproxy)", pytrace=False)
    pytest.skip(reason)


def _get(url: str, jar: http.cookiejar.CookieJar) -> tuple[str | None, bytes]:
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    with opener.open(url, timeout=30) as response:
        return response.headers.get(WORKER_HEADER), response.read()


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as response:
            return response.read().strip() == b"ok"
    except OSError:
        return False


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="module")
def cluster(pg_cluster, tmp_path_factory):
    """``deploy/cluster.py --workers 2`` on a fresh PostGIS store; yields (proxy URL, store URL,
    worker ports). Stopped with SIGINT at the end, which must stop every process."""
    if haproxy_binary() is None:
        _unavailable("haproxy not found: apt-get install haproxy")
    name = f"wy_scale_{uuid.uuid4().hex[:8]}"
    store_url = pg_cluster.create_database(name, template=TEMPLATE)
    store = open_store(store_url)
    for feed, n in ROWS.items():
        ingest_frame(feed_rows(feed, n), feed, name=f"sample-{feed}.csv", store=store,
                     source="synthetic")
    scratch = tmp_path_factory.mktemp("scale_out")
    (scratch / "secrets.toml").write_text("", encoding="utf-8")
    port = free_ports(3)
    env = {**os.environ, "STORE_URL": store_url, "USERS_FILE": str(scratch / "no-users.json"),
           "ROLES_FILE": str(scratch / "no-roles.yaml")}
    log_path = scratch / "cluster.log"
    with open(log_path, "wb") as log:
        launcher = subprocess.Popen(
            [sys.executable, str(ROOT / "deploy" / "cluster.py"), "--workers", "2", "--port",
             str(port), "--worker-logs", "files", "--", "--server.fileWatcherType", "none",
             "--secrets.files", str(scratch / "secrets.toml")],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    proxy, workers = f"http://127.0.0.1:{port}", [port + 1, port + 2]
    processes: list[int] = []
    try:
        polls = int(START_TIMEOUT_S / START_POLL_S)  # a bound on the wait, not a measurement
        while not (_healthy(proxy) and all(_healthy(f"http://127.0.0.1:{p}") for p in workers)):
            polls -= 1
            if launcher.poll() is not None or polls < 0:
                pytest.fail(f"cluster did not start:\n{log_path.read_text(errors='replace')}",
                            pytrace=False)
            time.sleep(START_POLL_S)
        time.sleep(2.5)  # HAProxy's first health checks (every 2 s) mark both workers up
        processes = descendants(launcher.pid)
        yield proxy, store_url, workers
    finally:
        launcher.send_signal(signal.SIGINT)
        try:
            status = launcher.wait(timeout=30)
        except subprocess.TimeoutExpired:
            for pid in reversed(processes or descendants(launcher.pid)):
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            launcher.wait()
            pytest.fail("the launcher did not stop within 30 s of SIGINT")
        from storage.postgis import dispose_engines

        dispose_engines()
        pg_cluster.drop_database(name)
    assert status == 0, log_path.read_text(errors="replace")[-3000:]
    assert not [pid for pid in processes if Path(f"/proc/{pid}").exists()
                and "(Z)" not in Path(f"/proc/{pid}/stat").read_text()[:80]]
    assert not any(_listening(p) for p in [port, *workers])


def _cookie_for_each_worker(proxy: str) -> dict[str, http.cookiejar.CookieJar]:
    """New visitors until each worker has been chosen once: worker name -> that visitor's jar."""
    jars: dict[str, http.cookiejar.CookieJar] = {}
    for _ in range(12):
        jar = http.cookiejar.CookieJar()
        worker, body = _get(proxy + "/", jar)
        assert b"<html" in body.lower()
        assert {c.name: c.value for c in jar}.get("WYSRV") == worker  # the cookie names it
        jars.setdefault(worker, jar)
        if len(jars) == 2:
            return jars
    pytest.fail(f"new visitors reached only {sorted(jars)}")


def test_a_session_sticks_to_its_worker(cluster):
    proxy, _, _ = cluster
    jars = _cookie_for_each_worker(proxy)
    assert sorted(jars) == ["w1", "w2"]
    for worker, jar in jars.items():
        for path in ("/", "/_stcore/health", "/_stcore/host-config", "/"):
            assert _get(proxy + path, jar)[0] == worker, path
        with StreamlitSession(proxy, cookies=jar) as session:
            assert session.http_worker == worker
            assert session.ws_worker == worker  # the WebSocket upgrade went there too
            for _ in range(2):
                run = session.run()
                assert run.errors == [], run.errors
                assert run.metrics[NRM_TILE] == str(ROWS["nrm"])


def test_a_write_is_seen_by_sessions_on_both_workers(cluster):
    proxy, store_url, _ = cluster
    jars = _cookie_for_each_worker(proxy)
    sessions = {worker: StreamlitSession(proxy, cookies=jar) for worker, jar in jars.items()}
    try:
        for worker, session in sessions.items():
            assert session.ws_worker == worker
            for _ in range(2):  # the second run is served from the worker's page cache
                run = session.run()
                assert run.errors == [], run.errors
                assert run.metrics[NRM_TILE] == str(ROWS["nrm"]), worker

        store = open_store(store_url)
        before = store_fingerprint(store)
        more = feed_rows("nrm", ROWS["nrm"] + ADDED_NRM).iloc[ROWS["nrm"]:]
        result = ingest_frame(more, "nrm", name="more-nrm.csv", store=store, source="synthetic")
        assert result is not None
        assert store_fingerprint(store) != before

        for worker, session in sessions.items():  # the same sessions, still open
            run = session.run()
            assert run.errors == [], run.errors
            assert run.metrics[NRM_TILE] == str(ROWS["nrm"] + ADDED_NRM), worker
    finally:
        for session in sessions.values():
            session.close()
