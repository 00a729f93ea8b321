"""Folium maps that load nothing from outside the dashboard's own server.

folium loads Leaflet and its plugins from public CDNs by default (``folium.Map.default_js`` and
``default_css``, and each plugin's own). Police and council networks often block those CDNs, so
the map would stay blank, and every such request tells a third party that an analyst is looking
at a map. Here every script, stylesheet, image and font comes from ``static/vendor/``, which
``make assets`` fills from npm (and folium's own package) at pinned versions, and which Streamlit
serves at ``/app/static/vendor/...`` (``[server] enableStaticServing``). Nothing is fetched at
run time.

- :func:`local_map` (or :class:`LocalAssetMap`) is a ``folium.Map`` whose page, and the page of
  every plugin added to it, links only vendored files. A file that should be vendored but is
  missing raises :class:`MissingAssetError` ("run `make assets`"); an element that needs a file
  nobody vendored raises :class:`UnvendoredAssetError`. Neither ever falls back to a CDN.
- :func:`base_map` is the West Yorkshire base: the five districts always, base-map tiles only if
  a tile URL is configured (``MAP_TILE_URL`` and ``MAP_TILE_ATTRIBUTION``), otherwise a plain
  light background with district and ward outlines and names.

The mapping from folium's CDN URLs to vendored files is read from ``static/vendor/manifest.json``,
which ``tools/vendor_assets.py`` writes. This module never imports Streamlit.
"""
from __future__ import annotations

import html
import json
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import branca.colormap
import folium
import geopandas as gpd
import numpy as np
import shapely
from branca.element import CssLink, Element, Figure, JavascriptLink, MacroElement
from folium.elements import JSCSSMixin
from folium.template import Template
from shapely.ops import polylabel

from geo.boundaries import load_boundaries
from geo.crs import BNG, WGS84

ROOT = Path(__file__).resolve().parent.parent
VENDOR_DIR = ROOT / "static" / "vendor"
MANIFEST_NAME = "manifest.json"
#: Where Streamlit serves ``static/vendor/`` (``[server] enableStaticServing``). Behind a proxy
#: with ``server.baseUrlPath = "wy"`` it is ``/wy/app/static/vendor``: set ``MAP_ASSET_PREFIX``.
DEFAULT_ASSET_PREFIX = "/app/static/vendor"
ASSET_PREFIX_ENV = "MAP_ASSET_PREFIX"
TILE_URL_ENV = "MAP_TILE_URL"
TILE_ATTRIBUTION_ENV = "MAP_TILE_ATTRIBUTION"
MAKE_HINT = "run `make assets` (npm ci --ignore-scripts, then tools/vendor_assets.py)"

#: West Yorkshire's extent (lat, lon) and the view the base map opens on.
WEST_YORKSHIRE_BOUNDS = ((53.5198, -2.1733), (53.9631, -1.1988))
CENTRE = (53.7415, -1.6861)
ZOOM_START = 10
MIN_ZOOM = 9
#: Locations are geomasked to 100 m cells: closer than street level shows nothing more.
MAX_ZOOM = 17
#: How far the view may be panned beyond West Yorkshire, in degrees.
PAN_MARGIN = 0.35
#: Ward names appear from this zoom on; below it they would overlap.
WARD_LABEL_MIN_ZOOM = 12
BOUNDARY_PANE = "wy-boundaries"  # above tiles (200), below data layers (overlayPane, 400)
BOUNDARY_PANE_Z = 350
LABEL_PANE = "wy-labels"  # above data layers, below markers (600) and tooltips (650)
LABEL_PANE_Z = 450
#: Coordinates are rounded to this grid (degrees; 1e-5 is about 1 m).
PRECISION = 1e-5
#: Short form of data/boundaries/SOURCES.md's attribution (the landing page shows it in full).
BOUNDARY_ATTRIBUTION = ("Source: ONS (OGL v3.0). Contains OS data © Crown copyright and "
                        "database right 2014–2022")
