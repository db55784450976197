"""Tests for the generated town / village / grid tessellation (gisgrid.tessellate)."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np
import pyproj
import pytest
import shapely

from gisgrid.demo.tessellate import DEGREE_GRID, Tessellation, _number_grids, tessellate_county

DIVISIONS = Path(__file__).resolve().parents[1] / "data" / "boundaries" / "divisions.csv"
DEQING = "441226"

# The tests' own equal-area projection, independent of the one the module picks.
EQUAL_AREA = pyproj.CRS.from_proj4(
    "+proj=aea +lat_0=23.2 +lon_0=112 +lat_1=23 +lat_2=23.4 +datum=WGS84 +units=m +no_defs"
)
_TO_M = pyproj.Transformer.from_crs("EPSG:4326", EQUAL_AREA, always_xy=True)
_TO_LL = pyproj.Transformer.from_crs(EQUAL_AREA, "EPSG:4326", always_xy=True)


def to_metric(geoms):
    """Project lon/lat geometries into the tests' equal-area CRS (metres)."""
    return shapely.transform(geoms, lambda xy: np.column_stack(_TO_M.transform(*xy.T)))


def from_km(geom):
    """Turn a shape drawn in km around (112E, 23.2N) into lon/lat."""
    return shapely.transform(geom, lambda xy: np.column_stack(_TO_LL.transform(*(xy.T * 1000))))


def c_shaped_county() -> shapely.MultiPolygon:
    """A wiggly C-shaped county of ~1990 km2 (deeply concave) plus a 3 km2 island."""
    th = np.linspace(np.radians(30), np.radians(330), 1600)
    outer_r = 30 + 1.5 * np.sin(7 * th) + 0.7 * np.sin(23 * th + 1)
    inner_r = 12 + 0.8 * np.sin(5 * th + 0.3)
    outer = np.column_stack([outer_r * np.cos(th), outer_r * np.sin(th)])
    inner = np.column_stack([inner_r * np.cos(th), inner_r * np.sin(th)])[::-1]
    main = shapely.Polygon(np.vstack([outer, inner]))
    island = shapely.Point(36, 2).buffer(1, 16)
    return from_km(shapely.MultiPolygon([main, island]))


def deqing_structure() -> tuple[dict[str, list[str]], dict[str, int]]:
    """Real Deqing towns and villages from divisions.csv, with 1..9 grids per village."""
    with DIVISIONS.open(encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["code"].startswith(DEQING)]
    villages_by_town: dict[str, list[str]] = {r["code"]: [] for r in rows if r["level"] == "town"}
    for r in rows:
        if r["level"] == "village":
            villages_by_town[r["parent_code"]].append(r["code"])
    villages = [v for vs in villages_by_town.values() for v in vs]
    grids_by_village = {v: 1 + (i * 7) % 9 for i, v in enumerate(villages)}
    return villages_by_town, grids_by_village


@pytest.fixture(scope="module")
def deqing() -> dict:
    """One Deqing-sized run (13 towns, 193 villages, ~960 grids) plus a rerun."""
    outline = c_shaped_county()
    villages_by_town, grids_by_village = deqing_structure()
    result = tessellate_county(outline, villages_by_town, grids_by_village, seed=7)
    rerun = tessellate_county(outline, villages_by_town, grids_by_village, seed=7)
    return {
        "outline": outline,
        "villages_by_town": villages_by_town,
        "grids_by_village": grids_by_village,
        "result": result,
        "rerun": rerun,
    }


def test_real_structure_is_deqing(deqing: dict) -> None:
    villages_by_town, grids_by_village = deqing["villages_by_town"], deqing["grids_by_village"]
    assert len(villages_by_town) == 13
    assert len(grids_by_village) == 193
    assert 900 <= sum(grids_by_village.values()) <= 1000


def test_counts_and_columns(deqing: dict) -> None:
    t: Tessellation = deqing["result"]
    villages_by_town, grids_by_village = deqing["villages_by_town"], deqing["grids_by_village"]
    assert list(t.towns.code) == list(villages_by_town)
    assert list(t.villages.code) == [v for vs in villages_by_town.values() for v in vs]
    assert {v: t for t, vs in villages_by_town.items() for v in vs} == dict(
        zip(t.villages.code, t.villages.town_code, strict=True)
    )
    assert len(t.grids) == sum(grids_by_village.values())
    assert t.grids.groupby("village_code").size().to_dict() == grids_by_village
    for frame in (t.towns, t.villages, t.grids):
        assert frame.crs.to_epsg() == 4326
        assert set(frame.geom_type) == {"MultiPolygon"}


def test_seq_is_1_to_n_per_village(deqing: dict) -> None:
    t: Tessellation = deqing["result"]
    for village, seqs in t.grids.groupby("village_code")["seq"]:
        assert sorted(seqs) == list(range(1, deqing["grids_by_village"][village] + 1))


