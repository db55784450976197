"""The basemap the service draws itself (底图): vector tiles from data it holds, labels in Chinese.

Roads come from `road_segment` (what patrols are measured on: imported, or the demo county's
GENERATED network); water, waterways, green areas, buildings, roads for the picture and place
names from an OpenStreetMap extract the user supplies (`gisgrid basemap import region.osm.pbf
--county C`, read with pyrosm) into `basemap_feature`; county, town and village outlines and
names from `admin_unit`. A county with OSM roads in `basemap_feature` draws those; one without
draws its `road_segment` network.

Tiles are one Mapbox vector tile per z/x/y with layers `water`, `green`, `waterway`,
`buildings`, `roads`, `boundaries` (ST_AsMVT). They change only when data is imported, so they
are cached by a basemap version (`version()`) that the page puts in the tile URL. Place names
are not in the tiles (Leaflet.VectorGrid draws no text): `labels()` gives the page the names
of a view with the zoom each one appears at, and the page draws and thins them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Connection, Engine

from gisgrid import sql
from gisgrid.divisions import unit_code
from gisgrid.errors import DataSourceError, NotFound
from gisgrid.mapdata.tiles import TileCache, check_tile

KINDS = ("water", "waterway", "green", "building", "road", "place")
LAYERS = ("water", "green", "waterway", "buildings", "roads", "boundaries")
MAX_ZOOM = 16  # pages over-zoom from here: a z16 tile is ~600 m across, finer adds nothing
MAX_LABELS = 4000

# What an OSM tag value becomes in the basemap: (kind, class) by (key, value).
WATER = {
    ("natural", "water"),
    ("natural", "bay"),
    ("landuse", "reservoir"),
    ("landuse", "basin"),
    ("landuse", "pond"),
    ("waterway", "riverbank"),
    ("water", "river"),
    ("water", "lake"),
    ("water", "reservoir"),
    ("water", "pond"),
}
WATERWAYS = ("river", "stream", "canal", "drain", "ditch")
GREEN = {
    ("landuse", "forest"): "forest",
    ("natural", "wood"): "forest",
    ("landuse", "grass"): "grass",
    ("landuse", "meadow"): "grass",
    ("natural", "scrub"): "grass",
    ("natural", "heath"): "grass",
    ("landuse", "orchard"): "orchard",
    ("landuse", "village_green"): "park",
    ("leisure", "park"): "park",
}
# Ways of the OSM network that are not drawn (inside buildings, or not a way at all).
ROAD_SKIP = {"corridor", "elevator", "platform", "steps", "bus_stop", "proposed", "construction"}
PLACES = (
    "city",
    "town",
    "village",
    "hamlet",
    "suburb",
    "quarter",
    "neighbourhood",
    "locality",
    "isolated_dwelling",
)
# The zoom at which a place name appears, by what it is (smaller places later).
LABEL_ZOOM = {
    "county": 7,
    "town": 10,
    "village": 12,
    "city": 8,
    "suburb": 12,
    "quarter": 13,
    "neighbourhood": 14,
    "hamlet": 14,
    "locality": 15,
    "isolated_dwelling": 16,
    "water": 13,
    "grid": 15,
}


def _county(conn: Connection, county: str) -> tuple[str, shapely.Geometry]:
    code = unit_code(county)
    row = sql.first(conn, "mapdata/basemap_county", code=code)
    if row is None or row["geom"] is None:
        raise NotFound(f"no county with code {code} and an outline is loaded (asked {county!r})")
    return code, shapely.from_wkb(bytes(row["geom"]))


def _names(frame: pd.DataFrame) -> pd.Series:
    """The name people here read: name:zh-Hans, name:zh, else name (from the tags if needed)."""

    def pick(tags: Any, plain: Any) -> Any:
        found = None
        if isinstance(tags, str) and tags:
            try:
                t = json.loads(tags)
            except ValueError:
                t = {}
            found = t.get("name:zh-Hans") or t.get("name:zh") or t.get("name")
        if found is None and isinstance(plain, str) and plain:
            found = plain
        return found

    tags = frame["tags"] if "tags" in frame else pd.Series([None] * len(frame), index=frame.index)
    plain = frame["name"] if "name" in frame else pd.Series([None] * len(frame), index=frame.index)
    return pd.Series([pick(t, n) for t, n in zip(tags, plain, strict=True)], index=frame.index)


def _frame(kind: str, cls: Any, frame: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame:
    if frame is None or len(frame) == 0:
        return gpd.GeoDataFrame(
            {"kind": [], "class": [], "name": [], "source_id": []}, geometry=[], crs="EPSG:4326"
        )
    ids = frame.get("osm_type", pd.Series("way", index=frame.index)).astype(str)
    return gpd.GeoDataFrame(
        {
            "kind": kind,
            "class": cls,
            "name": _names(frame),
            "source_id": "osm:" + ids + "/" + frame["id"].astype(str),
        },
        geometry=frame.geometry.values,
        crs="EPSG:4326",
    )


def _tag_class(frame: gpd.GeoDataFrame, pairs: dict[tuple[str, str], str]) -> pd.Series:
    out = pd.Series([None] * len(frame), index=frame.index, dtype=object)
    for (key, value), cls in pairs.items():
        if key in frame:
            out = out.where(~((frame[key] == value) & out.isna()), cls)
    return out


def read_osm(path: Path, bbox: tuple[float, float, float, float] | None = None) -> gpd.GeoDataFrame:
    """Basemap features of an OSM PBF extract (inside a lon/lat box), one frame for all kinds."""
    path = Path(path)
    if not path.exists():
        raise DataSourceError(f"OpenStreetMap extract {path} does not exist")
    if not path.name.endswith(".pbf"):
        raise DataSourceError(f"{path} is not an OpenStreetMap .osm.pbf extract")
    import pyrosm

    try:
        osm = pyrosm.OSM(str(path), bounding_box=list(bbox) if bbox else None)
    except Exception as exc:  # pyrosm raises plain exceptions for unreadable files
        raise DataSourceError(f"cannot read {path} as OpenStreetMap PBF: {exc}") from exc
    parts = []
    # Water areas and green areas: natural=*, landuse=*, leisure=park, waterway=riverbank.
    areas = osm.get_data_by_custom_criteria(
        custom_filter={
            "natural": ["water", "bay", "wood", "scrub", "heath"],
            "landuse": ["reservoir", "basin", "pond", "forest", "grass", "meadow", "orchard"]
            + ["village_green"],
            "leisure": ["park"],
            "waterway": ["riverbank"],
        },
        keep_nodes=False,
    )
    if areas is not None and len(areas):
        areas = areas[areas.geom_type.isin(["Polygon", "MultiPolygon"])]
        is_water = pd.Series(False, index=areas.index)
        for key, value in WATER:
            if key in areas:
                is_water |= areas[key] == value
        parts.append(_frame("water", "water", areas[is_water]))
        green = areas[~is_water]
        parts.append(_frame("green", _tag_class(green, GREEN), green))
    ways = osm.get_data_by_custom_criteria(
        custom_filter={"waterway": list(WATERWAYS)}, keep_nodes=False, keep_relations=False
    )
    if ways is not None and len(ways):
        ways = ways[ways.geom_type.isin(["LineString", "MultiLineString"])]
        parts.append(_frame("waterway", ways["waterway"], ways))
    buildings = osm.get_buildings()
    if buildings is not None and len(buildings):
        parts.append(_frame("building", "building", buildings))
    roads = osm.get_network(network_type="all")
    if roads is not None and len(roads):
        roads = roads[~roads["highway"].isin(ROAD_SKIP)]
        parts.append(_frame("road", roads["highway"], roads))
    places = osm.get_data_by_custom_criteria(custom_filter={"place": list(PLACES)})
    if places is not None and len(places):
        places = places.copy()
        places["geometry"] = shapely.point_on_surface(np.asarray(places.geometry.values))
        parts.append(_frame("place", places["place"], places))
    out = pd.concat(parts, ignore_index=True) if parts else _frame("water", None, None)
    return gpd.GeoDataFrame(out, geometry="geometry", crs="EPSG:4326")


def import_osm(
    conn: Connection,
    county: str,
    path: Path,
    *,
    commit: bool = False,
    progress: Callable[[str], None] = print,
    frame: gpd.GeoDataFrame | None = None,
) -> dict[str, Any]:
    """Check an OSM extract against a county and, with commit=True, make it that county's
    basemap (replacing an earlier import, all or nothing). A dry run unless told to commit.

    `frame` is what `read_osm` returned for the file, when the caller has read it already.
    """
    code, outline = _county(conn, county)
    # A margin beyond the outline: the map shows what lies just across the county line.
    area = shapely.buffer(outline, 0.02)
    if frame is None:
        progress(f"reading {path} inside county {code}'s box")
        box = tuple(shapely.bounds(area).tolist())
        frame = read_osm(Path(path), box)  # type: ignore[arg-type]
    problems = []
    present = ~(frame.geometry.isna() | frame.geometry.is_empty)
    if not present.all():
        problems.append(f"{int((~present).sum())} feature(s) without geometry dropped")
    frame = frame[present.to_numpy()].reset_index(drop=True)
    geoms = np.asarray(frame.geometry.values)
    invalid = ~shapely.is_valid(geoms)
    if invalid.any():
        # A basemap is a picture: repair what OSM mappers left broken rather than refuse it.
        geoms = geoms.copy()
        geoms[invalid] = shapely.make_valid(geoms[invalid])
        problems.append(
            f"{int(invalid.sum())} invalid polygon(s) repaired with make_valid, e.g. "
            + ", ".join(frame["source_id"][invalid].head(5))
        )
    keep = shapely.intersects(geoms, area)
    kept = frame[keep].copy()
    kept["geometry"] = geoms[keep]
    counts = {k: int((kept["kind"] == k).sum()) for k in KINDS}
    if not len(kept):
        minx, miny, maxx, maxy = (round(v, 3) for v in shapely.bounds(outline).tolist())
        raise DataSourceError(
            f"{path} holds no water, roads, buildings or places inside county {code} "
            f"(lon {minx}..{maxx}, lat {miny}..{maxy}); is the extract for another region?"
        )
    summary: dict[str, Any] = {
        "county": code,
        "source": str(path),
        "features": counts,
        "named_places": int(((kept["kind"] == "place") & kept["name"].notna()).sum()),
        "problems": problems,
        "committed": commit,
    }
    if commit:
        removed = sql.execute(conn, "mapdata/basemap_forget", county=code, source="osm").rowcount
        out = pd.DataFrame(
            {
                "county_code": code,
                "kind": kept["kind"].to_numpy(),
                "class": kept["class"].to_numpy(),
                "name": kept["name"].to_numpy(),
                "source": "osm",
                "source_id": kept["source_id"].to_numpy(),
                "generated": False,
                "geom": shapely.to_wkb(
                    shapely.set_srid(np.asarray(kept.geometry.values), 4326),
                    hex=True,
                    include_srid=True,
                ),
            }
        )
        sql.copy_frame(conn, "basemap_feature", out)
        summary["replaced"] = int(removed or 0)
        progress(f"stored {len(out):,} basemap features for {code}")
    return summary


def version(conn: Connection) -> str:
    """A stamp that changes whenever what the basemap draws changes (imports, roads, units)."""
    row = sql.first(conn, "mapdata/basemap_version")
    assert row is not None
    return f"{row['features']}.{row['roads']}.{row['units']}"


def pixel_degrees(z: int) -> float:
    """One screen pixel (of a 256-pixel tile) at zoom z, in degrees of longitude."""
    return 360.0 / (256 * 2**z)


def get_tile(conn: Connection, z: int, x: int, y: int) -> bytes:
    """One basemap tile (layers water, green, waterway, buildings, roads, boundaries)."""
    check_tile("grids", z, x, y)
    data = sql.scalar(conn, "mapdata/basemap_tile", z=z, x=x, y=y, pixel=pixel_degrees(z))
    return bytes(data) if data else b""


def cached_tile(cache: TileCache, stamp: str, z: int, x: int, y: int) -> bytes | None:
    """A basemap tile of one version from the cache, or None."""
    return cache.get(("basemap", stamp, z, x, y))


def build_tile(engine: Engine, cache: TileCache, stamp: str, z: int, x: int, y: int) -> bytes:
    """A basemap tile on a connection of its own, kept in `cache` under its version."""
    with engine.connect() as conn:
        data = get_tile(conn, z, x, y)
    cache.put(("basemap", stamp, z, x, y), data)
    return data


def labels(
    conn: Connection, bbox: tuple[float, float, float, float], limit: int = MAX_LABELS
) -> list[dict[str, Any]]:
    """Names to write on the map in a box: [{n: name, x, y, k: what it is, z: from zoom}].

    Counties, towns and villages from the units (real names in the demo county), current grids
    (from zoom 15), named OSM places and water. Most important first (lowest zoom), so a cut
    keeps the big names.
    """
    minx, miny, maxx, maxy = bbox
    rows = sql.rows(
        conn,
        "mapdata/basemap_labels",
        minx=minx,
        miny=miny,
        maxx=maxx,
        maxy=maxy,
        zooms=json.dumps(LABEL_ZOOM),
        limit=limit,
    )
    return [
        {
            "n": r["name"],
            "x": round(r["lon"], 6),
            "y": round(r["lat"], 6),
            "k": r["kind"],
            "z": r["min_zoom"],
        }
        for r in rows
    ]


def describe(conn: Connection, county: str) -> dict[str, Any]:
    """What a county's basemap is drawn from: OSM feature counts, road source, generated or not."""
    code = unit_code(county)
    row = sql.first(conn, "mapdata/basemap_sources", county=code)
    assert row is not None
    return {
        "county": code,
        "osm_features": int(row["osm_features"]),
        "osm_roads": int(row["osm_roads"]),
        "network_roads": int(row["network_roads"]),
        "roads_generated": bool(row["roads_generated"]),
    }


def sources_in(conn: Connection, bbox: tuple[float, float, float, float]) -> dict[str, bool]:
    """For the attribution line: whether the counties in a box draw OSM data, generated roads."""
    minx, miny, maxx, maxy = bbox
    rows = sql.rows(
        conn, "mapdata/basemap_sources_in_box", minx=minx, miny=miny, maxx=maxx, maxy=maxy
    )
    return {
        "osm": any(r["osm"] for r in rows),
        "generated_roads": any(r["roads_generated"] for r in rows),
    }
