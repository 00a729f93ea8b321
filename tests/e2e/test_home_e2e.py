"""The landing page in a real browser: it renders, says the data are synthetic, shows the counts."""
import pytest

from tests.e2e.conftest import E2E_ROWS
from views.overview import FEED_SHORT_TITLES

pytestmark = pytest.mark.e2e


def test_home_page_shows_banner_and_counts_without_errors_or_foreign_requests(dashboard):
    dashboard.open("/")
    page = dashboard.page

    assert page.get_by_role("heading", name="West Yorkshire exploitation dashboard").is_visible()
    banner = page.locator('[data-testid="stAlert"]').filter(has_text="SYNTHETIC DATA")
    assert banner.is_visible()
    assert "not real cases" in banner.inner_text()
    assert page.get_by_role("heading", name="Period: 2 Jan 2023").is_visible()
    for feed, title in FEED_SHORT_TITLES.items():
        tile = page.locator('[data-testid="stMetric"]').filter(has_text=title)
        assert tile.is_visible(), title
        assert tile.locator('[data-testid="stMetricValue"]').inner_text() == str(E2E_ROWS[feed])
    table = page.locator('[data-testid="stDataFrame"]')
    table.wait_for(state="visible")
    assert table.bounding_box()["height"] > 200  # the district table has drawn its rows
    assert page.get_by_text("Contains OS data © Crown copyright").is_visible()

    dashboard.screenshot("home")
    dashboard.assert_clean()
