"""The hotspots page through AppTest: table, map, selection, tasking, roles, caching.

The store is ``tests.sample_store``'s (36 NRM, 30 Rosewood, 24 Mandevilla rows around the five
town centres): five hotspots, one per district (``tests/test_hotspot_view.py``).
"""
from __future__ import annotations

import json
from unittest import mock

import pytest
from streamlit.testing.v1 import AppTest

from safeguards.access import Principal
from safeguards.audit import read_audit
from tests.apptest import (
    DASHBOARD,
    ROOT,
    map_args,
    map_script,
    open_page,
    served_store,
    texts,
)
from tests.sample_store import built_store
from views.exports import read_labelled_csv
from views.tasking import TaskBook

HOTSPOTS = str(ROOT / "pages/hotspots.py")
ROWS = {"nrm": 36, "rosewood": 30, "mandevilla": 24}


built = built_store(ROWS, "hotspots_page")
env = served_store()   # a copy of the store per test (tasks are written to it)


def hotspots_page(role="analyst", **params) -> AppTest:
    at = open_page(HOTSPOTS, role, **params)
    assert at.title[0].value == "Hotspots"
    return at


def select_row(at: AppTest, row: int, *, never_calling: str) -> AppTest:
    """Select ``row`` of the hotspot table and rerun the page, failing if the page raised or
    called ``ui.hotspot_loaders.<never_calling>`` (work a selection must not redo)."""
    with mock.patch(f"ui.hotspot_loaders.{never_calling}",
                    side_effect=AssertionError(f"{never_calling} called")) as called:
        at.session_state["hotspots_table"] = {"selection": {"rows": [row], "columns": []}}
        at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert called.call_count == 0
    return at


def test_an_analyst_sees_the_ranked_table_and_the_polygons(env):
    at = hotspots_page()
    table = at.dataframe[0].value
    assert table.columns.tolist() == ["Rank", "Place", "Events", "NRM", "Rosewood",
                                      "Mandevilla", "Strength", "Relative risk", "p-value",
                                      "Trend", "Cross-feed", "Shares a ward with"]
    assert "Ranked by strength of evidence" in texts(at.caption)
    assert table["Rank"].tolist() == [1, 2, 3, 4, 5]
    assert sorted(p.rsplit("(", 1)[1].rstrip(")") for p in table["Place"]) == [
        "Bradford", "Calderdale", "Kirklees", "Leeds", "Wakefield"]
    assert table["NRM"].str.isdigit().all()                   # analysts: nothing hidden
    script = map_script(at)
    assert script.count('"hotspot_id"') == 5 and "wy-district" in script
    assert "5 hotspots" in texts(at.caption)
    assert "The 5 hotspots cover" in texts(at.caption)
    assert "of West Yorkshire, within the list's limit of 3%." in texts(at.caption)
    # Analysts see tasks but do not create them.
    assert "Partnership chairs create and update tasks" in texts(at.caption)
    assert not at.get("form_submit_button")
    # The filters went into the link.
    assert at.query_params["from"] and at.query_params["to"]


def test_selecting_a_row_zooms_to_it_and_explains_it_without_refitting(env):
    at = hotspots_page()
    second = at.dataframe[0].value["Place"][1]
    select_row(at, 1, never_calling="fit_hotspots")   # no refit
    assert f"2. {second}" in texts(at.main.get("subheader"))
    assert "would be expected from the" in texts(at.markdown)
    assert at.get("vega_lite_chart")
    assert "fitBounds" in map_script(at)
    breakdown = at.dataframe[1].value
    assert breakdown["Feed"].tolist() == ["NRM", "Rosewood", "Mandevilla"]


def test_a_chair_sees_small_counts_hidden_and_creates_a_task(env, deferred_files):
    at = hotspots_page("chair")
    table = at.dataframe[0].value
    # Each feed's records in the hotspot's wards at its own threshold (safeguards.publication).
    assert not table["NRM"].isin([str(n) for n in range(1, 5)]).any()
    assert not table["Mandevilla"].isin([str(n) for n in range(1, 10)]).any()
    assert (table["Mandevilla"] == "<10").any()
    assert "<10: fewer than 10" in texts(at.caption)
    form_place = table["Place"][0]
    agency = next(s for s in at.selectbox if s.label == "Lead agency")
    agency.select("Hope for Justice")
    at.text_area[0].input("Joint visit with licensing <b>now</b>")
    next(b for b in at.get("form_submit_button") if b.label == "Create task").click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert "Task T-0001 created" in texts(at.success)
    tasks = at.dataframe[-1].value
    assert tasks["Task"].tolist() == ["T-0001"]
    assert tasks["Place"].tolist() == [form_place]
    assert tasks["Lead agency"].tolist() == ["Hope for Justice"]
    assert tasks["Action"].tolist() == ["Joint visit with licensing <b>now</b>"]
    assert [b.label for b in at.get("download_button")] == ["Tasks (CSV)",
                                                           "Tasking sheet (PDF)"]
    # The CSV carries its label (views.exports.labelled_csv), then the tasks, escaped.
    label, listing = read_labelled_csv(deferred_files.make(at.get("download_button")[0]))
    assert (label["Protective marking"], label["Role"]) == ("OFFICIAL-SENSITIVE",
                                                            "Partnership chair")
    assert label["Period"] == "every task to 15 Dec 2026"
    assert listing["Task"].tolist() == ["T-0001"]
    created = read_audit(env, action="tasking")
    assert created["detail"].str.startswith("create T-0001").tolist() == [True]


