"""The Hotspots page's new-cluster section ("New in <month>") in a real browser, on a store with a new cluster
in its last month (``tests.alert_store``). The server runs at the real clock, so the month
analysed is the last whole month of the data (December 2025), the page's default period."""
from __future__ import annotations

import pytest

from tests.alert_store import alert_store
from tests.e2e.conftest import serve_dashboard
from tests.e2e.test_hotspots_e2e import FIT_TIMEOUT_MS, open_hotspots

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def alerts_url(tmp_path_factory):
    store = alert_store(tmp_path_factory.mktemp("alerts_e2e") / "store")
    with serve_dashboard(tmp_path_factory.mktemp("alerts_server"),
                         env={"STORE_URL": str(store.root)}) as server:
        yield server.url


def test_the_new_alert_is_listed_and_drawn(browse, alerts_url):
    dashboard = browse(alerts_url)
    page = dashboard.page
    frame = open_hotspots(dashboard)
    page.get_by_role("heading", name="New in December 2025").wait_for(timeout=FIT_TIMEOUT_MS)
    table = page.locator('[data-testid="stTable"]').first
    text = table.inner_text()
    assert "December 2025" in text and "once in more than 83 years" in text
    assert "(Leeds)" in text
    # The alert's polygon: dotted blue outline (STYLE in maps.alert_layer).
    frame.locator('path[stroke="#08519c"]').first.wait_for(state="attached", timeout=30_000)
    table.scroll_into_view_if_needed()
    dashboard.screenshot("hotspot-alerts")


def test_the_meeting_lists_the_alert_under_its_hotspots(browse, alerts_url):
    from tests.e2e.test_meeting_e2e import take_probes, wait_for_step

    dashboard = browse(alerts_url)
    dashboard.open("/meeting?period=2025-12&step=hotspots")
    take_probes(dashboard)
    wait_for_step(dashboard, "3. Hotspots")
    page = dashboard.page
    page.get_by_text("1 new cluster in December 2025").wait_for(timeout=FIT_TIMEOUT_MS)
    assert "once in more than 83 years" in page.locator('[data-testid="stMain"]').inner_text()
    dashboard.screenshot("meeting-hotspot-alerts")
    dashboard.assert_clean()
