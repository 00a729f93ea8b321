"""Managing accounts from the dashboard (``safeguards.user_admin``, ``views.users``).

Spec:
- Only the admin role may list or change accounts (``core.roles`` action ``manage_users``),
  checked in the data layer whatever the page does.
- Add (name, role, initial password typed twice; argon2 through ``safeguards.users``), set
  role, unlock and remove each write one ``user-change`` audit entry: who, their role, page
  "users" and what changed, never the password.
- No message names a file or path. Nothing changes when the audit log is out of reach.
- An administrator cannot remove or re-role their own account, nor the last administrator.
"""
from __future__ import annotations

import pytest

from core.errors import AccessDenied
from safeguards.audit import read_audit
from safeguards.auth import LockoutPolicy
from safeguards.user_admin import UserAdmin, UserAdminError
from tests.sample_store import build_store
from tests.signin_helpers import PASSWORD, write_users
from views import users as vu

NEW_PASSWORD = "four unrelated words here"


@pytest.fixture
def env(tmp_path):
    users = write_users(tmp_path / "instance" / "users.json",
                        {"ada": "admin", "ana": "analyst", "eve": "executive"},
                        policy=LockoutPolicy(attempts=2, lock_s=600))
    store = build_store(tmp_path / "store", {"nrm": 2})
    return users, store


def admin_as(env, actor="ada", role="admin") -> UserAdmin:
    users, store = env
    return UserAdmin(actor, role, store, users)


def changes(store) -> list[tuple]:
    frame = read_audit(store, action="user-change")
    return list(zip(frame["actor"], frame["role"], frame["page"], frame["detail"]))[::-1]


def test_add_set_role_unlock_remove_are_each_audited(env):
    users, store = env
    admin = admin_as(env)
    info = admin.add("  Bob@Example.org ", "chair", NEW_PASSWORD, NEW_PASSWORD)
    assert (info.name, info.role) == ("bob@example.org", "chair")
    assert users.authenticate("bob@example.org", NEW_PASSWORD).role == "chair"
    assert "$argon2id$" in users.path.read_text() and NEW_PASSWORD not in users.path.read_text()
    assert admin.set_role("bob@example.org", "analyst").role == "analyst"
    for _ in range(2):
        users.authenticate("eve", "not the password at all")
    assert users.get("eve").locked
    assert not admin.unlock("eve").locked
    admin.remove("bob@example.org")
    assert users.get("bob@example.org") is None
    assert changes(store) == [
        ("ada", "admin", "users", "added bob@example.org as chair"),
        ("ada", "admin", "users", "role of bob@example.org changed from chair to analyst"),
        ("ada", "admin", "users", "unlocked eve"),
        ("ada", "admin", "users", "removed bob@example.org (analyst)"),
    ]
    assert NEW_PASSWORD not in read_audit(store).to_string()


@pytest.mark.parametrize("role", ["analyst", "chair", "executive"])
def test_only_the_admin_role_may_manage_users(env, role):
    users, store = env
    before = users.path.read_bytes()
    admin = admin_as(env, actor="ana", role=role)
    for call in (admin.accounts, lambda: admin.add("bob", "admin", NEW_PASSWORD, NEW_PASSWORD),
                 lambda: admin.set_role("ana", "admin"), lambda: admin.unlock("eve"),
                 lambda: admin.remove("ada")):
        with pytest.raises(AccessDenied, match="may not manage users"):
            call()
    assert users.path.read_bytes() == before and changes(store) == []


@pytest.mark.parametrize("name, role, password, again, message", [
    ("bob", "admin", NEW_PASSWORD, NEW_PASSWORD + "!", "the two passwords differ"),
    ("bob", "admin", "short", "short", "too short"),
    ("bob smith", "admin", NEW_PASSWORD, NEW_PASSWORD, "not allowed"),
    ("bob", "superuser", NEW_PASSWORD, NEW_PASSWORD, "not a role"),
    ("ANA", "chair", NEW_PASSWORD, NEW_PASSWORD, "there is already an account 'ana'"),
])
def test_a_refused_add_changes_nothing_and_names_no_path(env, name, role, password, again,
                                                         message):
    users, store = env
    before = users.path.read_bytes()
    with pytest.raises(UserAdminError, match=message) as raised:
        admin_as(env).add(name, role, password, again)
    assert str(users.path.parent) not in str(raised.value)
    assert users.path.read_bytes() == before and changes(store) == []


