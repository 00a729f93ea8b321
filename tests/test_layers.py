"""The explorer map's layers (maps.layers, area_layer, cell_layers, point_layer, legends) and
geo.hexgrid, through the real query layer.

Small stores are built in tmp_path: hand-made NRM rows at known places (counts known by
construction) and a one-year synthetic store (module-scoped, ~1 s). The GeoJSON a layer sends
is read from the layer object (``layer_geojson``), not by searching the page.
"""
from __future__ import annotations

import datetime as dt
import re

import folium
import folium.plugins
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import Polygon

from core.errors import AccessDenied
from core.filters import EventFilter
from core.schema import FEEDS
from data.ingest import ingest_frame
from data.synthetic import build_store
from geo import hexgrid
from geo.boundaries import load_boundaries
from geo.geomask import lonlat_to_bng
from maps import basemap as maps
from maps import local_assets as assets
from maps.area_layer import WARD_POPULATION_NOTE, area_layer
from maps.cell_layers import combine_cells, heat_cells, heat_layer, hex_cells, hex_layer
from maps.layers import explorer_map, filter_note, layer_geojson
from maps.legends import (
    HIDDEN_COLOUR,
    RAMPS,
    LegendClass,
    MapLegend,
    classify,
    jenks_breaks,
)
from maps.point_layer import points_layer
from maps.verbatim import VerbatimGeoJson
from safeguards.access import Principal, RoleScopedQuery
from storage.parquet import ParquetStore
from tests.map_pages import LINKED, PREFIX, VENDOR, absolute_urls

MAX_EXPLORER_BYTES = 2_000_000

# Hand-made NRM referrals: (longitude, latitude, how many), each group in one ward.
PLACES = {
    "leeds": (-1.5491, 53.8008, 7),       # shown to a chair (>= 5)
    "wakefield": (-1.4977, 53.6833, 6),   # shown, or hidden [c] to protect Bradford's 2
    "bradford": (-1.7594, 53.7960, 2),    # hidden from a chair: "<5"
}


@pytest.fixture(autouse=True)
def no_tile_settings(monkeypatch):
    for name in (maps.TILE_URL_ENV, maps.TILE_ATTRIBUTION_ENV, assets.ASSET_PREFIX_ENV):
        monkeypatch.delenv(name, raising=False)


def nrm_rows() -> pd.DataFrame:
    rows, i = [], 0
    for lon, lat, n in PLACES.values():
        for _ in range(n):
            rows.append({"record_id": f"NRM-{i:03d}", "referral_date": f"2024-0{1 + i % 6}-15",
                         "exploitation_type": ("criminal", "labour;sexual")[i % 2],
                         "age_group": ("child", "adult")[i % 2], "gender": "female",
                         "first_responder": "police", "longitude": str(lon),
                         "latitude": str(lat)})
            i += 1
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def hand_store(tmp_path_factory) -> ParquetStore:
    store = ParquetStore(tmp_path_factory.mktemp("hand") / "store")
    ingest_frame(nrm_rows(), "nrm", name="hand-nrm.csv", store=store)
    return store


@pytest.fixture(scope="module")
def year_store(tmp_path_factory) -> ParquetStore:
    root = tmp_path_factory.mktemp("year") / "store"
    build_store(root, years=1, seed=1)
    return ParquetStore(root)


def ask(store, role: str) -> RoleScopedQuery:
    return RoleScopedQuery(store, Principal(f"{role}@example.org", role))


def ward_of(store, lon: float, lat: float) -> str:
    rows = store.query("nrm", columns=["longitude", "latitude", "ward_code"])
    near = (rows["longitude"] - lon).abs() + (rows["latitude"] - lat).abs()
    return rows.loc[near.idxmin(), "ward_code"]


def styles_of(layer: folium.FeatureGroup) -> dict:
    """id -> style dict, from the GeoJsons' own style functions."""
    return {f["id"]: geojson.style_function(f) for geojson in layer._children.values()
            if isinstance(geojson, folium.GeoJson) for f in geojson.data["features"]}


