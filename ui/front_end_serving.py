"""Streamlit's front end served with fewer hand-overs between threads, and its page preloading
the map component's script (``ui.serve`` installs both before the server starts).

- :func:`serve_front_end_from_memory`: Streamlit's own files (``/static/js/...``, its CSS and
  fonts) from memory after their first request, with Streamlit's status and headers.
- :func:`page_preloading_components`: Streamlit's ``index.html`` also preloading the script that
  draws a custom component (the map's frame).

Measured in docs/benchmarks.md ("Start-up to the first map, fourth round"). This module
imports only the standard library at its top (Starlette inside the functions).
"""
from __future__ import annotations

import os
import re
from pathlib import Path

#: Streamlit's own front-end files larger than this are served as Streamlit serves them.
MEMORY_SERVED_MAX_BYTES = 4 * 2**20


def serve_front_end_from_memory() -> None:
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
    package's, unchanged while the server runs."""
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
                                                   Path(getattr(static, "directory", "")))
        return routes

    create_routes.serves_from_memory = True
    starlette_app.create_streamlit_static_assets_routes = create_routes


_PLAIN_REQUEST_HEADERS = frozenset({b"if-none-match", b"if-modified-since", b"if-match",
                                    b"if-unmodified-since", b"if-range", b"range"})


def _from_memory(get_response, directory: Path):
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
                    Path(response.path).read_bytes(), directory / "static" / "js")
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


_MODULE_IMPORT = re.compile(rb'(?:from|import)\s*"\./([\w.\-]+\.js)"')


def page_preloading_components(page: bytes, js_dir: Path) -> bytes:
    """Streamlit's ``index.html`` also preloading the script that draws a custom component
    (the map's frame) and the modules it imports that the page does not preload already.

    Streamlit loads that script only when the first component's message has arrived, one
    round trip more between the map's message and its frame, taken while the server is
    still busy with the page run (0.3 s from message to frame requested on a quiet machine,
    docs/benchmarks.md). Preloaded, it is fetched with the page's other ~60 modules. A
    Streamlit without that file (another version) gets its page unchanged."""
    found = sorted(js_dir.glob("ComponentInstance.*.js"))
    if len(found) != 1 or b"</head>" not in page:
        return page
    wanted = [found[0].name] + [name.decode() for name in
                                _MODULE_IMPORT.findall(found[0].read_bytes())]
    links = [f'<link rel="modulepreload" crossorigin href="./static/js/{name}">'
             for name in dict.fromkeys(wanted)
             if f"./static/js/{name}".encode() not in page and (js_dir / name).is_file()]
    return page.replace(b"</head>", "\n".join(links).encode() + b"\n</head>", 1)
