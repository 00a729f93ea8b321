"""The data contract: forbidden fields, column resolution, mapping files, schemas."""
import pytest

from core.errors import ConfigError, ForbiddenFieldError, SchemaError
from core.schema import FEEDS, LOCATION_FIELDS, allowed_columns
from data.columns import load_column_mapping, resolve_columns
from data.forbidden import FORBIDDEN_FIELDS, forbidden_category, normalise_column_name


@pytest.mark.parametrize("column,category", [
    ("immigration_status", "immigration or visa status"),
    ("Immigration Status", "immigration or visa status"),
    ("visa_type", "immigration or visa status"),
    ("BRP number", "immigration or visa status"),
    ("Nationality ", "nationality or citizenship"),
    ("country_of_birth", "nationality or citizenship"),
    ("Passport No", "passport or travel document"),
    ("Home Office Ref", "Home Office reference"),
    ("HomeOfficeReference", "Home Office reference"),
    ("fingerprint_id", "biometrics"),
    ("Photo", "biometrics"),
    ("face_image", "biometrics"),
    ("Name", "name"),
    ("victim_surname", "name"),
    ("FirstName", "name"),
    ("DOB", "date of birth"),
    ("Date of Birth", "date of birth"),
    ("DateOfBirth", "date of birth"),
    ("Address line 1", "address or postcode"),
    ("POSTCODE", "address or postcode"),
    ("Mobile", "phone"),
    ("TelephoneNumber", "phone"),
    ("e-mail", "email"),
    ("EmailAddress", "email"),
    ("NHS No.", "NHS or national insurance number"),
    ("NI number", "NHS or national insurance number"),
    ("notes", "free-text notes"),
    ("Case Notes", "free-text notes"),
    ("free text", "free-text notes"),
])
def test_forbidden_columns_are_recognised_however_written(column, category):
    assert forbidden_category(column) == category


@pytest.mark.parametrize("feed", FEEDS)
def test_no_contract_field_is_forbidden(feed):
    assert [c for c in allowed_columns(feed) if forbidden_category(c)] == []


@pytest.mark.parametrize("column", ["lsoa_name", "Ward Name", "surface_type", "referral_date"])
def test_harmless_names_are_not_forbidden(column):
    assert forbidden_category(column) is None


def test_normalisation_handles_bom_case_camel_and_punctuation():
    assert normalise_column_name("\ufeffReferral Date ") == "referral_date"
    assert normalise_column_name("ReferralDate") == "referral_date"
    assert normalise_column_name("Exploitation-Type(s)") == "exploitation_type_s"


NRM = ["record_id", "referral_date", "exploitation_type", "age_group", "gender",
       "first_responder", "longitude", "latitude"]


def test_forbidden_columns_refuse_the_file_naming_each_one():
    with pytest.raises(ForbiddenFieldError) as caught:
        resolve_columns("x.csv", NRM + ["Nationality ", "immigration_status"], "nrm")
    assert caught.value.columns == ["Nationality ", "immigration_status"]
    assert "x.csv" in str(caught.value) and "'Nationality '" in str(caught.value)


def test_forbidden_columns_are_refused_even_with_drop_unknown_or_a_mapping():
    with pytest.raises(ForbiddenFieldError):
        resolve_columns("x.csv", NRM + ["passport"], "nrm", drop_unknown=True)
    with pytest.raises(ForbiddenFieldError):
        resolve_columns("x.csv", NRM[:-1] + ["Nationality"], "nrm",
                        mapping={"Nationality": "latitude"})


def test_unknown_columns_are_refused_with_the_allowed_list():
    with pytest.raises(SchemaError, match="Allowed columns for nrm: record_id"):
        resolve_columns("x.csv", NRM + ["ethnicity"], "nrm")


def test_drop_unknown_drops_and_says_which():
    rename, dropped = resolve_columns("x.csv", NRM + ["ethnicity", "region"], "nrm",
                                      drop_unknown=True)
    assert dropped == ["ethnicity", "region"]
    assert set(rename.values()) == set(NRM)


def test_missing_required_and_location_columns_are_named():
    with pytest.raises(SchemaError) as caught:
        resolve_columns("x.csv", ["record_id", "referral_date"], "nrm")
    message = str(caught.value)
    assert "exploitation_type, age_group, gender, first_responder" in message
    assert "no location columns" in message


