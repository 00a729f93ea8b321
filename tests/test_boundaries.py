"""The shipped West Yorkshire geography: codes, nesting, validity, populations."""
import pytest

from geo.boundaries import (
    DISTRICT_CODES,
    LEVELS,
    load_boundaries,
    lsoa_2011_to_2021,
    lsoa_ward_lookup,
)
from geo.crs import BNG


@pytest.mark.parametrize("level", LEVELS)
def test_levels_are_wgs84_with_the_documented_columns(level):
    gdf = load_boundaries(level)
    assert gdf.crs.to_epsg() == 4326
    for column in ("code", "name", "district_code", "district_name", "population",
                   "population_estimate", "area_km2"):
        assert column in gdf.columns
    assert gdf["code"].is_unique
    assert gdf.geometry.is_valid.all()
    assert (gdf["population"] > 0).all()


def test_exactly_the_five_districts():
    districts = load_boundaries("district")
    assert dict(zip(districts["code"], districts["name"])) == DISTRICT_CODES
    assert districts["area_km2"].sum() == pytest.approx(2029.3, abs=1)


def test_counts_match_the_published_files():
    assert len(load_boundaries("ward")) == 124
    assert len(load_boundaries("lsoa")) == 1404


@pytest.mark.parametrize("level", ["ward", "lsoa"])
def test_every_area_belongs_to_a_district_and_lies_inside_it(level):
    areas = load_boundaries(level).to_crs(BNG)
    districts = load_boundaries("district").to_crs(BNG).set_index("code")
    assert set(areas["district_code"]) == set(DISTRICT_CODES)
    parent = districts.geometry.loc[areas["district_code"]].reset_index(drop=True)
    inside = areas.geometry.reset_index(drop=True).representative_point().within(parent)
    assert inside.all()
    # Most of each area's surface lies in its parent (wards are generalised, so not all of it).
    share = areas.geometry.reset_index(drop=True).intersection(parent).area / areas.area.values
    assert share.min() > (0.999 if level == "lsoa" else 0.8)


def test_populations_add_up_to_west_yorkshire():
    totals = {level: load_boundaries(level)["population"].sum() for level in LEVELS}
    assert totals == {"district": 2_351_587, "ward": 2_351_587, "lsoa": 2_351_587}


def test_ward_populations_are_labelled_estimates():
    assert load_boundaries("ward")["population_estimate"].all()
    assert not load_boundaries("lsoa")["population_estimate"].any()
    assert not load_boundaries("district")["population_estimate"].any()


def test_every_lsoa_has_a_best_fit_ward_in_its_own_district():
    lookup = lsoa_ward_lookup().merge(load_boundaries("lsoa")[["code", "district_code"]],
                                      left_on="lsoa_code", right_on="code")
    wards = load_boundaries("ward").set_index("code")["district_code"]
    assert len(lookup) == 1404
    assert (lookup["ward_code"].map(wards) == lookup["district_code"]).all()


def test_2011_lsoa_codes_map_to_2021_codes():
    mapping = lsoa_2011_to_2021()
    current = set(load_boundaries("lsoa")["code"])
    assert len(mapping) == 1388
    assert set(mapping.values()) <= current
    unchanged = [old for old in mapping if old in current]
    assert all(mapping[old] == old for old in unchanged)


def test_loaded_once_per_process():
    assert load_boundaries("lsoa") is load_boundaries("lsoa")


def test_unknown_level_is_refused_with_the_choices():
    with pytest.raises(ValueError, match="expected one of"):
        load_boundaries("county")


# -- the prepared copy (geo.prepared): what a server reads instead of deriving at start -----
def test_the_prepared_copy_is_current():
    """Made from the source files as they are now: else run `python -m geo.make_prepared`."""
    from geo.prepared import is_current

    is_current.cache_clear()
    assert is_current(), "data/boundaries/prepared is stale: run `python -m geo.make_prepared`"


@pytest.mark.parametrize("level", LEVELS)
def test_the_prepared_frames_are_the_derived_ones(level):
    from geopandas.testing import assert_geodataframe_equal

    from geo.boundaries import derive_boundaries

    loaded, derived = load_boundaries(level), derive_boundaries(level)
    assert loaded is not derived  # read from the prepared copy, not derived
    assert list(loaded.columns) == list(derived.columns)
    assert loaded.dtypes.to_dict() == derived.dtypes.to_dict()
    assert_geodataframe_equal(loaded, derived)


@pytest.mark.parametrize("level", LEVELS)
def test_the_prepared_outlines_and_labels_are_the_maps_own(level):
    from geo.boundaries import derive_boundaries
    from geo.outlines import (
        LABELLED_LEVELS,
        boundary_geojson,
        label_points,
        level_labels,
        outline_collection,
    )

    derived = derive_boundaries(level)
    assert outline_collection(level) == boundary_geojson(derived, properties=("code",))
    if level in LABELLED_LEVELS:
        assert list(level_labels(level)) == label_points(derived)


def test_a_stale_prepared_copy_is_not_read(tmp_path, monkeypatch):
    """Sources changed since the copy was made: the loaders derive from the sources."""
    import shutil

    from geo import prepared

    copy = tmp_path / "boundaries"
    shutil.copytree(prepared.BOUNDARY_DIR, copy)
    monkeypatch.setattr(prepared, "BOUNDARY_DIR", copy)
    monkeypatch.setattr(prepared, "PREPARED_DIR", copy / "prepared")
    prepared.is_current.cache_clear()
    prepared.read_prepared.cache_clear()
    try:
        assert prepared.read_prepared("ward") is not None
        with open(copy / "wards.geojson", "a") as handle:
            handle.write("\n")
        prepared.is_current.cache_clear()
        prepared.read_prepared.cache_clear()
        assert prepared.read_prepared("ward") is None
    finally:
        prepared.is_current.cache_clear()
        prepared.read_prepared.cache_clear()
