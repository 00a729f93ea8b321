"""Connections to the PostGIS store and its schema: URLs (passwords masked), one pooled engine
per URL and process, and the Alembic migrations (``storage/migrations/``), run under an advisory
lock when a store is first opened. ``sslmode`` and every other libpq parameter in the query
string of ``STORE_URL`` reach the connection unchanged (``?sslmode=verify-full``)."""
from __future__ import annotations

import os
import threading
from pathlib import Path

from core.errors import ConfigError

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_LOCK_MIGRATE = 7_000_001
_ENGINES: dict[str, object] = {}
_SECRET_URLS: dict[str, str] = {}   # masked URL -> full URL (this process only)
_MIGRATED: set[str] = set()
_GUARD = threading.Lock()


def is_postgres_url(url: str) -> bool:
    return url.split("://", 1)[0].split("+", 1)[0] in ("postgresql", "postgres")


def engine_url(url: str) -> str:
    """The SQLAlchemy URL (psycopg 3 driver) for a ``postgresql://`` store URL."""
    url = _SECRET_URLS.get(url, url)
    scheme, rest = url.split("://", 1)
    return f"postgresql+psycopg://{rest}" if scheme.split("+")[0] in ("postgresql", "postgres") \
        else url


def masked(url: str) -> str:
    from sqlalchemy.engine import make_url

    shown = make_url(engine_url(url)).render_as_string(hide_password=True)
    return shown.replace("postgresql+psycopg://", "postgresql://", 1)


def full_url(url: str) -> str:
    """``url`` with its password when it is the masked URL of a store this process opened
    (:func:`remember_full_url`), else ``url`` itself."""
    return _SECRET_URLS.get(url, url)


def remember_full_url(full: str) -> str:
    """The masked form of ``full`` (the URL a store shows), remembered in this process so that
    the masked URL opens the same store again (:func:`full_url`)."""
    shown = masked(full)
    if shown != full:
        _SECRET_URLS[shown] = full
    return shown


def engine_for(url: str):
    from sqlalchemy import create_engine

    key = engine_url(url)
    with _GUARD:
        engine = _ENGINES.get(key)
        if engine is None:
            engine = create_engine(key, pool_size=5, max_overflow=10, pool_pre_ping=True,
                                   connect_args={"application_name": "wy-dashboard"})
            _ENGINES[key] = engine
    return engine


def dispose_engines() -> None:
    """Close every pooled connection of this process (tests, forks)."""
    with _GUARD:
        for engine in _ENGINES.values():
            engine.dispose()
        _ENGINES.clear()
        _MIGRATED.clear()


_INHERITED: list = []  # a forked child's copies of its parent's engines, never used or closed


def _after_fork_in_child() -> None:
    """A forked child opens its own connections. The parent's are kept referenced (closing or
    garbage-collecting them would end the parent's sessions on the shared sockets)."""
    _INHERITED.extend(_ENGINES.values())
    _ENGINES.clear()
    _MIGRATED.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _alembic_config():
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_alembic_config()).get_current_head()


def current_revision(url: str) -> str | None:
    from sqlalchemy import text

    with engine_for(url).connect() as conn:
        if not conn.execute(text("SELECT to_regclass('alembic_version')")).scalar():
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def migrate(url: str) -> str:
    """Create or upgrade the schema to the newest revision; return it. Safe to run concurrently."""
    from alembic import command
    from sqlalchemy import exc as sa_exc
    from sqlalchemy import text

    config = _alembic_config()
    try:
        with engine_for(url).begin() as conn:
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_MIGRATE})
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
    except sa_exc.OperationalError as exc:
        raise ConfigError(f"STORE_URL {masked(url)}: cannot connect to PostgreSQL: "
                          f"{first_line(exc)}") from exc
    except sa_exc.DBAPIError as exc:
        hint = ""
        if "postgis" in str(exc).lower():
            hint = (" (the PostGIS extension is missing or this user may not create it: ask the "
                    "database administrator to run CREATE EXTENSION postgis in this database)")
        raise ConfigError(f"STORE_URL {masked(url)}: cannot create the store schema: "
                          f"{first_line(exc)}{hint}") from exc
    _MIGRATED.add(engine_url(url))
    return head_revision()


def first_line(exc: Exception) -> str:
    text = str(getattr(exc, "orig", None) or exc)
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__


def ensure_schema(url: str) -> None:
    if engine_url(url) in _MIGRATED:
        return
    try:
        up_to_date = current_revision(url) == head_revision()
    except Exception as exc:  # noqa: BLE001 - any connection failure, reported with the URL
        from sqlalchemy import exc as sa_exc

        if isinstance(exc, sa_exc.SQLAlchemyError):
            raise ConfigError(f"STORE_URL {masked(url)}: cannot connect to PostgreSQL: "
                              f"{first_line(exc)}") from exc
        raise
    if up_to_date:
        _MIGRATED.add(engine_url(url))
    else:
        migrate(url)
