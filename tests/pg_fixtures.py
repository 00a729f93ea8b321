"""Fixtures for the PostGIS store: a throwaway cluster per session, a fresh database per test.

The session fixture starts a cluster (``tests.pgcluster``), creates a template database with
PostGIS and the store schema migrated, and removes everything at the end. ``pg_url`` copies the
template (``CREATE DATABASE ... TEMPLATE``, a file copy: ~0.1 s) so each test starts empty.

Without PostgreSQL and PostGIS on this machine the tests that use them are skipped with the
reason; with ``CI=true`` they fail instead, since CI installs both (``.ci/run``).
"""
from __future__ import annotations

import os
import uuid

import pytest

from tests.pgcluster import Cluster, ci, unavailable_reason

TEMPLATE = f"wy_template_{os.getpid()}"


def _unavailable(reason: str) -> None:
    if ci():
        pytest.fail(f"PostGIS store tests cannot run: {reason} (CI=true: they must run on CI; "
                    ".ci/run installs postgresql and postgis)", pytrace=False)
    pytest.skip(f"PostGIS store tests skipped: {reason}")


@pytest.fixture(scope="session")
def pg_cluster():
    reason = unavailable_reason()
    if reason:
        _unavailable(reason)
    try:
        from storage.postgis import dispose_engines
    except ImportError as exc:  # requirements not installed
        _unavailable(f"{exc.name} is not installed (pip install -r requirements.txt)")
    cluster = Cluster()
    try:
        cluster.start()
        cluster.make_template(TEMPLATE)
    except Exception as exc:  # noqa: BLE001 - any start-up failure is reported the same way
        cluster.stop()
        _unavailable(f"could not start a throwaway PostgreSQL cluster: {exc}")
    yield cluster
    dispose_engines()
    try:
        cluster.drop_database(TEMPLATE)
    finally:
        cluster.stop()


WORKING = f"wy_store_tests_{os.getpid()}"
TABLES = ("batches", "events_nrm", "events_rosewood", "events_mandevilla", "audit_log",
          "audit_head", "documents")


@pytest.fixture(scope="session")
def _pg_working(pg_cluster):
    """One database the tests share, emptied before each test (faster than one per test)."""
    url = pg_cluster.create_database(WORKING, template=TEMPLATE)
    yield url
    from storage.postgis import dispose_engines

    dispose_engines()
    pg_cluster.drop_database(WORKING)


def empty_database(url: str) -> None:
    """Remove every row (the audit log's append-only trigger is bypassed, as superuser)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET session_replication_role = replica")
        conn.execute(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE")
        conn.execute("ALTER TABLE audit_log ENABLE TRIGGER ALL")


@pytest.fixture
def pg_url(_pg_working):
    """The URL of an empty, migrated PostGIS store database."""
    empty_database(_pg_working)
    return _pg_working


@pytest.fixture
def pg_new_database(pg_cluster):
    """Factory: the URL of a new database with PostGIS and the schema (dropped after the test)."""
    from storage.postgis import dispose_engines

    names = []

    def make(migrated: bool = True) -> str:
        name = f"wy_test_{uuid.uuid4().hex[:12]}"
        names.append(name)
        if migrated:
            return pg_cluster.create_database(name, template=TEMPLATE)
        url = pg_cluster.create_database(name)
        import psycopg

        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION postgis")
        return url

    yield make
    dispose_engines()
    for name in names:
        pg_cluster.drop_database(name)


@pytest.fixture
def pg_store(pg_url):
    from storage.open import open_store

    return open_store(pg_url)


def _columns(conn, table: str) -> str:
    rows = conn.execute("SELECT column_name FROM information_schema.columns WHERE table_schema = "
                        "'public' AND table_name = %s AND is_generated = 'NEVER' "
                        "ORDER BY ordinal_position", [table]).fetchall()
    return ", ".join(f'"{r[0]}"' for r in rows)


def save_snapshot(url: str, name: str) -> None:
    """Keep a copy of every store table in schema ``snap_<name>`` (to restore in milliseconds)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS snap_{name} CASCADE")
        conn.execute(f"CREATE SCHEMA snap_{name}")
        for table in TABLES:
            conn.execute(f"CREATE TABLE snap_{name}.{table} AS SELECT {_columns(conn, table)} "
                         f"FROM public.{table}")


def restore_snapshot(url: str, name: str) -> None:
    """Empty the store tables and refill them from ``save_snapshot(url, name)``."""
    import psycopg

    empty_database(url)
    with psycopg.connect(url, autocommit=True) as conn, conn.transaction():
        conn.execute("SET LOCAL session_replication_role = replica")
        for table in TABLES:
            columns = _columns(conn, table)
            conn.execute(f"INSERT INTO public.{table} ({columns}) SELECT {columns} "
                         f"FROM snap_{name}.{table}")
        for table in ("batches", "audit_log"):  # bigserial: continue after the restored rows
            conn.execute(f"SELECT setval(pg_get_serial_sequence('public.{table}', 'pos'), "
                         f"coalesce((SELECT max(pos) FROM public.{table}), 0) + 1, false)")
