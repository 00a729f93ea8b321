"""Map layers rendered without folium's second template pass.

Data-heavy layers (a GeoJSON of thousands of hexagons or areas, a heat map's rows, point
clusters) mix in :class:`VerbatimRender`: their output goes on the page as rendered, and their
data are serialised once (see the class for why). :class:`VerbatimGeoJson` is ``folium.GeoJson``
rendered that way, with its bounds computed by NumPy. This module never imports Streamlit.
"""
from __future__ import annotations

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


class VerbatimGeoJson(folium.GeoJson, VerbatimRender):
    """``folium.GeoJson`` rendered once (see :class:`VerbatimRender`), with bounds computed
    by NumPy instead of a Python loop over every vertex (``st_folium`` asks for them)."""

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
