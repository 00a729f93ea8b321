"""Meeting mode: periods, the link, the figures (suppressed as for a chair), tasking changes, and
the page through AppTest."""
from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from core.errors import AccessDenied, PeriodError
from core.schema import FEEDS
from core.trends import TOO_SHORT
from data.synthetic import build_store as build_synthetic
from geo.boundaries import DISTRICT_CODES, load_boundaries
from safeguards.access import Principal, RoleScopedQuery
from safeguards.audit import read_audit
from safeguards.disclosure import TOTAL, threshold_for
from safeguards.publication import build_publication
from storage.parquet import ParquetStore
from tests.apptest import ROOT, open_page, serve_store
from tests.sample_store import build_store
from ui.registry import check_page_access
from views import kpis
from views.hotspots import fit_hotspots, ranked_table
from views.meeting import (
    ALL_DISTRICTS,
    STEPS,
    MeetingState,
    Period,
    available_periods,
    check_period,
    default_period,
    from_query_params,
    move,
    period_title,
    steps_for,
    to_query_params,
)
from views.meeting_figures import hotspot_filter, meeting_data, meeting_query
from views.meeting_steps import (
    BEYOND,
    BEYOND_YEAR,
    hotspot_rows,
    hotspot_rows_by_rank,
    kpi_frame,
    markdown_text,
)
from views.meeting_tasks import tasks_since
from views.overview import FEED_SHORT_TITLES
from views.tasking import DEFAULT_AGENCIES, TaskBook

MEETING = str(ROOT / "pages" / "meeting.py")
LEEDS = "E08000035"
SYNTHETIC_END = "2026-09-30"


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory) -> ParquetStore:
    """Two years of synthetic data to 30 Sep 2026: some district counts small, most not."""
    root = tmp_path_factory.mktemp("meeting") / "store"
    build_synthetic(root, years=2, seed=3, end=SYNTHETIC_END)
    store = ParquetStore(root)
    add_task(store)
    return store


TASK_ACTION = "Joint visit <b>& patrols</b>"


def add_task(store) -> None:
    """One task, made by a chair from the strongest hotspot of 2026-Q3 (views.tasking)."""
    chair = Principal("chair@example.org", "chair")
    view = fit_hotspots(RoleScopedQuery(store, chair), list(FEEDS), Period("2026-Q3").filter())
    TaskBook(store, chair).create(view.hotspots.iloc[0], lead_agency=DEFAULT_AGENCIES[0],
                                  action=TASK_ACTION, due=dt.date(2027, 1, 31),
                                  feeds=list(FEEDS))


# -- periods -----------------------------------------------------------------------------------
def test_periods_quarters_and_months():
    q3 = Period("2026-Q3")
    assert (q3.freq, q3.start, q3.end, q3.label) == ("Q", dt.date(2026, 7, 1),
                                                      dt.date(2026, 9, 30), "Jul–Sep 2026")
    assert (q3.previous.key, q3.last_year.key) == ("2026-Q2", "2025-Q3")
    jan = Period("2026-01")
    assert (jan.freq, jan.end, jan.label) == ("M", dt.date(2026, 1, 31), "January 2026")
    assert (jan.previous.key, jan.last_year.key) == ("2025-12", "2025-01")
    for bad in ("2026-Q5", "2026-13", "2026", "Q3 2026", "<b>x</b>"):
        with pytest.raises(PeriodError, match="not a quarter"):
            Period(bad)


def test_available_periods_latest_first_quarters_then_months():
    # Whole periods the data cover only: 1 Oct 2025 to 30 Sep 2026.
    periods = available_periods((dt.date(2025, 10, 1), dt.date(2026, 9, 30)))
    assert periods[:5] == ["2026-Q3", "2026-Q2", "2026-Q1", "2025-Q4", "2026-09"]
    assert periods[-1] == "2025-10" and len(periods) == 4 + 12
    assert default_period((dt.date(2025, 10, 1), dt.date(2026, 9, 30))) == "2026-Q3"
    assert available_periods(None) == [] and default_period(None) is None


