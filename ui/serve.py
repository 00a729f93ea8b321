"""Start the dashboard warm: ``python -m ui.serve [streamlit run options]``.

``make run``, the Dockerfile and the browser tests start the server this way. It starts
Streamlit through its command line (``streamlit.web.cli``) *in this process*, with a thread of
the same process that imports what the pages need (pandas, geopandas, folium, altair, the views
and loaders), reads the boundaries and the map's area outlines, and builds the hotspot model's
analysis grid. Pages run in threads of the server's process and share its modules and
per-process caches, so visitors find all of it loaded.

Why so, measured (bench/bench_startup.py, docs/benchmarks.md): Streamlit has no start-up hook.
Warming *before* the server listens kept it deaf for 5 s while a visitor's browser could already
be loading Streamlit's front end (~2 s of the browser's own work, on the other core): the first
map came later than with no warming. A thread started from the router's first run through
``st.cache_resource`` starts only when the first visitor arrives, who then waits for it. A thread
started with the server overlaps the browser's start, but one that *races* the first page run
for the GIL slowed both (first map 10-14 s). So the thread warms in two stages:

1. what the router and Explore need (imports, boundaries, ward and district outlines, the map's
   projection), at once; the router's first run waits for this stage
   (:func:`wait_for_first_stage`, the first line of ``dashboard.py``) instead of importing
   alongside it. Not Altair, pandera nor SciPy: Explore's first view draws no chart, validates
   nothing and tests no trend, and their modules import them where they are used;
2. the other pages' imports (Altair with the accessible chart theme, SciPy, scikit-learn), the
   LSOA outlines, the hotspot grid, the publication and the
   hotspots the Hotspots page opens on, only once a first page has been drawn
   (:func:`first_page_served`) and a few seconds more (:data:`SECOND_STAGE_SETTLE_S`, while the
   visitor's browser draws it), so they never compete with it.

Under plain ``streamlit run dashboard.py`` (or AppTest) no thread was started and both calls
return at once.

What is *not* warmed: the PDF code (``reports``: reportlab, matplotlib), imported only when a
PDF is made, and ``streamlit_folium``, whose map component registers itself with the server
only when it is imported during a page run (``components.declare_component`` needs a
ScriptRunContext): imported here it would be left unregistered and every map would fail to load.
This module imports only the standard library at its top, so the router can import it first.
"""
from __future__ import annotations

import gc
import importlib
import os
import re
import sys
import threading
import time
from pathlib import Path

DASHBOARD = Path(__file__).resolve().parent.parent / "dashboard.py"

#: What the router and Explore (the first page a link usually opens) import, in that order, then
#: what the other pages add. Never ``reports.*`` (PDF, on demand), never ``streamlit_folium`` or
#: a module importing it at import time (see the module docstring).
FIRST_MODULES = ("streamlit", "ui.session", "ui.loaders", "views.explore", "views.explore_map",
                 "maps.area_layer", "maps.cell_layers", "maps.point_layer",
                 "ui.explore_loaders", "ui.hotspot_loaders", "ui.a11y", "ui.explore_modes",
                 "views.exports", "views.explore_frames", "views.explore_twin",
                 # What the router's first run imported itself (0.3-0.9 s): Streamlit's emoji
                 # table, which st.set_page_config's page icon is checked against.
                 "streamlit.emojis", "streamlit.material_icon_names")
#: ``maps.hotspot_layer``: only a map with "Show hotspots" on draws it (Explore opens without).
OTHER_MODULES = ("maps.hotspot_layer", "views.trend_charts", "views.kpis", "views.trend_series",
                 "views.trend_flags", "ui.trends_loaders", "views.meeting_figures",
                 "views.meeting_steps", "ui.meeting_loaders", "models.hotspots")
FIRST_STAGE_TIMEOUT_S = 120
#: How long the second stage waits after the first page run has ended: the visitor's browser is
#: still drawing that page then (Streamlit's front end, the map's frame, Leaflet: 1-3 s at load
#: average ~2, up to 7 s at ~10) on the same two cores, and the server still serves the map's
#: files, so a second stage started at once slowed the first map (docs/benchmarks.md).
SECOND_STAGE_SETTLE_S = 4.0