def test_every_geometry_valid_non_empty_and_on_the_degree_grid(deqing: dict) -> None:
    t: Tessellation = deqing["result"]
    for frame in (t.towns, t.villages, t.grids):
        geoms = frame.geometry.values.to_numpy()
        assert shapely.is_valid(geoms).all()
        assert not shapely.is_empty(geoms).any()
        assert (shapely.area(to_metric(geoms)) > 1000).all()  # every cell is a real area
        assert shapely.is_valid(to_metric(geoms)).all()  # still valid once reprojected
        xy = shapely.get_coordinates(geoms) / DEGREE_GRID
        assert np.abs(xy - np.round(xy)).max() < 1e-3


def test_grids_do_not_overlap(deqing: dict) -> None:
    grids = to_metric(deqing["result"].grids.geometry.values.to_numpy())
    left, right = shapely.STRtree(grids).query(grids, predicate="intersects")
    pair = left < right
    overlap = shapely.area(shapely.intersection(grids[left[pair]], grids[right[pair]])).sum()
    assert overlap < 1.0
    # Stronger: GEOS's coverage check wants shared edges vertex for vertex identical.
    assert shapely.coverage_is_valid(deqing["result"].grids.geometry.values.to_numpy())


def _assert_units_are_their_parts(units: Any, parts: Any, parent_code: str) -> None:
    """Each unit's area is the union of the parts whose `parent_code` is its code (< 1 m² off)."""
    shapes = to_metric(parts.geometry.values.to_numpy())
    for code, unit in zip(units.code, to_metric(units.geometry.values.to_numpy()), strict=True):
        union = shapely.union_all(shapes[(parts[parent_code] == code).to_numpy()])
        assert shapely.symmetric_difference(union, unit).area < 1.0, code


def test_villages_are_exactly_their_grids(deqing: dict) -> None:
    t: Tessellation = deqing["result"]
    _assert_units_are_their_parts(t.villages, t.grids, "village_code")


def test_towns_are_exactly_their_villages(deqing: dict) -> None:
    t: Tessellation = deqing["result"]
    _assert_units_are_their_parts(t.towns, t.villages, "town_code")
    towns = to_metric(t.towns.geometry.values.to_numpy())
    left, right = shapely.STRtree(towns).query(towns, predicate="intersects")
    pair = left < right
    assert shapely.area(shapely.intersection(towns[left[pair]], towns[right[pair]])).sum() < 1.0


def test_towns_tile_the_outline(deqing: dict) -> None:
    towns = to_metric(deqing["result"].towns.geometry.values.to_numpy())
    outline = to_metric(deqing["outline"])
    union = shapely.union_all(towns)
    # Partition: town areas add up to the outline's (no overlaps, no gaps)...
    assert abs(shapely.area(towns).sum() - outline.area) < 1e-7 * outline.area
    assert abs(union.area - outline.area) < 1e-7 * outline.area
    # ...and the only difference is the 1e-7 degree rounding of the boundary: no point of
    # either boundary is more than ~1 cm from the other, and the sliver area is at most
    # that rounding times the perimeter.
    assert shapely.hausdorff_distance(union.boundary, outline.boundary) < 0.015
    assert shapely.symmetric_difference(union, outline).area < 0.005 * outline.length


def test_grids_are_mostly_single_polygons(deqing: dict) -> None:
    parts = shapely.get_num_geometries(deqing["result"].grids.geometry.values.to_numpy())
    assert (parts == 1).mean() > 0.97
    parts = shapely.get_num_geometries(deqing["result"].villages.geometry.values.to_numpy())
    assert (parts == 1).mean() > 0.97


def test_areas_follow_shares(deqing: dict) -> None:
    t: Tessellation = deqing["result"]
    villages = shapely.area(to_metric(t.villages.geometry.values.to_numpy()))
    # Equal village weights: villages are right-sized, within a generous band of the mean.
    assert villages.min() > 0.5 * villages.mean() and villages.max() < 1.5 * villages.mean()
    towns = shapely.area(to_metric(t.towns.geometry.values.to_numpy()))
    n_villages = np.array([len(vs) for vs in deqing["villages_by_town"].values()])
    share = towns / towns.sum() / (n_villages / n_villages.sum())
    assert np.all((share > 0.8) & (share < 1.2))


def test_deterministic_for_a_seed(deqing: dict) -> None:
    first, second = deqing["result"], deqing["rerun"]
    for a, b in ((first.towns, second.towns), (first.villages, second.villages)):
        assert list(a.geometry.to_wkb()) == list(b.geometry.to_wkb())
    assert list(first.grids.geometry.to_wkb()) == list(second.grids.geometry.to_wkb())
    assert first.grids.drop(columns="geometry").equals(second.grids.drop(columns="geometry"))


def test_another_seed_gives_another_layout() -> None:
    outline = from_km(shapely.box(0, 0, 8, 6))
    structure = {"T1": ["V1", "V2"], "T2": ["V3"]}
    grids = {"V1": 3, "V2": 2, "V3": 4}
    a = tessellate_county(outline, structure, grids, seed=1)
    b = tessellate_county(outline, structure, grids, seed=2)
    assert list(a.grids.geometry.to_wkb()) != list(b.grids.geometry.to_wkb())


