"""What the admin's Audit log page shows: entries for people, not the log's raw fields.

``safeguards.audit.read_audit`` gives the entries as stored (``None``, ``{}``, ISO times, role
keys). :func:`audit_table` turns them into the page's table: times in the app's format (UTC),
roles by title, filter sets as one readable line (``"feed: NRM · district: Leeds"``), and
``"—"`` wherever there is nothing.

No Streamlit here.
"""
from __future__ import annotations

import datetime as dt

import pandas as pd

from core.roles import ROLE_TITLES
from views.meeting_steps import markdown_text
from views.readable import BLANK, filters_text, is_blank, text, time_text

# The table's columns, in order: (title, how a raw entry's value is shown). What people read
# first comes first (when, who, what, with which filters); the entry's number in the chain last.
COLUMNS = {
    "When (UTC)": ("created", time_text),
    "Who": ("actor", text),
    "Role": ("role", lambda r: BLANK if is_blank(r) else ROLE_TITLES.get(r, r)),
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


def checked_text(when) -> str:
    """When the chain was checked, for the page's status line: "checked at 12:40:05 UTC"."""
    return f"checked at {when.astimezone(dt.UTC):%H:%M:%S} UTC"


def count_text(entries: pd.DataFrame) -> str:
    n = len(entries)
    return f"{n:,} {'entry' if n == 1 else 'entries'} shown."


def entry_in_full(table: pd.DataFrame, selected_rows: list[int]) -> pd.DataFrame | None:
    """The selected row of :func:`audit_table`'s ``table`` as a two-column (field, value) table,
    every value in full, or ``None`` when no row is selected (or the selection is out of date).

    The page's grid cuts a long Details or Filters cell at its column's width; this table is
    drawn as HTML (``st.table``), where a long value wraps instead. ``st.table`` reads its
    cells as Markdown, so every value is escaped (a name someone typed at sign-in is shown as
    typed, never as a link or markup).
    """
    if not selected_rows or not 0 <= selected_rows[0] < len(table):
        return None
    row = table.iloc[selected_rows[0]]
    return pd.DataFrame({"Field": [markdown_text(c) for c in table.columns], "Value": [markdown_text(v) for v in row]})


# The grid's rows and header are 35 px; at most this many rows show before it scrolls, so a
# 1080p screen shows a page of entries instead of ten rows above empty space.
ROW_PX, MAX_ROWS_SHOWN = 35, 16


def table_height(rows: int) -> int:
    """Height (px) of the entries grid: every row up to ``MAX_ROWS_SHOWN``, then it scrolls."""
    return ROW_PX * (min(max(rows, 1), MAX_ROWS_SHOWN) + 1) + 3
