"""Check parsed rows against the feed's pandera schema (``core.schema``), quickly when they pass.

The schema's column checks (patterns, choices, date bounds, not-null, dtype) each judge one value
at a time, so a value that passes once passes in every row: a column is checked on its *distinct*
values (a category column of 200,000 rows has a handful), a ``unique`` column by a hash-based
duplicate test, date-times (comparisons only; Rosewood's are nearly all distinct) on every row.
Whole-frame checks (rosewood's found-after-missing rule) judge one row at a time, so they alone
then run, on the non-unique columns of every row. Only when that quick pass finds
anything does the whole frame go through pandera, exactly as before, so every refusal still names
the file's row, column and value (:func:`pandera_problems`).
"""
from __future__ import annotations

import copy
import threading

import pandas as pd
import pandera.errors

from core.errors import Problem
from core.schema import feed_fields, feed_schema
from data.cells import ROW_COLUMN

_WARMING = threading.Lock()
_WARMED: set[str] = set()


def warm_up(feed: str) -> None:
    """Run ``feed``'s schema once on a one-row example, if no validation of it has run yet in
    this process: pandera's first validation registers its backends and checks (importing
    ``hypothesis``: 0.2-0.4 s of CPU), which a large ingest does on a second thread while the
    file is read (``data.ingest``) instead of on its main path. A validation that comes while
    this runs waits for it (no two threads register at once); the result is not used."""
    with _WARMING:
        if feed in _WARMED:
            return
        passes_on_distinct_values(_example(feed), feed_schema(feed))
        _WARMED.add(feed)


def _example(feed: str) -> pd.DataFrame:
    """One parsed row of ``feed`` with the dtypes ``data.parse`` gives."""
    values = {"id": pd.array(["X1"], dtype="string"), "ref": pd.array(["R1"], dtype="string"),
              "date": pd.Series([pd.Timestamp("2020-01-01")]).astype("datetime64[us]"),
              "bool": pd.array([True], dtype="boolean")}
    values["datetime"] = values["date"]
    return pd.DataFrame({f.name: values.get(f.kind, pd.array([(f.choices or ("x",))[0]],
                                                             dtype="string"))
                         for f in feed_fields(feed)} | {ROW_COLUMN: [2]})


def validate(typed: pd.DataFrame, raw: pd.DataFrame, feed: str) -> list[Problem]:
    """Every schema failure of ``typed`` (parsed from ``raw``), as Problems quoting ``raw``."""
    warm_up(feed)
    schema = feed_schema(feed)
    if passes_on_distinct_values(typed, schema):
        return []
    try:
        schema.validate(typed, lazy=True)
    except pandera.errors.SchemaErrors as exc:
        return pandera_problems(exc.failure_cases, raw)
    return []


def passes_on_distinct_values(typed: pd.DataFrame, schema) -> bool:
    """Whether ``schema`` accepts ``typed``, judged on distinct values; ``False`` means "run the
    full validation" (it finds and words the failures), never that a row is accepted wrongly."""
    if any(name not in typed.columns for name in schema.columns):
        return False
    unique = [name for name, column in schema.columns.items() if column.unique]
    try:
        for name, column in schema.columns.items():
            values = typed[name]
            if column.unique:
                if not values.is_unique:  # one hash pass, without a flag per row
                    return False
                distinct = values  # every value once already
                # ...so pandera need not test that again, only the column's other checks.
                column = copy.copy(column)
                column.unique = False
            elif values.dtype.kind == "M":
                # Date-times: the checks are comparisons, cheaper on every row than finding
                # the distinct values first (Rosewood's are nearly all distinct).
                distinct = values
            else:  # the distinct values (and one missing, if any), without a flag per row
                distinct = pd.Series(values.unique(), name=name)
            pandera_schema = type(schema)({name: column}, strict=False)
            pandera_schema.validate(distinct.to_frame(), lazy=False)
        if schema.checks:  # the columns passed above: only the whole-frame rules are left
            # Each judges one row at a time, so on every row (a comparison per row) as on the
            # distinct rows, which cost more to find (a hash of every row) than they save.
            rest = [c for c in schema.columns if c not in unique]
            type(schema)(checks=schema.checks, strict=False).validate(typed[rest], lazy=False)
    except (pandera.errors.SchemaError, pandera.errors.SchemaErrors):
        return False
    return True


def pandera_problems(cases: pd.DataFrame, raw: pd.DataFrame) -> list[Problem]:
    """Turn pandera's failure cases into Problems that quote the file's own text."""
    problems = []
    for case in cases.itertuples(index=False):
        if pd.isna(case.index):
            continue  # a whole-column failure is also reported row by row
        index = int(case.index)
        reason = _reason(str(case.check))
        column = case.column if case.column in raw.columns else None
        if case.schema_context == "DataFrameSchema":
            # A cross-field rule fails for every column of the row; it names its column itself.
            column = "found_at" if "found_at" in reason else None
        value = None if column is None else str(raw.at[index, column]).strip()
        problems.append(Problem(int(raw.at[index, ROW_COLUMN]), column, value, reason))
    return list(dict.fromkeys(problems))


def _reason(check: str) -> str:
    if check == "not_nullable":
        return "is empty"
    if check == "field_uniqueness":
        return "record_id appears more than once in the file"
    return check
