"""The Hotspots page's "New this month" section (AppTest), on a store with a new cluster in its
last month (``tests.alert_store``); the test clock is 15 Dec 2026, so December 2025 is analysed."""
from __future__ import annotations

import json

import pytest

from tests.alert_store import alert_store
from tests.apptest import open_page, serve_copy

HOTSPOTS = "pages/hotspots.py"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return alert_store(tmp_path_factory.mktemp("alerts_page") / "store")


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
    assert "New this month" in headers
    assert headers.index("New this month") < headers.index("Ranked hotspots")
    assert "1 new cluster in December 2025" in captions
    table = at.table[0].value
    assert table.index.name == "Place" and table.index[0].endswith("(Leeds)")
    assert table["Months"].tolist() == ["December 2025"]
    assert table["By chance"].tolist() == ["once in more than 83 years"]
    component = at.main.get("component_instance")[0]
    script = json.loads(component.proto.json_args)["script"]
    assert "new this month" in script and "once in more than 83 years" in script
    assert "New this month (dotted blue)" in script  # the map's own legend has the line


def test_a_chair_sees_no_count_below_k(env):
    """All feeds are chosen by default, so k is Mandevilla's 10 (the strictest)."""
    at = open_page(HOTSPOTS, "chair")
    table = at.table[0].value
    assert len(table) == 1
    for shown in table["Records"]:
        assert shown == "<10" or shown == "0" or int(shown.replace(",", "")) >= 10
    captions = section(at)[1]
    assert "1 new cluster in December 2025" in captions and "<10: fewer than 10" in captions
