"""Which role sees which page: the one table the router and every page's own guard read.

``ROLE_PAGES`` is the table to edit when a page is added. The router builds each role's sidebar
from it, and each page calls ``require_page_role(<key>)`` (``ui.session``), which checks
the same table, so a page hidden from a role cannot be opened by URL either. A page that needs
an action from ``core.roles.ACTIONS`` names it, and the check requires that too.

No Streamlit here: ``dashboard.py`` turns these specs into ``st.Page`` objects.
"""
from __future__ import annotations

from dataclasses import dataclass

from core.errors import AccessDenied
from core.roles import ROLE_TITLES, ROLES, may


@dataclass(frozen=True)
class PageSpec:
    """One page: its key (URL path and audit name), script, sidebar title, icon and section."""

    key: str
    path: str
    title: str
    icon: str
    section: str  # a grouping for readers; the sidebar is one flat list (dashboard.pages_for)
    action: str | None = None  # an action of core.roles.ACTIONS the page needs, if any


PAGES = {spec.key: spec for spec in (
    PageSpec("overview", "pages/home.py", "Overview", ":material/home:", "Dashboard"),
    PageSpec("explore", "pages/explore.py", "Explore", ":material/map:", "Analysis"),
    PageSpec("hotspots", "pages/hotspots.py", "Hotspots", ":material/crisis_alert:",
             "Analysis", action="view_hotspots"),
    PageSpec("meeting", "pages/meeting.py", "Meeting", ":material/co_present:",
             "Meetings"),
    PageSpec("trends", "pages/trends.py", "Trends", ":material/trending_up:", "Analysis"),
    PageSpec("audit_log", "pages/audit_log.py", "Audit log", ":material/policy:",
             "Administration", action="view_audit"),
    PageSpec("users", "pages/users.py", "Users", ":material/group:", "Administration",
             action="manage_users"),
    PageSpec("data_lifecycle", "pages/data_lifecycle.py", "Data lifecycle",
             ":material/auto_delete:", "Administration", action="ingest"),
)}
DEFAULT_PAGE = "overview"

# Sidebar order per role.
ROLE_PAGES = {
    "analyst": ("overview", "explore", "hotspots", "trends", "meeting"),
    "chair": ("overview", "explore", "hotspots", "trends", "meeting"),
    "executive": ("overview", "trends", "meeting"),
    "admin": ("overview", "audit_log", "users", "data_lifecycle"),
}


def pages_for(role: str) -> list[PageSpec]:
    """The pages ``role`` may open, in sidebar order."""
    if role not in ROLES:
        raise AccessDenied(f"unknown role {role!r}; roles are {', '.join(ROLES)}")
    return [PAGES[key] for key in ROLE_PAGES[role]]


def check_page_access(role: str | None, key: str) -> None:
    """Raise ``AccessDenied`` unless ``role`` may open page ``key`` (``None``: nobody signed in)."""
    if role is None:
        raise AccessDenied("sign in to open this page")
    spec = PAGES.get(key)
    if spec is None:
        raise AccessDenied(f"there is no page {key!r}")
    allowed = key in ROLE_PAGES.get(role, ()) and (spec.action is None or may(role, spec.action))
    if not allowed:
        raise AccessDenied(f"the {ROLE_TITLES.get(role, role).lower()} role may not open the "
                           f"{spec.title} page")
