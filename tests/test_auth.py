"""Sign-in decisions without Streamlit: settings, which sign-in applies, roles, expiry, delays."""
from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest

from core.errors import AccessDenied, ConfigError
from safeguards import auth
from safeguards.auth import (
    DEMO,
    LOCAL,
    OIDC,
    ActivityTracker,
    FailureCounter,
    LockoutPolicy,
    NoRole,
    RoleMap,
    SignInNotConfigured,
    failure_delay,
    is_expired,
    load_role_map,
    oidc_last_activity,
    role_for_identity,
    sign_in_mode,
)
from tests.signin_helpers import write_roles

DOCS = Path(__file__).resolve().parent.parent / "docs" / "sign-in.md"


# -- settings ----------------------------------------------------------------------------------
@pytest.fixture
def clean_env(monkeypatch):
    for setting in auth.SETTINGS:
        monkeypatch.delenv(setting.name, raising=False)
    return monkeypatch


def test_defaults(clean_env):
    assert auth.users_file_path() == auth.PROJECT_ROOT / "instance" / "users.json"
    assert auth.roles_file_path() == auth.PROJECT_ROOT / "instance" / "roles.yaml"
    assert auth.session_timeout_s() == 30 * 60
    assert auth.lockout_policy() == LockoutPolicy(attempts=5, lock_s=15 * 60)


def test_settings_come_from_the_environment(clean_env, tmp_path):
    clean_env.setenv("USERS_FILE", str(tmp_path / "u.json"))
    clean_env.setenv("ROLES_FILE", "roles.yaml")
    clean_env.setenv("SESSION_TIMEOUT_MIN", "0.5")
    clean_env.setenv("LOCKOUT_ATTEMPTS", "3")
    clean_env.setenv("LOCKOUT_MIN", "0")
    assert auth.users_file_path() == tmp_path / "u.json"
    assert auth.roles_file_path() == Path("roles.yaml")
    assert auth.session_timeout_s() == 30
    assert auth.lockout_policy() == LockoutPolicy(attempts=3, lock_s=None)


@pytest.mark.parametrize("name, value, message", [
    ("SESSION_TIMEOUT_MIN", "soon", "SESSION_TIMEOUT_MIN was 'soon'; expected a number >= 0"),
    ("SESSION_TIMEOUT_MIN", "0", "SESSION_TIMEOUT_MIN was '0'; expected a number of minutes > 0"),
    ("LOCKOUT_ATTEMPTS", "0", "LOCKOUT_ATTEMPTS was '0'; expected a whole number >= 1"),
    ("LOCKOUT_ATTEMPTS", "2.5", "LOCKOUT_ATTEMPTS was '2.5'; expected a whole number >= 1"),
    ("LOCKOUT_MIN", "-1", "LOCKOUT_MIN was '-1'; expected a number >= 0"),
])
def test_bad_settings_name_the_setting_and_value(clean_env, name, value, message):
    clean_env.setenv(name, value)
    with pytest.raises(ConfigError, match=re.escape(message)):
        auth.session_timeout_s() if name.startswith("SESSION") else auth.lockout_policy()


def test_every_setting_is_documented():
    headings = set(re.findall(r"^### `?([A-Z_]+)`?\s*$", DOCS.read_text(), flags=re.M))
    assert {s.name for s in auth.SETTINGS} <= headings


# -- which sign-in -----------------------------------------------------------------------------
@pytest.mark.parametrize("oidc, local, synthetic_only, expected", [
    (True, False, False, OIDC),
    (True, True, True, OIDC),
    (False, True, False, LOCAL),
    (False, True, True, LOCAL),
    (False, False, True, DEMO),
])
def test_sign_in_mode(oidc, local, synthetic_only, expected):
    assert sign_in_mode(oidc_configured=oidc, local_users=local,
                        synthetic_only=synthetic_only) == expected


def test_real_data_without_sign_in_refuses_and_says_how_to_configure(tmp_path):
    with pytest.raises(SignInNotConfigured) as refused:
        sign_in_mode(oidc_configured=False, local_users=False, synthetic_only=False,
                     users_file=tmp_path / "users.json")
    message = str(refused.value)
    assert "will not start" in message
    assert "python -m safeguards.users add NAME --role admin" in message
    assert str(tmp_path / "users.json") in message
    assert "[auth]" in message and ".streamlit/secrets.toml" in message
    assert isinstance(refused.value, ConfigError)


# -- roles file --------------------------------------------------------------------------------
@pytest.fixture
def role_map(tmp_path) -> RoleMap:
    path = write_roles(tmp_path / "roles.yaml",
                       emails={"Alice@Example.org": "analyst", "bob@example.org": "chair"},
                       roles_claim={"wy-chairs": "chair", "wy-exec": "executive",
                                    "wy-admins": "admin"})
    return load_role_map(path)