#: Leaflet's own type size (leaflet.css: 12px, 0.75rem). folium's map template overrides it
#: with ``.leaflet-container { font-size: 1rem }`` (its ``font_size`` default), which drew the
#: attribution, the layer control and tooltips at 16px: the credit wrapped over the map's
#: bottom edge.
LEAFLET_FONT_SIZE = "0.75rem"


class MapAssetError(RuntimeError):
    """A map needs a front-end file that the dashboard cannot serve itself."""


class MissingAssetError(MapAssetError):
    """A vendored file (or the vendor manifest) is not in ``static/vendor/``."""


class UnvendoredAssetError(MapAssetError):
    """A map element loads a URL that no vendored file stands in for."""


# --------------------------------------------------------------------------------------------
# Vendored assets


@dataclass(frozen=True)
class AssetCatalogue:
    """What ``static/vendor/manifest.json`` says.

    Attributes
    ----------
    vendor_dir : Path
    urls : dict of str to str
        folium's CDN URL -> vendored file, relative to ``vendor_dir``.
    dropped : dict of str to str
        CDN URLs deliberately left out of the page -> why.
    packages : list of dict
        name, version, source, license, dir and files of each vendored package.
    """

    vendor_dir: Path
    urls: dict[str, str]
    dropped: dict[str, str]
    packages: list[dict]

    def file(self, rel: str) -> Path:
        """Path of a vendored file; :class:`MissingAssetError` if it is not there."""
        path = self.vendor_dir / rel
        if not path.is_file():
            raise MissingAssetError(f"vendored map asset {path} is missing: {MAKE_HINT}")
        return path


_CATALOGUES: dict[Path, tuple[int, AssetCatalogue]] = {}


def load_catalogue(vendor_dir: Path | str | None = None) -> AssetCatalogue:
    """Read the vendor manifest (cached until the file changes).

    Parameters
    ----------
    vendor_dir : path, optional
        Defaults to ``static/vendor`` in the project.

    Raises
    ------
    MissingAssetError
        There is no manifest: the assets were never vendored.
    """
    vendor_dir = Path(vendor_dir) if vendor_dir is not None else VENDOR_DIR
    manifest = vendor_dir / MANIFEST_NAME
    try:
        mtime = manifest.stat().st_mtime_ns
    except FileNotFoundError:
        raise MissingAssetError(f"{manifest} is missing: the map's scripts and styles are not "
                                f"vendored; {MAKE_HINT}") from None
    cached = _CATALOGUES.get(manifest)
    if cached and cached[0] == mtime:
        return cached[1]
    data = json.loads(manifest.read_text(encoding="utf-8"))
    catalogue = AssetCatalogue(vendor_dir, dict(data["urls"]), dict(data.get("dropped", {})),
                               list(data.get("packages", [])))
    _CATALOGUES[manifest] = (mtime, catalogue)
    return catalogue


def resolve_asset_prefix(prefix: str | None = None) -> str:
    """The URL prefix vendored files are served under: ``prefix``, ``MAP_ASSET_PREFIX`` or
    ``/app/static/vendor``, without a trailing slash."""
    return (prefix or os.environ.get(ASSET_PREFIX_ENV) or DEFAULT_ASSET_PREFIX).rstrip("/")


