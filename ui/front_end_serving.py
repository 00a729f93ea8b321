"""Streamlit's front end served with fewer hand-overs between threads, and its page preloading
the map component's script (``ui.serve`` installs both before the server starts).

- :func:`serve_front_end_from_memory`: Streamlit's own files (``/static/js/...``, its CSS and
  fonts) from memory after their first request, with Streamlit's status and headers.
- :func:`page_preloading_components`: Streamlit's ``index.html`` also preloading the script that
  draws a custom component (the map's frame), which Streamlit loads only once the first run's
  deltas name it, and prefetching the map frame's Leaflet
  files (:func:`map_frame_files`).

Measured in docs/benchmarks.md ("Start-up to the first map", fourth and fifth rounds). This module
imports only the standard library at its top (Starlette inside the functions).
"""
from __future__ import annotations

import html
import json
import os
from pathlib import Path

#: Streamlit's own front-end files larger than this are served as Streamlit serves them.
MEMORY_SERVED_MAX_BYTES = 4 * 2**20


def serve_front_end_from_memory(prefetch: tuple[str, ...] = ()) -> None:
    """Serve Streamlit's front-end files (``/static/js/...``, its CSS and fonts) from memory
    after their first request, in one piece, instead of from the file in 64 KB reads.

    Starlette's ``FileResponse`` opens, reads (64 KB at a time) and closes the file in a
    worker thread, one hand-over between threads per step: ~300 for the ~60 files (3.5 MB) a
    first visit loads. While the warm-up's first stage holds the GIL (imports), each
    hand-over can wait for Python's switch interval, and the browser's page came 1.1-1.6 s
    after the health check instead of 0.8 s (docs/benchmarks.md). Here Streamlit answers the
    first request for a file as before (its lookup, its status and headers: type, length,
    ETag, Last-Modified, Cache-Control), and its body is read at once and kept; the same
    request again gets those headers and bytes without touching the file. A request with a
    range or a condition (``If-None-Match``...), a HEAD, and any other response (a 404's
    ``index.html``, a redirect) keep Streamlit's own handling. The files are the installed
    package's, unchanged while the server runs. The page (``index.html``) is sent as
    :func:`page_preloading_components` makes it, prefetching the URLs ``prefetch`` too
    (:func:`map_frame_files`)."""
    try:
        from streamlit.web.server.starlette import starlette_app
    except ImportError:   # a Streamlit without the Starlette server: leave it
        return
    create = getattr(starlette_app, "create_streamlit_static_assets_routes", None)
    if create is None or getattr(create, "serves_from_memory", False):
        return

    def create_routes(*args, **kwargs):
        routes = create(*args, **kwargs)
        for route in routes:
            static = getattr(route, "app", None)
            if static is not None and hasattr(static, "get_response"):
                static.get_response = _from_memory(static.get_response,
                                                   Path(getattr(static, "directory", "")),
                                                   tuple(prefetch))
        return routes

    create_routes.serves_from_memory = True
    starlette_app.create_streamlit_static_assets_routes = create_routes


_PLAIN_REQUEST_HEADERS = frozenset({b"if-none-match", b"if-modified-since", b"if-match",
                                    b"if-unmodified-since", b"if-range", b"range"})


def _from_memory(get_response, directory: Path, prefetch: tuple[str, ...] = ()):
    """``get_response`` (a Starlette ``StaticFiles``'s, serving ``directory``) answering plain
    GETs of a file it served before from the bytes and headers kept then
    (:func:`serve_front_end_from_memory`). Only a file served at its own path is kept (not
    ``index.html`` served for a page's path): what is kept is bounded by the package's files."""
    from starlette.responses import FileResponse, Response

    kept: dict[str, tuple[list, bytes]] = {}
    kept_page: dict[str, bytes] = {}

    async def respond(path: str, scope):
        plain = scope.get("method") == "GET" and not any(
            name in _PLAIN_REQUEST_HEADERS for name, _ in scope.get("headers", ()))
        if plain and path in kept:
            headers, body = kept[path]
            response = Response(status_code=200)
            response.raw_headers, response.body = list(headers), body
            return response
        response = await get_response(path, scope)
        if (plain and isinstance(response, FileResponse) and response.status_code == 200
                and Path(response.path) == directory / "index.html"):
            if "page" not in kept_page:
                kept_page["page"] = page_preloading_components(
                    Path(response.path).read_bytes(), directory, prefetch=prefetch)
            if response.stat_result is None:   # the page for a page's path: stat it as sent
                response.set_stat_headers(os.stat(response.path))
            return _bytes_response(response.raw_headers, kept_page["page"])
        if (plain and isinstance(response, FileResponse) and response.status_code == 200
                and response.stat_result is not None
                and response.stat_result.st_size <= MEMORY_SERVED_MAX_BYTES
                and Path(response.path) == directory / path):
            body = Path(response.path).read_bytes()
            if len(body) == response.stat_result.st_size:   # the file Streamlit looked up
                kept[path] = (list(response.raw_headers), body)
                served = Response(status_code=200)
                served.raw_headers, served.body = list(response.raw_headers), body
                return served
        return response

    return respond


