"""Retention of the audit trail (issue 16, point 3), on both backends: ``python -m
safeguards.audit purge`` removes old entries and writes a checkpoint that keeps the chain
verifiable; an edited or forged checkpoint, or entries removed any other way, fail ``verify``.
"""
from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest

from safeguards.audit import (
    CHECKPOINT_ACTION,
    AuditEvent,
    chain_head,
    entry_hash,
    main,
    read_audit,
    record,
    verify,
)
from safeguards.audit_retention import purge_audit
from storage.audit_log import AuditError
from storage.open import audit_sink
from storage.parquet import ParquetStore

ROOT = Path(__file__).resolve().parent.parent
UTC = dt.timezone.utc
CUT = dt.date(2019, 1, 1)


@pytest.fixture(params=["parquet", "postgis"])
def store(request, tmp_path):
    if request.param == "parquet":
        return ParquetStore(tmp_path / "store")
    return request.getfixturevalue("pg_store")


@pytest.fixture
def old_log(store):
    """Ten entries: six from 2017–2018 (older than the default 7 years on the frozen day,
    15 Dec 2026), four from 2020 on."""
    for i in range(10):
        when = dt.datetime(2017 + (i // 3 if i < 6 else i - 3), 3, 1 + i, tzinfo=UTC)
        record(store, AuditEvent(action="sign-in", actor=f"user{i}", role="analyst",
                                 created=when))
    return store


def lines(store) -> list[dict]:
    return [json.loads(text) for text in audit_sink(store).read()]


def test_dry_run_counts_and_changes_nothing(old_log):
    before = lines(old_log)
    result = purge_audit(old_log, before=CUT)
    assert (result.removed, result.through_seq, result.applied) == (6, 6, False)
    assert lines(old_log) == before


def test_purge_removes_old_entries_and_the_checkpoint_keeps_the_chain_verifiable(old_log,
                                                                                 monkeypatch):
    removed_head = lines(old_log)[5]
    result = purge_audit(old_log, before=CUT, apply=True, actor="dpo")
    assert (result.removed, result.checkpoint_seq) == (6, 11)
    kept = lines(old_log)
    assert [e["seq"] for e in kept] == [7, 8, 9, 10, 11]
    checkpoint = kept[-1]
    assert checkpoint["action"] == CHECKPOINT_ACTION and checkpoint["actor"] == "dpo"
    assert checkpoint["filters"]["checkpoint"] == {"seq": 6, "hash": removed_head["hash"]}
    assert checkpoint["records"] == 6
    state = verify(old_log)
    assert state.ok and state.entries == 5
    # the chain goes on, and a head kept outside before the purge still checks where it can
    record(old_log, AuditEvent(action="sign-out", actor="user9"))
    assert verify(old_log).ok and chain_head(old_log)["seq"] == 12
    assert verify(old_log, expect=(6, removed_head["hash"][:12])).ok
    gone = verify(old_log, expect=(3, "0" * 12))
    assert not gone.ok and gone.kind == "expected" and "retention purge" in gone.reason
    # a second purge (seq 7 and 8, from 2020 and 2021) is anchored by its own checkpoint, the
    # last one in the log; the first checkpoint stays as the record of the first purge
    monkeypatch.setenv("AUDIT_RETENTION_YEARS", "3")
    assert purge_audit(old_log, before=dt.date(2021, 6, 1), apply=True).removed == 2
    assert [e["seq"] for e in lines(old_log)] == [9, 10, 11, 12, 13]
    assert verify(old_log).ok
    assert read_audit(old_log, action=CHECKPOINT_ACTION)["seq"].tolist() == [13, 11]


def test_a_purge_everything_older_keeps_only_the_checkpoint(store):
    record(store, AuditEvent(action="sign-in", actor="a",
                             created=dt.datetime(2015, 1, 1, tzinfo=UTC)))
    purge_audit(store, before=CUT, apply=True)
    assert [e["seq"] for e in lines(store)] == [2] and verify(store).ok


def test_an_edited_checkpoint_fails_verify(old_log, tmp_path):
    purge_audit(old_log, before=CUT, apply=True)
    forged = lines(old_log)
    forged[-1]["filters"]["checkpoint"]["seq"] = 4
    _rewrite(old_log, forged, rehash=False)
    result = verify(old_log)
    assert not result.ok and result.kind == "edited" and result.first_bad_seq == 11


def test_a_forged_checkpoint_that_does_not_anchor_the_kept_entries_fails(old_log):
    """Someone deletes entries and re-hashes a checkpoint of their own: the first kept entry
    does not chain to its anchor."""
    entries = lines(old_log)
    fake = dict(entries[-1], seq=11, action=CHECKPOINT_ACTION, prev_hash=entries[-1]["hash"],
                filters={"checkpoint": {"seq": 6, "hash": "f" * 64}})
    fake["hash"] = entry_hash(fake)
    _rewrite(old_log, entries[6:] + [fake], rehash=False)
    result = verify(old_log)
    assert not result.ok and result.kind == "checkpoint" and "forged" in result.reason


def test_entries_removed_after_a_purge_fail_verify(old_log):
    purge_audit(old_log, before=CUT, apply=True)
    _rewrite(old_log, lines(old_log)[1:], rehash=False)  # seq 7 deleted by hand
    result = verify(old_log)
    assert not result.ok and result.kind == "checkpoint"


def test_purged_entries_put_back_fail_verify(old_log):
    everything = lines(old_log)
    purge_audit(old_log, before=CUT, apply=True)
    _rewrite(old_log, everything + lines(old_log)[-1:], rehash=False)
    result = verify(old_log)
    assert not result.ok and result.kind == "checkpoint"


def test_a_log_cut_at_the_start_without_a_checkpoint_still_fails(old_log):
    _rewrite(old_log, lines(old_log)[3:], rehash=False)
    result = verify(old_log)
    assert not result.ok and result.kind == "missing"


def test_purging_entries_younger_than_the_retention_period_is_refused(old_log, monkeypatch):
    with pytest.raises(AuditError, match="younger than the audit retention period of 7 years"):
        purge_audit(old_log, before=dt.date(2021, 1, 1), apply=True)
    monkeypatch.setenv("AUDIT_RETENTION_YEARS", "5")  # cut-off 15 Dec 2021 allowed now
    assert purge_audit(old_log, before=dt.date(2021, 1, 1), apply=True).removed == 7


def test_a_broken_chain_is_never_purged(old_log):
    entries = lines(old_log)
    entries[2]["actor"] = "someone else"
    _rewrite(old_log, entries, rehash=False)
    with pytest.raises(AuditError, match="broken"):
        purge_audit(old_log, before=CUT, apply=True)
    assert len(lines(old_log)) == 10


def test_record_cannot_write_a_checkpoint(store):
    with pytest.raises(ValueError, match="only by the audit retention purge"):
        record(store, AuditEvent(action=CHECKPOINT_ACTION, actor="x",
                                 filters={"checkpoint": {"seq": 1, "hash": "0" * 64}}))


def test_the_command_line_purges_and_verify_accepts_it(old_log, capsys):
    assert main(["purge", "--store", old_log.url, "--before", "2019-01-01"]) == 0
    assert "would remove 6 audit entries" in capsys.readouterr().out
    assert main(["purge", "--store", old_log.url, "--before", "2019-01-01", "--apply"]) == 0
    assert "checkpoint written as seq 11" in capsys.readouterr().out
    done = subprocess.run([sys.executable, "-m", "data.audit", "verify", "--store", old_log.url],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "intact: 5 entries" in done.stdout, done.stderr


def test_postgis_still_refuses_a_plain_delete(pg_store):
    import psycopg

    from storage.pg_engine import engine_url

    record(pg_store, AuditEvent(action="sign-in", actor="a"))
    url = engine_url(pg_store.url).replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url) as conn, pytest.raises(psycopg.errors.RaiseException,
                                                     match="append-only"):
        conn.execute("DELETE FROM audit_log")


def _rewrite(store, entries: list[dict], rehash: bool) -> None:
    """Tamper: replace the whole stored log with ``entries`` (as someone with file or superuser
    database access could), leaving the head as it is."""
    texts = [json.dumps(e, separators=(",", ":")) for e in entries]
    if isinstance(store, ParquetStore):
        sink = audit_sink(store)
        sink.log_path.write_text("".join(t + "\n" for t in texts), encoding="ascii")
        return
    import psycopg

    from storage.pg_engine import engine_url

    url = engine_url(store.url).replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET session_replication_role = replica")
        conn.execute("DELETE FROM audit_log")
        for e, text in zip(entries, texts):
            conn.execute("INSERT INTO audit_log (seq, entry) VALUES (%s, %s)", [e["seq"], text])
