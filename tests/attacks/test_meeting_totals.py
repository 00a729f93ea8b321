"""Issue 12, section 2: the meeting's district totals and rates show figures, not "hidden".

Target, on the 5-year demo store: every district total and rate per 100,000, in meeting mode and
in the briefing pack, shows a figure for every whole quarter of the last two years, while each
feed's small counts stay "<k" and the totals reveal nothing (they are sums of published atoms:
``test_differencing``).
"""
from __future__ import annotations

import re

import pandas as pd
import pytest

from reports.briefing import build_briefing
from safeguards.access import Principal
from safeguards.disclosure import PERTURBED, TOTAL
from tests.test_briefing import district_cells, pages_of
from views.meeting import MeetingState
from views.meeting_figures import meeting_data, meeting_query

NUMBER = re.compile(r"^\d{1,3}(,\d{3})*(\.\d)?$")


@pytest.fixture(scope="module")
def quarters(span) -> list[str]:
    last = (span[1] + 1).asfreq("Q") - 1
    return [f"{q.year}-Q{q.quarter}" for q in pd.period_range(last - 7, last, freq="Q")]


def test_every_district_total_and_rate_shows_a_figure_in_every_quarter(demo, quarters):
    small = 0
    for key in quarters:
        data = meeting_data(meeting_query(demo, Principal("e", "executive")), MeetingState(key))
        table = data.districts
        for column in (TOTAL, "Per 100,000"):
            shown = table[column]
            assert shown.map(lambda v: bool(NUMBER.match(v))).all(), (key, column, shown)
        small += int(table.drop(columns=[TOTAL, "Per 100,000"]).apply(
            lambda c: c.str.startswith("<")).to_numpy().sum())
        assert PERTURBED in data.note
    assert small > 0, "some feed counts are small: the totals are shown despite them"


def test_the_chairs_meeting_and_briefing_pack_show_the_same_totals(demo, quarters):
    chair = Principal("c", "chair")
    key = quarters[-1]
    data = meeting_data(meeting_query(demo, chair), MeetingState(key))
    executive = meeting_data(meeting_query(demo, Principal("e", "executive")),
                             MeetingState(key))
    pd.testing.assert_frame_equal(data.districts, executive.districts)
    cells = district_cells("\n".join(pages_of(build_briefing(demo, chair, key))))
    for name in data.districts.index:
        for column in (TOTAL, "Per 100,000"):
            assert cells[(name, column)] == data.districts.loc[name, column]
            assert NUMBER.match(cells[(name, column)])
