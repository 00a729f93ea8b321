"""``bench/bench_hotspots.py --first-fit``: a fresh process's first default hotspot fit.

Each run is a new Python process of a checkout (``--compare DIR``: a second one, e.g. the code
before a change from ``git archive``, alternated with this one run by run) that imports the
model's modules (timed apart: a server has them imported before anyone asks), reads the events
(untimed), then times its **first** fit and the same fit **again** in that process. Fits
(``--modes``):

- ``model``: ``HotspotModel().fit`` on every stored point (``models.evaluate.load_events``): the
  issue 13 target's fit (every default, the forecast ranking included);
- ``page``: ``views.hotspot_fits.model_fit`` for all feeds over the whole store, as the Hotspots
  page fits (its store read, the exposure layers, no forecast ranking): what a user waits for;
- ``forecast``: ``ForecastRanker().fit`` on every stored point.

Grid cache (``models.grid_store``, ``GRID_CACHE_DIR``): ``cold`` gives each process an empty
cache directory (a first start, or the first after the boundaries or the grid code changed);
``warm`` one primed by an untimed process (every later start). A checkout without a grid
cache builds its grids in every process: measured once per run, shown as ``-``.

``HOTSPOT_MODEL_PARAMS`` (JSON, e.g. ``'{"budget_rule": "skip"}'``) passes parameters to the
``model`` mode's ``HotspotModel`` (docs/hotspots.md, 3e); a checkout that does not know them
fails, so leave out ``--compare`` then.

Wall clock and the process's CPU time (``time.process_time``: less inflated than wall clock
on a shared machine); medians over ``--runs``.
"""
from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MODES = ("model", "page", "forecast")
HERE = Path(__file__).resolve()


def worker(mode: str, store: str) -> dict:
    """In a fresh process of the checkout on ``sys.path``: import, read, fit twice."""
    wall, cpu = time.perf_counter(), time.process_time()
    from core.filters import EventFilter
    from core.schema import FEEDS
    from models.evaluate import load_events
    from models.forecast import ForecastRanker
    from models.hotspots import HotspotModel
    from safeguards.access import Principal, RoleScopedQuery
    from storage.open import open_store
    from views.hotspot_fits import forget_fits, model_fit

    out = {"imports": [time.perf_counter() - wall, time.process_time() - cpu]}
    if mode == "page":
        query = RoleScopedQuery(open_store(store), Principal("bench-first-fit", "analyst"))

        def fit():
            forget_fits()
            made = model_fit(query, list(FEEDS), EventFilter(), random_state=0,
                             model_params={})
            return {"events": made.n_events, "hotspots": len(made.raw)}
    else:
        events = load_events(store)

        def fit():
            if mode == "forecast":
                ForecastRanker().fit(events)
                return {"events": len(events)}
            params = json.loads(os.environ.get("HOTSPOT_MODEL_PARAMS") or "{}")
            model = HotspotModel(**params).fit(events)
            return {"events": int(model.n_events_), "hotspots": len(model.hotspots_)}
    for what in ("first", "again"):
        wall, cpu = time.perf_counter(), time.process_time()
        out.update(fit())
        out[what] = [time.perf_counter() - wall, time.process_time() - cpu]
    return out


def _spawn(checkout: Path, args: list[str], cache_dir: str) -> dict:
    # The grids' own (deprecated) variable, which older checkouts also read.
    env = {**os.environ, "PYTHONPATH": str(checkout), "GRID_CACHE_DIR": cache_dir}
    done = subprocess.run([sys.executable, str(HERE), str(checkout), *args], cwd=checkout,
                          env=env, capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"{checkout} {args}: {done.stderr.strip()[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _has_grid_cache(checkout: Path) -> bool:
    return (checkout / "models" / "grid_store.py").is_file()


def first_fit(stores: list[str], runs: int, modes: list[str], compare: Path | None) -> None:
    """Alternate fresh worker processes over the checkouts; print Markdown tables."""
    checkouts = [HERE.parent.parent] + ([compare.resolve()] if compare else [])
    loads, results = [], {}
    with tempfile.TemporaryDirectory(prefix="first-fit-") as scratch:
        warm_dirs = {}
        for checkout in checkouts:  # the primed caches: one untimed process each
            warm_dirs[checkout] = str(Path(scratch) / f"warm-{len(warm_dirs)}")
            if _has_grid_cache(checkout):
                _spawn(checkout, ["--prime"], warm_dirs[checkout])
        for run in range(runs):
            for store in stores:
                for mode in modes:
                    for checkout in checkouts:
                        caches = ("cold", "warm") if _has_grid_cache(checkout) else ("-",)
                        for cache in caches:
                            cache_dir = (warm_dirs[checkout] if cache == "warm" else
                                         tempfile.mkdtemp(dir=scratch, prefix="cold-"))
                            loads.append(os.getloadavg()[0])
                            out = _spawn(checkout, [mode, store], cache_dir)
                            results.setdefault((store, mode, cache, checkout), []).append(out)
                            print(f"run {run + 1} {Path(store).name} {mode} {cache} "
                                  f"{checkout.name}: {out}", file=sys.stderr, flush=True)
    names = " | ".join(f"{c.name}: wall / CPU s" for c in checkouts)
    print(f"\nFirst fit in a fresh process ({platform.python_version()}, {os.cpu_count()} cores, "
          f"load average {min(loads):.1f}-{max(loads):.1f}); medians of {runs} processes:\n")
    print(f"| store | fit | grid cache | when | {names} | events / hotspots |")
    print("|---|---|---|---|" + "---:|" * len(checkouts) + "---|")
    for store in stores:
        for mode in modes:
            for cache in ("cold", "warm"):
                for when in ("imports", "first", "again"):
                    if when == "imports" and cache == "warm":
                        continue
                    cells, shown = [], None
                    for checkout in checkouts:
                        outs = (results.get((store, mode, cache, checkout))
                                or results.get((store, mode, "-", checkout)))
                        wall = statistics.median(o[when][0] for o in outs)
                        cpu = statistics.median(o[when][1] for o in outs)
                        cells.append(f"{wall:.2f} / **{cpu:.2f}**")
                        shown = outs[0]
                    counts = f"{shown.get('events')} / {shown.get('hotspots', '-')}"
                    print(f"| {Path(store).name} | {mode} | {cache} | {when} | "
                          + " | ".join(cells) + f" | {counts} |")
    if compare and not _has_grid_cache(checkouts[1]):
        print("\n(the second checkout builds its grids in every process: its `cold` and `warm` "
              "rows are the same processes)")
    print(f"\nload average at the end {os.getloadavg()[0]:.1f}")


def _prime() -> None:
    from models._grid import analysis_grid, centre_grid
    from models.hotspots import HotspotModel

    grid = analysis_grid(HotspotModel().cell_size_m)
    centre_grid(100)
    try:  # the scan's LSOA windows, where the checkout has them (stored beside the grids)
        from models.scan_areas import area_windows
    except ImportError:
        pass
    else:
        area_windows(grid)
    try:  # the 100 m cells' LSOA labels (HotspotModel(area_cell_m=100), 3g), where it exists
        from models.scan_areas_fine import fine_areas
    except ImportError:
        pass
    else:
        fine_areas(grid)
    print("{}")


if __name__ == "__main__":
    # python bench/_first_fit.py CHECKOUT (MODE STORE | --prime), PYTHONPATH=CHECKOUT
    sys.path.insert(0, sys.argv[1])
    if sys.argv[2] == "--prime":
        _prime()
    else:
        print(json.dumps(worker(sys.argv[2], sys.argv[3])))
