"""GeoJSON from statement rows: the one shape of a Feature the core's layers and pages send."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def row_feature(
    row: Mapping[Any, Any], id: str, columns: Iterable[str] = (), **properties: Any
) -> dict[str, Any]:
    """A Feature from a row with a GeoJSON `geometry`: its id from column `id`, `columns` as is."""
    return {
        "type": "Feature",
        "id": row[id],
        "geometry": row["geometry"],
        "properties": {c: row[c] for c in columns} | properties,
    }