def _bytes_response(raw_headers, body: bytes):
    """A response of ``body`` with ``raw_headers`` (a FileResponse's), its length corrected."""
    from starlette.responses import Response

    response = Response(status_code=200)
    response.raw_headers = [(name, value) for name, value in raw_headers
                            if name.lower() != b"content-length"]
    response.raw_headers.append((b"content-length", str(len(body)).encode()))
    response.body = body
    return response


#: The front-end modules Streamlit loads only when the page's first run draws them, preloaded
#: with the page (by their names in Streamlit's build manifest): the map's component. The
#: Explore page's widget modules (Radio, DateInput, Multiselect, Metric, ...; 0.5 MB with their
#: imports) were listed too for a round, and measured on a quiet machine: a cold start's first map
#: 4.36 s with them against 4.11 s without (the browser fetches and compiles them while the
#: server's first stage holds the same two cores), so they load when first drawn, as in
#: Streamlit (docs/benchmarks.md, "fifth round", the lead's re-measure).
PAGE_MODULES = ("ComponentInstance",)


def page_preloading_components(page: bytes, static_dir: Path,
                               names: tuple[str, ...] = PAGE_MODULES,
                               prefetch: tuple[str, ...] = ()) -> bytes:
    """Streamlit's ``index.html`` also preloading the modules it loads only once the page's
    first run draws them (``names``: the script that draws a custom component, the map's frame),
    each with the modules it imports that the page does not preload already.

    Streamlit's front end imports an element's module when the first delta naming it arrives,
    and the map component's when the map's message has: a round trip and a compile each, taken
    while the server is still busy with the page run (docs/benchmarks.md, fourth and fifth
    rounds). Listed as ``modulepreload``, they are fetched and compiled with the page's other
    ~60 modules, during the first run. Their hashed file names come from Streamlit's build
    manifest (``manifest.json`` beside ``index.html``): a name the manifest does not have (another
    Streamlit version) is left out, and a Streamlit without a readable manifest gets its page
    unchanged.

    ``prefetch``: URLs (the map frame's Leaflet files, :func:`map_frame_files`) linked as
    ``prefetch``: fetched into the browser's cache while the page's first run is on the
    server, so the map's frame, loading them one after the other once it has the map's
    message, finds them there (they are served cacheable: ``ui.serve.cache_vendored_files``)."""
    if b"</head>" not in page:
        return page
    links = [f'<link rel="modulepreload" crossorigin href="./{path}">'
             for path in preloaded_modules(static_dir, names) if f"./{path}".encode() not in page]
    links += [f'<link rel="prefetch" href="{html.escape(url)}">' for url in dict.fromkeys(prefetch)
              if html.escape(url).encode() not in page]
    if not links:
        return page
    return page.replace(b"</head>", "\n".join(links).encode() + b"\n</head>", 1)


def preloaded_modules(static_dir: Path, names: tuple[str, ...]) -> list[str]:
    """The files (``static/js/...``, relative to ``static_dir``) of the front-end modules named
    ``names`` in Streamlit's build manifest and of the modules they import, each once, in
    ``names``' order; [] when the manifest cannot be read. Dynamic imports are not followed
    (loaded only when used, e.g. Vega for a chart), nor the page's entry (already loaded)."""
    try:
        manifest = json.loads((static_dir / "manifest.json").read_bytes())
        by_name = {entry["name"]: key for key, entry in manifest.items()
                   if isinstance(entry, dict) and entry.get("isDynamicEntry")
                   and "name" in entry}
    except (OSError, ValueError, AttributeError, KeyError, TypeError):
        return []
    found: dict[str, None] = {}

    def add(key: str) -> None:
        entry = manifest.get(key)
        if not isinstance(entry, dict) or entry.get("isEntry"):
            return
        path = entry.get("file")
        if (not isinstance(path, str) or not path.endswith(".js") or path in found
                or not (static_dir / path).is_file()):
            return
        found[path] = None
        for imported in entry.get("imports", ()):
            add(imported)

    for name in names:
        if name in by_name:
            add(by_name[name])
    return list(found)


#: The map frame's own files, loaded before it draws anything: Leaflet's script and stylesheet
#: (docs/benchmarks.md, fourth round: the frame loads ``main.js``, then these, then draws).
MAP_FRAME_FILES = ("dist/leaflet.js", "dist/leaflet.css")


def map_frame_files(vendor_dir: Path, prefix: str) -> tuple[str, ...]:
    """The URLs (under ``prefix``, where ``static/vendor`` is served: ``maps.local_assets``)
    of Leaflet's script and stylesheet in the vendored ``leaflet`` package, as
    ``static/vendor/manifest.json`` lists it; () when it is not there (the map's own check,
    ``maps.local_assets``, then says what to do). Read here, not from ``maps``: this runs before
    the server starts, and importing folium then would keep the server deaf for 0.3 s."""
    try:
        manifest = json.loads((vendor_dir / "manifest.json").read_bytes())
        package = next(p for p in manifest["packages"] if p.get("name") == "leaflet")
        files, folder = package["files"], package["dir"]
    except (OSError, ValueError, KeyError, TypeError, StopIteration, AttributeError):
        return ()
    return tuple(f"{prefix.rstrip('/')}/{folder}/{name}" for name in MAP_FRAME_FILES
                 if name in files and (vendor_dir / folder / name).is_file())
