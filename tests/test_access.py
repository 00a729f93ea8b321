"""The role-scoped query layer: every way a role might reach data it must not see is refused.

Each case in BYPASS_ATTEMPTS is one attempt; the closing note reports how many there are.
"""
import dataclasses

import pandas as pd
import pytest

from core.errors import AccessDenied
from core.filters import EventFilter
from core.schema import FEEDS
from data.ingest import ingest_frame
from safeguards.access import Principal, RoleScopedQuery, point_columns
from safeguards.audit import read_audit
from tests.conftest import VALID_ROWS


@pytest.fixture
def filled(store):
    for feed in FEEDS:
        ingest_frame(pd.DataFrame(VALID_ROWS[feed]), feed, name=feed, store=store)
    return store


def ask(store, role, user="someone@example.org"):
    return RoleScopedQuery(store, Principal(user, role))


BYPASS_ATTEMPTS = [
    *[(role, "points", (feed,)) for role in ("chair", "executive", "admin") for feed in FEEDS],
    *[(role, "area_counts", (feed, "lsoa")) for role in ("chair", "executive", "admin")
      for feed in FEEDS],
    *[(role, "area_counts", (feed, "ward")) for role in ("executive", "admin") for feed in FEEDS],
    ("chair", "points", ("nrm", EventFilter(districts=("E08000035",)))),
    ("executive", "area_counts", ("nrm", "ward", None, "M")),
]


@pytest.mark.parametrize("role,method,args", BYPASS_ATTEMPTS,
                         ids=[f"{r}-{m}-{'-'.join(str(a) for a in args[:2])}"
                              for r, m, args in BYPASS_ATTEMPTS])
def test_finer_data_than_the_role_allows_is_refused_and_audited(filled, role, method, args):
    with pytest.raises(AccessDenied, match="role may not see"):
        getattr(ask(filled, role), method)(*args)
    denied = read_audit(filled, action="access-denied")
    assert denied.iloc[0]["role"] == role and denied.iloc[0]["actor"] == "someone@example.org"


@pytest.mark.parametrize("role", ["superuser", "Analyst", "analyst ", "", "root", None])
def test_unknown_or_misspelt_roles_are_refused(role):
    with pytest.raises(AccessDenied, match="unknown role"):
        Principal("x", role)


def test_a_principal_cannot_be_promoted_after_creation(filled):
    query = ask(filled, "chair")
    with pytest.raises(dataclasses.FrozenInstanceError):
        query.principal.role = "analyst"


def test_an_unknown_level_is_an_error_not_a_back_door(filled):
    with pytest.raises(ValueError, match="expected one of"):
        ask(filled, "analyst").area_counts("nrm", "point")
    with pytest.raises(ValueError, match="expected one of"):
        ask(filled, "chair").area_counts("nrm", "../points")


def test_analysts_get_geomasked_points_without_identifiers(filled):
    points = ask(filled, "analyst").points("nrm")
    assert list(points.columns) == point_columns("nrm")
    assert "record_id" not in points.columns
    assert len(points) == 2  # the LSOA-only record never appears as a point
    assert ((points["easting"] % 100) == 50).all()
    rosewood = ask(filled, "analyst").points("rosewood")
    assert "person_ref" not in rosewood.columns and "record_id" not in rosewood.columns
    viewed = read_audit(filled, action="view-points")
    assert viewed.iloc[0]["records"] == 2  # the newest entry is the Rosewood query


def test_chairs_get_ward_counts_with_small_numbers_suppressed(filled):
    counts = ask(filled, "chair").area_counts("nrm", "ward")
    assert len(counts) == 124
    shown = counts[~counts["suppressed"]]
    assert not shown["count"].between(1, 4).any()
    assert (counts.loc[counts["suppressed"], "count"].isna()).all()
    assert set(counts.loc[counts["suppressed"], "display"]) <= {"<5", "[c]"}
    assert counts["suppressed"].sum() >= 3  # three single referrals are hidden


def test_analysts_get_the_same_counts_unsuppressed(filled):
    counts = ask(filled, "analyst").area_counts("nrm", "ward")
    assert counts["count"].sum() == 3 and not counts["suppressed"].any()


def test_mandevilla_uses_its_own_threshold(filled):
    counts = ask(filled, "executive").area_counts("mandevilla", "district")
    assert set(counts.loc[counts["suppressed"], "display"]) <= {"<10", "[c]"}
    assert counts["suppressed"].any()


def test_monthly_counts_are_suppressed_per_cell(filled):
    counts = ask(filled, "chair").area_counts("nrm", "district", freq="M")
    assert {"code", "period", "count", "display", "suppressed"} <= set(counts.columns)
    assert not counts.loc[~counts["suppressed"], "count"].between(1, 4).any()


def test_the_overview_table_uses_the_strictest_threshold_for_suppressed_roles(filled):
    table = ask(filled, "executive").district_feed_table()
    assert table.threshold == 10
    assert table.suppressed.values.any()
    shown = table.counts.where(~table.suppressed)
    assert not ((shown >= 1) & (shown < 10)).any().any()
    analyst = ask(filled, "analyst").district_feed_table()
    assert analyst.counts.loc["Total", "Total"] == 7 and not analyst.suppressed.values.any()


def test_every_area_is_listed_so_absence_reveals_nothing(filled):
    counts = ask(filled, "executive").area_counts("rosewood", "district", EventFilter(
        districts=("E08000032",)))
    assert len(counts) == 5


def test_cell_counts_aggregate_points_for_analysts_only(filled):
    cells = ask(filled, "analyst").cell_counts("rosewood", cell_m=500)
    assert cells["count"].sum() == 2 and len(cells) == 1  # two episodes in one 500 m cell
    assert (cells["easting"] % 500 == 250).all()
    for role in ("chair", "executive", "admin"):
        with pytest.raises(AccessDenied):
            ask(filled, role).cell_counts("rosewood")
    with pytest.raises(ValueError, match="multiple of the 100 m geomask"):
        ask(filled, "analyst").cell_counts("nrm", cell_m=50)


def test_several_feeds_are_summed_then_protected_with_the_strictest_threshold(filled):
    combined = ask(filled, "chair").area_counts(["nrm", "mandevilla"], "district")
    assert set(combined.loc[combined["suppressed"], "display"]) <= {"<10", "[c]"}
    assert not combined.loc[~combined["suppressed"], "count"].between(1, 9).any()
    analyst = ask(filled, "analyst").area_counts(["nrm", "mandevilla"], "district")
    assert analyst["count"].sum() == 5
    with pytest.raises(ValueError, match="at least one feed"):
        ask(filled, "analyst").area_counts([], "district")
