"""The router and the page guards through AppTest: who sees which pages, sign-in, expiry, refusals.

Spec:
- A synthetic-only store with no sign-in configured runs as the demo: a labelled role picker, and
  each role gets exactly its pages from ``ui.registry``.
- A store with real data and no sign-in shows only an error saying how to configure one.
- With a users file, a signed-out visitor gets only the sign-in form; a right password signs in,
  a wrong one or an unknown name gives one generic error, after a wait that doubles with each
  failure for that name (1, 2, 4, 8 s); all of it is audited.
- A session idle for longer than SESSION_TIMEOUT_MIN is signed out at its next interaction.
- With an identity provider (``[auth]`` secrets), the roles file gives the identity its role; an
  identity with no role is refused with a clear message, and audited.
- Every page refuses a role it is not for, even when run directly.
"""
from __future__ import annotations

import os
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from streamlit.testing.v1 import AppTest

from core import clock
from core.roles import ROLES
from safeguards.access import Principal
from safeguards.audit import read_audit
from safeguards.auth import LocalSession
from tests.apptest import run, texts
from tests.sample_store import build_store
from tests.signin_helpers import PASSWORD, ROLE_USERS, write_roles, write_users
from ui import registry
from ui import session as _session

ROOT = Path(__file__).resolve().parent.parent
DASHBOARD = str(ROOT / "dashboard.py")
OIDC_SECRETS = {"auth": {
    "redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "test-secret",
    "client_id": "dashboard", "client_secret": "dashboard-secret",
    "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration"}}


