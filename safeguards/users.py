"""Local accounts for a deployment without an identity provider: names, roles, argon2 hashes.

    python -m safeguards.users add NAME --role ROLE     # asks for the password twice (never echoed)
    python -m safeguards.users add NAME --role ROLE --password-stdin   # one line from stdin
    python -m safeguards.users list                     # names, roles, lock state; never hashes
    python -m safeguards.users set-role NAME ROLE
    python -m safeguards.users set-password NAME [--password-stdin]
    python -m safeguards.users unlock NAME
    python -m safeguards.users remove NAME

Passwords are asked for on the terminal, twice. A script pipes the password instead, with
``--password-stdin`` (the first line of standard input; never an argument, which ``ps`` would
show). Without the flag and without a terminal the command stops with exit 2 and says so.

Every change made from the command line (add, set-role, set-password, unlock, remove) is written
to the store's audit log (``--store``, else ``STORE_URL``, else ``./store``) as ``user-change``:
the operating-system user who ran it, and what changed, never the password. The store is checked
before anything is changed, so a store that cannot be reached changes nothing.

The file (``USERS_FILE``, default ``instance/users.json``, git-ignored) is JSON, readable by its
owner only, and always replaced whole (temporary file, then rename) under a file lock, so a
crash or two sign-ins at once never leave it half written. It holds each user's role, password
hash (argon2id) and lockout state: failed sign-ins in a row and ``locked_until``. Lockout is
persisted so that neither a page reload nor a new session resets it.
"""
from __future__ import annotations

import argparse
import datetime as dt
import getpass
import json
import os
import re
import sys
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import filelock
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from core import clock
from core.errors import ConfigError, DashboardError
from core.roles import ROLE_TITLES, ROLES
from safeguards.auth import LockoutPolicy, lockout_policy, users_file_path

FORMAT = 1
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._@-]{0,63}$")
MIN_PASSWORD_LENGTH = 12
LOCK_TIMEOUT_S = 30

# Why a sign-in failed. The person signing in is told none of this (one generic message);
# the audit log records it.
OK, UNKNOWN_USER, WRONG_PASSWORD, LOCKED = "ok", "unknown-user", "wrong-password", "locked"


class UsersFileError(DashboardError):
    """A users-file command cannot be carried out (unknown user, bad role, weak password...)."""


@dataclass(frozen=True)
class User:
    """One local account as stored. Listings return ``UserInfo`` instead, which has no hash."""

    name: str
    role: str
    password_hash: str
    failed_attempts: int = 0
    locked_until: str | None = None   # ISO 8601 UTC; "never" = until an administrator unlocks
    created: str | None = None
    last_sign_in: str | None = None


@dataclass(frozen=True)
class UserInfo:
    """What a listing shows of a user: no hash."""

    name: str
    role: str
    failed_attempts: int
    locked: bool
    locked_until: str | None
    last_sign_in: str | None


@dataclass(frozen=True)
class SignInResult:
    """The outcome of ``UsersFile.authenticate``: ``user`` and ``role`` are set only on success.

    ``reason`` is one of "ok", "unknown-user", "wrong-password", "locked"; ``locked_now`` says
    this failure locked the account.
    """

    reason: str
    user: str | None = None
    role: str | None = None
    locked_now: bool = False

    @property
    def ok(self) -> bool:
        return self.reason == OK


def normalise_name(name: str) -> str:
    """Names are case-insensitive: stored and compared in lower case."""
    return name.strip().lower()


def check_name(name: str) -> str:
    """Return the normalised name, or raise ``UsersFileError`` naming the rule it breaks."""
    norm = normalise_name(name)
    if not NAME_PATTERN.match(norm):
        raise UsersFileError(f"user name {name!r} is not allowed: use 1-64 letters, digits, "
                             "'.', '_', '-' or '@', starting with a letter or digit")
    return norm


def check_role_name(role: str) -> str:
    if role not in ROLES:
        raise UsersFileError(f"role {role!r} is not a role; roles are {', '.join(ROLES)}")
    return role


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UsersFileError(f"the password is too short: use at least {MIN_PASSWORD_LENGTH} "
                             "characters (a few unrelated words make a good one)")
    return password


def _utcnow() -> dt.datetime:
    return clock.now()


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).isoformat(timespec="seconds")


