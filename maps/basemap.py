"""The West Yorkshire base map, loading nothing from outside the dashboard's own server.

Built on ``maps.local_assets.LocalAssetMap``, whose page links only the files vendored in
``static/vendor/`` (``make assets``), never a CDN.

- :func:`local_map` is a ``LocalAssetMap`` with this project's defaults (no tiles, the zoom
  limit).
- :func:`base_map` is the West Yorkshire base: the five districts always; street tiles from an
  offline PMTiles archive the dashboard serves itself (``MAP_TILE_ARCHIVE``, see
  ``maps.tile_archive``) or from a tile URL (``MAP_TILE_URL``), each with
  ``MAP_TILE_ATTRIBUTION``; otherwise a plain light background with district and ward outlines
  and names.

This module never imports Streamlit.
"""
from __future__ import annotations

import html
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import folium
import geopandas as gpd
from branca.element import MacroElement
from folium.template import Template

from geo.outlines import (  # noqa: F401 (boundary_geojson, label_points, PRECISION: this module's API)
    PRECISION,
    boundary_geojson,
    label_points,
    level_labels,
    outline_collection,
)
from maps.local_assets import LocalAssetMap
from maps.tile_archive import (
    TILE_ARCHIVE_ENV,
    ArchiveTileLayer,
    configured_archive,
    publish,
)
from maps.verbatim import VerbatimGeoJson

TILE_URL_ENV = "MAP_TILE_URL"
TILE_ATTRIBUTION_ENV = "MAP_TILE_ATTRIBUTION"

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
#: Short form of data/boundaries/SOURCES.md's attribution (the landing page shows it in full).
BOUNDARY_ATTRIBUTION = ("Source: ONS (OGL v3.0). Contains OS data © Crown copyright and "
                        "database right 2014–2022")


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


def _boundary_layer(areas, *, name, style, class_name, level=None) -> folium.GeoJson:
    """The outlines of ``areas``; of the shipped ``level`` when ``areas`` is None, from the
    outlines kept once per process (``geo.outlines``: the same GeoJSON, not derived again for
    every map)."""
    collection = (outline_collection(level) if areas is None
                  else boundary_geojson(areas, properties=("code",)))
    layer = VerbatimGeoJson(
        collection, name=name,
        style_function=lambda _feature: style, control=False, interactive=False,
        pane=BOUNDARY_PANE, class_name=class_name, attribution=html.escape(BOUNDARY_ATTRIBUTION))
    if areas is None:   # the shipped shapes: an area layer of the level sends them only once
        layer.keeps_shapes = level
    return layer


def base_map(tile_url: str | None = None, attribution: str | None = None, *,
             tile_archive: Path | str | None = None, labels: bool | None = None,
             districts: gpd.GeoDataFrame | None = None,
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
    tile_archive : path, optional
        A raster PMTiles archive to draw as the street layer (None reads ``MAP_TILE_ARCHIVE``;
        ``""`` means none). It is checked and put under ``static/tiles/`` here (at once if the
        server's start did it already); the map then reads it from the dashboard's own URL and
        gets a layer control where the street layer can be hidden. Not with ``tile_url``.
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
        A tile URL without attribution, or not a tile template; or both a URL and an archive.
    maps.tile_archive.TileArchiveError
        The archive is missing, corrupt, not raster, too big, or has no attribution.
    TypeError
        ``tiles=`` was passed.
    """
    if "tiles" in map_kwargs:
        raise TypeError("base_map takes tile_url/attribution (or MAP_TILE_URL), not tiles=: "
                        "folium's named tiles come from public servers")
    tiles = tile_source(tile_url, attribution)
    archive = configured_archive(tile_archive, attribution)
    if tiles is not None and archive is not None:
        raise ValueError(f"both a tile URL ({tiles.url}) and a tile archive ({archive.path}, "
                         f"{TILE_ARCHIVE_ENV}) are set: keep one")
    plain = tiles is None and archive is None
    labels = plain if labels is None else labels
    # The shipped districts and wards (None): their outlines and label points are kept once per
    # process (geo.outlines), not derived again for every map.
    shipped_wards = wards is None and (plain or labels)
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
    if archive is not None:
        publish(archive)
        ArchiveTileLayer(archive, min_zoom=MIN_ZOOM, max_zoom=MAX_ZOOM, asset_prefix=asset_prefix,
                         vendor_dir=vendor_dir).add_to(m)
        m.ensure_layer_control = True  # so the street layer can be hidden on every map
    BaseMapStyle(plain=plain).add_to(m)
    folium.map.CustomPane(BOUNDARY_PANE, z_index=BOUNDARY_PANE_Z, pointer_events=False).add_to(m)
    # Districts first: without tiles their white fill is the land, and the ward lines go on it.
    district_style = {"color": "#34495e", "weight": 2, "opacity": 0.9}
    district_style.update({"fillColor": "#ffffff", "fillOpacity": 1} if plain else {"fill": False})
    _boundary_layer(districts, name="Districts", class_name="wy-district",
                    style=district_style, level="district").add_to(m)
    if plain:
        _boundary_layer(wards, name="Wards", class_name="wy-ward", level="ward",
                        style={"color": "#9aa5b1", "weight": 0.8, "fill": False}).add_to(m)
    if labels:
        district_labels = (level_labels("district") if districts is None
                           else label_points(districts))
        ward_labels = (level_labels("ward") if shipped_wards
                       else label_points(wards) if wards is not None else [])
        AreaLabels(district_labels, ward_labels, ward_min_zoom=ward_label_min_zoom).add_to(m)
    m.fit_bounds([list(WEST_YORKSHIRE_BOUNDS[0]), list(WEST_YORKSHIRE_BOUNDS[1])])
    return m
