"""Ingest a partner file: contract → forbidden fields → parse → validate → geomask → store.

    python -m data.ingest FILE --feed {nrm,rosewood,mandevilla} [--store URL] [--accept-valid]
        [--drop-unknown] [--columns mapping.yaml] [--replace] [--geomask-m 100] [--sheet NAME]

All or nothing by default: any invalid row refuses the whole file and the report lists every
problem (row as the user sees it, column, value, reason). With ``--accept-valid`` the valid rows
are stored and the others are written to a quarantine CSV beside the store, with a ``reason``
column (locations in it are withheld: raw coordinates are never written anywhere; a refused
``person_ref`` is masked; cells are escaped for spreadsheets, ``core.csv_safety``). Identifying
data inside allowed columns (``data.identifiers``) refuses the whole file whatever the options,
so it never reaches a quarantine file. Exit status: 0 stored, 2 refused.

Every ingest, stored or refused, is one ``ingest`` entry in the audit trail, with the operator
as ``actor`` (``$INGEST_ACTOR``, else the OS user) and ``role`` ``"admin"``: ingestion is the
administrator role's action (``core.roles``), and whoever runs this command acts as one.

Progress: on large files (``PROGRESS_MIN_ROWS`` rows or ``PROGRESS_MIN_BYTES`` bytes and more)
a bar on stderr follows reading (bytes), then parsing and geomasking row by row (in chunks of
``CHUNK_ROWS``), validation and storing; only when stderr is a terminal, unless forced with
``--progress always`` (or ``INGEST_PROGRESS=always``). ``--progress never`` turns it off.
"""
from __future__ import annotations

import argparse
import getpass
import os
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from core import clock, roles
from core.csv_safety import write_safe_csv
from core.errors import (
    AccessDenied,
    ConfigError,
    DashboardError,
    DuplicateRecordError,
    Problem,
    SchemaError,
)
from core.schema import EVENT_DATE_FIELD, feed_fields
from data import locating
from data.columns import load_column_mapping, resolve_columns
from data.content_hash import content_hash, content_hash_of, text_hashes
from data.identifiers import mask, refuse_identifiers
from data.locating import Located, SecondThread, checked_first, joined, locate_chunk
from data.location import resolve_locations
from data.memory_pool import ingest_memory_pool
from data.parse import parse_field
from data.pseudonymise import is_pseudonym
from data.readers import ROW_COLUMN, read_partner_file
from data.validation import validate
from data.warm_up import warm_up_in_background
from geo.geomask import geomask_cell_m
from safeguards import audit
from storage.base import RecordConflict, Store
from storage.open import open_store

QUARANTINE_DIR = "quarantine"
LOCATION_COLUMNS = {"longitude", "latitude", "easting", "northing", "location",
                    "longitude/latitude", "easting/northing"}
#: The role every ingest is recorded under: the administrator role owns ingestion
#: (``core.roles.ACTIONS["admin"]``), and the operator running the command acts as one.
INGEST_ROLE = "admin"

#: Parsing and geomasking work through the rows in chunks of this many (the progress bar
#: advances per chunk); results do not depend on it. Validation (which checks record_id is
#: unique across the file) and storing see the whole file at once. Large: every chunk costs
#: fixed work (a spatial tree, lookups, frames), so a file of up to this many rows is one pass.
CHUNK_ROWS = 250_000
#: Files of this many rows and more resolve their locations on a second thread.
THREAD_MIN_ROWS = 50_000
#: The progress bar is shown (on a terminal) for files of at least this many rows or bytes.
PROGRESS_MIN_ROWS = 50_000
PROGRESS_MIN_BYTES = 5 * 2**20
#: A file of this size or more (some 100,000 rows and up: ``data.lsoa_grid.MIN_POINTS``) has
#: the grid-cell → LSOA table made and pandera warmed up on a second thread while it is read.
GRID_MIN_BYTES = 8 * 2**20
#: ``auto``: on a terminal, large files only; ``always``: forced (any file, any stream);
#: ``never``. The command line reads its default from ``$INGEST_PROGRESS``.
PROGRESS_MODES = ("auto", "always", "never")
PROGRESS_ENV = "INGEST_PROGRESS"


