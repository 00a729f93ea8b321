"""Ingest an exposure layer: a partner's list of asylum accommodation sites.

    python -m data.exposure FILE [--store URL] [--drop-unknown] [--geomask-m 100] [--sheet NAME]

Rosewood episodes happen where asylum accommodation is, so Rosewood's expected count is the
bed-nights of open sites (``core.denominators``), not residents. A partner sends the whole
current list of sites, one row each:

``bed_capacity`` (whole number, 1-2000), ``opened_on`` (date), ``closed_on`` (date, empty while
open; not before ``opened_on``), and a location: ``longitude``/``latitude`` or
``easting``/``northing`` (geomasked to the 100 m cell centre exactly like events, the raw point
never stored), or only ``lsoa_code`` (2021 or 2011) or ``ward_code`` (2021 ward of West
Yorkshire), in which case the site's beds are spread over the area. ``site_ref`` (the
partner's own reference) is accepted and **dropped**: the layer is replaced whole on every load,
so nothing needs a site identity. No address is ever stored: an address or postcode column is
refused, like any forbidden column (``data.forbidden``), before a row is read.

The same steps as a feed file (``data.ingest``): forbidden columns → unknown columns → parse →
validate (a pandera schema; every problem names the file, row and column) → identifiers inside
allowed columns → geomask → store. All or nothing: any problem refuses the file and the stored
layer is left as it was. The layer is written atomically (``storage.exposure``: the Parquet
store's lock, temporary file and rename; one transaction in PostGIS). Every load, stored or
refused, is an ``ingest`` entry in the audit trail under the admin role. Exit status: 0 stored,
2 refused. Who may read the layer: ``safeguards.exposure`` and docs/data-protection.md.
"""
from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.errors
import pandera.pandas as pa

from core import clock
from core.errors import DashboardError, ForbiddenFieldError, Problem, SchemaError
from core.schema import EARLIEST_DATE, Field
from data.forbidden import forbidden_category, normalise_column_name
from data.identifiers import refuse_identifiers
from data.ingest import audited_ingest, refused, require_ingest_role
from data.location import resolve_locations
from data.parse import clean_text, parse_dates
from data.readers import ROW_COLUMN, read_partner_file
from data.validation import pandera_problems
from geo.boundaries import load_boundaries
from geo.geomask import geomask_cell_m
from storage.base import Store
from storage.exposure import SITE_COLUMNS, write_layer
from storage.open import open_store

LAYER = "accommodation"
MAX_BEDS = 2000  # the largest UK asylum sites (former barracks) hold about this many
SITE_FIELDS: tuple[Field, ...] = (
    Field("bed_capacity", "int", "Beds at the site (a whole number, 1-2000)."),
    Field("opened_on", "date", "Date the site first housed people."),
    Field("closed_on", "date", "Date the site stopped housing people; empty while open.",
          nullable=True),
)
LOCATION_COLUMNS = ("longitude", "latitude", "easting", "northing", "lsoa_code", "ward_code")
DROPPED_COLUMNS = ("site_ref",)  # accepted, never stored
ALLOWED_COLUMNS = (*[f.name for f in SITE_FIELDS], *LOCATION_COLUMNS, *DROPPED_COLUMNS)
__all__ = ["LAYER", "SITE_FIELDS", "ExposureReport", "ingest_sites_file", "ingest_sites_frame",
           "site_schema"]


@dataclass
class ExposureReport:
    """What one load did."""

    name: str
    rows_read: int = 0
    sites: int = 0
    dropped_columns: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> str:
        text = f"{self.name}: stored {self.sites:,} {LAYER} sites (replacing the previous layer)"
        if self.dropped_columns:
            text += f", dropped columns {', '.join(self.dropped_columns)}"
        return text + f" ({self.rows_read:,} rows read in {self.seconds:.1f} s)"


def site_schema(now: pd.Timestamp | None = None) -> pa.DataFrameSchema:
    """The pandera schema a parsed site list must pass (``now``: default now + one day)."""
    now = (pd.Timestamp(clock.local_now()) + pd.Timedelta(days=1)) if now is None else now
    def dates(future: str) -> list[pa.Check]:
        return [pa.Check.le(now, error=future),
                pa.Check.ge(EARLIEST_DATE, error="is before 2000, which is not plausible")]

    return pa.DataFrameSchema({
        "bed_capacity": pa.Column("Int64", pa.Check.in_range(1, MAX_BEDS, error=(
            f"must be between 1 and {MAX_BEDS:,} beds")), nullable=True),
        "opened_on": pa.Column("datetime64[ns]", dates("is in the future"), nullable=True,
                               coerce=True),
        "closed_on": pa.Column("datetime64[ns]", dates(
            "is in the future: leave closed_on empty while the site is open"), nullable=True,
            coerce=True),
    }, checks=[pa.Check(lambda df: df["closed_on"].isna() | df["opened_on"].isna()
                        | (df["closed_on"] >= df["opened_on"]),
                        error="closed_on is before opened_on: a site cannot close before it "
                              "opens")], strict=False, name=LAYER)


