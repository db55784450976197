"""gisgrid.datum: WGS84 <-> GCJ-02 <-> BD-09, vectorised."""

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import shapely
from pyproj import Geod

from gisgrid import datum
from gisgrid.errors import InvalidCoordinate

GEOD = Geod(ellps="WGS84")


@pytest.fixture(scope="module")
def china_points() -> tuple[np.ndarray, np.ndarray]:
    """5,000 random WGS84 points spread over mainland China's extent."""
    rng = np.random.default_rng(20231)
    return rng.uniform(73.5, 135.0, 5000), rng.uniform(18.0, 53.5, 5000)


def test_forward_matches_published_reference_values() -> None:
    # Reference values from an independent implementation (gcoord, its unit tests).
    assert datum.wgs84_to_gcj02(123.0, 45.0) == pytest.approx((123.00607541, 45.00197815), abs=1e-8)
    assert datum.wgs84_to_bd09(123.0, 45.0) == pytest.approx((123.0124491, 45.0083293), abs=1e-7)
    assert datum.gcj02_to_bd09(123.0, 45.0) == pytest.approx((123.00636499, 45.00636899), abs=1e-8)
    # gcoord's own inverse is approximate: it agrees to its stated 5 decimals.
    assert datum.gcj02_to_wgs84(123.0, 45.0) == pytest.approx((122.99395597, 44.99804071), abs=1e-6)


def _there_and_back(
    there: Callable[..., Any], back: Callable[..., Any], lon: np.ndarray, lat: np.ndarray
) -> tuple[np.ndarray, np.ndarray, float]:
    """The points after `there` then `back`, and the largest error in lon or lat (degrees)."""
    back_lon, back_lat = back(*there(lon, lat))
    return back_lon, back_lat, max(np.abs(back_lon - lon).max(), np.abs(back_lat - lat).max())


def test_wgs84_gcj02_round_trip(china_points: tuple[np.ndarray, np.ndarray]) -> None:
    *_, worst = _there_and_back(datum.wgs84_to_gcj02, datum.gcj02_to_wgs84, *china_points)
    assert worst < 1e-7


def test_gcj02_inverse_is_exact(china_points: tuple[np.ndarray, np.ndarray]) -> None:
    # Treat the points as GCJ-02: forward(inverse(g)) must give g back to the iteration tolerance.
    *_, worst = _there_and_back(datum.gcj02_to_wgs84, datum.wgs84_to_gcj02, *china_points)
    assert worst < 1e-9


def test_gcj02_shift_in_guangdong_is_hundreds_of_metres() -> None:
    rng = np.random.default_rng(1)
    lon, lat = rng.uniform(109.7, 117.2, 2000), rng.uniform(20.3, 25.5, 2000)
    glon, glat = datum.wgs84_to_gcj02(lon, lat)
    _, _, metres = GEOD.inv(lon, lat, glon, glat)
    # Measured here: 510-645 m over Guangdong's bounding box, ~600-620 m around Deqing.
    assert metres.min() > 300
    assert metres.max() < 700
    _, _, deqing = GEOD.inv(112.0, 23.3, *datum.wgs84_to_gcj02(112.0, 23.3))
    assert 550 < deqing < 650


def test_points_outside_china_are_unchanged() -> None:
    lon = np.array([2.35, -74.0, 139.69, 100.0, 105.0, 72.0])
    lat = np.array([48.85, 40.7, 35.69, 0.5, 56.0, 40.0])
    assert datum.out_of_china(lon, lat).all()
    for fn in (
        datum.wgs84_to_gcj02,
        datum.gcj02_to_wgs84,
        datum.gcj02_to_bd09,
        datum.bd09_to_gcj02,
        datum.bd09_to_wgs84,
        datum.wgs84_to_bd09,
    ):
        x, y = fn(lon, lat)
        np.testing.assert_array_equal(x, lon, err_msg=fn.__name__)
        np.testing.assert_array_equal(y, lat, err_msg=fn.__name__)


def test_out_of_china_mask() -> None:
    mask = datum.out_of_china([116.4, 112.0, 151.2, 72.0], [39.9, 23.3, -33.9, 30.0])
    np.testing.assert_array_equal(mask, [False, False, True, True])