@dataclass
class IngestReport:
    """What one ingest did. ``added + unchanged + replaced + quarantined == rows_read``."""

    name: str
    feed: str
    rows_read: int = 0
    added: int = 0
    unchanged: int = 0
    replaced: int = 0
    quarantined: int = 0
    quarantine_path: str | None = None
    dropped_columns: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> str:
        parts = [f"{self.name}: stored {self.added:,} new {self.feed} records"]
        if self.unchanged:
            parts.append(f"{self.unchanged:,} already stored")
        if self.replaced:
            parts.append(f"{self.replaced:,} replaced")
        if self.quarantined:
            parts.append(f"{self.quarantined:,} quarantined to {self.quarantine_path}")
        if self.dropped_columns:
            parts.append(f"dropped columns {', '.join(self.dropped_columns)}")
        return ", ".join(parts) + f" ({self.rows_read:,} rows read in {self.seconds:.1f} s)"


def ingest_file(path: str | Path, feed: str, *, store: Store | str | None = None,
                accept_valid: bool = False, drop_unknown: bool = False,
                columns: str | Path | dict | None = None, replace: bool = False,
                geomask_m: int | None = None, progress: bool | str = False,
                role: str = INGEST_ROLE, sheet: str | None = None) -> IngestReport:
    """Validate a partner file and store it. Raises an ``InputFileError`` subclass if refused.

    ``sheet`` names the sheet of a workbook to read (``data.xlsx``: needed when several sheets
    hold data).

    Stored and refused files alike are recorded in the audit trail, under ``role`` (which must
    be a role that may ingest: ``AccessDenied`` otherwise, before anything is read).

    ``progress``: ``False``/``"never"`` (default), ``True``/``"auto"`` (a bar on stderr when it
    is a terminal and the file is large) or ``"always"`` (forced, whatever the size and stream).
    """
    progress = progress_mode(progress)
    store = store if isinstance(store, Store) else open_store(store)
    name = Path(path).name
    require_ingest_role(store, role, feed, name)
    started = time.perf_counter()
    size_bytes = _file_size(path)
    # Arrow buffers from malloc meanwhile (``data.memory_pool``: far less kernel time).
    with ingest_memory_pool(), audited_ingest(store, feed, name, role) as outcome, \
            _Progress(progress, name, size_bytes=size_bytes) as bar:
        if size_bytes >= GRID_MIN_BYTES:  # its thread allocates from the heap set just now
            warm_up_in_background(feed)  # the LSOA grid table and pandera, while it is read
        with bar.stage("read", bar.size_bytes, unit="B") as advance:
            headers, frame = read_partner_file(path, sheet=sheet)
            advance(bar.size_bytes)
        bar.consider_rows(len(frame))
        mapping = load_column_mapping(columns) if isinstance(columns, (str, Path)) else columns
        rename, dropped = resolve_columns(path, headers, feed, mapping=mapping,
                                          drop_unknown=drop_unknown)
        frame = frame[[*rename, ROW_COLUMN]].rename(columns=rename)
        with _locating(frame, geomask_m) as located:  # meanwhile, on a second thread
            with checked_first(located, refuse_identifiers, path, frame,
                               identifier_columns(feed, frame.columns)) as identifiers:
                report = _ingest(frame, feed, str(path), store=store, accept_valid=accept_valid,
                                 replace=replace, geomask_m=geomask_m, source="real", bar=bar,
                                 located=located, identifiers=identifiers)
        report.dropped_columns = dropped
        report.seconds = time.perf_counter() - started
        outcome["records"] = report.added
    return report


