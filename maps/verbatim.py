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


def compact_data(cls):
    """Class decorator: ``cls``'s data written as compact JSON (:class:`CompactData`)."""
    cls._template = CompactData(cls._template)
    return cls


class CompactData:
    """A folium element's template whose ``this.data`` is written as compact JSON.

    Jinja's ``tojson`` writes ``", "`` and ``": "`` between items: for a layer's data (every
    coordinate pair of thousands of shapes) that is ~9% of the map's bytes, sent to the page
    and parsed again in the map's frame. The data are written here with the same keys, order
    and escaping (``sort_keys``, ASCII, ``<``, ``>``, ``&`` and ``'`` as ``\\u`` escapes), without
    the spaces. Put on a layer class with :func:`compact_data`: ``st_folium`` and a whole page
    (``Figure.render``) both render through it."""

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
        written = _data_text(this, data)
        # The helpers go before the element's script: the data stand inside a call.
        prefix = SHAPES_JS if written.startswith(("wyKeepShapes(", "wyTakeShapes(")) else ""
        return prefix + text.replace(json.dumps(marker), written)
    return render


def _data_text(element, data) -> str:
    """The data of ``element`` as the page gets them: compact JSON, and for a GeoJSON that
    keeps or takes its shapes (:class:`VerbatimGeoJson`), wrapped in the call that does it."""
    kept = getattr(element, "keeps_shapes", None)
    if kept:
        return f"wyKeepShapes({json.dumps(kept)},{compact_json(data)})"
    keeper = _shape_keeper(element)
    if keeper is None:
        return compact_json(data)
    shapes = {feature.get("properties", {}).get("code"): feature.get("geometry")
              for feature in keeper.data.get("features", ())}
    features = []
    for feature in data.get("features", ()):
        code = feature.get("properties", {}).get("code")
        if code is not None and feature.get("geometry") is shapes.get(code):
            feature = {**feature, "geometry": None}   # the keeper's own geometry object
        features.append(feature)
    return (f"wyTakeShapes({json.dumps(keeper.keeps_shapes)},"
            f"{compact_json({**data, 'features': features})})")


def _shape_keeper(element):
    """The :class:`VerbatimGeoJson` keeping the shapes ``element`` takes, if it is on the same
    map and drawn before it (its script runs first); else None."""
    wanted = getattr(element, "takes_shapes", None)
    if not wanted:
        return None
    for found in _in_order(element.get_root()):
        if found is element:
            return None
        if getattr(found, "keeps_shapes", None) == wanted:
            return found
    return None


def _in_order(element):
    for child in getattr(element, "_children", {}).values():
        yield child
        yield from _in_order(child)


#: What a GeoJSON whose shapes another layer takes again calls with its data (the page keeps
#: each area's geometry by code), and what that other layer calls with its data, whose shared
#: features have a null geometry. Defined once per page, however often it is sent.
SHAPES_JS = ("window.wyKeepShapes=window.wyKeepShapes||function(key,data){"
             "var kept={};data.features.forEach(function(f){"
             "kept[f.properties.code]=f.geometry;});"
             "(window.wyShapes=window.wyShapes||{})[key]=kept;return data;};"
             "window.wyTakeShapes=window.wyTakeShapes||function(key,data){"
             "var kept=(window.wyShapes||{})[key]||{};data.features.forEach(function(f){"
             "if(f.geometry===null){f.geometry=kept[f.properties.code]||null;}});return data;};"
             "\n")


@compact_data
class VerbatimGeoJson(folium.GeoJson, VerbatimRender):
    """``folium.GeoJson`` rendered once (see :class:`VerbatimRender`), its data written as
    compact JSON (:class:`CompactData`), with bounds computed by NumPy instead of a Python
    loop over every vertex (``st_folium`` asks for them).

    Two layers of one map drawing the same areas (the base map's ward outlines and the ward
    choropleth) need not send each shape twice: a layer with ``keeps_shapes = key`` has the
    page keep its features' geometries by ``properties.code``, and a later layer of the same
    map with ``takes_shapes = key`` sends, for each feature whose geometry *is* the keeper's
    (the same object: the shapes ``geo.outlines`` keeps once per process), a null geometry
    that the page fills from the kept one before Leaflet reads it. Without a keeper drawn
    before it on the same map, a layer sends its shapes itself."""

    keeps_shapes: str | None = None
    takes_shapes: str | None = None

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