_thread: threading.Thread | None = None
_first_stage_done = threading.Event()
_first_page_served = threading.Event()


def warm_first_stage() -> dict[str, float]:
    """Import the router's and Explore's modules; load the boundaries and the ward and district
    outlines. Returns the seconds each step took (``imports``, ``boundaries``)."""
    from ui.lazy_templates import templates_compiled_when_used

    timings: dict[str, float] = {}
    started = time.perf_counter()
    # Folium's, branca's and the maps' templates (90, made at import) compiled when a map first
    # renders them, not here: the first Explore map uses 18 (ui/lazy_templates.py).
    with templates_compiled_when_used():
        for name in FIRST_MODULES:
            importlib.import_module(name)
    timings["imports"] = time.perf_counter() - started

    started = time.perf_counter()
    from geo.boundaries import LEVELS, load_boundaries
    from geo.outlines import LABELLED_LEVELS, level_labels
    from maps.area_layer import preload_geometries

    for level in LEVELS:   # read from the prepared copy (geo.prepared) when it is current
        load_boundaries(level)
    preload_geometries(("district", "ward"))
    for level in LABELLED_LEVELS:   # the base map's names
        level_labels(level)
    # The grid-to-map projection every map's points and cells go through: pyproj makes it on
    # first use (0.05-0.07 s of the first Explore run's CPU, docs/benchmarks.md).
    from geo.geomask import bng_to_lonlat

    bng_to_lonlat([430_000.0], [433_000.0])
    timings["boundaries"] = time.perf_counter() - started

    started = time.perf_counter()
    _index_modules()
    timings["module index"] = time.perf_counter() - started
    return timings


def _index_modules() -> None:
    """Let ``inspect`` index the modules imported so far, here rather than in a page run.

    ``streamlit_folium`` (imported by the first page run that draws a map, see the module
    docstring) declares its component, and Streamlit names it from ``inspect.getmodule`` of the
    caller's frame, which, for a file it has not indexed yet, takes the real path of every
    loaded module's file (~1,900 modules by then: 0.3-0.6 s of the first Explore run, measured
    in docs/benchmarks.md). ``inspect`` keeps that index, so the page run indexes only the
    modules imported after this."""
    import inspect

    inspect.getmodule(inspect.currentframe())


def warm_second_stage() -> dict[str, float]:
    """Import the other pages' modules, outline the LSOAs and build the hotspot grid.
    Returns the seconds each step took (``other pages``, ``hotspot grid``)."""
    timings: dict[str, float] = {}
    started = time.perf_counter()
    for name in OTHER_MODULES:
        importlib.import_module(name)
    from maps.area_layer import preload_geometries

    preload_geometries(("lsoa",))
    from ui.a11y import enable_chart_theme

    enable_chart_theme()   # Altair, left out of the first stage (the first view draws no chart)
    timings["other pages"] = time.perf_counter() - started

    started = time.perf_counter()
    from models._grid import analysis_grid
    from models.hotspots import HotspotModel

    analysis_grid(HotspotModel().cell_size_m)
    timings["hotspot grid"] = time.perf_counter() - started

    # Protected roles' figures all come from the store's publication (built once per store
    # content): build it before a chair asks. A store that cannot be opened is the page's to
    # report, not the warm-up's.
    started = time.perf_counter()
    store = None
    try:
        from core.schema import FEEDS
        from safeguards.publication import publication_for
        from storage.open import open_store

        store = open_store()
        for feed in FEEDS:
            publication_for(store, feed)
    except Exception:  # noqa: BLE001, S110 - warming is best effort
        pass
    timings["publication"] = time.perf_counter() - started

    # The hotspots the Hotspots page opens on (analysts, chairs), fitted once for the store's
    # content and kept (views.hotspot_fits): a first visitor's view then only protects and
    # audits the fit (docs/benchmarks.md). Best effort, like the publication.
    started = time.perf_counter()
    try:
        if store is not None:
            from ui.hotspot_loaders import prefit_default_views

            prefit_default_views(store)
    except Exception as error:  # noqa: BLE001 - warming is best effort: the page fits itself
        print(f"Warm start: hotspots not fitted ahead ({type(error).__name__}: {error})",
              flush=True)
    timings["hotspot views"] = time.perf_counter() - started
    return timings


