"""The audit trail: hash chain, tamper detection, concurrent writers, reading, CLI, secrets."""
import datetime as dt
import json
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core import clock
from safeguards.audit import (
    ACTIONS,
    GENESIS,
    REDACTED,
    AuditEvent,
    chain_head,
    entry_hash,
    main,
    read_audit,
    record,
    verify,
)
from storage.audit_log import AuditSink, FileAuditSink
from storage.open import audit_sink
from storage.parquet import ParquetStore

ROOT = Path(__file__).resolve().parent.parent
UTC = dt.timezone.utc
T0 = dt.datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def _log(store) -> Path:
    return store.root / "_audit" / "audit.jsonl"


def _lines(store) -> list[str]:
    return _log(store).read_text(encoding="utf-8").splitlines(keepends=True)


def _write_lines(store, lines) -> None:
    _log(store).write_text("".join(lines), encoding="utf-8")


def _fill(store, n=6) -> list[dict]:
    """n entries: two actors, a few actions, one per hour from T0."""
    kinds = ["sign-in", "page-view", "filter-change", "export", "sign-out", "ingest"]
    return [record(store, AuditEvent(action=kinds[i % len(kinds)],
                                     actor="ana@wy.example" if i % 2 == 0 else "chair1",
                                     role="analyst" if i % 2 == 0 else "chair",
                                     page="map", filters={"district": ["E08000035"]},
                                     records=10 * i, created=T0 + dt.timedelta(hours=i)))
            for i in range(n)]


def _edit(store, index, *, rehash: bool = False, **changes) -> dict:
    """Change line ``index`` of the log (seq ``index + 1``); with ``rehash`` its hash is made
    again, so the entry is consistent with itself (not with its neighbours)."""
    lines = _lines(store)
    entry = json.loads(lines[index])
    entry.update(changes)
    if rehash:
        entry["hash"] = entry_hash(entry)
    lines[index] = json.dumps(entry) + "\n"
    _write_lines(store, lines)
    return entry


def _keep_lines(store, order) -> None:
    """Rewrite the log as its lines at ``order`` (line ``i`` is seq ``i + 1``): lines left out
    are deleted, lines out of order swapped, lines named twice repeated."""
    lines = _lines(store)
    _write_lines(store, [lines[i] for i in order])


# -- the chain -------------------------------------------------------------------------------
def test_entries_are_chained_and_verify_intact(store):
    entries = _fill(store)
    assert [e["seq"] for e in entries] == [1, 2, 3, 4, 5, 6]
    assert entries[0]["prev_hash"] == GENESIS
    for before, after in zip(entries, entries[1:]):
        assert after["prev_hash"] == before["hash"] == entry_hash(before)
    result = verify(store)
    assert result.ok and result.entries == 6 and result.first_bad_seq is None
    assert result.last_hash == entries[-1]["hash"]
    assert str(result) == f"audit chain intact: 6 entries, last {entries[-1]['hash'][:12]}"
    assert chain_head(store)["seq"] == 6 and chain_head(store)["hash"] == entries[-1]["hash"]
    stored = [json.loads(line) for line in _lines(store)]
    assert stored == entries


def test_missing_or_empty_log_is_intact(store, tmp_path):
    result = verify(store)
    assert result.ok and result.entries == 0
    assert str(result) == "audit chain intact: 0 entries, last (none)"
    assert read_audit(store).empty
    assert list(read_audit(store).columns)[:3] == ["seq", "created", "action"]
    (store.root / "_audit").mkdir(parents=True)
    _log(store).write_text("")
    assert verify(store).ok and read_audit(store).empty


def test_audit_lives_under_the_store_and_is_ignored_by_the_reader(store):
    _fill(store, 2)
    assert sorted(p.name for p in (store.root / "_audit").iterdir()) == [
        "_lock", "audit.jsonl", "head.json"]
    assert store.batches() == []
    assert isinstance(audit_sink(store), AuditSink)
    assert audit_sink(str(store.root)).root == store.root / "_audit"


def test_edited_entry_is_named(store):
    _fill(store)
    _edit(store, 2, records=3)  # seq 3: 20 records claimed to be 3
    result = verify(store)
    assert not result.ok
    assert (result.first_bad_seq, result.kind) == (3, "edited")
    assert "seq 3" in result.reason and "edited" in result.reason
    _edit(store, 4, records="lots", created="yesterday")  # wrong types: still readable
    assert verify(store).first_bad_seq == 3
    assert read_audit(store)["seq"].tolist() == [6, 4, 3, 2, 1]  # the ill-typed seq 5 skipped


