"""Map layers rendered without folium's second template pass.

Data-heavy layers (a GeoJSON of thousands of hexagons or areas, a heat map's rows, point
clusters) mix in :class:`VerbatimRender`: their output goes on the page as rendered, and their
data are serialised once (see the class for why). :class:`VerbatimGeoJson` is ``folium.GeoJson``
rendered that way, with its bounds computed by NumPy. This module never imports Streamlit.
"""
from __future__ import annotations

import json
from types import SimpleNamespace

import folium
import numpy as np
from branca.element import Element, Figure, MacroElement


class _Verbatim(Element):
    """Text put on the page as it is, made by ``make()`` when the page is rendered."""

    def __init__(self, make):
        super().__init__()
        self.make = make

    def render(self, **kwargs) -> str:
        return self.make()


class VerbatimRender(MacroElement):
    """Mixin for data-heavy layers: their rendered output is not parsed as a template again.

    branca's ``MacroElement.render`` wraps each element's rendered header, html and script in a
    new ``Element(template=...)``, which *compiles the text as a Jinja template*: for a layer
    carrying its data (a GeoJSON of thousands of hexagons, a heat map's rows) that lexing took
    most of a map's render time, and it happens on every render (``st_folium`` renders twice).
    It is also why text in a layer had to be kept free of ``{{``. Mixed in after the folium
    class (``class Fast(folium.GeoJson, VerbatimRender)``), this takes the place of
    ``MacroElement.render`` in the chain, so the folium class's own ``render`` (style maps,
    ``addTo``, script links) runs unchanged and only the second pass is left out.

    The script (which holds the data) is made only when the page's script is rendered:
    ``st_folium`` never renders it (it asks each element for its script itself), so the data
    are serialised once, not twice.
    """

    def render(self, **kwargs):
        figure = self.get_root()
        if not isinstance(figure, Figure):
            raise TypeError("render this element on a map in a Figure")
        module = self._template.module
        for part in ("header", "html", "script"):
            macro = module.__dict__.get(part)
            if macro is None:
                continue
            if part == "script":
                make = (lambda macro=macro: macro(self, kwargs))
            else:
                text = macro(self, kwargs)
                make = (lambda text=text: text)
            getattr(figure, part).add_child(_Verbatim(make), name=self.get_name())
        for element in self._children.values():
            element.render(**kwargs)


class CompactData:
    """A folium element's template whose ``this.data`` is written as compact JSON.

    Jinja's ``tojson`` writes ``", "`` and ``": "`` between items: for a layer's data (every
    coordinate pair of thousands of shapes) that is ~9% of the map's bytes, sent to the page
    and parsed again in the map's frame. The data are written here with the same keys, order
    and escaping (``sort_keys``, ASCII, ``<``, ``>``, ``&`` and ``'`` as ``\\u`` escapes), without
    the spaces. Set as the ``_template`` of a layer class (``CompactData(folium.GeoJson._template)``):
    ``st_folium`` and a whole page (``Figure.render``) both render through it."""

    def __init__(self, template):
        self.template = template

    @property
    def module(self):
        module = self.template.module
        return SimpleNamespace(**{part: _with_compact_data(getattr(module, part))
                                  for part in ("header", "html", "script")
                                  if hasattr(module, part)})

    def render(self, **kwargs):
        return self.template.render(**kwargs)


def compact_json(value) -> str:
    """``value`` as Jinja's ``tojson`` writes it, without spaces between items."""
    return (json.dumps(value, sort_keys=True, separators=(",", ":"))
            .replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("'", "\\u0027"))


def _with_compact_data(macro):
    def render(this, kwargs=None):
        data = getattr(this, "data", None)
        if not isinstance(data, (dict, list)):
            return macro(this, kwargs)
        marker = f"wy-compact-data-{id(this)}"
        this.data = marker
        try:
            text = macro(this, kwargs)
        finally:
            this.data = data
        return text.replace(json.dumps(marker), compact_json(data))
    return render


class VerbatimGeoJson(folium.GeoJson, VerbatimRender):
    """``folium.GeoJson`` rendered once (see :class:`VerbatimRender`), its data written as
    compact JSON (:class:`CompactData`), with bounds computed by NumPy instead of a Python
    loop over every vertex (``st_folium`` asks for them)."""

    _template = CompactData(folium.GeoJson._template)

    def _get_self_bounds(self):
        coords = [np.asarray(c, dtype=float).reshape(-1, 2)
                  for c in _coordinates(self.data)]
        if not coords:
            return [[None, None], [None, None]]
        xy = np.concatenate(coords)
        (lon0, lat0), (lon1, lat1) = xy.min(axis=0), xy.max(axis=0)
        return [[float(lat0), float(lon0)], [float(lat1), float(lon1)]]


def _coordinates(data: dict):
    """Every polygon ring / line / point coordinate array of a FeatureCollection."""
    for feature in data.get("features", ()):
        geometry = feature.get("geometry") or {}
        kind, coords = geometry.get("type"), geometry.get("coordinates")
        if kind == "Polygon":
            yield from coords
        elif kind == "MultiPolygon":
            for polygon in coords:
                yield from polygon
        elif kind in ("LineString", "MultiPoint"):
            yield coords
        elif kind == "MultiLineString":
            yield from coords
        elif kind == "Point":
            yield [coords]
