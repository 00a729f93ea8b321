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

Lifecycle (``storage.lifecycle`` rules, ``safeguards.lifecycle`` audit). Each load is one batch
with its own id (:func:`layer_batch`), so an administrator can withdraw it like an event batch
(:func:`remove_layer`). Both a withdrawal and a retention purge that leaves no site replace the
document with a *withdrawn* marker holding no site (:data:`WITHDRAWN`): ``update_document``
cannot delete, and the marker reads as "no layer" (:func:`read_layer` gives ``None``), so the
feed falls back to residents. The old text does not stay behind: the Parquet store renames a
new file over it (the old one's blocks freed), and on PostGIS the ``documents`` table is
vacuumed (``VACUUM FULL``) after the change, as a removal of events is.
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
#: The document's ``status`` once its sites are withdrawn or all purged: it holds no site.
WITHDRAWN = "withdrawn"
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
    rows = _records(sites[SITE_COLUMNS])
    now = clock.now()
    digest = hashlib.sha256(json.dumps(rows).encode()).hexdigest()[:6]
    meta = {"format": FORMAT, "layer": layer, "source": source, "file_name": str(file_name),
            "ingested_at": now.isoformat(timespec="seconds"), "sites": len(sites),
            "batch_id": f"{layer}-{now:%Y%m%dT%H%M%S}-{digest}"}
    text = json.dumps({**meta, "rows": rows}, indent=0)
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
        if document.get("status") == WITHDRAWN:
            return None
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


def layer_batch(store: Store, layer: str) -> dict | None:
    """The stored layer as a batch (``storage.lifecycle.batch_table``'s columns): ``id``,
    ``feed`` ("exposure:<layer>"), ``rows`` (sites), ``source``, ``file_name``,
    ``ingested_at``; ``None`` when no layer is loaded. A layer loaded before batch ids were
    kept gets one from its text."""
    stored = read_layer(store, layer)
    if stored is None:
        return None
    meta, sites = stored
    text = store.read_document(document_name(layer)) or ""
    batch_id = meta.get("batch_id") or f"{layer}-{hashlib.sha256(text.encode()).hexdigest()[:12]}"
    return {"id": batch_id, "feed": f"exposure:{layer}", "rows": len(sites),
            "source": meta.get("source"), "file_name": meta.get("file_name"),
            "ingested_at": meta.get("ingested_at"), "layer": layer}


def remove_layer(store: Store, layer: str) -> int:
    """Withdraw the stored layer: the document is replaced by the :data:`WITHDRAWN` marker, and
    PostGIS's ``documents`` table vacuumed. Returns how many sites were removed (0: none was
    loaded)."""
    removed = []

    def change(current: str | None) -> str | None:
        sites = _stored_sites(current)
        if not sites:
            return None
        removed.append(len(sites))
        return _withdrawn(layer)

    store.update_document(document_name(layer), change)
    if removed:
        _vacuum(store)
    return removed[0] if removed else 0


def closed_before(sites: pd.DataFrame, cutoff) -> np.ndarray:
    """Sites that closed before ``cutoff`` (a day): every bed-night they gave is older."""
    closed = pd.to_datetime(sites["closed_on"])
    return (closed.notna() & (closed < pd.Timestamp(cutoff))).to_numpy()


def purge_closed(store: Store, layer: str, cutoff) -> dict[int, int]:
    """Remove the sites of ``layer`` that closed before ``cutoff``, under the store's writer
    lock; the layer becomes :data:`WITHDRAWN` when none is left. Returns {year closed: sites}."""
    counts: dict[int, int] = {}

    def change(current: str | None) -> str | None:
        if current is None or not _stored_sites(current):
            return None
        document = json.loads(current)
        closed_on = pd.to_datetime(pd.Series([r[SITE_COLUMNS.index("closed_on")]
                                              for r in document["rows"]]))
        due = (closed_on.notna() & (closed_on < pd.Timestamp(cutoff))).to_numpy()
        if not due.any():
            return None
        counts.update({int(y): int(n) for y, n in
                       closed_on[due].dt.year.value_counts().sort_index().items()})
        kept = [row for row, gone in zip(document["rows"], due) if not gone]
        if not kept:
            return _withdrawn(layer)
        return json.dumps({**document, "sites": len(kept), "rows": kept}, indent=0)

    store.update_document(document_name(layer), change)
    if counts:
        _vacuum(store)
    return counts


def _stored_sites(text: str | None) -> list:
    if text is None:
        return []
    try:
        document = json.loads(text)
    except ValueError:
        return [None]    # damaged: still something to withdraw
    return [] if document.get("status") == WITHDRAWN else list(document.get("rows") or [None])


def _withdrawn(layer: str) -> str:
    return json.dumps({"format": FORMAT, "layer": layer, "status": WITHDRAWN,
                       "changed_at": clock.now().isoformat(timespec="seconds")})


def _vacuum(store: Store) -> None:
    """PostGIS keeps an updated row's old version until a vacuum: rewrite ``documents``."""
    vacuum = getattr(store, "vacuum", None)
    if callable(vacuum):
        vacuum(["documents"])


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
