"""Identifiers that must never be stored, looked for inside the columns that *are* allowed.

The forbidden-column list (``data.forbidden``) keeps out a ``Phone`` column; this module keeps
out a phone number typed into ``person_ref``, an NI number used as a ``record_id``, a postcode
in a category. Every stored text column of a file (ids, references, categories, yes/no and
LSOA codes: everything but dates and coordinates) is checked after reading, before parsing; one
hit refuses the whole file (``IdentifierError``), whatever the options: a file carrying
identifiers is the wrong export, and its rows must not reach a quarantine file either.

The patterns are data (:data:`IDENTIFIER_PATTERNS`): each has a name a user recognises, a
regular expression, the columns it applies to, and an example that a test checks it catches.
``docs/data-contract.md`` lists them. Speed: each column is checked once per *distinct* value,
first with one combined expression in Arrow (RE2, vectorised in C++: a million distinct ids in
well under a second), then pattern by pattern in Python on the few values that hit. The value is never echoed: messages show it masked (:func:`mask`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from core.errors import IdentifierError, Problem
from data.cells import ROW_COLUMN

# Separators people type inside numbers and codes.
_SEP = r"[\s\-./()_]*"
# A token starts and ends at a non-alphanumeric (or the ends of the value).
_START = r"(?<![A-Za-z0-9])"
_END = r"(?![A-Za-z0-9])"
# The UK postcode areas (Royal Mail), so "NR1" or "RW1" is not taken for a partial postcode.
POSTCODE_AREAS = (
    "AB AL B BA BB BD BH BL BN BR BS BT CA CB CF CH CM CO CR CT CV CW DA DD DE DG DH DL DN DT DY "
    "E EC EH EN EX FK FY G GL GU GY HA HD HG HP HR HS HU HX IG IM IP IV JE KA KT KW KY L LA LD LE "
    "LL LN LS LU M ME MK ML N NE NG NN NP NR NW OL OX PA PE PH PL PO PR RG RH RM S SA SE SG SK SL "
    "SM SN SO SP SR SS ST SW SY TA TD TF TN TQ TR TS TW UB W WA WC WD WF WN WR WS WV YO ZE"
).split()
_AREA = "(?:" + "|".join(sorted(POSTCODE_AREAS, key=len, reverse=True)) + ")"
_OUTWARD = rf"{_AREA}\d[A-Z\d]?"
_DAY, _MONTH = r"(?:0?[1-9]|[12]\d|3[01])", r"(?:0?[1-9]|1[0-2])"
_YEAR = r"(?:19|20)\d{2}"


@dataclass(frozen=True)
class IdentifierPattern:
    """One kind of identifier.

    ``scope`` is ``"text"`` (every checked column) or ``"id"`` (``record_id`` and
    ``person_ref`` only: patterns such as dates or ``john.smith`` are ordinary elsewhere).
    ``check`` names an extra test on the digits of a match (``"nhs"``: the mod-11 check digit).
    """

    name: str
    regex: str
    example: str
    scope: str = "text"
    check: str | None = None
    case_sensitive: bool = False

    @property
    def scoped(self) -> str:
        """The expression with its own case rule, to combine with the others."""
        return f"(?:{self.regex})" if self.case_sensitive else f"(?i:{self.regex})"


IDENTIFIER_PATTERNS: tuple[IdentifierPattern, ...] = (
    IdentifierPattern("UK phone number",
                      rf"(?<![\dA-Za-z])(?:(?:\+|00)?44{_SEP}(?:\(0\){_SEP})?|0)[1-9](?:{_SEP}\d){{8,9}}(?!\d)",
                      "07700-900-123"),
    IdentifierPattern("postcode", rf"{_START}{_OUTWARD}{_SEP}\d[A-Z]{{2}}{_END}", "LS1-4AP"),
    IdentifierPattern("partial postcode", rf"^{_OUTWARD}(?:{_SEP}\d)?$", "LS1", scope="id"),
    IdentifierPattern("email address", r"[^\s@]+@[^\s@]+\.[^\s@]{2,}", "a.person@example.org"),
    IdentifierPattern("social media handle", r"(?<![\w.])@[A-Za-z0-9_.]{2,}", "@someone"),
    IdentifierPattern("user name", r"^[A-Za-z][a-z]*(?:[._][A-Za-z][a-z]+)+\d{0,4}$",
                      "john.smith", scope="id", case_sensitive=True),
    IdentifierPattern("national insurance number",
                      rf"{_START}[A-Z]{{2}}{_SEP}\d{{2}}{_SEP}\d{{2}}{_SEP}\d{{2}}{_SEP}[A-D]{_END}",
                      "QQ123456C"),
    IdentifierPattern("NHS number", rf"(?<!\d)\d{{3}}{_SEP}\d{{3}}{_SEP}\d{{4}}(?!\d)",
                      "943 476 5919", check="nhs"),
    IdentifierPattern("NHS number", rf"NHS{_SEP}(?:no|number)?{_SEP}(?:\d{_SEP}){{9}}\d(?!\d)",
                      "NHS-485-777-3456"),
    IdentifierPattern("GWF reference", rf"{_START}GWF{_SEP}\d{{9}}{_END}", "GWF012345678"),
    IdentifierPattern("Home Office reference", rf"{_START}[A-Z]\d{{7}}/\d{{1,2}}{_END}",
                      "H1234567/2"),
    IdentifierPattern("Home Office reference", r"^[A-Z]\d{7}$", "H1234567", scope="id"),
    IdentifierPattern("unique application number (UAN)",
                      rf"{_START}\d{{4}}-\d{{4}}-\d{{4}}-\d{{4}}{_END}", "1234-5678-9012-3456"),
    IdentifierPattern("biometric residence permit number", rf"{_START}[A-Z]{{2}}[X\d]\d{{6}}{_END}",
                      "ZU1234567"),
    IdentifierPattern("passport number", r"^(?:\d{9}|[A-Z]{1,2}\d{7})$", "123456789",
                      scope="id"),
    IdentifierPattern("visa or vignette number", rf"{_START}(?:VAF|GWF|UKVI){_SEP}\d{{5,}}{_END}",
                      "VAF1234567"),
    IdentifierPattern("date", rf"(?<!\d)(?:{_YEAR}[-/.]{_MONTH}[-/.]{_DAY}|"
                              rf"{_DAY}[-/.]{_MONTH}[-/.](?:{_YEAR}|\d{{2}}))(?!\d)",
                      "1998-04-12", scope="id"),
    IdentifierPattern("date", rf"^{_YEAR}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])$", "19980412",
                      scope="id"),
)


# The patterns use look-arounds for token edges; the vectorised first pass runs in Arrow's RE2,
# which has none. For "does the value contain a match", a look-around is equivalent to matching
# the edge character itself (or the end of the value), so each is rewritten that way.
_RE2_EDGES = (
    (r"(?<![A-Za-z0-9])", r"(?:^|[^A-Za-z0-9])"), (r"(?![A-Za-z0-9])", r"(?:$|[^A-Za-z0-9])"),
    (r"(?<![\dA-Za-z])", r"(?:^|[^\dA-Za-z])"), (r"(?<!\d)", r"(?:^|\D)"),
    (r"(?!\d)", r"(?:$|\D)"), (r"(?<![\w.])", r"(?:^|[^\w.])"),
)


def _re2(regex: str) -> str:
    for look, edge in _RE2_EDGES:
        regex = regex.replace(look, edge)
    if re.search(r"\(\?<?[!=]", regex):
        raise ValueError(f"identifier pattern {regex!r}: a look-around RE2 cannot run")
    return regex


def _combined(scope: str) -> str:
    return "|".join(_re2(p.scoped) for p in IDENTIFIER_PATTERNS
                    if scope == "id" or p.scope == "text")


_ANY = {"id": _combined("id"), "text": _combined("text")}
_EACH = [(p, re.compile(p.scoped)) for p in IDENTIFIER_PATTERNS]


def identifier_kind(value: str, scope: str = "text") -> str | None:
    """The name of the first identifier found in ``value``, or ``None``.

    >>> identifier_kind("07700 900123"), identifier_kind("WY-NRM-24-0401")
    ('UK phone number', None)
    """
    for pattern, compiled in _EACH:
        if scope == "text" and pattern.scope != "text":
            continue
        for match in compiled.finditer(value):
            if pattern.check != "nhs" or nhs_check_digit_ok(match.group(0)):
                return pattern.name
    return None


def nhs_check_digit_ok(text: str) -> bool:
    """Whether the ten digits in ``text`` end with a valid NHS mod-11 check digit."""
    digits = [int(c) for c in text if c.isdigit()]
    if len(digits) != 10:
        return False
    remainder = sum(d * w for d, w in zip(digits[:9], range(10, 1, -1))) % 11
    check = (11 - remainder) % 11
    return check != 10 and check == digits[9]


def mask(value: str) -> str:
    """``value`` with its middle replaced by bullets, so a message can say which cell without
    repeating the identifier: ``07700900123`` -> ``07•••••••23``."""
    value = str(value)
    if len(value) <= 4:
        return "•" * len(value)
    keep = 1 if len(value) <= 10 else 2
    return value[:keep] + "•" * (len(value) - 2 * keep) + value[-keep:]


#: Columns whose cells are (nearly) all distinct (ids): matched cell by cell, since finding
#: the distinct values would cost more than it saves (the same problems either way).
DISTINCT_COLUMNS = {"record_id"}


def find_identifiers(frame: pd.DataFrame, columns: dict[str, str]) -> list[Problem]:
    """Every cell of ``frame`` holding an identifier, as a ``Problem`` with a masked value.

    ``columns`` maps each column to check to its scope (``"id"`` or ``"text"``). Vectorised:
    one combined expression over each column's distinct values, then the few hits one by one.
    """
    problems = []
    for column, scope in columns.items():
        text = frame[column].astype("string").fillna("")
        if column in DISTINCT_COLUMNS:  # each cell its own "distinct value": no factorize
            codes, uniques = np.arange(len(text)), text.array
        else:
            codes, uniques = pd.factorize(text)
            uniques = uniques.array
        if not len(uniques):
            continue
        # Arrow-backed text goes to Arrow without a Python string per value.
        candidates = pc.match_substring_regex(pa.array(uniques, type=pa.string()), _ANY[scope])
        kinds = {i: identifier_kind(str(uniques[i]), scope)
                 for i in np.flatnonzero(candidates.to_numpy(zero_copy_only=False))}
        kinds = {i: k for i, k in kinds.items() if k}
        if not kinds:
            continue
        hit = np.isin(codes, list(kinds))
        for row, code in zip(frame[ROW_COLUMN].to_numpy()[hit], codes[hit]):
            problems.append(Problem(int(row), column, mask(uniques[code]),
                                    f"looks like {_a(kinds[code])}: identifying data must not "
                                    "be sent in any column"))
    return problems


def _a(kind: str) -> str:
    """``kind`` with its article, by sound: an NHS number, a UK phone number, a user name."""
    word = kind.split()[0]
    vowel_sound = word[0] in "AEFHILMNORSX" if word.isupper() and len(word) > 1 else \
        word[0].lower() in "aeio"
    return ("an " if vowel_sound else "a ") + kind


def refuse_identifiers(path, frame: pd.DataFrame, columns: dict[str, str]) -> None:
    """Raise ``IdentifierError`` listing every identifier found (see :func:`find_identifiers`)."""
    problems = find_identifiers(frame, columns)
    if problems:
        raise IdentifierError(path, sorted(problems, key=lambda p: (p.row, p.column)))
