"""Make ``person_ref`` from a partner's own person reference: a keyed pseudonym, one format.

    python -m data.pseudonymise IN.csv --column "Person ID" --key-file KEY --out OUT.csv
    python -m data.pseudonymise --make-key KEY        # once per partner: a new random key

Rosewood counts repeat episodes per person, so a file must say which episodes are the same
person, but never who the person is. ``person_ref`` is therefore a *keyed pseudonym*:

    person_ref = "PR-" + the first 26 characters of base32(HMAC-SHA256(key, reference))

where ``reference`` is the partner's own reference (Unicode NFKC, surrounding spaces removed,
case folded, so ``ab-123`` and ``AB-123 `` are one person) and ``key`` the bytes of the key file
(surrounding white space removed; at least :data:`MIN_KEY_BYTES`). 26 base32 characters carry
130 bits: two people never share one by chance. Without the key nobody, including whoever holds
the dashboard, can recompute a pseudonym from a reference or test a guess (a plain hash of a
case number could be reversed by trying every number). The partner keeps the key, outside this
project and its store, and uses the same key for every export, so a person keeps one pseudonym
across files. Ingestion refuses any other ``person_ref`` (``PSEUDONYM_PATTERN``).

The command reads a CSV or XLSX export (``data.readers``), replaces the named column by
``person_ref`` and writes every other column unchanged, through the spreadsheet escaping every
CSV of this system goes through (``core.csv_safety``; ingestion reads it back exactly). Exit 0
when written, 2 when refused (nothing written). A progress bar shows on a terminal for large
files (``--progress``).
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import os
import secrets
import sys
import unicodedata
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from core.csv_safety import write_safe_csv
from core.errors import ConfigError, DashboardError, Problem, SchemaError
from data.cells import ROW_COLUMN
from data.forbidden import normalise_column_name
from data.readers import read_partner_file

PREFIX = "PR-"
LENGTH = 26
PSEUDONYM_PATTERN = rf"^{PREFIX}[A-Z2-7]{{{LENGTH}}}$"
MIN_KEY_BYTES = 32
OUTPUT_COLUMN = "person_ref"
PROJECT = Path(__file__).resolve().parent.parent
PROGRESS_MIN_VALUES = 50_000
CHUNK = 10_000


def normalise_reference(reference: str) -> str:
    """The partner reference as hashed: NFKC, surrounding white space removed, case folded."""
    return unicodedata.normalize("NFKC", str(reference)).strip().casefold()


def pseudonym(key: bytes, reference: str) -> str:
    """``person_ref`` for one partner reference (see module docstring).

    >>> pseudonym(b"k" * 32, "AB-123") == pseudonym(b"k" * 32, " ab-123")
    True
    """
    digest = hmac.new(key, normalise_reference(reference).encode("utf-8"), hashlib.sha256).digest()
    return PREFIX + base64.b32encode(digest).decode("ascii")[:LENGTH]


def is_pseudonym(values: pd.Series) -> pd.Series:
    """Whether each value is a ``person_ref`` in the one accepted format."""
    return values.astype("string").fillna("").str.fullmatch(PSEUDONYM_PATTERN)


def load_key(path: str | Path | None) -> bytes:
    """The key in the file at ``path``; refuses a missing, short or in-project key file."""
    if not path:
        raise ConfigError("no key: give --key-file KEY (make one with --make-key KEY)")
    path = Path(path)
    _refuse_in_project(path)
    try:
        key = path.read_bytes().strip()
    except OSError as exc:
        raise ConfigError(f"key file {path}: cannot be read: {exc.strerror}") from None
    if len(key) < MIN_KEY_BYTES:
        raise ConfigError(f"key file {path}: the key is {len(key)} bytes; at least "
                        f"{MIN_KEY_BYTES} are needed (make one with --make-key)")
    return key


def make_key(path: str | Path) -> Path:
    """Write a new random key (64 hex characters) to ``path``, readable by its owner only."""
    path = Path(path)
    _refuse_in_project(path)
    if path.exists():
        raise ConfigError(f"key file {path} exists: a new key would give every person a new "
                        "pseudonym; delete it first if that is really meant")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(secrets.token_hex(32) + "\n")
    return path


def _refuse_in_project(path: Path) -> None:
    if path.resolve().is_relative_to(PROJECT):
        raise ConfigError(f"key file {path}: keep the key outside the dashboard's folder "
                        f"({PROJECT}); it belongs to the partner, never to the project")


def pseudonymise_frame(frame: pd.DataFrame, column: str, key: bytes, *, path="input",
                       progress: str = "never") -> pd.DataFrame:
    """``frame`` with ``column`` replaced by ``person_ref`` pseudonyms, in the same place.

    Raises ``SchemaError`` (rows listed) where the reference is empty.
    """
    text = frame[column].astype("string").fillna("").str.strip()
    empty = text == ""
    if empty.any():
        rows = frame.loc[empty, ROW_COLUMN] if ROW_COLUMN in frame else frame.index[empty] + 2
        raise SchemaError(path, [Problem(int(r), column, "", "is empty: every row needs the "
                                         "person's reference") for r in rows])
    codes, uniques = pd.factorize(text)
    # As data.ingest: "auto" shows a bar for large files on a terminal only (tqdm's None).
    disable = {"always": False, "never": True}.get(
        progress, None if len(uniques) >= PROGRESS_MIN_VALUES else True)
    made = []
    with tqdm(total=len(uniques), desc="pseudonymise", unit=" refs", file=sys.stderr,
              disable=disable) as bar:
        for start in range(0, len(uniques), CHUNK):
            part = uniques[start:start + CHUNK]
            made += [pseudonym(key, str(u)) for u in part]
            bar.update(len(part))
    out = frame.copy()
    position = list(out.columns).index(column)
    out = out.drop(columns=[column])
    out.insert(position, OUTPUT_COLUMN, pd.Series(made, dtype=object).to_numpy()[codes])
    return out


def pseudonymise_file(source: str | Path, column: str, key_file: str | Path, out: str | Path, *,
                      sheet: str | None = None, progress: str = "never") -> int:
    """Write ``out``: the export at ``source`` with ``column`` replaced by ``person_ref``.
    Returns the number of rows written."""
    key = load_key(key_file)
    source, out = Path(source), Path(out)
    if out.resolve() == source.resolve():
        raise ConfigError("--out must not be the input file: write the result to a new file")
    headers, frame = read_partner_file(source, sheet=sheet)
    chosen = _find_column(source, headers, column)
    if OUTPUT_COLUMN in headers and chosen != OUTPUT_COLUMN:
        raise SchemaError(source, [Problem(None, OUTPUT_COLUMN, None, "the file already has a "
                                           "person_ref column; remove it or pseudonymise that")])
    result = pseudonymise_frame(frame, chosen, key, path=source, progress=progress)
    write_safe_csv(result.drop(columns=[ROW_COLUMN]), out)
    return len(result)


def _find_column(path, headers: list[str], column: str) -> str:
    if column in headers:
        return column
    wanted = normalise_column_name(column)
    matches = [h for h in headers if normalise_column_name(h) == wanted]
    if len(matches) == 1:
        return matches[0]
    raise SchemaError(path, [Problem(None, column, None, "no such column (or more than one); "
                                     f"the columns are: {', '.join(map(repr, headers))}")])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m data.pseudonymise",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("file", nargs="?", help="the partner export (CSV or XLSX)")
    parser.add_argument("--column", help="the column holding the partner's person reference")
    parser.add_argument("--key-file", help="the partner's key (outside this project)")
    parser.add_argument("--out", help="the CSV to write, with person_ref in place of --column")
    parser.add_argument("--sheet", help="the sheet to read, for a workbook with several")
    parser.add_argument("--make-key", metavar="KEY", help="write a new random key to KEY, then stop")
    parser.add_argument("--progress", choices=("auto", "always", "never"), default="auto")
    args = parser.parse_args(argv)
    try:
        if args.make_key:
            print(f"wrote a new key to {make_key(args.make_key)}: keep it safe and use it for "
                  "every export (a new key gives everyone a new pseudonym)")
            return 0
        if not (args.file and args.column and args.out):
            parser.error("give FILE, --column, --key-file and --out (or --make-key KEY)")
        rows = pseudonymise_file(args.file, args.column, args.key_file, args.out,
                                 sheet=args.sheet, progress=args.progress)
    except DashboardError as exc:
        print(exc, file=sys.stderr)
        print(f"{Path(args.file or args.make_key).name}: refused; nothing was written")
        return 2
    print(f"wrote {rows:,} rows to {args.out}, column {args.column!r} replaced by person_ref")
    return 0


if __name__ == "__main__":
    sys.exit(main())
