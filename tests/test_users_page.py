"""The admin's Users page (``pages/users.py``) through AppTest: add, set role, unlock and remove
an account in the app, each audited; removing and changing a role ask first; the page never
shows a path on the server or a password hash."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core import clock
from safeguards.audit import read_audit
from safeguards.auth import LocalSession, LockoutPolicy
from tests.apptest import run
from tests.sample_store import build_store
from tests.signin_helpers import write_users

ROOT = Path(__file__).resolve().parent.parent
DASHBOARD = str(ROOT / "dashboard.py")
USERS_PAGE = str(ROOT / "pages/users.py")
NEW_PASSWORD = "four unrelated words here"


@pytest.fixture
def users(monkeypatch, tmp_path):
    store = build_store(tmp_path / "store", {"nrm": 3})
    path = tmp_path / "secret-instance-dir" / "users.json"
    users = write_users(path, {"ada": "admin", "ana": "analyst", "eve": "executive"},
                        policy=LockoutPolicy(attempts=2, lock_s=600))
    monkeypatch.setenv("STORE_URL", str(store.root))
    monkeypatch.setenv("USERS_FILE", str(path))
    monkeypatch.setenv("ROLES_FILE", str(tmp_path / "roles.yaml"))
    monkeypatch.setenv("LOCKOUT_ATTEMPTS", "2")
    return users


def users_page(user: str = "ada") -> AppTest:
    at = AppTest.from_file(DASHBOARD, default_timeout=60)
    at.secrets["test"] = "no sign-in secrets"
    now = clock.timestamp()
    at.session_state["auth_local"] = LocalSession(user, now, now)
    run(at)
    return run(at.switch_page(USERS_PAGE))


def page_text(at: AppTest) -> str:
    parts = [str(e.value) for kind in ("title", "caption", "markdown", "success", "error",
                                       "warning", "info", "header") for e in getattr(at, kind)]
    parts += [at.dataframe[i].value.to_string() for i in range(len(at.dataframe))]
    parts += [str(e.proto) for e in at.main.get("text_input")]
    return "\n".join(parts)


def changes() -> list[tuple]:
    frame = read_audit(os.environ["STORE_URL"], action="user-change")
    return list(zip(frame["actor"], frame["role"], frame["page"], frame["detail"]))[::-1]


def table(at: AppTest) -> list[tuple]:
    frame = at.dataframe[0].value
    return list(zip(frame["User"], frame["Role"], frame["State"]))


def test_lists_accounts_without_a_path_a_hash_or_a_terminal(users):
    at = users_page()
    assert at.title[0].value == "Users"
    assert table(at) == [("ada", "Administrator", "Active"), ("ana", "Analyst", "Active"),
                         ("eve", "Deputy Mayor's office", "Active")]
    text = page_text(at)
    assert "secret-instance-dir" not in text and "users.json" not in text
    assert "argon2" not in text and "python -m" not in text and not at.code


def test_add_an_account_with_the_password_twice(users):
    at = users_page()
    at.text_input(key="users_add_name").input("Bob")
    at.selectbox(key="users_add_role").set_value("chair")
    at.text_input(key="users_add_password").input(NEW_PASSWORD)
    at.text_input(key="users_add_again").input(NEW_PASSWORD + " typo")
    run(at.button(key="FormSubmitter:users_add-Add account").click())
    assert at.error[0].value == "The two passwords differ; nothing was changed."
    assert users.get("bob") is None
    assert at.text_input(key="users_add_password").value == ""   # never kept
    assert at.text_input(key="users_add_name").value == "Bob"    # kept to correct

    at.text_input(key="users_add_password").input(NEW_PASSWORD)
    at.text_input(key="users_add_again").input(NEW_PASSWORD)
    run(at.button(key="FormSubmitter:users_add-Add account").click())
    assert at.success[0].value == "Account `bob` added as Partnership chair. They can sign in now."
    assert ("bob", "Partnership chair", "Active") in table(at)
    assert users.authenticate("bob", NEW_PASSWORD).role == "chair"
    assert changes() == [("ada", "admin", "users", "added bob as chair")]
    assert NEW_PASSWORD not in read_audit(os.environ["STORE_URL"]).to_string()


def test_set_role_asks_first_and_cancel_changes_nothing(users):
    at = users_page()
    # The new role starts from the account's own role, for each account chosen.
    assert at.selectbox(key="users_new_role:ada").value == "admin"
    run(at.selectbox(key="users_account").set_value("ana"))
    assert at.selectbox(key="users_new_role:ana").value == "analyst"
    at.selectbox(key="users_new_role:ana").set_value("chair")
    run(at.button(key="users_set_role").click())
    assert "Change the role of `ana` from Analyst to **Partnership chair**?" in \
        at.warning[0].value
    assert users.get("ana").role == "analyst"
    run(at.button(key="users_cancel").click())
    assert not at.warning and users.get("ana").role == "analyst" and changes() == []

    run(at.button(key="users_set_role").click())
    run(at.button(key="users_confirm").click())
    assert at.success[0].value == "`ana` is now Partnership chair, from their next click."
    assert users.get("ana").role == "chair"
    assert changes() == [("ada", "admin", "users", "role of ana changed from analyst to chair")]


def test_unlock_a_locked_account(users):
    for _ in range(2):
        users.authenticate("eve", "not the password at all")
    at = users_page()
    assert ("eve", "Deputy Mayor's office", "Locked until 15 Dec 2026 10:10:00 UTC") in table(at)
    assert at.button(key="users_unlock").disabled  # ada, the first account, is not locked
    run(at.selectbox(key="users_account").set_value("eve"))
    run(at.button(key="users_unlock").click())
    assert at.success[0].value == "`eve` unlocked."
    assert not users.get("eve").locked
    assert changes() == [("ada", "admin", "users", "unlocked eve")]


def test_remove_asks_first_and_refuses_your_own_account(users):
    at = users_page()
    run(at.button(key="users_remove").click())   # ada: herself
    assert "Remove the account `ada`?" in at.warning[0].value
    run(at.button(key="users_confirm").click())
    assert at.error[0].value == ("You cannot remove your own account; ask another "
                                 "administrator.")
    assert users.get("ada") is not None

    run(at.selectbox(key="users_account").set_value("eve"))
    run(at.button(key="users_remove").click())
    assert "cannot be undone" in at.warning[0].value and users.get("eve") is not None
    run(at.button(key="users_confirm").click())
    assert at.success[0].value == "Account `eve` removed."
    assert [row[0] for row in table(at)] == ["ada", "ana"]
    assert changes() == [("ada", "admin", "users", "removed eve (executive)")]


@pytest.mark.parametrize("role", ["analyst", "chair", "executive"])
def test_other_roles_cannot_open_the_page(users, role):
    name = {"analyst": "ana", "executive": "eve"}.get(role)
    if name is None:
        write_users(users.path, {"chris": "chair"})
        name = "chris"
    at = AppTest.from_file(USERS_PAGE, default_timeout=60)
    from safeguards.access import Principal

    at.session_state["auth_principal"] = Principal(name, role)
    run(at)
    assert at.error[0].value.startswith("Access denied:")
    assert not at.dataframe and not at.text_input


def test_a_click_made_as_admin_is_refused_after_the_role_changed(users):
    """The change is made after the page's guard, as whoever is signed in for that run: an
    administrator demoted between drawing the page and the click changes nothing."""
    at = users_page()
    run(at.selectbox(key="users_account").set_value("eve"))
    run(at.button(key="users_remove").click())        # asks first: nothing is changed yet
    users.set_role("ada", "analyst")                   # by someone else, meanwhile
    run(at.button(key="users_confirm").click())
    assert users.get("eve") is not None and changes() == []
    assert at.title[0].value != "Users"                # the page is no longer ada's
