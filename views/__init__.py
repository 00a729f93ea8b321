"""What each page shows, as plain data: overview, explore, trends, meeting, hotspots, tasking,
exports and view state. Built on the role-scoped query; no Streamlit here."""
