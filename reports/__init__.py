"""Printable outputs (PDF): the briefing pack and tasking sheets. No streamlit here."""
