"""The administrator's Data lifecycle page (``pages/data_lifecycle.py``) through AppTest: batches,
retention and past withdrawals shown; a withdrawal needs the batch id typed, and is audited; no
other role opens the page. And the Overview says when the oldest data will be purged."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from safeguards.audit import read_audit
from tests.apptest import run, serve_store
from tests.sample_store import build_store

ROOT = Path(__file__).resolve().parent.parent
DASHBOARD = str(ROOT / "dashboard.py")
PAGE = str(ROOT / "pages/data_lifecycle.py")
HOME = str(ROOT / "pages/home.py")


@pytest.fixture
def store(monkeypatch, tmp_path):
    store = build_store(tmp_path / "store", {"nrm": 12, "mandevilla": 6})
    monkeypatch.setenv("RETENTION_YEARS_NRM", "5")
    return serve_store(monkeypatch, store, tmp_path)


def open_as(role: str, page: str = PAGE) -> AppTest:
    at = AppTest.from_file(DASHBOARD, default_timeout=90)
    at.secrets["test"] = "no sign-in secrets"
    at.session_state["auth_demo_role"] = role
    run(at)
    return run(at.switch_page(page))


def test_the_page_lists_batches_retention_and_withdraws_only_when_confirmed(store):
    at = open_as("admin")
    batches = at.dataframe[1].value
    assert batches["File"].tolist() == ["sample-mandevilla.csv", "sample-nrm.csv"]
    retention = at.dataframe[0].value.set_index("Kept (years)")
    # nrm from Mon 2 Jan 2023, kept 5 years: its oldest record is purged on 2 Jan 2028
    assert retention.loc[5, "Oldest data purged on"] == "2028-01-02"
    nrm = next(b for b in store.batches() if b["feed"] == "nrm")
    at.selectbox(key="lifecycle_batch").set_value(nrm["id"])
    at.text_input(key="lifecycle_reason").input("wrong month sent")
    at.text_input(key="lifecycle_confirm").input("not the id")
    run(at.button[0].click())
    assert any("type the batch id exactly" in e.value for e in at.error)
    assert len(store.query("nrm")) == 12
    at.text_input(key="lifecycle_confirm").input(nrm["id"])
    run(at.button[0].click())
    assert any("12 records removed" in s.value for s in at.success)
    assert store.query("nrm").empty and len(store.batches()) == 1
    (done,) = read_audit(store, action="withdraw").itertuples()  # the unconfirmed try did nothing
    assert (done.actor, done.role, done.records) == ("demo", "admin", 12)
    assert nrm["id"] in done.filters and "wrong month sent" in done.filters
    shown = at.dataframe[-1].value
    assert shown["Records"].tolist()[:1] == [12] and "wrong month sent" in shown["Reason"].tolist()


@pytest.mark.parametrize("role", ["analyst", "chair", "executive"])
def test_no_other_role_opens_the_page_or_reads_its_view(store, role):
    from core.errors import AccessDenied
    from safeguards.access import Principal
    from ui import registry
    from views.lifecycle import lifecycle_view

    assert "data_lifecycle" not in registry.ROLE_PAGES[role]
    with pytest.raises(AccessDenied, match="may not open the Data lifecycle page"):
        registry.check_page_access(role, "data_lifecycle")
    with pytest.raises(AccessDenied):
        lifecycle_view(store, Principal("someone", role))
    at = AppTest.from_file(DASHBOARD, default_timeout=90)
    at.secrets["test"] = "no sign-in secrets"
    at.session_state["auth_demo_role"] = role
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        run(at).switch_page(PAGE)


def test_the_overview_says_when_the_oldest_data_will_be_purged(store):
    at = open_as("analyst", HOME)
    assert any("due for purge on 2 Jan 2028" in c.value for c in at.caption)


def test_the_page_shows_an_action_recorded_elsewhere_at_its_next_run(store):
    """Its tables are cached (``ui.admin_loaders``): the store's by content, the past actions
    by the audit log's head, so a purge recorded by another process shows at the next run."""
    from safeguards.audit import AuditEvent, record

    at = open_as("admin")
    assert "None yet." in [c.value for c in at.caption]
    record(store, AuditEvent(action="purge", actor="ops", role="admin", records=0,
                             detail="nothing due", filters={"reason": "monthly run"}))
    at = run(at)
    actions = at.dataframe[-1].value
    assert actions["What"].tolist() == ["retention purge"]
    assert actions["Reason"].tolist() == ["monthly run"]
