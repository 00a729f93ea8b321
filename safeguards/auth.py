"""Sign-in decisions, free of Streamlit: which sign-in, who has which role, when a session ends.

The dashboard signs people in one of three ways (``docs/sign-in.md``):

- ``"oidc"``: the organisation's identity provider through Streamlit's ``st.login``, when
  ``.streamlit/secrets.toml`` has an ``[auth]`` section. The identity's email (or its ``roles``
  claim) is mapped to a role by the roles file (``ROLES_FILE``).
- ``"local"``: names and argon2 password hashes in the users file (``USERS_FILE``, managed with
  ``python -m safeguards.users``), when there is no identity provider.
- ``"demo"``: a role picker, only while the store holds nothing but synthetic data and neither of
  the above is configured. A store with any real record and no sign-in refuses to start.

``dashboard.py`` asks these functions and only lays out the answers.
"""
from __future__ import annotations

import os
import threading
from collections import namedtuple
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from core.errors import AccessDenied, ConfigError
from core.roles import ROLES

PROJECT_ROOT = Path(__file__).resolve().parent.parent

OIDC, LOCAL, DEMO = "oidc", "local", "demo"

Setting = namedtuple("Setting", ("name", "default", "help"))
SETTINGS = (
    Setting("USERS_FILE", "instance/users.json",
            "Local users file (names, roles, argon2 password hashes, lockout state), used when no "
            "identity provider is configured. Relative defaults are under the project folder."),
    Setting("ROLES_FILE", "instance/roles.yaml",
            "YAML file mapping identity-provider emails (and optionally values of the identity's "
            "`roles` claim) to dashboard roles."),
    Setting("SESSION_TIMEOUT_MIN", 30,
            "Minutes without any interaction after which a signed-in user is signed out."),
    Setting("LOCKOUT_ATTEMPTS", 5,
            "Consecutive failed sign-ins after which a local account is locked."),
    Setting("LOCKOUT_MIN", 15,
            "Minutes a locked local account stays locked (0: until an administrator unlocks it)."),
)
_DEFAULTS = {s.name: s.default for s in SETTINGS}

# Delay before answering a failed sign-in: 1 s, 2 s, 4 s, then 8 s for every further failure.
FAILURE_DELAY_BASE_S = 1.0
FAILURE_DELAY_MAX_S = 8.0


class SignInNotConfigured(ConfigError):
    """The store holds real data and no way of signing in is configured."""

    def __init__(self, users_file: Path):
        self.users_file = Path(users_file)
        super().__init__(
            "This store holds real partner data and no sign-in is configured, so the dashboard "
            "will not start. Configure one of:\n"
            "1. Local accounts: create the first administrator with "
            "`python -m safeguards.users add NAME --role admin` "
            f"(it writes the users file, USERS_FILE, now {self.users_file}).\n"
            "2. Your organisation's sign-in (OpenID Connect): an `[auth]` section in "
            "`.streamlit/secrets.toml` and a roles file (ROLES_FILE).\n"
            "See docs/sign-in.md.")


class NoRole(AccessDenied):
    """A signed-in identity that the roles file gives no role (or more than one)."""

    def __init__(self, identity: str, reason: str):
        self.identity = identity
        self.reason = reason
        super().__init__(f"{identity} has no role on this dashboard ({reason}). Ask an "
                         "administrator to add you to the roles file.")


# -- settings ----------------------------------------------------------------------------------
def _setting(name: str) -> str:
    raw = os.environ.get(name)
    return str(_DEFAULTS[name]) if raw is None or not raw.strip() else raw.strip()


def _path_setting(name: str) -> Path:
    raw = os.environ.get(name, "").strip()
    return Path(raw) if raw else PROJECT_ROOT / _DEFAULTS[name]


def _number_setting(name: str, *, minimum: float, integer: bool = False) -> float:
    raw = _setting(name)
    try:
        value = int(raw) if integer else float(raw)
    except ValueError:
        value = None
    if value is None or value < minimum:
        kind = "a whole number" if integer else "a number"
        raise ConfigError(f"{name} was {raw!r}; expected {kind} >= {minimum:g}")
    return value


def users_file_path() -> Path:
    """Where the local users file lives (``USERS_FILE``)."""
    return _path_setting("USERS_FILE")


def roles_file_path() -> Path:
    """Where the email → role file lives (``ROLES_FILE``)."""
    return _path_setting("ROLES_FILE")


