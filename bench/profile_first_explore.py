"""Where the first Explore run of a fresh server goes: counts and a cProfile of its script run.

    .venv/bin/python bench/profile_first_explore.py --store store [--role analyst]
        [--repo DIR] [--top 30] [--prof FILE]

In a fresh process (``--repo``'s code, this checkout's by default), as
``bench/bench_startup.py --in-process`` does: the warm-up's first stage and what it readies
for the first run (``ui.first_run_ready``, if the checkout has it), then the session's
first run of ``/explore`` through Streamlit's AppTest, with the script thread's run under
cProfile. Printed: the run's CPU (``time.process_time``, the whole process), the store reads it
made (``Store.query`` calls, by caller; reads of the feeds' files, ``pyarrow.dataset.dataset``;
footers read, ``read_metadata``), ``os.fsync`` calls, and the profile's top functions by
cumulative and own time; with ``--split``, no profile but the CPU inside named steps. Counts do not depend on the machine's load.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import collections, cProfile, io, json, logging, os, pstats, sys, time, traceback
logging.disable(logging.WARNING)
from ui import serve
serve.no_legacy_pages_mode()
getattr(serve, "quick_component_scan", lambda: None)()
getattr(serve, "first_stage_collected", serve.warm_first_stage)()
try:   # what the warm-up does next, before the run (a checkout without it: nothing)
    from ui.first_run_ready import ready_first_run
    ready_first_run()
except ImportError:
    pass

from streamlit.runtime.scriptrunner import script_runner
import pyarrow.dataset as ds
import pyarrow.parquet as pq
from storage import base as store_base

counts = collections.Counter()
callers = collections.Counter()
active = [False]

def counting(owner, name, label, with_caller=False):
    real = getattr(owner, name)
    def wrapper(*args, **kwargs):
        if active[0]:
            counts[label] += 1
            if with_caller:
                frames = [f for f in traceback.extract_stack(limit=12)[:-1]
                          if "/storage/" not in f.filename and f.filename != "<string>"]
                where = frames[-1] if frames else None
                callers[f"{os.path.basename(where.filename)}:{where.name}" if where else "?"] += 1
        return real(*args, **kwargs)
    setattr(owner, name, wrapper)

from storage.open import open_store
store_class = type(open_store())
counting(store_class, "query", "Store.query", with_caller=True)
if "cell_counts" in vars(store_class):
    counting(store_class, "cell_counts", "Store.cell_counts", with_caller=True)
for name in ("scan_columns", "feed_scan"):   # a checkout's one-read-per-feed path, if any
    if hasattr(store_class, name):
        counting(store_class, name, f"Store.{name}", with_caller=True)
counting(ds, "dataset", "pyarrow.dataset.dataset")
counting(pq, "read_metadata", "pyarrow.parquet.read_metadata")
counting(pq, "ParquetFile", "pyarrow.parquet.ParquetFile")
counting(os, "fsync", "os.fsync")

# CPU (time.process_time: the process's, pyarrow's threads included) inside named steps,
# nested ones counted in each (--split: instead of cProfile, which inflates Python-heavy code).
spent, spent_calls = collections.Counter(), collections.Counter()
def timed(owner, name, label):
    real = getattr(owner, name)
    def wrapper(*args, **kwargs):
        if not active[0]:
            return real(*args, **kwargs)
        started = time.process_time()
        try:
            return real(*args, **kwargs)
        finally:
            spent[label] += time.process_time() - started
            spent_calls[label] += 1
    setattr(owner, name, wrapper)

profile = cProfile.Profile()
split = bool(os.environ.get("BENCH_SPLIT"))
if split:
    import jinja2
    from streamlit.runtime.scriptrunner import script_cache
    from ui import explore_loaders, loaders
    timed(store_class, "query", "Store.query (each)")
    timed(jinja2.Environment, "compile", "Jinja compile")
    timed(script_cache.ScriptCache, "get_bytecode", "script compile")
    for name in ("load_headline", "load_area_counts", "load_cells", "load_points",
                 "load_explorer_map", "build_map", "folium_frame"):
        if hasattr(explore_loaders, name):
            timed(explore_loaders, name, name)
    for name in ("load_period", "load_synthetic"):
        timed(loaders, name, name)
real_run = script_runner.ScriptRunner._run_script
def profiled(self, rerun_data):
    if not split:
        profile.enable()
    try:
        return real_run(self, rerun_data)
    finally:
        profile.disable()
script_runner.ScriptRunner._run_script = profiled

from streamlit.testing.v1 import AppTest
at = AppTest.from_file("dashboard.py", default_timeout=300)
at.secrets["test"] = "bench"
at.session_state["auth_demo_role"] = os.environ["BENCH_ROLE"]
at.switch_page("pages/explore.py")
active[0] = True
wall, cpu = time.perf_counter(), time.process_time()
at.run()
cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
active[0] = False
assert not at.exception, [e.value for e in at.exception]
assert at.main.get("component_instance"), "no map"
if os.environ.get("BENCH_PROF"):
    profile.dump_stats(os.environ["BENCH_PROF"])
report = {}
for sort in () if split else ("cumulative", "tottime"):
    text = io.StringIO()
    pstats.Stats(profile, stream=text).sort_stats(sort).print_stats(int(os.environ["BENCH_TOP"]))
    report[sort] = text.getvalue()
print(json.dumps({"cpu": cpu, "wall": wall, "counts": dict(counts),
                  "query callers": dict(callers), "profile": report,
                  "split": {f"{k} ({spent_calls[k]})": v for k, v in spent.items()}}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", type=Path, default=ROOT / "store")
    parser.add_argument("--repo", type=Path, default=ROOT)
    parser.add_argument("--role", default="analyst")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--prof", type=Path, default=None, help="also write the .prof file")
    parser.add_argument("--split", action="store_true",
                        help="no cProfile: the CPU inside named steps (reads, compiles, loaders)")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="profile-explore-"))
    env = {**os.environ, "STORE_URL": str(args.store.resolve()),
           "PYTHONPATH": str(args.repo.resolve()),
           "USERS_FILE": str(scratch / "no-users.json"),
           "ROLES_FILE": str(scratch / "no-roles.yaml"),
           "BENCH_ROLE": args.role, "BENCH_TOP": str(args.top),
           "BENCH_SPLIT": "1" if args.split else "",
           "BENCH_PROF": str(args.prof.resolve()) if args.prof else ""}
    done = subprocess.run([sys.executable, "-c", CHILD], cwd=args.repo.resolve(), env=env,
                          capture_output=True, text=True)
    if done.returncode:
        sys.exit(done.stderr)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"first Explore run ({args.role}, {args.repo.resolve()}): CPU {result['cpu']:.3f} s, "
          f"wall {result['wall']:.3f} s ({'' if args.split else 'under cProfile, '}load average "
          f"{os.getloadavg()[0]:.1f})")
    print("counts:", json.dumps(result["counts"], indent=1))
    print("Store.query calls by caller:", json.dumps(result["query callers"], indent=1))
    for step, cpu in result["split"].items():
        print(f"  CPU in {step}: {cpu * 1000:.1f} ms")
    for sort, text in result["profile"].items():
        print(f"\n--- by {sort} ---")
        print("\n".join(line for line in text.splitlines() if line.strip())[:6000])


if __name__ == "__main__":
    main()
