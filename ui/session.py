"""Sign-in state of one browser session, and the guard every page calls first.

The decisions (which sign-in applies, roles, lockout, expiry) are made in ``safeguards.auth`` and
``safeguards.users``; this module keeps their results in ``st.session_state`` and records what happened
in the audit log. ``dashboard.py`` calls ``sign_in_mode`` and ``signed_in_principal`` on every
run; pages call ``require_page_role(<key>)`` at their top.
"""
from __future__ import annotations

import time

import streamlit as st
from streamlit.errors import StreamlitSecretNotFoundError

from core import clock
from core.errors import AccessDenied
from safeguards import auth
from safeguards.access import Principal
from safeguards.audit import AuditEvent, record
from safeguards.users import UsersFile, has_users
from storage.open import open_store
from ui import registry
from ui.router_mode import use_router

PRINCIPAL = "auth_principal"     # the signed-in Principal, set by the router on every run
LOCAL = "auth_local"             # safeguards.auth.LocalSession after a local sign-in
OIDC_AUDITED = "auth_oidc_seen"  # identity key whose sign-in (or refusal) this session recorded
NOTICE = "auth_notice"           # (kind, text) for the sign-in page: expiry, refusal
DEMO_ROLE = "auth_demo_role"
LAST_PAGE = "auth_last_page"

DEMO_USER = "demo"
DEMO_LABEL = "Demo: synthetic data — choose a role"
SIGN_IN_FAILED = ("Sign-in failed: the user name or password is wrong, or the account is locked "
                  "after repeated failures. Try again, or ask an administrator.")


# -- audit -------------------------------------------------------------------------------------
def audit(action: str, *, actor: str | None, role: str | None, page: str | None = None,
          detail: str | None = None) -> None:
    """Record one event in the store's audit log (sign-in, sign-out, page view, refusal...)."""
    record(open_store(), AuditEvent(action=action, actor=actor, role=role, page=page,
                                    filters=None, records=None, detail=detail))


# -- which sign-in -----------------------------------------------------------------------------
def oidc_configured() -> bool:
    """Whether ``.streamlit/secrets.toml`` (or ``--secrets.files``) has an ``[auth]`` section."""
    try:
        return "auth" in st.secrets
    except StreamlitSecretNotFoundError:
        return False


def sign_in_mode() -> str:
    """"oidc", "local" or "demo". Raises ``SignInNotConfigured`` for real data without sign-in."""
    if oidc_configured():
        return auth.OIDC
    users_file = auth.users_file_path()
    local = has_users(users_file)
    synthetic_only = False if local else open_store().is_synthetic_only()
    return auth.sign_in_mode(oidc_configured=False, local_users=local,
                             synthetic_only=synthetic_only, users_file=users_file)


# -- who is signed in --------------------------------------------------------------------------
def current_principal() -> Principal | None:
    """The Principal the router established for this run, or None."""
    return st.session_state.get(PRINCIPAL)


def signed_in_principal(mode: str) -> Principal | None:
    """Who is signed in for this run (None: show the sign-in page), after the expiry check."""
    st.session_state[PRINCIPAL] = None
    if mode == auth.DEMO:
        principal = Principal(DEMO_USER, st.session_state.get(DEMO_ROLE) or "analyst")
    elif mode == auth.LOCAL:
        principal = _local_principal()
    else:
        principal = _oidc_principal()
    st.session_state[PRINCIPAL] = principal
    return principal


def _local_principal() -> Principal | None:
    session: auth.LocalSession | None = st.session_state.get(LOCAL)
    if session is None:
        return None
    now = clock.timestamp()
    role = UsersFile().role_of(session.user)
    if role is None:
        _end_local(session.user, None, "account removed",
                   ("warning", "Your account no longer exists. Ask an administrator."))
        return None
    if auth.is_expired(session.last_activity, now, auth.session_timeout_s()):
        _end_local(session.user, role, "session expired", ("info", _expired_text()))
        return None
    st.session_state[LOCAL] = auth.LocalSession(session.user, session.signed_in_at, now)
    return Principal(session.user, role)


def _end_local(user: str, role: str | None, why: str, notice: tuple[str, str]) -> None:
    del st.session_state[LOCAL]
    st.session_state[NOTICE] = notice
    audit("sign-out", actor=user, role=role, detail=why)


