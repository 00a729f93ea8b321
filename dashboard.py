"""Entry point: ``streamlit run dashboard.py``. A router only: who is signed in, what they see.

How people sign in is decided in ``safeguards.auth`` (identity provider, local users file, or the demo
role picker for a synthetic-only store; real data without sign-in refuses to start) and kept by
``ui.session``. A signed-out visitor gets only the sign-in page; a signed-in user gets
the pages of their role from ``ui.registry``. Every page still checks the role itself:
hiding a page is not a guard.
"""
from ui import serve

# Started warm (``python -m ui.serve``): wait for the warm-up thread's first stage instead of
# importing alongside it (see ui/serve.py); under plain ``streamlit run`` this returns at once.
serve.wait_for_first_stage()

import streamlit as st  # noqa: E402

from core.roles import ROLE_TITLES, ROLES  # noqa: E402
from safeguards import auth  # noqa: E402
from ui import a11y, heap, registry, session  # noqa: E402
from ui.loaders import one_store_state, stop_on_user_error  # noqa: E402
from ui.router_mode import use_router  # noqa: E402

use_router()  # before anything is drawn: see ui/router_mode.py
st.set_page_config(
    page_title="West Yorkshire exploitation dashboard",
    # An emoji, not ":material/...:": Streamlit fetches a Material favicon from fonts.gstatic.com.
    page_icon="🗺️",
    layout="wide",
)
a11y.apply_styles()  # shared CSS for WCAG 2.2 AA (ui/a11y.py)

SIGN_IN_PAGES = {
    auth.LOCAL: "pages/sign_in.py",
    auth.OIDC: "pages/sso_sign_in.py",
}


def pages_for(role: str) -> list[st.Page]:
    """The pages ``role`` may open, in sidebar order.

    One flat list, not grouped by ``PageSpec.section``: Streamlit 1.67 wraps each section's
    ``<li>`` items in a ``<div>`` inside the navigation's ``<ul>``, which is invalid list markup
    (axe-core ``list``/``listitem``, WCAG 1.3.1; docs/accessibility.md). Ungrouped pages are
    ``<li>`` children of the ``<ul>``. A role has five pages at most, so no grouping is lost.
    """
    pages = []
    for spec in registry.pages_for(role):
        default = spec.key == registry.DEFAULT_PAGE
        pages.append(st.Page(spec.path, title=spec.title, icon=spec.icon, default=default,
                             url_path=None if default else spec.key))
    return pages


def sidebar(principal, mode: str) -> None:
    """Who is signed in and the way out; in the demo, the role picker."""
    with st.sidebar:
        if mode == auth.DEMO:
            st.radio(session.DEMO_LABEL, ROLES, format_func=ROLE_TITLES.get, key=session.DEMO_ROLE)
            st.caption("No sign-in is configured, so anyone may pick any role. Configure sign-in "
                       "before loading real data (docs/sign-in.md).")
            return
        st.caption(f"Signed in as **{principal.user}** · {ROLE_TITLES[principal.role]}")
        if st.button("Sign out", icon=":material/logout:"):
            session.sign_out(mode)


# One state of the store per run: every cached loader keys on its fingerprint, read once.
with one_store_state():
    with stop_on_user_error():
        mode = session.sign_in_mode()
        principal = session.signed_in_principal(mode)

    try:
        if principal is None:
            sign_in = st.Page(SIGN_IN_PAGES[mode], title="Sign in", icon=":material/login:")
            st.navigation([sign_in], position="hidden").run()
        else:
            sidebar(principal, mode)
            page = st.navigation(pages_for(principal.role))
            session.record_page_view(principal, page.url_path or registry.DEFAULT_PAGE)
            page.run()
    finally:
        serve.first_page_served()  # even after st.stop(): the warm-up's second stage may start
        # Streamlit collects garbage after every run; keep the long-lived heap out of it
        # (ui/heap.py).
        heap.refreeze_if_due()