def test_a_part_recorded_period_is_neither_offered_nor_opened():
    """A store ending on 30 November: its fourth quarter has two months, which against the
    third quarter's three would read as a fall of a third (the "-46%" of a partial quarter)."""
    store_period = (dt.date(2024, 12, 1), dt.date(2026, 11, 30))
    periods = available_periods(store_period)
    assert "2026-Q4" not in periods and "2024-Q4" not in periods  # Oct-Nov; December only
    assert periods[0] == "2026-Q3" and default_period(store_period) == "2026-Q3"
    assert "2026-11" in periods and "2024-12" in periods
    # From 3 May to 1 Aug: no whole quarter, June and July only; the latest month opens.
    short = (dt.date(2026, 5, 3), dt.date(2026, 8, 1))
    assert available_periods(short) == ["2026-07", "2026-06"]
    assert default_period(short) == "2026-07"
    # A link to the partial quarter falls back to the latest whole one.
    state = from_query_params({"period": "2026-Q4"}, role="chair", periods=periods)
    assert state.period == "2026-Q3" and state.warnings
    with pytest.raises(PeriodError, match="is not complete: the data cover 1 Dec 2024 to 30 "
                                          "Nov 2026"):
        check_period("2026-Q4", store_period)
    with pytest.raises(PeriodError, match="no data for"):
        check_period("2019-Q1", store_period)
    check_period("2026-Q3", store_period)
    assert period_title("2026-Q3") == "Jul–Sep 2026" and period_title("2026-09") == \
        "September 2026"


def test_meeting_figures_of_a_store_ending_mid_quarter(tmp_path):
    root = tmp_path / "store"
    build_synthetic(root, years=1, seed=2, end="2026-11-30", events=1500)
    store = ParquetStore(root)
    query = meeting_query(store, Principal("t", "chair"))
    with pytest.raises(PeriodError, match="Q4 2026 .*is not complete"):
        meeting_data(query, MeetingState("2026-Q4"))
    data = meeting_data(query, MeetingState("2026-Q1"))
    # The first quarter (December 2025 only) is a gap marked incomplete, not compared.
    assert {k.previous_display for k in data.kpis} == {"incomplete"}
    assert {k.change_previous for k in data.kpis} == {None}
    assert {k.beyond_previous for k in data.kpis} == {None}
    early = data.trend[data.trend["period"] == "2025-Q4"]
    assert set(early["display"]) == {"incomplete"} and early["count"].isna().all()
    # The trend of the latest whole quarter has no partial quarter at either end.
    latest = meeting_data(query, MeetingState("2026-Q3")).trend
    shown = latest[latest["count"].notna()]
    assert set(shown["period"]) == {"2026-Q1", "2026-Q2", "2026-Q3"}


# -- the link ----------------------------------------------------------------------------------
PERIODS = ["2026-Q3", "2026-Q2", "2026-09", "2026-08"]


@pytest.mark.parametrize("state", [MeetingState("2026-Q3"),
                                   MeetingState("2026-Q2", LEEDS, "hotspots"),
                                   MeetingState("2026-08", None, "trends")])
def test_link_round_trip(state):
    params = to_query_params(state)
    assert from_query_params(params, role="chair", periods=PERIODS) == state
    # As st.query_params.get_all gives them: lists.
    as_lists = {k: [v] for k, v in params.items()}
    assert from_query_params(as_lists, role="chair", periods=PERIODS) == state


def test_link_defaults_and_numbered_steps():
    assert from_query_params({}, role="chair", periods=PERIODS) == MeetingState("2026-Q3")
    state = from_query_params({"step": "3", "district": ALL_DISTRICTS}, role="chair",
                              periods=PERIODS)
    assert (state.step, state.district) == ("hotspots", None)


def test_a_crafted_link_falls_back_and_says_so_without_repeating_it():
    payload = "<script>alert(1)</script>"
    state = from_query_params({"period": payload, "district": payload, "step": payload},
                              role="chair", periods=PERIODS)
    assert state == MeetingState("2026-Q3")
    assert len(state.warnings) == 3
    assert not any("script" in w for w in state.warnings)


def test_steps_follow_the_role():
    assert steps_for("chair") == STEPS
    # Hotspots need view_hotspots and ward level; tasking needs the tasking action.
    assert steps_for("executive") == ("headline", "districts", "trends")
    assert steps_for("analyst") == STEPS  # analysts read the tasking list, chairs write it
    exec_link = from_query_params({"step": "hotspots"}, role="executive", periods=PERIODS)
    assert exec_link.step == "headline" and exec_link.warnings


