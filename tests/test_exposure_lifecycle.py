"""The exposure layer in the data lifecycle (issue 13 gap): the accommodation sites list is a
batch an administrator can withdraw, its closed sites are purged when due, both audited, and
Rosewood then falls back to residents as documented (docs/data-protection.md).

Both backends where storage is involved (``store`` is parametrised like tests/test_lifecycle.py);
the frozen clock is 15 Dec 2026.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.errors import AccessDenied
from data.exposure import ingest_sites_file
from safeguards import lifecycle
from safeguards.access import Principal, RoleScopedQuery
from safeguards.audit import read_audit, verify
from storage.exposure import layers_fingerprint, read_layer
from storage.lifecycle import EXPOSURE_PREFIX, batch_table, exposure_status
from storage.parquet import ParquetStore
from tests.conftest import write_csv
from tests.sample_store import build_store
from tests.test_lifecycle import parquet_files_with, postgis_files_with
from tests.test_store import backend
from views.hotspots import fit_hotspots
from views.lifecycle import lifecycle_view, withdraw_from_page

ROOT = Path(__file__).resolve().parent.parent
LAYER = "accommodation"
FEED = EXPOSURE_PREFIX + LAYER
#: A bed count and opening day no other file of the store holds: the site's stored row starts
#: with them (``storage.exposure`` writes one value a line).
MARK = '1777,\n"2019-07-13"'
SITES = [
    {"site_ref": "HOTEL-7", "bed_capacity": "1777", "opened_on": "2019-07-13", "closed_on": "",
     "longitude": "-1.5491", "latitude": "53.8008"},
    {"site_ref": "HOUSE-2", "bed_capacity": "6", "opened_on": "15/01/2020",
     "closed_on": "2023-06-30", "lsoa_code": "E01010568"},
    {"site_ref": "HOUSE-9", "bed_capacity": "12", "opened_on": "2022-05-01",
     "ward_code": "E05001348"},
]
ANALYST = Principal("ana", "analyst")


@pytest.fixture(params=["parquet", "postgis"])
def store(request, tmp_path):
    if request.param == "parquet":
        return build_store(tmp_path / "store", {"rosewood": 30})
    return request.getfixturevalue("pg_store")


@pytest.fixture
def loaded(store, tmp_path):
    ingest_sites_file(write_csv(tmp_path / "sites.csv", SITES), store=store)
    return store


def layer_row(store) -> dict:
    table = batch_table(store)
    rows = table[table["feed"] == FEED].to_dict("records")
    assert len(rows) == 1
    return rows[0]


def files_with(store, text: str) -> list[str]:
    if backend(store) == "parquet":
        return parquet_files_with(store.root, text)
    return postgis_files_with(store, text, "documents")


def entries(store, action):
    return [json.loads(f) | {"_records": r, "_detail": d}
            for f, r, d in read_audit(store, action=action)[
                ["filters", "records", "detail"]].itertuples(index=False)]


# -- withdrawal -------------------------------------------------------------------------------
def test_the_sites_list_is_a_batch_withdrawn_whole_audited_and_leaves_no_byte(loaded):
    row = layer_row(loaded)
    assert (row["rows"], row["file_name"], row["source"]) == (3, "sites.csv", "real")
    assert row["id"].startswith("accommodation-")
    key = layers_fingerprint(loaded)
    assert files_with(loaded, MARK), "the search must find the site before the withdrawal"
    batch, _ = lifecycle.withdraw_batch(loaded, row["id"], reason="list sent in error",
                                        actor="dpo")
    assert batch["id"] == row["id"]
    assert read_layer(loaded, LAYER) is None
    assert FEED not in set(batch_table(loaded)["feed"])
    assert layers_fingerprint(loaded) != key          # every page cache keyed on it recomputes
    assert files_with(loaded, MARK) == []
    (entry,) = entries(loaded, "withdraw")
    assert entry["batch"] == row["id"] and entry["feed"] == FEED and entry["sites"] == 3
    assert entry["reason"] == "list sent in error" and entry["_records"] == 3
    assert "HOTEL" not in json.dumps(entry, default=str) and "1777" not in str(entry)
    assert verify(loaded).ok
    # Withdrawn twice: it is gone, so the second is refused (and audited as refused).
    with pytest.raises(Exception, match="no batch"):
        lifecycle.withdraw_batch(loaded, row["id"], reason="list sent in error", actor="dpo")


def test_only_the_administrator_withdraws_it(loaded):
    row = layer_row(loaded)
    with pytest.raises(AccessDenied):
        lifecycle.withdraw_batch(loaded, row["id"], reason="list sent in error",
                                 actor="cha", role="chair")
    assert read_layer(loaded, LAYER) is not None
    assert read_audit(loaded, action="access-denied")["filters"].str.contains(row["id"]).any()


# -- retention --------------------------------------------------------------------------------
def test_closed_sites_past_rosewoods_period_are_purged_and_audited(loaded, monkeypatch):
    """Rosewood kept 2 years: on 15 Dec 2026 a site that closed before 15 Dec 2024 gave no
    bed-night to any record still kept, and is due; the open ones stay."""
    monkeypatch.setenv("RETENTION_YEARS_ROSEWOOD", "2")
    (status,) = exposure_status(loaded, lifecycle.clock.today())
    assert (status.years, str(status.cutoff), str(status.first_event), status.due) == \
        (2, "2024-12-15", "2023-06-30", 1)
    dry = lifecycle.purge(loaded)
    assert dry[FEED] == {2023: 1}
    assert len(read_layer(loaded, LAYER)[1]) == 3 and read_audit(loaded, action="purge").empty
    done = lifecycle.purge(loaded, apply=True, actor="dpo")
    assert done[FEED] == {2023: 1}
    meta, sites = read_layer(loaded, LAYER)
    assert sorted(sites["bed_capacity"]) == [12, 1777] and meta["sites"] == 2
    (entry,) = entries(loaded, "purge")
    assert entry["sites"] == {FEED: {"2023": 1}} and entry["before"][FEED] == "2024-12-15"
    assert "1 exposure sites" in entry["_detail"]
    assert FEED not in lifecycle.purge(loaded)       # nothing due any more


def test_a_purge_that_leaves_no_site_leaves_no_layer(loaded, monkeypatch, tmp_path):
    closed = [dict(s, closed_on="2020-01-31", opened_on="2019-07-13") for s in SITES]
    ingest_sites_file(write_csv(tmp_path / "closed.csv", closed), store=loaded)
    assert files_with(loaded, MARK)
    monkeypatch.setenv("RETENTION_YEARS_ROSEWOOD", "6")   # before 15 Dec 2020: all three
    assert lifecycle.purge(loaded, apply=True, actor="dpo")[FEED] == {2020: 3}
    assert read_layer(loaded, LAYER) is None and files_with(loaded, MARK) == []


# -- what Rosewood is measured against afterwards ----------------------------------------------
def test_rosewood_falls_back_to_residents_once_the_layer_is_withdrawn(tmp_path):
    store = build_store(tmp_path / "store", {"rosewood": 30})
    ingest_sites_file(write_csv(tmp_path / "sites.csv", SITES), store=store)
    query = RoleScopedQuery(store, ANALYST)
    before = fit_hotspots(query, ["rosewood"])
    assert any("bed-nights" in note for note in before.notes)
    lifecycle.withdraw_batch(store, layer_row(store)["id"], reason="list sent in error",
                             actor="dpo")
    after = fit_hotspots(query, ["rosewood"])
    assert any("measured against residents" in note and "no accommodation exposure layer"
               in note for note in after.notes)
    assert after.measured_against == "resident population"


# -- the Data lifecycle page --------------------------------------------------------------------
def test_the_view_lists_the_layer_its_retention_and_withdraws_it(tmp_path):
    store = build_store(tmp_path / "store", {"rosewood": 6})
    ingest_sites_file(write_csv(tmp_path / "sites.csv", SITES), store=store)
    admin = Principal("dpo", "admin")
    view = lifecycle_view(store, admin)
    row = view.batches[view.batches["Feed"] == FEED].iloc[0]
    assert (row["File"], row["Records"]) == ("sites.csv", 3)
    assert row["Batch id"] in view.batch_ids
    sites = view.retention[view.retention["Feed"].str.startswith("Accommodation sites")].iloc[0]
    assert sites["Oldest record"] == "2023-06-30" and sites["Oldest data purged on"] == \
        "2029-06-30"
    message = withdraw_from_page(store, admin, row["Batch id"], row["Batch id"],
                                 "list sent in error")
    assert "3 sites removed" in message and "Rosewood episodes is measured against residents" \
        in message
    assert read_layer(store, LAYER) is None
    assert "list sent in error" in lifecycle_view(store, admin).actions["Reason"].tolist()


def test_the_page_withdraws_the_layer_when_its_id_is_typed(tmp_path, monkeypatch):
    store = build_store(tmp_path / "store", {"rosewood": 6})
    ingest_sites_file(write_csv(tmp_path / "sites.csv", SITES), store=store)
    monkeypatch.setenv("STORE_URL", str(store.root))
    monkeypatch.setenv("USERS_FILE", str(tmp_path / "no-users.json"))
    monkeypatch.setenv("ROLES_FILE", str(tmp_path / "no-roles.yaml"))
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=90)
    at.secrets["test"] = "no sign-in secrets"
    at.session_state["auth_demo_role"] = "admin"
    at.run()
    at.switch_page(str(ROOT / "pages/data_lifecycle.py")).run()
    assert not at.exception, [e.value for e in at.exception]
    batches = at.dataframe[1].value
    assert FEED in batches["Feed"].tolist()
    assert any("Accommodation sites (Rosewood's denominator) are kept" in str(c.value)
               for c in at.caption)
    layer_id = batches[batches["Feed"] == FEED]["Batch id"].iloc[0]
    at.selectbox(key="lifecycle_batch").set_value(layer_id)
    at.text_input(key="lifecycle_reason").input("list sent in error")
    at.text_input(key="lifecycle_confirm").input(layer_id)
    at.button[0].click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("3 sites removed" in s.value for s in at.success)
    assert read_layer(ParquetStore(store.root), LAYER) is None


def test_the_command_line_lists_purges_and_withdraws_the_layer(tmp_path, monkeypatch, capsys):
    store = build_store(tmp_path / "store", {"rosewood": 6})
    ingest_sites_file(write_csv(tmp_path / "sites.csv", SITES), store=store)
    url = str(store.root)
    assert lifecycle.main(["batches", "--store", url]) == 0
    listing = capsys.readouterr().out
    layer_id = layer_row(store)["id"]
    assert layer_id in listing and FEED in listing and "sites.csv" in listing
    monkeypatch.setenv("RETENTION_YEARS_ROSEWOOD", "2")
    assert lifecycle.main(["purge", "--store", url]) == 0
    dry = capsys.readouterr().out
    assert f"{FEED} 2023         1 sites due (dry run" in dry
    assert "sites closed before 2024-12-15 are due" in dry
    assert len(read_layer(store, LAYER)[1]) == 3
    assert lifecycle.main(["withdraw", "--batch", layer_id, "--reason", "sent in error",
                           "--store", url]) == 0
    assert "3 sites removed" in capsys.readouterr().out
    assert read_layer(store, LAYER) is None
