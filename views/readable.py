"""Values as people read them: blanks, counts, dates and times, and filter sets in the app's
format.

One place for the small renderings that the pages, the administration pages and the CSV labels
share:

- a shown count is ``"1,234"`` (:func:`thousands`); a protected cell's ``"<5"`` or ``"[c]"``
  stays as it is;
- a missing value (``None``, ``""``, an empty list or dict, a NaN) is :data:`BLANK`, "—";
- a share is a percent with one decimal only below 10%, where it matters (``"2.9%"``,
  ``"3%"``, ``"12%"``), and ``"under 0.1%"`` for a tiny one (:func:`percent_text`);
- a date is ``"1 Dec 2024"`` (``DATE_FORMAT``, as ``core.periods.coverage_text``), a time
  ``"1 Dec 2024 09:05:02"`` (UTC);
- a filter set (a dict, or the JSON text the audit log keeps) is one line,
  ``"feed: NRM · district: Leeds"``: feed and district codes by name, categories by title, ISO
  dates in the app's format, empty filters left out.

No Streamlit here.
"""
from __future__ import annotations

import datetime as dt
import json
import math
import re

import pandas as pd

from core.periods import parse_period, period_label

BLANK = "—"
DATE_FORMAT = "%-d %b %Y"
TIME_FORMAT = "%-d %b %Y %H:%M:%S"
SEPARATOR = " · "
FEED_NAMES = {"nrm": "NRM", "rosewood": "Rosewood", "mandevilla": "Mandevilla"}
#: The explorer's filter categories by title (its panel, legend and exports, and filter sets).
CATEGORY_TITLES = {
    "adult": "Adult", "child": "Child", "unknown": "Unknown",
    "labour": "Labour", "sexual": "Sexual", "criminal": "Criminal",
    "domestic_servitude": "Domestic servitude", "organ_harvesting": "Organ harvesting",
    "found": "Found", "missing": "Still missing",
    "accompanied_by_controlling_person": "Accompanied by a controlling person",
    "under_18": "Under 18", "repeat_procedure": "Repeat procedure",
    "unable_to_speak_freely": "Unable to speak freely", "other": "Other",
}

# Filter keys as people say them: (one value, several values).
KEY_TITLES = {
    "feed": ("feed", "feeds"), "feeds": ("feed", "feeds"),
    "district": ("district", "districts"), "districts": ("district", "districts"),
    "ward": ("ward", "wards"), "wards": ("ward", "wards"),
    "age_groups": ("age group", "age groups"),
    "exploitation_types": ("NRM type", "NRM types"),
    "indicators": ("Mandevilla indicator", "Mandevilla indicators"),
    "rosewood_status": ("Rosewood", "Rosewood"),
    "start": ("from", "from"), "end": ("to", "to"),
}
# Keys shown first, in this order (the log keeps its keys sorted); the rest follow as kept.
KEY_ORDER = ("feed", "feeds", "period", "start", "end", "district", "districts", "ward",
             "wards", "level")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
_PERIOD = re.compile(r"^\d{4}-(Q[1-4]|\d{2})$")


