"""What the admin's Audit log page shows: entries for people, not the log's raw fields.

``safeguards.audit.read_audit`` gives the entries as stored (``None``, ``{}``, ISO times, role
keys). :func:`audit_table` turns them into the page's table: times in the app's format (UTC),
roles by title, filter sets as one readable line (``"feed: NRM · district: Leeds"``), and
``"—"`` wherever there is nothing.

No Streamlit here.
"""
from __future__ import annotations

import pandas as pd

from core.roles import ROLE_TITLES
from views.readable import BLANK, filters_text, text, time_text

# The table's columns, in order: (title, how a raw entry's value is shown). What people read
# first comes first (when, who, what, with which filters); the entry's number in the chain last.
COLUMNS = {
    "When (UTC)": ("created", time_text),
    "Who": ("actor", text),
    "Role": ("role", lambda r: BLANK if not r else ROLE_TITLES.get(r, r)),
    "Action": ("action", text),
    "Details": ("detail", text),
    "Filters": ("filters", filters_text),
    "Records": ("records", lambda n: BLANK if pd.isna(n) else f"{int(n):,}"),
    "Page": ("page", text),
    "#": ("seq", int),
}
DATE_INPUT_FORMAT = "DD/MM/YYYY"  # the date pickers, as on the other pages


def audit_table(entries: pd.DataFrame) -> pd.DataFrame:
    """``read_audit``'s entries as the page shows them: the :data:`COLUMNS`, all text but
    ``#``, newest first as given."""
    return pd.DataFrame({title: [show(v) for v in entries[column]] if len(entries) else []
                         for title, (column, show) in COLUMNS.items()},
                        columns=list(COLUMNS))


def count_text(entries: pd.DataFrame) -> str:
    n = len(entries)
    return f"{n:,} {'entry' if n == 1 else 'entries'} shown."
