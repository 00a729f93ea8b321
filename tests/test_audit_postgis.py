"""The audit trail on the PostGIS store: the same hash chain, in the audit_log table.

The chain logic (data/audit.py) is the same for both backends; these tests check the table sink:
entries identical to the file log's, concurrent writers from several processes, an append-only
table, tampering found by ``verify`` and by ``python -m safeguards.audit verify --store postgresql://``.
"""
import datetime as dt
import json
import multiprocessing
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from safeguards.audit import AuditEvent, chain_head, read_audit, record, verify
from storage.open import open_store
from storage.parquet import ParquetStore
from tests.test_audit import _fill

ROOT = Path(__file__).resolve().parent.parent
UTC = dt.timezone.utc


def _sql(url: str, *statements: str) -> None:
    """Run statements as the superuser, with the append-only trigger bypassed (tampering)."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET session_replication_role = replica")
        for statement in statements:
            conn.execute(statement)


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "safeguards.audit", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


def test_both_backends_write_the_same_chain(pg_store, tmp_path):
    """Same events, same entries, same hashes: a log can move between backends unchanged."""
    on_files = _fill(ParquetStore(tmp_path / "s"), 6)
    in_table = _fill(pg_store, 6)
    assert on_files == in_table
    assert verify(pg_store).ok and verify(pg_store).entries == 6
    assert chain_head(pg_store)["hash"] == on_files[-1]["hash"]
    frame = read_audit(pg_store, actor="chair1")
    assert frame["seq"].tolist() == [6, 4, 2]


def _write_many(args):
    url, worker = args
    store = open_store(url)
    for i in range(10):
        record(store, AuditEvent(action="page-view", actor=f"worker{worker}", page=f"p{i}"))
    return worker


def test_concurrent_writers_in_several_processes_make_one_chain(pg_store):
    pg_store.batches()  # the parent has pooled connections of its own when the workers fork
    with multiprocessing.get_context("fork").Pool(4) as pool:
        assert sorted(pool.map(_write_many, [(pg_store.url, w) for w in range(4)])) == [0, 1, 2, 3]
    result = verify(pg_store)
    assert result.ok and result.entries == 40, result
    frame = read_audit(pg_store)
    assert sorted(frame["seq"]) == list(range(1, 41))
    assert frame.groupby("actor").size().to_dict() == {f"worker{w}": 10 for w in range(4)}


def test_the_audit_table_refuses_updates_and_deletes(pg_store):
    _fill(pg_store, 2)
    with psycopg.connect(pg_store._full_url, autocommit=True) as conn:
        for statement in ("UPDATE audit_log SET entry = '{}' WHERE seq = 1",
                          "DELETE FROM audit_log WHERE seq = 2", "TRUNCATE audit_log"):
            with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
                conn.execute(statement)
    assert verify(pg_store).ok


def test_tampering_is_found_and_named(pg_store):
    entries = _fill(pg_store, 5)
    edited = dict(entries[2], actor="nobody")
    _sql(pg_store._full_url, f"UPDATE audit_log SET entry = '{json.dumps(edited)}' WHERE seq = 3")
    result = verify(pg_store)
    assert not result.ok and result.kind == "edited" and result.first_bad_seq == 3


def test_deleting_the_last_entries_is_truncation(pg_store):
    _fill(pg_store, 5)
    _sql(pg_store._full_url, "DELETE FROM audit_log WHERE seq >= 4")
    result = verify(pg_store)
    assert not result.ok and result.kind == "truncated" and result.first_bad_seq == 4


def test_cli_verify_against_a_postgresql_url(pg_store):
    entries = _fill(pg_store, 4)
    ok = _cli("verify", "--store", pg_store.url)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.strip() == f"audit chain intact: 4 entries, last {entries[-1]['hash'][:12]}"
    listed = _cli("list", "--store", pg_store.url, "--limit", "2")
    assert listed.returncode == 0 and len(listed.stdout.splitlines()) == 2
    _sql(pg_store._full_url, "DELETE FROM audit_log WHERE seq = 2")
    bad = _cli("verify", "--store", pg_store.url)
    assert bad.returncode == 1 and "BROKEN at seq 2" in bad.stderr and "missing" in bad.stderr
