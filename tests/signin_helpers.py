"""Helpers for sign-in tests: users and roles files made quickly, with known passwords."""
from __future__ import annotations

from pathlib import Path

import yaml
from argon2 import PasswordHasher

from safeguards.auth import LockoutPolicy
from safeguards.users import UsersFile

# Cheap argon2 parameters, so a test can hash dozens of passwords in milliseconds. A hash
# records its parameters, so the dashboard's default hasher still verifies these.
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
PASSWORD = "correct horse battery staple"
ROLE_USERS = {"ana": "analyst", "chris": "chair", "eve": "executive", "ada": "admin"}


def write_users(path: Path, users: dict[str, str] | None = None, *,
                policy: LockoutPolicy | None = None) -> UsersFile:
    """A users file at ``path`` with ``users`` (name → role), every password ``PASSWORD``."""
    users_file = UsersFile(path, hasher=FAST_HASHER, policy=policy or LockoutPolicy())
    for name, role in (users or ROLE_USERS).items():
        users_file.add(name, role, PASSWORD)
    return users_file


def write_roles(path: Path, emails: dict[str, str] | None = None,
                roles_claim: dict[str, str] | None = None) -> Path:
    """A roles file mapping ``emails`` and ``roles_claim`` values to roles."""
    content = {"emails": emails or {}, "roles_claim": roles_claim or {}}
    path.write_text(yaml.safe_dump(content), encoding="utf-8")
    return path
