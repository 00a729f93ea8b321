"""The bad-input corpus: every real-world mistake in tests/bad_inputs/ is refused, clearly, and
leaves a store that already holds records exactly as it was.

The cases are listed in tests/bad_inputs/cases.yaml (what each file is, and the exception, message,
row and column it must be refused with).

"Unchanged" means: every data file (each batch), the manifest and the quarantine folder are
byte-for-byte what they were. Two things are deliberately left out of that comparison, and each
is checked on its own instead:

- ``_audit/``: every refusal is audited by design, so the audit log grows by exactly **one**
  entry per refused file (an ``ingest`` entry, ``detail`` "refused: <error>", role ``admin``).
  The test checks that the log before the refusal is a byte-for-byte prefix of the log after
  it, that exactly one line was appended and what it says, that the head marker points at it,
  that ``_audit/`` holds no new file, and that the hash chain still verifies. So leaving
  ``_audit/`` out of the fingerprint hides nothing else.
- the store's lock file (``_lock``), which a writer may create; it holds no data.
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

import core.errors
from core.errors import InputFileError
from data.ingest import ingest_file
from safeguards.audit import read_audit, verify
from storage.audit_log import AUDIT_DIR, HEAD_FILE, LOG_FILE
from storage.parquet import ParquetStore

PROJECT = Path(__file__).resolve().parent.parent
CORPUS = Path(__file__).resolve().parent / "bad_inputs"
FEEDS = ("nrm", "rosewood", "mandevilla")
NOT_CASES = {"cases.yaml", "make_corpus.py", *(f"valid_seed_{feed}.csv" for feed in FEEDS)}
MAPPING_SUFFIX = ".mapping.yaml"  # --columns files named by a case's `columns`, not cases
MIN_CASES = 25
CASES = yaml.safe_load((CORPUS / "cases.yaml").read_text(encoding="utf-8"))["cases"]


def _make_corpus():
    spec = importlib.util.spec_from_file_location("make_corpus", CORPUS / "make_corpus.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fingerprint(root: Path) -> dict[str, str]:
    """Every data file under ``root`` (batches, manifest, quarantine) and the SHA-256 of its
    bytes.

    The lock file and the audit trail are left out: a refusal is audited by design, and
    :func:`assert_one_refusal_audited` checks the audit trail separately (exactly one entry
    appended per refused file, nothing else changed).
    """
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*"))
            if p.is_file() and p.name != "_lock" and "_audit" not in p.relative_to(root).parts}


def audit_state(root: Path) -> tuple[bytes, set[str]]:
    """The audit log's bytes and the names of the files in ``_audit/``."""
    folder = root / AUDIT_DIR
    return (folder / LOG_FILE).read_bytes(), {p.name for p in folder.iterdir()}


def assert_one_refusal_audited(root: Path, before: tuple[bytes, set[str]], path: Path,
                               error: str) -> None:
    """Exactly one audit entry, the refusal of ``path`` with ``error``, was appended to the
    log; every earlier entry is byte-for-byte as it was; ``_audit/`` holds the same files;
    the head marker names the new entry and the chain verifies."""
    log_before, files_before = before
    log_after, files_after = audit_state(root)
    assert log_after.startswith(log_before), "a refusal changed an earlier audit entry"
    added = log_after[len(log_before):].decode("utf-8").splitlines()
    assert len(added) == 1, f"{len(added)} audit entries appended for one refused file"
    entry = json.loads(added[0])
    assert entry["action"] == "ingest" and entry["detail"] == f"refused: {error}", entry
    assert entry["filters"]["file"] == path.name and entry["records"] is None, entry
    assert entry["role"] == "admin", entry
    assert entry["seq"] == log_before.count(b"\n") + 1
    assert files_after == files_before, "a refusal added or removed a file in _audit/"
    head = json.loads((root / AUDIT_DIR / HEAD_FILE).read_text(encoding="utf-8"))
    assert (head["seq"], head["hash"]) == (entry["seq"], entry["hash"])
    assert verify(root).ok


@pytest.fixture(scope="module")
def seeded_template(tmp_path_factory) -> Path:
    """A store holding the valid seed records of every feed, built once and copied per test."""
    root = tmp_path_factory.mktemp("seeded") / "store"
    for feed in FEEDS:
        report = ingest_file(CORPUS / f"valid_seed_{feed}.csv", feed, store=str(root))
        assert report.added == 3, report.summary()
    return root


@pytest.fixture
def seeded_store(seeded_template, tmp_path) -> Path:
    root = tmp_path / "store"
    shutil.copytree(seeded_template, root)
    return root


def _case_file(case: dict, folder: Path) -> Path:
    if "generate" in case:
        return getattr(_make_corpus(), case["generate"])(folder / case["file"])
    return CORPUS / case["file"]


