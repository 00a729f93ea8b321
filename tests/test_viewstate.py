"""The explorer's link format: round trip, validation of crafted links, role fallbacks, dates.

Spec (data/viewstate.py):
- ``from_query_params(to_query_params(s)) == s`` for every valid state of a role.
- A link is untrusted: unknown keys, unknown choices, bad dates, overlong or markup values are
  dropped with a warning that does not repeat them; nothing raises.
- A role is held to what it may see: a chair's ``level=lsoa`` becomes ``ward``, a chair's
  point layers become ``areas``.
- Dates stay within the store's period; the default is the last 12 months of data, and quick
  picks count back from the store's last date.
"""
from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.filters import EventFilter
from core.schema import AGE_GROUPS, FEEDS
from views.explore_dates import add_months, previous_period, quick_range
from views.viewstate import (
    AREA_LEVELS,
    DISTRICT_CODES,
    EXPLOITATION_TYPES,
    INDICATORS,
    LAYERS,
    MEASURES,
    SCHEMES,
    ExplorerState,
    allowed_layers,
    allowed_levels,
    filter_key,
    from_query_params,
    normalise,
    to_filter,
    to_query_params,
    whole_month_state,
)

PERIOD = (dt.date(2021, 1, 4), dt.date(2025, 11, 30))
# A few codes per level, so that the tests do not load boundaries.
CODES = {"district": list(DISTRICT_CODES), "ward": ["E05001100", "E05001101"],
         "lsoa": ["E01010000", "E01010001"]}


def parse(params, role="analyst", period=PERIOD) -> ExplorerState:
    return from_query_params(params, role=role, store_period=period, area_codes=CODES.get)


def subset(choices):
    return st.lists(st.sampled_from(choices), unique=True).map(
        lambda picked: tuple(c for c in choices if c in picked))


@st.composite
def states(draw, role="analyst"):
    days = (PERIOD[1] - PERIOD[0]).days
    a = draw(st.integers(0, days))
    b = draw(st.integers(a, days))
    level = draw(st.sampled_from(allowed_levels(role)))
    start, end = PERIOD[0] + dt.timedelta(days=a), PERIOD[0] + dt.timedelta(days=b)
    if role != "analyst":   # protected figures cover whole months: links keep whole months
        start, end = whole_month_state(ExplorerState(start=start, end=end)).start, \
            whole_month_state(ExplorerState(start=start, end=end)).end
    return ExplorerState(
        start=start, end=end,
        feeds=draw(subset(tuple(FEEDS)).filter(bool)),
        age_groups=draw(subset(AGE_GROUPS)), exploitation_types=draw(subset(EXPLOITATION_TYPES)),
        rosewood_status=draw(st.sampled_from([None, "found", "missing"])),
        indicators=draw(subset(INDICATORS)), districts=draw(subset(DISTRICT_CODES)),
        layer=draw(st.sampled_from(allowed_layers(role))), level=level,
        measure=draw(st.sampled_from(MEASURES)), scheme=draw(st.sampled_from(SCHEMES)),
        area=draw(st.sampled_from([None, *CODES[level]])), hotspots=draw(st.booleans()))


@pytest.mark.parametrize("role", ["analyst", "chair"])
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_round_trip(role, data):
    state = data.draw(states(role))
    params = to_query_params(state)
    back = parse(params, role)
    assert back == state
    assert back.warnings == ()
    assert to_query_params(back) == params  # stable: writing it back changes nothing
    # What st.query_params gives back is strings, or lists of strings for repeated keys.
    assert all(isinstance(v, str) or all(isinstance(x, str) for x in v) for v in params.values())


def test_link_format_is_readable_and_leaves_defaults_out():
    state = ExplorerState(start=dt.date(2024, 12, 1), end=dt.date(2025, 11, 30),
                          feeds=("nrm", "rosewood"), age_groups=("child",),
                          exploitation_types=("labour", "criminal"), rosewood_status="missing",
                          districts=("E08000035",), level="lsoa", measure="rate",
                          scheme="quantiles", area="E01010001")
    assert to_query_params(state) == {
        "from": "2024-12-01", "to": "2025-11-30", "feed": ["nrm", "rosewood"], "age": ["child"],
        "type": ["labour", "criminal"], "district": ["E08000035"], "status": "missing",
        "level": "lsoa", "measure": "rate", "scheme": "quantiles", "area": "E01010001"}
    assert to_query_params(ExplorerState(start=PERIOD[0], end=PERIOD[1])) == {
        "from": "2021-01-04", "to": "2025-11-30"}


def test_empty_link_opens_the_last_12_months_of_data_with_all_feeds():
    state = parse({})
    assert (state.start, state.end) == (dt.date(2024, 12, 1), dt.date(2025, 11, 30))
    assert state.feeds == tuple(FEEDS) and state.level == "ward" and state.layer == "areas"
    assert state.warnings == ()


