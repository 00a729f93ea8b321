"""What the admin's Users page shows and does: the accounts, and add / set role / unlock / remove.

The changes go through ``safeguards.user_admin.UserAdmin`` (admin role only, audited); this
module turns accounts into table rows, outcomes into messages, and says what each confirmation
asks. Nothing here, or in a message, names a file or a path on the server.

No Streamlit here.
"""
from __future__ import annotations

from dataclasses import dataclass

from core.errors import AccessDenied, ConfigError, DashboardError
from core.roles import ROLE_TITLES, ROLES
from safeguards import auth
from safeguards.user_admin import UserAdmin, UserAdminError
from safeguards.users import MIN_PASSWORD_LENGTH, UserInfo
from views.readable import time_text

# Changes that ask "are you sure?" first.
SET_ROLE, REMOVE = "set_role", "remove"
PASSWORD_HELP = (f"At least {MIN_PASSWORD_LENGTH} characters; a few unrelated words make a good "
                 "one. Give it to the person by a separate channel; they cannot change it "
                 "themselves yet, so an administrator sets a new one if it is lost.")
NO_AUDIT = ("The change was not made: the audit log could not be written, and every change to "
            "an account must be audited. Try again; if it goes on, tell the server's "
            "administrator.")
ROLES_FILE_NOTE = ("Roles of organisation (identity-provider) accounts come from the roles "
                   "file on the server (the ROLES_FILE setting); the server's administrator "
                   "changes them there.")


@dataclass(frozen=True)
class Outcome:
    """What happened to a change: ``ok`` and the message to show."""

    ok: bool
    message: str


@dataclass(frozen=True)
class UsersView:
    """The page's figures: table ``rows``, every account ``names``, those with a lockout or
    failed sign-ins to clear (``unlockable``)."""

    rows: list[dict]
    names: list[str]
    unlockable: list[str]
    roles: dict[str, str]


def role_title(role: str) -> str:
    return ROLE_TITLES.get(role, role)


def state_text(info: UserInfo) -> str:
    """"Active", "Active, 2 failed sign-ins", "Locked until 15 Dec 2026 10:10:00 UTC" or
    "Locked until an administrator unlocks it"."""
    if info.locked:
        if info.locked_until == "never" or not info.locked_until:
            return "Locked until an administrator unlocks it"
        return f"Locked until {time_text(info.locked_until)} UTC"
    if info.failed_attempts:
        plural = "s" if info.failed_attempts != 1 else ""
        return f"Active, {info.failed_attempts} failed sign-in{plural}"
    return "Active"


def account_rows(accounts: list[UserInfo]) -> list[dict]:
    """One row per account for the table: no hash, times in the app's format (UTC)."""
    return [{"User": a.name, "Role": role_title(a.role), "State": state_text(a),
             "Last sign-in (UTC)": time_text(a.last_sign_in) if a.last_sign_in else "never"}
            for a in accounts]


def users_view(admin: UserAdmin) -> UsersView:
    """The accounts as the page shows them. Raises ``AccessDenied`` for a role other than admin,
    ``UserAdminError`` if the users file cannot be read."""
    accounts = admin.accounts()
    return UsersView(rows=account_rows(accounts), names=[a.name for a in accounts],
                     unlockable=[a.name for a in accounts if a.locked or a.failed_attempts],
                     roles={a.name: a.role for a in accounts})


def organisation_rows() -> list[dict]:
    """The roles file's mapping of identity-provider accounts, as rows. Raises
    ``UserAdminError`` (without the file's path) if it cannot be read."""
    try:
        role_map = auth.load_role_map()
    except ConfigError:
        raise UserAdminError("the roles file cannot be read; the server's administrator can "
                             "check the ROLES_FILE setting") from None
    return [{"Email or roles claim": who, "Role": role_title(role)}
            for who, role in [*role_map.emails.items(), *role_map.roles_claim.items()]]


# -- changes -----------------------------------------------------------------------------------
def _attempt(change, done: str) -> Outcome:
    try:
        change()
    except AccessDenied:
        raise
    except UserAdminError as exc:
        return Outcome(False, _sentence(str(exc)))
    except DashboardError:
        return Outcome(False, NO_AUDIT)
    return Outcome(True, done)


def _sentence(text: str) -> str:
    text = text.strip()
    return (text[:1].upper() + text[1:]).rstrip(".") + "."


def shown_name(name: str) -> str:
    """An account name in a message (Markdown): as code, so an email address is not a link.
    Names hold no backtick (``safeguards.users.NAME_PATTERN``)."""
    return f"`{name.strip().lower()}`"


def add_account(admin: UserAdmin, name: str, role: str, password: str, again: str) -> Outcome:
    return _attempt(lambda: admin.add(name, role, password, again),
                    f"Account {shown_name(name)} added as {role_title(role)}. They can sign in "
                    "now.")


def set_role(admin: UserAdmin, name: str, role: str) -> Outcome:
    return _attempt(lambda: admin.set_role(name, role),
                    f"{shown_name(name)} is now {role_title(role)}, from their next click.")


def unlock(admin: UserAdmin, name: str) -> Outcome:
    return _attempt(lambda: admin.unlock(name), f"{shown_name(name)} unlocked.")


def remove(admin: UserAdmin, name: str) -> Outcome:
    return _attempt(lambda: admin.remove(name), f"Account {shown_name(name)} removed.")


def confirm_text(action: str, name: str, role: str | None = None, current: str | None = None
                 ) -> str:
    """The question a confirmation asks before ``action`` on ``name``."""
    if action == REMOVE:
        return (f"Remove the account {shown_name(name)}? They will no longer be able to sign "
                "in, and a session they have open ends at their next click. This cannot be "
                "undone.")
    if action == SET_ROLE:
        was = f" from {role_title(current)}" if current else ""
        return (f"Change the role of {shown_name(name)}{was} to **{role_title(role)}**? What "
                "they may see changes at their next click.")
    raise ValueError(f"no confirmation for {action!r}")


def role_choices() -> tuple[str, ...]:
    return ROLES



def role_index(role: str | None) -> int:
    """Where ``role`` is in ``role_choices()``: the "New role" select starts there (the first
    choice for a role the app does not know)."""
    choices = role_choices()
    return choices.index(role) if role in choices else 0