def session_timeout_s() -> float:
    """Seconds of inactivity that end a session (``SESSION_TIMEOUT_MIN``, may be fractional)."""
    minutes = _number_setting("SESSION_TIMEOUT_MIN", minimum=0)
    if minutes == 0:
        raise ConfigError("SESSION_TIMEOUT_MIN was '0'; expected a number of minutes > 0")
    return minutes * 60


@dataclass(frozen=True)
class LockoutPolicy:
    """When a local account locks, and for how long (``None``: until an administrator unlocks)."""

    attempts: int = 5
    lock_s: float | None = 15 * 60


def lockout_policy() -> LockoutPolicy:
    """The policy from ``LOCKOUT_ATTEMPTS`` and ``LOCKOUT_MIN``."""
    attempts = int(_number_setting("LOCKOUT_ATTEMPTS", minimum=1, integer=True))
    minutes = _number_setting("LOCKOUT_MIN", minimum=0)
    return LockoutPolicy(attempts=attempts, lock_s=minutes * 60 if minutes else None)


# -- which sign-in -----------------------------------------------------------------------------
def sign_in_mode(*, oidc_configured: bool, local_users: bool, synthetic_only: bool,
                 users_file: Path | None = None) -> str:
    """Choose how people sign in.

    Parameters
    ----------
    oidc_configured : bool
        ``.streamlit/secrets.toml`` has an ``[auth]`` section.
    local_users : bool
        The users file exists and holds at least one user.
    synthetic_only : bool
        The store holds no real record (an empty store counts as synthetic only).
    users_file : Path, optional
        The users file, named in the error message.

    Returns
    -------
    {"oidc", "local", "demo"}

    Raises
    ------
    SignInNotConfigured
        If the store holds real data and neither sign-in is configured.
    """
    if oidc_configured:
        return OIDC
    if local_users:
        return LOCAL
    if synthetic_only:
        return DEMO
    raise SignInNotConfigured(users_file or users_file_path())


# -- roles file: identity → role ---------------------------------------------------------------
@dataclass(frozen=True)
class RoleMap:
    """The roles file: ``emails`` (casefolded email → role), ``roles_claim`` (claim value → role)."""

    emails: Mapping[str, str] = field(default_factory=dict)
    roles_claim: Mapping[str, str] = field(default_factory=dict)


_ROLE_MAP_CACHE: dict[Path, tuple[tuple[int, int], RoleMap]] = {}
_ROLE_MAP_LOCK = threading.Lock()


def load_role_map(path: Path | None = None) -> RoleMap:
    """Read and check the roles file; re-read whenever it changes on disk.

    The file is YAML with two optional sections::

        emails:                 # the identity's email claim (case-insensitive) → role
          alice@example.org: analyst
        roles_claim:            # a value of the identity's "roles" claim → role
          WY-Dashboard-Chairs: chair

    Raises
    ------
    ConfigError
        If the file is missing, is not YAML of that shape, or names an unknown role.
    """
    path = Path(path or roles_file_path())
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise ConfigError(f"ROLES_FILE {path} not found: create it to give people roles "
                          "(see docs/sign-in.md)") from None
    key = (stat.st_mtime_ns, stat.st_size)
    with _ROLE_MAP_LOCK:
        cached = _ROLE_MAP_CACHE.get(path)
        if cached and cached[0] == key:
            return cached[1]
    role_map = _parse_role_map(path)
    with _ROLE_MAP_LOCK:
        _ROLE_MAP_CACHE[path] = (key, role_map)
    return role_map


def _parse_role_map(path: Path) -> RoleMap:
    try:
        content = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"ROLES_FILE {path}: cannot read it as YAML: {exc}") from exc
    if not isinstance(content, dict):
        raise ConfigError(f"ROLES_FILE {path}: expected sections 'emails' and 'roles_claim'")
    unknown = set(content) - {"emails", "roles_claim"}
    if unknown:
        raise ConfigError(f"ROLES_FILE {path}: unknown section(s) {sorted(map(str, unknown))}; "
                          "expected 'emails' and 'roles_claim'")
    emails = _check_section(path, "emails", content.get("emails"))
    claims = _check_section(path, "roles_claim", content.get("roles_claim"))
    return RoleMap(emails={k.casefold(): v for k, v in emails.items()}, roles_claim=claims)


def _check_section(path: Path, section: str, entries) -> dict[str, str]:
    if entries is None:
        return {}
    if not isinstance(entries, dict):
        raise ConfigError(f"ROLES_FILE {path}: '{section}' must map names to roles")
    for name, role in entries.items():
        if role not in ROLES:
            raise ConfigError(f"ROLES_FILE {path}: {section} entry {name!r} has role {role!r}; "
                              f"expected one of {', '.join(ROLES)}")
    return {str(name).strip(): role for name, role in entries.items()}