def localise_links(links, *, owner: str = "map", prefix: str | None = None,
                   vendor_dir: Path | str | None = None) -> list[tuple[str, str]]:
    """Rewrite folium ``(name, url)`` links to vendored URLs.

    Parameters
    ----------
    links : iterable of (str, str)
        A ``default_js`` or ``default_css`` list.
    owner : str
        Who asks (for error messages), e.g. ``"MarkerCluster"``.
    prefix, vendor_dir : optional
        See :func:`resolve_asset_prefix` and :func:`load_catalogue`.

    Returns
    -------
    list of (str, str)
        The same names with local URLs; links the manifest lists as dropped are left out.
        Links already under ``prefix`` are kept (after checking that the file exists).

    Raises
    ------
    MissingAssetError
        A vendored file is missing.
    UnvendoredAssetError
        A URL is neither vendored nor dropped.
    """
    catalogue = load_catalogue(vendor_dir)
    prefix = resolve_asset_prefix(prefix)
    local = []
    for name, url in links:
        if url.startswith(prefix + "/"):
            rel = url[len(prefix) + 1:]
        elif url in catalogue.dropped:
            continue
        elif url in catalogue.urls:
            rel = catalogue.urls[url]
        else:
            raise UnvendoredAssetError(
                f"{owner} loads {url}, which is not vendored, and the map must load nothing from "
                "outside the dashboard: add the package to package.json and to SPEC in "
                f"tools/vendor_assets.py (or do without {owner}), then {MAKE_HINT}")
        catalogue.file(rel)
        local.append((name, f"{prefix}/{rel}"))
    return local


def _walk(element):
    yield element
    for child in list(getattr(element, "_children", {}).values()):
        yield from _walk(child)


def use_local_assets(target, *, prefix: str | None = None,
                     vendor_dir: Path | str | None = None):
    """Point a map (or a folium class) at the vendored files instead of CDNs.

    Parameters
    ----------
    target : branca Element or JSCSSMixin subclass
        A map or any element: its own and all its descendants' ``default_js``/``default_css``
        are replaced on the instances. A class (``folium.plugins.MarkerCluster``): its class
        attributes are replaced, which affects every instance in the process.
    prefix, vendor_dir : optional
        See :func:`resolve_asset_prefix` and :func:`load_catalogue`.

    Returns
    -------
    The target, for chaining.

    Raises
    ------
    MissingAssetError, UnvendoredAssetError
        See :func:`localise_links`. Also ``UnvendoredAssetError`` for a branca colormap (a
        ``Choropleth`` legend): it loads d3 from a CDN, and streamlit-folium adds two more d3
        links of its own that cannot be rewritten.

    Notes
    -----
    Elements added after this call keep their CDN links; a :class:`LocalAssetMap` calls this
    again whenever it is rendered.
    """
    if isinstance(target, type):
        if not issubclass(target, JSCSSMixin):
            raise TypeError(f"{target.__name__} is not a folium element with default_js/css")
        target.default_js = localise_links(target.default_js, owner=target.__name__,
                                           prefix=prefix, vendor_dir=vendor_dir)
        target.default_css = localise_links(target.default_css, owner=target.__name__,
                                            prefix=prefix, vendor_dir=vendor_dir)
        return target
    for element in _walk(target):
        owner = type(element).__name__
        if isinstance(element, branca.colormap.ColorMap):
            raise UnvendoredAssetError(
                f"{owner} (a colormap legend, e.g. a Choropleth's) loads d3 from a CDN: draw the "
                "legend outside the map (e.g. with Streamlit) and colour areas with "
                "folium.GeoJson(style_function=...)")
        if isinstance(element, JSCSSMixin):
            element.default_js = localise_links(element.default_js, owner=owner, prefix=prefix,
                                                vendor_dir=vendor_dir)
            element.default_css = localise_links(element.default_css, owner=owner,
                                                 prefix=prefix, vendor_dir=vendor_dir)
    return target


def _check_page_links(figure: Figure, prefix: str) -> None:
    """Fail if anything rendered a script or stylesheet link that is not vendored."""
    for element in _walk(figure.header):
        if isinstance(element, (JavascriptLink, CssLink)) and not element.url.startswith(
                prefix + "/"):
            raise UnvendoredAssetError(
                f"the map page links {element.url}, which is not vendored (an element added it "
                f"while rendering): remove that element, or vendor the file and {MAKE_HINT}")


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