def _is_locked(user: User, now: dt.datetime) -> bool:
    if user.locked_until is None:
        return False
    if user.locked_until == "never":
        return True
    return now < dt.datetime.fromisoformat(user.locked_until)


class UsersFile:
    """The users file at ``path`` (default: ``USERS_FILE``).

    Parameters
    ----------
    path : path-like, optional
    hasher : argon2.PasswordHasher, optional
        Defaults to argon2-cffi's recommended argon2id parameters; tests pass a cheaper one.
    policy : LockoutPolicy, optional
        Defaults to ``LOCKOUT_ATTEMPTS`` / ``LOCKOUT_MIN``.
    """

    def __init__(self, path=None, *, hasher: PasswordHasher | None = None,
                 policy: LockoutPolicy | None = None):
        self.path = Path(path or users_file_path())
        self.hasher = hasher or PasswordHasher()
        self.policy = policy or lockout_policy()
        self._dummy_hash: str | None = None

    # -- reading -----------------------------------------------------------------------------
    def exists(self) -> bool:
        return self.path.exists()

    def _read(self) -> dict[str, User]:
        try:
            content = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise ConfigError(f"USERS_FILE {self.path}: cannot read it: {exc}") from exc
        if not isinstance(content, dict) or content.get("format") != FORMAT:
            raise ConfigError(f"USERS_FILE {self.path}: not a users file of format {FORMAT}")
        try:
            return {name: User(name=name, **fields) for name, fields in content["users"].items()}
        except (KeyError, TypeError, AttributeError) as exc:
            raise ConfigError(f"USERS_FILE {self.path}: malformed user entry: {exc}") from exc

    def get(self, name: str) -> UserInfo | None:
        """The user called ``name`` (case-insensitive), without the hash, or None."""
        user = self._read().get(normalise_name(name))
        return _info(user) if user else None

    def list_users(self) -> list[UserInfo]:
        """Every user, by name, without hashes."""
        return [_info(u) for _, u in sorted(self._read().items())]

    def role_of(self, name: str) -> str | None:
        """The current role of ``name``, None if the user no longer exists."""
        user = self._read().get(normalise_name(name))
        return user.role if user else None

    # -- writing -----------------------------------------------------------------------------
    def _lock(self) -> filelock.FileLock:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        return filelock.FileLock(str(self.path) + ".lock", timeout=LOCK_TIMEOUT_S)

    def _write(self, users: dict[str, User]) -> None:
        content = {"format": FORMAT,
                   "users": {name: {k: v for k, v in asdict(u).items() if k != "name"}
                             for name, u in sorted(users.items())}}
        fd, tmp = tempfile.mkstemp(prefix=".users-", suffix=".tmp", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:  # mkstemp: mode 0600
                json.dump(content, handle, indent=2)
                handle.write("\n")
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def _update(self, name: str, change: Callable[[User], User | None]) -> None:
        norm = normalise_name(name)
        with self._lock():
            users = self._read()
            if norm not in users:
                raise UsersFileError(f"no user {name!r} in {self.path}")
            updated = change(users[norm])
            if updated is None:
                del users[norm]
            else:
                users[norm] = updated
            self._write(users)

    def add(self, name: str, role: str, password: str) -> UserInfo:
        """Add a user. Raises ``UsersFileError`` if the name is taken or anything is invalid."""
        norm, role = check_name(name), check_role_name(role)
        password_hash = self.hasher.hash(check_password(password))
        with self._lock():
            users = self._read()
            if norm in users:
                raise UsersFileError(f"user {norm!r} already exists in {self.path}")
            users[norm] = User(name=norm, role=role, password_hash=password_hash,
                               created=_iso(_utcnow()))
            self._write(users)
        return _info(users[norm])

    def remove(self, name: str) -> None:
        self._update(name, lambda user: None)

    def set_role(self, name: str, role: str) -> None:
        check_role_name(role)
        self._update(name, lambda user: replace(user, role=role))

    def set_password(self, name: str, password: str) -> None:
        """Replace the password; also clears any lockout."""
        password_hash = self.hasher.hash(check_password(password))
        self._update(name, lambda user: replace(user, password_hash=password_hash,
                                                failed_attempts=0, locked_until=None))

    def unlock(self, name: str) -> None:
        """Clear the lockout and the count of failed sign-ins."""
        self._update(name, lambda user: replace(user, failed_attempts=0, locked_until=None))

    # -- signing in --------------------------------------------------------------------------
    def authenticate(self, name: str, password: str, *,
                     now: dt.datetime | None = None) -> SignInResult:
        """Check a name and password, counting failures and locking the account when due.

        Every outcome takes about as long (an unknown name or a locked account still costs one
        hash verification), so timing does not tell whether a name exists. The caller shows
        one message for every failure and adds its own delay (``safeguards.auth.failure_delay``).

        Returns
        -------
        SignInResult
        """
        now = now or _utcnow()
        norm = normalise_name(name)
        with self._lock():
            users = self._read()
            user = users.get(norm)
            if user is None:
                self._verify_dummy(password)
                return SignInResult(UNKNOWN_USER)
            if _is_locked(user, now):
                self._verify_dummy(password)
                return SignInResult(LOCKED, user=norm)
            if user.locked_until is not None:  # a lock that has run out: start counting afresh
                user = replace(user, failed_attempts=0, locked_until=None)
            if not self._verify(user.password_hash, password):
                user, locked_now = self._count_failure(user, now)
                users[norm] = user
                self._write(users)
                return SignInResult(WRONG_PASSWORD, user=norm, locked_now=locked_now)
            users[norm] = self._signed_in(user, password, now)
            self._write(users)
            return SignInResult(OK, user=norm, role=user.role)

    def _verify(self, password_hash: str, password: str) -> bool:
        try:
            return self.hasher.verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def _verify_dummy(self, password: str) -> None:
        if self._dummy_hash is None:
            self._dummy_hash = self.hasher.hash("not a password of anyone")
        self._verify(self._dummy_hash, password)

    def _count_failure(self, user: User, now: dt.datetime) -> tuple[User, bool]:
        failed = user.failed_attempts + 1
        if failed < self.policy.attempts:
            return replace(user, failed_attempts=failed), False
        until = ("never" if self.policy.lock_s is None
                 else _iso(now + dt.timedelta(seconds=self.policy.lock_s)))
        return replace(user, failed_attempts=failed, locked_until=until), True

    def _signed_in(self, user: User, password: str, now: dt.datetime) -> User:
        password_hash = user.password_hash
        if self.hasher.check_needs_rehash(password_hash):
            password_hash = self.hasher.hash(password)
        return replace(user, password_hash=password_hash, failed_attempts=0, locked_until=None,
                       last_sign_in=_iso(now))


def _info(user: User) -> UserInfo:
    return UserInfo(name=user.name, role=user.role, failed_attempts=user.failed_attempts,
                    locked=_is_locked(user, _utcnow()), locked_until=user.locked_until,
                    last_sign_in=user.last_sign_in)


def has_users(path=None) -> bool:
    """Whether local sign-in is configured: the users file exists and holds a user."""
    try:
        content = json.loads(Path(path or users_file_path()).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return False
    except (OSError, ValueError) as exc:
        raise ConfigError(f"USERS_FILE {path or users_file_path()}: cannot read it: {exc}") from exc
    return bool(isinstance(content, dict) and content.get("users"))


# -- command line ------------------------------------------------------------------------------
def _stdin_is_terminal() -> bool:
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (AttributeError, ValueError):  # closed or replaced stdin
        return False


def _password_from_stdin() -> str:
    line = sys.stdin.readline() if sys.stdin is not None else ""
    password = line.rstrip("\r\n")
    if not password:
        raise UsersFileError("--password-stdin: no password on standard input (give it as "
                             "the first line); nothing was changed")
    return check_password(password)


def _ask_password(from_stdin: bool = False) -> str:
    if from_stdin:
        return _password_from_stdin()
    if not _stdin_is_terminal():
        raise UsersFileError("standard input is not a terminal, so the password cannot be "
                             "asked for: pipe it as one line and pass --password-stdin; nothing "
                             "was changed")
    try:
        first = getpass.getpass("Password: ")
    except EOFError:
        raise UsersFileError("no password was typed (end of input); nothing was changed") from None
    check_password(first)
    try:
        again = getpass.getpass("Password again: ")
    except EOFError:
        raise UsersFileError("no password was typed (end of input); nothing was changed") from None
    if again != first:
        raise UsersFileError("the two passwords differ; nothing was changed")
    return first


def _describe(info: UserInfo) -> str:
    state = f"locked until {info.locked_until}" if info.locked else (
        f"{info.failed_attempts} failed sign-in(s)" if info.failed_attempts else "active")
    last = info.last_sign_in or "never signed in"
    return f"{info.name:<24} {info.role:<10} {state:<40} {last}"


# Commands that change an account: each is audited as ``user-change``.
CHANGES = ("add", "set-role", "set-password", "unlock", "remove")


def os_user() -> str:
    """Who ran the command: the operating-system user (``uid N`` where it has no name, as in a
    container run with a numeric ``user:``)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid {os.getuid()}" if hasattr(os, "getuid") else "unknown"


class _Audit:
    """The audit log that command-line changes go to, reached before anything is changed."""

    def __init__(self, url: str | None):
        from storage.open import (
            audit_sink,
            open_store,  # noqa: PLC0415
        )

        self.store = open_store(url)
        audit_sink(self.store).head()  # raises now, before any change, if the log is out of reach
        self.actor = os_user()

    def record(self, detail: str) -> None:
        from safeguards.audit import AuditEvent, record  # noqa: PLC0415

        try:
            record(self.store, AuditEvent(action="user-change", actor=self.actor, role=None,
                                          page=None, filters=None, detail=f"cli: {detail}"))
        except DashboardError as exc:
            raise UsersFileError(f"the change was made ({detail}) but could not be written to "
                                 f"the audit log of {self.store.url}: {exc}") from exc


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m safeguards.users",
                                     description="Manage the dashboard's local accounts.")
    parser.add_argument("--file", help="users file (default: $USERS_FILE or instance/users.json)")
    parser.add_argument("--store", help="store whose audit log records the changes (default: "
                                        "$STORE_URL, else ./store)")
    commands = parser.add_subparsers(dest="command", required=True)
    add = commands.add_parser("add", help="add a user (asks for the password twice)")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=ROLES)
    add.add_argument("--password-stdin", action="store_true",
                     help="read the password from the first line of standard input")
    commands.add_parser("list", help="list users, roles and lock state (never hashes)")
    set_role = commands.add_parser("set-role", help="change a user's role")
    set_role.add_argument("name")
    set_role.add_argument("role", choices=ROLES)
    for command, text in (("set-password", "replace a user's password (asks twice)"),
                          ("unlock", "clear a user's lockout"), ("remove", "remove a user")):
        sub = commands.add_parser(command, help=text)
        sub.add_argument("name")
        if command == "set-password":
            sub.add_argument("--password-stdin", action="store_true",
                             help="read the password from the first line of standard input")
    args = parser.parse_args(argv)
    try:
        audit = _Audit(args.store) if args.command in CHANGES else None
        return _run(args, UsersFile(args.file), audit)
    except DashboardError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _run(args, users: UsersFile, audit: _Audit | None) -> int:
    if args.command == "add":
        check_name(args.name)
        if users.get(args.name):
            raise UsersFileError(f"user {normalise_name(args.name)!r} already exists")
        info = users.add(args.name, args.role, _ask_password(args.password_stdin))
        audit.record(f"added {info.name} as {info.role}")
        print(f"added {info.name} as {ROLE_TITLES[info.role]} ({info.role}) to {users.path}")
    elif args.command == "list":
        for info in users.list_users():
            print(_describe(info))
        if not users.exists():
            print(f"no users file at {users.path}", file=sys.stderr)
    elif args.command == "set-role":
        before = users.get(args.name)
        users.set_role(args.name, args.role)
        name = normalise_name(args.name)
        audit.record(f"role of {name} changed from {before.role} to {args.role}")
        print(f"{name} is now {ROLE_TITLES[args.role]} ({args.role})")
    elif args.command == "set-password":
        if not users.get(args.name):
            raise UsersFileError(f"no user {args.name!r} in {users.path}")
        users.set_password(args.name, _ask_password(args.password_stdin))
        audit.record(f"password of {normalise_name(args.name)} replaced")
        print(f"password of {normalise_name(args.name)} replaced")
    elif args.command == "unlock":
        users.unlock(args.name)
        audit.record(f"unlocked {normalise_name(args.name)}")
        print(f"{normalise_name(args.name)} unlocked")
    elif args.command == "remove":
        before = users.get(args.name)
        users.remove(args.name)
        audit.record(f"removed {normalise_name(args.name)} ({before.role})")
        print(f"{normalise_name(args.name)} removed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
