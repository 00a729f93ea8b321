"""The Hotspots page's new-cluster section ("New in <month>", AppTest), on a store with a new
cluster in its last month (``tests.alert_store``); the test clock is 15 Dec 2026, so December
2025 is analysed when the whole store is chosen, and the last whole month of a chosen period
otherwise."""
from __future__ import annotations

import pytest

from tests import hotspot_fixtures
from tests.apptest import map_script, open_page, serve_copy

HOTSPOTS = "pages/hotspots.py"


built = hotspot_fixtures.alert_store


@pytest.fixture
def env(monkeypatch, built, tmp_path):
    return serve_copy(monkeypatch, built, tmp_path)


def section(at) -> tuple[list[str], str]:
    headers = [h.value for h in at.header]
    captions = "\n".join(str(c.value) for c in at.caption)
    return headers, captions


def test_the_page_lists_the_new_alert_and_draws_it(env):
    at = open_page(HOTSPOTS, "analyst")
    headers, captions = section(at)
    assert "New in December 2025" in headers
    assert headers.index("New in December 2025") < headers.index("Ranked hotspots")
    assert "1 new cluster in December 2025" in captions
    assert "Alerts are for December 2025: the last whole month of the period chosen" in captions
    table = at.table[0].value
    assert table.index.name == "Place" and table.index[0].endswith("(Leeds)")
    assert table["Months"].tolist() == ["December 2025"]
    assert table["By chance"].tolist() == ["once in more than 83 years"]
    script = map_script(at)
    assert "new in December 2025" in script and "once in more than 83 years" in script
    assert "New in December 2025 (dotted blue)" in script  # the map's own legend has the line


def test_a_chair_sees_no_count_below_k(env):
    """All feeds are chosen by default, so k is Mandevilla's 10 (the strictest)."""
    at = open_page(HOTSPOTS, "chair")
    table = at.table[0].value
    assert len(table) == 1
    for shown in table["Records"]:
        assert shown == "<10" or shown == "0" or int(shown.replace(",", "")) >= 10
    captions = section(at)[1]
    assert "1 new cluster in December 2025" in captions and "<10: fewer than 10" in captions


def test_the_alerts_follow_the_pages_period(env):
    """Issue 13 gap: a period chosen on the page (here in its link) sets the month scanned:
    its last whole month, named in the heading; December's cluster is not listed."""
    at = open_page(HOTSPOTS, "analyst", **{"from": "2025-01-01", "to": "2025-06-20"})
    headers, captions = section(at)
    assert "New in May 2025" in headers and "New in December 2025" not in headers
    assert "in May 2025" in captions and "December 2025" not in captions
    assert not any(str(place).endswith("(Leeds)")
                   for t in at.table for place in t.value.index)
    script = map_script(at)
    assert "New in December 2025" not in script


def test_a_period_without_a_whole_month_says_so(env):
    at = open_page(HOTSPOTS, "analyst", **{"from": "2025-06-03", "to": "2025-06-25"})
    headers, captions = section(at)
    assert "New clusters" in headers
    assert not any(h.startswith("New in") for h in headers)
    assert "holds no whole month" in captions
