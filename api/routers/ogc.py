"""OGC API - Features (Part 1: Core, GeoJSON, OpenAPI 3.0) at /ogc, for QGIS, GDAL and ArcGIS."""

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from api.deps import ConnDep
from api.params import Offset
from gisgrid.divisions.units import parse_bbox
from gisgrid.mapdata import features

router = APIRouter(prefix="/ogc", tags=["OGC API - Features"])

GEOJSON = "application/geo+json"
JSON = "application/json"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
]


def _root(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/ogc"


def _link(href: str, rel: str, type_: str = JSON, title: str | None = None) -> dict[str, str]:
    link = {"href": href, "rel": rel, "type": type_}
    if title:
        link["title"] = title
    return link


@router.get("")
def landing(request: Request) -> dict[str, Any]:
    """Landing page: links to the API definition, conformance and collections."""
    root = _root(request)
    base = str(request.base_url).rstrip("/")
    return {
        "title": "gisgrid",
        "description": "Grids and administrative units of grid-based governance (网格化管理).",
        "links": [
            _link(root, "self"),
            _link(
                f"{base}/openapi.json",
                "service-desc",
                "application/vnd.oai.openapi+json;version=3.0",
            ),
            _link(f"{base}/docs", "service-doc", "text/html"),
            _link(f"{root}/conformance", "conformance"),
            _link(f"{root}/collections", "data"),
        ],
    }


@router.get("/conformance")
def conformance() -> dict[str, Any]:
    """The conformance classes implemented."""
    return {"conformsTo": CONFORMANCE}


def _collection(conn: ConnDep, request: Request, cid: str) -> dict[str, Any]:
    root = _root(request)
    title, description = features.COLLECTIONS[cid]
    return {
        "id": cid,
        "title": title,
        "description": description,
        "itemType": "feature",
        "crs": ["http://www.opengis.net/def/crs/OGC/1.3/CRS84"],
        "extent": features.collection_extent(conn, cid),
        "links": [
            _link(f"{root}/collections/{cid}", "self"),
            _link(f"{root}/collections/{cid}/items", "items", GEOJSON),
        ],
    }


@router.get("/collections")
def collections(conn: ConnDep, request: Request) -> dict[str, Any]:
    """The collections served: grids and administrative units."""
    root = _root(request)
    return {
        "links": [_link(f"{root}/collections", "self")],
        "collections": [_collection(conn, request, cid) for cid in features.COLLECTIONS],
    }


@router.get("/collections/{collection_id}")
def collection(conn: ConnDep, request: Request, collection_id: str) -> dict[str, Any]:
    """One collection's description and extent."""
    features.check_collection(collection_id)
    return _collection(conn, request, collection_id)


@router.get(
    "/collections/{collection_id}/items",
    response_class=JSONResponse,
    responses={200: {"content": {GEOJSON: {}}}},
)
def get_items(
    conn: ConnDep,
    request: Request,
    collection_id: str,
    bbox: Annotated[str | None, Query(description="minlon,minlat,maxlon,maxlat (CRS84)")] = None,
    limit: Annotated[int, Query(ge=1, description="page size (capped at 5000)")] = 100,
    offset: Offset = 0,
    datetime: Annotated[
        str | None, Query(description="instant or interval, e.g. 2024-06-01T00:00:00Z or a/..")
    ] = None,
    level: Annotated[str | None, Query(description="units only: county, town, village")] = None,
) -> JSONResponse:
    """A page of features as GeoJSON, with next/prev links."""
    page = features.items(
        conn,
        collection_id,
        bbox=parse_bbox(bbox) if bbox else None,
        limit=limit,
        offset=offset,
        datetime=datetime,
        level=level,
    )
    here = f"{_root(request)}/collections/{collection_id}/items"
    keep = {k: v for k, v in request.query_params.items() if k not in ("offset", "limit")}
    size = min(limit, features.MAX_LIMIT)

    def url(at: int) -> str:
        return f"{here}?{urlencode({**keep, 'limit': size, 'offset': at})}"

    links = [_link(url(offset), "self", GEOJSON)]
    if offset + page["numberReturned"] < page["numberMatched"]:
        links.append(_link(url(offset + size), "next", GEOJSON))
    if offset > 0:
        links.append(_link(url(max(0, offset - size)), "prev", GEOJSON))
    page["links"] = links
    return JSONResponse(page, media_type=GEOJSON)


@router.get(
    "/collections/{collection_id}/items/{feature_id}",
    response_class=JSONResponse,
    responses={200: {"content": {GEOJSON: {}}}},
)
def get_item(conn: ConnDep, request: Request, collection_id: str, feature_id: str) -> JSONResponse:
    """One feature as GeoJSON."""
    feature = features.item(conn, collection_id, feature_id)
    root = _root(request)
    feature["links"] = [
        _link(f"{root}/collections/{collection_id}/items/{feature_id}", "self", GEOJSON),
        _link(f"{root}/collections/{collection_id}", "collection"),
    ]
    return JSONResponse(feature, media_type=GEOJSON)
