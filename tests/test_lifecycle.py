"""Data lifecycle (issue 16), on both backends: batches listed, a batch withdrawn, listed records
withdrawn, retention purge (dry run and apply), nothing of the removed records left in any file
the store owns, a killed withdrawal leaves the old store or the new one, every action audited.

The ``store`` fixture is parametrised over ``parquet`` and ``postgis`` as in tests/test_store.py.
The audit retention purge is in tests/test_lifecycle_audit.py, the admin page in
tests/test_lifecycle_page.py.
"""
from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from core.errors import AccessDenied
from data.ingest import ingest_file, ingest_frame
from safeguards import lifecycle
from safeguards.audit import read_audit, verify
from storage.base import DOCUMENTS, store_fingerprint
from storage.lifecycle import LifecycleError, next_purge, purge_plan, quarantine_files
from storage.parquet import ParquetStore
from tests.conftest import VALID_ROWS, write_csv
from tests.sample_store import feed_rows
from tests.test_store import assert_same_contents, backend, contents

ROOT = Path(__file__).resolve().parent.parent
MARK = "ZQXMARK"
# A rosewood file sent in error: its record ids carry the marker.
ERRONEOUS = [dict(r, record_id=f"RW-{MARK}-{i}") for i, r in enumerate(VALID_ROWS["rosewood"])]


@pytest.fixture(params=["parquet", "postgis"])
def store(request, tmp_path, monkeypatch):
    monkeypatch.setenv("QUARANTINE_DIR", str(tmp_path / "quarantine"))  # PostGIS: on this machine
    if request.param == "parquet":
        return ParquetStore(tmp_path / "store")
    return request.getfixturevalue("pg_store")


@pytest.fixture
def loaded(store, valid_file, tmp_path, clock):
    """nrm and mandevilla files, then the erroneous rosewood file (a minute later)."""
    ingest_file(valid_file("nrm"), "nrm", store=store)
    ingest_file(valid_file("mandevilla"), "mandevilla", store=store)
    clock(dt.timedelta(minutes=1))
    ingest_file(write_csv(tmp_path / "rosewood-wrong-month.csv", ERRONEOUS), "rosewood",
                store=store)
    return store


def batch_of(store, file_name: str) -> dict:
    return next(b for b in store.batches() if b["file_name"] == file_name)


def cli(*args, module="safeguards.lifecycle"):
    """A command run in a new process (``python -m module``); for commands that do not read the
    clock (a new process does not see the frozen one)."""
    return subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)


@pytest.fixture
def command(capsys):
    """``python -m safeguards.lifecycle ARGS`` in this process, at the frozen time."""
    def run(*args):
        code = lifecycle.main(list(args))
        out = capsys.readouterr()
        return subprocess.CompletedProcess(args, code, out.out, out.err)
    return run


def entries(store, action):
    return [json.loads(f) | {"_records": r, "_detail": d, "_actor": a}
            for f, r, d, a in read_audit(store, action=action)[
                ["filters", "records", "detail", "actor"]].itertuples(index=False)]


# -- 1. withdraw a batch -----------------------------------------------------------------------
def test_batches_name_the_partner_file_and_its_id(loaded):
    batch = batch_of(loaded, "rosewood-wrong-month.csv")
    listed = cli("batches", "--store", loaded.url, module="data.store")  # the old name, once
    assert listed.returncode == 0, listed.stderr
    line = next(x for x in listed.stdout.splitlines() if batch["id"] in x)
    assert "rosewood-wrong-month.csv" in line and "rosewood" in line
    plain = cli("batches", "--store", loaded.url, module="storage")
    assert batch["id"] in plain.stdout and "rosewood-wrong-month.csv" in plain.stdout


