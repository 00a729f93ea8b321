"""Street-map tiles from an offline PMTiles archive that the dashboard serves itself.

A deployment names a raster PMTiles file (``MAP_TILE_ARCHIVE=/srv/maps/wy.pmtiles``). At start
the file is checked (:func:`read_archive`) and put under ``static/tiles/`` (:func:`publish`),
where Streamlit serves it at ``/app/static/tiles/<name>``. In the browser the vendored
``pmtiles`` npm package reads the tiles it needs with HTTP range requests (Streamlit 1.67's
static route answers them with 206, measured: docs/offline-maps.md), and
:class:`ArchiveTileLayer` draws them under the data. No tile server, no request to anyone else.

Why a copy (or a hard link) and not a symbolic link: Streamlit resolves links and refuses any
file whose real path is outside ``static/`` (HTTP 400, measured). Why the size limit: Streamlit
1.67 answers 404 for a static file over 200 MB (``MAX_APP_STATIC_FILE_SIZE``), so a bigger
archive would give a blank map; it is refused at start instead.

This module never imports Streamlit.
"""
from __future__ import annotations

import hashlib
import html
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from folium.elements import JSCSSMixin
from folium.map import Layer
from folium.template import Template

from maps.local_assets import ROOT, MapAssetError, load_catalogue, resolve_asset_prefix
from maps.pmtiles_v3 import RASTER_TYPES, ArchiveReader, PMTilesFormatError, image_type

TILE_ARCHIVE_ENV = "MAP_TILE_ARCHIVE"
TILE_ATTRIBUTION_ENV = "MAP_TILE_ATTRIBUTION"
STATIC_DIR = ROOT / "static"
TILES_DIRNAME = "tiles"
#: Streamlit 1.67's limit for one static file (starlette_server_config.MAX_APP_STATIC_FILE_SIZE).
MAX_SERVED_BYTES = 200 * 1024 * 1024
#: The vendored npm package whose Leaflet layer reads the archive.
PMTILES_PACKAGE = "pmtiles"
PMTILES_SCRIPT = "dist/pmtiles.js"
LAYER_NAME = "Street map"
#: West Yorkshire (min_lon, min_lat, max_lon, max_lat): an archive must overlap it.
WEST_YORKSHIRE_LONLAT = (-2.1733, 53.5198, -1.1988, 53.9631)


class TileArchiveError(MapAssetError):
    """The configured tile archive cannot be served. ``path`` is the file, as configured."""

    def __init__(self, path, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"map tile archive {self.path} ({TILE_ARCHIVE_ENV}): {reason}")


@dataclass(frozen=True)
class TileArchive:
    """A checked archive.

    Attributes
    ----------
    path : Path
    size : int
        Bytes.
    tile_type : str
        ``png``, ``jpeg``, ``webp`` or ``avif``.
    min_zoom, max_zoom : int
    bounds : (float, float, float, float)
        ``(min_lon, min_lat, max_lon, max_lat)``.
    attribution : str
        ``MAP_TILE_ATTRIBUTION`` if set, else the archive's ``attribution`` metadata; plain text.
    served_name : str
        The file name under ``static/tiles/``: the archive's name and a digest of its size,
        time and header, so a changed archive gets a new URL and no browser mixes old tiles in.
    """

    path: Path
    size: int
    tile_type: str
    min_zoom: int
    max_zoom: int
    bounds: tuple[float, float, float, float]
    attribution: str
    served_name: str


