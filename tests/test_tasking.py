"""Tasking records (views.tasking): create, list, update, atomic writes, validation, roles,
audit, the before/after outcome of a done task (views.task_outcome), the CSV and the one-page
PDF sheet.

Stores are ``tests.sample_store`` ones (one record a week from Mon 2 Jan 2023, districts in
turn, each within ~150 m of its town centre), so the hotspot around each town centre and the
records in it are known; every test gets its own copy of the store, with no tasks.

One suite, both backends: the ``store`` fixture is parametrised over ``parquet`` (a copy of the
sample store folder) and ``postgis`` (the same store copied once into the throwaway cluster with
``storage.base.copy_store``, restored before each test; skipped where PostgreSQL/PostGIS are
missing, failing on CI, see tests/pg_fixtures.py).
"""
from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import multiprocessing
import os
import shutil
import time

import pypdf
import pytest
import shapely

from core.errors import AccessDenied, ConfigError, StoreError, TaskingError
from reports.tasking_sheet import MARKING, tasking_sheet
from safeguards.access import Principal, RoleScopedQuery
from safeguards.audit import read_audit
from storage.base import DOCUMENTS
from storage.copy import copy_store
from storage.open import open_store
from storage.parquet import ParquetStore
from tests.sample_store import build_store
from views.exports import safe_csv
from views.hotspots import fit_hotspots
from views.task_outcome import outcome, tasks_table
from views.tasking import (
    DEFAULT_AGENCIES,
    TASKING_DIR,
    TASKS_DOCUMENT,
    TASKS_FILE,
    TaskBook,
    lead_agencies,
)

ROWS = {"nrm": 36, "rosewood": 30, "mandevilla": 24}
CHAIR = Principal("chair@wy.example", "chair")
ANALYST = Principal("analyst@wy.example", "analyst")
CREATED = dt.datetime(2023, 4, 3, 9, 30, tzinfo=dt.timezone.utc)


class Clock:
    """A settable clock for the task book."""

    def __init__(self, now=CREATED):
        self.now = now

    def __call__(self):
        return self.now


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    root = tmp_path_factory.mktemp("tasking") / "store"
    store = build_store(root, ROWS)
    view = fit_hotspots(RoleScopedQuery(store, CHAIR), tuple(ROWS))
    return root, view


@pytest.fixture(scope="module")
def _pg_fitted(fitted, _pg_working):
    """The sample store copied once into the PostGIS test database, kept as a snapshot."""
    from tests.pg_fixtures import empty_database, save_snapshot

    empty_database(_pg_working)
    copy_store(ParquetStore(fitted[0]), _pg_working)
    save_snapshot(_pg_working, "tasking")
    return _pg_working


@pytest.fixture(params=["parquet", "postgis"])
def store(request, fitted, tmp_path):
    """The sample store with no tasks, on each backend."""
    if request.param == "parquet":
        root, _ = fitted
        shutil.copytree(root, tmp_path / "store", ignore=shutil.ignore_patterns("_tasking"))
        return ParquetStore(tmp_path / "store")
    from tests.pg_fixtures import restore_snapshot

    url = request.getfixturevalue("_pg_fitted")
    restore_snapshot(url, "tasking")
    return open_store(url)


def backend(store) -> str:
    return "parquet" if isinstance(store, ParquetStore) else "postgis"


@pytest.fixture
def view(fitted):
    return fitted[1]


@pytest.fixture
def book(store):
    return TaskBook(store, CHAIR, clock=Clock())


def new_task(book, view, rank=1, **kwargs):
    values = {"lead_agency": "West Yorkshire Police", "action": "Joint visit with licensing",
              "due": dt.date(2023, 5, 1), "feeds": view.feeds, "filters": view.filters}
    values.update(kwargs)
    return book.create(view.hotspots.iloc[rank - 1], **values)