def features_by_code(layer) -> dict[str, dict]:
    return {f["properties"]["code"]: f for f in layer_geojson(layer)["features"]}


# --------------------------------------------------------------------------------------------
# Classes


def check_classes(values: np.ndarray, legend: MapLegend, decimals: int) -> None:
    """Classes are increasing, disjoint, and every shown value falls in exactly one."""
    def bounds(label: str) -> tuple[float, float]:
        parts = [float(p.replace(",", "")) for p in label.split(" – ")]
        return parts[0], parts[-1]

    ranges = [bounds(c.label) for c in legend.classes]
    assert [c.colour for c in legend.classes] == list(RAMPS[len(ranges)])
    for (lo, hi), (next_lo, _) in zip(ranges, ranges[1:]):
        assert lo <= hi < next_lo
    rounded = np.round(values, decimals)
    inside = [((rounded >= lo) & (rounded <= hi)) for lo, hi in ranges]
    assert (np.sum(inside, axis=0) == 1).all()


@pytest.mark.parametrize("scheme", ["natural_breaks", "quantiles"])
@pytest.mark.parametrize("measure", ["count", "rate"])
def test_classes_are_monotone_and_cover_every_shown_value(year_store, scheme, measure):
    counts = ask(year_store, "analyst").area_counts(list(FEEDS), "ward")
    layer, legend = area_layer(counts, "ward", measure=measure, scheme=scheme)
    assert 2 <= len(legend.classes) <= 5
    feats = layer_geojson(layer)["features"]
    field = "rate" if measure == "rate" else "count"
    values = np.array([float(f["properties"][field].replace(",", "")) for f in feats])
    check_classes(values, legend, decimals=1 if measure == "rate" else 0)
    # Each area is coloured with the colour of the class its value is in.
    styles = styles_of(layer)
    for feature, value in zip(feats, values):
        colour = next(c.colour for c in legend.classes
                      if float(c.label.split(" – ")[0].replace(",", "")) <= round(value, 1)
                      <= float(c.label.split(" – ")[-1].replace(",", "")))
        assert styles[feature["id"]]["fillColor"] == colour


def test_few_distinct_values_and_all_zeros_are_handled():
    index, bounds = classify([0, 0, 0])
    assert index.tolist() == [0, 0, 0] and bounds.tolist() == [0]
    index, bounds = classify([0, 5, 5, 0, 9], n_classes=5)
    assert bounds.tolist() == [0, 5, 9] and index.tolist() == [0, 1, 1, 0, 2]
    index, bounds = classify([], scheme="quantiles")
    assert len(index) == 0
    # Quantiles of heavily tied values: repeated bounds collapse, no empty class.
    index, bounds = classify([0] * 50 + [1, 2, 30], scheme="quantiles", n_classes=5)
    assert sorted(set(index.tolist())) == list(range(len(bounds)))
    with pytest.raises(ValueError):
        classify([1, 2], scheme="jenks-ish")
    with pytest.raises(ValueError):
        classify([1, 2], n_classes=9)


def test_all_zero_counts_make_one_class(hand_store):
    counts = ask(hand_store, "analyst").area_counts("nrm", "ward", EventFilter(
        start=dt.date(2020, 1, 1), end=dt.date(2020, 12, 31)))
    _, legend = area_layer(counts, "ward")
    assert legend.classes == (LegendClass(RAMPS[1][0], "0"),)
    assert legend.hidden is None


def within_ss(values: np.ndarray, bounds) -> float:
    """Within-class sum of squared deviations: what natural breaks minimise."""
    index = np.searchsorted(bounds, values, side="left")
    return sum(((values[index == i] - values[index == i].mean()) ** 2).sum()
               for i in np.unique(index))