def identity_label(claims: Mapping) -> str:
    """How an identity is named in messages and the audit log: its email, else its subject."""
    return str(claims.get("email") or claims.get("sub") or "unknown identity")


def role_for_identity(claims: Mapping, role_map: RoleMap) -> str:
    """The dashboard role of a signed-in identity (its ID-token claims).

    The email claim is looked up first (unless the provider says ``email_verified`` is false);
    then the values of the ``roles`` claim. Several different roles from the claim are refused
    rather than guessed.

    Raises
    ------
    NoRole
        If the roles file gives the identity no role, or several.
    """
    email = claims.get("email")
    if email and claims.get("email_verified") is not False:
        role = role_map.emails.get(str(email).strip().casefold())
        if role:
            return role
    values = claims.get("roles") or []
    if isinstance(values, str):
        values = [values]
    matched = sorted({role_map.roles_claim[v] for v in values if v in role_map.roles_claim})
    if len(matched) == 1:
        return matched[0]
    if matched:
        raise NoRole(identity_label(claims), f"its roles claim maps to {', '.join(matched)}")
    if email and claims.get("email_verified") is False:
        raise NoRole(identity_label(claims), "the identity provider has not verified its email")
    raise NoRole(identity_label(claims), "not in the roles file")


# -- sessions ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class LocalSession:
    """A local sign-in held by one browser session: who, and when (seconds since the epoch)."""

    user: str
    signed_in_at: float
    last_activity: float


def oidc_identity_key(claims: Mapping) -> str:
    """A stable key for an identity-provider identity: its issuer and subject."""
    return f"{claims.get('iss', '')} {claims.get('sub') or identity_label(claims)}"


def is_expired(last_activity: float, now: float, timeout_s: float) -> bool:
    """Whether a session last active at ``last_activity`` has timed out at ``now`` (seconds)."""
    return now - last_activity > timeout_s


def oidc_last_activity(last_seen: float | None, issued_at: float | None) -> float:
    """When an identity-provider sign-in was last active.

    Streamlit keeps the identity in a cookie for 30 days, so a new browser session can resume an
    old sign-in. Its last activity is the later of the last interaction this server saw from the
    identity (``last_seen``) and the sign-in itself (the ID token's ``iat``); with neither, the
    sign-in counts as infinitely old, so it has to be made again.
    """
    times = [t for t in (last_seen, issued_at) if t is not None]
    return max(times) if times else float("-inf")


class ActivityTracker:
    """Last interaction per identity, shared by every session of one server process."""

    def __init__(self):
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()

    def last_seen(self, key: str) -> float | None:
        with self._lock:
            return self._seen.get(key)

    def touch(self, key: str, now: float) -> None:
        with self._lock:
            self._seen[key] = now

    def forget(self, key: str) -> None:
        with self._lock:
            self._seen.pop(key, None)


def failure_delay(n_failures: int) -> float:
    """Seconds to wait before answering the ``n_failures``-th failed sign-in in a row for a name."""
    if n_failures <= 0:
        return 0.0
    return min(FAILURE_DELAY_BASE_S * 2 ** (n_failures - 1), FAILURE_DELAY_MAX_S)


class FailureCounter:
    """Recent failed sign-ins per typed name, in memory, for existing and unknown names alike.

    Sets the delay (so the delay says nothing about whether a name exists); the lockout itself
    is persisted in the users file. Entries older than ``window_s`` are forgotten and at most
    ``max_names`` names are kept, so typing many names cannot exhaust memory.
    """

    def __init__(self, window_s: float = 3600, max_names: int = 10_000):
        self.window_s = window_s
        self.max_names = max_names
        self._failures: dict[str, tuple[int, float]] = {}
        self._lock = threading.Lock()

    def add(self, name: str, now: float) -> int:
        """Count one failure for ``name``; return its failures in a row."""
        key = name.strip().casefold()
        with self._lock:
            count, last = self._failures.get(key, (0, now))
            count = count + 1 if now - last <= self.window_s else 1
            self._failures[key] = (count, now)
            if len(self._failures) > self.max_names:
                oldest = min(self._failures, key=lambda k: self._failures[k][1])
                del self._failures[oldest]
            return count

    def clear(self, name: str) -> None:
        with self._lock:
            self._failures.pop(name.strip().casefold(), None)