# -- create, list, update ----------------------------------------------------------------------
def test_create_list_and_update_a_task(book, view, store):
    task = new_task(book, view)
    first = view.hotspots.iloc[0]
    assert task.task_id == "T-0001" and task.status == "open" and task.done_at is None
    assert task.place == first["place"] and task.wards == tuple(first["wards"])
    assert task.polygon.equals_exact(first.geometry, 1e-5)
    assert task.created_by == CHAIR.user and task.created_at == CREATED
    second = new_task(book, view, rank=2, lead_agency="Hope for Justice")
    assert second.task_id == "T-0002"
    assert [t.task_id for t in book.tasks()] == ["T-0002", "T-0001"]      # newest first
    # Another book on the same store (another session) reads the same records.
    other = TaskBook(open_store(store.url), CHAIR)
    assert [t.task_id for t in other.tasks(status="open")] == ["T-0002", "T-0001"]

    book.clock.now = CREATED + dt.timedelta(days=10)
    moved = book.update("T-0001", status="in progress", due=dt.date(2023, 6, 1))
    assert (moved.status, moved.due, moved.done_at) == ("in progress", dt.date(2023, 6, 1), None)
    assert moved.updated_at == book.clock.now and moved.created_at == CREATED
    done = book.update("T-0001", status="done")
    assert done.done_at == book.clock.now
    assert [t.task_id for t in book.tasks(status="done")] == ["T-0001"]
    reopened = book.update("T-0001", status="open")
    assert reopened.done_at is None
    assert book.get("T-0002").lead_agency == "Hope for Justice"


def test_a_task_survives_a_refit_with_other_ids(book, view, store):
    task = new_task(book, view, rank=3)
    # A refit on other filters numbers hotspots differently; the task keeps its own polygon.
    refit = fit_hotspots(RoleScopedQuery(store, CHAIR), ("nrm", "rosewood"))
    stored = book.get(task.task_id)
    assert stored.place == view.hotspots.iloc[2]["place"]
    assert shapely.from_wkt(stored.geometry).equals_exact(view.hotspots.iloc[2].geometry, 1e-5)
    assert len(refit.hotspots) >= 1


def test_every_write_is_one_atomic_update_of_the_side_document(book, view, store,
                                                               monkeypatch):
    updates = []
    real_update = store.update_document

    def recording_update(name, change):
        updates.append(name)
        return real_update(name, change)

    monkeypatch.setattr(store, "update_document", recording_update)
    new_task(book, view)
    book.update("T-0001", status="in progress")
    book.update("T-0001", status="in progress")          # nothing new: read, nothing written
    assert updates == [TASKS_DOCUMENT] * 3
    body = json.loads(store.read_document(TASKS_DOCUMENT))
    assert body["format"] == 1 and body["version"] == 2 and len(body["tasks"]) == 1
    if backend(store) == "parquet":                       # the file, under the writer lock
        taken = []
        real_lock = store.lock

        @contextlib.contextmanager
        def recording_lock():
            with real_lock():
                taken.append(True)
                yield

        monkeypatch.setattr(store, "lock", recording_lock)
        book.update("T-0001", status="done")
        assert taken == [True]
        path = store.root / TASKING_DIR / TASKS_FILE
        assert json.loads(path.read_text(encoding="utf-8"))["version"] == 3
        assert [p.name for p in path.parent.iterdir()] == [TASKS_FILE]   # no temp file left


def test_a_failed_change_writes_nothing(book, view, store, monkeypatch):
    new_task(book, view)
    before = store.read_document(TASKS_DOCUMENT)

    def broken(self):
        raise RuntimeError("serialising failed")

    monkeypatch.setattr("views.tasking.Task.to_json", broken)
    with pytest.raises(RuntimeError):
        book.update("T-0001", status="done")
    monkeypatch.undo()
    assert store.read_document(TASKS_DOCUMENT) == before
    assert book.get("T-0001").status == "open"
    assert book.update("T-0001", status="done").status == "done"   # lock or transaction released


# Killed in the middle of a write: Parquet after the temporary file is written, before the
# rename; PostGIS after the document row is written, before the COMMIT.
def _kill_mid_write(kind: str) -> None:
    if kind == "parquet":
        real_replace = os.replace

        def dying_replace(src, dst):
            if str(src).endswith(".tmp"):
                os._exit(9)
            real_replace(src, dst)

        os.replace = dying_replace
    else:
        import psycopg

        real_execute = psycopg.Connection.execute

        def dying_execute(self, query, *args, **kwargs):
            result = real_execute(self, query, *args, **kwargs)
            if str(query).startswith("INSERT INTO documents"):
                os._exit(9)
            return result

        psycopg.Connection.execute = dying_execute


