"""Make the boundaries' prepared copy (``geo.prepared``): ``.venv/bin/python -m geo.make_prepared``.

Run it after any change to the files in ``data/boundaries`` or to how ``geo.boundaries`` and
``geo.outlines`` derive from them; tests/test_boundaries.py fails while the copy is stale, and a
stale copy is never read. No Streamlit here.
"""
from __future__ import annotations

import json
from pathlib import Path

from geo import boundaries, prepared
from geo.outlines import LABELLED_LEVELS, boundary_geojson, label_points


def prepare(directory: Path | None = None) -> dict[str, int]:
    """Derive every level from the sources (never from a prepared copy) and store it in
    ``directory`` (default ``geo.prepared.PREPARED_DIR``). Returns the bytes written per file."""
    directory = prepared.PREPARED_DIR if directory is None else directory
    directory.mkdir(parents=True, exist_ok=True)
    written = {}
    for level in boundaries.LEVELS:
        frame = boundaries.derive_boundaries(level).copy()
        collection = boundary_geojson(frame, properties=("code",))
        frame["outline"] = [json.dumps(f["geometry"]) for f in collection["features"]]
        labels = (label_points(frame) if level in LABELLED_LEVELS
                  else [(float("nan"), float("nan"), "")] * len(frame))
        frame["label_lat"] = [lat for lat, _, _ in labels]
        frame["label_lon"] = [lon for _, lon, _ in labels]
        path = directory / f"{level}.parquet"
        frame.to_parquet(path, compression="zstd", index=False)
        written[path.name] = path.stat().st_size
    manifest = directory / prepared.MANIFEST
    manifest.write_text(json.dumps({"format": prepared.FORMAT,
                                    "sources": prepared.sources_digest(),
                                    "made_by": "python -m geo.make_prepared"}, indent=1) + "\n")
    written[manifest.name] = manifest.stat().st_size
    prepared.is_current.cache_clear()
    prepared.read_prepared.cache_clear()
    return written


if __name__ == "__main__":
    for name, size in prepare().items():
        print(f"{prepared.PREPARED_DIR / name}: {size:,} bytes")
