"""Values as people read them: blanks, counts, dates and times, and filter sets in the app's
format.

One place for the small renderings that the pages, the administration pages and the CSV labels
share:

- a shown count is ``"1,234"`` (:func:`thousands`); a protected cell's ``"<5"`` or ``"[c]"``
  stays as it is;
- a missing value (``None``, ``""``, an empty list or dict, a NaN) is :data:`BLANK`, "—";
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
