"""person_ref as a keyed pseudonym (issue 12, section 3): the one format, the command that makes
it from a partner export, and ingestion refusing anything else."""
from __future__ import annotations

import csv
import io
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from core.errors import ConfigError, SchemaError
from data.ingest import ingest_file
from data.pseudonymise import (
    MIN_KEY_BYTES,
    PSEUDONYM_PATTERN,
    is_pseudonym,
    load_key,
    main,
    make_key,
    pseudonym,
    pseudonymise_file,
)
from tests.conftest import PERSON_REF, VALID_ROWS, write_csv

PROJECT = Path(__file__).resolve().parent.parent
KEY = b"0123456789abcdef0123456789abcdef-test"


@pytest.fixture
def key_file(tmp_path) -> Path:
    path = tmp_path / "partner.key"
    path.write_bytes(KEY + b"\n")
    return path


def _export(tmp_path, rows=None) -> Path:
    """A Rosewood export as a partner's system writes it: their own 'Person ID' column."""
    rows = rows or [{**r, "Person ID": ref} for r, ref in
                    zip(VALID_ROWS["rosewood"], ["AB-12345", " ab-12345 "])]
    for row in rows:
        row.pop("person_ref", None)
    return write_csv(tmp_path / "export.csv", rows)


def test_the_format_is_prefix_and_26_base32_characters_and_is_keyed():
    ref = pseudonym(KEY, "AB-12345")
    assert re.fullmatch(PSEUDONYM_PATTERN, ref) and len(ref) == 29
    assert pseudonym(KEY, "AB-12345") == ref  # the same person, the same pseudonym
    assert pseudonym(KEY, "  ab-12345 ") == ref  # spacing and case do not split a person
    assert pseudonym(KEY, "AB-12346") != ref
    assert pseudonym(KEY[::-1], "AB-12345") != ref  # another key, another pseudonym
    assert "12345" not in ref
    assert re.fullmatch(PSEUDONYM_PATTERN, PERSON_REF)


def test_is_pseudonym_accepts_only_the_format():
    values = pd.Series([PERSON_REF, PERSON_REF.lower(), "P-001", PERSON_REF + "A", "PR-" + "1" * 26])
    assert is_pseudonym(values).tolist() == [True, False, False, False, False]


def test_keys_must_exist_be_long_and_live_outside_the_project(tmp_path):
    with pytest.raises(ConfigError, match="no key"):
        load_key(None)
    with pytest.raises(ConfigError, match="cannot be read"):
        load_key(tmp_path / "missing.key")
    short = tmp_path / "short.key"
    short.write_bytes(b"x" * (MIN_KEY_BYTES - 1) + b"\n")
    with pytest.raises(ConfigError, match=f"at least {MIN_KEY_BYTES}"):
        load_key(short)
    with pytest.raises(ConfigError, match="outside the dashboard's folder"):
        load_key(PROJECT / "partner.key")


def test_make_key_writes_a_private_random_key_once(tmp_path):
    path = make_key(tmp_path / "new.key")
    assert len(load_key(path)) == 64 and path.stat().st_mode & 0o077 == 0
    assert load_key(path) != load_key(make_key(tmp_path / "other.key"))
    with pytest.raises(ConfigError, match="exists"):
        make_key(path)


def test_the_command_replaces_the_column_and_keeps_the_rest(tmp_path, key_file):
    out = tmp_path / "out.csv"
    rows = pseudonymise_file(_export(tmp_path), "Person ID", key_file, out)
    assert rows == 2
    written = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert "Person ID" not in written.columns and "person_ref" in written.columns
    assert written["person_ref"].tolist() == [pseudonym(KEY, "AB-12345")] * 2
    assert written["record_id"].tolist() == ["RW-1", "RW-2"]
    assert "AB-12345" not in out.read_text(encoding="utf-8-sig").upper()