@pytest.mark.filterwarnings("ignore:Numba not installed")
def test_natural_breaks_are_the_optimal_jenks_breaks():
    mapclassify = pytest.importorskip("mapclassify")
    rng = np.random.default_rng(3)
    values = np.round(rng.lognormal(2, 1, 40), 1)
    ours = jenks_breaks(values, 4)
    reference = mapclassify.FisherJenks(values, k=4).bins
    assert within_ss(values, ours) == pytest.approx(within_ss(values, reference))
    assert jenks_breaks(values, 4).tolist() == ours.tolist()  # deterministic
    # Ties are weights: the same optimum as on the expanded values.
    tied = np.repeat([1.0, 2, 3, 10, 11, 30], [5, 1, 7, 2, 2, 1])
    assert jenks_breaks(tied, 3).tolist() == [3, 11, 30]


def test_natural_breaks_on_many_distinct_values_are_near_optimal():
    values = np.round(np.random.default_rng(3).lognormal(3, 1, 3000), 1)
    assert len(np.unique(values)) > 512  # breaks only between 512 runs of values
    exact = jenks_breaks(values, 5, max_groups=10_000)
    grouped = jenks_breaks(values, 5)  # grouped into at most 512 runs: the fast path
    assert within_ss(values, grouped) <= within_ss(values, exact) * 1.001
    assert grouped[-1] == values.max() and (np.diff(grouped) > 0).all()


# --------------------------------------------------------------------------------------------
# Areas: rates, suppression, escaping


def test_rate_is_count_per_100000_residents_on_a_hand_checked_ward(hand_store):
    leeds = ward_of(hand_store, *PLACES["leeds"][:2])
    counts = ask(hand_store, "analyst").area_counts("nrm", "ward")
    layer, legend = area_layer(counts, "ward", measure="rate", note="2024 · NRM")
    population = int(load_boundaries("ward").set_index("code").at[leeds, "population"])
    feature = features_by_code(layer)[leeds]
    assert feature["properties"]["count"] == "7"
    assert feature["properties"]["rate"] == f"{7 / population * 1e5:,.1f}"
    assert feature["id"] == leeds  # and properties["code"]: what a click reports
    assert legend.title == "Records per 100,000 residents, by ward"
    assert legend.note.startswith("2024 · NRM · ") and WARD_POPULATION_NOTE in legend.note
    _, by_count = area_layer(counts, "ward", note="2024 · NRM")
    assert by_count.title == "Records by ward"
    # The tooltip shows a rate in count mode too, so the note is there as well.
    assert by_count.note == f"2024 · NRM · {WARD_POPULATION_NOTE}"
    _, districts = area_layer(ask(hand_store, "analyst").area_counts("nrm", "district"),
                              "district", measure="rate")
    assert "estimate" not in districts.note


def tooltip_aliases(layer: folium.FeatureGroup) -> list[str]:
    (geojson,) = [c for c in layer._children.values() if isinstance(c, folium.GeoJson)]
    tooltip = next(c for c in geojson._children.values()
                   if isinstance(c, folium.GeoJsonTooltip))
    return list(tooltip.aliases)


@pytest.mark.parametrize("measure", ["count", "rate"])
def test_ward_rates_are_labelled_estimates_and_official_populations_are_not(hand_store,
                                                                            measure):
    """Ward populations are best-fit estimates: the tooltip's rate and the legend say so in
    both measures; district and LSOA populations are Census figures and are not labelled."""
    query = ask(hand_store, "analyst")
    layer, legend = area_layer(query.area_counts("nrm", "ward"), "ward", measure=measure)
    assert tooltip_aliases(layer) == ["Ward", "District", "Count",
                                      "Per 100,000 (estimated population)"]
    assert WARD_POPULATION_NOTE in legend.note
    page = explorer_map([layer]).get_root().render()
    assert "Per 100,000 (estimated population)" in page
    for level in ("district", "lsoa"):
        layer, legend = area_layer(query.area_counts("nrm", level), level, measure=measure)
        assert tooltip_aliases(layer)[-1] == "Per 100,000"
        assert "estimate" not in legend.note.lower()
        assert "estimate" not in explorer_map([layer]).get_root().render().lower()