def read_archive(path: Path | str, attribution: str | None = None) -> TileArchive:
    """Check that ``path`` is a raster PMTiles v3 archive the dashboard can serve.

    Parameters
    ----------
    path : path
    attribution : str, optional
        Overrides the archive's ``attribution`` metadata; None reads ``MAP_TILE_ATTRIBUTION``.

    Raises
    ------
    TileArchiveError
        Missing, not a file, unreadable, not PMTiles v3 (or truncated, corrupt), vector tiles,
        over 200 MB, no tile over West Yorkshire's extent, a tile that cannot be read, or no
        attribution anywhere. The message names the file and says what to do.
    """
    shown = path
    path = Path(path).expanduser()
    if not path.exists():
        raise TileArchiveError(shown, "no such file: check the path, or unset the variable "
                               "for a map without street tiles")
    if not path.is_file():
        raise TileArchiveError(shown, "not a file")
    try:
        reader = ArchiveReader(path)
        metadata = reader.metadata()
    except PMTilesFormatError as error:
        raise TileArchiveError(shown, f"not a readable PMTiles v3 archive: {error}") from None
    except OSError as error:
        raise TileArchiveError(shown, f"cannot be read ({error.strerror or error})") from None
    h = reader.header
    if h.tile_type not in RASTER_TYPES:
        raise TileArchiveError(shown, f"holds {h.tile_type} tiles; the map draws raster tiles "
                               f"({', '.join(RASTER_TYPES)}): render it to PNG or JPEG tiles")
    if reader.size > MAX_SERVED_BYTES:
        raise TileArchiveError(shown, f"{reader.size / 2**20:.0f} MB; Streamlit serves static "
                               f"files up to {MAX_SERVED_BYTES // 2**20} MB (larger ones answer "
                               "404): cut it to fewer zoom levels or to West Yorkshire "
                               "(`pmtiles extract --maxzoom ... --bbox ...`)")
    bounds = (h.min_lon, h.min_lat, h.max_lon, h.max_lat)
    w, s, e, n = WEST_YORKSHIRE_LONLAT
    if bounds[0] > e or bounds[2] < w or bounds[1] > n or bounds[3] < s:
        raise TileArchiveError(shown, f"covers {bounds} (lon/lat), which does not overlap West "
                               f"Yorkshire {WEST_YORKSHIRE_LONLAT}")
    try:
        sample = reader.first_tile()
    except PMTilesFormatError as error:
        raise TileArchiveError(shown, f"its tiles cannot be read: {error}") from None
    if sample is None:
        raise TileArchiveError(shown, "holds no tiles")
    if image_type(sample) != h.tile_type:
        raise TileArchiveError(shown, f"its header says {h.tile_type} tiles but the first tile "
                               f"is {image_type(sample) or 'not an image'} (corrupt?)")
    text = (os.environ.get(TILE_ATTRIBUTION_ENV, "") if attribution is None else attribution)
    text = text.strip() or str(metadata.get("attribution") or "").strip()
    if not text:
        raise TileArchiveError(shown, "has no 'attribution' in its metadata and "
                               f"{TILE_ATTRIBUTION_ENV} is not set: the map data's licence "
                               "requires one, e.g. '© OpenStreetMap contributors'")
    with path.open("rb") as file:
        head = file.read(h.data_offset)
    stat = path.stat()
    digest = hashlib.sha256(head + f"{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()
    stem = "".join(c if c.isalnum() or c in "-_" else "-" for c in path.stem)[:40] or "tiles"
    return TileArchive(path, reader.size, h.tile_type, h.min_zoom, h.max_zoom, bounds, text,
                       f"{stem}-{digest[:12]}.pmtiles")


def configured_archive(archive: Path | str | None = None,
                       attribution: str | None = None) -> TileArchive | None:
    """The archive to draw: ``archive``, else ``MAP_TILE_ARCHIVE``; None when neither names
    one (``""`` means none whatever the environment says). Checked, see :func:`read_archive`."""
    name = (os.environ.get(TILE_ARCHIVE_ENV, "") if archive is None else str(archive)).strip()
    if not name:
        return None
    text = os.environ.get(TILE_ATTRIBUTION_ENV, "") if attribution is None else attribution
    try:
        stat = Path(name).expanduser().stat()
        key = (name, stat.st_size, stat.st_mtime_ns, text)
    except OSError:
        key = None  # read_archive says what is wrong
    if key is not None and key in _CHECKED:
        return _CHECKED[key]
    checked = read_archive(name, text)
    if key is not None:
        _CHECKED.clear()
        _CHECKED[key] = checked
    return checked


#: The last archive checked, by (name, size, mtime, attribution): every map asks for it.
_CHECKED: dict[tuple, TileArchive] = {}


def publish(archive: TileArchive, static_dir: Path | str | None = None) -> Path:
    """Put ``archive`` where Streamlit serves it: ``<static>/tiles/<served_name>``.

    A hard link when the archive is on the same file system (no copy, instant), else a copy
    (written beside and renamed, so a worker never serves half a file). Other ``.pmtiles``
    files there (older versions) are removed. Idempotent; safe with several workers.
    """
    folder = Path(static_dir or STATIC_DIR) / TILES_DIRNAME
    target = folder / archive.served_name
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if not (target.is_file() and target.stat().st_size == archive.size):
            tmp = folder / f".{archive.served_name}.{os.getpid()}.tmp"
            try:
                os.link(archive.path, tmp)
            except OSError:
                shutil.copyfile(archive.path, tmp)
            tmp.replace(target)
        for old in folder.glob("*.pmtiles"):
            if old != target:
                old.unlink(missing_ok=True)
    except OSError as error:
        raise TileArchiveError(archive.path, f"cannot be put in {folder} for serving "
                               f"({error.strerror or error}): that folder must be "
                               "writable") from None
    return target


def prepare_configured_archive(static_dir: Path | str | None = None) -> TileArchive | None:
    """Check and publish the configured archive (the server's start, ``ui.serve``)."""
    archive = configured_archive()
    if archive is not None:
        publish(archive, static_dir)
    return archive


def archive_url(archive: TileArchive, asset_prefix: str | None = None) -> str:
    """The archive's URL on the dashboard: beside the vendored files (``MAP_ASSET_PREFIX``'s
    parent, ``/app/static`` by default), so a ``baseUrlPath`` applies to both."""
    static = resolve_asset_prefix(asset_prefix).rsplit("/", 1)[0]
    return f"{static}/{TILES_DIRNAME}/{archive.served_name}"


def pmtiles_script(asset_prefix: str | None = None, vendor_dir: Path | str | None = None) -> str:
    """URL of the vendored ``pmtiles.js`` (MissingAssetError if ``make assets`` has not run)."""
    catalogue = load_catalogue(vendor_dir)
    for package in catalogue.packages:
        if package["name"] == PMTILES_PACKAGE:
            rel = f"{package['dir']}/{PMTILES_SCRIPT}"
            catalogue.file(rel)
            return f"{resolve_asset_prefix(asset_prefix)}/{rel}"
    from maps.local_assets import MAKE_HINT, MissingAssetError
    raise MissingAssetError(f"the pmtiles package is not in {catalogue.vendor_dir}: {MAKE_HINT}")


class ArchiveTileLayer(JSCSSMixin, Layer):
    """The archive's tiles as a Leaflet layer (``pmtiles.leafletRasterLayer``), in the tile pane
    under the boundaries and data, listed in the layer control so it can be hidden.

    Tiles are ``<img>`` elements without ``alt``; they are set to ``alt=""`` here, as Leaflet
    does for its own tiles, because they are decoration (axe-core's image-alt rule).
    ``folium.map.Layer.render`` adds it to the map when ``show``.
    """

    _template = Template("""
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = (function () {
            var layer = pmtiles.leafletRasterLayer(
                new pmtiles.PMTiles({{ this.url|tojson }}), {{ this.options|tojson }});
            var createTile = layer.createTile;
            layer.createTile = function (coords, done) {
                var img = createTile.call(this, coords, done);
                img.alt = "";
                img.setAttribute("role", "presentation");
                return img;
            };
            return layer;
        })();
        {% endmacro %}
    """)

    def __init__(self, archive: TileArchive, *, min_zoom: int, max_zoom: int,
                 name: str = LAYER_NAME, asset_prefix: str | None = None,
                 vendor_dir: Path | str | None = None, show: bool = True):
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "ArchiveTileLayer"
        self.url = archive_url(archive, asset_prefix)
        self.default_js = [("pmtiles", pmtiles_script(asset_prefix, vendor_dir))]
        self.default_css = []
        self.options = {
            "attribution": html.escape(archive.attribution),
            "minZoom": min_zoom, "maxZoom": max_zoom,
            # Beyond the archive's last zoom Leaflet enlarges its tiles rather than leave a gap.
            "maxNativeZoom": archive.max_zoom, "minNativeZoom": archive.min_zoom,
            "className": "wy-street-tiles",
        }