def test_deleted_middle_entry_is_detected(store):
    _fill(store)
    _keep_lines(store, [0, 1, 2, 4, 5])  # seq 4 deleted
    result = verify(store)
    assert (result.ok, result.first_bad_seq, result.kind) == (False, 4, "missing")
    assert "seq 4 missing" in result.reason


def test_swapped_entries_are_detected(store):
    _fill(store)
    _keep_lines(store, [0, 1, 3, 2, 4, 5])  # seq 3 and 4 swapped
    result = verify(store)
    assert (result.ok, result.first_bad_seq, result.kind) == (False, 3, "reordered")


def test_duplicated_entry_is_detected(store):
    _fill(store)
    _keep_lines(store, [0, 1, 2, 1, 3, 4, 5])  # seq 2 again after seq 3
    result = verify(store)
    assert (result.ok, result.first_bad_seq, result.kind) == (False, 4, "reordered")


def test_deleting_the_last_entry_is_truncation(store):
    _fill(store)
    _write_lines(store, _lines(store)[:-1])  # head.json still says seq 6
    result = verify(store)
    assert (result.ok, result.first_bad_seq, result.kind) == (False, 6, "truncated")
    assert "truncated" in str(result)
    _write_lines(store, _lines(store)[:-2])
    result = verify(store)
    assert (result.first_bad_seq, result.kind) == (4, "truncated")


def test_deleting_the_head_file_is_detected(store):
    _fill(store)
    (store.root / "_audit" / "head.json").unlink()
    result = verify(store)
    assert not result.ok and result.kind == "head" and "head.json" in result.reason


def test_rehashed_edit_is_detected_at_the_next_entry(store):
    _fill(store)
    _edit(store, 2, records=0, rehash=True)  # seq 3: consistent with itself, not with seq 4
    result = verify(store)
    assert (result.ok, result.first_bad_seq, result.kind) == (False, 4, "chain-broken")


def test_rehashed_edit_of_the_last_entry_is_caught_by_the_head(store):
    _fill(store)
    _edit(store, -1, actor="someone-else", rehash=True)
    result = verify(store)
    assert (result.ok, result.first_bad_seq, result.kind) == (False, 6, "head")


def test_rewritten_chain_is_caught_by_an_external_head(store):
    entries = _fill(store)
    kept = (3, entries[2]["hash"][:16])
    assert verify(store, expect=kept).ok
    # An attacker with write access rewrites the whole chain from seq 3 on, and the head.
    lines, prev = _lines(store)[:2], entries[1]["hash"]
    for entry in entries[2:]:
        forged = {**entry, "records": 0, "prev_hash": prev}
        forged["hash"] = prev = entry_hash(forged)
        lines.append(json.dumps(forged) + "\n")
    _write_lines(store, lines)
    (store.root / "_audit" / "head.json").write_text(json.dumps({"seq": 6, "hash": prev}))
    assert verify(store).ok  # the limit documented in docs/audit.md
    result = verify(store, expect=kept)
    assert (result.ok, result.first_bad_seq, result.kind) == (False, 3, "expected")


def test_unreadable_line_is_reported_and_writing_goes_on(store):
    _fill(store, 3)
    with open(_log(store), "a", encoding="utf-8") as handle:
        handle.write('{"v":1,"seq":4,"crea')  # a write interrupted mid-line
    result = verify(store)
    assert (result.ok, result.first_bad_seq, result.kind) == (False, 4, "unreadable")
    entry = record(store, AuditEvent("sign-out", actor="ana"))
    assert entry["seq"] == 4  # chained to the last good entry; the torn line stays, reported
    assert len(_lines(store)) == 5 and all(line.endswith("\n") for line in _lines(store))
    assert verify(store).kind == "unreadable"
    assert read_audit(store)["seq"].tolist() == [4, 3, 2, 1]


def test_writing_after_truncation_keeps_the_gap_visible(store):
    _fill(store)
    _write_lines(store, _lines(store)[:-2])
    entry = record(store, AuditEvent("sign-in", actor="x"))
    assert entry["seq"] == 7  # chained to the head, not to the shortened log
    result = verify(store)
    assert (result.ok, result.first_bad_seq, result.kind) == (False, 5, "missing")


def test_a_writer_stopped_before_the_head_update_is_not_tampering(store):
    entries = _fill(store, 3)
    head = store.root / "_audit" / "head.json"
    head.write_text(json.dumps({"seq": 2, "hash": entries[1]["hash"]}))  # head one behind
    assert verify(store).ok
    assert record(store, AuditEvent("sign-in"))["seq"] == 4
    assert verify(store).ok