@pytest.mark.parametrize("measure", ["count", "rate"])
def test_a_chairs_suppressed_areas_are_grey_and_no_small_number_is_sent(hand_store, measure):
    counts = ask(hand_store, "chair").area_counts("nrm", "ward")
    k = 5
    layer, legend = area_layer(counts, "ward", measure=measure)
    bradford = ward_of(hand_store, *PLACES["bradford"][:2])
    features = features_by_code(layer)
    styles = styles_of(layer)
    hidden = set(counts.loc[counts["suppressed"], "code"])
    assert bradford in hidden
    for code, feature in features.items():
        props = feature["properties"]
        assert set(props) == {"code", "name", "district", "count", "rate"}
        if code in hidden:
            assert props["count"] in {"&lt;5", "[c]"} and props["rate"] == "hidden"
            assert styles[code]["fillColor"] == HIDDEN_COLOUR
        else:
            assert styles[code]["fillColor"] != HIDDEN_COLOUR
            assert not 1 <= int(props["count"].replace(",", "")) < k
    assert legend.hidden and legend.hidden.startswith("Grey: fewer than 5")
    # Nor does a legend label give a hidden count away.
    for c in legend.classes:
        for number in re.findall(r"[\d,.]+", c.label):
            if measure == "count":
                assert not 1 <= float(number.replace(",", "")) < k
    # And the rendered page carries exactly what the layer object holds.
    page = explorer_map([layer]).get_root().render()
    assert "&lt;5" not in page  # tojson writes & as \u0026 inside the script
    assert "\\u0026lt;5" in page


def test_every_string_reaching_the_map_is_escaped():
    wards = load_boundaries("ward").head(3).copy()
    codes = wards["code"].tolist()
    wards["name"] = ["<b>x</b>", "Jinja {{ 7*7 }}", "O'Hara & Sons"]
    wards["district_name"] = ["<script>alert(1)</script>", "Leeds", "Leeds"]
    counts = pd.DataFrame({"code": codes, "count": pd.array([12, 0, 3], dtype="Int64"),
                           "display": ["12", "0", "3"], "suppressed": [False] * 3})
    layer, _ = area_layer(counts, "ward", boundaries=wards, name="<i>Wards</i>")
    props = {f["properties"]["code"]: f["properties"] for f in layer_geojson(layer)["features"]}
    assert props[codes[0]]["name"] == "&lt;b&gt;x&lt;/b&gt;"
    assert props[codes[0]]["district"] == "&lt;script&gt;alert(1)&lt;/script&gt;"
    assert props[codes[1]]["name"] == "Jinja &#123;&#123; 7*7 &#125;&#125;"
    assert props[codes[2]]["name"] == "O&#x27;Hara &amp; Sons"
    page = explorer_map([layer]).get_root().render()
    assert "<b>x</b>" not in page and "<script>alert" not in page and "<i>Wards" not in page
    assert "Jinja 49" not in page  # folium renders its output through Jinja twice


def test_area_layer_refuses_frames_it_cannot_map(hand_store):
    analyst = ask(hand_store, "analyst")
    with pytest.raises(ValueError, match="one row per area"):
        area_layer(analyst.area_counts("nrm", "ward", freq="M"), "ward")
    with pytest.raises(ValueError, match="not ward codes"):
        area_layer(analyst.area_counts("nrm", "district"), "ward")
    with pytest.raises(ValueError, match="lacks"):
        area_layer(pd.DataFrame({"code": ["x"]}), "ward")
    with pytest.raises(ValueError, match="measure"):
        area_layer(analyst.area_counts("nrm", "ward"), "ward", measure="density")


def test_area_geometry_is_rounded_and_properties_are_few(year_store):
    layer, _ = area_layer(ask(year_store, "analyst").area_counts("nrm", "ward"), "ward")
    data = layer_geojson(layer)
    assert len(data["features"]) == 124
    coords = np.array([xy for f in data["features"]
                       for xy in shapely.get_coordinates(shapely.geometry.shape(f["geometry"]))])
    assert np.allclose(coords, np.round(coords, 5), atol=1e-9)