def test_withdrawing_a_batch_removes_every_record_of_it_and_audits_it(loaded, command,
                                                                      monkeypatch):
    before = contents(loaded)
    batch = batch_of(loaded, "rosewood-wrong-month.csv")
    key = store_fingerprint(loaded)
    monkeypatch.setenv("AUDIT_ACTOR", "dpo")
    done = command("withdraw", "--batch", batch["id"], "--reason", "wrong month sent by partner",
                   "--store", loaded.url)
    assert done.returncode == 0, done.stderr
    assert "rosewood" in done.stdout and "2024" in done.stdout
    assert loaded.query("rosewood").empty
    assert [b["id"] for b in loaded.batches()] == [b["id"] for b in before["batches"]
                                                   if b["id"] != batch["id"]]
    for feed in ("nrm", "mandevilla"):  # the other batches are untouched
        pd.testing.assert_frame_equal(contents(loaded)[feed], before[feed])
    assert store_fingerprint(loaded) != key  # every cached page view is computed afresh
    (entry,) = entries(loaded, "withdraw")
    assert entry["batch"] == batch["id"] and entry["file"] == "rosewood-wrong-month.csv"
    assert entry["counts"] == {"rosewood": {"2024": 2}} and entry["_records"] == 2
    assert entry["reason"] == "wrong month sent by partner" and entry["_actor"] == "dpo"
    assert MARK not in read_audit(loaded).to_csv()  # never the records' contents
    assert verify(loaded).ok


def test_an_unknown_batch_or_no_reason_is_refused_and_audited(loaded):
    with pytest.raises(LifecycleError, match="no batch 'nope'"):
        lifecycle.withdraw_batch(loaded, "nope", reason="wrong file", actor="dpo")
    batch = batch_of(loaded, "nrm.csv")
    with pytest.raises(LifecycleError, match="reason"):
        lifecycle.withdraw_batch(loaded, batch["id"], reason=" ", actor="dpo")
    with pytest.raises(AccessDenied):
        lifecycle.withdraw_batch(loaded, batch["id"], reason="wrong file", actor="ana",
                                 role="analyst")
    assert len(loaded.query("nrm")) == 3
    details = read_audit(loaded, action=("withdraw", "access-denied"))["detail"].tolist()
    assert details[1:] == ["refused: LifecycleError", "refused: LifecycleError"]
    assert "may not ingest" in details[0]


def test_withdrawing_a_batch_removes_its_quarantine_files_only(store, tmp_path, clock):
    bad = dict(VALID_ROWS["mandevilla"][0], record_id=f"MV-{MARK}", age_group="teen")
    first = write_csv(tmp_path / "flags.csv", [*VALID_ROWS["mandevilla"][1:], bad])
    ingest_file(first, "mandevilla", store=store, accept_valid=True)
    clock(dt.timedelta(hours=2))
    other = [dict(r, record_id=r["record_id"] + "b") for r in VALID_ROWS["mandevilla"]]
    second = write_csv(tmp_path / "flags2.csv", other)
    ingest_file(second, "mandevilla", store=store)
    clock(dt.timedelta(hours=2))
    later = dict(bad, record_id=f"MV-{MARK}-2")
    ingest_file(write_csv(tmp_path / "flags.csv", [dict(other[0], record_id="MV-9"), later]),
                "mandevilla", store=store, accept_valid=True)  # the same file name, later
    folder = store.quarantine_dir()
    assert len(list(folder.glob("*.csv"))) == 2
    early, late = [b for b in store.batches() if b["file_name"] == "flags.csv"]
    (mine,) = quarantine_files(store, early)
    assert MARK in mine.read_text() and f"MV-{MARK}-2" not in mine.read_text()
    lifecycle.withdraw_batch(store, early["id"], reason="wrong export", actor="dpo")
    (left,) = folder.glob("*.csv")
    assert f"MV-{MARK}-2" in left.read_text()  # the later ingest's quarantine stays
    assert entries(store, "withdraw")[0]["quarantine_files"] == 1


