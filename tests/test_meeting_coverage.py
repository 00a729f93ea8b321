"""What the hotspots cover, said on the meeting's hotspot step and in the briefing pack in the
Hotspots page's words (issue 13 item 2: a bounded list a partnership can task).

The sentence is ``views.hotspot_notes.coverage_note`` of the very fit the Hotspots page makes
for the meeting's dates (``views.meeting_figures.hotspot_filter``), for every role that sees
the hotspots there; an executive sees none. The area limit is narrowed here by wrapping
``views.hotspots.fit_hotspots`` (the meeting fits with the model's default limit, 3%).
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import io

import pytest
import streamlit as st
from pypdf import PdfReader

import views.hotspots
from core.schema import FEEDS
from data.synthetic import build_store as build_synthetic
from reports.briefing import build_briefing
from safeguards.access import Principal, RoleScopedQuery
from storage.parquet import ParquetStore
from tests.apptest import open_page, serve_store
from views import meeting_figures
from views.hotspot_notes import COVERAGE_HELP, coverage_note
from views.meeting import MeetingState, Period
from views.meeting_figures import hotspot_filter, meeting_data, meeting_query
from views.meeting_steps import coverage_text, markdown_text, no_hotspot_text
from views.readable import percent_text

PERIOD = "2026-Q3"
WINDOW = "24 months to Sep 2026"
NOW = dt.datetime(2026, 11, 25, 9, 30, tzinfo=dt.timezone.utc)
#: The fit itself, before any test wraps it (:func:`limit_area`).
FIT_HOTSPOTS = views.hotspots.fit_hotspots


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory) -> ParquetStore:
    """Two years of synthetic data to 30 Sep 2026 (six hotspots over the meeting's window)."""
    root = tmp_path_factory.mktemp("meeting_coverage") / "store"
    build_synthetic(root, years=2, seed=3, end="2026-09-30")
    return ParquetStore(root)


def page_view(store, role: str, **model_params):
    """The Hotspots page's view for the meeting's dates (a chair's filters are whole months
    already)."""
    return FIT_HOTSPOTS(RoleScopedQuery(store, Principal("t", role)), list(FEEDS),
                        hotspot_filter(Period(PERIOD)), **model_params)


def the_meeting(store, role: str = "chair"):
    return meeting_data(meeting_query(store, Principal("t", role)), MeetingState(PERIOD))


def limit_area(monkeypatch, max_area: float) -> None:
    """Every fit from now on keeps its hotspots within ``max_area`` of West Yorkshire."""
    monkeypatch.setattr(views.hotspots, "fit_hotspots",
                        lambda query, feeds, filters=None, **kw:
                        FIT_HOTSPOTS(query, feeds, filters, **{**kw, "max_area": max_area}))


def a_limit_leaving_out_the_largest(store) -> float:
    """Room for the two smallest of the unbounded hotspots, not for the largest."""
    unbounded = page_view(store, "analyst", max_area=None)
    shares = sorted(unbounded.hotspots["area_km2"] / unbounded.hotspots["area_km2"].sum()
                    * unbounded.area_share)
    return shares[0] + shares[1] + 1e-6


def flat(text: str) -> str:
    return " ".join(text.split())


def pack_text(pdf: bytes) -> str:
    return flat(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages))


# -- the view model -------------------------------------------------------------------------
@pytest.mark.parametrize("role", ["chair", "analyst"])
def test_the_meeting_says_what_the_hotspots_cover_in_the_hotspots_pages_words(synthetic, role):
    data = the_meeting(synthetic, role)
    page = page_view(synthetic, role)
    assert data.hotspot_count == len(page.hotspots) == len(data.hotspots) > 1
    assert coverage_text(data) == data.hotspot_coverage == coverage_note(page) == (
        f"The {len(page.hotspots)} hotspots cover {percent_text(page.area_share)} of West "
        "Yorkshire, within the list's limit of 3%.")
    assert 0 < page.area_share <= 0.03
    assert data.hotspot_coverage_help == COVERAGE_HELP


def test_an_executive_is_told_nothing_of_the_hotspots(synthetic):
    data = the_meeting(synthetic, "executive")
    assert data.hotspots is None and data.hotspot_count == 0
    assert data.hotspot_coverage == data.hotspot_coverage_help == coverage_text(data) == ""


