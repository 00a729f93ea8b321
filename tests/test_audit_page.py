"""The admin's Audit log page (``pages/audit_log.py``) through AppTest: its filters (who,
action, dates, how many) choose the rows shown, newest first, and the chain state is shown."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from safeguards.audit import AuditEvent, read_audit, record
from tests.apptest import run, serve_store
from tests.sample_store import build_store
from views.audit_log import COLUMNS, audit_table, entry_in_full, table_height

ROOT = Path(__file__).resolve().parent.parent
DASHBOARD = str(ROOT / "dashboard.py")
AUDIT_PAGE = str(ROOT / "pages/audit_log.py")


def at_day(day: int, month: int) -> dt.datetime:
    return dt.datetime(2025, month, day, 9, 0, tzinfo=dt.UTC)


# (actor, action, detail, created): recorded in this order, before the page opens.
EVENTS = [
    ("ana", "sign-in", "local", at_day(1, 1)),
    ("chris", "sign-in", "local", at_day(2, 1)),
    ("ana", "export", "csv: ward table", at_day(1, 2)),
    ("Ana", "sign-in-failed", "local: wrong-password", at_day(1, 3)),
    ("ana", "sign-in", "local", at_day(2, 3)),
]


@pytest.fixture
def store(monkeypatch, tmp_path):
    store = build_store(tmp_path / "store", {"nrm": 3})
    for actor, action, detail, created in EVENTS:
        record(store, AuditEvent(action=action, actor=actor, role="analyst", detail=detail,
                                 created=created))
    return serve_store(monkeypatch, store, tmp_path)


def audit_page() -> AppTest:
    at = AppTest.from_file(DASHBOARD, default_timeout=60)
    at.secrets["test"] = "no sign-in secrets"
    at.session_state["auth_demo_role"] = "admin"
    run(at)
    return run(at.switch_page(AUDIT_PAGE))


def shown(at: AppTest) -> list[tuple[str, str, str]]:
    table = at.dataframe[0].value
    return list(zip(table["Who"], table["Action"], table["Details"].replace("—", "")))


def caption_count(at: AppTest) -> str:
    return next(c.value for c in at.caption if c.value.endswith("entries shown."))


def test_unfiltered_page_shows_every_entry_newest_first(store):
    at = audit_page()
    assert at.title[0].value == "Audit log"
    assert "Chain intact" in at.success[0].value
    rows = shown(at)
    # Newest first: the demo admin's page views (this page, then Overview), the events above,
    # and the ingestion that built the store.
    assert rows[:2] == [("demo", "page-view", ""), ("demo", "page-view", "")]
    assert rows[2:-1] == [(a, x, d) for a, x, d, _ in reversed(EVENTS)]
    assert rows[-1][1] == "ingest"
    assert list(at.dataframe[0].value["Page"][:2]) == ["audit_log", "overview"]
    assert caption_count(at) == f"{len(EVENTS) + 3} entries shown."


def test_actor_filter_matches_the_whole_name_ignoring_case(store):
    at = audit_page()
    run(at.text_input(key="audit_actor").input("ANA"))
    assert shown(at) == [("ana", "sign-in", "local"), ("Ana", "sign-in-failed",
                                                        "local: wrong-password"),
                         ("ana", "export", "csv: ward table"), ("ana", "sign-in", "local")]
    run(at.text_input(key="audit_actor").input("an"))  # not a substring search
    assert at.dataframe[0].value.empty
    assert list(at.dataframe[0].value.columns) == list(COLUMNS)
    assert caption_count(at) == "0 entries shown."


def test_action_filter_and_both_filters_together(store):
    at = audit_page()
    run(at.selectbox(key="audit_action").set_value("sign-in"))
    assert shown(at) == [("ana", "sign-in", "local"), ("chris", "sign-in", "local"),
                         ("ana", "sign-in", "local")]
    run(at.text_input(key="audit_actor").input("chris"))
    assert shown(at) == [("chris", "sign-in", "local")]
    run(at.selectbox(key="audit_action").set_value("All actions"))
    assert shown(at) == [("chris", "sign-in", "local")]


def test_date_filters_include_the_last_day_and_limit_keeps_the_newest(store):
    at = audit_page()
    at.date_input(key="audit_since").set_value(dt.date(2025, 1, 2))
    run(at.date_input(key="audit_until").set_value(dt.date(2025, 3, 1)))
    assert shown(at) == [("Ana", "sign-in-failed", "local: wrong-password"),
                         ("ana", "export", "csv: ward table"), ("chris", "sign-in", "local")]
    run(at.number_input(key="audit_limit").set_value(2))
    assert shown(at) == [("Ana", "sign-in-failed", "local: wrong-password"),
                         ("ana", "export", "csv: ward table")]


# -- for people: no raw None, {} or ISO dates ----------------------------------------------------
def test_entries_read_for_people(store):
    record(store, AuditEvent(action="export", actor="chris", role="chair", page="explore",
                             records=1234, detail="csv: ward table",
                             filters={"feeds": ["nrm"], "districts": ["E08000035"],
                                      "start": "2025-01-01", "end": "2025-03-31",
                                      "age_groups": [], "rosewood_status": None},
                             created=dt.datetime(2025, 4, 2, 8, 5, 9, tzinfo=dt.UTC)))
    at = audit_page()
    table = at.dataframe[0].value
    row = table[table["Who"] == "chris"].iloc[0]
    assert row["When (UTC)"] == "2 Apr 2025 08:05:09"
    assert row["Role"] == "Partnership chair" and row["Records"] == "1,234"
    assert row["Filters"] == "feed: NRM · from: 1 Jan 2025 · to: 31 Mar 2025 · district: Leeds"
    page_view = table[table["Action"] == "page-view"].iloc[0]
    assert (page_view["Records"], page_view["Details"], page_view["Filters"]) == ("—",) * 3
    assert page_view["Role"] == "Administrator"
    shown_text = table.to_string()
    for raw in ("None", "{}", "nan", "<NA>", "NaT", "2025-04-02", "2025/04/02"):
        assert raw not in shown_text, raw
    # The date pickers show the app's day-first format, not yyyy/mm/dd.
    assert at.date_input(key="audit_since").proto.format == "DD/MM/YYYY"
    assert at.date_input(key="audit_until").proto.format == "DD/MM/YYYY"


def test_audit_table_blank_and_odd_values(store):
    entries = read_audit(store, limit=1)
    entries.loc[0, ["role", "page", "detail"]] = [None, "", None]
    entries.loc[0, "filters"] = '{"feed": "rosewood", "file": "x.csv", "rosewood_status": ' \
                                '"missing", "period": "2026-Q3", "wards": ["E05001", "E05002"]}'
    row = audit_table(entries).iloc[0]
    assert (row["Role"], row["Page"], row["Details"]) == ("—", "—", "—")
    assert row["Filters"] == ("feed: Rosewood · period: Q3 2026 (Jul–Sep) · "
                              "wards: E05001, E05002 · file: x.csv · Rosewood: still missing")


def test_the_selected_entry_is_shown_in_full_and_escaped(store):
    long_name = "[someone](http://example.org) " + "x" * 300
    record(store, AuditEvent(action="sign-in-failed", actor=long_name, role=None,
                             detail="local: unknown-user " + "y" * 400,
                             created=dt.datetime(2025, 4, 3, 8, 0, tzinfo=dt.UTC)))
    table = audit_table(read_audit(store))
    assert entry_in_full(table, []) is None and entry_in_full(table, [len(table)]) is None
    row = table.index[table["Action"] == "sign-in-failed"][0]
    full = entry_in_full(table, [int(row)])
    assert [f.replace("\\", "") for f in full["Field"]] == list(COLUMNS)
    assert full["Field"].iloc[-1] == "\\#"                  # not a Markdown heading
    values = dict(zip(list(COLUMNS), full["Value"]))
    stored = read_audit(store, action="sign-in-failed").iloc[0]
    assert len(stored["detail"]) == 200             # as long as the log keeps; wider than any column
    assert values["Details"].replace("\\", "") == stored["detail"]  # whole, as recorded
    assert "x" * 60 in values["Who"] and "](http" not in values["Who"]  # Markdown escaped
    assert values["Role"] == "—"


def test_the_grid_shows_up_to_sixteen_rows_before_it_scrolls():
    assert table_height(0) == table_height(1) == 35 * 2 + 3
    assert table_height(5) == 35 * 6 + 3
    assert table_height(16) == table_height(200) == 35 * 17 + 3


def test_the_chain_check_says_when_it_ran_and_checks_again_on_demand(store):
    """The check walks every entry, so it runs at most every 30 s (``ui.admin_loaders``); the
    page says when it ran, and "Check the chain now" runs it at once."""
    at = audit_page()
    assert "Chain intact" in at.success[0].value and " UTC." in at.success[0].value
    log = Path(store.root) / "_audit" / "audit.jsonl"
    lines = log.read_text(encoding="ascii").splitlines()
    assert '"actor":"chris"' in lines[2]
    lines[2] = lines[2].replace('"actor":"chris"', '"actor":"chrissy"')   # edited by hand
    log.write_text("\n".join(lines) + "\n", encoding="ascii")
    at = run(at)
    assert "Chain intact" in at.success[0].value          # the check of a moment ago
    assert ("chrissy", "sign-in", "local") in shown(at)   # the entries are read again
    at = run(at.button(key="audit_check_now").click())
    assert not at.success
    assert "Chain broken" in at.error[0].value and "was edited" in at.error[0].value
