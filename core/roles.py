"""Roles and what each may see: the single policy table the query layer and the router read.

Granularity is the point: each role gets only the detail its work needs. The query layer
(``safeguards.access``) enforces these rules where data is read; the router only hides pages.
"""
from __future__ import annotations

from core.errors import AccessDenied

ROLES = ("analyst", "chair", "executive", "admin")
ROLE_TITLES = {
    "analyst": "Analyst",
    "chair": "Partnership chair",
    "executive": "Deputy Mayor's office",
    "admin": "Administrator",
}

# Area levels each role may aggregate to. "point" means geomasked point-level rows.
LEVELS = {
    "analyst": ("point", "hex", "lsoa", "ward", "district"),
    "chair": ("ward", "district"),
    "executive": ("district",),
    "admin": ("district",),
}
# Which roles' aggregates are suppressed is decided in one place: safeguards.disclosure.must_suppress.

# Actions beyond reading aggregates.
ACTIONS = {
    "analyst": {"view_points", "run_models", "export_aggregates", "view_hotspots"},
    "chair": {"view_hotspots", "tasking", "export_aggregates"},
    "executive": {"export_aggregates"},
    "admin": {"ingest", "manage_users", "view_audit"},
}


def check_role(role: str) -> str:
    if role not in ROLES:
        raise AccessDenied(f"unknown role {role!r}; roles are {', '.join(ROLES)}")
    return role


def may_see_level(role: str, level: str) -> bool:
    """Whether ``role`` may see data aggregated to ``level`` (or points, for "point")."""
    return level in LEVELS[check_role(role)]


def may(role: str, action: str) -> bool:
    """Whether ``role`` may perform ``action`` (for hiding UI; ``require`` is the guard)."""
    return action in ACTIONS[check_role(role)]


def require(role: str, action: str) -> None:
    """Raise ``AccessDenied`` unless ``role`` may perform ``action``."""
    if not may(role, action):
        raise AccessDenied(f"the {ROLE_TITLES[role].lower()} role may not {action.replace('_', ' ')}")


def require_level(role: str, level: str) -> None:
    """Raise ``AccessDenied`` unless ``role`` may see data at ``level``."""
    if not may_see_level(role, level):
        allowed = ", ".join(LEVELS[role])
        raise AccessDenied(f"the {ROLE_TITLES[role].lower()} role may not see {level}-level data "
                           f"(allowed: {allowed})")