def _expired_text() -> str:
    minutes = auth.session_timeout_s() / 60
    return (f"You were signed out after {minutes:g} minutes without activity. "
            "Sign in again to continue.")


def _oidc_principal() -> Principal | None:
    if not st.user.get("is_logged_in"):
        return None
    claims = st.user.to_dict()
    key, who = auth.oidc_identity_key(claims), auth.identity_label(claims)
    try:
        role = auth.role_for_identity(claims, auth.load_role_map())
    except auth.NoRole as exc:
        st.session_state[NOTICE] = ("error", str(exc))
        if st.session_state.get(OIDC_AUDITED) != key:
            st.session_state[OIDC_AUDITED] = key
            audit("sign-in-failed", actor=who, role=None, detail=f"oidc: {exc.reason}")
        return None
    now, tracker = clock.timestamp(), _activity_tracker()
    last = auth.oidc_last_activity(tracker.last_seen(key), claims.get("iat"))
    if auth.is_expired(last, now, auth.session_timeout_s()):
        tracker.forget(key)
        audit("sign-out", actor=who, role=role, detail="session expired")
        st.logout()
        st.stop()
    tracker.touch(key, now)
    if st.session_state.get(OIDC_AUDITED) != key:
        st.session_state[OIDC_AUDITED] = key
        audit("sign-in", actor=who, role=role, detail="oidc")
    return Principal(who, role)


@st.cache_resource
def _activity_tracker() -> auth.ActivityTracker:
    return auth.ActivityTracker()


@st.cache_resource
def _failure_counter() -> auth.FailureCounter:
    return auth.FailureCounter()


# -- signing in and out ------------------------------------------------------------------------
def sign_in_local(name: str, password: str) -> bool:
    """Check a local name and password; on success the session is signed in.

    A failure waits longer each time for the same name (1 s, 2 s, 4 s, then 8 s) and is
    audited; the caller shows ``SIGN_IN_FAILED`` whatever the reason.
    """
    result = UsersFile().authenticate(name, password)
    if result.ok:
        _failure_counter().clear(name)
        now = clock.timestamp()
        st.session_state[LOCAL] = auth.LocalSession(result.user, now, now)
        st.session_state.pop(NOTICE, None)
        audit("sign-in", actor=result.user, role=result.role, detail="local")
        return True
    time.sleep(auth.failure_delay(_failure_counter().add(name, clock.timestamp())))
    detail = result.reason + ("; account now locked" if result.locked_now else "")
    # An unknown name is not recorded: people sometimes type their password there.
    audit("sign-in-failed", actor=result.user, role=None, detail=f"local: {detail}")
    return False


def sign_out(mode: str) -> None:
    """Sign the current user out (audited) and start again from the sign-in page."""
    principal = current_principal()
    if principal is not None:
        audit("sign-out", actor=principal.user, role=principal.role, detail="signed out")
    st.session_state[PRINCIPAL] = None
    if mode == auth.OIDC:
        claims = st.user.to_dict()
        _activity_tracker().forget(auth.oidc_identity_key(claims))
        st.logout()
    else:
        st.session_state.pop(LOCAL, None)
        st.session_state[NOTICE] = ("success", "You have signed out.")
        st.rerun()


def record_page_view(principal: Principal, page_key: str) -> None:
    """Audit a page view, once per page change (not on every widget interaction)."""
    if st.session_state.get(LAST_PAGE) == (principal, page_key):
        return
    st.session_state[LAST_PAGE] = (principal, page_key)
    audit("page-view", actor=principal.user, role=principal.role, page=page_key)


# -- the guard every page calls ----------------------------------------------------------------
def require_page_role(page_key: str) -> Principal:
    """Stop the page unless the signed-in role may open it (``ui.registry``).

    Navigation already hides pages a role may not open; this check is the guard, so a page
    reached another way (a URL, a stale session) still refuses. Refusals are audited.
    """
    use_router()
    principal = current_principal()
    try:
        registry.check_page_access(principal.role if principal else None, page_key)
    except AccessDenied as exc:
        audit("access-denied", actor=principal.user if principal else None,
              role=principal.role if principal else None, page=page_key, detail=str(exc))
        st.error(f"Access denied: {exc}.", icon=":material/block:")
        st.stop()
    return principal


def notice() -> tuple[str, str] | None:
    """The message the sign-in page should show (kind, text), if any."""
    return st.session_state.get(NOTICE)