def test_small_edge_cases() -> None:
    """A town with one village, villages with one grid, and a plain Polygon outline."""
    outline = from_km(shapely.Polygon([(0, 0), (9, 0), (9, 6), (5, 6), (5, 3), (0, 3)]))
    structure = {"T1": ["V1"], "T2": ["V2", "V3"]}
    grids = {"V1": 1, "V2": 5, "V3": 1}
    t = tessellate_county(outline, structure, grids, seed=3)
    assert len(t.towns) == 2 and len(t.villages) == 3 and len(t.grids) == 7
    town = dict(zip(t.towns.code, to_metric(t.towns.geometry.values.to_numpy()), strict=True))
    village = dict(
        zip(t.villages.code, to_metric(t.villages.geometry.values.to_numpy()), strict=True)
    )
    grid_geoms = to_metric(t.grids.geometry.values.to_numpy())
    # A town with a single village is that village; a village with one grid is that grid.
    assert shapely.symmetric_difference(town["T1"], village["V1"]).area < 1e-6
    for code in ("V1", "V3"):
        sel = (t.grids.village_code == code).to_numpy()
        assert list(t.grids.seq[sel]) == [1]
        assert shapely.symmetric_difference(grid_geoms[sel][0], village[code]).area < 1e-6
    assert sorted(t.grids.seq[(t.grids.village_code == "V2").to_numpy()]) == [1, 2, 3, 4, 5]
    union = shapely.union_all(list(town.values()))
    assert shapely.hausdorff_distance(union.boundary, to_metric(outline).boundary) < 0.015
    assert shapely.area(grid_geoms).sum() == pytest.approx(to_metric(outline).area, rel=1e-5)
    assert (shapely.area(grid_geoms) > 0).all()


def test_single_town_single_village_single_grid() -> None:
    outline = from_km(shapely.box(0, 0, 4, 3))
    t = tessellate_county(outline, {"T": ["V"]}, {"V": 1})
    town, village, grid = (to_metric(f.geometry.iloc[0]) for f in (t.towns, t.villages, t.grids))
    assert shapely.symmetric_difference(town, village).area < 1e-6
    assert shapely.symmetric_difference(village, grid).area < 1e-6
    # The outline, up to the 1e-7 degree rounding of its corners (a few mm on 14 km).
    assert town.area == pytest.approx(12e6, rel=1e-5)


def test_weights_set_area_shares() -> None:
    outline = from_km(shapely.box(0, 0, 20, 10))
    structure = {"T1": ["A"], "T2": ["B", "C"]}
    weights = {"A": 1.0, "B": 2.0, "C": 1.0}
    t = tessellate_county(outline, structure, {"A": 2, "B": 3, "C": 1}, weights, seed=5)
    towns = shapely.area(to_metric(t.towns.geometry.values.to_numpy()))
    villages = dict(
        zip(
            t.villages.code,
            shapely.area(to_metric(t.villages.geometry.values.to_numpy())),
            strict=True,
        )
    )
    assert towns[1] / towns[0] == pytest.approx(3.0, rel=0.15)
    assert villages["B"] / villages["C"] == pytest.approx(2.0, rel=0.15)


def test_progress_is_reported() -> None:
    messages: list[str] = []
    tessellate_county(
        from_km(shapely.box(0, 0, 4, 3)), {"T": ["V"]}, {"V": 2}, progress=messages.append
    )
    assert messages and messages[-1] == "done"


def test_number_grids_rows_north_to_south_then_west_to_east() -> None:
    # Six 1 km cells in two rows of three (slightly jittered), given in scrambled order.
    cells = [
        (2, 0),  # south-east
        (0, 1),  # north-west
        (1, 0.05),  # south-middle
        (2, 1.1),  # north-east
        (0, 0),  # south-west
        (1, 0.95),  # north-middle
    ]
    geoms = np.array([shapely.box(x, y, x + 1000, y + 1000) for x, y in np.array(cells) * 1000])
    seq, order = _number_grids(geoms, np.array(["V"] * 6, dtype=object), ["V"])
    assert list(seq) == [6, 1, 5, 3, 4, 2]
    assert list(seq[order]) == [1, 2, 3, 4, 5, 6]


@pytest.mark.parametrize(
    ("structure", "grids", "weights"),
    [
        ({}, {}, None),
        ({"T": []}, {}, None),
        ({"T": ["V"]}, {"V": 0}, None),
        ({"T": ["V"]}, {}, None),
        ({"T1": ["V"], "T2": ["V"]}, {"V": 1}, None),
        ({"T": ["V"]}, {"V": 1}, {"V": -1.0}),
    ],
)
def test_bad_structure_is_rejected(structure, grids, weights) -> None:
    with pytest.raises(ValueError):
        tessellate_county(from_km(shapely.box(0, 0, 4, 3)), structure, grids, weights)


def test_bad_outline_is_rejected() -> None:
    from gisgrid.errors import InvalidGeometry

    with pytest.raises(InvalidGeometry):
        tessellate_county(shapely.Polygon(), {"T": ["V"]}, {"V": 1})
    with pytest.raises(InvalidGeometry):  # metres, not degrees
        tessellate_county(shapely.box(0, 0, 4000, 3000), {"T": ["V"]}, {"V": 1})
