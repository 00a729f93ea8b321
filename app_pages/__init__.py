"""Streamlit page scripts, registered explicitly by ``dashboard.py`` through ``st.navigation``.

Not called ``pages/``: Streamlit treats a ``pages/`` folder beside the entry point as a legacy
multipage app and runs the first session through it before ``st.navigation`` takes over.
"""