def ingest_frame(frame: pd.DataFrame, feed: str, *, name: str, store: Store | str | None = None,
                 source: str = "synthetic", replace: bool = False, geomask_m: int | None = None,
                 progress: bool | str = False, role: str = INGEST_ROLE) -> IngestReport:
    """Ingest an in-memory frame of contract columns through exactly the same checks as a file.

    Used by the synthetic generator, so the demo store goes through validation and geomasking.
    Rows are numbered from 2, as if the frame had been a CSV file with a header. ``progress``
    and ``role`` as for :func:`ingest_file`.
    """
    progress = progress_mode(progress)
    store = store if isinstance(store, Store) else open_store(store)
    require_ingest_role(store, role, feed, name)
    started = time.perf_counter()
    with ingest_memory_pool(), audited_ingest(store, feed, name, role) as outcome, \
            _Progress(progress, name) as bar:
        bar.consider_rows(len(frame))
        rename, _ = resolve_columns(name, list(frame.columns), feed)
        frame = frame[list(rename)].rename(columns=rename)
        frame = frame.astype("string").fillna("").reset_index(drop=True)
        frame[ROW_COLUMN] = range(2, len(frame) + 2)
        with _locating(frame, geomask_m) as located:  # meanwhile, on a second thread
            refuse_identifiers(name, frame, identifier_columns(feed, frame.columns))
            report = _ingest(frame, feed, name, store=store, accept_valid=False,
                             replace=replace, geomask_m=geomask_m, source=source, bar=bar,
                             located=located)
        report.seconds = time.perf_counter() - started
        outcome["records"] = report.added
    return report


def identifier_columns(feed: str, columns) -> dict[str, str]:
    """The stored text columns of ``feed`` among ``columns``, with the scope of identifier
    patterns each gets (``data.identifiers``): ids and references ``"id"``; categories, yes/no
    and LSOA codes ``"text"``. Dates and coordinates are parsed as numbers and dates instead."""
    kinds = {f.name: f.kind for f in feed_fields(feed)} | {"lsoa_code": "lsoa"}
    scopes = {"id": "id", "ref": "id", "category": "text", "multi": "text", "bool": "text",
              "lsoa": "text"}
    return {c: scopes[kinds[c]] for c in columns if scopes.get(kinds.get(c, ""))}


def _file_size(path) -> int:
    try:
        return Path(path).stat().st_size
    except OSError:  # the reader says why
        return 0


def _actor() -> str:
    return os.environ.get("INGEST_ACTOR") or _os_user()


def require_ingest_role(store: Store, role: str, feed: str, name: str) -> None:
    """Refuse (and audit) an ingest under a role that may not ingest (``core.roles``)."""
    try:
        roles.require(roles.check_role(role), "ingest")
    except AccessDenied as exc:
        audit.record(store, audit.AuditEvent(
            action="access-denied", actor=_actor(), role=role if role in roles.ROLES else None,
            page="data.ingest", filters={"feed": feed, "file": name}, detail=str(exc)))
        raise


@contextmanager
def audited_ingest(store: Store, feed: str, name: str, role: str = INGEST_ROLE):
    """Record an ingest in the audit trail, whether the file was stored or refused.

    The body sets ``outcome["records"]`` to the number of records stored.
    """
    outcome: dict = {"records": None}
    try:
        yield outcome
    except DashboardError as exc:
        _record_ingest(store, feed, name, None, f"refused: {type(exc).__name__}", role)
        raise
    _record_ingest(store, feed, name, outcome["records"], "stored", role)


def _record_ingest(store, feed, name, records, detail, role=INGEST_ROLE) -> None:
    audit.record(store, audit.AuditEvent(
        action="ingest", actor=_actor(), role=role, page="data.ingest",
        filters={"feed": feed, "file": name}, records=records, detail=detail))


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name in a minimal container
        return "unknown"


