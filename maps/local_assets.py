"""The map class that loads nothing from outside the dashboard's own server.

folium loads Leaflet and its plugins from public CDNs by default (``folium.Map.default_js`` and
``default_css``, and each plugin's own). Police and council networks often block those CDNs, so
the map would stay blank, and every such request tells a third party that an analyst is looking
at a map. Here every script, stylesheet, image and font comes from ``static/vendor/``, which
``make assets`` fills from npm (and folium's own package) at pinned versions, and which Streamlit
serves at ``/app/static/vendor/...`` (``[server] enableStaticServing``). Nothing is fetched at
run time.

:class:`LocalAssetMap` (or ``maps.basemap.local_map``) is a ``folium.Map`` whose page, and the
page of every plugin added to it, links only vendored files. A file that should be vendored but
is missing raises :class:`MissingAssetError` ("run `make assets`"); an element that needs a file
nobody vendored raises :class:`UnvendoredAssetError`. Neither ever falls back to a CDN.
:func:`use_local_assets` points any folium map or element class at the vendored files.

The mapping from folium's CDN URLs to vendored files is read from ``static/vendor/manifest.json``,
which ``tools/vendor_assets.py`` writes. The West Yorkshire base map on top of this is
``maps.basemap``. This module never imports Streamlit.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import branca.colormap
import folium
from branca.element import CssLink, Figure, JavascriptLink, MacroElement
from folium.elements import JSCSSMixin
from folium.template import Template

ROOT = Path(__file__).resolve().parent.parent
VENDOR_DIR = ROOT / "static" / "vendor"
MANIFEST_NAME = "manifest.json"
#: Where Streamlit serves ``static/vendor/`` (``[server] enableStaticServing``). Behind a proxy
#: with ``server.baseUrlPath = "wy"`` it is ``/wy/app/static/vendor``: set ``MAP_ASSET_PREFIX``.
DEFAULT_ASSET_PREFIX = "/app/static/vendor"
ASSET_PREFIX_ENV = "MAP_ASSET_PREFIX"
MAKE_HINT = "run `make assets` (npm ci --ignore-scripts, then tools/vendor_assets.py)"
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

    #: Set by ``maps.basemap.base_map`` when the map has a layer to switch off (the street
    #: tiles): a map rendered without a ``folium.LayerControl`` then gets one.
    ensure_layer_control = False

    def render(self, **kwargs):
        if self.ensure_layer_control and not any(
                isinstance(child, folium.LayerControl) for child in self._children.values()):
            folium.LayerControl(collapsed=False).add_to(self)
        use_local_assets(self, prefix=self.asset_prefix, vendor_dir=self.vendor_dir)
        super().render(**kwargs)
        _check_page_links(self.get_root(), self.asset_prefix)
