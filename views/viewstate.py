"""The map explorer's view as a link: filters and map choices to and from query parameters.

Everything that decides what the explorer shows (dates, feeds, feed filters, districts, the map
layer, level, measure and class breaks, and the area whose panel is open) is an
:class:`ExplorerState`, and the state is written to the page's query parameters, so a copied
link opens the same view. The link format (every key optional)::

    ?from=2024-12-01&to=2025-11-30          inclusive dates, ISO format
    &feed=nrm&feed=rosewood                 feeds (default: all three)
    &age=child                              age groups: adult, child, unknown
    &type=labour&type=criminal              NRM exploitation types
    &status=missing                         Rosewood: found or missing
    &indicator=under_18                     Mandevilla indicators
    &district=E08000035                     district codes
    &layer=areas&level=ward&measure=rate&scheme=quantiles
    &area=E05011373                         the area whose panel is open (a code of ``level``)
    &hotspots=1                             draw the hotspot model's hotspots (roles allowed to)

A list is written as the key repeated; a comma-separated value is read as a list too. Values
equal to the default are left out, except the dates, which are always written: the default
period is relative to the store's last date, so a link without dates would drift as data arrive.

A link is untrusted input. :func:`from_query_params` never raises on it: each value is checked
against a fixed set of choices (or parsed as a date or looked up as an area code), anything
else is dropped and a warning says what was ignored, without repeating the value (it could be
markup). A role is held to what it may see: a chair's ``level=lsoa`` becomes ``ward``, a
chair's ``layer=points`` becomes ``areas``, and ``hotspots=1`` is dropped for a role that may not
see hotspots (``core.roles``' ``view_hotspots``).

No Streamlit here; ``pages/explore.py`` reads and writes ``st.query_params`` with these
functions.
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace

from core.filters import ROSEWOOD_STATUSES, EventFilter
from core.roles import may, may_see_level
from core.schema import AGE_GROUPS, FEEDS
from geo.boundaries import DISTRICT_CODES as _DISTRICT_NAMES
from safeguards.disclosure import must_suppress
from views.explore_dates import DEFAULT_RANGE, date_bounds, quick_range, whole_months

LAYERS = ("areas", "hex", "heat", "points")
LAYER_TITLES = {"areas": "Areas (choropleth)", "hex": "Hexagons", "heat": "Heat map",
                "points": "Points (clustered)"}
#: The access level (``core.roles.LEVELS``) each non-area layer needs.
LAYER_ACCESS = {"hex": "hex", "heat": "point", "points": "point"}
AREA_LEVELS = ("district", "ward", "lsoa")  # coarse to fine
LEVEL_TITLES = {"district": "District", "ward": "Ward", "lsoa": "LSOA"}
MEASURES = ("count", "rate")
MEASURE_TITLES = {"count": "Records", "rate": "Rate per 100,000 residents"}
SCHEMES = ("natural_breaks", "quantiles")
SCHEME_TITLES = {"natural_breaks": "Natural breaks", "quantiles": "Quantiles"}
EXPLOITATION_TYPES = dict((f.name, f.choices) for f in FEEDS["nrm"])["exploitation_type"]
INDICATORS = dict((f.name, f.choices) for f in FEEDS["mandevilla"])["indicators"]
DISTRICT_CODES = tuple(_DISTRICT_NAMES)

# Query parameter names.
P_FROM, P_TO, P_FEED, P_AGE, P_TYPE, P_STATUS, P_INDICATOR, P_DISTRICT = (
    "from", "to", "feed", "age", "type", "status", "indicator", "district")
P_LAYER, P_LEVEL, P_MEASURE, P_SCHEME, P_AREA = "layer", "level", "measure", "scheme", "area"
P_HOTSPOTS = "hotspots"
PARAMS = (P_FROM, P_TO, P_FEED, P_AGE, P_TYPE, P_STATUS, P_INDICATOR, P_DISTRICT, P_LAYER,
          P_LEVEL, P_MEASURE, P_SCHEME, P_AREA, P_HOTSPOTS)
#: ``hotspots=`` values that switch the hotspots overlay on.
_ON = ("1", "true", "yes", "on")

MAX_VALUE_CHARS = 64   # longer values are not any of ours
MAX_VALUES = 32        # per key
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_AREA_CODE = re.compile(r"^E0[0-9]\d{6}$")


@dataclass(frozen=True)
class ExplorerState:
    """What the map explorer shows. Empty tuples mean "no restriction".

    Attributes
    ----------
    start, end : date or None
        Inclusive period (None only for an empty store).
    feeds : tuple of str
        Feeds counted, in contract order; at least one.
    age_groups, exploitation_types, indicators, districts : tuple of str
        Filters, each in the order of its choices. Feed-specific filters are ignored by the
        other feeds (``core.filters.EventFilter``).
    rosewood_status : {"found", "missing"} or None
    layer : {"areas", "hex", "heat", "points"}
        The layer shown when the map opens (the map's layer control switches the others on).
    level : {"district", "ward", "lsoa"}
        Areas of the choropleth.
    measure : {"count", "rate"}
    scheme : {"natural_breaks", "quantiles"}
    area : str or None
        Code of the area (of ``level``) whose panel is open.
    hotspots : bool
        Draw the hotspot model's hotspots of the same feeds and filters as an overlay. Off
        unless asked for: a fit takes seconds, too long for every filter change.
    warnings : tuple of str
        What :func:`from_query_params` ignored or changed, for the page to show. Not part of the
        view: not compared, not written to the link.
    """

    start: dt.date | None = None
    end: dt.date | None = None
    feeds: tuple[str, ...] = tuple(FEEDS)
    age_groups: tuple[str, ...] = ()
    exploitation_types: tuple[str, ...] = ()
    rosewood_status: str | None = None
    indicators: tuple[str, ...] = ()
    districts: tuple[str, ...] = ()
    layer: str = "areas"
    level: str = "ward"
    measure: str = "count"
    scheme: str = "natural_breaks"
    area: str | None = None
    hotspots: bool = False
    warnings: tuple[str, ...] = field(default=(), compare=False)


# -- the link ------------------------------------------------------------------------------
def to_query_params(state: ExplorerState) -> dict[str, str | list[str]]:
    """The query parameters of ``state`` (see the module docstring for the format).

    Lists are in choice order; defaults are left out, dates never.
    """
    default = ExplorerState()
    params: dict[str, str | list[str]] = {}
    if state.start is not None:
        params[P_FROM] = state.start.isoformat()
    if state.end is not None:
        params[P_TO] = state.end.isoformat()
    if tuple(state.feeds) != default.feeds:
        params[P_FEED] = list(state.feeds)
    for key, values in ((P_AGE, state.age_groups), (P_TYPE, state.exploitation_types),
                        (P_INDICATOR, state.indicators), (P_DISTRICT, state.districts)):
        if values:
            params[key] = list(values)
    if state.rosewood_status:
        params[P_STATUS] = state.rosewood_status
    for key, value, fallback in ((P_LAYER, state.layer, default.layer),
                                 (P_LEVEL, state.level, default.level),
                                 (P_MEASURE, state.measure, default.measure),
                                 (P_SCHEME, state.scheme, default.scheme)):
        if value != fallback:
            params[key] = value
    if state.area:
        params[P_AREA] = state.area
    if state.hotspots:
        params[P_HOTSPOTS] = "1"
    return params


def from_query_params(params: Mapping[str, str | Iterable[str]], *, role: str,
                      store_period: tuple[dt.date, dt.date] | None,
                      area_codes: Callable[[str], Iterable[str]] | None = None,
                      ) -> ExplorerState:
    """The view a link asks for, as far as it is valid and ``role`` may see it.

    Parameters
    ----------
    params : mapping of str to str or list of str
        The query parameters, e.g. ``{k: st.query_params.get_all(k) for k in st.query_params}``.
    role : str
        The viewer's role (``core.roles.ROLES``): levels and layers it may not see fall back.
    store_period : (date, date) or None
        The store's first and last event dates: dates are kept within them, and the default
        period is the last 12 months of data. None for an empty store (no dates).
    area_codes : callable, optional
        ``level -> codes`` of that level, to check ``area``. Default: the shipped boundaries.

    Returns
    -------
    ExplorerState
        With ``warnings`` saying, without echoing the values, what was ignored or changed.
        Never raises on bad input.
    """
    values = {key: _values(raw) for key, raw in params.items()}
    notes: list[str] = []
    unknown = [key for key in values if key not in PARAMS]
    if unknown:
        notes.append(f"ignored {len(unknown)} unknown link parameter(s)")
    store_period = date_bounds(role, store_period)
    start, end = _dates(values, store_period, notes)
    if start is not None and must_suppress(role):
        start, end = whole_months(start, end, notes)
    feeds = _choices(values, P_FEED, tuple(FEEDS), "feed", notes) or tuple(FEEDS)
    level = _level(_one(values, P_LEVEL, AREA_LEVELS, "map level", notes), role, notes)
    layer = _layer(_one(values, P_LAYER, LAYERS, "map layer", notes), role, notes)
    state = ExplorerState(
        start=start, end=end, feeds=feeds,
        age_groups=_choices(values, P_AGE, AGE_GROUPS, "age group", notes),
        exploitation_types=_choices(values, P_TYPE, EXPLOITATION_TYPES, "exploitation type",
                                    notes),
        rosewood_status=_one(values, P_STATUS, ROSEWOOD_STATUSES, "Rosewood status", notes),
        indicators=_choices(values, P_INDICATOR, INDICATORS, "Mandevilla indicator", notes),
        districts=_choices(values, P_DISTRICT, DISTRICT_CODES, "district", notes),
        layer=layer, level=level,
        measure=_one(values, P_MEASURE, MEASURES, "measure", notes) or "count",
        scheme=_one(values, P_SCHEME, SCHEMES, "class breaks", notes) or "natural_breaks",
    )
    area = _area(values, level, area_codes or _boundary_codes, notes)
    return replace(state, area=area, hotspots=_hotspots(values, role, notes),
                   warnings=tuple(notes))


def normalise(state: ExplorerState, *, role: str,
              store_period: tuple[dt.date, dt.date] | None,
              area_codes: Callable[[str], Iterable[str]] | None = None) -> ExplorerState:
    """``state`` checked like a link (e.g. one assembled from widget values)."""
    return from_query_params(to_query_params(state), role=role, store_period=store_period,
                             area_codes=area_codes)


def to_filter(state: ExplorerState, period: tuple[dt.date, dt.date] | None = None) -> EventFilter:
    """The ``EventFilter`` of ``state`` (for ``period`` instead of its own dates, if given)."""
    start, end = period or (state.start, state.end)
    return EventFilter(start=start, end=end, districts=tuple(state.districts),
                       age_groups=tuple(state.age_groups),
                       exploitation_types=tuple(state.exploitation_types),
                       rosewood_status=state.rosewood_status,
                       indicators=tuple(state.indicators))


def filter_key(state: ExplorerState) -> tuple:
    """What decides the records counted (not the map's presentation), to notice changes."""
    return (state.start, state.end, tuple(state.feeds), tuple(state.age_groups),
            tuple(state.exploitation_types), state.rosewood_status, tuple(state.indicators),
            tuple(state.districts))


def audit_filters(state: ExplorerState) -> dict:
    """The filters as an audit entry records them (``safeguards.audit``)."""
    return {"start": state.start, "end": state.end, "feeds": list(state.feeds),
            "age_groups": list(state.age_groups),
            "exploitation_types": list(state.exploitation_types),
            "rosewood_status": state.rosewood_status, "indicators": list(state.indicators),
            "districts": list(state.districts), "level": state.level, "layer": state.layer}


def may_see_hotspots(role: str) -> bool:
    """Whether ``role`` may switch on the hotspots overlay (``core.roles``' view_hotspots)."""
    return may(role, "view_hotspots")


def allowed_levels(role: str) -> tuple[str, ...]:
    """The choropleth levels ``role`` may choose, coarse to fine."""
    return tuple(level for level in AREA_LEVELS if may_see_level(role, level))


def allowed_layers(role: str) -> tuple[str, ...]:
    """The layers ``role`` may see: areas for everyone who may see areas, the rest by access."""
    return tuple(layer for layer in LAYERS
                 if layer == "areas" or may_see_level(role, LAYER_ACCESS[layer]))


# -- the page's widgets --------------------------------------------------------------------
# Keys of the explorer's widgets in st.session_state. The link is the source of truth: the page
# puts a link's state into the widgets (widget_values) when a link is opened, and reads the
# widgets back (state_from_widgets) on every run, through the same checks as a link.
W_DATES, W_FEEDS, W_AGES, W_TYPES, W_STATUS, W_INDICATORS, W_DISTRICTS = (
    "explore_dates", "explore_feeds", "explore_ages", "explore_types", "explore_status",
    "explore_indicators", "explore_districts")
W_LAYER, W_LEVEL, W_MEASURE, W_SCHEME = ("explore_layer", "explore_level", "explore_measure",
                                         "explore_scheme")
W_HOTSPOTS = "explore_hotspots"
ANY_STATUS = "any"
STATUS_CHOICES = (ANY_STATUS, *ROSEWOOD_STATUSES)


def widget_values(state: ExplorerState) -> dict[str, object]:
    """The widget values (by session-state key) that show ``state``."""
    return {W_DATES: (state.start, state.end), W_FEEDS: list(state.feeds),
            W_AGES: list(state.age_groups), W_TYPES: list(state.exploitation_types),
            W_STATUS: state.rosewood_status or ANY_STATUS, W_INDICATORS: list(state.indicators),
            W_DISTRICTS: list(state.districts), W_LAYER: state.layer, W_LEVEL: state.level,
            W_MEASURE: state.measure, W_SCHEME: state.scheme, W_HOTSPOTS: state.hotspots}


def state_from_widgets(values: Mapping[str, object], *, previous: ExplorerState, role: str,
                       store_period: tuple[dt.date, dt.date] | None,
                       area_codes: Callable[[str], Iterable[str]] | None = None
                       ) -> ExplorerState:
    """The state the widgets show, checked like a link.

    A widget without a value keeps ``previous``'s (a date range half picked has one date);
    ``area`` is kept from ``previous`` while it is an area of the chosen level.
    """
    def get(key, fallback):
        value = values.get(key) if key in values else None
        return fallback if value is None else value

    dates = get(W_DATES, (previous.start, previous.end))
    if not (isinstance(dates, (tuple, list)) and len(dates) == 2):
        dates = (previous.start, previous.end)
    status = get(W_STATUS, previous.rosewood_status or ANY_STATUS)
    raw = ExplorerState(
        start=dates[0], end=dates[1], feeds=tuple(get(W_FEEDS, previous.feeds)),
        age_groups=tuple(get(W_AGES, previous.age_groups)),
        exploitation_types=tuple(get(W_TYPES, previous.exploitation_types)),
        rosewood_status=None if status == ANY_STATUS else status,
        indicators=tuple(get(W_INDICATORS, previous.indicators)),
        districts=tuple(get(W_DISTRICTS, previous.districts)),
        layer=get(W_LAYER, previous.layer), level=get(W_LEVEL, previous.level),
        measure=get(W_MEASURE, previous.measure), scheme=get(W_SCHEME, previous.scheme),
        area=previous.area, hotspots=bool(get(W_HOTSPOTS, previous.hotspots)))
    state = normalise(raw, role=role, store_period=store_period, area_codes=area_codes)
    return replace(state, warnings=())


# -- helpers -------------------------------------------------------------------------------
def _values(raw) -> list[str]:
    """One parameter's values as a list of short strings (comma-separated values split)."""
    items = [raw] if isinstance(raw, str) else list(raw) if raw is not None else []
    out = []
    for item in items[:MAX_VALUES]:
        if not isinstance(item, str):
            continue
        out.extend(part.strip() for part in item.split(",") if part.strip())
    return out[:MAX_VALUES]


def _valid(value: str, choices: tuple[str, ...]) -> bool:
    return len(value) <= MAX_VALUE_CHARS and value.lower() in choices


def _choices(values, key, choices, what, notes) -> tuple[str, ...]:
    given = values.get(key, [])
    kept = {value.lower() if key != P_DISTRICT else value.upper() for value in given
            if _valid(value, tuple(c.lower() for c in choices))}
    if len(kept) < len({v.lower() for v in given}):
        notes.append(f"ignored an unknown {what} in the link")
    return tuple(choice for choice in choices if choice in kept)


def _one(values, key, choices, what, notes) -> str | None:
    given = values.get(key, [])
    if not given:
        return None
    value = given[-1].lower()
    if len(given) > 1 or not _valid(value, choices):  # two values are ambiguous: neither
        notes.append(f"ignored an invalid {what} in the link")
        return None
    return value


def _level(level: str | None, role: str, notes) -> str:
    allowed = allowed_levels(role)
    if not allowed:
        return "district"
    if level is None:
        return "ward" if "ward" in allowed else allowed[-1]
    if level in allowed:
        return level
    coarser = [lvl for lvl in allowed if AREA_LEVELS.index(lvl) < AREA_LEVELS.index(level)]
    fallback = coarser[-1] if coarser else allowed[0]
    notes.append(f"your role may not see {LEVEL_TITLES[level]} level: showing "
                 f"{LEVEL_TITLES[fallback].lower()}s instead")
    return fallback


def _layer(layer: str | None, role: str, notes) -> str:
    if layer is None:
        return "areas"
    if layer in allowed_layers(role):
        return layer
    notes.append(f"your role may not see the {LAYER_TITLES[layer].lower()} layer: showing "
                 "areas instead")
    return "areas"


def _hotspots(values, role: str, notes) -> bool:
    given = values.get(P_HOTSPOTS, [])
    if not given:
        return False
    if len(given) > 1 or given[-1].lower() not in (*_ON, "0", "false", "no", "off"):
        notes.append("ignored an invalid hotspots setting in the link")
        return False
    if given[-1].lower() not in _ON:
        return False
    if not may_see_hotspots(role):
        notes.append("your role may not see hotspots: the map shows none")
        return False
    return True


def _parse_date(value: str) -> dt.date | None:
    if not _DATE.match(value):
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


def _dates(values, store_period, notes) -> tuple[dt.date | None, dt.date | None]:
    if store_period is None:
        return None, None
    first, last = store_period
    default_start, default_end = quick_range(DEFAULT_RANGE, store_period)
    parsed = {}
    for key in (P_FROM, P_TO):
        given = values.get(key, [])
        day = _parse_date(given[-1]) if len(given) == 1 else None
        if given and (day is None or len(given) > 1):
            notes.append(f"ignored an invalid '{key}' date in the link")
        parsed[key] = day
    start = parsed[P_FROM] or default_start
    end = parsed[P_TO] or default_end
    if start > end:
        notes.append("the link's start date is after its end date: showing the last 12 months")
        return default_start, default_end
    clipped_start, clipped_end = min(max(start, first), last), max(min(end, last), first)
    if (clipped_start, clipped_end) != (start, end):
        notes.append(f"dates outside the data ({first.isoformat()} to {last.isoformat()}) "
                     "were moved inside it")
    return clipped_start, max(clipped_start, clipped_end)


def whole_month_state(state: ExplorerState) -> ExplorerState:
    """``state`` with its dates widened to whole months (what a protected role's figures
    cover); unchanged without dates."""
    if state.start is None or state.end is None:
        return state
    start, end = whole_months(state.start, state.end, [])
    return replace(state, start=start, end=end)


def _area(values, level, area_codes, notes) -> str | None:
    given = values.get(P_AREA, [])
    if not given:
        return None
    code = given[-1].upper()
    if len(given) == 1 and _AREA_CODE.match(code) and code in set(area_codes(level)):
        return code
    notes.append("ignored an area in the link that is not on the map's level")
    return None


def _boundary_codes(level: str) -> list[str]:
    from geo.boundaries import load_boundaries

    return load_boundaries(level)["code"].tolist()
