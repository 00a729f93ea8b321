"""Identifying data inside allowed columns (issue 12, section 3): every pattern catches its
example and the issue's findings, ordinary contract values pass, values are only shown masked,
and the check stays fast on a million distinct ids."""
from __future__ import annotations

import random

import pandas as pd
import pytest

from core.errors import IdentifierError
from data.identifiers import (
    IDENTIFIER_PATTERNS,
    find_identifiers,
    identifier_kind,
    mask,
    nhs_check_digit_ok,
    refuse_identifiers,
)
from data.ingest import identifier_columns, ingest_file
from data.pseudonymise import pseudonym
from tests.conftest import PERSON_REF, VALID_ROWS, write_csv


@pytest.mark.parametrize("pattern", IDENTIFIER_PATTERNS, ids=lambda p: f"{p.name}:{p.example}")
def test_every_pattern_catches_its_own_example(pattern):
    assert identifier_kind(pattern.example, "id") is not None
    if pattern.scope == "text":
        assert identifier_kind(pattern.example, "text") is not None


@pytest.mark.parametrize("value,kind", [
    # issue 12 findings, as reproduced
    ("07700-900-123", "UK phone number"), ("0113/496/0000", "UK phone number"),
    ("LS1-4AP", "postcode"), ("john.smith", "user name"), ("1998-04-12", "date"),
    ("H1234567/2", "Home Office reference"), ("QQ123456C", "national insurance number"),
    ("NHS-485-777-3456", "NHS number"),
    # other punctuation and forms
    ("07700 900123", "UK phone number"), ("+44 (0)113 496 0000", "UK phone number"),
    ("(0113) 496 0000", "UK phone number"), ("447700900123", "UK phone number"),
    ("07700.900.123", "UK phone number"), ("bd71dp", "postcode"), ("WF1 2AB", "postcode"),
    ("HX1", "partial postcode"), ("LS6 2", "partial postcode"), ("qq 12 34 56 c", "national insurance number"),
    ("943 476 5919", "NHS number"), ("9434765919", "NHS number"), ("ref-9434765919", "NHS number"),
    ("someone@example.org", "email address"), ("@some_one", "social media handle"),
    ("J.Smith", "user name"), ("mary_jones2", "user name"), ("12/04/1998", "date"),
    ("19980412", "date"), ("GWF 012345678", "GWF reference"), ("A7654321/12", "Home Office reference"),
    ("1234-5678-9012-3456", "unique application number (UAN)"), ("ZU1234567", "biometric residence permit number"),
    ("123456789", "passport number"), ("VAF 1234567", "visa or vignette number"),
])
def test_identifiers_are_recognised_in_id_fields(value, kind):
    assert identifier_kind(value, "id") == kind
    # ... and by the vectorised first pass (Arrow RE2), which must not miss what Python finds
    frame = pd.DataFrame({"record_id": ["NRM-1", value], "_row": [2, 3]})
    assert [(p.row, p.column) for p in find_identifiers(frame, {"record_id": "id"})] == [
        (3, "record_id")]


@pytest.mark.parametrize("value", [
    "NRM-1", "RW-0001", "MV-12", "WY-NRM-24-0401", "SYN-NRM-0000123", "SYN-RW-1000000", "RW_ABC",
    "CASE:2024/77", "NRM-2024-0000000001", "E01011000", "E01033010", PERSON_REF,
])
def test_ordinary_ids_are_not_identifiers(value):
    assert identifier_kind(value, "id") is None


def test_nhs_numbers_need_a_valid_check_digit_unless_labelled():
    assert nhs_check_digit_ok("943 476 5919") and not nhs_check_digit_ok("943 476 5918")
    assert identifier_kind("943-476-5918", "id") is None  # ten digits, wrong check digit
    assert identifier_kind("NHS 943 476 5918", "id") == "NHS number"  # the label says what it is


def test_category_values_are_not_identifiers_but_identifiers_in_categories_are():
    from core.schema import FEEDS

    for fields in FEEDS.values():
        for field in fields:
            for choice in field.choices:
                assert identifier_kind(choice, "text") is None, choice
    assert identifier_kind("BD7 1DP", "text") == "postcode"
    assert identifier_kind("john.smith", "text") is None  # "domestic_servitude" is not a name


def test_pseudonyms_never_look_like_identifiers():
    rng = random.Random(12)
    for _ in range(20_000):
        ref = pseudonym(b"k" * 32, str(rng.random()))
        assert identifier_kind(ref, "id") is None, ref


def test_masks_hide_the_middle_of_every_value():
    assert mask("07700900123") == "07•••••••23"
    assert mask("1998-04-12") == "1••••••••2"
    assert mask("LS1") == "•••"
    for value in ("07700-900-123", "QQ123456C", "H1234567/2", "someone@example.org"):
        masked = mask(value)
        assert len(masked) == len(value) and masked.count("•") >= len(value) // 2
        assert value not in masked


def test_refusal_names_row_and_column_and_never_the_value():
    frame = pd.DataFrame({"record_id": ["NRM-1", "QQ123456C", "NRM-3"],
                          "gender": ["male", "female", "LS1 4AP"], "_row": [2, 3, 4]})
    with pytest.raises(IdentifierError) as caught:
        refuse_identifiers("x.csv", frame, {"record_id": "id", "gender": "text"})
    message = str(caught.value)
    assert [(p.row, p.column) for p in caught.value.problems] == [(3, "record_id"), (4, "gender")]
    assert "QQ123456C" not in message and "LS1 4AP" not in message
    assert "Q•••••••C" in message and "national insurance number" in message


def test_only_stored_text_columns_are_checked():
    assert identifier_columns("rosewood", ["record_id", "person_ref", "reported_missing_at",
                                           "found_at", "age_group", "risk_level", "easting"]) == {
        "record_id": "id", "person_ref": "id", "age_group": "text", "risk_level": "text"}
    assert identifier_columns("nrm", ["lsoa_code", "longitude"]) == {"lsoa_code": "text"}


def test_a_file_with_an_identifier_is_refused_whole_even_with_accept_valid(tmp_path, store):
    rows = [dict(r) for r in VALID_ROWS["nrm"]]
    rows[1]["record_id"] = "NHS-485-777-3456"
    path = write_csv(tmp_path / "nrm.csv", rows)
    with pytest.raises(IdentifierError) as caught:
        ingest_file(path, "nrm", store=store, accept_valid=True)
    assert [(p.row, p.column) for p in caught.value.problems] == [(3, "record_id")]
    assert not (store.root / "quarantine").exists()  # the identifier reached no file
    assert "485-777" not in str(caught.value)


def test_the_check_is_fast_on_a_million_distinct_ids():
    frame = pd.DataFrame({"record_id": [f"WY-NRM-{i:07d}" for i in range(1_000_000)]})
    frame["_row"] = range(2, len(frame) + 2)
    frame.loc[999_999, "record_id"] = "07700 900123"
    # Its speed is a benchmark figure (bench/bench_ingest.py's identifier stage), not a timed
    # assertion: a loaded CI machine is no judge of speed.
    problems = find_identifiers(frame, {"record_id": "id"})
    assert [(p.row, p.value) for p in problems] == [(1_000_001, "07••••••••23")]