# -- concurrency -------------------------------------------------------------------------------
WRITER = """
import os, sys, time
from pathlib import Path
from safeguards.audit import AuditEvent, record
from storage.parquet import ParquetStore
store, name, flags = ParquetStore(Path(sys.argv[1])), sys.argv[2], Path(sys.argv[3])
(flags / f"ready-{name}").touch()
while not (flags / "go").exists():
    time.sleep(0.005)
for i in range(50):
    record(store, AuditEvent("page-view", actor=name, role="analyst", page="p", records=i))
"""


def test_concurrent_writers_in_two_processes_make_one_chain(store, tmp_path):
    flags = tmp_path / "flags"
    flags.mkdir()
    procs = [subprocess.Popen([sys.executable, "-c", textwrap.dedent(WRITER), str(store.root),
                               name, str(flags)], cwd=ROOT) for name in ("p1", "p2")]
    for _ in range(6000):  # at most ~60 s of 10 ms naps: a bound, not a measurement
        if len(list(flags.glob("ready-*"))) == 2:
            break
        time.sleep(0.01)
    (flags / "go").touch()
    assert [p.wait(60) for p in procs] == [0, 0]
    result = verify(store)
    assert result.ok and result.entries == 100, result
    frame = read_audit(store)
    assert sorted(frame["seq"]) == list(range(1, 101))
    assert frame["actor"].value_counts().to_dict() == {"p1": 50, "p2": 50}
    for name in ("p1", "p2"):  # each writer's own entries in its own order
        mine = frame[frame["actor"] == name].sort_values("seq")
        assert mine["records"].tolist() == list(range(50))