def test_bd09_round_trip(china_points: tuple[np.ndarray, np.ndarray]) -> None:
    lon, lat = china_points
    back_lon, back_lat, worst = _there_and_back(datum.wgs84_to_bd09, datum.bd09_to_wgs84, lon, lat)
    # The closed-form BD-09 inverse is itself approximate: ~2e-6 degrees (~0.25 m) at worst.
    assert worst < 5e-6
    _, _, metres = GEOD.inv(lon, lat, back_lon, back_lat)
    assert metres.max() < 0.5


def test_shapes_are_preserved_and_scalars_accepted() -> None:
    lon = np.full((3, 4), 112.0) + np.arange(12).reshape(3, 4) * 0.01
    lat = np.full((3, 4), 23.3)
    for fn in (datum.wgs84_to_gcj02, datum.gcj02_to_wgs84, datum.bd09_to_wgs84):
        x, y = fn(lon, lat)
        assert x.shape == y.shape == (3, 4)
    # A scalar latitude broadcasts against an array of longitudes.
    x, y = datum.gcj02_to_wgs84(lon, 23.3)
    assert x.shape == y.shape == (3, 4)
    x0, y0 = datum.gcj02_to_wgs84(112.0, 23.3)
    assert np.ndim(x0) == 0 and isinstance(float(x0), float)
    assert (x0, y0) == (x[0, 0], y[0, 0])
    empty = datum.gcj02_to_wgs84(np.array([]), np.array([]))
    assert empty[0].shape == (0,)


def test_inputs_are_not_modified() -> None:
    lon, lat = np.array([112.0, 113.0]), np.array([23.3, 23.4])
    datum.gcj02_to_wgs84(lon, lat)
    np.testing.assert_array_equal(lon, [112.0, 113.0])
    np.testing.assert_array_equal(lat, [23.3, 23.4])


def test_nan_stays_nan_without_spoiling_the_rest() -> None:
    x, y = datum.gcj02_to_wgs84(np.array([np.nan, 112.0]), np.array([23.3, 23.3]))
    assert np.isnan(x[0]) and np.isfinite(x[1]) and np.isfinite(y[1])


@pytest.mark.parametrize("name", ["wgs84", "WGS84", "cgcs2000", "EPSG:4326", "epsg:4490"])
def test_to_wgs84_identity_datums(name: str) -> None:
    assert datum.to_wgs84(112.0, 23.3, name) == (112.0, 23.3)


def test_to_wgs84_dispatches_gcj02_and_bd09() -> None:
    glon, glat = datum.wgs84_to_gcj02(112.0, 23.3)
    assert datum.to_wgs84(glon, glat, "GCJ02") == pytest.approx((112.0, 23.3), abs=1e-9)
    blon, blat = datum.wgs84_to_bd09(112.0, 23.3)
    assert datum.to_wgs84(blon, blat, "bd09") == pytest.approx((112.0, 23.3), abs=5e-6)


def test_unknown_datum_names_the_value_and_the_choices() -> None:
    with pytest.raises(InvalidCoordinate) as err:
        datum.to_wgs84(112.0, 23.3, "mars")
    message = str(err.value)
    assert "'mars'" in message
    for accepted in ("wgs84", "cgcs2000", "epsg:4326", "epsg:4490", "gcj02", "bd09"):
        assert accepted in message


def test_transform_geometry_converts_every_vertex() -> None:
    square = shapely.box(112.0, 23.0, 112.1, 23.1)
    multi = shapely.MultiPolygon([square, shapely.box(112.2, 23.0, 112.3, 23.1)])
    for geom in (square, multi, shapely.LineString([(112.0, 23.0), (112.5, 23.5)])):
        moved = datum.transform_geometry(geom, datum.wgs84_to_gcj02)
        assert moved.geom_type == geom.geom_type
        expected = np.column_stack(datum.wgs84_to_gcj02(*shapely.get_coordinates(geom).T))
        np.testing.assert_array_equal(shapely.get_coordinates(moved), expected)
        back = datum.transform_geometry(moved, datum.gcj02_to_wgs84)
        assert shapely.equals_exact(back, geom, tolerance=1e-9)