def test_a_mapping_file_renames_partner_headers(tmp_path):
    mapping_file = tmp_path / "mapping.yaml"
    mapping_file.write_text("Case ID: record_id\nDate referred: referral_date\n"
                            "Type of exploitation: exploitation_type\nAge: age_group\n"
                            "Sex: gender\nFR organisation: first_responder\nLSOA: lsoa_code\n")
    headers = ["Case ID", "Date referred", "Type of exploitation", "Age", "Sex",
               "FR organisation", "LSOA"]
    rename, _ = resolve_columns("x.csv", headers, "nrm", mapping=load_column_mapping(mapping_file))
    assert rename["Case ID"] == "record_id" and rename["LSOA"] == "lsoa_code"


def test_a_mapping_to_a_field_outside_the_contract_is_a_config_error():
    with pytest.raises(ConfigError, match="not a contract field"):
        resolve_columns("x.csv", NRM, "nrm", mapping={"Case": "case_number"})


def test_a_second_column_for_the_same_field_is_refused():
    with pytest.raises(SchemaError, match="second column"):
        resolve_columns("x.csv", NRM + ["Record ID"], "nrm")


def test_every_forbidden_category_is_documented():
    doc = open("docs/data-contract.md", encoding="utf-8").read()
    for category, patterns in FORBIDDEN_FIELDS.items():
        assert category in doc
        for pattern in patterns:
            assert f"`{pattern}`" in doc, pattern


@pytest.mark.parametrize("feed", FEEDS)
def test_every_field_and_choice_is_documented(feed):
    doc = open("docs/data-contract.md", encoding="utf-8").read()
    for field in FEEDS[feed] + LOCATION_FIELDS:
        assert f"`{field.name}`" in doc
        for choice in field.choices:
            assert f"`{choice}`" in doc


# -- issue 12: header variants, Unicode tricks and mappings ----------------------------------
@pytest.mark.parametrize("column,category", [
    ("d.o.b", "date of birth"), ("D.O.B", "date of birth"), ("DoB", "date of birth"),
    ("Year of birth", "date of birth"), ("YOB", "date of birth"),
    ("Contact number", "phone"), ("Contact no", "phone"), ("Mob no", "phone"), ("Tel. No.", "phone"),
    ("Pass No", "passport or travel document"), ("GWF ref", "immigration or visa status"),
    ("NI No", "NHS or national insurance number"), ("N.I. No.", "NHS or national insurance number"),
    ("Asylum", "immigration or visa status"),
    ("Nationalité", "nationality or citizenship"),
    ("N\u0430tionality", "nationality or citizenship"),        # Cyrillic a
    ("\u039dationality", "nationality or citizenship"),        # Greek capital Nu
    ("Nat\u200bionality", "nationality or citizenship"),       # zero-width space
    ("\uff2e\uff41\uff54\uff49\uff4f\uff4e\uff41\uff4c\uff49\uff54\uff59", "nationality or citizenship"),  # full width
    ("Pass\u00adport", "passport or travel document"),         # soft hyphen
])
def test_header_variants_and_unicode_tricks_are_forbidden(column, category):
    assert forbidden_category(column) == category


def test_folding_keeps_contract_headers_matching():
    assert normalise_column_name("R\u0435ferral D\u0430te") == "referral_date"  # Cyrillic e, a
    assert normalise_column_name("Référral Date") == "referral_date"


def test_a_mapping_cannot_rename_a_forbidden_header_into_the_contract():
    headers = ["Episode", "Contact no", "reported_missing_at", "found_at", "age_group",
               "risk_level", "easting", "northing"]
    with pytest.raises(ForbiddenFieldError) as caught:
        resolve_columns("x.csv", headers, "rosewood",
                        mapping={"Episode": "record_id", "Contact no": "person_ref"})
    assert caught.value.columns == ["Contact no"]


def test_a_mapping_naming_a_forbidden_header_is_refused_even_if_the_file_lacks_it():
    rosewood = ["record_id", "person_ref", "reported_missing_at", "found_at", "age_group",
                "risk_level", "easting", "northing"]
    with pytest.raises(ForbiddenFieldError, match="a mapping may not rename a forbidden field"):
        resolve_columns("x.csv", rosewood, "rosewood", mapping={"D.O.B": "reported_missing_at"})


def test_every_identifier_pattern_is_documented():
    from data.identifiers import IDENTIFIER_PATTERNS

    doc = open("docs/data-contract.md", encoding="utf-8").read()
    for pattern in IDENTIFIER_PATTERNS:
        assert f"| {pattern.name}" in doc and f"`{pattern.example}`" in doc, pattern.name
    assert "PR-" in doc and "python -m data.pseudonymise" in doc
