"""What a rendered map page links to, for the map tests (``tests/test_maps.py``,
``tests/test_layers.py``, ``tests/test_tile_archive.py``): the vendored assets' folder and their
URL prefix, and the URLs found in a page's HTML.
"""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENDOR = ROOT / "static" / "vendor"
PREFIX = "/app/static/vendor"
# Absolute URLs, also inside JSON strings, where tojson writes & as \u0026.
URL = re.compile(r"""(?:https?:)?//[^\s"'<>()\\]+""")
# Root-relative URLs in src/href attributes.
LINKED = re.compile(r"""(?:src|href)="([^"]+)\"""")


def absolute_urls(page: str) -> set[str]:
    """Every absolute URL in ``page`` (JSON's ``\\u0026`` and ``\\/`` read as ``&`` and ``/``)."""
    return {m.group(0) for m in URL.finditer(page.replace("\\u0026", "&").replace("\\/", "/"))}