def test_comma_separated_and_mixed_case_values_are_read():
    state = parse({"feed": "NRM,mandevilla", "type": ["Labour", "sexual,criminal"],
                   "district": "e08000035"})
    assert state.feeds == ("nrm", "mandevilla")
    assert state.exploitation_types == ("labour", "sexual", "criminal")
    assert state.districts == ("E08000035",)
    assert state.warnings == ()


PAYLOAD = '"><img src=x onerror=alert(1)>'


@pytest.mark.parametrize("params, field, expected", [
    ({"level": "point"}, "level", "ward"),
    ({"level": PAYLOAD}, "level", "ward"),
    ({"layer": "everything"}, "layer", "areas"),
    ({"measure": "sum"}, "measure", "count"),
    ({"scheme": "jenks; drop table"}, "scheme", "natural_breaks"),
    ({"feed": ["nrm", PAYLOAD]}, "feeds", ("nrm",)),
    ({"feed": [PAYLOAD]}, "feeds", tuple(FEEDS)),
    ({"age": ["child", "elderly"]}, "age_groups", ("child",)),
    ({"status": "lost"}, "rosewood_status", None),
    ({"status": ["found", "missing"]}, "rosewood_status", None),
    ({"indicator": "under_18" + "x" * 100}, "indicators", ()),
    ({"district": ["E08000035", "E09000001"]}, "districts", ("E08000035",)),
    ({"area": "E05001100"}, "area", "E05001100"),
    ({"area": "E01010000"}, "area", None),          # an LSOA on the ward map
    ({"area": PAYLOAD}, "area", None),
    ({"from": "2025-02-30"}, "start", dt.date(2024, 12, 1)),
    ({"from": "01/02/2025"}, "start", dt.date(2024, 12, 1)),
    ({"to": "2025-13-01"}, "end", dt.date(2025, 11, 30)),
])
def test_invalid_values_are_dropped_with_a_warning_that_does_not_repeat_them(params, field,
                                                                            expected):
    state = parse(params)
    assert getattr(state, field) == expected
    if expected != params.get(field):
        assert state.warnings
    for warning in state.warnings:
        assert "<" not in warning and "img" not in warning and "drop" not in warning


def test_unknown_keys_are_counted_not_named_and_do_not_change_the_view():
    state = parse({"role": "analyst", "<script>": "1", "threshold": "1"})
    assert state == parse({})
    assert state.warnings == ("ignored 3 unknown link parameter(s)",)


@given(st.dictionaries(st.text(max_size=12), st.one_of(st.text(max_size=80),
                                                       st.lists(st.text(max_size=20),
                                                                max_size=40)), max_size=8))
@settings(max_examples=300, deadline=None)
def test_no_link_makes_it_raise_or_escape_the_rules(params):
    for role in ("analyst", "chair"):
        state = parse(params, role)
        assert state.level in allowed_levels(role)
        assert state.layer in allowed_layers(role)
        assert PERIOD[0] <= state.start <= state.end <= PERIOD[1]
        assert state.feeds and set(state.feeds) <= set(FEEDS)
        assert state.area is None or state.area in CODES[state.level]
        to_filter(state)  # a valid EventFilter


def test_very_long_lists_are_cut():
    state = parse({"feed": ["nrm"] * 10_000 + ["rosewood"]})
    assert state.feeds == ("nrm",)


@pytest.mark.parametrize("level, expected", [("lsoa", "ward"), ("ward", "ward"),
                                             ("district", "district")])
def test_chair_link_falls_back_to_a_level_the_chair_may_see(level, expected):
    state = parse({"level": level}, role="chair")
    assert state.level == expected
    assert bool(state.warnings) == (level == "lsoa")
    if level == "lsoa":
        assert "showing wards instead" in state.warnings[0]


@pytest.mark.parametrize("layer", ["hex", "heat", "points"])
def test_chair_gets_areas_for_point_layers(layer):
    assert parse({"layer": layer}, role="chair").layer == "areas"
    assert parse({"layer": layer}, role="analyst").layer == layer


def test_chair_area_link_at_lsoa_level_is_dropped():
    state = parse({"level": "lsoa", "area": "E01010000"}, role="chair")
    assert (state.level, state.area) == ("ward", None)


def test_hotspots_overlay_is_in_the_link_for_the_roles_that_may_see_hotspots():
    for role in ("analyst", "chair"):
        state = parse({"hotspots": "1"}, role=role)
        assert state.hotspots and state.warnings == ()
        assert to_query_params(state)["hotspots"] == "1"
    assert "hotspots" not in to_query_params(parse({"hotspots": "0"}))
    executive = parse({"hotspots": "1"}, role="executive")
    assert not executive.hotspots
    assert executive.warnings == ("your role may not see hotspots: the map shows none",)
    crafted = parse({"hotspots": "<script>"})
    assert not crafted.hotspots and "script" not in " ".join(crafted.warnings)


