"""Benchmark: CPU seconds of the scan model's fit, this checkout against others, alternated.

    nice -n 10 .venv/bin/python bench/bench_fit_cpu.py [--compare /tmp/base] [--rounds 3]
        [--params windows=discs budget_rule=skip ...]

Each round runs one fresh process per checkout (this one first, then each ``--compare``, in
turn, so a change in the machine's load falls on all of them alike). A process fits
``HotspotModel(random_state=s, cross_feed=False, ranking=None, **params)`` on dense (8,000
events) ``micro_places`` and ``overdispersed`` (seed 7) for s = 0, 1, 2, after one warm-up fit,
for each ``--params`` set (``windows=discs`` and the default when not given), and prints the
mean CPU seconds per fit (``time.process_time``: the machine is shared, so wall time is not
the measure). Parameters a checkout does not know are reported as such.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
FAMILIES = ("micro_places", "overdispersed")


def worker(checkout: str, param_sets: list[dict]) -> dict:
    sys.path.insert(0, checkout)
    import time
    import warnings

    from data.synthetic_families import family_events
    from models.hotspots import HotspotModel
    warnings.simplefilter("ignore")
    events = {f: family_events(f, 8000, seed=7) for f in FAMILIES}
    out = {}
    for params in param_sets:
        name = " ".join(f"{k}={v}" for k, v in params.items()) or "default"
        try:
            HotspotModel(random_state=0, cross_feed=False, ranking=None,
                         **params).fit(events[FAMILIES[0]])
        except (TypeError, ValueError) as error:
            out[name] = f"not in this checkout ({type(error).__name__})"
            continue
        cpu = time.process_time()
        for e in events.values():
            for seed in range(3):
                HotspotModel(random_state=seed, cross_feed=False, ranking=None,
                             **params).fit(e)
        out[name] = (time.process_time() - cpu) / (3 * len(events))
    return out


def parse(values: list[str]) -> dict:
    out = {}
    for item in values:
        key, value = item.split("=", 1)
        out[key] = None if value == "None" else value
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--compare", nargs="*", default=[])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--params", nargs="*", action="append", default=None)
    parser.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker[0], json.loads(args.worker[1]))))
        return
    param_sets = ([parse(p) for p in args.params] if args.params
                  else [{"windows": "discs"}, {}])
    checkouts = [str(HERE)] + [str(Path(c).resolve()) for c in args.compare]
    results: dict = {c: [] for c in checkouts}
    print(f"# bench_fit_cpu: load average {os.getloadavg()[0]:.1f} at start")
    for _ in range(args.rounds):
        for checkout in checkouts:
            run = subprocess.run([sys.executable, __file__, "--worker", checkout,
                                  json.dumps(param_sets)], capture_output=True, text=True,
                                 cwd=checkout, check=True)
            results[checkout].append(json.loads(run.stdout.strip().splitlines()[-1]))
    print("| checkout | parameters | CPU s per fit, each round | median |")
    print("| --- | --- | --- | ---: |")
    for checkout, rounds in results.items():
        for name in rounds[0]:
            values = [r[name] for r in rounds]
            if isinstance(values[0], str):
                print(f"| {checkout} | {name} | {values[0]} | |")
                continue
            median = sorted(values)[len(values) // 2]
            print(f"| {checkout} | {name} | {', '.join(f'{v:.3f}' for v in values)} | "
                  f"{median:.3f} |")
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