class _LocalMapDefaults(MacroElement):
    """Two Leaflet settings every local map needs.

    - Where Leaflet's marker images are. Leaflet guesses the folder from its stylesheet, but in
      streamlit-folium's frame the stylesheet is often not applied yet when the first marker is
      made, and the fallback guess drops a slash (``.../distmarker-icon.png``, a 404; Leaflet
      issue 4968).
    - Leaflet's credit as plain text. Leaflet makes it a link to leafletjs.com; as text it keeps
      the credit and leaves no link that would send the dashboard's address to a third party.
    """

    _template = Template("""
        {% macro script(this, kwargs) %}
        L.Icon.Default.imagePath = {{ this.image_path|tojson }};
        if ({{ this._parent.get_name() }}.attributionControl) {
            {{ this._parent.get_name() }}.attributionControl.setPrefix("Leaflet");
        }
        {% endmacro %}
    """)

    def __init__(self, image_path: str):
        super().__init__()
        self._name = "LocalMapDefaults"
        self.image_path = image_path


class LocalAssetMap(folium.Map):
    """A ``folium.Map`` whose page loads scripts, styles and fonts only from the dashboard.

    Takes every ``folium.Map`` argument plus ``asset_prefix`` and ``vendor_dir`` (see
    :func:`resolve_asset_prefix`, :func:`load_catalogue`); ``min_zoom``/``max_zoom`` limit the
    map itself, not only its tile layer; ``font_size`` defaults to Leaflet's own
    (:data:`LEAFLET_FONT_SIZE`), not folium's 1rem. Each render (``m.get_root().render()``,
    ``st_folium(m)``) first rewrites the links of the map and of every element then on it, and
    then checks that the page links nothing else, so plugins added after construction are
    covered too. Missing files fail at construction already.
    """

    def __init__(self, *args, asset_prefix: str | None = None,
                 vendor_dir: Path | str | None = None, **kwargs):
        self.asset_prefix = resolve_asset_prefix(asset_prefix)
        self.vendor_dir = vendor_dir
        kwargs.setdefault("font_size", LEAFLET_FONT_SIZE)
        super().__init__(*args, **kwargs)
        # folium gives min_zoom/max_zoom to its tile layer only; a map without tiles would have
        # no zoom limits (and MarkerCluster throws "Map has no maxZoom specified").
        for option, key in (("minZoom", "min_zoom"), ("maxZoom", "max_zoom")):
            if kwargs.get(key) is not None:
                self.options[option] = kwargs[key]
        use_local_assets(self, prefix=self.asset_prefix, vendor_dir=self.vendor_dir)
        leaflet_css = dict(self.default_css).get("leaflet_css")
        if leaflet_css:
            _LocalMapDefaults(leaflet_css.rsplit("/", 1)[0] + "/images/").add_to(self)

    def render(self, **kwargs):
        use_local_assets(self, prefix=self.asset_prefix, vendor_dir=self.vendor_dir)
        super().render(**kwargs)
        _check_page_links(self.get_root(), self.asset_prefix)


def local_map(**kwargs) -> LocalAssetMap:
    """A :class:`LocalAssetMap` with this project's defaults.

    Parameters
    ----------
    **kwargs
        ``folium.Map``'s keyword arguments, plus ``asset_prefix`` and ``vendor_dir``. Defaults:
        ``tiles=None`` (see :func:`base_map` for tiles) and ``max_zoom=MAX_ZOOM``: without a
        tile layer Leaflet knows no maximum zoom, and MarkerCluster then throws "Map has no
        maxZoom specified".

    Returns
    -------
    LocalAssetMap
    """
    kwargs.setdefault("tiles", None)
    kwargs.setdefault("max_zoom", MAX_ZOOM)
    return LocalAssetMap(**kwargs)


# --------------------------------------------------------------------------------------------
# Base-map tiles


