"""Open a store, and its audit log, from a URL or a folder: the one place that knows every
backend."""
from __future__ import annotations

import os
from pathlib import Path

from core.errors import ConfigError
from storage.audit_log import AUDIT_DIR, AuditSink, FileAuditSink
from storage.base import PROJECT_ROOT, Store
from storage.parquet import ParquetStore

DEFAULT_STORE = PROJECT_ROOT / "store"


def open_store(url: str | os.PathLike | None = None) -> Store:
    """Open the store named by ``url``, else by ``STORE_URL``, else ``./store``.

    A folder (or ``file://`` URL) is the embedded Parquet store; ``postgresql://`` is the PostGIS
    store (its schema is created or migrated on first use).
    """
    url = str(url or os.environ.get("STORE_URL") or DEFAULT_STORE)
    if "://" in url and not url.startswith("file://"):
        from storage import postgis as store_pg  # noqa: PLC0415 (SQLAlchemy only when it is used)

        if store_pg.is_postgres_url(url):
            return store_pg.PostgisStore(url)
        raise ConfigError(f"STORE_URL {url.split('://')[0]}://...: unsupported kind of store; "
                          "use a folder path (embedded store) or postgresql://user@host/db")
    return ParquetStore(Path(url.removeprefix("file://")))


def audit_sink(store) -> AuditSink:
    """The sink of ``store``: a sink as is; a store that provides ``audit_sink()`` (a future
    database backend); an embedded store (``<root>/_audit``); a store URL or path."""
    if isinstance(store, AuditSink):
        return store
    if hasattr(store, "audit_sink"):
        return store.audit_sink()
    if isinstance(store, (str, os.PathLike)) or store is None:
        store = open_store(store)
        if hasattr(store, "audit_sink"):
            return store.audit_sink()
    if hasattr(store, "root"):
        return FileAuditSink(Path(store.root) / AUDIT_DIR)
    raise ConfigError(f"no audit log for {store!r}: the backend has no audit sink")