@contextmanager
def _locating(frame: pd.DataFrame, geomask_m):
    """``frame``'s locations and their hashes (``data.locating``) being resolved, one task per
    chunk, on a second thread for a large file (:class:`Located`); ``None`` (``_ingest`` then
    refuses the file as before) for an empty frame or a cell size ``geomask_cell_m`` refuses."""
    try:
        cell_m = geomask_cell_m(geomask_m)
    except ConfigError:
        cell_m = None
    if cell_m is None or frame.empty:
        yield None
        return
    pool = SecondThread(threaded=len(frame) >= THREAD_MIN_ROWS)
    try:
        yield Located(pool, [pool.submit(locate_chunk, resolve_locations, chunk, cell_m)
                             for chunk in locating.location_chunks(frame, CHUNK_ROWS)])
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)  # a refused file: its locations unused
        raise
    pool.shutdown(wait=True)


def _ingest(frame, feed, name, *, store, accept_valid, replace, geomask_m, source, bar,
            located, identifiers=None):
    """``located``: :func:`_locating`'s :class:`Located` (``None`` only when this refuses the
    file). ``identifiers``: the identifier check's task, its verdict taken before anything is
    refused or stored (``None``: checked already; ``data.locating.checked_first``)."""
    store = store if isinstance(store, Store) else open_store(store)
    geomask_cell_m(geomask_m)  # a bad cell size is refused here, after the identifier check
    report = IngestReport(name=Path(name).name, feed=feed, rows_read=len(frame))
    if frame.empty:
        raise SchemaError(name, [Problem(None, None, None, "the file has a header but no data rows")])
    with bar.stage("parse", len(frame)) as advance:
        typed, problems = _by_chunk(frame, lambda chunk: _parse(chunk, feed), advance)
    parsed = {(p.row, p.column) for p in problems}
    # A cell the parser could not read is reported once, not again by the schema.
    with bar.stage("validate", len(frame)) as advance:
        problems += [p for p in validate(typed, frame, feed)
                     if (p.row, p.column) not in parsed]
        advance(len(frame))
    event_date = typed[EVENT_DATE_FIELD[feed]].dt.floor("D")
    # While the locations are still being resolved: the parsed columns' part of the content
    # hash (a row's hash does not depend on the other rows, so hashing before the invalid
    # rows are dropped gives the same numbers). Here, not on the second thread: hashing text
    # holds the GIL, and overlapped with validation it cost CPU on a busy machine (sixth round).
    hashes = {} if problems else \
        {c: text_hashes(typed[c]) for c in typed.columns if c != ROW_COLUMN} | \
        {"event_date": text_hashes(event_date)}
    if identifiers is not None:  # before the locations are joined (see checked_first)
        identifiers.result()
    with bar.stage("geomask", len(frame)) as advance:
        location, location_problems, location_hashes = joined(located.chunks, advance)
    problems += location_problems
    records = pd.concat([typed, location], axis=1)
    records["event_date"] = event_date
    bad_rows = {p.row for p in problems}
    if problems and not (accept_valid and len(bad_rows) < len(frame)):
        raise SchemaError(name, sorted(problems, key=_order))
    keep = ~frame[ROW_COLUMN].isin(bad_rows)
    records = records[keep]
    source_rows = records[["record_id", ROW_COLUMN]]  # to name rows in a conflict report
    records = records.drop(columns=[ROW_COLUMN])
    hashes |= (location_hashes or {}) if hashes else {}
    if len(records) == len(frame) and set(hashes) == set(records.columns):
        records["content_hash"] = content_hash_of(hashes, records.index)
    else:
        records["content_hash"] = content_hash(records)
    try:
        with bar.stage("store", len(records)) as advance:
            result = store.append(feed, records, source=source, file_name=report.name,
                                  replace=replace)
            advance(len(records))
    except RecordConflict as exc:
        rows_of = dict(zip(source_rows["record_id"], source_rows[ROW_COLUMN]))
        raise DuplicateRecordError(name, [
            Problem(int(rows_of[r]), "record_id", r, "already stored with different content")
            for r in exc.record_ids]) from None
    if problems:  # only once the valid rows are safely stored
        report.quarantine_path = _quarantine(store, name, frame[~keep], problems)
        report.quarantined = int((~keep).sum())
    report.added, report.unchanged, report.replaced = result.added, result.unchanged, result.replaced
    return report


