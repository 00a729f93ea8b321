"""The deployment's secret cell key, and the record keys derived from it.

A record key must be unpredictable to anyone who knows record ids (a partner knows its own):
with a public key, a partner who is also a chair could compute which small count an atom is
published as and subtract it. So keys come from a secret: ``CELL_KEY`` (hex, at least 32
bytes) if set, else the file ``CELL_KEY_FILE`` (default ``instance/cell_key``, git-ignored),
made with 32 random bytes the first time it is needed. Every server process of a deployment
must read the same key (the file on a shared volume, or the variable); changing it changes
every published small count once.
"""
from __future__ import annotations

import base64
import hashlib
import os
import secrets
from pathlib import Path

import numpy as np
import pandas as pd

from core.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_FILE = PROJECT_ROOT / "instance" / "cell_key"
MIN_KEY_BYTES = 32


def cell_key_file() -> Path:
    return Path(os.environ.get("CELL_KEY_FILE") or DEFAULT_FILE)


def secret() -> bytes:
    """The deployment's secret (``CELL_KEY``, else ``CELL_KEY_FILE``, made if missing)."""
    raw = os.environ.get("CELL_KEY", "").strip()
    source = "CELL_KEY"
    if not raw:
        path = cell_key_file()
        source = f"CELL_KEY_FILE {path}"
        if not path.exists():
            _make(path)
        raw = path.read_text(encoding="ascii").strip()
    try:
        key = bytes.fromhex(raw)
    except ValueError:
        raise ConfigError(f"{source}: not a hex key; remove it to have a new one made") from None
    if len(key) < MIN_KEY_BYTES:
        raise ConfigError(f"{source}: the key has {len(key)} bytes; {MIN_KEY_BYTES} are needed")
    return key


def record_keys(record_ids: pd.Series) -> np.ndarray:
    """A key in [0, 2**32) per record id: SipHash-2-4 under the secret (vectorised)."""
    hash_key = base64.b64encode(hashlib.blake2b(secret(), digest_size=12).digest()).decode()
    hashed = pd.util.hash_pandas_object(record_ids.astype(str), index=False,
                                        hash_key=hash_key[:16]).to_numpy(np.uint64)
    return (hashed >> np.uint64(32)).astype(np.uint64)


def _make(path: Path) -> None:
    """Create the key file once, whole: written to a temporary file, then linked into place
    (a link never replaces a file), so a process that loses the race reads the winner's key."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(secrets.token_hex(MIN_KEY_BYTES) + "\n")
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
    finally:
        tmp.unlink(missing_ok=True)