def _update_killed(url: str, kind: str) -> None:
    _kill_mid_write(kind)
    TaskBook(open_store(url), CHAIR, clock=Clock()).update("T-0001", status="done")


def test_a_writer_killed_mid_write_leaves_the_old_records(book, view, store):
    new_task(book, view)
    before = store.read_document(TASKS_DOCUMENT)
    child = multiprocessing.get_context("fork").Process(
        target=_update_killed, args=(store.url, backend(store)))
    child.start()
    child.join(60)
    assert child.exitcode == 9
    assert store.read_document(TASKS_DOCUMENT) == before
    assert book.get("T-0001").status == "open"
    # The next writer is not blocked by the dead one and completes normally.
    assert book.update("T-0001", status="done").status == "done"
    assert json.loads(store.read_document(TASKS_DOCUMENT))["version"] == 2


def _add_tasks_slowly(url: str, writer: str, start, view) -> None:
    """Add three tasks, each holding the document for 0.2 s between reading and writing it."""
    store = open_store(url)
    real_update = store.update_document

    def slow_update(name, change):
        def slowed(text):
            time.sleep(0.2)                     # another writer that did not wait would now
            return change(text)                 # read the same tasks and lose ours, or we its
        return real_update(name, slowed)

    store.update_document = slow_update
    book = TaskBook(store, Principal(f"{writer}@wy.example", "chair"), clock=Clock())
    start.wait(60)
    for i in range(3):
        new_task(book, view, rank=1 + i, action=f"{writer} task {i}")


def test_concurrent_writers_in_two_processes_both_land(book, view, store):
    context = multiprocessing.get_context("fork")
    start = context.Event()
    writers = [context.Process(target=_add_tasks_slowly, args=(store.url, name, start, view))
               for name in ("first", "second")]
    for process in writers:
        process.start()
    time.sleep(0.3)
    start.set()
    for process in writers:
        process.join(120)
    assert [p.exitcode for p in writers] == [0, 0]
    tasks = book.tasks()
    assert sorted(t.task_id for t in tasks) == [f"T-{i:04d}" for i in range(1, 7)]
    assert sorted(t.action for t in tasks) == sorted(f"{w} task {i}" for w in ("first", "second")
                                                     for i in range(3))
    assert json.loads(store.read_document(TASKS_DOCUMENT))["version"] == 6
    creates = read_audit(store, action="tasking")
    assert len(creates) == 6 and creates["detail"].str.startswith("create T-").all()


def test_copying_a_store_carries_its_tasks(book, view, store, tmp_path, request):
    assert TASKS_DOCUMENT in DOCUMENTS
    new_task(book, view)
    new_task(book, view, rank=2, lead_agency="Hope for Justice")
    book.update("T-0001", status="done")
    if backend(store) == "parquet":      # to the other backend, as an operator would move it
        target = request.getfixturevalue("pg_new_database")()
    else:
        target = str(tmp_path / "copied")
    report = copy_store(store, target)
    assert TASKS_DOCUMENT in report.documents
    copied = TaskBook(open_store(target), CHAIR)
    assert copied.tasks() == book.tasks()
    assert copied.get("T-0001").done_at == book.get("T-0001").done_at


def test_a_damaged_document_is_a_clear_store_error(book, store):
    store.write_document(TASKS_DOCUMENT, "{not json")
    with pytest.raises(StoreError, match="tasking records .* cannot be read"):
        book.tasks()
    store.write_document(TASKS_DOCUMENT, '{"format": 1, "tasks": [{"task_id": "T-0001"}]}')
    with pytest.raises(StoreError, match="tasking records .* are damaged"):
        book.tasks()