# --------------------------------------------------------------------------------------------
# Hexagons and heat


def test_hexagons_are_equal_area_in_bng_tile_the_plane_and_hold_their_points():
    size = 500
    rng = np.random.default_rng(0)
    e = rng.uniform(400_000, 420_000, 2000)
    n = rng.uniform(420_000, 440_000, 2000)
    q, r = hexgrid.axial_of(e, n, size)
    cx, cy = hexgrid.centre_of(q, r, size)
    rings = hexgrid.corners(cx, cy, size)
    polygons = [Polygon(ring) for ring in rings]
    areas = np.array([p.area for p in polygons])
    assert np.allclose(areas, hexgrid.hex_area_m2(size), rtol=1e-9)
    assert hexgrid.hex_area_m2(size) == pytest.approx(649_519.05, abs=0.01)
    # Every point lies in (or on the edge of) its own hexagon, and in no other.
    for k in range(0, 2000, 37):
        point = shapely.Point(e[k], n[k])
        assert polygons[k].buffer(1e-6).contains(point)
    unique = {(a, b): p for a, b, p in zip(q, r, polygons)}
    union = shapely.union_all(list(unique.values()))
    assert union.area == pytest.approx(sum(p.area for p in unique.values()), rel=1e-9)
    # Neighbouring centres are sqrt(3) * side apart.
    nx, ny = hexgrid.centre_of([0, 1, 0], [0, 0, 1], size)
    assert np.hypot(nx[1] - nx[0], ny[1] - ny[0]) == pytest.approx(hexgrid.centre_spacing_m(size))
    assert np.hypot(nx[2] - nx[0], ny[2] - ny[0]) == pytest.approx(hexgrid.centre_spacing_m(size))


def test_hex_layer_conserves_the_count_and_draws_only_occupied_equal_hexagons(year_store):
    analyst = ask(year_store, "analyst")
    cells = combine_cells(analyst.cell_counts(feed, cell_m=100) for feed in FEEDS)
    with_points = sum(int(analyst.points(feed)["longitude"].notna().sum()) for feed in FEEDS)
    assert cells["count"].sum() == with_points
    hexes = hex_cells(cells, 500)
    assert hexes["count"].sum() == cells["count"].sum() and (hexes["count"] > 0).all()
    layer, legend = hex_layer(cells, size_m=500)
    feats = layer_geojson(layer)["features"]
    assert len(feats) == len(hexes)
    assert sum(int(f["properties"]["count"].replace(",", "")) for f in feats) == with_points
    # Drawn in WGS84 with ~1 m coordinates: back in BNG each is the same area within 0.1 %.
    for f in feats[::50]:
        ring = np.array(f["geometry"]["coordinates"][0])
        assert (ring[0] == ring[-1]).all() and len(ring) == 7
        x, y = lonlat_to_bng(ring[:, 0], ring[:, 1])
        assert Polygon(np.column_stack([x, y])).area == pytest.approx(
            hexgrid.hex_area_m2(500), rel=1e-3)
    check_classes(hexes["count"].to_numpy(float), legend, decimals=0)
    assert "0.65 km²" in legend.title and legend.hidden is None
    # Each hexagon has its class's colour: more records, a darker class, every class used.
    ramp = [c.colour for c in legend.classes]
    styles = styles_of(layer)
    ranked = sorted((int(f["properties"]["count"].replace(",", "")),
                     ramp.index(styles[f["id"]]["fillColor"])) for f in feats)
    assert [k for _, k in ranked] == sorted(k for _, k in ranked)
    assert {k for _, k in ranked} == set(range(len(ramp)))