def test_move_stops_at_both_ends():
    first = MeetingState("2026-Q3", LEEDS, "headline")
    assert move(first, "chair", -1).step == "headline"
    assert move(first, "chair", 1) == MeetingState("2026-Q3", LEEDS, "districts")
    assert move(MeetingState("2026-Q3", None, "trends"), "chair", 1).step == "trends"
    assert move(MeetingState("2026-Q3", None, "districts"), "executive", 1).step == "trends"


# -- the figures -------------------------------------------------------------------------------
def published(store, period: Period) -> tuple[pd.DataFrame, pd.DataFrame]:
    """District × feed published sums and true records of ``period``, worked out here from each
    feed's published atoms (``safeguards.publication``), not through the views under test."""
    months = pd.period_range(period.pandas.asfreq("M", how="start"),
                             period.pandas.asfreq("M", how="end"), freq="M")
    pub, rec = {}, {}
    for feed in FEEDS:
        atoms = build_publication(store, feed).atoms
        atoms = atoms[atoms["month"].isin(months)]
        sums = atoms.groupby("district_code")[["published", "count"]].sum()
        pub[FEED_SHORT_TITLES[feed]] = sums["published"].reindex(list(DISTRICT_CODES)).fillna(0)
        rec[FEED_SHORT_TITLES[feed]] = sums["count"].reindex(list(DISTRICT_CODES)).fillna(0)
    return pd.DataFrame(pub).astype(int), pd.DataFrame(rec).astype(int)


@pytest.mark.parametrize("role", ["chair", "analyst", "executive"])
def test_figures_are_protected_as_for_a_chair_whatever_the_role(synthetic, role):
    """Each feed's figure is its published sum ("<k" below k), the Total is the sum of every
    feed's published atoms, shown even where a feed's figure is "<k" (issue 12, section 2)."""
    data = meeting_data(meeting_query(synthetic, Principal("t", role)),
                        MeetingState("2026-09"))
    pub, rec = published(synthetic, Period("2026-09"))
    names = dict(DISTRICT_CODES)
    pub.index = rec.index = [names[c] for c in pub.index]
    k = {FEED_SHORT_TITLES[f]: threshold_for(f) for f in FEEDS}
    assert data.threshold == 10 and data.thresholds == k
    hidden = 0
    for name in pub.index:
        row = data.districts.loc[name]
        for column, k_feed in k.items():
            value, records = pub.loc[name, column], rec.loc[name, column]
            expected = ("0" if records == 0 else f"<{k_feed}" if value < k_feed
                        else f"{value:,}")
            assert row[column] == expected, (name, column, row[column], expected)
            hidden += expected.startswith("<")
        total = pub.loc[name].sum()
        if total < data.threshold:  # a district this month may be small (the all-feed k)
            assert (row[TOTAL], row["Per 100,000"]) == (f"<{data.threshold}", "hidden")
            continue
        assert row[TOTAL] == f"{total:,}"
        rate = total / load_boundaries("district").set_index("code").loc[
            {v: c for c, v in names.items()}[name], "population"] * 100_000
        assert row["Per 100,000"] == f"{rate:,.1f}"
    assert hidden > 0, "the test store should have small district counts this month"
    assert data.districts.loc[TOTAL, TOTAL] == f"{pub.to_numpy().sum():,}"


def test_headline_and_trend_agree_with_the_district_table(synthetic):
    data = meeting_data(meeting_query(synthetic, Principal("t", "chair")),
                        MeetingState("2026-Q3"))
    total_row = data.districts.loc[TOTAL]
    trend_now = data.trend[data.trend["period"] == "2026-Q3"].set_index("feed")["display"]
    for kpi in data.kpis:
        assert kpi.display == total_row[kpi.title] == trend_now[kpi.title]
    # Previous and last year come from the trend, computed from the store.
    nrm = next(k for k in data.kpis if k.feed == "nrm")
    before = int(published(synthetic, Period("2026-Q2"))[0]["NRM referrals"].sum())
    assert nrm.previous_display == f"{before:,}"
    assert nrm.change_previous.startswith(f"{int(total_row['NRM referrals'].replace(',', '')) - before:+,}")
    # Eight quarters per feed; before the first record: "no data", not zero.
    assert len(data.trend) == 8 * len(FEEDS)
    assert data.trend["period"].iloc[0] == "2024-Q4"
    # Before the first record (1 Oct 2024): "no data", not zero.
    earlier = meeting_data(meeting_query(synthetic, Principal("t", "chair")),
                           MeetingState("2025-Q2"))
    early = earlier.trend[earlier.trend["period"] == "2024-Q3"]
    assert set(early["display"]) == {"no data"} and early["count"].isna().all()
    assert {k.last_year_display for k in earlier.kpis} == {"no data"}
    assert {k.change_year for k in earlier.kpis} == {None}