@dataclass(frozen=True)
class TileSource:
    """A raster tile service: ``url`` with ``{z}``, ``{x}``, ``{y}``; ``attribution`` as text."""

    url: str
    attribution: str


def tile_source(tile_url: str | None = None, attribution: str | None = None) -> TileSource | None:
    """The configured tile service, or None for a map without tiles.

    Parameters
    ----------
    tile_url : str, optional
        A Leaflet tile URL template (``https://tiles.example/{z}/{x}/{y}.png``, or a path on
        the dashboard's own host such as ``/tiles/{z}/{x}/{y}.png``). None reads
        ``MAP_TILE_URL``; an empty string means no tiles whatever the environment says.
    attribution : str, optional
        The credit the tile provider requires, as plain text (it is escaped). None reads
        ``MAP_TILE_ATTRIBUTION``.

    Raises
    ------
    ValueError
        The URL is not a tile template, or there is a URL and no attribution.
    """
    url = (os.environ.get(TILE_URL_ENV, "") if tile_url is None else tile_url).strip()
    if not url:
        return None
    parts = urlsplit(url)
    if not (parts.scheme in ("http", "https") and parts.netloc) and not url.startswith("/"):
        raise ValueError(f"{TILE_URL_ENV} {url!r} is not an http(s) URL or a path on this host")
    if not all(f"{{{axis}}}" in url for axis in ("z", "x")) or not (
            "{y}" in url or "{-y}" in url):
        raise ValueError(f"{TILE_URL_ENV} {url!r} has no {{z}}/{{x}}/{{y}} placeholders")
    text = (os.environ.get(TILE_ATTRIBUTION_ENV, "") if attribution is None
            else attribution).strip()
    if not text:
        raise ValueError(f"a tile URL is set ({TILE_URL_ENV}) but no attribution "
                         f"({TILE_ATTRIBUTION_ENV}): tile providers require one, e.g. "
                         "'© OpenStreetMap contributors' or 'Contains OS data © Crown copyright "
                         "and database right 2025'")
    return TileSource(url, text)


# --------------------------------------------------------------------------------------------
# Boundaries and labels


class BaseMapStyle(MacroElement):
    """Label styles, and the plain light background of a map without tiles."""

    _template = Template("""
        {% macro header(this, kwargs) %}
        <style>
        .leaflet-container.wy-plain { background: #e8ecf0; }
        .wy-label span { position: absolute; transform: translate(-50%, -50%);
          white-space: nowrap; pointer-events: none;
          font-family: "Helvetica Neue", Arial, Helvetica, sans-serif;
          text-shadow: 0 0 2px #fff, 0 0 2px #fff, 0 0 3px #fff, 0 0 4px #fff; }
        .wy-label-district span { font-size: 13px; font-weight: 700; letter-spacing: .08em;
          text-transform: uppercase; color: #2c3946; }
        .wy-label-ward span { font-size: 11px; color: #56626e; }
        /* On a narrow map the credits wrap beside the scale bar rather than over it. */
        .leaflet-container .leaflet-control-attribution { max-width: calc(100% - 130px); }
        </style>
        {% endmacro %}
        {% macro script(this, kwargs) %}
        {%- if this.plain %}
        {{ this._parent.get_name() }}.getContainer().classList.add("wy-plain");
        {%- endif %}
        {% endmacro %}
    """)

    def __init__(self, plain: bool):
        super().__init__()
        self._name = "BaseMapStyle"
        self.plain = plain


