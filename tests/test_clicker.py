"""A presentation clicker's keys drive the meeting page (``ui.clicker``): the script's key map,
and the page carrying it (AppTest). The keys themselves are pressed in a real browser in
``tests/e2e/test_meeting_keys_e2e.py``."""
from __future__ import annotations

import json
import re

import pytest

from tests.apptest import open_page, serve_store
from tests.sample_store import build_store
from ui import clicker


def key_map(script: str) -> dict:
    return json.loads(re.search(r"const keys = (\{.*?\});", script).group(1))


def test_the_keys_of_a_clicker_and_a_keyboard():
    assert key_map(clicker.script()) == {"ArrowRight": "next", "PageDown": "next", " ": "next",
                                         "ArrowLeft": "previous", "PageUp": "previous"}


def test_the_script_never_fires_while_typing_or_off_the_meeting_page():
    script = clicker.script()
    for guard in ("input, textarea, select", "[role='combobox']", "isContentEditable",
                  "event.ctrlKey || event.altKey || event.metaKey", "button.disabled"):
        assert guard in script
    # Buttons found by the meeting page's keys only: elsewhere there are none, nothing happens.
    assert '".st-key-meeting_" + which + " button"' in script
    # One listener at a time: each run replaces the one before.
    assert "removeEventListener" in script and "__meetingKeys" in script
    assert "http" not in script  # fetches nothing


@pytest.fixture
def env(monkeypatch, tmp_path):
    store = build_store(tmp_path / "store", {"nrm": 24, "rosewood": 24, "mandevilla": 24})
    serve_store(monkeypatch, store, tmp_path)


def html_elements(node) -> list:
    found = []
    for child in getattr(node, "children", {}).values():
        if child.type == "html":
            found.append(child)
        found += html_elements(child)
    return found


def test_the_meeting_page_binds_the_keys_to_its_buttons(env):
    at = open_page("pages/meeting.py", "chair")
    assert [b.key for b in at.button] == ["meeting_previous", "meeting_next"]
    scripts = [e for e in html_elements(at.main) if "__meetingKeys" in e.proto.body]
    assert len(scripts) == 1
    assert scripts[0].proto.body == clicker.script()
    assert scripts[0].proto.unsafe_allow_javascript
    at.button(key="meeting_next").click().run()
    assert not at.exception
    assert at.query_params["step"] in (["districts"], "districts")