def test_places_the_limit_left_out_are_said_and_the_table_says_what_it_lists(synthetic,
                                                                           monkeypatch):
    max_area = a_limit_leaving_out_the_largest(synthetic)
    page = page_view(synthetic, "chair", max_area=max_area)
    assert page.left_out >= 1 and len(page.hotspots) >= 2
    limit_area(monkeypatch, max_area)
    data = the_meeting(synthetic)
    places = "place was" if page.left_out == 1 else "places were"
    assert coverage_text(data) == coverage_note(page) and coverage_text(data).endswith(
        f"; {page.left_out} more significant {places} left out to stay within it.")
    # The meeting lists the strongest TOP_HOTSPOTS; the sentence is of all that were found.
    monkeypatch.setattr(meeting_figures, "TOP_HOTSPOTS", 1)
    data = the_meeting(synthetic)
    assert len(data.hotspots) == 1 and data.hotspot_count == len(page.hotspots)
    assert coverage_text(data) == coverage_note(page) + " The table lists the strongest 1."


def test_when_no_hotspot_fits_the_meeting_says_so_instead_of_none_found(synthetic,
                                                                       monkeypatch):
    found = len(page_view(synthetic, "chair").hotspots)
    limit_area(monkeypatch, 1e-7)
    data = the_meeting(synthetic)
    assert data.hotspots.empty and data.hotspot_count == 0
    assert coverage_text(data) == ""          # no table to go under
    assert no_hotspot_text(data) == (
        f"Over the {WINDOW}, no hotspot fits within the list's limit of under 0.1% of West "
        f"Yorkshire: {found} significant places were found, each larger than that.")
    nothing = dataclasses.replace(data, hotspot_coverage="", hotspot_coverage_help="")
    assert no_hotspot_text(nothing) == f"No hotspot was found over the {WINDOW}."


# -- the meeting page -----------------------------------------------------------------------
@pytest.fixture
def env(monkeypatch, synthetic, tmp_path):
    st.cache_data.clear()   # the meeting's figures are cached per store content, not per fit
    yield serve_store(monkeypatch, synthetic, tmp_path)
    st.cache_data.clear()


def test_the_meetings_hotspot_step_shows_the_sentence_first_with_its_help(env):
    at = open_page("pages/meeting.py", "chair", period=PERIOD, step="hotspots")
    expected = coverage_text(the_meeting(env))
    assert expected.startswith("The ")
    # Escaped for Markdown, it reads as it is; it comes first after the step's title.
    step = next(i for i, m in enumerate(at.markdown) if "meeting-step" in str(m.value))
    shown = at.markdown[step + 1]
    assert shown.value == markdown_text(expected)
    assert shown.value.replace("\\", "") == expected and shown.help == COVERAGE_HELP
    assert at.table[0].value.index.name == "Rank"


def test_the_meeting_page_says_when_no_hotspot_fits(env, monkeypatch):
    limit_area(monkeypatch, 1e-7)
    at = open_page("pages/meeting.py", "chair", period=PERIOD, step="hotspots")
    assert [i.value for i in at.info] == [no_hotspot_text(the_meeting(env))]
    assert at.info[0].value.startswith(f"Over the {WINDOW}, no hotspot fits within")
    assert not at.table


# -- the briefing pack ----------------------------------------------------------------------
def test_the_pack_says_what_the_hotspots_cover_and_why_there_is_a_limit(synthetic):
    text = pack_text(build_briefing(synthetic, Principal("t", "chair"), PERIOD, now=NOW))
    sentence = coverage_text(the_meeting(synthetic))
    assert text.count(sentence) == 1 and flat(COVERAGE_HELP) in text
    # Under its heading, before the map's caption and the table.
    assert text.index("Hotspots: West Yorkshire") < text.index(sentence) < text.index(
        "numbered by rank")


def test_an_executives_pack_says_nothing_of_the_hotspots(synthetic):
    text = pack_text(build_briefing(synthetic, Principal("e", "executive"), PERIOD, now=NOW))
    assert "of West Yorkshire, within the list's limit" not in text
    assert "The list is limited" not in text and "no hotspot fits" not in text.lower()


def test_the_pack_says_what_the_limit_left_out_and_when_none_fits(synthetic, monkeypatch):
    max_area = a_limit_leaving_out_the_largest(synthetic)
    limit_area(monkeypatch, max_area)
    text = pack_text(build_briefing(synthetic, Principal("t", "chair"), PERIOD, now=NOW))
    sentence = coverage_note(page_view(synthetic, "chair", max_area=max_area))
    assert "left out to stay within it" in sentence and sentence in text
    limit_area(monkeypatch, 1e-7)
    text = pack_text(build_briefing(synthetic, Principal("t", "chair"), PERIOD, now=NOW))
    assert no_hotspot_text(the_meeting(synthetic)) in text
    assert "No hotspot was found" not in text
