"""The SQL form of the store's filters (``core.filters.EventFilter``) for the PostGIS store: the
same filters, with the same meaning, as the Parquet store's Arrow expressions."""
from __future__ import annotations

import datetime as dt

from core.filters import EventFilter


def where_clause(feed: str, f: EventFilter):
    """The SQL form of ``storage.parquet._expression``: same filters, same meaning."""
    from psycopg import sql

    parts = [sql.SQL("TRUE")]
    if f.start:
        parts.append(sql.SQL("event_date >= {}").format(
            sql.Literal(dt.datetime.combine(f.start, dt.time()))))
    if f.end:  # inclusive end date
        parts.append(sql.SQL("event_date < {}").format(
            sql.Literal(dt.datetime.combine(f.end, dt.time()) + dt.timedelta(days=1))))
    for column, values in (("district_code", f.districts), ("ward_code", f.wards),
                           ("age_group", f.age_groups)):
        if values:
            parts.append(sql.SQL("{} = ANY({})").format(sql.Identifier(column),
                                                        sql.Literal(list(values))))
    if feed == "nrm" and f.exploitation_types:
        parts.append(_any_token("exploitation_type", f.exploitation_types))
    if feed == "mandevilla" and f.indicators:
        parts.append(_any_token("indicators", f.indicators))
    if feed == "rosewood" and f.rosewood_status:
        parts.append(sql.SQL("found_at IS NOT NULL" if f.rosewood_status == "found"
                             else "found_at IS NULL"))
    return sql.SQL(" AND ").join(parts)


def _any_token(column: str, tokens):
    from psycopg import sql

    safe = [t for t in tokens if t.replace("_", "").isalnum()]
    if not safe:
        return sql.SQL("FALSE")
    pattern = "(^|;)(" + "|".join(safe) + ")(;|$)"
    return sql.SQL("{} ~ {}").format(sql.Identifier(column), sql.Literal(pattern))
