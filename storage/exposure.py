"""Where an exposure layer lives in a store: one side document per layer, written atomically.

An exposure layer (``data.exposure``: asylum accommodation sites with bed capacity and
open/close dates) is tens to hundreds of rows, replaced whole each time a partner sends a new
list. It is kept as a side document, ``_exposure/<layer>.json``, through
``Store.update_document``, which both backends implement atomically: the Parquet store under
its writer lock (temporary file, fsync, rename); PostGIS in one transaction holding an advisory
lock on the name. A failed write therefore leaves the previous layer exactly as it was, and the
same code serves both backends (no backend-specific table to migrate).

What is stored is already geomasked and minimised (``data.exposure``): no site reference, no
address, no raw coordinate. Who may read it is ``safeguards.exposure``'s business; nothing here
checks a role, so pages never call this module.
"""
from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd

from core import clock
from core.errors import StoreError
from storage.base import Store

FORMAT = 1
LAYERS = ("accommodation",)
#: The stored columns of a site, in order (``data.exposure`` documents each).
SITE_COLUMNS = ["bed_capacity", "opened_on", "closed_on", "lsoa_code", "ward_code",
                "district_code", "has_point", "easting", "northing", "geomask_m"]


def document_name(layer: str) -> str:
    check_layer(layer)
    return f"_exposure/{layer}.json"


def check_layer(layer: str) -> None:
    if layer not in LAYERS:
        raise ValueError(f"exposure layer was {layer!r}; expected one of {', '.join(LAYERS)}")


def write_layer(store: Store, layer: str, sites: pd.DataFrame, *, source: str,
                file_name: str) -> dict:
    """Replace ``layer`` in ``store`` with ``sites`` (columns ``SITE_COLUMNS``), atomically.

    Returns the stored layer's metadata (``meta`` of :func:`read_layer`).
    """
    if source not in ("synthetic", "real"):
        raise ValueError(f"source was {source!r}; expected 'synthetic' or 'real'")
    missing = [c for c in SITE_COLUMNS if c not in sites.columns]
    if missing:
        raise StoreError(f"exposure layer {layer}: missing column(s) {missing}; nothing stored")
    meta = {"format": FORMAT, "layer": layer, "source": source, "file_name": str(file_name),
            "ingested_at": clock.now().isoformat(timespec="seconds"), "sites": len(sites)}
    text = json.dumps({**meta, "rows": _records(sites[SITE_COLUMNS])}, indent=0)
    store.update_document(document_name(layer), lambda _current: text)
    return meta


def read_layer(store: Store, layer: str) -> tuple[dict, pd.DataFrame] | None:
    """``(meta, sites)`` of the stored layer, or ``None`` when none is loaded.

    ``sites`` has ``SITE_COLUMNS``: dates as Timestamps (``closed_on`` NaT while open),
    ``easting``/``northing`` nullable integers (``<NA>`` for sites known only by area).
    """
    text = store.read_document(document_name(layer))
    if text is None:
        return None
    try:
        document = json.loads(text)
        rows = document.pop("rows")
    except (ValueError, KeyError, TypeError) as exc:
        raise StoreError(f"store {store.url}: the {layer} exposure layer is damaged ({exc}); "
                         f"load it again with python -m data.exposure") from exc
    if document.get("format") != FORMAT:
        raise StoreError(f"store {store.url}: the {layer} exposure layer has format "
                         f"{document.get('format')!r}; this version reads format {FORMAT}")
    frame = pd.DataFrame(rows, columns=SITE_COLUMNS)
    frame["bed_capacity"] = frame["bed_capacity"].astype("int64")
    for column in ("opened_on", "closed_on"):
        frame[column] = pd.to_datetime(frame[column])
    for column in ("easting", "northing"):
        frame[column] = pd.array(frame[column], dtype="Int64")
    frame["has_point"] = frame["has_point"].astype(bool)
    for column in ("lsoa_code", "ward_code", "district_code"):
        frame[column] = frame[column].astype("string")
    return document, frame


def bed_nights(sites: pd.DataFrame, start, end) -> np.ndarray:
    """Bed capacity x days each site is open between ``start`` and ``end`` (inclusive days).

    A site is open from ``opened_on`` to the day before ``closed_on`` (``NaT``: still open).
    """
    first = np.datetime64(pd.Timestamp(start).date(), "D")
    stop = np.datetime64(pd.Timestamp(end).date(), "D") + np.timedelta64(1, "D")
    opened = pd.to_datetime(sites["opened_on"]).to_numpy().astype("datetime64[D]")
    closed = pd.to_datetime(sites["closed_on"]).to_numpy().astype("datetime64[D]")
    closed = np.where(np.isnat(closed), stop, closed)
    days = (np.minimum(closed, stop) - np.maximum(opened, first)).astype(np.int64)
    return np.clip(days, 0, None) * pd.to_numeric(sites["bed_capacity"]).to_numpy(float)


def layers_fingerprint(store: Store) -> str:
    """A short key that changes whenever a stored exposure layer changes (for caches keyed by
    ``storage.base.store_fingerprint``, which follows the batches only)."""
    texts = [store.read_document(document_name(layer)) or "" for layer in LAYERS]
    return hashlib.sha256("\x00".join(texts).encode()).hexdigest()[:16]


def _records(sites: pd.DataFrame) -> list[list]:
    """Rows as JSON-ready lists: dates as ISO text, missing values as null."""
    out = []
    for row in sites.itertuples(index=False):
        values = []
        for name, value in zip(SITE_COLUMNS, row):
            if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
                values.append(None)
            elif name in ("opened_on", "closed_on"):
                values.append(None if pd.isna(value) else pd.Timestamp(value).date().isoformat())
            elif isinstance(value, (np.integer, int)) and not isinstance(value, bool):
                values.append(int(value))
            elif isinstance(value, (np.bool_, bool)):
                values.append(bool(value))
            else:
                values.append(str(value))
        out.append(values)
    return out