# -- validation ------------------------------------------------------------------------------
@pytest.mark.parametrize("change, field, message", [
    ({"lead_agency": "Acme Security"}, "lead_agency", "choose the lead agency from the list"),
    ({"action": "   "}, "action", "the action is empty"),
    ({"action": "x" * 501}, "action", "keep it to 500"),
    ({"action": 42}, "action", "must be text"),
    ({"due": dt.date(2023, 4, 2)}, "due", "in the past"),
    ({"due": dt.date(2026, 1, 1)}, "due", "more than 2 years ahead"),
    ({"due": "next week"}, "due", "must be a date"),
    ({"status": "closed"}, "status", "open, in progress, done"),
])
def test_bad_input_is_refused_with_the_field_named(book, view, store, change, field, message):
    with pytest.raises(TaskingError, match=message) as caught:
        new_task(book, view, **change)
    assert caught.value.field == field
    assert book.tasks() == []
    assert read_audit(store, action="tasking").empty


def test_bad_updates_are_refused(book, view):
    new_task(book, view)
    with pytest.raises(TaskingError, match="there is no task") as caught:
        book.update("T-9999", status="done")
    assert caught.value.field == "task_id"
    with pytest.raises(TaskingError, match="cannot change hotspot_id") as caught:
        book.update("T-0001", hotspot_id=3)
    with pytest.raises(TaskingError, match="status must be"):
        book.update("T-0001", status="DONE")
    assert book.get("T-0001").status == "open"


def test_a_hotspot_without_a_polygon_in_west_yorkshire_is_refused(book, view):
    row = view.hotspots.iloc[0].copy()
    row["geometry"] = shapely.Point(-1.5, 53.8)
    with pytest.raises(TaskingError, match="no polygon"):
        book.create(row, lead_agency="Justice and Care", action="a", due=dt.date(2023, 5, 1),
                    feeds=("nrm",))
    row["geometry"] = shapely.box(0, 0, 1, 1)
    with pytest.raises(TaskingError, match="not in West Yorkshire"):
        book.create(row, lead_agency="Justice and Care", action="a", due=dt.date(2023, 5, 1),
                    feeds=("nrm",))


