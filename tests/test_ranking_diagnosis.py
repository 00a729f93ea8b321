"""Which cells the ranking and KDE pick at small coverage, and where the test events fall
(models.ranking_diagnosis): the figures behind "ties KDE at 0.5%" in
docs/hotspot-evaluation.md."""
import geopandas as gpd
import pandas as pd

from data.synthetic_families import family_events
from models import ranking_diagnosis


def test_diagnosis_counts_add_up_on_a_sparse_family():
    events = family_events("micro_places", 100, seed=5)
    rows = ranking_diagnosis.diagnose(events, coverages=(0.005, 0.05))
    assert set(rows["coverage"]) == {"0.5%", "5%"} and len(rows) >= 20
    half = rows[rows["coverage"] == "0.5%"]
    # 0.5% of West Yorkshire's 2,029 km² is ~1,015 cells of 100 m: ~20 a training site.
    assert half["cells"].eq(1015).all() and (half["cells"] / half["sites"]).between(10, 40).all()
    # Nested reach: at a site <= within 100 m <= within 300 m <= all test events.
    assert (half["at site"] <= half["≤100 m"]).all() and (half["≤100 m"] <= half["≤300 m"]).all()
    assert (half["≤300 m"] <= half["test"]).all()
    # Each ranking's hits = the shared ones + its own.
    shared = half["forecast"] - half["only forecast"]
    assert (shared == half["kde250"] - half["only kde250"]).all()
    assert half["overlap"].between(0, 1).all()
    # The wider coverage takes every cell the narrow one does, for the same ranking.
    wide = rows[rows["coverage"] == "5%"].set_index("period")
    assert (wide["kde250"] >= half.set_index("period")["kde250"]).all()
    table = ranking_diagnosis.summary_markdown(rows.assign(family="micro_places"))
    assert table.splitlines()[2].startswith("| micro_places | 0.5% | ")


def test_a_test_event_at_a_repeat_site_is_caught_by_both():
    """40 training events, one site twice; three test events there: both rankings catch them."""
    events = family_events("overdispersed", 60, seed=2)
    site = events.geometry.iloc[0]
    later = pd.DataFrame({"date": pd.to_datetime(["2025-12-10"] * 3), "feed": "synthetic"})
    repeat = gpd.GeoDataFrame(later, geometry=[site] * 3, crs=events.crs)
    before = events.assign(date=pd.Timestamp("2025-06-01")).iloc[:40]
    stacked = pd.concat([before, before.iloc[:1].assign(date=pd.Timestamp("2025-06-02")),
                         repeat], ignore_index=True)
    rows = ranking_diagnosis.diagnose(gpd.GeoDataFrame(stacked, crs=events.crs),
                                      coverages=(0.005,), train_months=6)
    last = rows[rows["period"] == "2025-12"].iloc[0]
    assert last["test"] == 3 and last["at site"] == 3
    assert last["kde250"] == 3 and last["forecast"] == 3
    assert 0.5 < last["overlap"] <= 1  # a repeat site tops both rankings
