"""Landing page: what the store holds, for which period, and whether it is real or synthetic."""
import streamlit as st

from ui.loaders import load_overview, stop_on_user_error
from ui.session import require_page_role

ATTRIBUTION = (
    "Contains public sector information licensed under the Open Government Licence v3.0. "
    "Source: Office for National Statistics licensed under the Open Government Licence v.3.0. "
    "Contains OS data © Crown copyright and database right 2014–2022."
)
BUILD_DEMO = "python -m data.synthetic --store store --years 5 --seed 1"
LOAD_REAL = "python -m data.ingest FILE --feed nrm"

principal = require_page_role("overview")

st.title("West Yorkshire exploitation dashboard")
st.caption("Modern slavery referrals, Operation Rosewood and Operation Mandevilla, by district.")

with stop_on_user_error():
    overview = load_overview(principal)

if overview.is_empty:
    st.info("The store holds no records yet, so there is nothing to show.",
            icon=":material/inventory_2:")
    st.text(f"Store: {overview.store_url}")
    st.markdown("To explore the dashboard with **synthetic demo data**, run `make run` "
                "(it builds the demo store when there is none), or build it yourself:")
    st.code(BUILD_DEMO, language="bash")
    st.markdown("To load **real partner data**, ingest each partner file with its feed "
                "(`nrm`, `rosewood` or `mandevilla`):")
    st.code(LOAD_REAL, language="bash")
elif overview.is_synthetic:
    st.error("**SYNTHETIC DATA — not real cases.** Every record here was generated for "
             "demonstration and testing. Do not use these figures for decisions.",
             icon=":material/science:")
elif overview.data_kind == "real":
    st.info("**Real partner data.** Handle these figures under your information-sharing "
            "agreement.", icon=":material/verified_user:")
else:
    st.warning("**Real and synthetic data are mixed in this store.** The figures below combine "
               "both: rebuild the store from real files only before using them.",
               icon=":material/warning:")

if not overview.is_empty:
    st.header(f"Period: {overview.period_label}")
    st.caption(f"{overview.records_label} records from {overview.n_batches:,} ingested batches; "
               f"last ingest {overview.last_ingested_label}. {overview.purge_label}")

    # Metric labels are cut to one line, so the tile shows the short title; hover for the full one.
    for column, feed in zip(st.columns(len(overview.feeds)), overview.feeds):
        column.metric(feed.short_title, feed.display, help=feed.title, border=True)

    st.header("Records by district")
    st.dataframe(overview.district_table)
    if overview.suppressed:
        st.caption(overview.suppression_note)

st.divider()
st.caption(ATTRIBUTION)
