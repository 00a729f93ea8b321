"""Reading and writing PMTiles version 3 archives, with the standard library only.

PMTiles (https://github.com/protomaps/PMTiles/blob/main/spec/v3/spec.md) is one file: a
127-byte header, a compressed root directory, JSON metadata, optional leaf directories, then
the tiles. A browser reads it with HTTP range requests (the ``pmtiles`` npm package), so the
dashboard serves the file as it is and never runs a tile server.

This module is what the dashboard needs of the format, and no more:

- :func:`read_header`, :class:`ArchiveReader` (header, metadata, one tile): the start-up check
  of a deployment's archive (``maps.tile_archive``);
- :func:`write_archive`: the test archives (``tools/make_tile_archive.py``), one root
  directory and no leaf directories (fine up to some thousands of tiles).

Why not the ``pmtiles`` package from PyPI: the check runs in the dashboard at every start, and
reading a header and a directory is a hundred lines; the test tool then needs nothing more
either. The tile ids are checked against the spec's own examples in tests/test_tile_archive.py,
and the browser test reads our archives with the ``pmtiles`` npm package, the real consumer.
"""
from __future__ import annotations

import gzip
import json
import struct
from dataclasses import dataclass
from pathlib import Path

MAGIC = b"PMTiles"
VERSION = 3
HEADER_SIZE = 127
#: Little-endian: magic, version, 11 offsets/lengths/counts (uint64), clustered, internal and
#: tile compression, tile type, min/max zoom (uint8), bounds (int32, degrees x 1e7), centre zoom
#: (uint8) and centre (int32 x 2).
_HEADER = struct.Struct("<7sB11Q6B4iB2i")
assert _HEADER.size == HEADER_SIZE

COMPRESSION = {0: "unknown", 1: "none", 2: "gzip", 3: "brotli", 4: "zstd"}
TILE_TYPES = {0: "unknown", 1: "mvt", 2: "png", 3: "jpeg", 4: "webp", 5: "avif", 6: "mlt"}
RASTER_TYPES = ("png", "jpeg", "webp", "avif")


class PMTilesFormatError(ValueError):
    """The bytes are not a PMTiles v3 archive this module can read (the message says why)."""


@dataclass(frozen=True)
class Header:
    """A PMTiles v3 header. Bounds and centre are in degrees (WGS84)."""

    root_offset: int
    root_length: int
    metadata_offset: int
    metadata_length: int
    leaf_offset: int
    leaf_length: int
    data_offset: int
    data_length: int
    addressed_tiles: int
    tile_entries: int
    tile_contents: int
    clustered: bool
    internal_compression: str
    tile_compression: str
    tile_type: str
    min_zoom: int
    max_zoom: int
    min_lon: float
    min_lat: float
    max_lon: float
    max_lat: float
    center_zoom: int
    center_lon: float
    center_lat: float


def read_header(data: bytes) -> Header:
    """Decode the first 127 bytes of an archive.

    Raises
    ------
    PMTilesFormatError
        Too short, not PMTiles, another version, or an unknown compression or tile type.
    """
    if len(data) < HEADER_SIZE:
        raise PMTilesFormatError(f"{len(data)} bytes, shorter than a PMTiles header "
                                 f"({HEADER_SIZE} bytes)")
    fields = _HEADER.unpack(data[:HEADER_SIZE])
    if fields[0] != MAGIC:
        raise PMTilesFormatError("it does not start with 'PMTiles' (an MBTiles file is SQLite: "
                                 "convert it with `pmtiles convert`)")
    if fields[1] != VERSION:
        raise PMTilesFormatError(f"PMTiles version {fields[1]}; only version 3 is read "
                                 "(upgrade it with `pmtiles convert`)")
    offsets = fields[2:13]
    clustered, internal, tile_comp, tile_type, min_zoom, max_zoom = fields[13:19]
    bounds = [v / 1e7 for v in fields[19:23]]
    center_zoom, center_lon, center_lat = fields[23], fields[24] / 1e7, fields[25] / 1e7
    if internal not in COMPRESSION or tile_comp not in COMPRESSION or tile_type not in TILE_TYPES:
        raise PMTilesFormatError(f"unknown compression ({internal}, {tile_comp}) or tile type "
                                 f"({tile_type}) in the header")
    return Header(*offsets, bool(clustered), COMPRESSION[internal], COMPRESSION[tile_comp],
                  TILE_TYPES[tile_type], min_zoom, max_zoom, *bounds, center_zoom, center_lon,
                  center_lat)


# --------------------------------------------------------------------------------------------
# Tile ids (Hilbert curve order within each zoom)