def warm() -> dict[str, float]:
    """Both stages, here and now (for tests and benchmarks)."""
    return warm_first_stage() | warm_second_stage()


def wait_for_first_stage() -> None:
    """Wait until the first stage is done, if this process was started warm (else return)."""
    if _thread is not None:
        _trace("first run starts")
        _first_stage_done.wait(FIRST_STAGE_TIMEOUT_S)


def first_page_served() -> None:
    """A page has been drawn: the second stage may start."""
    global _runs_ended
    _runs_ended += 1
    if _thread is not None and _runs_ended <= 3:
        _trace(f"run {_runs_ended} ends")
    _first_page_served.set()


_runs_ended = 0


#: Set (to anything) to print when the warm-up's steps and the first run happen, as
#: ``Warm trace: <what> <Unix time>`` lines (bench/bench_startup.py --trace reads them).
TRACE_ENV = "WARM_START_TRACE"
_traced: set[str] = set()


def _trace(what: str) -> None:
    import os

    if os.environ.get(TRACE_ENV) and what not in _traced:
        _traced.add(what)
        print(f"Warm trace: {what} {time.time():.3f}", flush=True)


def start_warming() -> None:
    """Start the warm-up thread (once)."""
    global _thread
    if _thread is None:
        _thread = threading.Thread(target=_warm, name="warm-start", daemon=True)
        _thread.start()


def first_stage_collected() -> dict[str, float]:
    """:func:`warm_first_stage` without cyclic garbage collection, then everything it made
    frozen (what the warm-up thread runs first; the timings as there).

    The imports make hundreds of thousands of long-lived objects, and Python's collector
    visited them again and again as they accumulated: 0.35-0.4 s of the first stage's ~2.1 s
    of CPU (docs/benchmarks.md). The freeze counts as ``ui.heap``'s refreeze, without its full
    collection (0.1-0.2 s that the first page run would wait for): the first run does not pay
    one at its end either (it would otherwise be that process's first refreeze), and the few
    cycles of garbage the imports left wait for the next refreeze. The main thread, starting
    the server meanwhile, does without collections for those seconds too; nothing it makes
    then is large."""
    gc.disable()
    try:
        return warm_first_stage()
    finally:
        gc.enable()
        from ui import heap

        heap.freeze_without_collecting()


def _warm() -> None:
    _trace("warm-up starts")
    try:
        timings = first_stage_collected()
    finally:
        _first_stage_done.set()  # a failure here shows again, as the page's own import error
        _trace("first stage done")
    try:   # while the browser loads the page; the first run does not wait for it
        from ui.first_run_ready import ready_first_run

        timings |= ready_first_run()
    except Exception as error:  # noqa: BLE001 - best effort: the run compiles them itself
        print(f"Warm start: first run not readied ({type(error).__name__}: {error})",
              flush=True)
    _trace("first run readied")
    _first_page_served.wait()
    time.sleep(SECOND_STAGE_SETTLE_S)
    _trace("second stage starts")
    timings |= warm_second_stage()
    _trace("second stage done")
    print("Warm start: " + ", ".join(f"{what} {s:.2f} s" for what, s in timings.items()),
          flush=True)


def no_legacy_pages_mode() -> None:
    """Tell Streamlit, before any session exists, that this app is not a legacy ``pages/`` app.

    Left to itself it decides on the first session (a ``pages/`` folder is beside the entry
    script) and ``ui.router_mode.use_router`` switches the process-wide flag off from that
    session's run; but sessions whose first runs start at the same time on a fresh process (a
    room opening the link, a worker restarted behind the proxy) could start in the legacy mode
    and then see the flag already off, and draw their widgets under other ids, losing a first
    click. Set here, no session ever starts in that mode."""
    from streamlit.runtime.pages_manager import PagesManager

    PagesManager.uses_pages_directory = False


