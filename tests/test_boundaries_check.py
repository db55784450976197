"""Importing planners' files: every deliberately broken feature is reported with its code.

The files are the demo county's own grids exported and then broken on purpose, so each test
knows exactly which feature is wrong and what the report must say about it. Dry runs only here.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely
from sqlalchemy import Connection, Engine

from gisgrid.boundaries.check import plan_import
from gisgrid.boundaries.export import grids_frame, write_grids
from gisgrid.boundaries.read import read_boundaries
from gisgrid.datum import wgs84_to_gcj02
from gisgrid.errors import ImportRefused


@pytest.fixture(scope="module")
def county_grids(engine: Engine, demo_county: str) -> gpd.GeoDataFrame:
    """The demo county's current grids, as a planner's file would hold them."""
    with engine.connect() as c:
        frame = grids_frame(c, unit=demo_county[:6])
    assert len(frame) > 800
    return frame[["code", "name", "village_code", "geometry"]]


def _check(conn: Connection, frame: gpd.GeoDataFrame, path: Path, **kw: Any) -> dict[str, Any]:
    fmt = {".geojson": "geojson", ".gpkg": "gpkg", ".zip": "shp", ".csv": "csv"}.get(
        path.suffix, "parquet"
    )
    write_grids(frame, fmt, path)
    plan = plan_import(conn, read_boundaries(path), "grid", **kw)
    return plan.report()


def _of(report: dict[str, Any], problem: str) -> list[dict[str, Any]]:
    return [p for p in report["problems"] if p["problem"] == problem]


def _codes(p: dict[str, Any]) -> set[str]:
    feats = p.get("features") or [p["feature"]]
    return {f["code"] for f in feats}


@pytest.mark.parametrize("suffix", [".geojson", ".gpkg", ".zip", ".csv", ".parquet"])
def test_clean_file_round_trips_in_every_format(
    conn: Connection, county_grids: gpd.GeoDataFrame, tmp_path: Path, suffix: str
) -> None:
    report = _check(conn, county_grids, tmp_path / f"grids{suffix}")
    assert report["features"] == len(county_grids)
    assert report["errors"] == 0, report["problems"][:3]
    assert report["committable"]
    # CSV cannot carry a CRS: the one warning says what was assumed.
    expected = {"crs_assumed"} if suffix == ".csv" else set()
    assert {p["problem"] for p in report["problems"]} == expected


def test_bow_tie_is_reported_with_its_repair_and_area(
    conn: Connection, county_grids: gpd.GeoDataFrame, tmp_path: Path
) -> None:
    frame = county_grids.copy()
    k = 17
    x0, y0, x1, y1 = frame.geometry.iloc[k].bounds
    frame.loc[frame.index[k], "geometry"] = shapely.Polygon(
        [(x0, y0), (x1, y1), (x1, y0), (x0, y1)]
    )
    report = _check(conn, frame, tmp_path / "bowtie.geojson")
    (bad,) = _of(report, "invalid_geometry")
    assert bad["severity"] == "error" and bad["feature"]["code"] == frame.code.iloc[k]
    assert "Self-intersection" in bad["message"]
    # The two triangles of the repair are half the bounding box; as drawn GEOS nets them to 0.
    assert bad["area_repaired_m2"] > 0 and bad["area_change_m2"] == pytest.approx(
        bad["area_repaired_m2"] - bad["area_as_drawn_m2"]
    )
    assert not report["committable"]
    repaired = _check(conn, frame, tmp_path / "bowtie2.geojson", repair=True)
    (fixed,) = _of(repaired, "invalid_geometry")
    assert fixed["severity"] == "warning" and fixed["repaired"]


def test_overlapping_grids_are_reported_with_area(
    conn: Connection, county_grids: gpd.GeoDataFrame, tmp_path: Path
) -> None:
    frame = county_grids.copy()
    k = 40
    grown = frame.geometry.iloc[k].buffer(0.002)  # ~200 m over its neighbours
    frame.loc[frame.index[k], "geometry"] = grown
    report = _check(conn, frame, tmp_path / "overlap.gpkg")
    overlaps = [p for p in _of(report, "overlap") if frame.code.iloc[k] in _codes(p)]
    assert overlaps, report["problem_counts"]
    neighbours = np.flatnonzero(
        shapely.intersects(county_grids.geometry.values, frame.geometry.iloc[k])
    )
    assert len(overlaps) == len(neighbours) - 1
    assert all(p["area_m2"] > 1000 and p["severity"] == "error" for p in overlaps)
    assert any(p["feature"]["code"] == frame.code.iloc[k] for p in _of(report, "not_inside_parent"))


def test_a_missing_grid_leaves_a_gap_of_its_area(
    conn: Connection, county_grids: gpd.GeoDataFrame, tmp_path: Path
) -> None:
    village = county_grids.village_code.value_counts().index[0]  # a village with many grids
    members = county_grids.index[county_grids.village_code == village]
    gone = members[len(members) // 2]
    frame = county_grids.drop(index=gone)
    report = _check(conn, frame, tmp_path / "gap.geojson")
    (gap,) = _of(report, "gap")
    assert gap["parent"] == village and gap["severity"] == "error"
    area = shapely.area(
        gpd.GeoSeries([county_grids.geometry[gone]], crs=4326).to_crs(4545).values[0]
    )
    assert gap["area_m2"] == pytest.approx(area, rel=0.01)
    assert gap["location"] and shapely.Point(gap["location"]).within(county_grids.geometry[gone])


def test_swapped_lon_lat_is_named_and_repairable(
    conn: Connection, county_grids: gpd.GeoDataFrame, tmp_path: Path
) -> None:
    frame = county_grids.copy()
    k = 5
    frame.loc[frame.index[k], "geometry"] = shapely.transform(
        frame.geometry.iloc[k], lambda xy: xy[:, ::-1]
    )
    report = _check(conn, frame, tmp_path / "swapped.geojson")
    (swap,) = _of(report, "coordinates_swapped")
    assert swap["feature"]["code"] == frame.code.iloc[k] and "swapped" in swap["message"]
    # The swapped grid is unusable, so its village shows a gap until it is fixed.
    assert any(p["parent"] == frame.village_code.iloc[k] for p in _of(report, "gap"))
    fixed = _check(conn, frame, tmp_path / "swapped2.geojson", repair=True)
    assert fixed["errors"] == 0, fixed["problems"][:3]


def test_codes_duplicate_unknown_and_not_under_parent(
    conn: Connection, county_grids: gpd.GeoDataFrame, tmp_path: Path
) -> None:
    frame = county_grids.copy()
    frame.loc[frame.index[3], "code"] = frame.code.iloc[2]  # duplicate
    frame.loc[frame.index[8], "village_code"] = "441226999999"  # parent says otherwise
    frame.loc[frame.index[9], "code"] = "441226999999001"  # no such village
    frame.loc[frame.index[10], "code"] = "44122610"  # not a grid code
    report = _check(conn, frame, tmp_path / "codes.gpkg")
    (dup,) = _of(report, "duplicate_code")
    assert _codes(dup) == {frame.code.iloc[2]}
    assert [f["index"] for f in dup["features"]] == [2, 3]
    # Rows 9 and 10 keep their file's village_code, so their new codes no longer extend it.
    under = {p["feature"]["index"]: p for p in _of(report, "code_not_under_parent")}
    assert sorted(under) == [8, 9, 10]
    assert under[8]["feature"]["code"] == frame.code.iloc[8]
    assert under[8]["parent"] == "441226999999" and "does not extend" in under[8]["message"]
    assert any(p["feature"]["code"] == "441226999999001" for p in _of(report, "unknown_parent"))
    assert any(p["feature"]["code"] == "44122610" for p in _of(report, "bad_code"))


def test_wrong_type_empty_and_sliver(
    conn: Connection, county_grids: gpd.GeoDataFrame, tmp_path: Path
) -> None:
    frame = county_grids.copy()
    frame.loc[frame.index[1], "geometry"] = frame.geometry.iloc[1].boundary  # a line
    frame.loc[frame.index[2], "geometry"] = shapely.Polygon()
    x0, y0, _, _ = frame.geometry.iloc[30].bounds
    frame = gpd.GeoDataFrame(
        [*frame.to_dict("records")]
        + [
            {
                "code": frame.village_code.iloc[30] + "999",
                "name": "sliver",
                "village_code": frame.village_code.iloc[30],
                "geometry": shapely.box(x0, y0, x0 + 0.00005, y0 + 0.00005),
            }
        ],
        crs=4326,
    )
    report = _check(conn, frame, tmp_path / "types.csv")
    (wrong,) = _of(report, "wrong_geometry_type")
    assert wrong["feature"]["code"] == frame.code.iloc[1] and "LineString" in wrong["message"]
    (empty,) = _of(report, "empty_geometry")
    assert empty["feature"]["code"] == frame.code.iloc[2]
    sliver = [p for p in _of(report, "sliver") if p["feature"]["name"] == "sliver"]
    assert sliver and sliver[0]["area_m2"] < 100


def _gk_frame(frame: gpd.GeoDataFrame, epsg: int) -> gpd.GeoDataFrame:
    return frame.to_crs(epsg)


def test_gauss_kruger_shapefile_is_read_back_to_wgs84(
    conn: Connection, county_grids: gpd.GeoDataFrame, tmp_path: Path
) -> None:
    # Deqing (~112E) lies in CGCS2000 3-degree zone 37 (central meridian 111E): EPSG:4525.
    gk = county_grids.to_crs(4525)
    assert gk.total_bounds[0] > 37_000_000
    path = tmp_path / "gk.zip"
    write_grids(gk, "shp", path)
    raw = read_boundaries(path)
    plan = plan_import(conn, raw, "grid")
    report = plan.report()
    assert report["source"]["crs"] == "EPSG:4525" and report["errors"] == 0, report["problems"][:3]
    shift = shapely.hausdorff_distance(plan.geoms[7], county_grids.geometry.values[7])
    assert shift < 1e-6  # degrees: ~0.1 m after a projection round trip

    # The same shapefile without its .prj: the report names the zone from the x prefix.
    bare = tmp_path / "gk_noprj.zip"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(bare, "w") as dst:
        for n in src.namelist():
            if not n.endswith(".prj"):
                dst.writestr(n, src.read(n))
    report = plan_import(conn, read_boundaries(bare), "grid").report()
    (missing,) = _of(report, "crs_missing")
    assert "EPSG:4525" in missing["message"]
    # Told the wrong zone, the county does not fit and the features land elsewhere.
    report = plan_import(conn, read_boundaries(bare), "grid", crs="EPSG:4527").report()
    assert _of(report, "crs_does_not_fit_county") and _of(report, "outside_county")


def test_gcj02_file_is_converted_exactly_when_told(
    conn: Connection, county_grids: gpd.GeoDataFrame, tmp_path: Path
) -> None:
    gcj = county_grids.copy()
    gcj["geometry"] = shapely.transform(
        county_grids.geometry.values, lambda x, y: wgs84_to_gcj02(x, y), interleaved=False
    )
    path = tmp_path / "gcj.geojson"
    write_grids(gcj, "geojson", path)
    raw = read_boundaries(path)
    plan = plan_import(conn, raw, "grid", crs="gcj02")
    assert plan.errors == 0 and plan.source["crs"] == "GCJ-02", plan.report()["problem_counts"]
    worst = shapely.hausdorff_distance(plan.geoms, county_grids.geometry.values).max()
    assert worst < 2e-7  # the 7-decimal file precision, not a rough offset
    # Read as WGS84 the same file is ~500 m off: grids stick out of their villages.
    as_is = plan_import(conn, raw, "grid").report()
    assert len(_of(as_is, "not_inside_parent")) > 100


def test_commit_refuses_a_file_with_errors(
    conn: Connection, county_grids: gpd.GeoDataFrame, tmp_path: Path
) -> None:
    from gisgrid.boundaries.commit import commit_import

    frame = county_grids.drop(index=county_grids.index[0])
    path = tmp_path / "gap.gpkg"
    write_grids(frame, "gpkg", path)
    plan = plan_import(conn, read_boundaries(path), "grid")
    with pytest.raises(ImportRefused, match="gap"):
        commit_import(conn, plan)


def test_unreadable_inputs_are_named(conn: Connection, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text('code,wkt\n441226001001001,"POLYGON((1 2, 3"\n', encoding="utf-8")
    report = plan_import(conn, read_boundaries(bad), "grid").report()
    (p,) = _of(report, "unreadable_geometry")
    assert p["feature"]["code"] == "441226001001001"
    odd = tmp_path / "grids.kml"
    odd.write_text("<kml/>")
    with pytest.raises(Exception, match="unknown file type"):
        read_boundaries(odd)
    nocode = tmp_path / "nocode.geojson"
    pyogrio.write_dataframe(
        gpd.GeoDataFrame({"x": [1]}, geometry=[shapely.box(0, 0, 1, 1)], crs=4326), nocode
    )
    with pytest.raises(Exception, match="no code field"):
        read_boundaries(nocode)


def test_names_with_markup_are_refused(
    conn: Connection, county_grids: gpd.GeoDataFrame, tmp_path: Path
) -> None:
    # A name is shown in tooltips and lists: markup there is an attack, so the file is refused.
    broken = county_grids.copy()
    bad = {3: "<img src=x onerror=alert(1)>", 4: "网格&#60;script&#62;", 5: "ok\x07bell"}
    for i, name in bad.items():
        broken.iloc[i, broken.columns.get_loc("name")] = name
    report = _check(conn, broken, tmp_path / "grids.geojson")
    found = _of(report, "name_has_markup")
    assert {p["feature"]["code"] for p in found} == {str(broken["code"].iloc[i]) for i in bad}
    assert report["errors"] >= 3 and "<img" in found[0]["message"]
