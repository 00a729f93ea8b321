"""``python -m storage.base copy``: a store moves between backends without loss.

Round trip Parquet -> PostGIS -> Parquet on a store built by the project's own sample builder, with
a side document and an audit log: records, batches, checksums, documents and the audit chain (its
hashes included) come back identical.
"""
import datetime as dt
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from core.errors import StoreError
from core.schema import FEEDS
from safeguards.audit import AuditEvent, chain_head, read_audit, record, verify
from storage.cli import main as store_main
from storage.copy import copy_store
from storage.open import open_store
from storage.parquet import ParquetStore
from tests.sample_store import build_store

ROOT = Path(__file__).resolve().parent.parent
ROWS = {"nrm": 40, "rosewood": 25, "mandevilla": 15}


def _contents(store) -> dict:
    return {
        # "file" (where a Parquet batch lives) is the one backend-specific key
        "batches": [{k: v for k, v in b.items() if k != "file"} for b in store.batches()],
        "records": {feed: store.query(feed).sort_values("record_id", ignore_index=True)
                    for feed in FEEDS},
        "checksums": {feed: store.checksum(feed) for feed in FEEDS},
        "truth": store.read_document("_synthetic_truth.json"),
        "audit": read_audit(store),
        "head": chain_head(store),
    }


def _assert_identical(a: dict, b: dict) -> None:
    assert a["batches"] == b["batches"]
    for feed in FEEDS:
        pd.testing.assert_frame_equal(a["records"][feed], b["records"][feed])
    assert a["checksums"] == b["checksums"]
    assert a["truth"] == b["truth"]
    pd.testing.assert_frame_equal(a["audit"], b["audit"])
    assert (a["head"]["seq"], a["head"]["hash"]) == (b["head"]["seq"], b["head"]["hash"])


@pytest.fixture
def source(tmp_path) -> ParquetStore:
    store = build_store(tmp_path / "source", ROWS)
    store.write_document("_synthetic_truth.json", '{"seed": 1, "years": 1}')
    record(store, AuditEvent(action="sign-in", actor="ana", role="analyst",
                             created=dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)))
    return store


def test_round_trip_parquet_postgis_parquet(source, pg_url, tmp_path):
    before = _contents(source)
    head = chain_head(source)
    # There: through the command line, as an operator would.
    done = subprocess.run([sys.executable, "-m", "storage", "copy", "--from",
                           str(source.root), "--to", pg_url], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert f"copied {len(before['batches'])} batch(es), {len(before['audit'])} audit entries" \
        in done.stdout
    assert "nrm" in done.stdout and "40 records" in done.stdout
    postgis = open_store(pg_url)
    _assert_identical(before, _contents(postgis))
    assert verify(postgis, expect=(head["seq"], head["hash"][:16])).ok
    # And back, in process.
    report = copy_store(postgis, tmp_path / "back")
    assert report.records == ROWS and report.audit_entries == len(before["audit"])
    back = ParquetStore(tmp_path / "back")
    _assert_identical(before, _contents(back))
    assert verify(back, expect=(head["seq"], head["hash"])).ok
    # The copy is a working store: ingestion and the audit chain carry on.
    record(back, AuditEvent(action="sign-out", actor="ana"))
    assert verify(back).ok and verify(back).entries == len(before["audit"]) + 1


def test_copy_refuses_a_target_that_is_not_empty(source, pg_url):
    copy_store(source, pg_url)
    with pytest.raises(StoreError, match="is not empty"):
        copy_store(source, pg_url)
    with pytest.raises(StoreError, match="is not empty"):
        copy_store(pg_url, source.root)


def test_copy_between_folders_needs_no_database(source, tmp_path):
    report = copy_store(source, tmp_path / "copy")
    assert report.records == ROWS
    _assert_identical(_contents(source), _contents(ParquetStore(tmp_path / "copy")))


# -- a copy that does not match is reported; a failed one leaves the database empty ------------
def test_a_checksum_mismatch_after_copying_is_reported_with_a_non_zero_exit(
        source, tmp_path, monkeypatch, capsys):
    target = tmp_path / "copy"
    real_query = ParquetStore.query

    def altered(self, feed, filters=None, columns=None):
        """The target reads one stored value differently: what a lossy copy would give."""
        frame = real_query(self, feed, filters, columns)
        if self.root == target and feed == "rosewood" and len(frame):
            frame.loc[frame.index[0], "risk_level"] = "not what was copied"
        return frame

    monkeypatch.setattr(ParquetStore, "query", altered)
    assert store_main(["copy", "--from", str(source.root), "--to", str(target)]) == 1
    err = capsys.readouterr().err
    assert "copy check failed for rosewood: source 25 records" in err
    assert "do not use it" in err
    # Same counts, different content: the checksum is what caught it.
    assert source.checksum("rosewood")[0] == ParquetStore(target).checksum("rosewood")[0]


def test_a_postgis_copy_that_fails_part_way_leaves_the_target_empty(source, pg_url, monkeypatch):
    from storage import postgis as store_pg

    real_copy_in, calls = store_pg._copy_in, []

    def fail_on_the_second_batch(conn, table, columns, data):
        calls.append(table)
        if len(calls) == 2:
            raise StoreError("connection lost (simulated)")
        return real_copy_in(conn, table, columns, data)

    monkeypatch.setattr(store_pg, "_copy_in", fail_on_the_second_batch)
    with pytest.raises(StoreError, match="simulated"):
        copy_store(source, pg_url)
    assert len(calls) == 2                       # the first batch had been written
    target = open_store(pg_url)
    assert target.batches() == []
    assert all(target.checksum(feed)[0] == 0 for feed in FEEDS)
    assert target.read_document("_synthetic_truth.json") is None
    assert read_audit(target).empty and chain_head(target) is None

    monkeypatch.setattr(store_pg, "_copy_in", real_copy_in)
    report = copy_store(source, pg_url)          # the next copy succeeds, as if the first
    assert report.records == ROWS                # had never run
    _assert_identical(_contents(source), _contents(open_store(pg_url)))