def shown(label: str) -> bool:
    return label.replace(",", "").isdigit()


def test_headline_says_whether_a_change_is_beyond_normal_variation(synthetic):
    """The Trends tiles' verdict, in the headline table too: the same test of the same protected
    counts, and no verdict where a count is hidden."""
    chair = Principal("t", "chair")
    for key in ("2026-Q3", "2026-09"):
        data = meeting_data(meeting_query(synthetic, chair), MeetingState(key))
        trends = kpis.kpi_table(RoleScopedQuery(synthetic, chair), key).set_index("feed")
        for k in data.kpis:
            assert k.beyond_previous == trends.loc[k.feed, "beyond_previous"]
            assert k.beyond_year == trends.loc[k.feed, "beyond_last_year"]
        assert any(k.beyond_previous is not None for k in data.kpis)
        frame = kpi_frame(data)
        assert set(frame[BEYOND]) | set(frame[BEYOND_YEAR]) <= {"yes", "no", "—"}
    # A district focus: small counts hidden, and never a verdict on a hidden count.
    untested = tested = 0
    for code in DISTRICT_CODES:
        data = meeting_data(meeting_query(synthetic, chair), MeetingState("2026-09", code))
        for k in data.kpis:
            for other, beyond in ((k.previous_display, k.beyond_previous),
                                  (k.last_year_display, k.beyond_year)):
                if not (shown(k.display) and shown(other)):
                    assert beyond is None, (code, k)
                    untested += 1
                elif beyond is not None:
                    tested += 1
        frame = kpi_frame(data)
        for k in data.kpis:
            if not shown(k.display):
                assert frame.loc[k.title, BEYOND] == frame.loc[k.title, BEYOND_YEAR] == "—"
    assert untested and tested


def test_no_trend_flag_on_fewer_than_k_records(tmp_path):
    # Weekly from 2 Jan to 24 Jul 2023: the second quarter is the one whole quarter.
    store = build_store(tmp_path / "store", {"nrm": 3, "mandevilla": 30})
    data = meeting_data(meeting_query(store, Principal("t", "chair")), MeetingState("2023-Q2"))
    flags = {k.feed: k.trend for k in data.kpis}
    # The one whole quarter is the window; the flag names it (core.trend_words). One count
    # has no trend to test: "not enough data", never "no significant trend".
    assert flags == {feed: "Not enough data (1 quarter to Q2 2023)" for feed in FEEDS}
    # Months: five whole ones (Feb to Jun) are enough to test; too few records is then the
    # reason for NRM's 3 records.
    monthly = meeting_data(meeting_query(store, Principal("t", "chair")), MeetingState("2023-06"))
    trends = {k.feed: k.trend for k in monthly.kpis}
    assert trends["nrm"] == "Too few records to test (5 months to Jun 2023)"
    assert not trends["mandevilla"].startswith("Not enough data")


def test_meeting_hotspots_are_fitted_on_the_trend_window_not_one_quarter(synthetic):
    """Issue 13: the meeting fitted one quarter, too short for a trend class, so every hotspot
    read "New". It fits the 24 months to the period's end, as the Hotspots page does for those
    dates, and gives each hotspot the page's class for that window."""
    chair = Principal("t", "chair")
    assert hotspot_filter(Period("2026-Q3")).start == dt.date(2024, 10, 1)
    assert hotspot_filter(Period("2026-09")).end == dt.date(2026, 9, 30)
    data = meeting_data(meeting_query(synthetic, chair), MeetingState("2026-Q3"))
    assert data.hotspot_window == "24 months to Sep 2026"
    rows = hotspot_rows(data.hotspots)
    assert rows["Trend"].str.endswith("(24 months to Sep 2026)").all()
    assert not rows["Trend"].str.startswith("New").all()
    page = ranked_table(fit_hotspots(RoleScopedQuery(synthetic, chair), list(FEEDS),
                                     hotspot_filter(Period("2026-Q3"))))
    assert list(rows["Trend"]) == list(page["Trend"].head(len(rows)))
    # The old fit, one quarter: not classified (it used to say "New" for every hotspot).
    quarter = fit_hotspots(RoleScopedQuery(synthetic, chair), list(FEEDS),
                           Period("2026-Q3").filter())
    assert set(quarter.hotspots["trend"]) == {TOO_SHORT}


