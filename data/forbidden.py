"""The one list of fields this system must never hold.

Victims of trafficking and exploitation often have insecure immigration status, and abusers use the
fear of enforcement to control them. Holding immigration, identity or contact data would make this
dashboard a possible route to enforcement or to finding a person, so a file that carries any such
column is refused whole, before a single row is read, whatever the ingest options.

Each entry is a category a user recognises and the patterns that denote it. A pattern is matched
against the *normalised* column name (lower case, runs of non-alphanumerics turned into ``_``) as
whole ``_``-separated words, and also against the name with the separators removed, so
``Date of Birth``, ``date_of_birth`` and ``DateOfBirth`` are all caught. docs/data-contract.md
documents this table; a test checks the two agree.
"""
from __future__ import annotations

import re

FORBIDDEN_FIELDS: dict[str, tuple[str, ...]] = {
    "immigration or visa status": (
        "immigration", "visa", "asylum_status", "asylum_claim", "leave_to_remain", "residence_permit",
        "brp", "right_to_remain", "right_to_work", "settlement_status", "eu_settled", "refugee_status",
        "legal_status", "status_in_uk", "immigration_status", "overstayer", "deportation", "removal",
    ),
    "nationality or citizenship": (
        "nationality", "nationalities", "citizenship", "citizen", "country_of_origin",
        "country_of_birth", "place_of_birth", "birth_country",
    ),
    "passport or travel document": ("passport", "travel_document", "id_document", "id_card"),
    "Home Office reference": (
        "home_office", "ho_ref", "ho_reference", "hoid", "cid_ref", "port_ref", "uan",
        "case_ref_ho", "ukvi",
    ),
    "biometrics": ("biometric", "biometrics", "fingerprint", "fingerprints", "face", "facial",
                   "photo", "photograph", "image", "iris", "dna"),
    "name": ("name", "names", "first_name", "forename", "forenames", "surname", "last_name",
             "given_name", "family_name", "full_name", "alias", "aka", "maiden_name"),
    "date of birth": ("dob", "date_of_birth", "birth_date", "birthdate", "birthday"),
    "email": ("email", "e_mail", "email_address"),
    "address or postcode": ("address", "addr", "postcode", "post_code", "postal_code", "zip",
                            "street", "house_number", "flat_number", "uprn"),
    "phone": ("phone", "telephone", "tel", "mobile", "mobile_number", "phone_number"),
    "NHS or national insurance number": ("nhs", "nhs_number", "nhs_no", "chi_number",
                                         "ni_number", "national_insurance", "nino"),
    "free-text notes": ("notes", "note", "comment", "comments", "free_text", "freetext",
                        "narrative", "description", "details", "summary", "remarks", "circumstances"),
}


# Area names are public geography, not personal data: they match "name" but are not forbidden.
NOT_FORBIDDEN = frozenset({"lsoa_name", "ward_name", "district_name", "lad_name", "msoa_name",
                           "la_name", "area_name", "local_authority_name"})


def normalise_column_name(name: object) -> str:
    """Lower-case a header, strip it and turn runs of non-alphanumerics into single underscores.

    Camel case is split first, so ``DateOfBirth`` becomes ``date_of_birth``.
    """
    text = str(name).replace("\ufeff", "").strip()
    text = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", text)
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def _compile() -> list[tuple[str, re.Pattern[str], re.Pattern[str]]]:
    compiled = []
    for category, patterns in FORBIDDEN_FIELDS.items():
        words = "|".join(re.escape(p) for p in patterns)
        squashed = "|".join(re.escape(p.replace("_", "")) for p in patterns if len(p) >= 5)
        compiled.append((category, re.compile(rf"(?:^|_)(?:{words})(?:_|$)"),
                         re.compile(rf"(?:{squashed})") if squashed else re.compile(r"(?!)")))
    return compiled


_COMPILED = _compile()


def forbidden_category(column: object) -> str | None:
    """Return what a column denotes if the system must never hold it, else ``None``.

    >>> forbidden_category("Nationality ")
    'nationality or citizenship'
    >>> forbidden_category("referral_date") is None
    True
    """
    normalised = normalise_column_name(column)
    if normalised in NOT_FORBIDDEN:
        return None
    squashed = normalised.replace("_", "")
    for category, by_word, by_squash in _COMPILED:
        if by_word.search(normalised) or by_squash.search(squashed):
            return category
    return None
