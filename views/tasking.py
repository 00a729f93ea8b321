"""Tasking records: from a hotspot, who does what by when, kept in the store.

A partnership chair creates a task from a hotspot (``views.hotspots``): a lead agency from a
configurable list, an action, a due date and a status (open, in progress, done). The task keeps
the hotspot's polygon, place names, feeds and filters, so it still makes sense after the model
is refitted on new data and the hotspot ids change.

Storage: one side document of the store, :data:`TASKS_DOCUMENT` (``_tasking/tasks.json``),
``{"format": 1, "version": n, "tasks": [...]}``, on either backend:

- embedded store: the file ``<store>/_tasking/tasks.json`` (the store's reader only opens files
  its manifest names);
- PostGIS store: the row of that name in the ``documents`` table.

Every write is one ``Store.update_document`` call: read, change, write, as one atomic step that
excludes every other writer of the document in any process (the store's writer lock, then a
temporary file fsynced and renamed over the old one; or one PostgreSQL transaction holding an
advisory lock). So two writers never lose each other's changes, and a crash leaves the old
records or the new ones, never half of them. ``python -m storage.base copy`` carries the document
(``storage.base.DOCUMENTS``). Every create and update is audited (action ``tasking``; the detail
names the task and the fields changed, never the action text, which is free text).

Lead agencies: :data:`DEFAULT_AGENCIES`, or one per line from the file named by
``TASKING_AGENCIES_FILE`` (``#`` starts a comment). A task keeps its agency if the list changes
later; a new or changed task must use one from the current list.

Roles: creating and changing tasks needs the ``tasking`` action (chairs); reading them needs
``tasking`` or ``view_hotspots`` (analysts see the list). A done task's outcome
(``views.task_outcome.outcome``): events inside its polygon for equal periods before it was
created and after it was done, suppressed for roles that need it. No Streamlit here.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import shapely

from core import clock, roles
from core.errors import AccessDenied, ConfigError, StoreError, TaskingError
from core.filters import EventFilter
from core.schema import check_feed
from safeguards.audit import AuditEvent, record

FORMAT = 1
TASKING_DIR = "_tasking"
TASKS_FILE = "tasks.json"
TASKS_DOCUMENT = f"{TASKING_DIR}/{TASKS_FILE}"
AGENCIES_ENV = "TASKING_AGENCIES_FILE"
DEFAULT_AGENCIES = ("West Yorkshire Police", "District council", "Justice and Care",
                    "Palm Cove Society", "Hope for Justice", "Health (NHS)")
STATUSES = ("open", "in progress", "done")
STATUS_TITLES = {"open": "Open", "in progress": "In progress", "done": "Done"}
MAX_ACTION = 500
MAX_AGENCY = 80
MAX_DUE_YEARS = 2
EDITABLE = ("lead_agency", "action", "due", "status")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u2028\u2029]")
_TASK_ID = re.compile(r"^T-\d{4,}$")


@dataclass(frozen=True)
class Task:
    """One tasking record.

    ``geometry`` is the hotspot polygon as WKT in EPSG:4326 (longitude, latitude);
    ``filters`` are the filters of the fit it came from (ISO dates, lists), for the record.
    Times are UTC; ``done_at`` is set when the status becomes done and cleared if reopened.
    """

    task_id: str
    hotspot_id: int
    place: str
    districts: tuple[str, ...]
    wards: tuple[str, ...]
    geometry: str
    feeds: tuple[str, ...]
    filters: Mapping
    lead_agency: str
    action: str
    due: dt.date
    status: str
    created_at: dt.datetime
    created_by: str
    updated_at: dt.datetime
    updated_by: str
    done_at: dt.datetime | None = None

    @property
    def polygon(self):
        return shapely.from_wkt(self.geometry)

    def to_json(self) -> dict:
        data = asdict(self)
        data.update(districts=list(self.districts), wards=list(self.wards),
                    feeds=list(self.feeds), filters=dict(self.filters),
                    due=self.due.isoformat(), created_at=_iso(self.created_at),
                    updated_at=_iso(self.updated_at),
                    done_at=_iso(self.done_at) if self.done_at else None)
        return data

    @classmethod
    def from_json(cls, data: Mapping) -> "Task":
        return cls(task_id=str(data["task_id"]), hotspot_id=int(data["hotspot_id"]),
                   place=str(data["place"]), districts=tuple(data["districts"]),
                   wards=tuple(data["wards"]), geometry=str(data["geometry"]),
                   feeds=tuple(data["feeds"]), filters=dict(data.get("filters") or {}),
                   lead_agency=str(data["lead_agency"]), action=str(data["action"]),
                   due=dt.date.fromisoformat(data["due"]), status=str(data["status"]),
                   created_at=_parse_time(data["created_at"]), created_by=str(data["created_by"]),
                   updated_at=_parse_time(data["updated_at"]), updated_by=str(data["updated_by"]),
                   done_at=_parse_time(data["done_at"]) if data.get("done_at") else None)


def _iso(value: dt.datetime) -> str:
    return value.astimezone(dt.timezone.utc).isoformat(timespec="seconds")


def _parse_time(text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


def _utc_now() -> dt.datetime:
    return clock.now().replace(microsecond=0)


# -- lead agencies -------------------------------------------------------------------------
def lead_agencies(path: str | os.PathLike | None = None) -> tuple[str, ...]:
    """The lead agencies a task may name.

    ``path``, else the file named by ``TASKING_AGENCIES_FILE``, else :data:`DEFAULT_AGENCIES`.
    The file holds one agency per line; blank lines and ``#`` comments are skipped.

    Raises
    ------
    ConfigError
        The file cannot be read, lists no agency, repeats one or has one longer than 80
        characters.
    """
    path = path or os.environ.get(AGENCIES_ENV, "").strip() or None
    if path is None:
        return DEFAULT_AGENCIES
    try:
        lines = Path(path).read_text(encoding="utf-8-sig").splitlines()
    except OSError as exc:
        raise ConfigError(f"{AGENCIES_ENV} names {path}, which cannot be read ({exc}); "
                          "give a text file with one lead agency per line") from exc
    names = [_CONTROL.sub("", line.split("#", 1)[0]).strip() for line in lines]
    names = [name for name in names if name]
    if not names:
        raise ConfigError(f"{path} lists no lead agency: write one per line")
    long = [name for name in names if len(name) > MAX_AGENCY]
    if long:
        raise ConfigError(f"{path}: lead agency names must be at most {MAX_AGENCY} characters "
                          f"({long[0][:40]!r}... is longer)")
    if len(set(names)) != len(names):
        raise ConfigError(f"{path} lists a lead agency twice")
    return tuple(names)


# -- the task book -------------------------------------------------------------------------
class TaskBook:
    """The tasks of one store, read and written on behalf of ``principal``.

    Parameters
    ----------
    store : storage.base.Store
        The store (either backend) that keeps the tasks as its side document
        :data:`TASKS_DOCUMENT`.
    principal : safeguards.access.Principal
    agencies : sequence of str, optional
        Lead agencies allowed for new and changed tasks (default :func:`lead_agencies`).
    clock : callable, optional
        Returns the current UTC time (tests).
    """

    def __init__(self, store, principal, *, agencies: Sequence[str] | None = None,
                 clock: Callable[[], dt.datetime] | None = None):
        self.store = store
        self.principal = principal
        self.agencies = tuple(agencies) if agencies is not None else lead_agencies()
        self.clock = clock or _utc_now

    @property
    def location(self) -> str:
        """Where the records are, for messages: a file path, or the document in the database."""
        root = getattr(self.store, "root", None)
        if root is not None:
            return str(Path(root) / TASKS_DOCUMENT)
        return f"document {TASKS_DOCUMENT} in {self.store.url}"

    # -- reading ----------------------------------------------------------------------------
    def tasks(self, status: str | Iterable[str] | None = None) -> list[Task]:
        """Every task (optionally of some statuses), newest first."""
        self._require_read()
        wanted = None if status is None else ({status} if isinstance(status, str)
                                              else set(status))
        tasks = [t for t in self._read()["tasks"] if wanted is None or t.status in wanted]
        return sorted(tasks, key=lambda t: (t.created_at, t.task_id), reverse=True)

    def get(self, task_id: str) -> Task:
        self._require_read()
        for task in self._read()["tasks"]:
            if task.task_id == task_id:
                return task
        raise TaskingError(f"there is no task {str(task_id)[:20]!r}; it may have been "
                           "removed: reload the page", field="task_id")

    # -- writing ----------------------------------------------------------------------------
    def create(self, hotspot: Mapping, *, lead_agency: str, action: str, due: dt.date,
               feeds: Sequence[str], filters: EventFilter | Mapping | None = None,
               status: str = "open") -> Task:
        """A new task for ``hotspot`` (a row of ``HotspotView.hotspots``).

        Raises
        ------
        AccessDenied
            The role may not task (audited).
        TaskingError
            A field is invalid (nothing written); ``.field`` says which.
        """
        self._require_write()
        now = self.clock()
        values = self._validated({"lead_agency": lead_agency, "action": action, "due": due,
                                  "status": status}, today=now.date(), new=True)
        place, districts, wards, geometry, hotspot_id = _hotspot_parts(hotspot)
        feeds = tuple(dict.fromkeys(feeds))
        if not feeds:
            raise TaskingError("a task needs the feeds of its hotspot", field="hotspot")
        for feed in feeds:
            check_feed(feed)
        made = []

        def add(text: str | None) -> str:
            book = self._parse(text)
            number = max((int(t.task_id[2:]) for t in book["tasks"]), default=0) + 1
            made[:] = [Task(task_id=f"T-{number:04d}", hotspot_id=hotspot_id, place=place,
                            districts=districts, wards=wards, geometry=geometry, feeds=feeds,
                            filters=_filters_json(filters), created_at=now,
                            created_by=self.principal.user, updated_at=now,
                            updated_by=self.principal.user,
                            done_at=now if values["status"] == "done" else None, **values)]
            return self._serialise(book, [*book["tasks"], *made])

        self.store.update_document(TASKS_DOCUMENT, add)
        task = made[0]
        self._audit(f"create {task.task_id}: hotspot {hotspot_id} ({place}); lead "
                    f"{task.lead_agency}; due {task.due}; {task.status}")
        return task

    def update(self, task_id: str, **changes) -> Task:
        """Change ``lead_agency``, ``action``, ``due`` and/or ``status`` of a task.

        Setting the status to done records when; reopening clears it. A change to nothing new
        writes and audits nothing.

        Raises
        ------
        AccessDenied
            The role may not task (audited).
        TaskingError
            An unknown task or field, or an invalid value (nothing written).
        """
        self._require_write()
        unknown = sorted(set(changes) - set(EDITABLE))
        if unknown:
            raise TaskingError(f"cannot change {', '.join(unknown)}; a task's editable fields "
                               f"are {', '.join(EDITABLE)}", field=unknown[0])
        now = self.clock()
        found = {}

        def change(text: str | None) -> str | None:
            book = self._parse(text)
            matches = [t for t in book["tasks"] if t.task_id == task_id]
            if not matches:
                raise TaskingError(f"there is no task {str(task_id)[:20]!r}; it may have been "
                                   "removed: reload the page", field="task_id")
            old = found["old"] = found["new"] = matches[0]
            values = self._validated(changes, today=now.date(), new=False,
                                     current_agency=old.lead_agency)
            found["changed"] = {k: v for k, v in values.items() if getattr(old, k) != v}
            if not found["changed"]:
                return None                                   # nothing new: nothing written
            done_at = old.done_at
            if "status" in found["changed"]:
                done_at = now if found["changed"]["status"] == "done" else None
            new = found["new"] = replace(old, **found["changed"], updated_at=now,
                                         updated_by=self.principal.user, done_at=done_at)
            return self._serialise(book, [new if t.task_id == task_id else t
                                          for t in book["tasks"]])

        self.store.update_document(TASKS_DOCUMENT, change)
        old, new, changed = found["old"], found["new"], found["changed"]
        if not changed:
            return old
        described = "; ".join(
            f"{k} {_short(getattr(old, k))} -> {_short(v)}" if k != "action" else "action edited"
            for k, v in changed.items())
        self._audit(f"update {task_id}: {described}")
        return new

    # -- internals --------------------------------------------------------------------------
    def _require_read(self) -> None:
        role = self.principal.role
        if not (roles.may(role, "tasking") or roles.may(role, "view_hotspots")):
            self._deny("tasking records")

    def _require_write(self) -> None:
        if not roles.may(self.principal.role, "tasking"):
            self._deny("tasking")

    def _deny(self, what: str) -> None:
        record(self.store, AuditEvent(action="access-denied", actor=self.principal.user,
                                      role=self.principal.role, page=None, detail=what))
        title = roles.ROLE_TITLES[self.principal.role].lower()
        raise AccessDenied(f"the {title} role may not {'see' if 'records' in what else 'change'} "
                           f"{what}; partnership chairs create and update tasks")

    def _validated(self, values: Mapping, *, today: dt.date, new: bool,
                   current_agency: str | None = None) -> dict:
        out = {}
        if "lead_agency" in values:
            agency = values["lead_agency"]
            if not isinstance(agency, str) or (agency not in self.agencies
                                               and agency != current_agency):
                raise TaskingError("choose the lead agency from the list: "
                                   + ", ".join(self.agencies), field="lead_agency")
            out["lead_agency"] = agency
        if "action" in values:
            action = values["action"]
            if not isinstance(action, str):
                raise TaskingError("the action must be text", field="action")
            action = _CONTROL.sub(" ", action.replace("\r\n", "\n")).strip()
            if not action:
                raise TaskingError("say what the lead agency will do (the action is empty)",
                                   field="action")
            if len(action) > MAX_ACTION:
                raise TaskingError(f"the action is {len(action)} characters; keep it to "
                                   f"{MAX_ACTION} (details belong in the agency's own records)",
                                   field="action")
            out["action"] = action
        if "due" in values:
            due = values["due"]
            if isinstance(due, str):
                try:
                    due = dt.date.fromisoformat(due)
                except ValueError:
                    raise TaskingError("the due date must be a date such as 2026-12-31",
                                       field="due") from None
            if isinstance(due, dt.datetime) or not isinstance(due, dt.date):
                raise TaskingError("the due date must be a date such as 2026-12-31",
                                   field="due")
            if new and due < today:
                raise TaskingError(f"the due date {due:%d %b %Y} is in the past; choose today "
                                   "or later", field="due")
            if due > today.replace(year=today.year + MAX_DUE_YEARS):
                raise TaskingError(f"the due date {due:%d %b %Y} is more than {MAX_DUE_YEARS} "
                                   "years ahead", field="due")
            out["due"] = due
        if "status" in values:
            status = values["status"]
            if status not in STATUSES:
                raise TaskingError("the status must be one of: " + ", ".join(STATUSES),
                                   field="status")
            out["status"] = status
        return out

    def _read(self) -> dict:
        try:
            text = self.store.read_document(TASKS_DOCUMENT)
        except (OSError, ValueError) as exc:           # unreadable, or not UTF-8
            raise StoreError(f"the tasking records ({self.location}) cannot be read: "
                             f"{exc}") from exc
        return self._parse(text)

    def _parse(self, text: str | None) -> dict:
        if text is None:
            return {"format": FORMAT, "version": 0, "tasks": []}
        try:
            raw = json.loads(text)
        except ValueError as exc:
            raise StoreError(f"the tasking records ({self.location}) cannot be read: "
                             f"{exc}") from exc
        if not isinstance(raw, dict) or raw.get("format") != FORMAT:
            raise StoreError(f"the tasking records ({self.location}) are not in a format this "
                             "version reads")
        try:
            tasks = [Task.from_json(t) for t in raw.get("tasks", [])]
        except (KeyError, TypeError, ValueError) as exc:
            raise StoreError(f"the tasking records ({self.location}) are damaged: "
                             f"{exc}") from exc
        return {"format": FORMAT, "version": int(raw.get("version", 0)), "tasks": tasks}

    @staticmethod
    def _serialise(book: dict, tasks: list[Task]) -> str:
        """The document's next text (written by ``Store.update_document``)."""
        return json.dumps({"format": FORMAT, "version": book["version"] + 1,
                           "tasks": [t.to_json() for t in tasks]}, indent=1, ensure_ascii=False)

    def _audit(self, detail: str) -> None:
        record(self.store, AuditEvent(action="tasking", actor=self.principal.user,
                                      role=self.principal.role, page="hotspots", detail=detail))


