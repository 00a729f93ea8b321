"""The dashboard served from the PostGIS store: ``STORE_URL=postgresql://...``, in a real browser.

The same sample data as the harness's store (``E2E_ROWS``), ingested into a fresh database of the
throwaway cluster (tests/pg_fixtures.py); the landing page and the map explorer must show the
same counts as on the embedded store, with no error and no foreign request.
"""
from __future__ import annotations

import uuid

import pytest

from data.ingest import ingest_frame
from storage.open import open_store
from tests.e2e.conftest import E2E_ROWS, serve_dashboard
from tests.e2e.test_explore_e2e import headline, open_explore
from tests.pg_fixtures import TEMPLATE
from tests.sample_store import feed_rows
from views.overview import FEED_SHORT_TITLES

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def postgis_url(pg_cluster, tmp_path_factory) -> str:
    name = f"wy_e2e_{uuid.uuid4().hex[:8]}"
    url = pg_cluster.create_database(name, template=TEMPLATE)
    store = open_store(url)
    for feed, n in E2E_ROWS.items():
        ingest_frame(feed_rows(feed, n), feed, name=f"sample-{feed}.csv", store=store,
                     source="synthetic")
    with serve_dashboard(tmp_path_factory.mktemp("postgis_e2e"),
                         env={"STORE_URL": url}) as server:
        yield server.url
    from storage.postgis import dispose_engines

    dispose_engines()
    pg_cluster.drop_database(name)


def test_home_page_on_postgis_shows_the_counts(browse, postgis_url):
    dashboard = browse(postgis_url)
    dashboard.open("/")
    page = dashboard.page
    assert page.get_by_role("heading", name="West Yorkshire exploitation dashboard").is_visible()
    assert page.locator('[data-testid="stAlert"]').filter(has_text="SYNTHETIC DATA").is_visible()
    for feed, title in FEED_SHORT_TITLES.items():
        tile = page.locator('[data-testid="stMetric"]').filter(has_text=title)
        assert tile.locator('[data-testid="stMetricValue"]').inner_text() == str(E2E_ROWS[feed])
    table = page.locator('[data-testid="stDataFrame"]')
    table.wait_for(state="visible")
    assert table.bounding_box()["height"] > 200
    dashboard.screenshot("postgis-home")
    dashboard.assert_clean()


def test_explorer_on_postgis_draws_the_map_with_the_counts(browse, postgis_url):
    dashboard = browse(postgis_url)
    open_explore(dashboard)
    numbers = headline(dashboard.page)
    assert numbers["NRM referrals"] == str(E2E_ROWS["nrm"]), numbers
    dashboard.screenshot("postgis-explore")
    dashboard.assert_clean()
