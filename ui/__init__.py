"""Streamlit helpers the pages share: session and sign-in, the page registry, cached loaders.
Only pages live in ``pages/``; their helpers live here."""
