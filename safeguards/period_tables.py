"""The shape of a feed's whole-period tables: months, quarters and the whole span, per area
or category, each with its West Yorkshire (``Total``) row.

Every page or report that shows counts of (feed, calendar period, area) reads them through
``RoleScopedQuery.period_tables`` and ``views.feed_tables.feed_tables``: the Trends page (months
and quarters), meeting mode and the briefing pack (a period's district comparison, headline and
trend), and the Overview (each district's records over the whole span). For analysts they are
the true counts (:func:`open_period_tables`); for protected roles, sums of the feed's published
atoms (``safeguards.publication.period_view``), so no table can be differenced against another.

Pure functions on tables already read by the query layer; no store, no Streamlit.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from safeguards.disclosure import SuppressedTable, open_table

#: Column label of the whole-span table (one column: each row's records over the span).
WHOLE = "whole span"


@dataclass(frozen=True)
class PeriodTables:
    """One row dimension (areas or categories) of a feed at every level of time.

    Attributes
    ----------
    month, quarter : SuppressedTable
        Rows × months (the months holding data) and rows × quarters, each with a ``Total`` row
        (West Yorkshire per period) and no ``Total`` column: the shape
        ``RoleScopedQuery.period_counts`` gives.
    whole : SuppressedTable or None
        Rows × one column (:data:`WHOLE`) with a ``Total`` row: records over the whole span.
        None where it is not shown (breakdowns).
    """

    month: SuppressedTable
    quarter: SuppressedTable
    whole: SuppressedTable | None


@dataclass(frozen=True)
class FeedPeriodTables:
    """Every protected table of one feed: ``area`` (e.g. districts) and ``parts`` (one per
    partition of the feed), sharing their West Yorkshire totals."""

    feed: str
    threshold: int
    area: PeriodTables
    parts: dict[str, PeriodTables]


def quarter_months(quarters: pd.PeriodIndex) -> pd.PeriodIndex:
    """Every month of ``quarters`` (consecutive quarters, oldest first)."""
    return pd.period_range(quarters[0].asfreq("M", how="start"),
                           quarters[-1].asfreq("M", how="end"), freq="M")


def open_period_tables(table: pd.DataFrame, data_months, *, row_totals: bool) -> PeriodTables:
    """The same tables with nothing hidden (for roles not under disclosure control)."""
    months = pd.PeriodIndex(table.columns, freq="M")
    quarters = pd.period_range(months[0].asfreq("Q"), months[-1].asfreq("Q"), freq="Q")
    shown = months.isin(pd.PeriodIndex(data_months, freq="M"))
    by_quarter = table.T.groupby(np.asarray([m.asfreq("Q") for m in months])).sum().T
    by_quarter.columns = quarters
    whole = table.sum(axis=1).to_frame(WHOLE) if row_totals else None
    return PeriodTables(month=open_table(table.loc[:, shown]), quarter=open_table(by_quarter),
                        whole=None if whole is None else open_table(whole))
