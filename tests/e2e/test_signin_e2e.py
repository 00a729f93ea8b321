"""Sign-in in a real browser: local accounts on a store of real data, and OpenID Connect against a
local identity provider (``oidc-provider-mock`` on loopback), both through the real ``st.login``.

Each role sees only its pages in the sidebar; another role's page URL is refused; a wrong
password gets the generic message; an identity without a role is refused.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from tests.e2e.conftest import (
    APP_RUN_TIMEOUT_MS,
    free_port,
    serve_dashboard,
    stop,
    wait_until_healthy,
)
from tests.sample_store import build_store
from tests.signin_helpers import PASSWORD, ROLE_USERS, write_roles, write_users
from ui import registry

pytestmark = pytest.mark.e2e

HEADING = "West Yorkshire exploitation dashboard"
# Identities the provider offers on its consent page: by email, by roles claim, and no role.
IDP_USERS = [
    {"sub": "alice", "email": "alice@example.com"},
    {"sub": "carol", "email": "carol@example.com", "roles": ["wy-chairs"]},
    {"sub": "mallory", "email": "mallory@example.com"},
]
IDP_ROLES = {"alice": "analyst", "carol": "chair"}


def expected_links(role: str) -> list[str]:
    """Sidebar links of ``role``: its page titles (Streamlit shows no navigation for one page)."""
    titles = [spec.title for spec in registry.pages_for(role)]
    return titles if len(titles) > 1 else []


def nav_links(page) -> list[str]:
    """Titles of the page links in the sidebar navigation."""
    links = page.locator('[data-testid="stSidebarNav"] [data-testid="stSidebarNavLink"]')
    return [link.locator("span[label]").get_attribute("label") for link in links.all()]


# -- local accounts ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def local_url(tmp_path_factory):
    """A dashboard on a store of *real* data, with a users file holding one user per role."""
    workdir = tmp_path_factory.mktemp("local-signin")
    store = build_store(workdir / "store", {"nrm": 6, "rosewood": 4}, source="real")
    users = write_users(workdir / "users.json")
    with serve_dashboard(workdir, env={"STORE_URL": str(store.root),
                                       "USERS_FILE": str(users.path)}) as server:
        yield server.url


def sign_in_locally(dashboard, name: str, password: str) -> None:
    page = dashboard.page
    page.get_by_role("textbox", name="User name").fill(name)
    page.get_by_role("textbox", name="Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    dashboard.wait_for_app()


@pytest.mark.parametrize("name", list(ROLE_USERS))
def test_local_sign_in_each_role_sees_only_its_pages(browse, local_url, name):
    dashboard = browse(local_url)
    dashboard.open("/")
    page = dashboard.page
    page.get_by_role("heading", name="Sign in").wait_for(timeout=APP_RUN_TIMEOUT_MS)
    assert not page.locator('[data-testid="stSidebarNav"]').count()
    if name == "ada":
        dashboard.screenshot("sign-in")

    sign_in_locally(dashboard, name, PASSWORD)
    page.get_by_text("Real partner data").wait_for(timeout=APP_RUN_TIMEOUT_MS)
    dashboard.wait_for_app()
    assert page.get_by_role("heading", name=HEADING).is_visible()
    assert page.get_by_text(f"Signed in as {name}").is_visible()
    assert nav_links(page) == expected_links(ROLE_USERS[name])
    if name == "ada":
        page.locator('[data-testid="stDataFrame"]').wait_for(state="visible")
        dashboard.screenshot("signed-in-admin")
        page.get_by_role("button", name="Sign out").click()
        page.get_by_text("You have signed out.").wait_for(timeout=APP_RUN_TIMEOUT_MS)
    dashboard.assert_clean()


def test_wrong_password_shows_a_generic_error(browse, local_url):
    dashboard = browse(local_url)
    dashboard.open("/")
    sign_in_locally(dashboard, "ana", "not the password")
    error = dashboard.page.locator('[data-testid="stAlert"]').filter(has_text="Sign-in failed")
    error.wait_for(timeout=APP_RUN_TIMEOUT_MS)
    assert "the user name or password is wrong, or the account is locked" in error.inner_text()
    assert dashboard.page.get_by_role("textbox", name="Password").input_value() == ""
    assert not dashboard.page.get_by_role("heading", name=HEADING).count()
    dashboard.screenshot("sign-in-failed")
    dashboard.assert_clean()


def open_refused(dashboard, path: str) -> None:
    """Open ``path`` by URL and see Streamlit answer "Page not found" and run the main page.

    Streamlit logs that as a console error, and its client first probes for a server under the
    URL's path (``<path>/_stcore/health``, a 404): both are expected here, and taken.
    """
    dashboard.open(path)
    dialog = dashboard.page.get_by_role("dialog")
    assert "does not seem to exist" in dialog.inner_text()
    probes = rf"{re.escape(dashboard.base_url + path)}/_stcore/(health|host-config)\)$"
    dashboard.take_console_errors(probes)
    assert dashboard.take_console_errors("does not seem to exist")
    dialog.get_by_role("button", name="Close").click()


def test_a_page_url_opened_before_sign_in_is_not_found(browse, local_url):
    dashboard = browse(local_url)
    open_refused(dashboard, "/audit_log")
    page = dashboard.page
    page.get_by_role("heading", name="Sign in").wait_for(timeout=APP_RUN_TIMEOUT_MS)
    sign_in_locally(dashboard, "ana", PASSWORD)
    page.get_by_role("heading", name=HEADING).wait_for(timeout=APP_RUN_TIMEOUT_MS)
    assert not page.get_by_role("heading", name="Audit log").count()
    assert not page.get_by_text("Chain intact").count()
    dashboard.assert_clean()


# -- identity provider (OpenID Connect) --------------------------------------------------------
@pytest.fixture(scope="module")
def idp(tmp_path_factory):
    """``oidc-provider-mock`` on a free loopback port, offering ``IDP_USERS``."""
    port = free_port()
    log_path = tmp_path_factory.mktemp("idp") / "idp.log"
    command = [sys.executable, "-m", "oidc_provider_mock", "--port", str(port)]
    for claims in IDP_USERS:
        command += ["--user-claims", json.dumps(claims)]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(f"{url}/.well-known/openid-configuration", process, log_path,
                           ok=b'"issuer"')
        yield url
    finally:
        stop(process)


@pytest.fixture(scope="module")
def oidc_url(tmp_path_factory, e2e_store, idp):
    """A dashboard whose ``[auth]`` secrets point at ``idp``, with a roles file."""
    workdir = tmp_path_factory.mktemp("oidc-signin")
    port = free_port()
    secrets = f"""
