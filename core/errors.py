"""One exception type per domain failure, each with a message a user can act on.

Identifiers (file, feed, columns, problems) are kept as attributes, not only in the message, so
callers and tests can inspect them (datasette's ``TableNotFound`` does the same).
"""
from __future__ import annotations

from dataclasses import dataclass


class DashboardError(Exception):
    """Base class of every failure this product reports to a user."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one cell of an input file.

    ``row`` is the row number as the user sees it in the file (the header is row 1 in a CSV or
    spreadsheet), or ``None`` for a problem with the whole file or a whole column.
    """

    row: int | None
    column: str | None
    value: str | None
    reason: str

    def __str__(self) -> str:
        where = []
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column {self.column!r}")
        value = "" if self.value is None else f" (value {_short(self.value)!r})"
        prefix = ", ".join(where)
        return f"{prefix}{value}: {self.reason}" if prefix else f"{self.reason}{value}"


def _short(value: str, limit: int = 60) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


class InputFileError(DashboardError):
    """A partner file cannot be stored. Nothing from it was written.

    Attributes
    ----------
    path : str
        The file, as the user named it.
    problems : list of Problem
        Every problem found (the message lists the first ``MAX_LISTED``).
    """

    MAX_LISTED = 50

    def __init__(self, path, problems, headline=None):
        self.path = str(path)
        self.problems = list(problems)
        self.headline = headline or self.default_headline
        super().__init__(self._message())

    default_headline = "the file cannot be read"

    def _message(self) -> str:
        lines = [f"{self.path}: {self.headline}"]
        for problem in self.problems[: self.MAX_LISTED]:
            lines.append(f"  - {problem}")
        hidden = len(self.problems) - self.MAX_LISTED
        if hidden > 0:
            lines.append(f"  … and {hidden:,} more problems")
        return "\n".join(lines)


class FileFormatError(InputFileError):
    """The file is not a readable CSV, XLSX or GeoParquet file (encoding, delimiter, junk)."""

    default_headline = "the file cannot be read as a partner data file"


class ForbiddenFieldError(InputFileError):
    """The file has a column the system must never hold (immigration status, identity, ...)."""

    default_headline = (
        "refused: the file has columns this system must never hold. Remove them from the "
        "export and send the file again (see docs/data-contract.md, 'Forbidden fields')"
    )

    @property
    def columns(self) -> list[str]:
        return [p.column for p in self.problems]


class SchemaError(InputFileError):
    """Columns are missing or not in the contract, or rows break the contract."""

    default_headline = "refused: the file does not match the data contract; nothing was stored"


class IdentifierError(SchemaError):
    """An allowed column holds identifying data (a phone number, postcode, NI or NHS number, a
    Home Office reference, ...). The file is refused whole; values are shown masked."""

    default_headline = (
        "refused: identifying data in the file; nothing was stored. Remove it from the export "
        "and send the file again (person_ref must be made with python -m data.pseudonymise; "
        "see docs/data-contract.md, 'Identifiers inside allowed columns')"
    )


class DuplicateRecordError(SchemaError):
    """A record_id is already stored with different content (use --replace to overwrite)."""

    default_headline = (
        "refused: record_id already stored with different content; nothing was stored. "
        "Use --replace to overwrite those records deliberately"
    )


class ConfigError(DashboardError):
    """A setting (store URL, geomask cell size, column mapping) is invalid."""


class StoreError(DashboardError):
    """The store cannot be opened, read or written."""


class AccessDenied(DashboardError):
    """The signed-in role may not see what was asked for."""


class PeriodError(DashboardError, ValueError):
    """A reporting period is not a whole calendar month ("2026-10") or quarter ("2026-Q3"), or
    is outside the data."""


class TaskingError(DashboardError):
    """A tasking record cannot be created or changed as asked (nothing was written).

    ``field`` names the input at fault (``lead_agency``, ``action``, ``due``, ``status``,
    ``task_id``, ``hotspot``), for a form to point at.
    """

    def __init__(self, message: str, field: str | None = None):
        self.field = field
        super().__init__(message)
