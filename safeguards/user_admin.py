"""Managing local accounts from the dashboard: add, set role, unlock, remove. Admin only, audited.

The Users page (``pages/users.py`` through ``views.users``) calls this; the command line
(``python -m safeguards.users``) does the same with the operating-system user as the actor.
Here the actor is the signed-in person and their role, and every call checks first that the
role may ``manage_users`` (``core.roles.require``): hiding the page is not the guard.

Every change is written to the store's audit log as ``user-change`` (who, their role, page
"users", and what changed; never a password). The log is reached before anything changes, so a
log out of reach changes nothing. Messages never name a file or a path: the person reading them
is in a browser, not on the server.

Guards beyond the role: an administrator cannot remove their own account or change its role
(so nobody locks themselves out by mistake), and the last administrator account cannot be
removed or given another role.
"""
from __future__ import annotations

from dataclasses import dataclass

from core.errors import ConfigError, DashboardError
from core.roles import ROLE_TITLES, require
from safeguards.audit import AuditEvent, record
from safeguards.users import (
    UserInfo,
    UsersFile,
    UsersFileError,
    check_name,
    check_password,
    check_role_name,
    normalise_name,
)
from storage.open import audit_sink

ACTION = "manage_users"
PAGE = "users"


class UserAdminError(DashboardError):
    """A change the administrator asked for cannot be made; the message says why (no paths)."""


@dataclass(frozen=True)
class UserAdmin:
    """Account management as ``actor`` (signed in with ``role``), audited in ``store``'s log.

    Parameters
    ----------
    actor, role : str
        Who is making the changes; ``role`` must allow ``manage_users`` or every method raises
        ``core.errors.AccessDenied``.
    store : Store
        Whose audit log records the changes.
    users : UsersFile, optional
        Default: the deployment's users file (``USERS_FILE``).
    """

    actor: str
    role: str
    store: object
    users: UsersFile | None = None

    def _file(self) -> UsersFile:
        return self.users or UsersFile()

    def _guard(self) -> UsersFile:
        require(self.role, ACTION)
        audit_sink(self.store).head()  # raises now, before any change, if the log is out of reach
        return self._file()

    def _audit(self, detail: str) -> None:
        record(self.store, AuditEvent(action="user-change", actor=self.actor, role=self.role,
                                      page=PAGE, detail=detail))

    def _existing(self, users: UsersFile, name: str) -> UserInfo:
        info = _read(users.get, name)
        if info is None:
            raise UserAdminError(f"there is no account {normalise_name(name)!r}")
        return info

    def _admins(self, users: UsersFile) -> list[str]:
        return [u.name for u in _read(users.list_users) if u.role == "admin"]

    def _not_yourself(self, name: str, what: str) -> None:
        if normalise_name(name) == normalise_name(self.actor):
            raise UserAdminError(f"you cannot {what} your own account; ask another "
                                 "administrator")

    # -- reading -------------------------------------------------------------------------------
    def accounts(self) -> list[UserInfo]:
        """Every local account, by name, without hashes."""
        require(self.role, ACTION)
        return _read(self._file().list_users)

    # -- changes -------------------------------------------------------------------------------
    def add(self, name: str, role: str, password: str, again: str) -> UserInfo:
        """Add an account with ``role`` and an initial password, typed twice."""
        users = self._guard()
        norm = _checked(check_name, name)
        _checked(check_role_name, role)
        if _read(users.get, norm) is not None:
            raise UserAdminError(f"there is already an account {norm!r}")
        _checked(check_password, password)
        if password != again:
            raise UserAdminError("the two passwords differ; nothing was changed")
        info = _change(users.add, norm, role, password)
        self._audit(f"added {info.name} as {info.role}")
        return info

    def set_role(self, name: str, role: str) -> UserInfo:
        """Give an account another role (it applies at the account's next interaction)."""
        users = self._guard()
        before = self._existing(users, name)
        _checked(check_role_name, role)
        if role == before.role:
            raise UserAdminError(f"{before.name} is already {ROLE_TITLES[role]}")
        self._not_yourself(name, "change the role of")
        if before.role == "admin" and self._admins(users) == [before.name]:
            raise UserAdminError(f"{before.name} is the only administrator; add another "
                                 "administrator first")
        _change(users.set_role, before.name, role)
        self._audit(f"role of {before.name} changed from {before.role} to {role}")
        return self._existing(users, before.name)

    def unlock(self, name: str) -> UserInfo:
        """Clear an account's lockout and count of failed sign-ins."""
        users = self._guard()
        before = self._existing(users, name)
        _change(users.unlock, before.name)
        self._audit(f"unlocked {before.name}")
        return self._existing(users, before.name)

    def remove(self, name: str) -> None:
        """Remove an account: it can no longer sign in (a session open now ends at its next
        interaction)."""
        users = self._guard()
        before = self._existing(users, name)
        self._not_yourself(name, "remove")
        if before.role == "admin" and self._admins(users) == [before.name]:
            raise UserAdminError(f"{before.name} is the only administrator and cannot be "
                                 "removed")
        _change(users.remove, before.name)
        self._audit(f"removed {before.name} ({before.role})")


def _checked(check, value):
    try:
        return check(value)
    except UsersFileError as exc:
        raise UserAdminError(str(exc)) from None


def _read(method, *args):
    try:
        return method(*args)
    except ConfigError:
        raise UserAdminError("the users file cannot be read; the server's administrator can "
                             "check it with `python -m safeguards.users list`") from None


def _change(method, *args):
    try:
        return method(*args)
    except (UsersFileError, ConfigError, OSError) as exc:
        # UsersFile's messages name its path; say what happened without it.
        raise UserAdminError(f"the change could not be made ({type(exc).__name__}); nothing "
                             "was changed") from None