def test_pseudonymised_output_ingests(tmp_path, key_file, store):
    out = tmp_path / "out.csv"
    pseudonymise_file(_export(tmp_path), "person id", key_file, out)  # header matched loosely
    report = ingest_file(out, "rosewood", store=store)
    assert report.added == 2
    stored = store.query("rosewood", columns=["person_ref"])["person_ref"]
    assert stored.tolist() == [pseudonym(KEY, "AB-12345")] * 2


def test_output_is_escaped_for_spreadsheets_and_still_reads_back(tmp_path, key_file, store):
    rows = [{**r, "Person ID": "AB-1"} for r in VALID_ROWS["nrm"][:1]]
    rows[0]["longitude"], rows[0]["latitude"] = "-1.5491", "53.8008"
    source = write_csv(tmp_path / "nrm.csv", rows)
    out = tmp_path / "out.csv"
    pseudonymise_file(source, "Person ID", key_file, out)
    cells = next(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    assert cells["longitude"] == "'-1.5491"  # a text cell starting '-' is escaped ...
    frame = pd.read_csv(out, dtype=str).drop(columns=["person_ref"])
    write_csv(tmp_path / "back.csv", frame.to_dict("records"))
    report = ingest_file(tmp_path / "back.csv", "nrm", store=store)  # ... and reads back
    assert report.added == 1


def test_empty_references_are_refused_with_their_rows(tmp_path, key_file):
    rows = [{**r, "Person ID": ref} for r, ref in zip(VALID_ROWS["rosewood"], ["AB-1", "  "])]
    with pytest.raises(SchemaError) as caught:
        pseudonymise_file(_export(tmp_path, rows), "Person ID", key_file, tmp_path / "o.csv")
    assert [(p.row, p.column) for p in caught.value.problems] == [(3, "Person ID")]
    assert not (tmp_path / "o.csv").exists()


def test_cli_exit_codes(tmp_path, key_file, capsys):
    source, out = _export(tmp_path), tmp_path / "out.csv"
    assert main([str(source), "--column", "Person ID", "--key-file", str(key_file),
                 "--out", str(out)]) == 0
    assert "wrote 2 rows" in capsys.readouterr().out
    assert main([str(source), "--column", "Nope", "--key-file", str(key_file),
                 "--out", str(tmp_path / "x.csv")]) == 2
    assert "no such column" in capsys.readouterr().err
    assert main([str(source), "--column", "Person ID", "--out", str(tmp_path / "y.csv")]) == 2
    assert "no key" in capsys.readouterr().err


def test_cli_runs_as_a_module_with_a_progress_bar(tmp_path, key_file):
    out = tmp_path / "out.csv"
    result = subprocess.run([sys.executable, "-m", "data.pseudonymise", str(_export(tmp_path)),
                             "--column", "Person ID", "--key-file", str(key_file), "--out",
                             str(out), "--progress", "always"],
                            cwd=PROJECT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "pseudonymise" in result.stderr and "2/2" in result.stderr
    assert out.exists()


@pytest.mark.parametrize("value", ["P-001", "AB-12345", "pr-7tcofnryvlna3gzqiuiby5jbaf"])
def test_ingestion_refuses_anything_but_a_pseudonym_masked(tmp_path, store, value):
    rows = [dict(r) for r in VALID_ROWS["rosewood"]]
    rows[1]["person_ref"] = value
    with pytest.raises(SchemaError) as caught:
        ingest_file(write_csv(tmp_path / "rw.csv", rows), "rosewood", store=store)
    problems = [p for p in caught.value.problems if p.column == "person_ref"]
    assert [p.row for p in problems] == [3]
    assert "is not a pseudonym" in problems[0].reason and value not in str(caught.value)


def test_quarantine_masks_a_refused_reference(tmp_path, store):
    rows = [dict(r) for r in VALID_ROWS["rosewood"]]
    rows[1]["person_ref"] = "CASE-998877"
    report = ingest_file(write_csv(tmp_path / "rw.csv", rows), "rosewood", store=store,
                         accept_valid=True)
    text = Path(report.quarantine_path).read_text(encoding="utf-8-sig")
    assert report.quarantined == 1 and "998877" not in text and "CA•••••••77" in text