def test_a_chair_updates_a_task_and_sees_its_outcome(env):
    at = hotspots_page("chair")
    view_place = at.dataframe[0].value["Place"][0]
    at.text_area[0].input("Visit")
    next(b for b in at.get("form_submit_button") if b.label == "Create task").click()
    at.run()
    status = next(s for s in at.selectbox if s.label == "Status")
    status.select("done")
    next(b for b in at.get("form_submit_button") if b.label == "Save").click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    tasks = at.dataframe[-1].value
    assert tasks["Status"].tolist() == ["Done"] and tasks["Place"].tolist() == [view_place]
    # Done today, long after the sample data end: nothing to compare yet, and it says so.
    assert "No data yet after the task was done" in texts(at.caption)
    assert TaskBook(env, Principal("x", "chair")).get("T-0001").done_at is not None


def test_a_chair_edits_a_tasks_action_on_the_page(env):
    at = hotspots_page("chair")
    at.text_area[0].input("Visit")
    next(b for b in at.get("form_submit_button") if b.label == "Create task").click()
    at.run()
    edit = next(t for t in at.text_area if t.key == "hotspots_action_T-0001")
    assert edit.value == "Visit"
    edit.input("Joint visit with licensing, then report back")
    next(b for b in at.get("form_submit_button") if b.label == "Save").click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    task = TaskBook(env, Principal("x", "chair")).get("T-0001")
    assert task.action == "Joint visit with licensing, then report back"
    assert at.dataframe[-1].value["Action"].tolist() == [task.action]
    # An action emptied on the page is refused, and the stored one is kept.
    next(t for t in at.text_area if t.key == "hotspots_action_T-0001").input("   ")
    next(b for b in at.get("form_submit_button") if b.label == "Save").click()
    at.run()
    assert "the action is empty" in texts(at.error)
    assert TaskBook(env, Principal("x", "chair")).get("T-0001").action == task.action


def test_the_map_never_reruns_the_page_on_pan_zoom_or_click(env):
    at = hotspots_page()
    assert map_args(at)["returned_objects"] == []


def test_an_empty_action_is_refused_with_a_message(env):
    at = hotspots_page("chair")
    next(b for b in at.get("form_submit_button") if b.label == "Create task").click()
    at.run()
    assert "the action is empty" in texts(at.error)
    assert TaskBook(env, Principal("x", "chair")).tasks() == []


@pytest.mark.parametrize("role", ["executive", "admin"])
def test_other_roles_cannot_open_the_page(env, role):
    at = AppTest.from_file(DASHBOARD, default_timeout=120)
    at.secrets["test"] = "no sign-in secrets"
    at.session_state["auth_demo_role"] = role
    at.run()
    # Not in the role's navigation (the page's own guard is tested in test_router.py).
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page(HOTSPOTS)
    assert read_audit(env, action="view-hotspots").empty


def test_filters_from_the_link_reach_the_fit(env):
    at = hotspots_page(district="E08000035")
    table = at.dataframe[0].value
    assert table["Place"].str.endswith("(Leeds)").tolist() == [True]
    fit = read_audit(env, action="view-hotspots").sort_values("seq").iloc[-1]
    assert json.loads(fit["filters"])["districts"] == ["E08000035"]
    assert at.query_params["district"] == "E08000035"


def test_the_page_says_how_well_the_model_did_and_caches_the_backtest(env):
    at = hotspots_page()
    [heading] = [h for h in at.header if h.value == "How well did it do?"]
    assert "Rolling-origin backtest" in heading.proto.help
    assert ("Over the last 6 months (Mar 2023 – Aug 2023), the places this model picked held "
            in texts(at.markdown))
    accuracy = next(d.value for d in at.dataframe if "Places picked by" in d.value.columns)
    assert accuracy["Places picked by"].tolist() == [
        "This model's hotspots", "Tasking ranking, same area", "Plain heat map (KDE), same area"]
    # Hit rates as the sentence words them ("44%"), each in the sentence or a share of it.
    assert accuracy["Hit rate"].str.fullmatch(r"\d{1,3}(\.\d)?%|under 0\.1%|over 99%").all()
    assert f"held {accuracy['Hit rate'].iloc[0]} of the next month's records" in texts(
        at.markdown)
    select_row(at, 0, never_calling="score_month")    # the backtest is not rerun


def test_a_chair_is_told_the_backtest_is_not_shown_for_too_few_records(env):
    at = hotspots_page("chair")   # 6 months of the sample store: far fewer than 20 × k records
    assert "The accuracy check is not shown for these filters" in texts(at.markdown)
    assert not any("Places picked by" in d.value.columns for d in at.dataframe)


def test_a_chair_selecting_a_row_reads_why_there_is_no_monthly_chart(env):
    at = hotspots_page("chair")
    assert "Strength" not in at.dataframe[0].value.columns
    at.session_state["hotspots_table"] = {"selection": {"rows": [0], "columns": []}}
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.get("vega_lite_chart")                     # no empty chart
    assert "Monthly counts are hidden for this hotspot" in texts(at.caption)
    script = map_script(at)
    assert "fitBounds" in script and "Selected hotspot (black outline)" in script


def test_the_page_says_what_rosewood_is_measured_against_and_refits_on_a_new_layer(env,
                                                                                   tmp_path):
    from data.exposure import ingest_sites_file
    from tests.conftest import write_csv

    at = hotspots_page()
    assert "Rosewood is measured against residents: no accommodation exposure layer is " \
           "loaded" in texts(at.caption)
    sites = write_csv(tmp_path / "sites.csv", [
        {"bed_capacity": "40", "opened_on": "2019-01-01", "lsoa_code": "E01010568"}])
    ingest_sites_file(sites, store=env)
    at = hotspots_page()  # the cached fit is keyed by the layer too
    assert "Rosewood is measured against bed-nights of open asylum accommodation sites" \
        in texts(at.caption)