def zxy_to_tileid(z: int, x: int, y: int) -> int:
    """The PMTiles tile id of tile ``z/x/y`` (XYZ scheme, y down)."""
    if not 0 <= z <= 31 or not (0 <= x < 1 << z and 0 <= y < 1 << z):
        raise ValueError(f"no tile {z}/{x}/{y}")
    tile_id = ((1 << (2 * z)) - 1) // 3  # the tiles of all lower zooms
    for level in range(z - 1, -1, -1):
        size = 1 << level
        rx, ry = (x & size) > 0, (y & size) > 0
        tile_id += size * size * ((3 * rx) ^ ry)
        if not ry:  # rotate the quadrant
            if rx:
                x, y = size - 1 - x, size - 1 - y
            x, y = y, x
    return tile_id


# --------------------------------------------------------------------------------------------
# Directories


@dataclass(frozen=True)
class Entry:
    tile_id: int
    offset: int
    length: int
    run_length: int  # 0: a leaf directory, else how many consecutive ids share these bytes


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _read_varints(data: bytes, count: int, pos: int) -> tuple[list[int], int]:
    values = []
    for _ in range(count):
        value = shift = 0
        while True:
            if pos >= len(data):
                raise PMTilesFormatError("a directory ends in the middle of a number")
            byte = data[pos]
            pos += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                break
        values.append(value)
    return values, pos


def encode_directory(entries: list[Entry]) -> bytes:
    """A directory's bytes, uncompressed (entries sorted by tile id)."""
    out = bytearray(_varint(len(entries)))
    last = 0
    for entry in entries:
        out += _varint(entry.tile_id - last)
        last = entry.tile_id
    for field in ("run_length", "length"):
        for entry in entries:
            out += _varint(getattr(entry, field))
    for i, entry in enumerate(entries):
        follows = i > 0 and entry.offset == entries[i - 1].offset + entries[i - 1].length
        out += _varint(0 if follows else entry.offset + 1)
    return bytes(out)


def decode_directory(data: bytes) -> list[Entry]:
    """The entries of an uncompressed directory."""
    (count,), pos = _read_varints(data, 1, 0)
    ids, pos = _read_varints(data, count, pos)
    runs, pos = _read_varints(data, count, pos)
    lengths, pos = _read_varints(data, count, pos)
    offsets, pos = _read_varints(data, count, pos)
    entries, tile_id = [], 0
    for i in range(count):
        tile_id += ids[i]
        if offsets[i] == 0:
            if i == 0:
                raise PMTilesFormatError("the first directory entry has no offset")
            offset = entries[-1].offset + entries[-1].length
        else:
            offset = offsets[i] - 1
        entries.append(Entry(tile_id, offset, lengths[i], runs[i]))
    return entries


def _decompress(data: bytes, compression: str) -> bytes:
    if compression == "none":
        return data
    if compression == "gzip":
        try:
            return gzip.decompress(data)
        except (OSError, EOFError) as error:
            raise PMTilesFormatError(f"gzip data that does not decompress ({error})") from None
    raise PMTilesFormatError(f"{compression} compression is not supported here: convert the "
                             "archive with gzip internal compression (the pmtiles CLI's default)")


# --------------------------------------------------------------------------------------------
# Reading


