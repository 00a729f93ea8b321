"""A store with a new cluster in its last month, for the alert view and page tests.

NRM referrals spread by Census population over January 2023 to December 2025
(``tests.test_hotspots.null_events``) and ``PLANTED`` more in December 2025 within 200 m of a
cell centre in central Leeds (``tests.test_surveillance.PLANT``): December 2025's analysis
raises one new alert there.
"""
from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd

from data.ingest import ingest_frame
from geo.crs import BNG
from storage.parquet import ParquetStore
from tests.test_hotspots import null_events
from tests.test_surveillance import AS_OF, MONTHS, planted

PLANTED = 12
BACKGROUND = 1500


def alert_store(root: Path) -> ParquetStore:
    """The store at ``root`` (built once by the caller's fixture)."""
    events = pd.concat([null_events(BACKGROUND, seed=21, months=MONTHS),
                        planted([AS_OF], PLANTED, seed=5)], ignore_index=True)
    events = gpd.GeoDataFrame(events, geometry="geometry", crs=BNG).to_crs(4326)
    dates = pd.to_datetime(events["date"])
    # The data cover whole months: first day of the first, last day of the last.
    dates.iloc[0], dates.iloc[-1] = pd.Timestamp("2023-01-01"), pd.Timestamp("2025-12-31")
    rows = pd.DataFrame({
        "record_id": [f"NRM-{i:05d}" for i in range(len(events))],
        "referral_date": dates.dt.strftime("%Y-%m-%d"),
        "exploitation_type": "labour", "age_group": "adult", "gender": "female",
        "first_responder": "police",
        "longitude": events.geometry.x.map("{:.5f}".format),
        "latitude": events.geometry.y.map("{:.5f}".format)})
    store = ParquetStore(Path(root))
    ingest_frame(rows, "nrm", name="alerts-nrm.csv", store=store, source="synthetic")
    return store
