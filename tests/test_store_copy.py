"""``python -m data.store copy``: a store moves between backends without loss.

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

from data.audit import AuditEvent, chain_head, read_audit, record, verify
from data.errors import StoreError
from data.schema import FEEDS
from data.store import ParquetStore, copy_store, open_store
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
    done = subprocess.run([sys.executable, "-m", "data.store", "copy", "--from",
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