def is_blank(value) -> bool:
    """Whether ``value`` is nothing to show: None, empty text or collection, NaN or NaT."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip() or value.strip() in ("{}", "[]")
    if isinstance(value, (list, tuple, set, frozenset, dict)):
        return not value
    if isinstance(value, float) and math.isnan(value):
        return True
    return bool(pd.api.types.is_scalar(value) and pd.isna(value))  # pandas' NA and NaT


def text(value) -> str:
    """``value`` as text, :data:`BLANK` where it is missing."""
    return BLANK if is_blank(value) else str(value)


def thousands(label) -> str:
    """A shown count with thousands separators: ``"1234"`` (or 1234) → ``"1,234"``; anything
    else (``"<5"``, ``"[c]"``, ``"no data"``) as it is.

    Examples
    --------
    >>> thousands("1234"), thousands(56), thousands("<5"), thousands("[c]")
    ('1,234', '56', '<5', '[c]')
    """
    return f"{int(label):,}" if str(label).isdigit() else str(label)


def percent_text(share) -> str:
    """A share (0 to 1) as a percent, as people say it.

    Below 10% the decimal matters (2.9% of the county against a limit of 3%), so one is kept,
    but never a bare ".0" ("3%", not "3.0%"); from 10% on, whole percents ("12%", "30%"). A
    share too small to show at one decimal is "under 0.1%" (never "0%" when it is not none),
    one too close to all to show as less than 100% is "over 99%". A missing share
    (None, NaN) is :data:`BLANK`.

    Examples
    --------
    >>> [percent_text(s) for s in (0.029, 0.03, 0.1234, 0.0004, 0.0, 0.9996)]
    ['2.9%', '3%', '12%', 'under 0.1%', '0%', 'over 99%']

    Raises
    ------
    ValueError
        ``share`` is not a number from 0 to 1.
    """
    if is_blank(share):
        return BLANK
    try:
        value = float(share)
    except (TypeError, ValueError):
        raise ValueError(f"a share must be a number from 0 to 1, not {share!r}") from None
    if not 0 <= value <= 1 + 1e-9:   # a rounding step above 1 is still "all"
        raise ValueError(f"a share must be from 0 to 1, not {value!r}")
    if value == 0 or value >= 1:
        return "0%" if value == 0 else "100%"
    if value < 0.001:
        return "under 0.1%"
    if value >= 0.995:
        return "over 99%"
    tenths = f"{100 * value:.1f}"
    if float(tenths) >= 10:
        return f"{100 * value:.0f}%"
    return tenths.removesuffix(".0") + "%"


def _moment(value):
    """``value``, ISO text parsed to a ``datetime`` (text that is not ISO comes back as is)."""
    if isinstance(value, str):
        try:
            return dt.datetime.fromisoformat(value.strip())
        except ValueError:
            return value
    return value


def date_text(value) -> str:
    """A date (a ``date``, ``datetime`` or ISO text) as ``"1 Dec 2024"``; :data:`BLANK` if none."""
    if is_blank(value):
        return BLANK
    value = _moment(value)
    return value if isinstance(value, str) else f"{value:{DATE_FORMAT}}"


def time_text(value) -> str:
    """A moment (a ``datetime``, pandas ``Timestamp`` or ISO text) in UTC as
    ``"1 Dec 2024 09:05:02"``; :data:`BLANK` if none. Naive moments are taken as UTC."""
    if is_blank(value):
        return BLANK
    value = _moment(value)
    if isinstance(value, str):
        return value
    if getattr(value, "tzinfo", None) is not None:
        value = value.astimezone(dt.timezone.utc)
    return f"{value:{TIME_FORMAT}}"


def _value_text(key: str, value) -> str:
    if isinstance(value, dict):
        return filters_text(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if not isinstance(value, str):
        return str(value)
    if key in ("feed", "feeds") and value in FEED_NAMES:
        return FEED_NAMES[value]
    # Imported here: geo.boundaries brings geopandas, which the pages that show counts
    # (Overview, Trends) do not otherwise import.
    from geo.boundaries import DISTRICT_CODES

    if value in DISTRICT_CODES:
        return DISTRICT_CODES[value]
    if _ISO_DATE.match(value):
        return date_text(value)
    if _ISO_TIME.match(value):
        return time_text(value)
    if key == "period" and _PERIOD.match(value):
        try:
            return period_label(parse_period(value))
        except ValueError:
            return value
    return _category_title(value)


def _category_title(value: str) -> str:
    return CATEGORY_TITLES.get(value, value).lower() if value in CATEGORY_TITLES else value


def filters_text(filters) -> str:
    """A filter set as one line: ``"feed: NRM · district: Leeds"``; :data:`BLANK` if empty.

    ``filters`` is a dict or its JSON text (as ``safeguards.audit.read_audit`` gives it). Keys
    whose value is empty are left out; lists are joined with ", ".
    """
    if isinstance(filters, str):
        if is_blank(filters):
            return BLANK
        try:
            filters = json.loads(filters)
        except ValueError:
            return filters
    if not isinstance(filters, dict):
        return text(filters)
    parts = []
    order = {key: i for i, key in enumerate(KEY_ORDER)}
    for key, value in sorted(filters.items(), key=lambda kv: order.get(kv[0], len(order))):
        if is_blank(value):
            continue
        values = list(value) if isinstance(value, (list, tuple)) else [value]
        one, several = KEY_TITLES.get(key, (key.replace("_", " "),) * 2)
        shown = ", ".join(_value_text(key, v) for v in values if not is_blank(v))
        parts.append(f"{one if len(values) == 1 else several}: {shown}")
    return SEPARATOR.join(parts) if parts else BLANK
