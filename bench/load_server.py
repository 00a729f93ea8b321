"""The server side of the load benchmark (``bench/bench_load.py``): starting and stopping the
dashboard's processes, reading their CPU time and memory from ``/proc``."""
from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of ``pid`` (``/proc/PID/stat``)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_cpu_s(pid: int) -> float:
    """CPU seconds of ``pid``, its children already reaped (``cutime``, ``cstime``) and its live
    descendants: a database server's backends come and go."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    reaped = (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")
    return reaped + sum(cpu_s(p) for p in descendants(pid))


def _alive(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists()


def descendants(pid: int) -> list[int]:
    """``pid`` and every process below it (the launcher's workers and HAProxy)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def wait_healthy(url: str, process: subprocess.Popen | None, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server exited with status {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.read().strip() == b"ok":
                    return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"{url} not healthy after {timeout} s")


def start_single(port: int, env: dict, log, root: Path = ROOT) -> subprocess.Popen:
    """``python -m ui.serve`` of the code at ``root`` (another checkout: ``--before``)."""
    return subprocess.Popen([sys.executable, "-m", "ui.serve", "--server.headless", "true",
                             "--server.address", "127.0.0.1", "--server.port", str(port),
                             "--browser.gatherUsageStats", "false",
                             "--server.fileWatcherType", "none"],
                            cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)


def start_proxy(port: int, workers: int, env: dict, log, root: Path = ROOT
                ) -> subprocess.Popen:
    """``deploy/cluster.py`` of the code at ``root``: workers behind HAProxy."""
    return subprocess.Popen([sys.executable, str(root / "deploy" / "cluster.py"), "--workers",
                             str(workers), "--port", str(port), "--worker-logs", "files", "--",
                             "--server.fileWatcherType", "none"],
                            cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)


def free_ports(count: int) -> int:
    """The first of ``count`` consecutive free loopback ports."""
    import socket

    for base in range(20_000 + os.getpid() % 20_000, 60_000, count + 7):
        sockets = []
        try:
            for port in range(base, base + count):
                sock = socket.socket()
                sockets.append(sock)
                sock.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for sock in sockets:
                sock.close()
    raise RuntimeError("no free ports")


def server_env(store: str, scratch: Path, root: Path = ROOT) -> dict:
    return {**os.environ, "STORE_URL": store, "USERS_FILE": str(scratch / "no-users.json"),
            "ROLES_FILE": str(scratch / "no-roles.yaml"), "PYTHONPATH": str(root)}


def stop(process: subprocess.Popen) -> None:
    import signal

    process.send_signal(signal.SIGINT if "cluster.py" in " ".join(process.args) else
                        signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        for pid in reversed(descendants(process.pid)):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        process.wait()