# -- 2. withdraw records -----------------------------------------------------------------------
def test_withdrawing_listed_records_removes_them_from_every_batch(loaded, tmp_path, command):
    ids = write_csv(tmp_path / "ids.csv", [{"record_id": "NRM-2"}, {"record_id": "MV-1"},
                                           {"record_id": "MV-2"}, {"record_id": "NOT-STORED"}])
    nrm_batch = batch_of(loaded, "nrm.csv")
    key = store_fingerprint(loaded)
    done = command("withdraw", "--records", str(ids), "--reason", "never to have been shared",
                   "--store", loaded.url)
    assert done.returncode == 0, done.stderr
    assert "4 record id(s) listed, 3 found and withdrawn" in done.stdout
    assert sorted(loaded.query("nrm")["record_id"]) == ["NRM-1", "NRM-3"]
    assert loaded.query("mandevilla").empty
    batches = {b["file_name"]: b for b in loaded.batches()}
    assert "mandevilla.csv" not in batches  # emptied: gone
    assert batches["nrm.csv"]["id"] == nrm_batch["id"] and batches["nrm.csv"]["rows"] == 2
    assert store_fingerprint(loaded) != key
    (entry,) = entries(loaded, "withdraw")
    assert entry["ids_listed"] == 4 and entry["_records"] == 3
    assert entry["counts"] == {"mandevilla": {"2024": 2}, "nrm": {"2024": 1}}
    assert "NRM-2" not in read_audit(loaded).to_csv()  # a digest of the list, not the ids
    assert len(entry["ids_sha256"]) == 64
    # the same list for one feed only
    lifecycle.withdraw_records(loaded, ["NRM-1", "RW-ZQXMARK-0"], reason="one feed only",
                               actor="dpo", feeds=("rosewood",))
    assert "NRM-1" in set(loaded.query("nrm")["record_id"])
    assert len(loaded.query("rosewood")) == 1


# -- 3. retention --------------------------------------------------------------------------------
@pytest.fixture
def aged(store, monkeypatch):
    """One record a week from 2 Jan 2023 (45 nrm, 10 rosewood); nrm kept 3 years: on the frozen
    day, 15 Dec 2026, nrm records before 15 Dec 2023 are due; rosewood kept 6 years: none."""
    monkeypatch.setenv("RETENTION_YEARS_NRM", "3")
    monkeypatch.delenv("RETENTION_YEARS_ROSEWOOD", raising=False)
    ingest_frame(feed_rows("nrm", 30), "nrm", name="old.csv", store=store)
    ingest_frame(feed_rows("nrm", 60).iloc[30:], "nrm", name="new.csv", store=store)
    ingest_frame(feed_rows("rosewood", 10), "rosewood", name="rw.csv", store=store)
    return store


def test_purge_dry_run_counts_per_feed_and_year_and_changes_nothing(aged, command):
    before = contents(aged)
    expected = sum(d < pd.Timestamp("2023-12-15") for d in
                   pd.date_range("2023-01-02", periods=60, freq="7D"))
    assert purge_plan(aged, dt.date(2026, 12, 15)) == {"nrm": {2023: expected}}
    dry = command("purge", "--store", aged.url)
    assert dry.returncode == 0, dry.stderr
    assert f"nrm        2023  {expected:>8,} records due (dry run" in dry.stdout
    assert_same_contents(before, contents(aged))
    assert read_audit(aged, action="purge").empty


def test_purge_apply_removes_records_past_retention_and_audits_counts(aged, command):
    key = store_fingerprint(aged)
    assert next_purge(aged, dt.date(2026, 12, 15)) == dt.date(2026, 12, 15)  # due now
    done = command("purge", "--apply", "--store", aged.url)
    assert done.returncode == 0, done.stderr
    nrm = aged.query("nrm")
    assert nrm["event_date"].min() >= pd.Timestamp("2023-12-15") and len(nrm) == 60 - 50
    assert len(aged.query("rosewood")) == 10
    assert [b["file_name"] for b in aged.batches()] == ["new.csv", "rw.csv"]  # old.csv emptied
    assert store_fingerprint(aged) != key
    (entry,) = entries(aged, "purge")
    assert entry["counts"] == {"nrm": {"2023": 50}} and entry["_records"] == 50
    assert entry["before"]["nrm"] == "2023-12-15"
    assert purge_plan(aged, dt.date(2026, 12, 15)) == {}
    # the oldest record left is purged three years after its event date
    first = nrm["event_date"].min().date()
    assert next_purge(aged, dt.date(2026, 12, 15)) == first.replace(year=first.year + 3)
    assert verify(aged).ok


# -- 4. nothing left behind ----------------------------------------------------------------------
def parquet_files_with(root: Path, text: str) -> list[str]:
    """Files under ``root`` holding ``text``: raw bytes, and each Parquet file decoded (its
    pages are compressed, so the raw bytes alone would prove nothing)."""
    found = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        data = path.read_bytes()
        if text.encode() in data:
            found.append(str(path))
        elif path.suffix == ".parquet" and text in pq.read_table(path).to_pandas().to_csv():
            found.append(str(path))
    return found


