"""The one list of fields this system must never hold.

Victims of trafficking and exploitation often have insecure immigration status, and abusers use the
fear of enforcement to control them. Holding immigration, identity or contact data would make this
dashboard a possible route to enforcement or to finding a person, so a file that carries any such
column is refused whole, before a single row is read, whatever the ingest options.

Each entry is a category a user recognises and the patterns that denote it. Headers are first
*folded* (:func:`fold_text`): Unicode NFKC (full-width letters become ASCII), accents stripped
(``Nationalité`` → ``Nationalite``), Cyrillic and Greek letters that look like Latin ones folded to
them (``Nationаlity`` with a Cyrillic ``а``), invisible characters removed. The folded name is then
*normalised* (lower case, runs of non-alphanumerics turned into ``_``) and a pattern matches

- as whole ``_``-separated words (``victim_surname`` contains ``surname``),
- inside the name with the separators removed, for patterns of five letters or more
  (``DateOfBirth``, ``HomeOfficeReference``),
- or as the *whole* name with the separators removed, for any pattern (``d.o.b``, ``DoB``,
  ``NI No`` → ``nino``, ``Pass No`` → ``passno``).

The tables are data, read by the one matcher below; docs/data-contract.md documents them and a
test checks the two agree.
"""
from __future__ import annotations

import re
import unicodedata

FORBIDDEN_FIELDS: dict[str, tuple[str, ...]] = {
    "immigration or visa status": (
        "immigration", "visa", "asylum_status", "asylum_claim", "leave_to_remain", "residence_permit",
        "brp", "right_to_remain", "right_to_work", "settlement_status", "eu_settled", "refugee_status",
        "legal_status", "status_in_uk", "immigration_status", "overstayer", "deportation", "removal",
        "asylum", "asylum_seeker", "gwf", "gwf_ref", "vaf",
    ),
    "nationality or citizenship": (
        "nationality", "nationalities", "citizenship", "citizen", "country_of_origin",
        "country_of_birth", "place_of_birth", "birth_country", "nationalite", "nationalitat",
        "nacionalidad", "nazionalita",
    ),
    "passport or travel document": ("passport", "passport_no", "pass_no", "pass_number",
                                    "travel_document", "id_document", "id_card"),
    "Home Office reference": (
        "home_office", "ho_ref", "ho_reference", "hoid", "cid_ref", "port_ref", "uan",
        "case_ref_ho", "ukvi",
    ),
    "biometrics": ("biometric", "biometrics", "fingerprint", "fingerprints", "face", "facial",
                   "photo", "photograph", "image", "iris", "dna"),
    "name": ("name", "names", "first_name", "forename", "forenames", "surname", "last_name",
             "given_name", "family_name", "full_name", "alias", "aka", "maiden_name"),
    "date of birth": ("dob", "date_of_birth", "birth_date", "birthdate", "birthday",
                      "year_of_birth", "yob", "birth_year", "month_of_birth"),
    "email": ("email", "e_mail", "email_address"),
    "address or postcode": ("address", "addr", "postcode", "post_code", "postal_code", "zip",
                            "street", "house_number", "flat_number", "uprn"),
    "phone": ("phone", "telephone", "tel", "mobile", "mobile_number", "phone_number", "phone_no",
              "tel_no", "mob", "mob_no", "mobile_no", "contact_number", "contact_no",
              "contact_details", "contact_tel"),
    "NHS or national insurance number": ("nhs", "nhs_number", "nhs_no", "chi_number",
                                         "ni_number", "ni_no", "national_insurance", "nino"),
    "free-text notes": ("notes", "note", "comment", "comments", "free_text", "freetext",
                        "narrative", "description", "details", "summary", "remarks", "circumstances"),
}


# Area names are public geography, not personal data: they match "name" but are not forbidden.
NOT_FORBIDDEN = frozenset({"lsoa_name", "ward_name", "district_name", "lad_name", "msoa_name",
                           "la_name", "area_name", "local_authority_name"})


# Letters of other scripts that look like Latin ones ("confusables"), folded to the Latin letter
# before matching, so a header typed (or crafted) with a Cyrillic "а" still reads "Nationality".
CONFUSABLES: dict[str, str] = {
    # Cyrillic
    "а": "a", "в": "b", "е": "e", "ё": "e", "һ": "h", "і": "i", "ї": "i", "ј": "j", "к": "k",
    "ӏ": "l", "м": "m", "н": "h", "о": "o", "р": "p", "с": "c", "т": "t", "у": "y", "х": "x",
    "ѕ": "s", "ԁ": "d", "ԛ": "q", "ԝ": "w", "ɡ": "g",
    "А": "A", "В": "B", "Е": "E", "Ё": "E", "Н": "H", "І": "I", "Ј": "J", "К": "K", "М": "M",
    "О": "O", "Р": "P", "С": "C", "Т": "T", "У": "Y", "Х": "X", "Ѕ": "S", "Ԁ": "D", "Ԛ": "Q",
    "Ԝ": "W",
    # Greek
    "α": "a", "β": "b", "ε": "e", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p", "τ": "t",
    "υ": "u", "χ": "x", "γ": "y", "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I",
    "Κ": "K", "Μ": "M", "Ν": "N", "Ο": "O", "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X",
}
_FOLD = str.maketrans(CONFUSABLES)


def fold_text(text: object) -> str:
    """``text`` as plain Latin letters: NFKC, confusables folded, accents and invisible
    characters (format characters such as zero-width spaces and the BOM) removed.

    >>> fold_text("Nationalit\u00e9"), fold_text("N\u0430tionality"), fold_text("\uff24\uff2f\uff22")
    ('Nationalite', 'Nationality', 'DOB')
    """
    text = unicodedata.normalize("NFKC", str(text)).translate(_FOLD)
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed
                   if not unicodedata.combining(c) and unicodedata.category(c) != "Cf")


def normalise_column_name(name: object) -> str:
    """Lower-case a header, strip it and turn runs of non-alphanumerics into single underscores.

    The header is folded first (:func:`fold_text`), and camel case is split, so ``DateOfBirth``
    becomes ``date_of_birth``.
    """
    text = fold_text(name).strip()
    text = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", text)
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def _compile() -> list[tuple[str, re.Pattern[str], re.Pattern[str], frozenset[str]]]:
    compiled = []
    for category, patterns in FORBIDDEN_FIELDS.items():
        words = "|".join(re.escape(p) for p in patterns)
        squashed = "|".join(re.escape(p.replace("_", "")) for p in patterns if len(p) >= 5)
        compiled.append((category, re.compile(rf"(?:^|_)(?:{words})(?:_|$)"),
                         re.compile(rf"(?:{squashed})") if squashed else re.compile(r"(?!)"),
                         frozenset(p.replace("_", "") for p in patterns)))
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
    for category, by_word, by_squash, whole in _COMPILED:
        if by_word.search(normalised) or by_squash.search(squashed) or squashed in whole:
            return category
    return None
