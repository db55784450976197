"""What next: a suggested walk through a worker's unvisited key places and overdue households.

Stops are snapped to the road network of the worker's grid(s); pgRouting gives the road
distance between every pair (pgr_dijkstraCostMatrix), a nearest-next order is taken from the
worker's position (small stop counts: a greedy order is within a few percent of optimal and
always defined, unlike pgr_TSP on a partly disconnected network), and pgr_dijkstra draws the
legs along the roads.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from typing import Any

import numpy as np
from sqlalchemy import Connection

from gisgrid import sql
from gisgrid.access import REGISTER_READERS, Principal
from gisgrid.divisions import check_lon_lat
from gisgrid.errors import NotFound

# pgRouting reads the network by SQL text: the statement is passed as a parameter.
EDGES_SQL = sql.load("patrols/route_network")


def suggest_route(
    conn: Connection,
    staff_id: int,
    at: dt.datetime | None = None,
    lookback_days: float = 7.0,
    max_stops: int = 10,
) -> dict[str, Any]:
    """The suggested route for one worker as GeoJSON: ordered stops and the road legs."""
    at = at or dt.datetime.now(dt.UTC)
    since = at - dt.timedelta(days=lookback_days)
    start = sql.execute(conn, "patrols/route_start", staff=staff_id, at=at).first()
    if start is None:
        raise NotFound(f"staff {staff_id} has no current grid assignment (or does not exist)")
    dy = 1.01 / 111_320.0
    dx = dy / math.cos(math.radians(abs(start.lat)))
    targets = sql.execute(
        conn,
        "patrols/route_targets",
        staff=staff_id,
        since=since,
        at=at,
        dx=dx,
        dy=dy,
        limit=max_stops,
    ).all()
    sql.execute(conn, "patrols/create_route_edges")
    sql.execute(conn, "patrols/truncate_route_edges")
    n_edges = sql.execute(conn, "patrols/route_edges", staff=staff_id, margin=0.01).rowcount
    base = {
        "staff_id": staff_id,
        "at": at.isoformat(),
        "lookback_days": lookback_days,
        "start": {"lon": start.lon, "lat": start.lat, "from": start.source},
    }
    if not targets or not n_edges:
        why = "nothing is overdue" if not targets else "no roads around the grid"
        return {
            **base,
            "type": "FeatureCollection",
            "features": [],
            "note": why,
            "length_m": 0.0,
            "unreachable": [],
        }
    sql.execute(conn, "patrols/index_route_edges")
    lons = [start.lon] + [t.lon for t in targets]
    lats = [start.lat] + [t.lat for t in targets]
    snap = sql.execute(conn, "patrols/route_snap", lons=lons, lats=lats).all()
    nodes = [int(s.node) for s in snap]
    uniq = sorted(set(nodes))
    matrix = sql.execute(conn, "patrols/route_cost_matrix", edges=EDGES_SQL, nodes=uniq).all()
    pos = {v: i for i, v in enumerate(uniq)}
    cost = np.full((len(uniq), len(uniq)), np.inf)
    np.fill_diagonal(cost, 0.0)
    for m in matrix:
        cost[pos[m.start_vid], pos[m.end_vid]] = m.agg_cost
    # Nearest-next order from the start over the stops' nodes.
    order: list[int] = []
    left = set(range(1, len(nodes)))
    here = pos[nodes[0]]
    while left:
        nxt = min(left, key=lambda i: (cost[here, pos[nodes[i]]], i))
        if not math.isfinite(cost[here, pos[nodes[nxt]]]):
            break
        order.append(nxt)
        left.remove(nxt)
        here = pos[nodes[nxt]]
    legs = [(nodes[0], nodes[order[0]])] if order else []
    legs += [(nodes[order[k]], nodes[order[k + 1]]) for k in range(len(order) - 1)]
    legs = [(s, e) for s, e in legs if s != e]
    path = None
    length = 0.0
    if legs:
        row = (
            sql.execute(
                conn,
                "patrols/route_path",
                s=[s for s, _ in legs],
                e=[e for _, e in legs],
                k=list(range(len(legs))),
                edges=EDGES_SQL,
            ).first()
            if _legs_table(conn, legs)
            else None
        )
        if row is not None and row.g:
            path, length = json.loads(row.g), float(row.length_m or 0.0)
    features: list[dict[str, Any]] = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [start.lon, start.lat]},
            "properties": {"stop": 0, "kind": "start", "from": start.source},
        }
    ]
    for k, i in enumerate(order, start=1):
        t = targets[i - 1]
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [t.lon, t.lat]},
                "properties": {
                    "stop": k,
                    "kind": t.kind,
                    "id": t.id,
                    "label": t.label,
                    "snap_m": round(float(snap[i].dist_m), 1),
                },
            }
        )
    if path:
        features.append({"type": "Feature", "geometry": path, "properties": {"kind": "route"}})
    unreachable = [{"kind": targets[i - 1].kind, "id": targets[i - 1].id} for i in sorted(left)]
    return {
        **base,
        "type": "FeatureCollection",
        "features": features,
        "length_m": round(length, 1),
        "unreachable": unreachable,
    }


def _legs_table(conn: Connection, legs: list[tuple[int, int]]) -> bool:
    """Legs go to pgr_dijkstra as a combinations table (one call for all legs)."""
    sql.execute(conn, "patrols/create_route_legs")
    sql.execute(conn, "patrols/truncate_route_legs")
    sql.execute(conn, "patrols/insert_route_legs", s=[s for s, _ in legs], e=[e for _, e in legs])
    return True


# How far from a road a point may be and still be routed along it; beyond, the way is straight.
SNAP_MAX_M = 300.0
WAY_MARGIN_DEG = 0.01  # ~1 km around the two points


def way_to(
    conn: Connection, who: Principal, lon1: float, lat1: float, lon2: float, lat2: float
) -> dict[str, Any]:
    """带我去: the way from a worker's position to a place along the patrol roads.

    A GeoJSON Feature: the road path with a straight piece at each end from the points to the
    network, its length in metres; `along_roads` false (a straight line) when either point is
    far from any road or the two are not connected.
    """
    who.require(REGISTER_READERS, "finding the way along the roads")
    for lon, lat in ((lon1, lat1), (lon2, lat2)):
        check_lon_lat(lon, lat)
    straight = _metres(lon1, lat1, lon2, lat2)
    result: dict[str, Any] = {
        "type": "Feature",
        "geometry": {"type": "LineString", "coordinates": [[lon1, lat1], [lon2, lat2]]},
        "properties": {"length_m": round(straight, 1), "straight_m": round(straight, 1)},
    }
    sql.execute(conn, "patrols/create_route_edges")
    sql.execute(conn, "patrols/truncate_route_edges")
    n = sql.execute(
        conn,
        "patrols/route_edges_box",
        lon1=lon1,
        lat1=lat1,
        lon2=lon2,
        lat2=lat2,
        margin=WAY_MARGIN_DEG,
    ).rowcount
    snap = (
        sql.execute(conn, "patrols/route_snap", lons=[lon1, lon2], lats=[lat1, lat2]).all()
        if n
        else []
    )
    # Far from any road, or nearer to each other than to the roads: go straight.
    if (
        len(snap) != 2
        or any(s.dist_m > SNAP_MAX_M for s in snap)
        or straight <= float(snap[0].dist_m) + float(snap[1].dist_m)
    ):
        return result | {"properties": result["properties"] | {"along_roads": False}}
    if snap[0].node == snap[1].node:
        path, length = None, 0.0
    else:
        row = sql.first(
            conn, "patrols/way_path", edges=EDGES_SQL, source=snap[0].node, target=snap[1].node
        )
        if row is None or row["g"] is None:
            return result | {"properties": result["properties"] | {"along_roads": False}}
        path, length = json.loads(row["g"]), float(row["length_m"] or 0.0)
    coords: list[list[float]] = [[lon1, lat1]]
    if path is not None:
        lines = [path["coordinates"]] if path["type"] == "LineString" else path["coordinates"]
        ordered = _chain(lines, coords[0])
        coords += ordered
    coords.append([lon2, lat2])
    ends = float(snap[0].dist_m) + float(snap[1].dist_m)
    return {
        "type": "Feature",
        "geometry": {"type": "LineString", "coordinates": coords},
        "properties": {
            "length_m": round(length + ends, 1),
            "straight_m": round(straight, 1),
            "along_roads": True,
        },
    }


def _metres(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance in metres (haversine; ample for a walk across a grid)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6_371_008.8 * math.asin(math.sqrt(min(1.0, a)))


def _chain(lines: list[list[list[float]]], start: list[float]) -> list[list[float]]:
    """The pieces of a path as one walk from `start`: each piece turned to follow the last."""
    out: list[list[float]] = []
    here = start
    left = [list(line) for line in lines]
    while left:
        best = min(
            range(len(left)),
            key=lambda i: min(_metres(*here, *left[i][0]), _metres(*here, *left[i][-1])),
        )
        line = left.pop(best)
        if _metres(*here, *line[-1]) < _metres(*here, *line[0]):
            line = line[::-1]
        out += line
        here = line[-1]
    return out