def ingest_sites_file(path: str | Path, *, store: Store | str | None = None,
                      drop_unknown: bool = False, geomask_m: int | None = None,
                      role: str = "admin", sheet: str | None = None) -> ExposureReport:
    """Validate a partner's site list and replace the stored layer with it.

    Raises an ``InputFileError`` subclass (nothing stored) when refused; audited either way.
    """
    store = store if isinstance(store, Store) else open_store(store)
    name = Path(path).name
    require_ingest_role(store, role, f"exposure:{LAYER}", name)
    started = time.perf_counter()
    with audited_ingest(store, f"exposure:{LAYER}", name, role) as outcome:
        headers, frame = read_partner_file(path, sheet=sheet)
        rename, dropped = _resolve_columns(path, headers, drop_unknown)
        frame = frame[[*rename, ROW_COLUMN]].rename(columns=rename)
        report = _ingest(frame, str(path), store, geomask_m, source="real")
        report.dropped_columns = dropped
        report.seconds = time.perf_counter() - started
        outcome["records"] = report.sites
    return report


def ingest_sites_frame(frame: pd.DataFrame, *, name: str, store: Store | str | None = None,
                       source: str = "synthetic", geomask_m: int | None = None,
                       role: str = "admin") -> ExposureReport:
    """The same checks on an in-memory frame of text columns (rows numbered from 2, as in a
    CSV with a header): the synthetic generator's way in."""
    store = store if isinstance(store, Store) else open_store(store)
    require_ingest_role(store, role, f"exposure:{LAYER}", name)
    started = time.perf_counter()
    with audited_ingest(store, f"exposure:{LAYER}", name, role) as outcome:
        rename, dropped = _resolve_columns(name, list(frame.columns), drop_unknown=False)
        frame = frame[list(rename)].rename(columns=rename)
        frame = frame.astype("string").fillna("").reset_index(drop=True)
        frame[ROW_COLUMN] = range(2, len(frame) + 2)
        report = _ingest(frame, name, store, geomask_m, source=source)
        report.dropped_columns = dropped
        report.seconds = time.perf_counter() - started
        outcome["records"] = report.sites
    return report


def _resolve_columns(path, headers: list[str], drop_unknown: bool
                     ) -> tuple[dict[str, str], list[str]]:
    """Header → contract field for the headers kept (``site_ref`` never kept); refuses
    forbidden headers first, whatever the options (``data.columns`` does the same for feeds)."""
    forbidden = [Problem(None, h, None, f"denotes {forbidden_category(h)}")
                 for h in headers if forbidden_category(h)]
    if forbidden:
        raise ForbiddenFieldError(path, forbidden)
    rename, dropped, unknown, problems = {}, [], [], []
    for header in headers:
        key = normalise_column_name(header)
        if key in DROPPED_COLUMNS:
            dropped.append(header)
        elif key not in ALLOWED_COLUMNS:
            unknown.append(header)
        elif key in rename.values():
            problems.append(Problem(None, header, None, f"is a second column for field {key!r}"))
        else:
            rename[header] = key
    if unknown and not drop_unknown:
        problems.append(Problem(None, ", ".join(repr(u) for u in unknown), None,
                                "not in the exposure contract, so refused (data minimisation). "
                                f"Allowed columns: {', '.join(ALLOWED_COLUMNS)}; pass "
                                "--drop-unknown to drop the others"))
    dropped += unknown if drop_unknown else []
    missing = [f.name for f in SITE_FIELDS if f.name not in rename.values() and not f.nullable]
    if missing:
        problems.append(Problem(None, ", ".join(missing), None, "required column(s) missing"))
    if not set(rename.values()) & set(LOCATION_COLUMNS):
        problems.append(Problem(None, None, None, "no location columns: give longitude and "
                                "latitude, easting and northing, lsoa_code or ward_code"))
    if problems:
        raise SchemaError(path, problems)
    return rename, dropped


def _ingest(frame: pd.DataFrame, name: str, store: Store, geomask_m, source: str
            ) -> ExposureReport:
    report = ExposureReport(name=Path(name).name, rows_read=len(frame))
    if frame.empty:
        raise SchemaError(name, [Problem(None, None, None, "the file has a header but no data rows")])
    text_columns = {c: "text" for c in ("lsoa_code", "ward_code") if c in frame.columns}
    refuse_identifiers(name, frame, text_columns)
    typed, problems = _parse(frame)
    problems += _validate(typed, frame, problems)
    location, location_problems = _locations(frame, geomask_cell_m(geomask_m))
    problems += location_problems
    if problems:
        raise SchemaError(name, sorted(set(problems), key=lambda p: (p.row or 0, p.column or "")))
    sites = pd.concat([typed.drop(columns=[ROW_COLUMN]), location], axis=1)
    # Stored in a fixed order, not the partner's: the file's row order says nothing here.
    sites = sites.sort_values(["district_code", "lsoa_code", "ward_code", "easting", "northing",
                               "opened_on"], na_position="last", ignore_index=True)
    write_layer(store, LAYER, sites[SITE_COLUMNS], source=source, file_name=report.name)
    report.sites = len(sites)
    return report