def test_lead_agencies_come_from_a_file_when_configured(tmp_path, monkeypatch, store, view):
    assert lead_agencies() == DEFAULT_AGENCIES
    listed = tmp_path / "agencies.txt"
    listed.write_text("# our partners\nWest Yorkshire Police\nKirklees Council  # district\n\n",
                      encoding="utf-8")
    monkeypatch.setenv("TASKING_AGENCIES_FILE", str(listed))
    assert lead_agencies() == ("West Yorkshire Police", "Kirklees Council")
    book = TaskBook(store, CHAIR, clock=Clock())
    assert new_task(book, view, lead_agency="Kirklees Council").lead_agency == "Kirklees Council"
    with pytest.raises(TaskingError):
        new_task(book, view, lead_agency="Hope for Justice")
    listed.write_text("# nothing\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="lists no lead agency"):
        lead_agencies()
    monkeypatch.setenv("TASKING_AGENCIES_FILE", str(tmp_path / "missing.txt"))
    with pytest.raises(ConfigError, match="cannot be read"):
        lead_agencies()


def test_a_task_keeps_an_agency_removed_from_the_list(store, view):
    book = TaskBook(store, CHAIR, clock=Clock())
    new_task(book, view, lead_agency="Palm Cove Society")
    later = TaskBook(store, CHAIR, agencies=("West Yorkshire Police",), clock=Clock())
    assert later.update("T-0001", status="done", lead_agency="Palm Cove Society").status == "done"


# -- roles and audit -------------------------------------------------------------------------
def test_every_create_and_update_is_audited_without_the_action_text(book, view, store):
    new_task(book, view, action="Visit the flat above the car wash, ask for Mr X")
    book.update("T-0001", status="in progress", action="Visit again")
    book.update("T-0001", status="in progress")                 # no change: not audited
    entries = read_audit(store, action="tasking").sort_values("seq")
    assert len(entries) == 2
    assert entries["actor"].tolist() == [CHAIR.user] * 2
    assert entries["page"].tolist() == ["hotspots"] * 2
    create, update = entries["detail"].tolist()
    assert create.startswith("create T-0001: hotspot ") and "West Yorkshire Police" in create
    assert update == "update T-0001: action edited; status open -> in progress"
    assert "car wash" not in " ".join(entries["detail"]) and "again" not in update


def test_analysts_read_tasks_but_only_chairs_write_them(store, view):
    chair = TaskBook(store, CHAIR, clock=Clock())
    new_task(chair, view)
    analyst = TaskBook(store, ANALYST, clock=Clock())
    assert [t.task_id for t in analyst.tasks()] == ["T-0001"]
    with pytest.raises(AccessDenied, match="partnership chairs create"):
        new_task(analyst, view)
    with pytest.raises(AccessDenied):
        analyst.update("T-0001", status="done")
    for role in ("executive", "admin"):
        with pytest.raises(AccessDenied):
            TaskBook(store, Principal(role, role)).tasks()
    denied = read_audit(store, action="access-denied")
    assert {"analyst@wy.example", "executive", "admin"} <= set(denied["actor"])
    assert chair.get("T-0001").status == "open"


# -- before and after ------------------------------------------------------------------------
def records_inside(store, polygon, start, end) -> int:
    from core.filters import EventFilter

    total = 0
    for feed in ROWS:
        rows = store.query(feed, EventFilter(start=start, end=end),
                           columns=["longitude", "latitude"]).dropna()
        total += int(shapely.contains_xy(polygon, rows["longitude"], rows["latitude"]).sum())
    return total


def test_a_done_task_shows_events_before_and_after_for_equal_periods(book, view, store):
    task = new_task(book, view)                                      # created Mon 3 Apr 2023
    query = RoleScopedQuery(store, ANALYST)
    assert outcome(query, task).note == "shown once the task is done"
    book.clock.now = dt.datetime(2023, 6, 5, 17, tzinfo=dt.timezone.utc)
    done = book.update(task.task_id, status="done")
    # The data end on 4 Sep 2023 (36 weekly NRM rows): 91 days after 5 Jun, so 90-day periods.
    result = outcome(query, done)
    assert result.before_period == (dt.date(2023, 1, 3), dt.date(2023, 4, 2))
    assert result.after_period == (dt.date(2023, 6, 6), dt.date(2023, 9, 3))
    expected = [records_inside(store, done.polygon, *p)
                for p in (result.before_period, result.after_period)]
    assert [result.before, result.after] == expected and min(expected) > 0
    assert result.before_display == str(expected[0])
    # Done near the end of the data: both periods shrink to what follows.
    late = book.update(task.task_id, status="open")
    book.clock.now = dt.datetime(2023, 8, 25, tzinfo=dt.timezone.utc)
    late = book.update(late.task_id, status="done")
    short = outcome(query, late)
    assert short.after_period == (dt.date(2023, 8, 26), dt.date(2023, 9, 4))
    assert (short.before_period[1] - short.before_period[0]).days == 9
    assert outcome(query, late, data_end=dt.date(2023, 8, 25)).note == \
        "no data yet after the task was done"


def test_a_chair_sees_small_before_and_after_counts_hidden(book, view, store):
    task = new_task(book, view)
    book.clock.now = dt.datetime(2023, 6, 5, tzinfo=dt.timezone.utc)
    done = book.update(task.task_id, status="done")
    result = outcome(RoleScopedQuery(store, CHAIR), done)
    true = outcome(RoleScopedQuery(store, ANALYST), done)
    assert true.before < 10 and true.after < 10                      # a few records a quarter
    assert (result.before, result.after) == (None, None)
    assert (result.before_display, result.after_display) == ("<10", "<10")
    # Whole months, of the wards the task covers: outcomes read on different days are the
    # same lattice cells (safeguards.publication), never day windows that could be differenced.
    for first, last in (result.before_period, result.after_period):
        assert first.day == 1 and (last + dt.timedelta(days=1)).day == 1
    assert result.before_period[1] < done.created_at.date() and \
        result.after_period[0] > done.done_at.date()
    assert "protected figures" in result.note
    with pytest.raises(AccessDenied):
        outcome(RoleScopedQuery(store, Principal("exec", "executive")), done)


# -- exports ---------------------------------------------------------------------------------
def test_the_csv_export_is_formula_safe(book, view):
    new_task(book, view, action='=HYPERLINK("http://evil.example","click")')
    table = tasks_table(book.tasks())
    assert table.columns[:5].tolist() == ["Task", "Status", "Lead agency", "Action", "Due"]
    text = safe_csv(table).decode("utf-8-sig")
    assert "'=HYPERLINK" in text and "\n=HYPERLINK" not in text and ",=HYPERLINK" not in text
    assert "T-0001,Open,West Yorkshire Police" in text


def pdf_text(data: bytes) -> tuple[int, str]:
    reader = pypdf.PdfReader(io.BytesIO(data))
    return len(reader.pages), "\n".join(page.extract_text() for page in reader.pages)


def test_the_tasking_sheet_is_one_marked_page_with_the_tasks(book, view, store):
    new_task(book, view, action="Joint visit <b>with</b> licensing & fire service")
    task = new_task(book, view, rank=2, lead_agency="Palm Cove Society")
    book.clock.now = dt.datetime(2023, 6, 5, tzinfo=dt.timezone.utc)
    done = book.update(task.task_id, status="done")
    result = outcome(RoleScopedQuery(store, CHAIR), done)
    data = tasking_sheet(book.tasks(), outcomes={done.task_id: result}, synthetic=True,
                         generated_by="chair@wy.example",
                         now=dt.datetime(2023, 6, 5, 12, tzinfo=dt.timezone.utc))
    pages, text = pdf_text(data)
    assert pages == 1
    assert text.count(MARKING) == 2                                   # top and bottom
    assert "SYNTHETIC DATA" in text and "05 Jun 2023 12:00 UTC by chair@wy.example" in text
    flat = " ".join(text.split())
    assert "Joint visit <b>with</b> licensing & fire service" in flat   # escaped, shown as text
    assert "Palm Cove Society" in flat and "T-0001" in flat and "T-0002" in flat
    assert "<10 / <10" in flat
    assert "easting" not in flat.lower()


def test_many_long_tasks_still_fit_one_page(book, view):
    for i in range(20):
        new_task(book, view, rank=1 + i % 5, action=f"Task {i}: " + "long words " * 40)
    pages, text = pdf_text(tasking_sheet(book.tasks()))
    assert pages == 1
    assert "and 6 more tasks: see the CSV download" in " ".join(text.split())
    assert pdf_text(tasking_sheet([]))[0] == 1


def test_the_sheets_map_is_framed_on_the_tasks_not_the_county(book, view, tmp_path):
    """Issue 15: the tasking sheet's map was a county-scale dot; it is framed on the task."""
    import geopandas as gpd
    from PIL import Image

    from geo.crs import BNG, WGS84
    from reports.tasking_sheet import MAP_MIN_WIDTH_M, map_extent, task_map_png

    task = new_task(book, view)
    shape = gpd.GeoSeries([task.polygon], crs=WGS84).to_crs(BNG)
    xmin, ymin, xmax, ymax = map_extent(shape)
    bxmin, bymin, bxmax, bymax = shape.total_bounds
    assert xmin < bxmin and ymin < bymin and xmax > bxmax and ymax > bymax
    assert MAP_MIN_WIDTH_M <= xmax - xmin < 20_000          # West Yorkshire is ~60 km wide
    png = task_map_png([task])
    (tmp_path / "sheet-map.png").write_bytes(png)
    assert Image.open(tmp_path / "sheet-map.png").size[0] > 500


def test_the_sheets_table_keeps_long_places_and_agencies_inside_their_columns(book, view):
    """Issue 15: the Place column cut long place names; every cell stays in its column."""
    import dataclasses

    from tests.pdf_layout import cells_outside_columns

    place = ("Horbury and South Ossett, Wakefield Rural, Dewsbury East and 3 more "
             "(Kirklees / Wakefield)")
    agency = "West Yorkshire Fire and Rescue Service"
    tasks = [dataclasses.replace(new_task(book, view, action="Joint visit " * 12), place=place,
                                 lead_agency=agency)]
    data = tasking_sheet(tasks, now=dt.datetime(2023, 6, 5, 12, tzinfo=dt.UTC))
    assert cells_outside_columns(data, 0, ["Task", "Place", "Lead", "Action", "Due", "Status",
                                           "Before"], until="Partnership tasking") == []
    flat = " ".join(pdf_text(data)[1].split())
    assert place in flat and agency in flat and "Before / after" in flat