[auth]
redirect_uri = "http://127.0.0.1:{port}/oauth2callback"
cookie_secret = "e2e-cookie-secret-not-for-production"
client_id = "wy-dashboard"
client_secret = "e2e-client-secret"
server_metadata_url = "{idp}/.well-known/openid-configuration"
"""
    roles = write_roles(workdir / "roles.yaml", emails={"alice@example.com": "analyst"},
                        roles_claim={"wy-chairs": "chair"})
    with serve_dashboard(workdir, port=port, secrets=secrets,
                         env={"STORE_URL": str(e2e_store), "ROLES_FILE": str(roles)}) as server:
        yield server.url


def sign_in_with_idp(dashboard, idp: str, sub: str) -> None:
    page = dashboard.page
    page.get_by_role("button", name="Sign in with your organisation account").click()
    page.wait_for_url(f"{idp}/oauth2/authorize*", timeout=APP_RUN_TIMEOUT_MS)
    page.get_by_role("button", name=sub, exact=True).click()  # the mock's consent page
    page.wait_for_url(f"{dashboard.base_url}/*", timeout=APP_RUN_TIMEOUT_MS)
    dashboard.wait_for_app()


@pytest.mark.parametrize("sub", list(IDP_ROLES))
def test_oidc_sign_in_gives_each_identity_its_roles_pages(browse, oidc_url, idp, sub):
    dashboard = browse(oidc_url, idp_origins=(idp,))
    dashboard.open("/")
    page = dashboard.page
    page.get_by_role("heading", name="Sign in").wait_for(timeout=APP_RUN_TIMEOUT_MS)
    if sub == "alice":
        dashboard.screenshot("sign-in-oidc")

    sign_in_with_idp(dashboard, idp, sub)
    page.get_by_text("SYNTHETIC DATA").wait_for(timeout=APP_RUN_TIMEOUT_MS)
    dashboard.wait_for_app()
    assert page.get_by_role("heading", name=HEADING).is_visible()
    assert page.get_by_text(f"Signed in as {sub}@example.com").is_visible()
    assert nav_links(page) == expected_links(IDP_ROLES[sub])

    # The identity cookie survives a new page load, so this is a signed-in chair or analyst
    # asking for the administrator's page by URL: it is not served.
    open_refused(dashboard, "/users")
    assert page.get_by_role("heading", name=HEADING).is_visible()
    assert page.get_by_text(f"Signed in as {sub}@example.com").is_visible()
    assert not page.get_by_role("heading", name="Users").count()
    dashboard.assert_clean()


def test_oidc_identity_without_a_role_is_refused(browse, oidc_url, idp):
    dashboard = browse(oidc_url, idp_origins=(idp,))
    dashboard.open("/")
    sign_in_with_idp(dashboard, idp, "mallory")
    page = dashboard.page
    refusal = page.locator('[data-testid="stAlert"]').filter(has_text="has no role")
    refusal.wait_for(timeout=APP_RUN_TIMEOUT_MS)
    assert "mallory@example.com has no role on this dashboard" in refusal.inner_text()
    assert not page.get_by_role("heading", name=HEADING).count()
    assert not page.locator('[data-testid="stSidebarNav"]').count()
    dashboard.screenshot("oidc-refused")
    dashboard.assert_clean()
