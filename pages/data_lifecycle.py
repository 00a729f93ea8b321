"""Administration: the data lifecycle. Batches stored (find a partner's file by its name, and
the accommodation sites list, an exposure layer),
retention per feed (when the oldest data will be purged), past withdrawals and purges, and the
withdrawal of a batch sent in error, confirmed by typing its id. Every withdrawal is audited."""
import streamlit as st

from core.errors import DashboardError
from storage.open import open_store
from ui.admin_loaders import load_lifecycle
from ui.loaders import stop_on_user_error
from ui.session import require_page_role
from views.lifecycle import withdraw_from_page

COMMANDS = """python -m data.store batches
python -m data.store withdraw --batch BATCH_ID --reason TEXT
python -m data.store withdraw --records ids.csv --reason TEXT
python -m data.store purge            # dry run; --apply to remove
python -m safeguards.audit purge      # audit entries past AUDIT_RETENTION_YEARS"""

principal = require_page_role("data_lifecycle")


def withdraw() -> None:
    """Shown at the top of the next run: what was withdrawn, or why nothing was."""
    try:
        st.session_state["lifecycle_message"] = ("success", withdraw_from_page(
            open_store(), principal, st.session_state["lifecycle_batch"],
            st.session_state["lifecycle_confirm"], st.session_state["lifecycle_reason"]))
    except DashboardError as exc:
        st.session_state["lifecycle_message"] = ("error", str(exc))


st.title("Data lifecycle")
st.caption("What is stored, how long it is kept, and what was taken back. Withdrawing a batch "
           "removes every record of it from the store, with no copy left in the store's files.")

if message := st.session_state.pop("lifecycle_message", None):
    kind, text = message
    if kind == "success":
        st.success(text, icon=":material/delete_forever:")
    else:
        st.error(text, icon=":material/block:")

with stop_on_user_error():
    view = load_lifecycle(principal)

st.header("Retention")
st.dataframe(view.retention, hide_index=True)
st.caption("Periods are set per feed with RETENTION_YEARS_NRM, RETENTION_YEARS_ROSEWOOD and "
           "RETENTION_YEARS_MANDEVILLA; records past them are removed by the purge command. "
           "Accommodation sites (Rosewood's denominator) are kept for Rosewood's period after "
           "they close; a withdrawn or emptied list leaves Rosewood measured against "
           "residents.")

st.header("Batches")
if view.batches.empty:
    st.info("The store holds no batches.", icon=":material/inventory_2:")
else:
    st.dataframe(view.batches, hide_index=True)
    with st.form("lifecycle_withdraw", width=640):
        st.markdown("**Withdraw a batch sent in error**")
        st.selectbox("Batch", view.batch_ids, key="lifecycle_batch")
        st.text_input("Reason (kept in the audit log)", key="lifecycle_reason")
        st.text_input("Type the batch id to confirm", key="lifecycle_confirm")
        st.form_submit_button("Withdraw batch", icon=":material/delete_forever:",
                              on_click=withdraw)

st.header("Withdrawals and purges")
if view.actions.empty:
    st.caption("None yet.")
else:
    st.dataframe(view.actions, hide_index=True)

st.caption("On the server (an administrator's terminal):")
st.code(COMMANDS, language="bash")