def test_heat_weights_sum_to_the_events_even_when_the_grid_is_coarsened(year_store):
    analyst = ask(year_store, "analyst")
    cells = combine_cells(analyst.cell_counts(feed, cell_m=100) for feed in FEEDS)
    total = int(cells["count"].sum())
    for max_cells in (len(cells), 300):
        layer = heat_layer(cells, max_cells=max_cells)
        heat = next(iter(layer._children.values()))
        assert isinstance(heat, folium.plugins.HeatMap)
        assert sum(row[2] for row in heat.data) == total
        assert len(heat.data) <= max_cells
    used, grid = heat_cells(cells, max_cells=300)
    assert grid is not None and grid % 100 == 0 and len(used) <= 300


def test_cells_hexagons_and_points_are_for_analysts_only(hand_store):
    chair = ask(hand_store, "chair")
    with pytest.raises(AccessDenied):
        chair.cell_counts("nrm")
    with pytest.raises(AccessDenied):
        chair.points("nrm")


# --------------------------------------------------------------------------------------------
# Points


def test_points_are_clustered_with_escaped_category_tooltips(hand_store):
    points = ask(hand_store, "analyst").points("nrm")
    points = points.astype({"exploitation_type": object})
    points.loc[0, "exploitation_type"] = "<img src=x onerror=alert(1)>"
    layer, message = points_layer(points, feed="nrm")
    assert message is None
    cluster = next(iter(layer._children.values()))
    assert isinstance(cluster, folium.plugins.FastMarkerCluster)
    assert len(cluster.data) == len(points) == 15
    page = explorer_map([layer]).get_root().render()
    assert "<img src=x" not in page
    assert "\\u0026lt;img src=x onerror=alert(1)\\u0026gt;" in page
    assert "NRM" in page and "Jan 2024" in page
    for field in ("record_id", "NRM-000", "person_ref"):
        assert field not in page


def test_too_many_points_give_a_message_and_no_layer(hand_store):
    points = ask(hand_store, "analyst").points("nrm")
    many = pd.concat([points] * 700, ignore_index=True)  # 10,500 rows
    layer, message = points_layer(many, feed="nrm")
    assert layer is None
    assert message == ("10,500 points is more than 10,000: narrow the filters to see them; "
                       "the heat map and hexagons show all")
    layer, message = points_layer(points, max_points=15, feed="nrm")
    assert layer is not None and message is None


# --------------------------------------------------------------------------------------------
# The map


def test_explorer_map_loads_only_vendored_files_and_payload_stays_small(year_store):
    analyst = ask(year_store, "analyst")
    counts = analyst.area_counts(list(FEEDS), "ward")
    cells = combine_cells(analyst.cell_counts(feed, cell_m=100) for feed in FEEDS)
    note = filter_note(FEEDS, None, period=year_store.period())
    areas, _ = area_layer(counts, "ward", measure="rate", note=note, name="Wards")
    hexes, _ = hex_layer(cells)
    heat = heat_layer(cells)
    points, _ = points_layer(analyst.points("nrm"), feed="nrm")
    m = explorer_map([areas, hexes, heat, points], show={"Wards", "Heat map"})
    page = m.get_root().render()
    assert absolute_urls(page) == set()
    linked = LINKED.findall(page)
    for url in linked:
        assert url.startswith(PREFIX + "/") and (VENDOR / url[len(PREFIX) + 1:]).is_file(), url
    assert any("markercluster" in url for url in linked)
    assert any("leaflet_heat" in url for url in linked)
    assert (areas.show, heat.show, hexes.show, points.show) == (True, True, False, False)
    assert "L.control.layers" in page
    # Without the points: the map the page shows by default.
    areas, _ = area_layer(counts, "ward", measure="rate", note=note, name="Wards")
    hexes, _ = hex_layer(cells)
    page = explorer_map([areas, hexes, heat_layer(cells)]).get_root().render()
    assert len(page.encode()) < MAX_EXPLORER_BYTES


