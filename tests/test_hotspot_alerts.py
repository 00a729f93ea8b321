"""New-hotspot alerts for a role (views.hotspot_alerts): figures, protection, audit, layer."""
from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from core.errors import AccessDenied
from core.filters import EventFilter
from maps.alert_layer import alert_layer, alert_legend
from safeguards.access import Principal, RoleScopedQuery
from safeguards.audit import read_audit
from tests import hotspot_fixtures
from tests.alert_store import PLANTED
from views.hotspot_alerts import (
    NO_MONTH_TEXT,
    alert_heading,
    alert_lines,
    alert_month,
    alert_month_note,
    alert_summary,
    alert_table,
    fit_alerts,
    months_text,
)

MONTH = "2025-12"


store = hotspot_fixtures.alert_store  # December 2025's planted cluster in Leeds


@pytest.fixture(scope="module")
def analyst(store):
    return fit_alerts(RoleScopedQuery(store, Principal("ana", "analyst")), "nrm", MONTH)


@pytest.fixture(scope="module")
def chair(store):
    return fit_alerts(RoleScopedQuery(store, Principal("cha", "chair")), "nrm", MONTH)


def test_the_month_analysed_is_the_last_complete_one_before_today(store):
    assert store.period() == (dt.date(2023, 1, 1), dt.date(2025, 12, 31))
    assert str(alert_month(store.period(), dt.date(2026, 12, 15))) == "2025-12"
    # On 31 December the month has not ended yet: November is analysed.
    assert str(alert_month(store.period(), dt.date(2025, 12, 31))) == "2025-11"
    assert alert_month(None, dt.date(2026, 1, 1)) is None


def test_the_month_analysed_is_the_last_whole_month_of_the_chosen_period(store):
    """Issue 13 gap: the alerts ignored the page's dates and always scanned the latest month."""
    period, today = store.period(), dt.date(2026, 12, 15)
    # The whole store chosen: its last whole month, as before.
    assert str(alert_month(period, today, selected=period)) == "2025-12"
    # January to June 2025 chosen: June 2025, not the store's December.
    assert str(alert_month(period, today, (dt.date(2025, 1, 1), dt.date(2025, 6, 30)))) == \
        "2025-06"
    # A period ending mid-month: the last month it holds whole.
    assert str(alert_month(period, today, (dt.date(2025, 1, 1), dt.date(2025, 6, 20)))) == \
        "2025-05"
    assert str(alert_month(period, today, (dt.date(2025, 2, 3), dt.date(2025, 4, 30)))) == \
        "2025-04"
    # No whole month inside the period, or none the data cover: nothing to analyse.
    assert alert_month(period, today, (dt.date(2025, 6, 3), dt.date(2025, 6, 25))) is None
    assert alert_month(period, today, (dt.date(2026, 1, 1), dt.date(2026, 6, 30))) is None
    # A chosen period running past today: the last month ended by today.
    assert str(alert_month(period, dt.date(2025, 12, 31), period)) == "2025-11"


def test_an_earlier_month_is_scanned_on_its_own_data_and_named(store):
    """June 2025 chosen: the December cluster is not June's (the scan reads up to June)."""
    june = fit_alerts(RoleScopedQuery(store, Principal("ana", "analyst")), "nrm", "2025-06")
    assert june.month == "2025-06"
    assert all(row.end_month == "2025-06" for row in june.alerts.itertuples())
    assert not any(str(p).endswith("(Leeds)") and row_new
                   for p, row_new in zip(june.alerts["place"], june.alerts["new"]))
    assert alert_heading(june) == "New in June 2025"
    assert "June 2025" in alert_month_note(june) and "period chosen" in alert_month_note(june)
    assert alert_legend(june.month_label)[2] == "New in June 2025 (dotted blue)"
    assert "whole month" in NO_MONTH_TEXT


def test_an_analyst_sees_the_new_cluster_with_its_count(analyst):
    new = analyst.new
    assert len(new) == 1
    alert = new.iloc[0]
    assert alert["place"].endswith("(Leeds)")
    assert alert["months"] == "December 2025"
    assert alert["recurrence"] == "once in more than 83 years"
    assert alert["events"] >= PLANTED and alert["relative_risk"] > 3
    assert alert_summary(analyst) == "1 new cluster in December 2025"
    assert alert_table(analyst).columns.tolist() == ["Place", "Months", "By chance", "Records"]
    line = alert_lines(analyst)[0]
    assert "would happen by chance once in more than 83 years" in line


def test_a_chair_sees_published_ward_records_and_no_count_below_k(store, chair, analyst):
    assert chair.suppressed and chair.threshold == 5
    assert len(chair.new) == len(analyst.new) == 1
    for row in chair.alerts.itertuples(index=False):
        shown = row.events_display
        assert shown == "<5" or shown == "0" or int(shown.replace(",", "")) >= 5
        assert pd.isna(row.expected) and pd.isna(row.relative_risk)   # model figures hidden
    # The figure is the published sum of the alert's wards over its months (not the model's).
    from views.hotspots import covered_wards

    alert = chair.new.iloc[0]
    codes = covered_wards(analyst.new.rename(columns={"alert_id": "hotspot_id"}))[
        int(analyst.new.iloc[0]["alert_id"])]
    table = RoleScopedQuery(store, Principal("cha", "chair")).ward_set_counts(
        ["nrm"], codes, EventFilter(start=dt.date(2025, 12, 1), end=dt.date(2025, 12, 31)))
    assert alert["events_display"] == table.display.loc["Total", "records"]
    assert "in the wards it covers" in alert_lines(chair)[0]


def test_every_fit_is_audited_and_other_roles_are_refused(store, analyst):
    events = read_audit(store)
    fits = events[events["detail"].astype(str).str.startswith("alerts 2025-12")]
    assert len(fits) >= 1 and set(fits["action"]) == {"view-hotspots"}
    assert "1 new" in fits["detail"].iloc[0]
    with pytest.raises(AccessDenied):
        fit_alerts(RoleScopedQuery(store, Principal("exe", "executive")), "nrm", MONTH)


def test_the_map_layer_draws_the_alerts_and_escapes_their_text(analyst):
    import dataclasses

    import folium

    hostile = analyst.alerts.assign(place="<script>alert(1)</script> {{x}}")
    view = dataclasses.replace(analyst, alerts=hostile)
    m = folium.Map(tiles=None)
    alert_layer(view.alerts, view.month_label).add_to(m)
    html = m.get_root().render()
    assert "new in December 2025" in html and "once in more than 83 years" in html
    assert "<script>alert(1)" not in html and "\\u0026lt;script\\u0026gt;" in html


def test_months_in_words():
    assert months_text(pd.Period("2026-09", "M"), pd.Period("2026-11", "M")) == "Sep–Nov 2026"
    assert months_text(pd.Period("2025-12", "M"), pd.Period("2026-01", "M")) == \
        "Dec 2025–Jan 2026"