def _parse(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[Problem]]:
    rows = frame[ROW_COLUMN]
    typed = pd.DataFrame({ROW_COLUMN: rows}, index=frame.index)
    text = clean_text(frame["bed_capacity"])
    number = pd.to_numeric(text.replace("", pd.NA), errors="coerce")
    whole = number.notna() & (number == np.floor(number.fillna(0)))
    problems = [Problem(int(r), "bed_capacity", "", "is empty") for r in rows[text == ""]]
    problems += [Problem(int(r), "bed_capacity", str(v), "is not a whole number of beds")
                 for r, v in zip(rows[(text != "") & ~whole], text[(text != "") & ~whole])]
    typed["bed_capacity"] = pd.array(number.where(whole), dtype="Int64")
    for spec in SITE_FIELDS[1:]:  # closed_on may be left out: every site still open
        text = (clean_text(frame[spec.name]) if spec.name in frame.columns
                else pd.Series("", index=frame.index, dtype="string"))
        typed[spec.name], found = parse_dates(text, rows, spec)
        problems += found
    return typed, problems


def _validate(typed: pd.DataFrame, raw: pd.DataFrame, parsed: list[Problem]) -> list[Problem]:
    """The schema's problems, naming the file's row and column (a cell the parser could not
    read is reported once)."""
    try:
        site_schema().validate(typed, lazy=True)
        return []
    except pandera.errors.SchemaErrors as exc:
        found = pandera_problems(exc.failure_cases, raw)
    seen = {(p.row, p.column) for p in parsed}
    out = []
    for problem in found:
        if problem.column is None and "closed_on" in problem.reason:
            row = raw.loc[raw[ROW_COLUMN] == problem.row, "closed_on"]
            problem = Problem(problem.row, "closed_on", str(row.iloc[0]).strip(), problem.reason)
        if (problem.row, problem.column) not in seen:
            out.append(problem)
    return out


def _locations(frame: pd.DataFrame, cell_m: int) -> tuple[pd.DataFrame, list[Problem]]:
    """Geomasked location of each site (``data.location``, as events); rows giving only a
    ``ward_code`` get that ward and its district, and no point."""
    given = {c: (clean_text(frame[c]) != "") if c in frame.columns
             else pd.Series(False, index=frame.index) for c in LOCATION_COLUMNS}
    ward_only = given["ward_code"] & ~np.logical_or.reduce(
        [given[c] for c in LOCATION_COLUMNS if c != "ward_code"])
    located, problems = resolve_locations(frame[~ward_only], cell_m)
    out = pd.DataFrame(index=frame.index, columns=located.columns)
    out.loc[~ward_only] = located
    if ward_only.any():
        wards = load_boundaries("ward").set_index("code")["district_code"]
        codes = clean_text(frame.loc[ward_only, "ward_code"]).str.upper()
        for row, code in zip(frame.loc[ward_only, ROW_COLUMN], codes):
            if code not in wards.index:
                problems.append(Problem(int(row), "ward_code", code,
                                        "is not a West Yorkshire ward code (2021)"))
        out.loc[ward_only, "ward_code"] = codes.to_numpy()
        out.loc[ward_only, "district_code"] = codes.map(wards).to_numpy()
        out.loc[ward_only, "has_point"] = False
        out.loc[ward_only, "geomask_m"] = cell_m
    out["has_point"] = out["has_point"].astype(bool)
    for column in ("easting", "northing"):
        out[column] = pd.array(out[column], dtype="Int64")
    return out[["lsoa_code", "ward_code", "district_code", "has_point", "easting", "northing",
                "geomask_m"]], problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m data.exposure",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("file", help="CSV, XLSX or GeoParquet list of accommodation sites")
    parser.add_argument("--store", help="store URL or folder (default: $STORE_URL or ./store)")
    parser.add_argument("--drop-unknown", action="store_true",
                        help="drop columns not in the exposure contract instead of refusing")
    parser.add_argument("--geomask-m", type=int, help="geomask cell in metres (default 100)")
    parser.add_argument("--sheet", help="the sheet to read, for a workbook with several")
    args = parser.parse_args(argv)
    try:
        report = ingest_sites_file(args.file, store=args.store, drop_unknown=args.drop_unknown,
                                   geomask_m=args.geomask_m, sheet=args.sheet)
    except DashboardError as exc:
        return refused(exc, args.file, "the stored layer is unchanged")
    print(report.summary())
    return 0


if __name__ == "__main__":
    sys.exit(main())
