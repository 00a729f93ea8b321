"""What came of a tasking record: events inside a done task's polygon for equal periods before
it was created and after it was done (:func:`outcome`), and the tasks as a table with those
figures (:func:`tasks_table`).

For analysts the events are counted in the store inside the task's polygon (kept with the task,
so the count does not depend on a refit); protected roles get the records of the wards the
polygon covers over whole months, sums of published atoms. Seeing them needs ``view_hotspots``.
The records themselves are ``views.tasking``'s. No Streamlit here.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely

from core.filters import EventFilter
from safeguards.access import RoleScopedQuery
from safeguards.disclosure import threshold_for
from views.tasking import STATUS_TITLES, Task

#: The longest period compared before a task and after it is done.
OUTCOME_DAYS = 90


# -- outcome of a done task ----------------------------------------------------------------
@dataclass(frozen=True)
class Outcome:
    """Events inside a task's polygon before it was created and after it was done.

    ``before``/``after`` are None where hidden (suppressed roles) or not measurable; the
    ``*_display`` texts are what to show ("12", "<5", "–"). ``note`` explains a missing figure.
    """

    task_id: str
    before_period: tuple[dt.date, dt.date] | None
    after_period: tuple[dt.date, dt.date] | None
    before: int | None
    after: int | None
    before_display: str
    after_display: str
    note: str = ""
    threshold: int = 1


def outcome(query: RoleScopedQuery, task: Task, *, days: int = OUTCOME_DAYS,
            data_end: dt.date | None = None) -> Outcome:
    """Events in the task's polygon for equal periods before creation and after done.

    The periods are ``days`` long, or shorter when the data after the task was done do not
    reach that far (``data_end``: the store's last event date), so that the two are equal.

    Raises
    ------
    AccessDenied
        The role may not see hotspots.
    """
    query.require("view_hotspots")
    if task.status != "done" or task.done_at is None:
        return Outcome(task.task_id, None, None, None, None, "–", "–",
                       note="shown once the task is done")
    if data_end is None:
        period = query.store.period()
        data_end = period[1] if period else None
    created, done = task.created_at.date(), task.done_at.date()
    available = (data_end - done).days if data_end else 0
    length = min(days, available)
    if length < 1:
        return Outcome(task.task_id, None, None, None, None, "–", "–",
                       note="no data yet after the task was done")
    if query.suppressed:
        return _protected_outcome(query, task, created, done, data_end, days)
    before = (created - dt.timedelta(days=length), created - dt.timedelta(days=1))
    after = (done + dt.timedelta(days=1), done + dt.timedelta(days=length))
    counts = [_events_inside(query, task, period) for period in (before, after)]
    return Outcome(task.task_id, before, after, counts[0], counts[1], str(counts[0]),
                   str(counts[1]),
                   note=f"{length} days before the task was created and after it was done")


def _protected_outcome(query: RoleScopedQuery, task: Task, created: dt.date, done: dt.date,
                       data_end: dt.date, days: int) -> Outcome:
    """A protected role's outcome: records in the wards the task's polygon covers, over equal
    runs of whole months before the month it was created and after the month it was done —
    sums of published atoms (``safeguards.publication``), like every protected figure, so that
    outcomes measured on different days cannot be differenced (issue 12)."""
    import geopandas as gpd

    from geo.crs import WGS84
    from views.hotspots import covered_wards

    n = max(1, round(days / 30))
    last_whole = pd.Period(data_end + dt.timedelta(days=1), "M") - 1
    after_first = pd.Period(done, "M") + 1
    n = min(n, (last_whole - after_first).n + 1)
    if n < 1:
        return Outcome(task.task_id, None, None, None, None, "–", "–",
                       note="no whole month of data yet after the month the task was done")
    before_first = pd.Period(created, "M") - n
    periods = [(before_first, pd.Period(created, "M") - 1), (after_first, after_first + n - 1)]
    shape = gpd.GeoDataFrame({"hotspot_id": [0]}, geometry=[task.polygon], crs=WGS84)
    wards = covered_wards(shape)[0]
    shown, display, dates = [], [], []
    for first, last in periods:
        span = (first.start_time.date(), last.end_time.date())
        table = query.ward_set_counts(task.feeds, wards, EventFilter(start=span[0], end=span[1]))
        value = table.counts.loc["Total", "records"]
        shown.append(None if pd.isna(value) else int(value))
        display.append(str(table.display.loc["Total", "records"]))
        dates.append(span)
    months = "month" if n == 1 else f"{n} months"
    return Outcome(task.task_id, dates[0], dates[1], shown[0], shown[1], display[0], display[1],
                   note=f"records in the task's wards, {months} before the month it was created "
                        f"and after the month it was done (protected figures)",
                   threshold=max(threshold_for(feed) for feed in task.feeds))


def _events_inside(query: RoleScopedQuery, task: Task, period) -> int:
    import geopandas as gpd

    from geo.crs import BNG, WGS84

    polygon = gpd.GeoSeries([task.polygon], crs=WGS84).to_crs(BNG).iloc[0]
    filters = EventFilter(start=period[0], end=period[1])
    total = 0
    for feed in task.feeds:
        rows = query.store.query(feed, filters, columns=["easting", "northing"]).dropna()
        if len(rows):
            inside = shapely.contains_xy(polygon, rows["easting"].to_numpy(float),
                                         rows["northing"].to_numpy(float))
            total += int(np.count_nonzero(inside))
    return total


# -- export --------------------------------------------------------------------------------
def tasks_table(tasks: Sequence[Task], outcomes: Mapping[str, Outcome] | None = None
                ) -> pd.DataFrame:
    """The tasks as a table for the page and the CSV (``views.exports.safe_csv``)."""
    outcomes = outcomes or {}
    rows = []
    for task in tasks:
        result = outcomes.get(task.task_id)
        rows.append({
            "Task": task.task_id, "Status": STATUS_TITLES.get(task.status, task.status),
            "Lead agency": task.lead_agency, "Action": task.action,
            "Due": task.due.isoformat(), "Place": task.place,
            "Districts": ", ".join(task.districts), "Hotspot (at the time)": task.hotspot_id,
            "Created": task.created_at.date().isoformat(), "Created by": task.created_by,
            "Updated": task.updated_at.date().isoformat(),
            "Done": task.done_at.date().isoformat() if task.done_at else "",
            "Events before": result.before_display if result else "",
            "Events after": result.after_display if result else ""})
    columns = ["Task", "Status", "Lead agency", "Action", "Due", "Place", "Districts",
               "Hotspot (at the time)", "Created", "Created by", "Updated", "Done",
               "Events before", "Events after"]
    return pd.DataFrame(rows, columns=columns)