def test_explorer_map_checks_its_layer_names():
    with pytest.raises(ValueError, match="distinct"):
        explorer_map([folium.FeatureGroup(name="A"), folium.FeatureGroup(name="A")])
    with pytest.raises(ValueError, match="not here"):
        explorer_map([folium.FeatureGroup(name="A")], show={"B"})
    m = explorer_map([folium.FeatureGroup(name="A"), None])
    assert isinstance(m, assets.LocalAssetMap)


def test_the_map_keeps_leaflets_small_type_for_its_controls():
    # folium's own default (1rem = 16px) drew the attribution as a two-line banner under the map.
    page = explorer_map([folium.FeatureGroup(name="A")]).get_root().render()
    sizes = re.findall(r"\.leaflet-container \{ font-size: ([^;]+); \}", page)
    assert sizes == ["0.75rem"]


def test_filter_note_names_period_feeds_and_filters():
    f = EventFilter(start=dt.date(2025, 11, 1), end=dt.date(2026, 10, 31), age_groups=("child",),
                    districts=("E08000035",))
    assert filter_note(["nrm", "rosewood"], f) == (
        "1 Nov 2025 – 31 Oct 2026 · NRM, Rosewood · child · Leeds")


def test_filters_that_select_nothing_give_empty_layers_not_errors(hand_store):
    analyst = ask(hand_store, "analyst")
    nothing = EventFilter(start=dt.date(2020, 1, 1), end=dt.date(2020, 1, 31))
    cells = combine_cells(analyst.cell_counts(feed, nothing) for feed in FEEDS)
    assert len(cells) == 0
    hexes, legend = hex_layer(cells)
    assert layer_geojson(hexes)["features"] == [] and legend.classes == ()
    heat = heat_layer(cells)
    points, message = points_layer(analyst.points("nrm", nothing), feed="nrm")
    assert message is None
    page = explorer_map([hexes, heat, points]).get_root().render()
    assert "L.control.layers" in page


def test_every_area_hidden_gives_no_classes_only_the_grey_note():
    wards = load_boundaries("ward").head(4)
    counts = pd.DataFrame({"code": wards["code"], "count": pd.array([pd.NA] * 4, dtype="Int64"),
                           "display": ["<5", "<5", "[c]", "[c]"], "suppressed": [True] * 4})
    layer, legend = area_layer(counts, "ward", boundaries=wards, measure="rate")
    assert legend.classes == ()
    assert legend.hidden == ("Grey: fewer than 5, or hidden so that a small number cannot be "
                             "worked out ([c])")
    assert {s["fillColor"] for s in styles_of(layer).values()} == {HIDDEN_COLOUR}


def test_verbatim_layers_render_what_folium_renders_without_a_second_template_pass(year_store):
    analyst = ask(year_store, "analyst")
    cells = combine_cells(analyst.cell_counts(feed) for feed in FEEDS)
    data = layer_geojson(hex_layer(cells)[0])
    data["features"][0]["properties"]["count"] = "{{ 7*7 }}"   # as a careless writer might

    def script(cls):
        m = maps.local_map()
        layer = cls(data, name="h", style_function=lambda f: {"color": "#123456"}).add_to(m)
        page = m.get_root().render()
        return page.replace(layer.get_name(), "LAYER").replace(m.get_name(), "MAP"), layer

    plain, plain_layer = script(folium.GeoJson)
    verbatim, verbatim_layer = script(VerbatimGeoJson)
    assert "{{ 7*7 }}" in verbatim
    assert "\"count\": \"49\"" in plain          # what folium's second pass does with it
    # The same page but for the layer data's JSON whitespace (written compact since the map
    # message was cut: maps.verbatim.CompactData).
    assert "".join(verbatim.replace("{{ 7*7 }}", "49").split()) == "".join(plain.split())
    assert verbatim_layer.get_bounds() == plain_layer.get_bounds()
    heat = heat_layer(cells)
    rows = next(iter(heat._children.values()))
    assert rows._get_self_bounds() == folium.plugins.HeatMap(rows.data)._get_self_bounds()
