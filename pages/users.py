"""Administration: who may sign in, with which role. Add, set role, unlock, remove (audited).

The work is done by ``views.users`` through ``safeguards.user_admin`` (admin role only, every
change in the audit log). Removing an account or changing its role asks first. Never shows a
password hash or a path on the server.
"""
import streamlit as st

from safeguards.user_admin import UserAdmin
from storage.open import open_store
from ui.loaders import stop_on_user_error
from ui.session import oidc_configured, require_page_role
from views import users as vu

# A change is made from a button's value in this page's own run, after the page's guard, as
# whoever is signed in for this run: a click never acts through a callback from an older run.
# PENDING (no secret) is what a confirmation asks about; RESET_FORM empties the add form's
# passwords (and its name, unless the add was refused) before the form is drawn again.
MESSAGE, PENDING, RESET_FORM = "users_message", "users_pending", "users_reset_form"
W_NAME, W_ROLE, W_PASSWORD, W_AGAIN = ("users_add_name", "users_add_role", "users_add_password",
                                       "users_add_again")
W_ACCOUNT, W_NEW_ROLE = "users_account", "users_new_role"

principal = require_page_role("users")
with stop_on_user_error():
    admin = UserAdmin(principal.user, principal.role, open_store())
if RESET_FORM in st.session_state:  # before the form is drawn
    st.session_state[W_NAME] = st.session_state.pop(RESET_FORM)
    st.session_state[W_PASSWORD] = st.session_state[W_AGAIN] = ""


def new_role_key(account: str) -> str:
    """The "New role" select's key: one per account, so each starts from that account's role.

    A fresh widget for each account, given its starting value by ``index``, rather than one
    widget whose value the script overwrites when the account changes: an overwrite from the
    script races the browser, which may send the select's old value with the next click; the
    select's ``on_change`` then fired and cancelled the confirmation that click asked for.
    """
    return f"{W_NEW_ROLE}:{account}"


def ask(action: str, roles: dict) -> None:
    state = st.session_state
    account = state[W_ACCOUNT]
    state[PENDING] = (action, account, state.get(new_role_key(account), roles.get(account)))


def cancel() -> None:
    st.session_state.pop(PENDING, None)


def done(outcome: vu.Outcome) -> None:
    """Show ``outcome`` on the page as it is drawn again with the change."""
    st.session_state[MESSAGE] = outcome
    st.rerun()


st.title("Users")
st.caption("Local accounts: who may sign in with a name and password, and their role. Every "
           "change is recorded in the audit log.")

if oidc_configured():
    st.header("Organisation sign-in")
    st.caption(vu.ROLES_FILE_NOTE)
    with stop_on_user_error():
        st.dataframe(vu.organisation_rows(), hide_index=True)

with stop_on_user_error():
    view = vu.users_view(admin)

if outcome := st.session_state.pop(MESSAGE, None):
    if outcome.ok:
        st.success(outcome.message, icon=":material/check_circle:")
    else:
        st.error(outcome.message, icon=":material/error:")

st.header("Local accounts")
if view.rows:
    st.dataframe(view.rows, hide_index=True)
else:
    st.info("There are no local accounts yet. Adding the first one turns on sign-in: from then "
            "on everyone, you included, signs in with a name and password.",
            icon=":material/group_off:")

if view.names:
    st.header("Change an account")
    with st.container(border=True):
        account = st.selectbox("Account", view.names, key=W_ACCOUNT, on_change=cancel)
        columns = st.columns([2, 1, 1, 1], vertical_alignment="bottom")
        columns[0].selectbox("New role", vu.role_choices(), key=new_role_key(account),
                             index=vu.role_index(view.roles.get(account)),
                             format_func=vu.role_title, on_change=cancel)
        columns[1].button("Set role", icon=":material/badge:", on_click=ask,
                          args=(vu.SET_ROLE, view.roles), key="users_set_role",
                          width="stretch")
        if columns[2].button("Unlock", icon=":material/lock_open:", on_click=cancel,
                             key="users_unlock", disabled=account not in view.unlockable,
                             help="Clears a lockout and the count of failed sign-ins.",
                             width="stretch"):
            done(vu.unlock(admin, account))
        columns[3].button("Remove", icon=":material/person_remove:", on_click=ask,
                          args=(vu.REMOVE, view.roles), key="users_remove", width="stretch")
        if pending := st.session_state.get(PENDING):
            action, name, role = pending
            st.warning(vu.confirm_text(action, name, role, view.roles.get(name)),
                       icon=":material/warning:")
            yes, no, _ = st.columns([1, 1, 2])
            no.button("Cancel", on_click=cancel, key="users_cancel", width="stretch")
            if yes.button("Yes, remove" if action == vu.REMOVE else "Yes, change the role",
                          type="primary", key="users_confirm", width="stretch"):
                cancel()
                done(vu.remove(admin, name) if action == vu.REMOVE
                     else vu.set_role(admin, name, role))

st.header("Add an account")
with st.form("users_add", width=560):
    name = st.text_input("User name", key=W_NAME, max_chars=64,
                         help="Lower-case letters, digits, '.', '_', '-' or '@'; e.g. an email "
                              "address.")
    role = st.selectbox("Role", vu.role_choices(), key=W_ROLE, format_func=vu.role_title)
    password = st.text_input("Initial password", type="password", key=W_PASSWORD,
                             help=vu.PASSWORD_HELP, autocomplete="new-password")
    again = st.text_input("Initial password again", type="password", key=W_AGAIN,
                          autocomplete="new-password")
    added = st.form_submit_button("Add account", icon=":material/person_add:")
if added:
    outcome = vu.add_account(admin, name, role, password, again)
    # The passwords are emptied in any case; a refused name stays, to be corrected.
    st.session_state[RESET_FORM] = "" if outcome.ok else name
    done(outcome)
