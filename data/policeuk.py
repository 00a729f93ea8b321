"""Read a police.uk street-level crime CSV into model-ready points, for blind evaluation only.

police.uk publishes one CSV per force and month (``YYYY-MM-<force>-street.csv``) with the
columns ``Crime ID, Month, Reported by, Falls within, Longitude, Latitude, Location, LSOA code,
LSOA name, Crime type, Last outcome category, Context``. Only ``Month``, ``Longitude``,
``Latitude``, ``Crime type`` and ``LSOA code`` are read. Points there are already anonymised
to a snap point (the centre of a street or a public place) by the police; here they are geomasked
to 100 m cells like any stored point. Rows without a location are dropped and counted.

The events are never stored: this is the input of ``python -m models.evaluate --points``, the
format a crime analyst already has, so that a deployment can check the hotspot ranking on real
data. Months carry no day, so every event is dated the 15th of its month.
"""
from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.crs import BNG
from geo.geomask import lonlat_to_bng, snap_to_grid

COLUMNS = ("Month", "Longitude", "Latitude", "Crime type", "LSOA code")


def read_policeuk(paths, crime_types=None, cell_m: int = 100) -> gpd.GeoDataFrame:
    """Points of one or more police.uk street-level CSV files.

    Parameters
    ----------
    paths : path or sequence of paths
        CSV files (one per month, or concatenated).
    crime_types : sequence of str, optional
        Keep only these ``Crime type`` values (case-insensitive); default all.
    cell_m : int
        Geomask cell in metres.

    Returns
    -------
    GeoDataFrame
        BNG points (geomasked), ``date`` (the 15th of ``Month``), ``feed`` (the crime type)
        and ``lsoa_code``; ``.attrs["dropped"]`` counts the rows without a location.

    Raises
    ------
    ValueError
        A file lacks one of ``COLUMNS`` or has a ``Month`` that is not ``YYYY-MM``.
    """
    paths = [paths] if isinstance(paths, (str, Path)) else list(paths)
    frames = []
    for path in paths:
        frame = pd.read_csv(path, usecols=lambda c: c in COLUMNS, dtype=str)
        missing = [c for c in COLUMNS if c not in frame.columns]
        if missing:
            raise ValueError(f"{path}: not a police.uk street-level file, missing columns "
                             f"{missing} (expected {list(COLUMNS)})")
        frames.append(frame)
    rows = pd.concat(frames, ignore_index=True)
    month = pd.to_datetime(rows["Month"], format="%Y-%m", errors="coerce")
    if month.isna().any():
        bad = rows.loc[month.isna(), "Month"].iloc[0]
        raise ValueError(f"Month {bad!r} is not YYYY-MM ({int(month.isna().sum())} rows)")
    if crime_types:
        wanted = {t.casefold() for t in crime_types}
        keep = rows["Crime type"].fillna("").str.casefold().isin(wanted)
        rows, month = rows[keep], month[keep]
    lon = pd.to_numeric(rows["Longitude"], errors="coerce")
    lat = pd.to_numeric(rows["Latitude"], errors="coerce")
    located = lon.notna() & lat.notna()
    e, n = lonlat_to_bng(lon[located].to_numpy(), lat[located].to_numpy())
    e, n = snap_to_grid(e, n, cell_m)
    out = gpd.GeoDataFrame(
        {"date": (month[located] + pd.Timedelta(days=14)).to_numpy(),
         "feed": rows.loc[located, "Crime type"].fillna("unknown").to_numpy(dtype=object),
         "lsoa_code": rows.loc[located, "LSOA code"].to_numpy(dtype=object)},
        geometry=gpd.points_from_xy(np.asarray(e, float), np.asarray(n, float)), crs=BNG)
    out.attrs["dropped"] = int((~located).sum())
    return out
