"""The per-page CPU floor, before and after a change, in one run (``bench_load.py --floor``).

    .venv/bin/python bench/bench_load.py --store STORE --floor 10 [--before REV]
        [--roles ...] [--pages ...]

For each role, one protocol-level session (``bench.load_session.StreamlitSession``, which keeps the
browser's message cache) on a server of its own (``python -m ui.serve``), nothing else talking
to it: the session picks the role and walks the role's pages once (warming every cache), waits
for the server to be idle (the launcher's warm-up done), then
page by page, opens the page (a *visit*: the page changes, so it is audited as a page view) and
reruns it unchanged ``--floor`` times (a *rerun*: what the browser's "r", a widget that changes
nothing or another session's identical view costs). The server's CPU (user + system,
``/proc/PID/stat``, 10 ms ticks) is read around each visit and around the reruns: CPU per visit
(mean of ``--walks`` visits) and per rerun (total over the reruns / their number), with the
median wall time of the reruns.

``--before REV`` does the same first on a copy of the code at git revision ``REV``
(``git archive``, same interpreter and store), and prints both side by side.
"""
from __future__ import annotations

import statistics
import subprocess
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def export_revision(rev: str) -> Path:
    """The project's files at ``rev`` in a new temporary folder (``git archive``)."""
    target = Path(tempfile.mkdtemp(prefix=f"floor-{rev[:10]}-"))
    archive = target / "code.tar"
    with open(archive, "wb") as out:
        subprocess.run(["git", "archive", "--format=tar", rev], cwd=ROOT, stdout=out, check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(target, filter="data")
    archive.unlink()
    # Not in git (``make assets``): the same files as this checkout's.
    for shared in ("node_modules", "static/vendor"):
        if (ROOT / shared).exists() and not (target / shared).exists():
            (target / shared).parent.mkdir(parents=True, exist_ok=True)
            (target / shared).symlink_to(ROOT / shared)
    return target


def measure_role(url: str, pid: int, role: str, pages: list[str], reruns: int,
                 walks: int) -> dict[str, dict]:
    """One session of ``role``: per page, CPU per visit and per rerun, median rerun wall."""
    from bench.load_server import cpu_s
    from bench.load_session import DEFAULT_PAGE, StreamlitSession, choose_role

    out: dict[str, dict] = {page: {"visit": [], "errors": []} for page in pages}
    with StreamlitSession(url) as session:
        first = session.run(DEFAULT_PAGE)
        choose_role(session, first, role)
        for page in pages:                        # warm every cache this role reads
            session.run(page)
        wait_idle(pid)                            # and the launcher's warm-up is over
        for _ in range(walks):
            for page in pages:
                before = cpu_s(pid)
                run = session.run(page)
                out[page]["visit"].append(cpu_s(pid) - before)
                out[page]["errors"] += run.errors
        for page in pages:
            session.run(page)                     # the visit: not counted as a rerun
            walls = []
            before = cpu_s(pid)
            for _ in range(reruns):
                run = session.run(page)
                walls.append(run.seconds)
                out[page]["errors"] += run.errors
            cpu = cpu_s(pid) - before
            out[page].update(rerun=cpu / reruns, wall=statistics.median(walls),
                             sent_kb=run.bytes / 1000, references=run.references,
                             messages=run.messages, elements=len(run.elements))
    for row in out.values():
        row["visit"] = statistics.fmean(row["visit"])
    return out


def wait_idle(pid: int, timeout: float = 120, window: float = 1.0) -> None:
    """Wait until ``pid`` uses under 5 % of a core over ``window`` seconds: the launcher's
    warm-up thread (``ui.serve``: the hotspot grid, the publication) has finished."""
    from bench.load_server import cpu_s

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        before = cpu_s(pid)
        time.sleep(window)
        if cpu_s(pid) - before < 0.05 * window:
            return


def measure_code(root: Path, store: str, roles: list[str], pages: list[str] | None,
                 reruns: int, walks: int, label: str) -> dict[tuple[str, str], dict]:
    """Start ``python -m ui.serve`` from ``root`` per role and measure it."""
    from bench.load_server import (
        free_ports,
        server_env,
        start_single,
        stop,
        wait_healthy,
    )
    from ui.registry import ROLE_PAGES

    results: dict[tuple[str, str], dict] = {}
    for role in roles:
        own = [p for p in ROLE_PAGES[role] if pages is None or p in pages]
        scratch = Path(tempfile.mkdtemp(prefix="floor-"))
        port = free_ports(1)
        with open(scratch / "server.log", "wb") as log:
            process = start_single(port, server_env(store, scratch, root), log, root)
        url = f"http://127.0.0.1:{port}"
        try:
            wait_healthy(url, process)
            started = time.perf_counter()
            for page, row in measure_role(url, process.pid, role, own, reruns, walks).items():
                results[(role, page)] = row
            print(f"  {label}: {role} measured in {time.perf_counter() - started:.0f} s",
                  flush=True)
        except Exception:
            print((scratch / "server.log").read_text(errors="replace")[-3000:])
            raise
        finally:
            stop(process)
    return results


def print_floor(after: dict, before: dict | None) -> None:
    """One line per role and page: CPU per visit and per rerun (and median rerun wall)."""
    cols = ["visit CPU", "rerun CPU", "rerun wall"]
    head = "".join(f"{c + ' (before)':>20}{c:>12}" if before else f"{c:>12}" for c in cols)
    print(f"\n{'role':<11}{'page':<16}{head}{'sent kB':>9}{'msgs':>6}{'elems':>6}"
          f"{'errors':>8}")
    for (role, page), row in after.items():
        old = (before or {}).get((role, page), {})
        cells = ""
        for name in ("visit", "rerun", "wall"):
            if before:
                cells += f"{old.get(name, float('nan')):>20.3f}"
            cells += f"{row[name]:>12.3f}"
        errors = len(row["errors"]) + len(old.get("errors", []))
        sent = (f"{old['sent_kb']:.0f}→{row['sent_kb']:.0f}" if "sent_kb" in old
                else f"{row['sent_kb']:.1f}")
        counts = "".join(f"{old[k]}→{row[k]}" if k in old else f"{row[k]}"
                         for k in ("messages",))
        print(f"{role:<11}{page:<16}{cells}{sent:>9}{counts:>8}"
              f"{row.get('elements', 0):>6}{errors:>8}")
    for which, rows in (("after", after), ("before", before or {})):
        if rows:
            reruns = [r["rerun"] for r in rows.values()]
            visits = [r["visit"] for r in rows.values()]
            print(f"{which}: rerun CPU median {statistics.median(reruns):.3f} s, max "
                  f"{max(reruns):.3f} s; visit CPU median {statistics.median(visits):.3f} s, "
                  f"max {max(visits):.3f} s")


def floor(store: str, roles: list[str], pages: list[str] | None, reruns: int, walks: int,
          before_rev: str | None) -> dict:
    before = None
    if before_rev:
        code = export_revision(before_rev)
        print(f"before: {before_rev} exported to {code}", flush=True)
        before = measure_code(code, store, roles, pages, reruns, walks, "before")
    after = measure_code(ROOT, store, roles, pages, reruns, walks, "after")
    print_floor(after, before)
    return {"after": {f"{r}/{p}": v for (r, p), v in after.items()},
            "before": {f"{r}/{p}": v for (r, p), v in (before or {}).items()}}