class AreaLabels(MacroElement):
    """Area names drawn as text on the map, in their own non-interactive pane.

    Parameters
    ----------
    districts, wards : list of (float, float, str)
        ``(lat, lon, name)``; the names are HTML-escaped here. District names are always
        shown, ward names from ``ward_min_zoom`` on.
    ward_min_zoom : int
    """

    _template = Template("""
        {% macro script(this, kwargs) %}
        (function (map) {
            var name = {{ this.pane|tojson }};
            var pane = map.getPane(name) || map.createPane(name);
            pane.style.zIndex = {{ this.z_index|tojson }};
            pane.style.pointerEvents = "none";
            function labels(rows, kind) {
                var group = L.layerGroup();
                rows.forEach(function (row) {
                    L.marker([row[0], row[1]], {
                        icon: L.divIcon({className: "wy-label wy-label-" + kind,
                                         html: "<span>" + row[2] + "</span>", iconSize: null}),
                        interactive: false, keyboard: false, pane: name
                    }).addTo(group);
                });
                return group;
            }
            labels({{ this.districts|tojson }}, "district").addTo(map);
            var wards = labels({{ this.wards|tojson }}, "ward");
            function showWards() {
                if (map.getZoom() >= {{ this.ward_min_zoom|tojson }}) { wards.addTo(map); }
                else { wards.remove(); }
            }
            map.on("zoomend", showWards);
            showWards();
        })({{ this._parent.get_name() }});
        {% endmacro %}
    """)

    def __init__(self, districts, wards=(), ward_min_zoom: int = WARD_LABEL_MIN_ZOOM):
        super().__init__()
        self._name = "AreaLabels"
        self.pane = LABEL_PANE
        self.z_index = LABEL_PANE_Z
        # Escaped for HTML here, then JSON-encoded by the template (tojson also escapes <, >, &).
        self.districts = [[lat, lon, html.escape(str(name))] for lat, lon, name in districts]
        self.wards = [[lat, lon, html.escape(str(name))] for lat, lon, name in wards]
        self.ward_min_zoom = int(ward_min_zoom)


def label_points(areas: gpd.GeoDataFrame) -> list[tuple[float, float, str]]:
    """Where to write each area's name: ``(lat, lon, name)`` rounded to 5 decimals.

    The pole of inaccessibility (the interior point furthest from the edge; of the largest part
    of a multipolygon), computed in British National Grid to 25 m, so a name sits well inside
    its area even when the centroid would fall outside.
    """
    def point(geom):
        if geom.geom_type == "MultiPolygon":
            geom = max(geom.geoms, key=lambda part: part.area)
        return polylabel(geom, 25)

    points = gpd.GeoSeries([point(g) for g in areas.geometry.to_crs(BNG)], crs=BNG).to_crs(WGS84)
    return [(round(p.y, 5), round(p.x, 5), str(name)) for p, name in zip(points, areas["name"])]


def boundary_geojson(areas: gpd.GeoDataFrame, properties=("code", "name")) -> dict:
    """A small FeatureCollection of ``areas``.

    Parameters
    ----------
    areas : GeoDataFrame
    properties : sequence of str
        The only columns kept (a tooltip needs ``name``; an outline needs just ``code``).

    Returns
    -------
    dict
        GeoJSON in EPSG:4326, coordinates on a 1e-5 degree grid (about 1 m).
    """
    slim = areas[[*properties, "geometry"]].copy()
    slim["geometry"] = shapely.set_precision(slim.geometry.values, PRECISION)
    return json.loads(slim.to_crs(WGS84).to_json(drop_id=True))


def _boundary_layer(areas, *, name, style, class_name) -> folium.GeoJson:
    return VerbatimGeoJson(
        boundary_geojson(areas, properties=("code",)), name=name,
        style_function=lambda _feature: style, control=False, interactive=False,
        pane=BOUNDARY_PANE, class_name=class_name, attribution=html.escape(BOUNDARY_ATTRIBUTION))


