"""Administration: the audit log, filtered, and whether its hash chain is intact."""
import datetime as dt

import streamlit as st

from safeguards.audit import ACTIONS
from ui.admin_loaders import (
    CHAIN_CHECK_TTL_S,
    check_chain_now,
    load_audit_table,
    load_chain_check,
)
from ui.loaders import stop_on_user_error
from ui.session import require_page_role
from views.audit_log import DATE_INPUT_FORMAT, checked_text, entry_in_full, table_height

ALL_ACTIONS = "All actions"

require_page_role("audit_log")

st.title("Audit log")
st.caption("Every sign-in, sign-out, failed sign-in, page view, refusal and data access, "
           "newest first. Entries are hash-chained: editing or deleting one breaks the chain.")

with stop_on_user_error():
    check = load_chain_check()
chain = check.result
status, again = st.columns([3, 1], vertical_alignment="center")  # the label whole at 1440 px
if chain.ok:
    status.success(f"Chain intact: {chain.entries:,} entries, {checked_text(check.checked_at)}.",
                   icon=":material/verified:")
else:
    status.error(f"Chain broken: {chain} ({checked_text(check.checked_at)})",
                 icon=":material/gpp_bad:")
again.button("Check the chain now", icon=":material/refresh:", on_click=check_chain_now,
             key="audit_check_now",
             help=f"The chain is checked when the page opens, at most every "
                  f"{CHAIN_CHECK_TTL_S} s (checking walks every entry).")

since_col, until_col, actor_col, action_col, limit_col = st.columns([2, 2, 3, 2, 2])
since = since_col.date_input("From", value=None, key="audit_since", format=DATE_INPUT_FORMAT)
until = until_col.date_input("To (inclusive)", value=None, key="audit_until",
                             format=DATE_INPUT_FORMAT)
actor = actor_col.text_input("Who (user name or email)", key="audit_actor")
action = action_col.selectbox("Action", [ALL_ACTIONS, *ACTIONS], key="audit_action")
limit = limit_col.number_input("Show at most", min_value=1, max_value=10_000, value=200,
                               step=50, key="audit_limit")

with stop_on_user_error():
    table, count = load_audit_table(since, until + dt.timedelta(days=1) if until else None,
                                    actor.strip() or None,
                                    None if action == ALL_ACTIONS else action, int(limit))

st.caption(count)
shown = st.dataframe(table, hide_index=True, width="stretch", key="audit_table",
                     height=table_height(len(table)),
                     on_select="rerun", selection_mode="single-row",
                     column_config={"Details": st.column_config.TextColumn(width="large"),
                                    "Filters": st.column_config.TextColumn(width="large"),
                                    "#": st.column_config.NumberColumn(
                                        help="The entry's number in the hash chain")})
# The grid cuts long details at the column's width; the selected entry is shown whole here,
# as an HTML table whose cells wrap (and escape what users typed, such as a name).
full = entry_in_full(table, shown.selection.rows)
if full is None:
    st.caption("Select a row (the box at its left) to read its entry in full here.")
else:
    st.subheader("The selected entry in full")
    st.table(full, hide_index=True)
