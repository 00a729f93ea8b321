"""The meeting's tasking step: the tasking list for a period, with what changed since the last
meeting (:func:`tasks_since`), at ward or district level and without case detail.

The records are ``views.tasking``'s (read through ``TaskBook``, audited and refused there for a
role that may not read them). No Streamlit here.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core import clock
from geo.boundaries import DISTRICT_CODES
from safeguards.access import RoleScopedQuery
from views.meeting import Period

DONE_STATUSES = ("done", "closed", "complete", "completed")


@dataclass(frozen=True)
class Task:
    """One tasking record as the meeting shows it (ward or district level, no case detail)."""

    task_id: str
    title: str
    area: str
    lead_agency: str
    status: str
    due: dt.date | None
    created_at: dt.datetime | None
    updated_at: dt.datetime | None
    change: str  # "New", "Updated", "Done" or "" (unchanged since the last meeting)
    overdue: bool


# -- tasking -----------------------------------------------------------------------------------
def tasking_records(query: RoleScopedQuery) -> list:
    """The store's tasking records (``views.tasking.TaskBook``), read as the query's principal
    (audited and refused there for a role that may not read them)."""
    from views.tasking import TaskBook

    return TaskBook(query.store, query.principal).tasks()


def tasks_since(records, period: Period, district: str | None = None, *,
                today: dt.date | None = None) -> tuple[Task, ...]:
    """The tasking list for a meeting on ``period``, with what changed since the last one.

    ``records`` are ``views.tasking.Task`` objects (or mappings with the same fields:
    ``task_id``, ``action``, ``place`` or ``area_code``, ``districts``, ``lead_agency``,
    ``status``, ``due``, ``created_at``, ``updated_at``). The last meeting looked at the
    previous period, so it met when ``period`` began: a task created since is "New", one done
    since "Done", one otherwise changed since "Updated". The list is the tasking list as it
    stands (``today``, default the current date): a task not done and due before today is
    overdue. Tasks of other districts are left out when there is a focus. Ordered: changed
    first, then by due date.
    """
    since = pd.Timestamp(period.start, tz="UTC")
    today = today or clock.now().date()
    areas = _area_names()
    focus = DISTRICT_CODES.get(district) if district else None
    out = []
    for record in records:
        get = (record.get if isinstance(record, Mapping)
               else lambda k, default=None: getattr(record, k, default))
        code = _first(get, "area_code") or ""
        districts = tuple(_first(get, "districts") or
                          ((DISTRICT_CODES.get(areas[code][1]),) if code in areas else ()))
        if focus and focus not in districts:
            continue
        status = str(_first(get, "status") or "open")
        created, updated = (_utc(_first(get, k)) for k in ("created_at", "updated_at"))
        due = _first(get, "due", "due_date")
        due = None if due is None else pd.Timestamp(due).date()
        done = status.lower() in DONE_STATUSES
        change = ("New" if created is not None and created >= since else
                  "Done" if done and updated is not None and updated >= since else
                  "Updated" if updated is not None and updated >= since else "")
        out.append(Task(task_id=str(_first(get, "task_id", "id") or ""),
                        title=str(_first(get, "action", "title") or ""),
                        area=str(_first(get, "place") or areas.get(code, (code, ""))[0]),
                        lead_agency=str(_first(get, "lead_agency") or ""), status=status,
                        due=due, created_at=created, updated_at=updated, change=change,
                        overdue=bool(due and not done and due < today)))
    out.sort(key=lambda t: (t.change == "", t.due or dt.date.max, t.task_id))
    return tuple(out)


def period_tasks(query, period, district) -> tuple[tuple[Task, ...], str]:
    tasks = tasks_since(tasking_records(query), period, district)
    if not tasks:
        return tasks, ("No tasks were open in this period: chairs create them from a hotspot "
                       "on the Hotspots page.")
    return tasks, "Tasks created from hotspots on the Hotspots page."


def _first(get, *keys):
    for key in keys:
        value = get(key, None)
        if value is not None and not (isinstance(value, float) and np.isnan(value)):
            return value
    return None


def _utc(value) -> pd.Timestamp | None:
    if value is None:
        return None
    stamp = pd.Timestamp(value)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def _area_names() -> dict[str, tuple[str, str]]:
    """Ward and district code → (name, district code)."""
    from geo.boundaries import load_boundaries

    wards = load_boundaries("ward")
    out = {c: (n, d) for c, n, d in zip(wards["code"], wards["name"], wards["district_code"])}
    out.update({c: (n, c) for c, n in DISTRICT_CODES.items()})
    return out