def test_the_meeting_table_keeps_the_rank_the_map_numbers_show(synthetic):
    """The map labels each hotspot with its rank; the table beside it must show the same
    numbers. Ranks 1, 2, 3 … as an integer index became a RangeIndex, which Arrow keeps only as
    metadata, so the page's ``st.table`` showed no rank at all."""
    import pyarrow as pa

    data = meeting_data(meeting_query(synthetic, Principal("t", "chair")),
                        MeetingState("2026-Q3"))
    table = hotspot_rows_by_rank(data.hotspots)
    shown = pa.Table.from_pandas(table)  # what st.table sends to the browser
    assert "Rank" in shown.column_names
    assert shown.column("Rank").to_pylist() == [
        str(r) for r in data.hotspots["rank"].astype(int)]
    # Narrow enough for the column beside the map: the window once, in the header.
    window = "24 months to Sep 2026"
    assert data.hotspot_window == window
    assert list(table.columns)[:3] == ["Where", "Records", "Trend"]
    narrow = hotspot_rows_by_rank(data.hotspots, window)
    assert list(narrow.columns)[:3] == ["Where", "Records", f"Trend ({window})"]
    assert list(narrow[f"Trend ({window})"] + f" ({window})") == list(table["Trend"])
    # "Several feeds" only when some hotspot is in several feeds.
    one_feed = data.hotspots.assign(cross_feed=False)
    assert "Several feeds" not in hotspot_rows_by_rank(one_feed, window).columns
    some = data.hotspots.assign(cross_feed=[True] + [False] * (len(data.hotspots) - 1))
    assert list(hotspot_rows_by_rank(some, window)["Several feeds"])[:2] == ["yes", ""]
    # A window the rows do not name stays in every row.
    assert "Trend" in hotspot_rows_by_rank(data.hotspots, "12 months to Sep 2026").columns


def test_district_focus_and_the_hotspots(synthetic):
    data = meeting_data(meeting_query(synthetic, Principal("t", "chair")),
                        MeetingState("2026-Q3", LEEDS))
    assert data.area_label == "Leeds"
    leeds = data.districts.loc["Leeds"]
    for kpi in data.kpis:
        assert kpi.display == leeds[kpi.title]
    assert data.hotspots is not None
    assert all("Leeds" in districts for districts in data.hotspots["districts"])
    events = pd.to_numeric(data.hotspots["events"], errors="coerce")
    assert ((events >= 10) | events.isna()).all()


def test_meeting_hotspots_are_drawn_as_whole_wards(synthetic):
    """Ward and district granularity only: each hotspot's shape is the union of whole wards
    that cover the model's cells, never the 300 m cells themselves."""
    chair = Principal("t", "chair")
    data = meeting_data(meeting_query(synthetic, chair), MeetingState("2026-Q3", None))
    view = fit_hotspots(RoleScopedQuery(synthetic, chair), list(FEEDS),
                        hotspot_filter(Period("2026-Q3")))
    cells = view.hotspots.set_index("hotspot_id").to_crs(27700).geometry
    wards = load_boundaries("ward").to_crs(27700)
    assert data.hotspots is not None and len(data.hotspots)
    for hotspot_id, shape in zip(data.hotspots["hotspot_id"], data.hotspots.to_crs(27700).geometry):
        inside = wards[wards.representative_point().within(shape)]
        assert len(inside) >= 1
        whole = inside.union_all()
        assert shape.symmetric_difference(whole).area < 1e-6 * whole.area  # whole wards only
        cell = cells.loc[hotspot_id]
        # not the cells themselves (a hotspot of the widest scan window, 1.5 km, can be near a
        # ward's size, so no fixed ratio of areas)
        assert shape.symmetric_difference(cell).area > 0.2 * cell.area
        assert cell.difference(shape).area < 0.05 * cell.area  # and covers where the cells are


