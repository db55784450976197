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