@pytest.mark.parametrize("claims, role", [
    ({"email": "alice@example.org"}, "analyst"),
    ({"email": "ALICE@example.ORG "}, "analyst"),
    ({"email": "bob@example.org", "email_verified": True}, "chair"),
    ({"email": "carol@example.org", "roles": ["other", "wy-exec"]}, "executive"),
    ({"sub": "123", "roles": "wy-admins"}, "admin"),
    ({"email": "alice@example.org", "roles": ["wy-admins"]}, "analyst"),  # email first
    ({"email": "alice@example.org", "email_verified": False, "roles": ["wy-chairs"]}, "chair"),
])
def test_role_for_identity(role_map, claims, role):
    assert role_for_identity(claims, role_map) == role


@pytest.mark.parametrize("claims, reason", [
    ({"email": "mallory@example.org"}, "not in the roles file"),
    ({"sub": "42"}, "not in the roles file"),
    ({"email": "alice@example.org", "email_verified": False},
     "the identity provider has not verified its email"),
    ({"email": "x@example.org", "roles": ["wy-chairs", "wy-admins"]},
     "its roles claim maps to admin, chair"),
])
def test_identity_without_a_single_role_is_refused(role_map, claims, reason):
    with pytest.raises(NoRole) as refused:
        role_for_identity(claims, role_map)
    assert refused.value.reason == reason
    assert isinstance(refused.value, AccessDenied)
    assert "Ask an administrator to add you to the roles file" in str(refused.value)
    assert refused.value.identity == claims.get("email", claims.get("sub"))


@pytest.mark.parametrize("text, message", [
    ("emails: [a, b]", "'emails' must map names to roles"),
    ("emails:\n  a@example.org: superuser", "entry 'a@example.org' has role 'superuser'"),
    ("people:\n  a@example.org: analyst", "unknown section(s) ['people']"),
    ("- a", "expected sections 'emails' and 'roles_claim'"),
    ("emails: {a: [", "cannot read it as YAML"),
])
def test_bad_roles_file_is_a_config_error(tmp_path, text, message):
    path = tmp_path / "roles.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_role_map(path)


def test_missing_roles_file_says_what_to_do(tmp_path):
    with pytest.raises(ConfigError, match="ROLES_FILE .*not found: create it"):
        load_role_map(tmp_path / "roles.yaml")


def test_roles_file_is_read_again_when_it_changes(tmp_path):
    path = write_roles(tmp_path / "roles.yaml", emails={"a@example.org": "analyst"})
    assert load_role_map(path).emails == {"a@example.org": "analyst"}
    write_roles(path, emails={"a@example.org": "chair", "b@example.org": "admin"})
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 1_000_000))
    assert load_role_map(path).emails == {"a@example.org": "chair", "b@example.org": "admin"}


def test_empty_roles_file_gives_nobody_a_role(tmp_path):
    path = tmp_path / "roles.yaml"
    path.write_text("")
    with pytest.raises(NoRole):
        role_for_identity({"email": "a@example.org"}, load_role_map(path))


# -- sessions ----------------------------------------------------------------------------------
def test_expiry_boundary():
    assert not is_expired(last_activity=1000, now=1000 + 1800, timeout_s=1800)
    assert is_expired(last_activity=1000, now=1000 + 1800.001, timeout_s=1800)


@pytest.mark.parametrize("last_seen, issued_at, expected", [
    (None, None, float("-inf")),
    (None, 500, 500),
    (900, 500, 900),
    (400, 500, 500),  # signed in again since the server last saw the identity
])
def test_oidc_last_activity(last_seen, issued_at, expected):
    assert oidc_last_activity(last_seen, issued_at) == expected


def test_an_old_identity_cookie_on_a_fresh_server_has_expired():
    issued_at = 1000
    assert is_expired(oidc_last_activity(None, issued_at), now=1000 + 3600, timeout_s=1800)


def test_activity_tracker():
    tracker = ActivityTracker()
    assert tracker.last_seen("k") is None
    tracker.touch("k", 5.0)
    assert tracker.last_seen("k") == 5.0
    tracker.forget("k")
    assert tracker.last_seen("k") is None


def test_identity_key_and_label():
    claims = {"iss": "https://idp", "sub": "u1", "email": "a@example.org"}
    assert auth.oidc_identity_key(claims) == "https://idp u1"
    assert auth.identity_label(claims) == "a@example.org"
    assert auth.identity_label({"sub": "u1"}) == "u1"


# -- failed sign-ins ---------------------------------------------------------------------------
def test_failure_delay_grows_then_caps():
    assert [failure_delay(n) for n in range(7)] == [0, 1, 2, 4, 8, 8, 8]


def test_failure_counter_counts_per_name_and_forgets_old_failures():
    counter = FailureCounter(window_s=60)
    assert [counter.add("Ana", t) for t in (0, 1, 2)] == [1, 2, 3]
    assert counter.add(" ana ", 3) == 4           # same name, however typed
    assert counter.add("nobody", 3) == 1          # unknown names count the same way
    assert counter.add("ana", 100) == 1           # more than a window after the last failure
    counter.clear("ana")
    assert counter.add("ana", 101) == 1


def test_failure_counter_is_bounded():
    counter = FailureCounter(max_names=3)
    for i in range(10):
        counter.add(f"name{i}", float(i))
    assert len(counter._failures) == 3
    assert counter.add("name9", 10.0) == 2  # the newest are kept