def _chunks(frame: pd.DataFrame) -> list[pd.DataFrame]:
    """``frame`` in chunks of ``CHUNK_ROWS`` rows (one chunk, possibly empty, at least)."""
    return [frame.iloc[start:start + CHUNK_ROWS]
            for start in range(0, max(len(frame), 1), CHUNK_ROWS)]


def _by_chunk(frame: pd.DataFrame, work, advance) -> tuple[pd.DataFrame, list[Problem]]:
    """``work(chunk) -> (frame, problems)`` over ``frame`` in chunks of ``CHUNK_ROWS`` rows,
    joined back (same index; each row's problems in the order ``work`` gives them), calling
    ``advance(rows)`` after each chunk. ``work`` must treat every row on its own."""
    parts, problems = [], []
    for chunk in _chunks(frame):
        part, found = work(chunk)
        parts.append(part)
        problems += found
        advance(len(chunk))
    return (parts[0] if len(parts) == 1 else pd.concat(parts)), problems


def _parse(frame: pd.DataFrame, feed: str) -> tuple[pd.DataFrame, list[Problem]]:
    typed = pd.DataFrame({ROW_COLUMN: frame[ROW_COLUMN]}, index=frame.index)
    problems: list[Problem] = []
    for spec in feed_fields(feed):
        typed[spec.name], found = parse_field(frame, spec)
        problems += found
    return typed, problems


def _quarantine(store, name, rejected: pd.DataFrame, problems: list[Problem]) -> str:
    reasons: dict[int, list[str]] = {}
    for p in problems:
        reasons.setdefault(p.row, []).append(str(p))
    out = rejected.copy()
    for column in out.columns:
        if column in LOCATION_COLUMNS:
            out[column] = "[withheld]"
    if "person_ref" in out.columns:  # a refused reference may be the partner's own: masked
        ok = is_pseudonym(out["person_ref"])
        out["person_ref"] = out["person_ref"].where(ok.fillna(False).astype(bool), out["person_ref"].map(mask))
    out["reason"] = out[ROW_COLUMN].map(lambda r: "; ".join(reasons.get(r, [])))
    out = out.rename(columns={ROW_COLUMN: "source_row"})
    folder = store.quarantine_dir()  # <store>/quarantine for a store folder
    folder.mkdir(parents=True, exist_ok=True)
    stamp = clock.local_now().strftime("%Y%m%dT%H%M%S-%f")  # two runs never share a name
    target = folder / f"{Path(name).stem}-{stamp}.csv"
    write_safe_csv(out, target)  # escaped for spreadsheets, like every CSV the system writes
    return str(target)


def _order(problem: Problem):
    return (problem.row or 0, problem.column or "")


def progress_mode(progress: bool | str | None) -> str:
    """``progress`` as one of ``PROGRESS_MODES`` (``True`` is ``"auto"``; ``False``/``None``
    ``"never"``)."""
    if progress is True:
        return "auto"
    if progress is False or progress is None:
        return "never"
    mode = str(progress).strip().lower()
    if mode not in PROGRESS_MODES:
        raise ConfigError(f"progress was {progress!r}; expected one of {', '.join(PROGRESS_MODES)}")
    return mode