def prepare_tile_archive() -> None:
    """Check the street-map archive a deployment names (``MAP_TILE_ARCHIVE``) and put it under
    ``static/tiles/`` for Streamlit to serve, before the server starts (``maps.tile_archive``).

    A missing, corrupt or unusable archive stops the start with a message naming the file,
    rather than serving blank maps. Without the variable this imports nothing."""
    import os

    if not os.environ.get("MAP_TILE_ARCHIVE", "").strip():
        return
    from maps.tile_archive import TileArchiveError, prepare_configured_archive

    try:
        archive = prepare_configured_archive()
    except TileArchiveError as error:
        sys.exit(f"Cannot start the dashboard: {error}")
    print(f"Street map: {archive.path} ({archive.size / 2**20:.1f} MB, zoom "
          f"{archive.min_zoom}-{archive.max_zoom}) served as static/tiles/{archive.served_name}",
          flush=True)


_MAYBE_COMPONENT = re.compile(r"streamlit|^name:[ \t]*st[-_]", re.IGNORECASE | re.MULTILINE)


def may_hold_component(dist) -> bool:
    """Whether Streamlit's component scan could take ``dist`` (an
    ``importlib.metadata.Distribution``) for a component package: its metadata, as text,
    mentions Streamlit or names an ``st-``/``st_`` package."""
    text = dist.read_text("METADATA") or dist.read_text("PKG-INFO") or ""
    return bool(_MAYBE_COMPONENT.search(text))


def quick_component_scan() -> None:
    """Make Streamlit's scan for installed custom components (v2) read each package's metadata
    as text before parsing it, so the server listens sooner.

    Streamlit's runtime, before the server listens, parses the metadata of every installed
    distribution (~110 here: 0.3 s of CPU, 0.6 s with the warm-up running beside it) to find
    the few that name Streamlit. Its filter only passes a package whose metadata contains
    "streamlit" (name, summary or requirements) or whose name starts with ``st-``/``st_``; a
    text search for those (0.02 s) picks the candidates, and Streamlit's own filter and
    manifest reader decide on those, so the scan finds what it found before
    (tests/test_warm_start.py compares them)."""
    from streamlit.components.v2 import manifest_scanner as scanner

    if getattr(scanner.scan_component_manifests, "quick", False):
        return
    if not all(hasattr(scanner, name) for name in (
            "_is_likely_streamlit_component_package", "_process_single_package")):
        return  # a Streamlit without these helpers keeps its own (slower) scan

    def scan(max_workers: int | None = None) -> list:
        import importlib.metadata

        found = []
        for dist in importlib.metadata.distributions():
            if (may_hold_component(dist)
                    and scanner._is_likely_streamlit_component_package(dist)
                    and (manifest := scanner._process_single_package(dist))):
                found.append(manifest)
        return found

    scan.quick = True
    scanner.scan_component_manifests = scan


#: Streamlit's option naming how it watches the app's source files for changes.
FILE_WATCHER_OPTION = "--server.fileWatcherType"


def without_file_watcher(args: list[str]) -> list[str]:
    """Streamlit's options ``args`` with ``--server.fileWatcherType none`` added, unless they or
    the environment (``STREAMLIT_SERVER_FILE_WATCHER_TYPE``) already choose a watcher.

    This launcher serves the dashboard (``make run``, the container, the cluster's workers): no
    one edits its source files while it runs, so Streamlit need not watch them. Watching
    (``auto``, with watchdog installed) cost a cold start 0.2-0.5 s more of the server's CPU
    before the first map (docs/benchmarks.md). To be offered a rerun when a file is saved
    while developing, pass ``--server.fileWatcherType auto`` (a ``config.toml`` setting is
    overridden by the option added here)."""
    chosen = any(arg == FILE_WATCHER_OPTION or arg.startswith(f"{FILE_WATCHER_OPTION}=")
                 for arg in args)
    if chosen or os.environ.get("STREAMLIT_SERVER_FILE_WATCHER_TYPE"):
        return list(args)
    return [*args, FILE_WATCHER_OPTION, "none"]


