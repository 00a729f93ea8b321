"""The load benchmark's protocol client still speaks to a real server (bench/bench_load.py).

A few seconds on one page, one session: if Streamlit's protocol or the dashboard's demo role
picker changes under the benchmark, this fails rather than the benchmark rotting unnoticed.
"""
from __future__ import annotations

import pytest

from bench.bench_load import (
    free_ports,
    level,
    main,
    server_env,
    start_single,
    stop,
    wait_healthy,
)
from tests.sample_store import build_store

pytestmark = pytest.mark.e2e

ROWS = {"nrm": 12, "rosewood": 6, "mandevilla": 4}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """``python -m ui.serve`` on a small synthetic store (demo mode); yields (URL, pid)."""
    scratch = tmp_path_factory.mktemp("bench_load")
    store = build_store(scratch / "store", ROWS, source="synthetic")
    port = free_ports(1)
    log_path = scratch / "server.log"
    with open(log_path, "wb") as log:
        process = start_single(port, server_env(str(store.root), scratch), log)
    try:
        wait_healthy(f"http://127.0.0.1:{port}", process, timeout=90)
        yield f"http://127.0.0.1:{port}", process.pid
    except (RuntimeError, TimeoutError) as exc:
        pytest.fail(f"{exc}:\n{log_path.read_text(errors='replace')}", pytrace=False)
    finally:
        stop(process)


def test_one_session_runs_a_page_for_a_few_seconds(server):
    url, pid = server
    result = level(url, 1, ["chair"], 1, ["overview"], [pid], duration=3)
    assert result["errors"] == 0, result["error_samples"]
    overview = result["pages"]["overview"]
    assert overview["runs"] >= 2 and overview["errors"] == 0
    assert 0 < overview["p50"] <= overview["p95"] <= overview["max"]
    assert result["server_rss_mb"] > 50 and result["server_cpu_s"] > 0


def test_the_command_prints_the_table(server, capsys):
    url, pid = server
    assert main(["--url", url, "--pids", str(pid), "--sessions", "1", "--walks", "1",
                 "--roles", "executive", "--pages", "overview", "trends"]) == 0
    out = capsys.readouterr().out
    assert "errors 0" in out
    assert "trends" in out and "overview" in out
    table = out[out.index("set-up"):]
    assert table.splitlines()[1].split()[:2] == ["server", "1"]


def test_the_floor_measures_visits_and_unchanged_reruns(server):
    from bench.load_floor import measure_role

    url, pid = server
    rows = measure_role(url, pid, "analyst", ["overview", "explore"], reruns=3, walks=1)
    assert set(rows) == {"overview", "explore"}
    for row in rows.values():
        assert row["errors"] == []
        assert row["visit"] >= 0 and row["rerun"] >= 0 and row["wall"] > 0
    # The client keeps the browser's message cache: an unchanged map comes as a reference.
    assert rows["explore"]["references"] >= 1