def test_levels_and_layers_per_role():
    assert allowed_levels("analyst") == AREA_LEVELS
    assert allowed_levels("chair") == ("district", "ward")
    assert allowed_layers("analyst") == LAYERS
    assert allowed_layers("chair") == ("areas",)


def test_dates_are_kept_within_the_store_period():
    state = parse({"from": "2019-01-01", "to": "2030-01-01"})
    assert (state.start, state.end) == PERIOD
    assert any("moved inside" in w for w in state.warnings)
    reversed_ = parse({"from": "2025-06-01", "to": "2025-01-01"})
    assert (reversed_.start, reversed_.end) == (dt.date(2024, 12, 1), dt.date(2025, 11, 30))
    assert reversed_.warnings


def test_empty_store_has_no_dates():
    state = parse({"from": "2025-01-01"}, period=None)
    assert state.start is None and state.end is None


@pytest.mark.parametrize("name, start", [("3m", dt.date(2025, 9, 1)),
                                         ("12m", dt.date(2024, 12, 1)),
                                         ("ytd", dt.date(2025, 1, 1)), ("all", PERIOD[0])])
def test_quick_ranges_end_on_the_store_last_date(name, start):
    assert quick_range(name, PERIOD) == (start, PERIOD[1])


def test_quick_ranges_never_start_before_the_data():
    assert quick_range("12m", (dt.date(2025, 6, 1), dt.date(2025, 8, 31))) == (
        dt.date(2025, 6, 1), dt.date(2025, 8, 31))
    with pytest.raises(ValueError, match="quick range"):
        quick_range("5y", PERIOD)


def test_month_arithmetic_clips_the_day():
    assert add_months(dt.date(2025, 3, 31), -1) == dt.date(2025, 2, 28)
    assert add_months(dt.date(2024, 3, 31), -1) == dt.date(2024, 2, 29)
    assert add_months(dt.date(2025, 1, 15), -12) == dt.date(2024, 1, 15)
    assert add_months(dt.date(2025, 12, 31), 1) == dt.date(2026, 1, 31)


def test_previous_period_has_the_same_length_and_ends_the_day_before():
    assert previous_period(dt.date(2025, 1, 2), dt.date(2025, 3, 31)) == (
        dt.date(2024, 10, 5), dt.date(2025, 1, 1))
    # Whole months: as many whole months before (Oct to Dec, not 89 days from 3 Oct).
    assert previous_period(dt.date(2025, 1, 1), dt.date(2025, 3, 31)) == (
        dt.date(2024, 10, 1), dt.date(2024, 12, 31))
    assert previous_period(dt.date(2025, 3, 1), dt.date(2025, 3, 31)) == (
        dt.date(2025, 2, 1), dt.date(2025, 2, 28))


def test_a_protected_roles_link_is_widened_to_whole_months():
    state = parse({"from": "2024-12-26", "to": "2025-03-20"}, "chair")
    assert (state.start, state.end) == (dt.date(2024, 12, 1), dt.date(2025, 3, 31))
    assert any("whole months" in w for w in state.warnings)
    analyst = parse({"from": "2024-12-26", "to": "2025-03-20"}, "analyst")
    assert (analyst.start, analyst.end) == (dt.date(2024, 12, 26), dt.date(2025, 3, 20))
    assert previous_period(dt.date(2025, 5, 5), dt.date(2025, 5, 5)) == (
        dt.date(2025, 5, 4), dt.date(2025, 5, 4))


def test_to_filter_and_filter_key():
    state = ExplorerState(start=dt.date(2025, 1, 1), end=dt.date(2025, 6, 30),
                          age_groups=("child",), rosewood_status="found",
                          districts=("E08000035",), indicators=("under_18",))
    assert to_filter(state) == EventFilter(
        start=dt.date(2025, 1, 1), end=dt.date(2025, 6, 30), districts=("E08000035",),
        age_groups=("child",), rosewood_status="found", indicators=("under_18",))
    assert to_filter(state, (dt.date(2024, 1, 1), dt.date(2024, 2, 1))).start == dt.date(
        2024, 1, 1)
    # Map presentation is not a filter change; a filter is.
    assert filter_key(state) == filter_key(ExplorerState(**{**vars(state), "level": "lsoa",
                                                            "measure": "rate"}))
    assert filter_key(state) != filter_key(ExplorerState(**{**vars(state), "feeds": ("nrm",)}))


def test_normalise_checks_a_state_assembled_from_widgets():
    raw = ExplorerState(start=dt.date(2025, 1, 1), end=dt.date(2025, 2, 1),
                        feeds=["rosewood", "nrm"], level="lsoa", area="E01010000")
    state = normalise(raw, role="chair", store_period=PERIOD, area_codes=CODES.get)
    assert state.feeds == ("nrm", "rosewood") and state.level == "ward" and state.area is None