def postgis_files_with(store, text: str, table: str) -> list[str]:
    """The relation files of ``table``, its indexes and TOAST table, and ``batches``, holding
    ``text``, read after a CHECKPOINT wrote every page to disk."""
    import psycopg

    from storage.pg_engine import engine_url

    url = engine_url(store.url).replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CHECKPOINT")
        data = Path(conn.execute("SHOW data_directory").fetchone()[0])
        paths = [r[0] for r in conn.execute(
            "SELECT pg_relation_filepath(oid) FROM pg_class WHERE oid = %s::regclass "
            "OR oid IN (SELECT indexrelid FROM pg_index WHERE indrelid = %s::regclass) "
            "OR oid = (SELECT reltoastrelid FROM pg_class WHERE oid = %s::regclass) "
            "OR oid = 'batches'::regclass", [table, table, table]).fetchall() if r[0]]
    found = []
    for relative in paths:
        for segment in sorted((data / relative).parent.glob(Path(relative).name + "*")):
            if text.encode() in segment.read_bytes():
                found.append(str(segment))
    return found


def files_with(store, text: str) -> list[str]:
    if backend(store) == "parquet":
        return parquet_files_with(store.root, text)
    return postgis_files_with(store, text, "events_rosewood")


@pytest.mark.parametrize("how", ["batch", "records", "purge"])
def test_no_byte_of_removed_records_remains_in_any_store_file(loaded, how, monkeypatch):
    assert files_with(loaded, MARK), "the search must find the marker before the removal"
    keep = {"nrm": len(loaded.query("nrm")), "mandevilla": len(loaded.query("mandevilla"))}
    if how == "batch":
        lifecycle.withdraw_batch(loaded, batch_of(loaded, "rosewood-wrong-month.csv")["id"],
                                 reason="sent in error", actor="dpo")
    elif how == "records":  # the file of the batch is rewritten without them
        lifecycle.withdraw_records(loaded, [r["record_id"] for r in ERRONEOUS],
                                   reason="sent in error", actor="dpo")
    else:
        monkeypatch.setenv("RETENTION_YEARS_ROSEWOOD", "2")  # before 15 Dec 2024: all of them
        lifecycle.purge(loaded, apply=True, actor="dpo")
    assert files_with(loaded, MARK) == []
    assert {f: len(loaded.query(f)) for f in keep} == keep
    if backend(loaded) == "parquet":  # only the files the manifest names are left
        listed = {b["file"] for b in loaded.batches()}
        on_disk = {str(p.relative_to(loaded.root)) for p in loaded.root.glob("*/*.parquet")}
        assert on_disk == listed


def test_tasking_documents_hold_no_record_ids(loaded):
    """Tasks keep hotspot summaries (polygon, places, counts), never record ids: a withdrawal
    has nothing to take out of them. Written here as the task book writes one."""
    from safeguards.access import Principal, RoleScopedQuery
    from views.hotspots import fit_hotspots
    from views.tasking import TaskBook

    chair = Principal("chair@wy.example", "chair")
    ingest_frame(feed_rows("nrm", 40), "nrm", name="more.csv", store=loaded)
    view = fit_hotspots(RoleScopedQuery(loaded, chair), ("nrm", "rosewood"))
    assert len(view.hotspots), "the test needs a hotspot to make a task of"
    TaskBook(loaded, chair).create(view.hotspots.iloc[0], lead_agency="West Yorkshire Police",
                                   action="patrol", due=dt.date(2027, 1, 31), feeds=view.feeds,
                                   filters=view.filters)
    ids = set(loaded.query("nrm")["record_id"]) | {r["record_id"] for r in ERRONEOUS}
    lifecycle.withdraw_batch(loaded, batch_of(loaded, "rosewood-wrong-month.csv")["id"],
                             reason="sent in error", actor="dpo")
    texts = [loaded.read_document(name) or "" for name in DOCUMENTS]
    assert not [i for i in ids for text in texts if i in text]


