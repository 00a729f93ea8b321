"""Sign-in with a local account (the users file): name and password, one message for any failure."""
import streamlit as st

from ui import session
from ui.router_mode import use_router

use_router()

st.title("Sign in")
st.caption("West Yorkshire exploitation dashboard · for partnership staff with an account")

if notice := session.notice():
    kind, text = notice
    getattr(st, kind)(text)

with st.form("sign_in", clear_on_submit=True, enter_to_submit=True, width=480):
    name = st.text_input("User name", autocomplete="username")
    password = st.text_input("Password", type="password", autocomplete="current-password")
    submitted = st.form_submit_button("Sign in", type="primary", icon=":material/login:")

if submitted:
    if not name.strip() or not password:
        st.warning("Enter your user name and password.")
    elif session.sign_in_local(name, password):
        st.rerun()
    else:
        st.error(session.SIGN_IN_FAILED, icon=":material/error:")

st.caption("No account? Ask your dashboard administrator. Accounts are never self-service.")
