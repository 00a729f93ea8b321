"""Sign-in through the organisation's identity provider (OpenID Connect, ``st.login``)."""
import streamlit as st

from ui import session
from ui.router_mode import use_router

use_router()

st.title("Sign in")
st.caption("West Yorkshire exploitation dashboard · for partnership staff")

if st.user.get("is_logged_in"):
    # Signed in at the identity provider, but the roles file gives this identity no role.
    kind, text = session.notice() or ("error", "Your account has no role on this dashboard.")
    st.error(text, icon=":material/block:")
    if st.button("Sign out", icon=":material/logout:"):
        st.logout()
else:
    st.markdown("Use your organisation account. You will come back here once signed in.")
    if st.button("Sign in with your organisation account", type="primary",
                 icon=":material/login:"):
        st.login()
