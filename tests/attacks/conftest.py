"""The store the attacker works on: the 5-year synthetic demo store ``make run`` builds (same
generator, years and seed; it ends at the end of the month before the suite's frozen clock)."""
from __future__ import annotations

import pandas as pd
import pytest

from core.schema import FEEDS
from data.synthetic import build_store
from safeguards.publication import publication_for
from storage.parquet import ParquetStore
from tests.attacks.harvest import Cells


@pytest.fixture(scope="session")
def demo(tmp_path_factory) -> ParquetStore:
    root = tmp_path_factory.mktemp("attack") / "store"
    build_store(root, years=5, seed=1)
    return ParquetStore(root)


@pytest.fixture(scope="session")
def span(demo) -> tuple[pd.Period, pd.Period]:
    """First and last month of the demo store."""
    dates = pd.concat([demo.query(feed, None, columns=["event_date"])["event_date"]
                       for feed in FEEDS])
    return pd.Period(dates.min(), "M"), pd.Period(dates.max(), "M")


@pytest.fixture(scope="session")
def cells(demo) -> Cells:
    return Cells({feed: publication_for(demo, feed) for feed in FEEDS})
