"""Administration: who may sign in, with which role; unlock a locked account. Never shows hashes."""
import streamlit as st

from core.roles import ROLE_TITLES
from safeguards import auth
from safeguards.users import UsersFile
from ui.loaders import stop_on_user_error
from ui.session import audit, oidc_configured, require_page_role

MANAGE = """python -m safeguards.users add NAME --role ROLE     # asks for the password twice
python -m safeguards.users set-role NAME ROLE
python -m safeguards.users set-password NAME
python -m safeguards.users remove NAME"""

principal = require_page_role("users")


def unlock() -> None:
    name = st.session_state["users_unlock_name"]
    with stop_on_user_error():
        UsersFile().unlock(name)
    audit("user-change", actor=principal.user, role=principal.role, page="users",
          detail=f"unlocked {name}")
    st.session_state["users_message"] = f"{name} unlocked."


st.title("Users")

if oidc_configured():
    st.subheader("Organisation sign-in")
    st.caption(f"Roles of identity-provider accounts come from the roles file, "
               f"{auth.roles_file_path()}.")
    with stop_on_user_error():
        role_map = auth.load_role_map()
    st.dataframe([{"Email or roles claim": who, "Role": ROLE_TITLES[role]}
                  for who, role in [*role_map.emails.items(), *role_map.roles_claim.items()]],
                 hide_index=True)

st.subheader("Local accounts")
with stop_on_user_error():
    users = UsersFile()
    accounts = users.list_users()
st.caption(f"Users file: {users.path}")

if message := st.session_state.pop("users_message", None):
    st.success(message, icon=":material/lock_open:")

if not accounts:
    st.info("There are no local accounts.", icon=":material/group_off:")
else:
    st.dataframe([{"User": a.name, "Role": ROLE_TITLES[a.role],
                   "State": "Locked" if a.locked else "Active",
                   "Failed sign-ins": a.failed_attempts,
                   "Last sign-in": a.last_sign_in or "never"} for a in accounts],
                 hide_index=True)

stuck = [a.name for a in accounts if a.locked or a.failed_attempts]
if stuck:
    with st.form("users_unlock", width=480):
        st.selectbox("Account to unlock", stuck, key="users_unlock_name")
        st.form_submit_button("Unlock", icon=":material/lock_open:", on_click=unlock)

st.caption("Add, remove and change accounts on the server (an administrator's terminal):")
st.code(MANAGE, language="bash")
