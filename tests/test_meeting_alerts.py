"""New-hotspot alerts in meeting mode and the briefing pack, on a store with a new cluster in
December 2025 (``tests.alert_store``): listed under the hotspots, protected as for a chair."""
from __future__ import annotations

import io

import pytest
from pypdf import PdfReader

from reports.briefing import build_briefing
from safeguards.access import Principal
from tests import hotspot_fixtures
from tests.apptest import open_page, serve_copy
from views.hotspot_alerts import alert_lines
from views.meeting import MeetingState
from views.meeting_figures import meeting_data, meeting_query

store = hotspot_fixtures.alert_store


@pytest.mark.parametrize("period", ["2025-Q4", "2025-12"])
def test_the_meeting_lists_the_alerts_of_its_last_month_protected(store, period):
    data = meeting_data(meeting_query(store, Principal("ana", "analyst")), MeetingState(period))
    alerts = data.alerts
    assert alerts.month == "2025-12" and alerts.suppressed   # meeting mode: protected for all
    assert len(alerts.new) == 1
    shown = alerts.new.iloc[0]["events_display"]
    assert shown == "<10" or int(shown) >= 10
    assert alerts.new.iloc[0]["recurrence"] == "once in more than 83 years"


def test_an_earlier_period_has_no_alert_there(store):
    data = meeting_data(meeting_query(store, Principal("cha", "chair")), MeetingState("2025-Q3"))
    assert data.alerts.month == "2025-09"
    assert not any("Leeds" in p for p in data.alerts.new["place"])


def test_the_briefing_pack_lists_the_alert(store):
    pdf = build_briefing(store, Principal("cha", "chair"), "2025-12")
    text = " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
                    .split())
    assert "1 new cluster in December 2025" in text
    assert "once in more than 83 years" in text


def test_the_meeting_page_lists_the_alert_in_the_hotspots_step(store, monkeypatch, tmp_path):
    serve_copy(monkeypatch, store, tmp_path)
    at = open_page("pages/meeting.py", "chair", period="2025-12", step="hotspots")
    markdown = "\n".join(str(m.value) for m in at.markdown)
    assert "1 new cluster in December 2025" in markdown
    data = meeting_data(meeting_query(store, Principal("cha", "chair")), MeetingState("2025-12"))
    place = alert_lines(data.alerts)[0].split(":")[0]
    assert place.split(" (")[0].split(" ")[0] in markdown
    assert "once in more than 83 years" in markdown


def test_an_executive_meeting_has_no_alerts(store):
    """The Deputy Mayor's office sees districts only: no hotspots, so no alerts either."""
    data = meeting_data(meeting_query(store, Principal("exe", "executive")),
                        MeetingState("2025-12"))
    assert data.hotspots is None and data.alerts is None