def no_module_scan_without_watcher() -> None:
    """Let a session skip Streamlit's scan of the loaded modules for files to watch when no
    file is watched (``server.fileWatcherType`` ``none``).

    After each session's first run (and any run that imported something new), Streamlit's
    ``LocalSourcesWatcher.update_watched_modules`` takes the real path of every loaded module's
    files (~1,560 modules once the pages are warm: 36,000 ``lstat`` calls, 0.17 s of CPU on the
    server's event loop, for every new visitor), only to hand the app's own to a watcher that,
    with ``none``, does nothing with them. With another watcher type the scan runs as before."""
    try:
        from streamlit.watcher import local_sources_watcher as sources
        from streamlit.watcher.path_watcher import (
            NoOpPathWatcher,
            get_default_path_watcher_class,
        )
    except ImportError:   # another Streamlit: leave its watcher as it is
        return
    update = getattr(sources.LocalSourcesWatcher, "update_watched_modules", None)
    if update is None or getattr(update, "skips_unwatched", False):
        return

    def update_watched_modules(self) -> None:
        if get_default_path_watcher_class() is NoOpPathWatcher:
            return
        update(self)

    update_watched_modules.skips_unwatched = True
    sources.LocalSourcesWatcher.update_watched_modules = update_watched_modules


#: How long a browser may reuse a map file from ``static/vendor/`` without asking again. Their
#: paths carry the package's version (``leaflet@1.9.3/...``), so a new version is a new path;
#: a day bounds how long a file changed under the same path could be served stale.
VENDOR_MAX_AGE_S = 86_400


def cache_vendored_files() -> None:
    """Let browsers keep the map's vendored scripts and styles (``/app/static/vendor/...``).

    Streamlit serves the app's static folder with an ETag and Last-Modified but no
    Cache-Control, so a browser asks again (a 304) for each of the map frame's files every time
    the frame is drawn: on every visit to a page with a map, one request after another, as
    ``st_folium``'s frame loads its scripts in turn, unless the browser's own heuristic (a
    tenth of the file's age since Last-Modified) still holds it fresh, which it hardly does
    just after ``make assets``. With ``max-age`` it reuses them. Other static files (a
    street-map archive under ``static/tiles/``) keep Streamlit's headers."""
    try:
        from streamlit.web.server.starlette import starlette_app
    except ImportError:  # a Streamlit without the Starlette server: leave its headers
        return
    create = getattr(starlette_app, "create_app_static_serving_routes", None)
    if create is None or getattr(create, "caches_vendor", False):
        return   # another Streamlit version (its headers are left as they are), or done

    def create_routes(*args, **kwargs):
        routes = create(*args, **kwargs)
        for route in routes:
            route.app = _vendor_caching(route.app)
        return routes

    create_routes.caches_vendor = True
    starlette_app.create_app_static_serving_routes = create_routes


def _vendor_caching(app):
    """ASGI ``app`` with ``Cache-Control: public, max-age=...`` on its 200s for ``vendor/``."""
    header = (b"cache-control", f"public, max-age={VENDOR_MAX_AGE_S}".encode())

    async def caching(scope, receive, send):
        if not scope.get("path_params", {}).get("path", "").startswith("vendor/"):
            await app(scope, receive, send)
            return

        async def send_cached(message):
            if message["type"] == "http.response.start" and message.get("status") == 200:
                message["headers"] = [*message.get("headers", []), header]
            await send(message)

        await app(scope, receive, send_cached)

    return caching


def main(argv: list[str] | None = None) -> None:
    """Run ``streamlit run dashboard.py`` with ``argv`` (Streamlit's options; no file watcher
    unless they choose one: :func:`without_file_watcher`), warming up in a thread meanwhile."""
    args = without_file_watcher(sys.argv[1:] if argv is None else argv)
    from streamlit.web import cli

    prepare_tile_archive()
    no_legacy_pages_mode()
    quick_component_scan()
    no_module_scan_without_watcher()
    cache_vendored_files()
    from ui.front_end_serving import map_frame_files, serve_front_end_from_memory

    # The map frame's Leaflet files, prefetched by the page (maps.local_assets serves them
    # under MAP_ASSET_PREFIX, default /app/static/vendor; not imported here: it imports folium).
    serve_front_end_from_memory(prefetch=map_frame_files(
        DASHBOARD.parent / "static" / "vendor",
        os.environ.get("MAP_ASSET_PREFIX") or "/app/static/vendor"))
    start_warming()
    sys.argv = ["streamlit", "run", str(DASHBOARD), *args]
    sys.exit(cli.main())


if __name__ == "__main__":
    # Through the imported module, not ``__main__``: the router imports ``ui.serve`` and must
    # see the thread this started.
    from ui.serve import main as serve_main

    serve_main()