def test_executive_gets_no_ward_level_step_and_admin_no_page(synthetic):
    data = meeting_data(meeting_query(synthetic, Principal("e", "executive")),
                        MeetingState("2026-Q3"))
    assert data.hotspots is None and data.tasks is None
    # Tasking and hotspots are refused in the data layer too (audited), not only hidden.
    with pytest.raises(AccessDenied):
        fit_hotspots(meeting_query(synthetic, Principal("e", "executive")), "nrm")
    assert "e" in set(read_audit(synthetic, action="access-denied")["actor"])
    with pytest.raises(AccessDenied, match="may not open the Meeting page"):
        check_page_access("admin", "meeting")


# -- tasking changes ---------------------------------------------------------------------------
def test_the_tasking_list_comes_from_the_task_book(synthetic):
    data = meeting_data(meeting_query(synthetic, Principal("t", "chair")),
                        MeetingState("2026-Q3"))
    [task] = data.tasks
    assert (task.title, task.change, task.status, task.lead_agency) == (
        TASK_ACTION, "New", "open", DEFAULT_AGENCIES[0])
    assert task.due == dt.date(2027, 1, 31) and not task.overdue
    # A focus on a district the hotspot is not in leaves it out.
    other = next(code for code, name in DISTRICT_CODES.items() if name not in task.area)
    focused = meeting_data(meeting_query(synthetic, Principal("t", "chair")),
                           MeetingState("2026-Q3", other))
    assert focused.tasks == ()


def test_tasks_since_the_last_meeting():
    q3 = Period("2026-Q3")
    records = [
        {"task_id": "T1", "title": "Patrols", "area_code": "E05001341", "lead_agency": "Police",
         "status": "open", "due": "2026-08-01", "created_at": "2026-05-01T10:00",
         "updated_at": "2026-05-01T10:00"},                        # old, overdue
        {"task_id": "T2", "title": "Visits", "area_code": LEEDS, "lead_agency": "Council",
         "status": "open", "due": "2026-12-01", "created_at": "2026-07-15T09:00",
         "updated_at": "2026-07-15T09:00"},                        # new
        {"task_id": "T3", "title": "Review", "area_code": "E08000032", "lead_agency": "NHS",
         "status": "done", "due": "2026-08-01", "created_at": "2026-04-01T09:00",
         "updated_at": "2026-08-02T09:00"},                        # closed since
        {"task_id": "T4", "action": "Later", "place": "Hunslet & Riverside (Leeds)",
         "districts": ["Leeds"], "lead_agency": "Council", "status": "in progress",
         "due": "2027-01-10", "created_at": "2026-05-01T09:00",
         "updated_at": "2026-11-01T09:00"},                        # updated since
    ]
    tasks = tasks_since(records, q3, today=dt.date(2026, 11, 25))
    assert [(t.task_id, t.change, t.overdue) for t in tasks] == [
        ("T3", "Done", False), ("T2", "New", False), ("T4", "Updated", False),
        ("T1", "", True)]
    assert tasks[2].area == "Hunslet & Riverside (Leeds)"
    assert (tasks[1].area, tasks[3].area) == ("Leeds", "Baildon")
    leeds_only = tasks_since(records, q3, district=LEEDS)
    assert [t.task_id for t in leeds_only] == ["T2", "T4"]


def test_free_text_is_escaped_for_markdown_tables():
    payload = ("![x](http://example.com/x.png) <b>bold</b> [link](https://example.com) *a* "
               "www.example.com me@example.com")
    escaped = markdown_text(payload)
    assert "![" not in escaped and "](" not in escaped and "<b>" not in escaped
    for autolink in ("http://", "https://", "www.", "me@"):
        assert autolink not in escaped.replace("\\", "")
    # Escapes are backslashes and invisible word joiners: the text reads the same.
    assert escaped.replace("\\", "").replace("\u2060", "") == payload


# -- the page (AppTest) ------------------------------------------------------------------------
@pytest.fixture
def env(monkeypatch, synthetic, tmp_path):
    return serve_store(monkeypatch, synthetic, tmp_path)


def meeting(role="chair", **params) -> AppTest:
    return open_page(MEETING, role, **params)


