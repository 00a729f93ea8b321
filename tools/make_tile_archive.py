"""Generate a small raster PMTiles archive over West Yorkshire, for tests and demonstrations.

    python tools/make_tile_archive.py OUT.pmtiles [--min-zoom 9] [--max-zoom 12]

Every tile is a 256 px PNG drawn with Pillow: a pale grid with the tile's ``z/x/y`` written in
the middle, so a screenshot shows which tile the browser drew where. The defaults (zoom 9-12
over West Yorkshire's extent) make 184 tiles, about 0.5 MB, in about 2 s of CPU. The archive's
metadata carries an ``attribution`` ("Test tiles, tools/make_tile_archive.py"), as a real
archive's would. It is written by ``maps.pmtiles_v3.write_archive``; nothing is fetched.
"""
from __future__ import annotations

import argparse
import io
import math
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PIL import Image, ImageDraw, ImageFont

from maps.pmtiles_v3 import write_archive
from maps.tile_archive import WEST_YORKSHIRE_LONLAT

TILE_SIZE = 256
ATTRIBUTION = "Test tiles, tools/make_tile_archive.py"
BACKGROUND = (246, 243, 236)
GRID = (214, 206, 190)
EDGE = (170, 160, 140)
TEXT = (90, 84, 72)


def lonlat_to_tile(lon: float, lat: float, z: int) -> tuple[int, int]:
    """The XYZ (Web Mercator, y down) tile holding ``lon, lat`` at zoom ``z``."""
    n = 1 << z
    x = int((lon + 180.0) / 360.0 * n)
    lat_r = math.radians(lat)
    y = int((1.0 - math.asinh(math.tan(lat_r)) / math.pi) / 2.0 * n)
    return min(max(x, 0), n - 1), min(max(y, 0), n - 1)


def tiles_over(bounds: tuple[float, float, float, float], min_zoom: int, max_zoom: int):
    """Every ``(z, x, y)`` covering ``bounds`` (min_lon, min_lat, max_lon, max_lat)."""
    west, south, east, north = bounds
    for z in range(min_zoom, max_zoom + 1):
        x0, y0 = lonlat_to_tile(west, north, z)
        x1, y1 = lonlat_to_tile(east, south, z)
        for x in range(x0, x1 + 1):
            for y in range(y0, y1 + 1):
                yield z, x, y


def draw_tile(z: int, x: int, y: int) -> bytes:
    """A PNG: a grid every 32 px, a darker edge, and ``z/x/y`` in the middle."""
    image = Image.new("RGB", (TILE_SIZE, TILE_SIZE), BACKGROUND)
    draw = ImageDraw.Draw(image)
    for at in range(0, TILE_SIZE, 32):
        draw.line([(at, 0), (at, TILE_SIZE)], fill=GRID)
        draw.line([(0, at), (TILE_SIZE, at)], fill=GRID)
    draw.rectangle([0, 0, TILE_SIZE - 1, TILE_SIZE - 1], outline=EDGE, width=2)
    label = f"{z}/{x}/{y}"
    font = ImageFont.load_default(size=22)
    left, top, right, bottom = draw.textbbox((0, 0), label, font=font)
    draw.text(((TILE_SIZE - (right - left)) / 2, (TILE_SIZE - (bottom - top)) / 2), label,
              fill=TEXT, font=font)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def make_archive(path: Path | str, *, min_zoom: int = 9, max_zoom: int = 12,
                 bounds: tuple[float, float, float, float] = WEST_YORKSHIRE_LONLAT,
                 attribution: str = ATTRIBUTION) -> Path:
    """Write the test archive to ``path``; returns the path."""
    if not 0 <= min_zoom <= max_zoom <= 18:
        raise ValueError(f"zooms {min_zoom}-{max_zoom}: need 0 <= min <= max <= 18")
    tiles = {zxy: draw_tile(*zxy) for zxy in tiles_over(bounds, min_zoom, max_zoom)}
    metadata = {"name": "West Yorkshire test grid", "attribution": attribution,
                "description": "Tiles labelled z/x/y, generated for tests",
                "format": "png", "minzoom": min_zoom, "maxzoom": max_zoom}
    return write_archive(path, tiles, tile_type="png", metadata=metadata, bounds=bounds)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--min-zoom", type=int, default=9)
    parser.add_argument("--max-zoom", type=int, default=12)
    parser.add_argument("--attribution", default=ATTRIBUTION)
    args = parser.parse_args(argv)
    path = make_archive(args.out, min_zoom=args.min_zoom, max_zoom=args.max_zoom,
                        attribution=args.attribution)
    print(f"make_tile_archive: {path} ({path.stat().st_size / 1024:.0f} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