@pytest.mark.parametrize("case", CASES, ids=[c["file"] for c in CASES])
def test_bad_file_is_refused_and_the_store_is_unchanged(case, seeded_store, tmp_path):
    """Refused with the listed error; every data file, the manifest and quarantine are
    byte-for-byte unchanged, and the audit log grew by exactly this one refusal."""
    path = _case_file(case, tmp_path)
    before = fingerprint(seeded_store)
    assert before, "the seeded store should hold files"
    assert "_manifest.json" in before
    audit_before = audit_state(seeded_store)

    columns = CORPUS / case["columns"] if "columns" in case else None
    with pytest.raises(InputFileError) as caught:
        ingest_file(path, case["feed"], store=str(seeded_store), columns=columns)

    exc = caught.value
    message = str(exc)
    assert type(exc) is getattr(core.errors, case["error"]), message
    assert case["message"] in message
    assert exc.path == str(path)
    assert message.startswith(f"{path}: "), "the message must name the file"
    assert exc.problems, "a refusal must say what is wrong"
    if "row" in case or "column" in case:
        where = (case.get("row"), case.get("column"))
        found = [p for p in exc.problems if (p.row, p.column) == where]
        got = [(p.row, p.column) for p in exc.problems]
        assert found, f"no problem at row/column {where}; got {got}"
        assert any(case["message"] in str(p) for p in found), [str(p) for p in found]
    assert fingerprint(seeded_store) == before, "a refused file changed the store"
    assert_one_refusal_audited(seeded_store, audit_before, path, case["error"])
    last = read_audit(seeded_store, action="ingest", limit=1).iloc[0]
    assert last["detail"] == f"refused: {case['error']}" and path.name in last["filters"]


def test_corpus_is_complete_and_big_enough():
    names = [c["file"] for c in CASES]
    assert len(names) == len(set(names)), "a file is listed twice"
    assert len(CASES) >= MIN_CASES
    on_disk = {p.name for p in CORPUS.iterdir()
               if p.is_file() and not p.name.endswith(MAPPING_SUFFIX)} - NOT_CASES
    mappings = {p.name for p in CORPUS.glob(f"*{MAPPING_SUFFIX}")}
    assert mappings == {c["columns"] for c in CASES if "columns" in c}, "unused mapping file"
    committed = {c["file"] for c in CASES if "generate" not in c}
    assert on_disk == committed, (f"not in cases.yaml: {sorted(on_disk - committed)}; "
                                  f"listed but missing: {sorted(committed - on_disk)}")
    assert set(_make_corpus().OUTPUTS) <= on_disk, "run tests/bad_inputs/make_corpus.py"
    for case in CASES:
        assert case["feed"] in FEEDS, case
        assert isinstance(getattr(core.errors, case["error"], None), type), case
        assert {"file", "feed", "mistake", "error", "message"} <= set(case), case


def test_cli_prints_the_problem_to_stderr_and_exits_2(seeded_store):
    path = CORPUS / "impossible_date.csv"
    before = fingerprint(seeded_store)
    audit_before = audit_state(seeded_store)
    result = subprocess.run(
        [sys.executable, "-m", "data.ingest", str(path), "--feed", "nrm",
         "--store", str(seeded_store)],
        cwd=PROJECT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stderr
    assert str(path) in result.stderr
    assert "row 3, column 'referral_date' (value '31/02/2024'): is not a real date" in result.stderr
    assert "refused (1 problem); the store is unchanged" in result.stdout
    assert fingerprint(seeded_store) == before
    assert_one_refusal_audited(seeded_store, audit_before, path, "SchemaError")


def test_accept_valid_stores_good_rows_and_quarantines_bad_ones_without_coordinates(seeded_store):
    path = CORPUS / "mixed_for_accept_valid.csv"
    report = ingest_file(path, "nrm", store=str(seeded_store), accept_valid=True)

    assert (report.rows_read, report.added, report.quarantined) == (6, 2, 4)
    stored = set(ParquetStore(seeded_store).query("nrm", columns=["record_id"])["record_id"])
    assert {"WY-NRM-24-0391", "WY-NRM-24-0393"} <= stored
    assert not stored & {"WY-NRM-24-0392", "WY-NRM-24-0394", "WY-NRM-24-0395", "WY-NRM-24-0396"}

    quarantine = Path(report.quarantine_path)
    assert quarantine.parent == seeded_store / "quarantine"
    rows = pd.read_csv(quarantine, dtype=str, keep_default_na=False)
    assert "reason" in rows.columns
    assert rows["source_row"].tolist() == ["3", "5", "6", "7"]
    reasons = dict(zip(rows["record_id"], rows["reason"]))
    assert "outside West Yorkshire" in reasons["WY-NRM-24-0392"]
    assert "look swapped" in reasons["WY-NRM-24-0394"]
    assert "is not a real date" in reasons["WY-NRM-24-0395"]
    assert "column 'longitude': is not a number" in reasons["WY-NRM-24-0396"]
    assert (rows[["longitude", "latitude"]] == "[withheld]").all().all()
    text = quarantine.read_text(encoding="utf-8")
    for raw in ("2.2426", "53.4808", "53.7248", "1.8636", "1.7850", "53.6458", "1.7594", "53.7960"):
        assert raw not in text, f"raw coordinate {raw} written to the quarantine file"