@pytest.fixture
def env(monkeypatch, tmp_path):
    """Settings pointing at this test's files; a small synthetic store."""
    store = build_store(tmp_path / "store", {"nrm": 3})
    monkeypatch.setenv("STORE_URL", str(store.root))
    monkeypatch.setenv("USERS_FILE", str(tmp_path / "users.json"))
    monkeypatch.setenv("ROLES_FILE", str(tmp_path / "roles.yaml"))
    for name in ("SESSION_TIMEOUT_MIN", "LOCKOUT_ATTEMPTS", "LOCKOUT_MIN"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def dashboard(*, secrets=None, user=None, **state) -> AppTest:
    """The dashboard, not yet run, with ``state`` in session state. Secrets are always given, so
    a developer's own ``.streamlit/secrets.toml`` never leaks in."""
    at = AppTest.from_file(DASHBOARD, default_timeout=60)
    at.secrets.update(secrets or {"test": "no sign-in secrets"})
    if user is not None:
        at.user = user
    for key, value in state.items():
        at.session_state[key] = value
    return at


def reachable_pages(at: AppTest) -> set[str]:
    """Keys of the registry pages that the last run's navigation lets the user open."""
    keys = set()
    for key, spec in registry.PAGES.items():
        try:
            at.switch_page(str(ROOT / spec.path))
        except ValueError:  # "Could not find a navigation page"
            continue
        keys.add(key)
    return keys


def events(action: str):
    """Audit entries with ``action`` in the test's store, newest first."""
    return read_audit(os.environ["STORE_URL"], action=action)


def local_session(user: str, idle_s: float = 0) -> LocalSession:
    now = clock.timestamp()
    return LocalSession(user, now - idle_s, now - idle_s)


# -- the page table ----------------------------------------------------------------------------
def test_every_role_has_pages_and_every_page_exists():
    assert set(registry.ROLE_PAGES) == set(ROLES)
    for role in ROLES:
        assert registry.pages_for(role)[0].key == registry.DEFAULT_PAGE
    for spec in registry.PAGES.values():
        assert (ROOT / spec.path).is_file(), spec.path


@pytest.mark.parametrize("role", ROLES)
def test_page_table_and_action_policy_agree(role):
    for key in registry.PAGES:
        allowed = key in registry.ROLE_PAGES[role]
        if allowed:
            registry.check_page_access(role, key)
        else:
            with pytest.raises(Exception, match="may not open"):
                registry.check_page_access(role, key)


# -- demo --------------------------------------------------------------------------------------
@pytest.mark.parametrize("role", ROLES)
def test_demo_each_role_sees_exactly_its_pages(env, role):
    at = run(dashboard(auth_demo_role=role))
    assert at.sidebar.radio[0].label == "Demo: synthetic data — choose a role"
    assert at.sidebar.radio[0].value == role
    assert "SYNTHETIC DATA" in texts(at.error)
    assert reachable_pages(at) == set(registry.ROLE_PAGES[role])


def test_demo_starts_as_analyst_and_audits_page_views_once_per_page(env):
    at = run(dashboard())
    assert at.sidebar.radio[0].value == "analyst"
    run(at)  # a rerun of the same page is not another view
    views = events("page-view")
    assert list(zip(views["actor"], views["role"], views["page"])) == [
        ("demo", "analyst", "overview")]


def test_admin_pages_open_for_admin(env):
    at = run(dashboard(auth_demo_role="admin"))
    run(at.switch_page(str(ROOT / "pages/audit_log.py")))
    assert texts(at.title) == "Audit log"
    assert "Chain intact" in texts(at.success)
    run(at.switch_page(str(ROOT / "pages/users.py")))
    assert texts(at.title) == "Users"
    assert list(events("page-view")["page"])[:2] == ["users", "audit_log"]


# -- real data without sign-in -----------------------------------------------------------------
def test_real_data_without_sign_in_refuses_to_start(env):
    build_store(env / "store", {"mandevilla": 2}, source="real")
    at = run(dashboard())
    message = texts(at.error)
    assert "holds real partner data and no sign-in is configured" in message
    assert "python -m safeguards.users add NAME --role admin" in message
    assert "[auth]" in message
    assert len(at.main.children) == 1 and not at.sidebar.children  # the error, nothing else


# -- local users -------------------------------------------------------------------------------
@pytest.fixture
def users(env):
    return write_users(env / "users.json")


def sign_in(at: AppTest, name: str, password: str) -> AppTest:
    at.text_input[0].input(name)
    at.text_input[1].input(password)
    return run(at.button[0].click())


def test_local_signed_out_visitor_gets_only_the_sign_in_form(users):
    at = run(dashboard())
    assert texts(at.title) == "Sign in"
    assert [t.label for t in at.text_input] == ["User name", "Password"]
    assert not at.metric and not at.dataframe and not at.sidebar.radio
    assert reachable_pages(at) == set()


@pytest.mark.parametrize("name", list(ROLE_USERS))
def test_local_sign_in_gives_each_role_exactly_its_pages(users, name):
    at = sign_in(run(dashboard()), name, PASSWORD)
    role = ROLE_USERS[name]
    assert texts(at.title) == "West Yorkshire exploitation dashboard"
    assert f"Signed in as **{name}**" in texts(at.sidebar.caption)
    assert reachable_pages(at) == set(registry.ROLE_PAGES[role])
    signed_in = events("sign-in").iloc[0]
    assert (signed_in["actor"], signed_in["role"], signed_in["detail"]) == (name, role, "local")


@pytest.mark.parametrize("name, password, actor", [
    ("ana", "not the password", "ana"),
    ("nobody", PASSWORD, "anonymous"),  # the typed name is not logged: it may be a password
])
def test_failed_sign_in_is_generic_and_audited(users, name, password, actor):
    at = sign_in(run(dashboard()), name, password)
    assert texts(at.error).startswith("Sign-in failed: the user name or password is wrong, or "
                                      "the account is locked")
    assert texts(at.title) == "Sign in"
    failed = events("sign-in-failed").iloc[0]
    assert failed["actor"] == actor and failed["role"] is None
    assert "local: " in failed["detail"]


def test_locked_account_gets_the_same_message_as_a_wrong_password(users, monkeypatch):
    monkeypatch.setenv("LOCKOUT_ATTEMPTS", "1")
    monkeypatch.setattr("time.sleep", lambda s: None)
    first = sign_in(run(dashboard()), "ana", "not the password")
    again = sign_in(run(dashboard()), "ana", PASSWORD)  # a new session: still locked
    assert texts(again.error) == texts(first.error)
    assert list(events("sign-in-failed")["detail"]) == [
        "local: locked", "local: wrong-password; account now locked"]


def test_failed_sign_ins_wait_longer_each_time_for_the_same_name(users, monkeypatch):
    waits = []
    # Only the sign-in's clock is replaced: its sleeps are recorded, not slept.
    monkeypatch.setattr(_session, "time", SimpleNamespace(time=time.time, sleep=waits.append))
    _session._failure_counter.clear()  # the counter lives in the server: start from nothing
    at = run(dashboard())
    for _ in range(4):
        sign_in(at, "ana", "not the password")
    assert waits == [1, 2, 4, 8]
    sign_in(at, "Nobody", "not the password")   # another name has its own count, and an
    assert waits[4:] == [1]                      # unknown name waits like a real one
    sign_in(at, "nobody", "not the password")   # names are counted ignoring case
    assert waits[5:] == [2]
    at = sign_in(at, "ana", PASSWORD)            # a success clears the count...
    assert texts(at.title) == "West Yorkshire exploitation dashboard" and len(waits) == 6
    sign_in(run(dashboard()), "ana", "not the password")
    assert waits[6:] == [1]                      # ...so the next failure waits 1 s again
    assert len(events("sign-in-failed")) == 7


def test_idle_session_is_signed_out_at_the_next_interaction(users, monkeypatch):
    monkeypatch.setenv("SESSION_TIMEOUT_MIN", "1")
    at = run(dashboard(auth_local=local_session("ana", idle_s=61)))
    assert texts(at.title) == "Sign in"
    assert "signed out after 1 minutes without activity" in texts(at.info)
    ended = events("sign-out").iloc[0]
    assert (ended["actor"], ended["detail"]) == ("ana", "session expired")


def test_active_session_stays_signed_in_and_is_refreshed(users, monkeypatch):
    monkeypatch.setenv("SESSION_TIMEOUT_MIN", "1")
    at = run(dashboard(auth_local=local_session("ana", idle_s=50)))
    assert texts(at.title) == "West Yorkshire exploitation dashboard"
    assert clock.timestamp() - at.session_state["auth_local"].last_activity < 5


def test_sign_out_button(users):
    at = run(dashboard(auth_local=local_session("ada")))
    run(at.sidebar.button[0].click())
    assert texts(at.title) == "Sign in"
    assert "You have signed out." in texts(at.success)
    assert events("sign-out").iloc[0]["actor"] == "ada"


def test_role_change_and_removal_apply_at_the_next_interaction(users):
    at = run(dashboard(auth_local=local_session("ana")))
    assert reachable_pages(at) == set(registry.ROLE_PAGES["analyst"])
    users.set_role("ana", "admin")
    assert reachable_pages(run(at)) == set(registry.ROLE_PAGES["admin"])
    users.remove("ana")
    run(at)
    assert texts(at.title) == "Sign in"
    assert "no longer exists" in texts(at.warning)


# -- identity provider (OIDC) ------------------------------------------------------------------
def identity(email: str, **claims) -> dict:
    return {"is_logged_in": True, "iss": "http://idp.test", "sub": email.split("@")[0],
            "email": email, "iat": clock.timestamp(), **claims}


@pytest.fixture
def roles_file(env):
    return write_roles(env / "roles.yaml", emails={"alice@example.org": "analyst"},
                       roles_claim={"wy-admins": "admin"})


def test_oidc_signed_out_gets_the_organisation_sign_in_button(roles_file):
    at = run(dashboard(secrets=OIDC_SECRETS, user={"is_logged_in": False}))
    assert texts(at.title) == "Sign in"
    assert [b.label for b in at.button] == ["Sign in with your organisation account"]
    assert reachable_pages(at) == set()


@pytest.mark.parametrize("email, claims, role", [
    ("alice@example.org", {}, "analyst"),
    ("root@example.org", {"roles": ["wy-admins"]}, "admin"),
])
def test_oidc_identity_gets_its_role_from_the_roles_file(roles_file, email, claims, role):
    user = identity(email, **claims)  # made in the test: its sign-in time is the test's clock
    at = run(dashboard(secrets=OIDC_SECRETS, user=user))
    assert reachable_pages(at) == set(registry.ROLE_PAGES[role])
    assert f"Signed in as **{user['email']}**" in texts(at.sidebar.caption)
    signed_in = events("sign-in").iloc[0]
    assert (signed_in["actor"], signed_in["role"], signed_in["detail"]) == (
        user["email"], role, "oidc")


def test_oidc_identity_without_role_is_refused_and_audited_once(roles_file):
    at = run(dashboard(secrets=OIDC_SECRETS, user=identity("mallory@example.org")))
    assert "mallory@example.org has no role on this dashboard (not in the roles file)" in texts(
        at.error)
    assert reachable_pages(at) == set()
    assert not at.metric and not at.dataframe
    run(at)
    failed = events("sign-in-failed")
    assert list(failed["actor"]) == ["mallory@example.org"]
    assert failed.iloc[0]["detail"] == "oidc: not in the roles file"


def test_oidc_sign_in_older_than_the_timeout_is_signed_out(roles_file, monkeypatch):
    monkeypatch.setenv("SESSION_TIMEOUT_MIN", "30")
    user = identity("alice@example.org", sub="alice-stale", iat=clock.timestamp() - 31 * 60)
    at = run(dashboard(secrets=OIDC_SECRETS, user=user))
    assert not at.user.get("is_logged_in")  # st.logout() ran and the run stopped
    assert not at.title and not at.metric
    run(at)  # the browser comes back signed out
    assert texts(at.title) == "Sign in"
    assert reachable_pages(at) == set()
    ended = events("sign-out").iloc[0]
    assert (ended["actor"], ended["detail"]) == ("alice@example.org", "session expired")


# -- every page guards itself ------------------------------------------------------------------
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("key", sorted(registry.PAGES))
def test_each_page_refuses_roles_it_is_not_for_when_run_directly(env, role, key):
    at = AppTest.from_file(str(ROOT / registry.PAGES[key].path), default_timeout=60)
    at.secrets["test"] = "no sign-in secrets"
    at.session_state["auth_principal"] = Principal("someone", role)
    run(at)
    if key in registry.ROLE_PAGES[role]:
        assert "Access denied" not in texts(at.error)
        assert at.title
    else:
        assert texts(at.error).startswith("Access denied:")
        assert not at.title and not at.dataframe
        denied = events("access-denied").iloc[0]
        assert (denied["actor"], denied["role"], denied["page"]) == ("someone", role, key)


def test_a_page_run_without_anyone_signed_in_refuses(env):
    at = run(AppTest.from_file(str(ROOT / "pages/home.py"), default_timeout=60))
    assert texts(at.error) == "Access denied: sign in to open this page."
    assert not at.metric


# -- the admin's users page --------------------------------------------------------------------
def test_users_page_lists_without_hashes_and_unlocks(users):
    for _ in range(users.policy.attempts):
        users.authenticate("eve", "not the password")
    at = run(dashboard(auth_local=local_session("ada")))
    run(at.switch_page(str(ROOT / "pages/users.py")))
    table = at.dataframe[0].value
    assert list(table["User"]) == ["ada", "ana", "chris", "eve"]
    assert [s.split(" until ")[0] for s in table["State"]] == ["Active"] * 3 + ["Locked"]
    assert "argon2" not in table.to_string()
    run(at.selectbox(key="users_account").set_value("eve"))
    run(at.button(key="users_unlock").click())
    assert "`eve` unlocked." in texts(at.success)
    assert not users.get("eve").locked
    change = events("user-change").iloc[0]
    assert (change["actor"], change["detail"]) == ("ada", "unlocked eve")