class _Progress:
    """Progress on stderr through the ingest stages, one bar per stage.

    Reading counts bytes (the file is read in one go, so it completes at once); parsing and
    geomasking count rows, chunk by chunk; validation and storing count the whole file when
    they finish. Shown in mode ``"auto"`` only for a file of ``PROGRESS_MIN_BYTES`` bytes or
    ``PROGRESS_MIN_ROWS`` rows and more, and only on a terminal (tqdm's check); in mode
    ``"always"`` for every file, whatever stderr is.
    """

    def __init__(self, progress: bool | str | None, name: str, *, size_bytes: int = 0):
        self.mode = progress_mode(progress)
        self.name = name
        self.size_bytes = size_bytes
        self.shown = self.mode == "always" or (
            self.mode == "auto" and size_bytes >= PROGRESS_MIN_BYTES)

    def consider_rows(self, rows: int) -> None:
        """Once the rows are known: a file with many short rows gets the bar too."""
        if self.mode == "auto" and rows >= PROGRESS_MIN_ROWS:
            self.shown = True

    @contextmanager
    def stage(self, stage: str, total: int, unit: str = "rows"):
        """A bar for one stage; yields ``advance(n)``."""
        if not self.shown:
            yield lambda _n: None
            return
        if unit == "B":
            options = {"unit": "B", "unit_scale": True, "unit_divisor": 1024,
                       "bar_format": "{desc}: {percentage:3.0f}%|{bar}| {n_fmt}B/{total_fmt}B "
                                     "[{elapsed}, {rate_fmt}]"}
        else:
            options = {"unit": f" {unit}",
                       "bar_format": "{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} "
                                     f"{unit} [{{elapsed}}<{{remaining}}, {{rate_fmt}}]"}
        # Updates come once per chunk (a few dozen per stage), so each one is drawn.
        bar = tqdm(total=total, desc=f"{self.name}: {stage}", leave=False, mininterval=0, miniters=1,
                   file=sys.stderr, disable=None if self.mode == "auto" else False, **options)
        try:
            yield bar.update
            bar.refresh()
        finally:
            bar.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m data.ingest", description=__doc__.split("\n")[0])
    parser.add_argument("file")
    parser.add_argument("--feed", required=True, choices=["nrm", "rosewood", "mandevilla"])
    parser.add_argument("--store", help="store URL or folder (default: $STORE_URL or ./store)")
    parser.add_argument("--accept-valid", action="store_true",
                        help="store the valid rows and quarantine the rest")
    parser.add_argument("--drop-unknown", action="store_true",
                        help="drop columns not in the contract instead of refusing the file")
    parser.add_argument("--columns", help="YAML mapping of source headers to contract fields")
    parser.add_argument("--replace", action="store_true",
                        help="replace stored records whose record_id is in the file")
    parser.add_argument("--geomask-m", type=int, help="geomask grid cell in metres (>= 50)")
    parser.add_argument("--sheet", help="the sheet to read, for a workbook with several")
    default_progress = os.environ.get(PROGRESS_ENV, "auto").strip().lower() or "auto"
    parser.add_argument("--progress", choices=PROGRESS_MODES,
                        default=default_progress if default_progress in PROGRESS_MODES else "auto",
                        help="progress bar on stderr: auto (terminal, files of "
                             f"{PROGRESS_MIN_ROWS:,} rows or {PROGRESS_MIN_BYTES // 2**20} MiB and "
                             f"more), always, never (default: ${PROGRESS_ENV} or auto)")
    args = parser.parse_args(argv)
    try:
        report = ingest_file(args.file, args.feed, store=args.store, accept_valid=args.accept_valid,
                             drop_unknown=args.drop_unknown, columns=args.columns,
                             replace=args.replace, geomask_m=args.geomask_m,
                             progress=args.progress, role=INGEST_ROLE, sheet=args.sheet)
    except DashboardError as exc:
        return refused(exc, args.file, "the store is unchanged")
    print(report.summary())
    return 0


def refused(exc: DashboardError, file, unchanged: str) -> int:
    """Print why ``file`` was refused (the error, then a one-line count saying what stays as it
    was) and return the command line's exit status for a refused file, 2."""
    print(exc, file=sys.stderr)
    count = len(getattr(exc, "problems", [])) or 1
    print(f"{Path(file).name}: refused ({count:,} problem{'s' * (count != 1)}); {unchanged}")
    return 2


if __name__ == "__main__":
    sys.exit(main())