def link(at) -> dict:
    return {k: (v[-1] if isinstance(v, (list, tuple)) else v) for k, v in at.query_params.items()}


def step_title(at) -> str:
    return next(m.value for m in at.markdown if "meeting-step" in str(m.value))


def button(at, label):
    return next(b for b in at.button if b.label == label)


def test_page_steps_through_everything_and_keeps_the_link(env):
    at = meeting()
    assert at.title[0].value == "Partnership meeting · Jul–Sep 2026 · West Yorkshire"
    assert "SYNTHETIC DATA" in at.error[0].value
    assert link(at) == {"period": "2026-Q3", "step": "headline"}
    assert [m.label for m in at.metric] == ["NRM referrals", "Rosewood episodes",
                                            "Mandevilla flags"]
    headline = at.table[0].value
    assert BEYOND in headline.columns and BEYOND_YEAR in headline.columns
    assert "over-dispersion" in " ".join(c.value for c in at.caption)
    assert button(at, "Previous").disabled
    seen = [step_title(at)]
    for step in STEPS[1:]:
        button(at, "Next").click().run()
        assert not at.exception, [e.value for e in at.exception]
        assert link(at)["step"] == step
        seen.append(step_title(at))
        if step == "tasking":
            assert at.table[0].value["Task"].tolist() == [markdown_text(TASK_ACTION)]
            assert "**1 task: 1 new, 0 done, 0 updated since the last meeting**" in [
                m.value for m in at.markdown]
        if step == "hotspots":
            assert at.table[0].value.index.name == "Rank"
    assert button(at, "Next").disabled
    assert [s.split(">", 1)[1].split("<")[0] for s in seen] == [
        "1. Headline numbers", "2. District comparison", "3. Hotspots", "4. Tasking",
        "5. Trends"]
    button(at, "Previous").click().run()
    assert link(at)["step"] == "tasking"


def test_a_prepared_link_opens_the_same_view(env):
    at = meeting(period="2026-08", district=LEEDS, step="districts")
    assert at.title[0].value == "Partnership meeting · August 2026 · Leeds"
    assert link(at) == {"period": "2026-08", "district": LEEDS, "step": "districts"}
    assert at.selectbox(key="meeting_period").value == "2026-08"
    assert at.selectbox(key="meeting_district").value == LEEDS
    table = at.table[0].value
    assert "Leeds" in table.index and "<10" in table.to_numpy()


def test_choosing_a_period_keeps_the_step(env):
    at = meeting(step="trends")
    picker = at.selectbox(key="meeting_period")
    # The picker names periods as people read them; the link keeps the key.
    assert picker.options[:2] == ["Jul–Sep 2026", "Apr–Jun 2026"]
    assert "2026-Q3" not in picker.options
    picker.select("2026-Q2").run()
    assert link(at) == {"period": "2026-Q2", "step": "trends"}
    assert "Apr–Jun 2026" in at.title[0].value


def test_executive_steps_and_a_crafted_link(env):
    at = meeting("executive", step="hotspots", period="<b>x</b>")
    assert link(at) == {"period": "2026-Q3", "step": "headline"}
    warnings = " ".join(w.value for w in at.warning)
    assert "period is not one with data" in warnings and "<b>" not in warnings
    assert at.markdown[0].value != "" and "**1 / 3**" in [m.value for m in at.markdown]


def test_the_meeting_map_labels_ranks_and_zooms_to_the_focus(synthetic):
    """Issue 15: the hotspots map had no rank labels or legend, and a district focus did not
    zoom."""
    from views.meeting_steps import map_legend, meeting_map

    leeds = "E08000035"
    data = meeting_data(meeting_query(synthetic, Principal("t", "chair")),
                        MeetingState("2026-Q3", leeds))
    html = meeting_map(data).get_root().render()
    assert len(data.hotspots) and html.count("wy-rank") >= len(data.hotspots)
    for rank in data.hotspots["rank"]:
        assert f"Hotspot rank {int(rank)}" in html
    west, south, east, north = load_boundaries("district").to_crs(4326).set_index("code") \
        .loc[[leeds]].total_bounds
    assert f"[[{south}, {west}], [{north}, {east}]]" in html.replace("\n", "")
    assert [label for _f, _o, label in map_legend()][0].startswith("Hotspot")