def test_unknown_accounts_and_self_and_last_admin_guards(env):
    users, _ = env
    admin = admin_as(env)
    with pytest.raises(UserAdminError, match="there is no account 'zed'") as raised:
        admin.remove("zed")
    assert "users.json" not in str(raised.value)
    with pytest.raises(UserAdminError, match="your own account"):
        admin.remove("ADA")
    with pytest.raises(UserAdminError, match="your own account"):
        admin.set_role("ada", "analyst")
    with pytest.raises(UserAdminError, match="already Analyst"):
        admin.set_role("ana", "analyst")
    # Another administrator may not remove the last administrator either.
    other = UserAdmin("someone", "admin", env[1], users)
    with pytest.raises(UserAdminError, match="only administrator"):
        other.remove("ada")
    with pytest.raises(UserAdminError, match="only administrator"):
        other.set_role("ada", "chair")
    assert users.get("ada").role == "admin"


def test_nothing_changes_when_the_audit_log_is_out_of_reach(env, monkeypatch):
    users, _ = env
    from storage.audit_log import AuditError

    def unreachable(store):
        raise AuditError("audit log of /secret/path: cannot write")

    monkeypatch.setattr("safeguards.user_admin.audit_sink", unreachable)
    before = users.path.read_bytes()
    outcome = vu.add_account(admin_as(env), "bob", "chair", NEW_PASSWORD, NEW_PASSWORD)
    assert not outcome.ok and outcome.message == vu.NO_AUDIT and "/secret" not in outcome.message
    assert users.path.read_bytes() == before


def test_view_rows_states_and_messages(env):
    users, _ = env
    for _ in range(2):
        users.authenticate("eve", "not the password at all")
    users.authenticate("ana", "not the password at all")
    users.authenticate("ada", PASSWORD)
    view = vu.users_view(admin_as(env))
    assert view.names == ["ada", "ana", "eve"] and view.unlockable == ["ana", "eve"]
    assert [(r["User"], r["Role"], r["State"]) for r in view.rows] == [
        ("ada", "Administrator", "Active"), ("ana", "Analyst", "Active, 1 failed sign-in"),
        ("eve", "Deputy Mayor's office", "Locked until 15 Dec 2026 10:10:00 UTC")]
    assert view.rows[0]["Last sign-in (UTC)"] == "15 Dec 2026 10:00:00"
    assert view.rows[1]["Last sign-in (UTC)"] == "never"
    assert "argon2" not in repr(view)
    assert vu.add_account(admin_as(env), "bob", "chair", NEW_PASSWORD, "x" * 12) == vu.Outcome(
        False, "The two passwords differ; nothing was changed.")
    assert vu.remove(admin_as(env), "eve") == vu.Outcome(True, "Account `eve` removed.")
    assert "cannot be undone" in vu.confirm_text(vu.REMOVE, "eve")
    assert vu.confirm_text(vu.SET_ROLE, "ana", "chair", "analyst") == (
        "Change the role of `ana` from Analyst to **Partnership chair**? What they may see "
        "changes at their next click.")
    with pytest.raises(AccessDenied):
        vu.set_role(admin_as(env, "ana", "analyst"), "eve", "admin")



def test_organisation_rows_name_roles_and_never_the_roles_file_path(tmp_path, monkeypatch):
    from tests.signin_helpers import write_roles

    path = write_roles(tmp_path / "roles.yaml", emails={"alice@example.org": "analyst"},
                       roles_claim={"WY-Chairs": "chair"})
    monkeypatch.setenv("ROLES_FILE", str(path))
    assert vu.organisation_rows() == [
        {"Email or roles claim": "alice@example.org", "Role": "Analyst"},
        {"Email or roles claim": "WY-Chairs", "Role": "Partnership chair"}]
    path.write_text("emails: [not, a, mapping", encoding="utf-8")
    with pytest.raises(UserAdminError) as raised:
        vu.organisation_rows()
    assert str(tmp_path) not in str(raised.value) and "ROLES_FILE" in str(raised.value)
    assert vu.ROLES_FILE_NOTE.count("/") == 0