# -- crash safety --------------------------------------------------------------------------------
KILL_BEFORE_RENAME = """
real_replace = os.replace
def dying_replace(src, dst):
    if str(src).endswith('.parquet'):
        os._exit(9)          # the rewritten file is written, not yet renamed
    real_replace(src, dst)
store_module.os.replace = dying_replace
"""
KILL_BEFORE_COMMIT = """
store_module.ParquetStore._commit = lambda self, manifest: os._exit(9)  # files renamed only
"""
KILL_AFTER_COMMIT = """
import pathlib
real_unlink = pathlib.Path.unlink
def dying_unlink(self, missing_ok=False):
    if self.suffix == '.parquet':
        os._exit(9)          # the new manifest is in place, the old files not yet deleted
    real_unlink(self, missing_ok=missing_ok)
pathlib.Path.unlink = dying_unlink
"""
KILL_BEFORE_PG_COMMIT = """
import psycopg
real_execute = psycopg.Connection.execute
def dying_execute(self, query, *args, **kwargs):
    if str(query).startswith('DELETE FROM batches'):
        os._exit(9)          # every event row deleted, batches updated, not committed
    return real_execute(self, query, *args, **kwargs)
psycopg.Connection.execute = dying_execute
"""
KILL_BEFORE_PG_VACUUM = """
import psycopg
real_execute = psycopg.Connection.execute
def dying_execute(self, query, *args, **kwargs):
    if 'VACUUM' in str(query):
        os._exit(9)          # committed, not yet vacuumed
    return real_execute(self, query, *args, **kwargs)
psycopg.Connection.execute = dying_execute
"""
KILLS = [("parquet", KILL_BEFORE_RENAME, "old"), ("parquet", KILL_BEFORE_COMMIT, "old"),
         ("parquet", KILL_AFTER_COMMIT, "new"), ("postgis", KILL_BEFORE_PG_COMMIT, "old"),
         ("postgis", KILL_BEFORE_PG_VACUUM, "new")]


@pytest.mark.parametrize("store,patch,left", KILLS, indirect=["store"],
                         ids=["parquet-before-rename", "parquet-before-manifest",
                              "parquet-after-manifest", "postgis-before-commit",
                              "postgis-before-vacuum"])
def test_a_killed_withdrawal_leaves_the_old_store_or_the_new_never_a_mix(loaded, patch, left):
    before = contents(loaded)
    code = "\n".join(["import os", "import storage.parquet as store_module",
                      textwrap.dedent(patch), "from safeguards.lifecycle import withdraw_records",
                      "from storage.open import open_store",
                      f"withdraw_records(open_store({loaded.url!r}), ['NRM-2', 'RW-{MARK}-0'], "
                      "reason='sent in error', actor='dpo')"])
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT, timeout=120).returncode == 9
    after = contents(loaded)
    if left == "old":
        assert_same_contents(before, after)
    else:
        assert sorted(after["nrm"]["record_id"]) == ["NRM-1", "NRM-3"]
        assert after["rosewood"]["record_id"].tolist() == [f"RW-{MARK}-1"]
        assert sum(b["rows"] for b in after["batches"]) == 7 - 2
    # the next removal completes, and leaves nothing of what was removed behind
    lifecycle.withdraw_records(loaded, ["NRM-2", f"RW-{MARK}-0"], reason="sent in error",
                               actor="dpo")
    assert files_with(loaded, f"RW-{MARK}-0") == []
    assert sorted(loaded.query("nrm")["record_id"]) == ["NRM-1", "NRM-3"]


# -- the command names ---------------------------------------------------------------------------
def test_python_m_storage_names_the_audited_command_and_does_nothing(loaded):
    batch = batch_of(loaded, "nrm.csv")
    done = cli("withdraw", "--batch", batch["id"], "--reason", "x", "--store", loaded.url,
               module="storage")
    assert done.returncode == 2 and "python -m data.store withdraw" in done.stderr
    assert len(loaded.query("nrm")) == 3 and read_audit(loaded, action="withdraw").empty


# -- encryption in transit: sslmode in STORE_URL reaches the connection ---------------------------
def test_sslmode_in_the_store_url_reaches_the_connection(pg_url):
    from core.errors import ConfigError
    from storage.open import open_store

    joiner = "&" if "?" in pg_url else "?"
    plain = open_store(pg_url + joiner + "sslmode=disable")
    with plain.connection() as conn:
        assert conn.info.get_parameters().get("sslmode") == "disable"
    # the throwaway cluster has no TLS: a store that requires it must refuse to connect
    with pytest.raises(ConfigError, match="(?i)ssl"):
        open_store(pg_url + joiner + "sslmode=require")