def base_map(tile_url: str | None = None, attribution: str | None = None, *,
             labels: bool | None = None, districts: gpd.GeoDataFrame | None = None,
             wards: gpd.GeoDataFrame | None = None,
             ward_label_min_zoom: int = WARD_LABEL_MIN_ZOOM,
             asset_prefix: str | None = None, vendor_dir: Path | str | None = None,
             **map_kwargs) -> LocalAssetMap:
    """The West Yorkshire base map, loading nothing from outside the dashboard.

    Parameters
    ----------
    tile_url, attribution : str, optional
        Base-map tiles; see :func:`tile_source` (None reads ``MAP_TILE_URL`` and
        ``MAP_TILE_ATTRIBUTION``; with no URL there are no tiles).
    labels : bool, optional
        Write district names (and ward names when zoomed in). Default: only without tiles,
        whose own labels would clash.
    districts, wards : GeoDataFrame, optional
        ``code``, ``name``, geometry; default :func:`geo.boundaries.load_boundaries`.
    ward_label_min_zoom : int
        Zoom from which ward names show.
    asset_prefix, vendor_dir : optional
        See :class:`LocalAssetMap`.
    **map_kwargs
        Passed to ``folium.Map`` (e.g. ``height``, ``zoom_start``), overriding the defaults
        here; not ``tiles`` (use ``tile_url``).

    Returns
    -------
    LocalAssetMap
        Centred on West Yorkshire and fitted to it, zoom limited to 9–17 and panning to the
        county and its surroundings. The five district outlines are always drawn, non-interactive
        (clicks reach the map and the layers added later), in a pane below the data layers.
        Without tiles: a light background, the districts filled white, ward outlines, names.

    Raises
    ------
    MissingAssetError
        ``static/vendor`` is incomplete: run ``make assets``.
    ValueError
        A tile URL without attribution, or not a tile template.
    TypeError
        ``tiles=`` was passed.
    """
    if "tiles" in map_kwargs:
        raise TypeError("base_map takes tile_url/attribution (or MAP_TILE_URL), not tiles=: "
                        "folium's named tiles come from public servers")
    tiles = tile_source(tile_url, attribution)
    plain = tiles is None
    labels = plain if labels is None else labels
    districts = load_boundaries("district") if districts is None else districts
    if wards is None and (plain or labels):
        wards = load_boundaries("ward")
    (south, west), (north, east) = WEST_YORKSHIRE_BOUNDS
    options = dict(location=CENTRE, zoom_start=ZOOM_START, min_zoom=MIN_ZOOM, max_zoom=MAX_ZOOM,
                   max_bounds=True, min_lat=south - PAN_MARGIN, max_lat=north + PAN_MARGIN,
                   min_lon=west - PAN_MARGIN, max_lon=east + PAN_MARGIN, control_scale=True,
                   tiles=None)
    options.update(map_kwargs)
    m = LocalAssetMap(asset_prefix=asset_prefix, vendor_dir=vendor_dir, **options)
    if tiles is not None:
        folium.TileLayer(tiles=tiles.url, attr=html.escape(tiles.attribution), name="Base map",
                         min_zoom=MIN_ZOOM, max_zoom=MAX_ZOOM, control=False).add_to(m)
    BaseMapStyle(plain=plain).add_to(m)
    folium.map.CustomPane(BOUNDARY_PANE, z_index=BOUNDARY_PANE_Z, pointer_events=False).add_to(m)
    # Districts first: without tiles their white fill is the land, and the ward lines go on it.
    district_style = {"color": "#34495e", "weight": 2, "opacity": 0.9}
    district_style.update({"fillColor": "#ffffff", "fillOpacity": 1} if plain else {"fill": False})
    _boundary_layer(districts, name="Districts", class_name="wy-district",
                    style=district_style).add_to(m)
    if plain:
        _boundary_layer(wards, name="Wards", class_name="wy-ward",
                        style={"color": "#9aa5b1", "weight": 0.8, "fill": False}).add_to(m)
    if labels:
        AreaLabels(label_points(districts), label_points(wards) if wards is not None else [],
                   ward_min_zoom=ward_label_min_zoom).add_to(m)
    m.fit_bounds([list(WEST_YORKSHIRE_BOUNDS[0]), list(WEST_YORKSHIRE_BOUNDS[1])])
    return m