def test_concurrent_writers_in_threads_make_one_chain(store):
    def write(name):
        for i in range(25):
            record(store, AuditEvent("page-view", actor=name, records=i))

    threads = [threading.Thread(target=write, args=(f"t{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result = verify(store)
    assert result.ok and result.entries == 100


# -- reading ---------------------------------------------------------------------------------
def test_read_audit_filters(store):
    _fill(store, 6)
    frame = read_audit(store)
    assert frame["seq"].tolist() == [6, 5, 4, 3, 2, 1]  # newest first
    assert str(frame["created"].dtype) == "datetime64[us, UTC]"
    assert frame.loc[0, "created"] == T0 + dt.timedelta(hours=5)
    assert json.loads(frame.loc[0, "filters"]) == {"district": ["E08000035"]}
    assert frame["records"].dtype == "Int64"

    assert read_audit(store, actor="ANA@wy.example")["seq"].tolist() == [5, 3, 1]
    assert read_audit(store, action="export")["seq"].tolist() == [4]
    assert read_audit(store, action=["sign-in", "sign-out"])["seq"].tolist() == [5, 1]
    assert read_audit(store, since=T0 + dt.timedelta(hours=2),
                      until=T0 + dt.timedelta(hours=4))["seq"].tolist() == [4, 3]
    assert read_audit(store, since="2025-03-01T13:00")["seq"].tolist() == [6, 5]  # naive = UTC
    assert read_audit(store, until=dt.date(2025, 3, 1)).empty
    assert read_audit(store, limit=2)["seq"].tolist() == [6, 5]
    assert read_audit(store, actor="chair1", limit=1)["seq"].tolist() == [6]
    assert read_audit(store, limit=0).empty
    with pytest.raises(ValueError, match="unknown audit action"):
        read_audit(store, action="pageview")


def test_created_is_utc_and_defaults_to_now(store):
    entry = record(store, AuditEvent("sign-in", actor="ana"))
    created = dt.datetime.fromisoformat(entry["created"])
    assert created.utcoffset() == dt.timedelta(0)
    assert created == clock.now()
    bst = dt.timezone(dt.timedelta(hours=1))
    event = AuditEvent("sign-in", created=dt.datetime(2025, 6, 1, 10, tzinfo=bst))
    assert event.created == dt.datetime(2025, 6, 1, 9, tzinfo=UTC)
    with pytest.raises(ValueError, match="timezone"):
        AuditEvent("sign-in", created=dt.datetime(2025, 6, 1, 10))


# -- what may be logged --------------------------------------------------------------------
def test_secrets_are_redacted(store):
    event = AuditEvent("sign-in-failed", actor="ana", page="sign-in",
                       filters={"user": "ana", "password": "hunter2-hunter2",
                                "form": {"New-Password": "x", "api_key": "k", "ward": "W1"},
                                "tokens": ["a"], "note": "token=abc123 seen"},
                       detail="wrong-password; Authorization: Bearer eyJhbGciOi.eyJzdWIi.c2ln")
    entry = record(store, event)
    text = _log(store).read_text(encoding="utf-8")
    for secret in ("hunter2", "abc123", "eyJ", '"k"', '"x"'):
        assert secret not in text
    assert entry["filters"]["password"] == REDACTED
    assert entry["filters"]["form"] == {"New-Password": REDACTED, "api_key": REDACTED, "ward": "W1"}
    assert entry["filters"]["tokens"] == REDACTED
    assert entry["filters"]["user"] == "ana" and entry["filters"]["note"] == f"token={REDACTED} seen"
    assert entry["detail"].startswith("wrong-password; Authorization: ")
    assert verify(store).ok


def test_events_are_checked(store):
    with pytest.raises(ValueError, match="unknown audit action"):
        AuditEvent("login")
    with pytest.raises(TypeError):
        AuditEvent("export", records=1.5)
    with pytest.raises(ValueError):
        AuditEvent("export", records=-1)
    with pytest.raises(TypeError, match="JSON-serialisable"):
        AuditEvent("filter-change", filters={"x": object()})
    with pytest.raises(ValueError, match="JSON-serialisable"):
        AuditEvent("filter-change", filters={"x": float("nan")})
    event = AuditEvent("page-view", actor="  ana\n ", detail="line one\nline two" + "x" * 500,
                       filters={"wards": ("W2", "W1"), "start": dt.date(2024, 1, 1)})
    assert event.actor == "ana" and "\n" not in event.detail and len(event.detail) == 200
    assert event.filters == {"wards": ["W2", "W1"], "start": "2024-01-01"}
    assert AuditEvent("sign-in", actor="").actor == "anonymous"
    assert set(ACTIONS) >= {"sign-in", "sign-in-failed", "sign-out", "page-view",
                            "filter-change", "export", "ingest", "access-denied"}


_json = st.recursive(st.none() | st.booleans() | st.integers(-2**62, 2**62)
                     | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=12),
                     lambda inner: st.lists(inner, max_size=3)
                     | st.dictionaries(st.text(max_size=6), inner, max_size=3), max_leaves=8)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(filters=st.dictionaries(st.text(max_size=8), _json, max_size=4),
       actor=st.text(max_size=20), detail=st.none() | st.text(max_size=40))
def test_any_event_round_trips_and_verifies(tmp_path, filters, actor, detail):
    store = ParquetStore(tmp_path / "prop")
    entry = record(store, AuditEvent("filter-change", actor=actor, filters=filters, detail=detail))
    assert json.loads(_lines(store)[-1]) == entry
    assert verify(store).ok


# -- command line ----------------------------------------------------------------------------
def _cli(*args):
    return subprocess.run([sys.executable, "-m", "safeguards.audit", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


def test_cli_verify_exit_codes_and_messages(store):
    entries = _fill(store, 4)
    ok = _cli("verify", "--store", str(store.root))
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.strip() == f"audit chain intact: 4 entries, last {entries[-1]['hash'][:12]}"
    _edit(store, 1, actor="nobody")
    bad = _cli("verify", "--store", str(store.root))
    assert bad.returncode == 1
    assert "BROKEN at seq 2" in bad.stderr and "edited" in bad.stderr


def test_cli_in_process(store, capsys, monkeypatch):
    _fill(store, 3)
    monkeypatch.setenv("STORE_URL", str(store.root))  # the default store
    assert main(["verify"]) == 0
    assert "intact: 3 entries" in capsys.readouterr().out
    assert main(["list", "--limit", "2"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2 and out[0].split()[0] == "3" and "filter-change" in out[0]
    assert main(["verify", "--expect", "2:" + "0" * 12]) == 1
    assert "seq 2" in capsys.readouterr().err
    _write_lines(store, _lines(store)[:-1])
    assert main(["verify"]) == 1
    assert "truncated" in capsys.readouterr().err


def test_cli_list_empty(tmp_path, capsys):
    assert main(["list", "--store", str(tmp_path / "none")]) == 0
    assert capsys.readouterr().out.strip() == "no audit entries"


def test_file_sink_directly(tmp_path):
    sink = FileAuditSink(tmp_path / "a")
    assert sink.last() is None and sink.head() is None and list(sink.read()) == []
    entry = record(sink, AuditEvent("ingest", actor="admin", role="admin", records=120,
                                    detail="nrm.csv"))
    assert json.loads(sink.last()) == entry and sink.head()["seq"] == 1
    assert verify(sink).ok
