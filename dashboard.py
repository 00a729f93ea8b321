"""Entry point: ``streamlit run dashboard.py``. A router only: who may see which pages.

Sign-in and roles arrive in a later issue. Then ``current_role()`` reads the signed-in user
(``st.user``), ``pages_for(role)`` adds the pages of that role, and a signed-out visitor gets only
the sign-in page. Every page still checks the role itself: hiding a page is not a guard.
"""
import streamlit as st

st.set_page_config(
    page_title="West Yorkshire exploitation dashboard",
    # An emoji, not ":material/...:": Streamlit fetches a Material favicon from fonts.gstatic.com.
    page_icon="🗺️",
    layout="wide",
)

OVERVIEW = st.Page("app_pages/home.py", title="Overview", icon=":material/home:", default=True)


def current_role() -> str | None:
    """The signed-in user's role; None until sign-in exists."""
    return None


def pages_for(role: str | None) -> dict[str, list[st.Page]]:
    """The pages a user with ``role`` may open, by sidebar section."""
    pages = {"Dashboard": [OVERVIEW]}
    # Role-specific sections (analyst, meeting chair, executive office) are added here.
    return pages


st.navigation(pages_for(current_role())).run()