class ArchiveReader:
    """Read the header, metadata and tiles of a PMTiles v3 file (opened per call)."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        with self.path.open("rb") as file:
            self.header = read_header(file.read(HEADER_SIZE))
        self.size = self.path.stat().st_size
        h = self.header
        for name, offset, length in (("root directory", h.root_offset, h.root_length),
                                     ("metadata", h.metadata_offset, h.metadata_length),
                                     ("leaf directories", h.leaf_offset, h.leaf_length),
                                     ("tile data", h.data_offset, h.data_length)):
            if offset + length > self.size:
                raise PMTilesFormatError(f"the {name} runs to byte {offset + length} but the "
                                         f"file has {self.size} bytes (truncated?)")

    def _bytes(self, offset: int, length: int) -> bytes:
        with self.path.open("rb") as file:
            file.seek(offset)
            return file.read(length)

    def metadata(self) -> dict:
        """The archive's JSON metadata (``attribution``, ``name``, ...)."""
        h = self.header
        raw = _decompress(self._bytes(h.metadata_offset, h.metadata_length),
                          h.internal_compression)
        try:
            value = json.loads(raw or b"{}")
        except ValueError as error:
            raise PMTilesFormatError(f"its metadata is not JSON ({error})") from None
        if not isinstance(value, dict):
            raise PMTilesFormatError("its metadata is not a JSON object")
        return value

    def root_directory(self) -> list[Entry]:
        h = self.header
        return decode_directory(_decompress(self._bytes(h.root_offset, h.root_length),
                                            h.internal_compression))

    def tile(self, z: int, x: int, y: int) -> bytes | None:
        """Tile ``z/x/y`` as stored (compressed as ``header.tile_compression``), or None."""
        tile_id = zxy_to_tileid(z, x, y)
        h = self.header
        entries = self.root_directory()
        for _depth in range(4):  # the spec allows at most three levels of leaves
            found = None
            for entry in entries:
                if entry.tile_id > tile_id:
                    break
                found = entry
            if found is None:
                return None
            if found.run_length == 0:  # a leaf directory
                entries = decode_directory(_decompress(
                    self._bytes(h.leaf_offset + found.offset, found.length),
                    h.internal_compression))
                continue
            if tile_id >= found.tile_id + found.run_length:
                return None
            if found.offset + found.length > h.data_length:
                raise PMTilesFormatError(f"tile {z}/{x}/{y} lies beyond the tile data")
            return self._bytes(h.data_offset + found.offset, found.length)
        raise PMTilesFormatError("leaf directories nested too deep")


    def first_tile(self) -> bytes | None:
        """The bytes of the archive's first tile (by tile id), decompressed; None if empty."""
        h = self.header
        entries = self.root_directory()
        for _depth in range(4):
            if not entries:
                return None
            entry = entries[0]
            if entry.run_length == 0:
                entries = decode_directory(_decompress(
                    self._bytes(h.leaf_offset + entry.offset, entry.length),
                    h.internal_compression))
                continue
            if entry.offset + entry.length > h.data_length:
                raise PMTilesFormatError("the first tile lies beyond the tile data")
            return _decompress(self._bytes(h.data_offset + entry.offset, entry.length),
                               h.tile_compression)
        raise PMTilesFormatError("leaf directories nested too deep")


def image_type(data: bytes) -> str | None:
    """``png``, ``jpeg``, ``webp`` or ``avif`` from an image's first bytes, else None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data[4:12] in (b"ftypavif", b"ftypavis"):
        return "avif"
    return None


# --------------------------------------------------------------------------------------------
# Writing (test archives)


def write_archive(path: Path | str, tiles: dict[tuple[int, int, int], bytes], *,
                  tile_type: str = "png", metadata: dict | None = None,
                  bounds: tuple[float, float, float, float] | None = None) -> Path:
    """Write ``tiles`` (``{(z, x, y): image bytes}``) as a PMTiles v3 archive.

    One gzip-compressed root directory, tiles stored as given (``tile_compression`` none),
    identical tiles stored once. ``bounds`` is ``(min_lon, min_lat, max_lon, max_lat)``.
    """
    if not tiles:
        raise ValueError("no tiles to write")
    if tile_type not in TILE_TYPES.values():
        raise ValueError(f"unknown tile type {tile_type!r}")
    by_id = sorted((zxy_to_tileid(*zxy), zxy, data) for zxy, data in tiles.items())
    blobs: dict[bytes, tuple[int, int]] = {}
    data_parts, entries, offset = [], [], 0
    for tile_id, _zxy, data in by_id:
        if data not in blobs:
            blobs[data] = (offset, len(data))
            data_parts.append(data)
            offset += len(data)
        at, length = blobs[data]
        previous = entries[-1] if entries else None
        if previous and previous.offset == at and previous.tile_id + previous.run_length == tile_id:
            entries[-1] = Entry(previous.tile_id, at, length, previous.run_length + 1)
        else:
            entries.append(Entry(tile_id, at, length, 1))
    root = gzip.compress(encode_directory(entries), mtime=0)
    meta = gzip.compress(json.dumps(metadata or {}, sort_keys=True).encode("utf-8"), mtime=0)
    zooms = [zxy[0] for zxy in tiles]
    lon0, lat0, lon1, lat1 = bounds or (-180.0, -85.0, 180.0, 85.0)
    tile_data = b"".join(data_parts)
    root_offset = HEADER_SIZE
    meta_offset = root_offset + len(root)
    data_offset = meta_offset + len(meta)
    header = _HEADER.pack(
        MAGIC, VERSION, root_offset, len(root), meta_offset, len(meta), data_offset, 0,
        data_offset, len(tile_data), len(tiles), len(entries), len(blobs), 1,
        2, 1, {v: k for k, v in TILE_TYPES.items()}[tile_type], min(zooms), max(zooms),
        *(round(v * 1e7) for v in (lon0, lat0, lon1, lat1)),
        min(zooms), round((lon0 + lon1) / 2 * 1e7), round((lat0 + lat1) / 2 * 1e7))
    path = Path(path)
    path.write_bytes(header + root + meta + tile_data)
    return path