def _short(value) -> str:
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    return text[:40]


def _hotspot_parts(hotspot: Mapping):
    try:
        geometry = hotspot["geometry"]
        hotspot_id = int(hotspot["hotspot_id"])
        place = str(hotspot["place"])
        districts = tuple(str(d) for d in hotspot["districts"])
        wards = tuple(str(w) for w in hotspot["wards"])
    except (KeyError, TypeError, ValueError) as exc:
        raise TaskingError(f"choose a hotspot from the table ({exc})", field="hotspot") from None
    if isinstance(geometry, str):
        try:
            geometry = shapely.from_wkt(geometry)
        except shapely.errors.GEOSException:
            geometry = None
    if not isinstance(geometry, shapely.Geometry) or geometry.is_empty \
            or geometry.geom_type not in ("Polygon", "MultiPolygon"):
        raise TaskingError("the hotspot has no polygon; refit and choose it again",
                           field="hotspot")
    west, south, east, north = geometry.bounds
    if not (-3 < west <= east < -0.5 and 53 < south <= north < 54.5):
        raise TaskingError("the hotspot polygon is not in West Yorkshire (longitude, latitude "
                           "expected)", field="hotspot")
    return place, districts, wards, shapely.to_wkt(geometry, rounding_precision=6), hotspot_id


def _filters_json(filters) -> dict:
    if filters is None:
        return {}
    items = vars(filters).items() if isinstance(filters, EventFilter) else dict(filters).items()
    return {k: (v.isoformat() if hasattr(v, "isoformat") else list(v) if isinstance(v, tuple)
                else v) for k, v in items if v not in (None, (), [])}
