"""Patrol track intake (巡逻轨迹): GPX, GeoJSON and offline batches of timed fixes, accepted once.

Fixes are keyed by (staff, t): a batch sent twice, in pieces or out of order is stored exactly
once. Before storing, impossible jumps (faster than max_speed_mps between neighbours, judged
together with fixes already stored around them) and fixes outside duty hours are dropped and
counted. A track is one staff member's fixes on one local day, tied to their grid.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from sqlalchemy import Connection

from gisgrid import sql
from gisgrid.errors import InvalidCoordinate, InvalidGeometry, InvalidTrack, NotFound

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
EARTH_R = 6_371_008.8


@dataclass(frozen=True)
class IntakeRules:
    """What counts as a plausible, on-duty fix."""

    max_speed_mps: float = 15.0  # on foot, bicycle or e-bike; a patrol car in town stays below
    duty_start_h: float = 6.0  # local time (Asia/Shanghai), inclusive
    duty_end_h: float = 22.0  # exclusive; duty_start_h == duty_end_h means all day
    neighbour_window_s: float = 600.0  # stored fixes this close are judged with the batch


# Numeric times are Unix epochs, as many phones send them: seconds (10 digits until 2286) or
# milliseconds (13 digits). Anything else numeric is refused: pandas would read 1795000000 as
# nanoseconds in 1970, and every fix would be dropped as off duty with a 200 (issue 13).
EPOCH_S = (1e9, 1e10)  # 10 digits: 2001-09-09 .. 2286-11-20
EPOCH_MS = (1e12, 1e13)  # 13 digits: the same span in milliseconds
_ZONED = re.compile(r"(?:Z|[+-]\d\d(?::?\d\d)?)$", re.IGNORECASE)
_NUMBER = re.compile(r"^\d+(\.\d+)?$")


def parse_times(values: list[Any], where: Callable[[int], str]) -> pd.Series:
    """UTC times of fixes: ISO 8601 (no zone = China time) or epoch seconds / milliseconds.

    Vectorised (a million fixes parse in seconds, not minutes); the first bad value is named
    with `where(i)`, its position, in an InvalidTrack.
    """
    raw = pd.Series(values, dtype=object)
    kinds = raw.map(type)
    odd = ~kinds.isin([str, int, float])  # None, booleans, lists, objects
    if odd.any():
        i = int(np.flatnonzero(odd.to_numpy())[0])
        raise InvalidTrack(f"{where(i)}: time {_short(values[i])} is not a time; {_TIME_HINT}")
    number = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
    is_text = kinds.eq(str).to_numpy() & np.isnan(number)
    ns = np.full(len(values), np.iinfo(np.int64).min, dtype=np.int64)  # NaT until parsed
    nums = np.flatnonzero(~is_text)
    if len(nums):
        val = number[nums]
        secs = (val >= EPOCH_S[0]) & (val < EPOCH_S[1])
        millis = (val >= EPOCH_MS[0]) & (val < EPOCH_MS[1])
        bad = ~(secs | millis)
        if bad.any():
            i = int(nums[np.flatnonzero(bad)[0]])
            raise InvalidTrack(
                f"{where(i)}: time {_short(values[i])} is a number but neither Unix epoch "
                "seconds (10 digits, e.g. 1717200000) nor milliseconds (13 digits, e.g. "
                f"1717200000000); {_TIME_HINT}"
            )
        ns[nums] = np.where(secs, val * 1e9, val * 1e6).round().astype(np.int64)
    texts = np.flatnonzero(is_text)
    if len(texts):
        strings = raw.iloc[texts].str.strip().reset_index(drop=True)
        zoned = strings.str.contains(_ZONED).to_numpy()
        for part, local in ((zoned, False), (~zoned, True)):
            if not part.any():
                continue
            chunk = strings[part]
            if local:  # phones without a zone send their local clock: China time
                parsed = pd.to_datetime(chunk, format="ISO8601", errors="coerce")
                if parsed.dt.tz is None:
                    parsed = parsed.dt.tz_localize(LOCAL_TZ, ambiguous="NaT", nonexistent="NaT")
            else:
                parsed = pd.to_datetime(chunk, format="ISO8601", utc=True, errors="coerce")
            missing = parsed.isna().to_numpy()
            if missing.any():
                i = int(texts[np.flatnonzero(part)[np.flatnonzero(missing)[0]]])
                raise InvalidTrack(
                    f"{where(i)}: time {_short(values[i])} is not ISO 8601; {_TIME_HINT}"
                )
            utc = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
            ns[texts[part]] = utc.to_numpy(dtype="datetime64[ns]").astype(np.int64)
    return pd.Series(pd.to_datetime(ns, unit="ns", utc=True))


_TIME_HINT = (
    "send ISO 8601 (2024-06-01T08:30:00+08:00; without a zone it is read as China time) or "
    "Unix epoch seconds or milliseconds"
)


def _short(value: Any, limit: int = 60) -> str:
    text_ = repr(value)
    return text_ if len(text_) <= limit else text_[:limit] + "..."


def _frame(rows: list[tuple[Any, Any, Any, Any, Any]], where: Callable[[int], str]) -> pd.DataFrame:
    times = parse_times([r[1] for r in rows], where)  # before pandas turns None into NaN
    frame = pd.DataFrame(rows, columns=["staff", "t", "lon", "lat", "accuracy_m"])
    frame["t"] = times
    return frame


def parse_gpx(data: bytes, staff: int | None) -> pd.DataFrame:
    """Fixes of every <trkpt>/<rtept>/<wpt> with a <time> in a GPX 1.0/1.1 file."""
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise InvalidTrack(f"GPX is not well-formed XML: {exc}") from exc
    if not root.tag.endswith("gpx"):
        raise InvalidTrack(f"expected a <gpx> document, got <{root.tag.split('}')[-1]}>")
    ns = root.tag[: root.tag.index("}") + 1] if root.tag.startswith("{") else ""
    rows, wheres = [], []
    for k, pt in enumerate(root.iter()):
        if pt.tag not in (f"{ns}trkpt", f"{ns}rtept", f"{ns}wpt"):
            continue
        where = f"GPX point {k} (<{pt.tag[len(ns) :]}>)"
        tm = pt.find(f"{ns}time")
        if tm is None or not (tm.text or "").strip():
            raise InvalidTrack(f"{where} has no <time>; coverage needs timed fixes")
        hdop = (pt.findtext(f"{ns}hdop") or "").strip()
        try:
            accuracy = float(hdop) * 5 if hdop else None
        except ValueError:
            raise InvalidTrack(f"{where}: <hdop>{_short(hdop)}</hdop> is not a number") from None
        rows.append((staff, (tm.text or "").strip(), pt.get("lon"), pt.get("lat"), accuracy))
        wheres.append(where)
    if not rows:
        raise InvalidTrack("GPX has no timed track points (<trkpt> with <time>)")
    return _frame(rows, wheres.__getitem__)


def parse_geojson(obj: dict[str, Any], staff: int | None) -> pd.DataFrame:
    """Fixes from Point features with a `t`/`time` property, or lines with `times` per vertex."""
    kind = obj.get("type")
    feats = obj.get("features") if kind == "FeatureCollection" else [obj]
    if not isinstance(feats, list):
        raise InvalidTrack("GeoJSON FeatureCollection has no `features` list")
    rows, wheres = [], []
    for i, f in enumerate(feats):
        if not isinstance(f, dict) or f.get("type") != "Feature":
            raise InvalidTrack(f"feature {i} is not a GeoJSON Feature")
        props = f.get("properties") or {}
        geom = f.get("geometry") or {}
        if not isinstance(props, dict) or not isinstance(geom, dict):
            raise InvalidTrack(f"feature {i}: properties and geometry must be JSON objects")
        who = props.get("staff", staff)
        if geom.get("type") == "Point":
            t = props.get("t", props.get("time"))
            if t is None:
                raise InvalidTrack(f"feature {i}: a Point fix needs a `t` (or `time`) property")
            c = geom.get("coordinates") or [None, None]
            if not isinstance(c, list) or len(c) < 2:
                raise InvalidGeometry(
                    f"feature {i}: Point coordinates {_short(c)} are not [lon, lat]"
                )
            rows.append((who, t, c[0], c[1], props.get("accuracy")))
            wheres.append(f"feature {i}")
        elif geom.get("type") in ("LineString", "MultiLineString"):
            coords = geom.get("coordinates")
            if not isinstance(coords, list) or not all(isinstance(c, list) for c in coords):
                raise InvalidGeometry(f"feature {i}: line coordinates are not a list of positions")
            if geom["type"] == "MultiLineString":
                coords = [c for part in coords for c in part]
            if not all(isinstance(c, list) and len(c) >= 2 for c in coords):
                raise InvalidGeometry(f"feature {i}: a vertex is not [lon, lat]")
            times = props.get("times") or props.get("coordTimes")
            if not isinstance(times, list) or len(times) != len(coords):
                got = len(times) if isinstance(times, list) else "none"
                raise InvalidTrack(
                    f"feature {i}: a line needs `properties.times` with one time per vertex "
                    f"({len(coords)} vertices, {got} times)"
                )
            rows.extend((who, t, c[0], c[1], None) for c, t in zip(coords, times, strict=True))
            wheres.extend(f"feature {i} vertex {j}" for j in range(len(coords)))
        else:
            raise InvalidGeometry(
                f"feature {i}: geometry type {geom.get('type')!r}; expected Point or LineString"
            )
    if not rows:
        raise InvalidTrack("GeoJSON has no fixes")
    return _frame(rows, wheres.__getitem__)


def parse_batch(obj: Any, staff: int | None = None) -> pd.DataFrame:
    """An offline batch: a list (or {"fixes": [...]}) of {staff, t, lon, lat[, accuracy]}."""
    items = obj.get("fixes") if isinstance(obj, dict) else obj
    if not isinstance(items, list) or not items:
        raise InvalidTrack('a batch is a non-empty JSON list of fixes, or {"fixes": [...]}')
    rows = []
    for i, f in enumerate(items):
        if not isinstance(f, dict):
            raise InvalidTrack(f"fix {i} is not an object with staff, t, lon, lat")
        missing = [k for k in ("t", "lon", "lat") if k not in f]
        if missing:
            raise InvalidTrack(f"fix {i} lacks {', '.join(missing)}")
        rows.append((f.get("staff", staff), f["t"], f["lon"], f["lat"], f.get("accuracy")))
    return _frame(rows, lambda i: f"fix {i}")


def parse_upload(data: bytes, content_type: str, staff: int | None) -> pd.DataFrame:
    """GPX, GeoJSON or a JSON batch, told apart by content type and content."""
    head = data.lstrip()[:200]
    if "xml" in content_type or "gpx" in content_type or head.startswith(b"<"):
        return parse_gpx(data, staff)
    try:
        obj = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidTrack(f"body is neither GPX nor JSON ({exc})") from exc
    if isinstance(obj, dict) and obj.get("type") in ("FeatureCollection", "Feature"):
        return parse_geojson(obj, staff)
    return parse_batch(obj, staff)


def _validate(conn: Connection, frame: pd.DataFrame) -> pd.DataFrame:
    """Coerce and check every fix before anything is written; name the first bad one."""
    if frame["staff"].isna().any():
        i = int(np.flatnonzero(frame["staff"].isna().to_numpy())[0])
        raise InvalidTrack(f"fix {i} has no staff id (give `staff` per fix or as a parameter)")
    for col in ("lon", "lat", "staff"):
        vals = pd.to_numeric(frame[col], errors="coerce")
        bad = vals.isna().to_numpy()
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InvalidCoordinate(f"fix {i}: {col}={frame[col].iloc[i]!r} is not a number")
        frame[col] = vals
    lon, lat = frame["lon"].to_numpy(float), frame["lat"].to_numpy(float)
    checks = (
        (~(np.isfinite(lon) & np.isfinite(lat)), "is not finite"),
        (np.abs(lat) > 90, "has lat outside [-90, 90]"),
        (np.abs(lon) > 180, "has lon outside [-180, 180]"),
    )
    for bad, what in checks:
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            swap = "; did you swap lon and lat?" if abs(lat[i]) > 90 >= abs(lon[i]) else ""
            raise InvalidCoordinate(
                f"fix {i}: lon={lon[i]}, lat={lat[i]} {what}{swap} ({int(bad.sum())} such fixes)"
            )
    frame["staff"] = frame["staff"].astype(np.int64)
    frame["t"] = pd.to_datetime(frame["t"], utc=True)
    frame["accuracy_m"] = pd.to_numeric(frame["accuracy_m"], errors="coerce")
    ids = sorted(int(s) for s in frame["staff"].unique())
    known = set(sql.execute(conn, "patrols/known_staff", ids=ids).scalars())
    unknown = [s for s in ids if s not in known]
    if unknown:
        raise NotFound(f"staff id(s) {unknown[:10]} do not exist")
    return frame


def _metres(lon1: np.ndarray, lat1: np.ndarray, lon2: np.ndarray, lat2: np.ndarray) -> np.ndarray:
    """Haversine distance in metres."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(lon2 - lon1)
    h = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_R * np.arcsin(np.sqrt(np.minimum(h, 1.0)))


def jump_mask(
    staff: np.ndarray,
    t: np.ndarray,
    lon: np.ndarray,
    lat: np.ndarray,
    vmax: float,
    fixed: np.ndarray | None = None,
) -> np.ndarray:
    """True for fixes that disagree with both neighbours at more than vmax (a GPS jump).

    Input sorted by (staff, t), t in seconds. A fix at either end of a staff member's run is
    judged against its two nearest neighbours on the one side it has. Fixes marked `fixed`
    (already stored) are never dropped but do act as neighbours. Repeated until stable, so a
    spike hiding behind another spike is found too.
    """
    n = len(t)
    alive = np.ones(n, dtype=bool)
    fixed = np.zeros(n, dtype=bool) if fixed is None else fixed
    for _ in range(20):
        idx = np.flatnonzero(alive)
        if len(idx) < 3:
            break
        s, tt, x, y = staff[idx], t[idx], lon[idx], lat[idx]

        def fast(
            i: np.ndarray, j: np.ndarray, s=s, tt=tt, x=x, y=y, m=idx.size
        ) -> tuple[np.ndarray, np.ndarray]:
            ok = (i >= 0) & (j < m) & (i < m) & (j >= 0)
            ii, jj = np.clip(i, 0, m - 1), np.clip(j, 0, m - 1)
            same = ok & (s[ii] == s[jj])
            d = _metres(x[ii], y[ii], x[jj], y[jj])
            dt_ = np.abs(tt[jj] - tt[ii])
            v = np.where(dt_ > 0, d / np.maximum(dt_, 1e-9), np.where(d > 0, np.inf, 0.0))
            return np.where(same, v > vmax, False), same

        k = np.arange(len(idx))
        f_prev, has_prev = fast(k - 1, k)
        f_next, has_next = fast(k, k + 1)
        f_prev2, has_prev2 = fast(k - 2, k)
        f_next2, has_next2 = fast(k, k + 2)
        middle = has_prev & has_next & f_prev & f_next
        first = ~has_prev & has_next & has_next2 & f_next & f_next2
        last = ~has_next & has_prev & has_prev2 & f_prev & f_prev2
        bad = (middle | first | last) & ~fixed[idx]
        if not bad.any():
            break
        alive[idx[bad]] = False
    return ~alive


def off_duty_mask(t: pd.Series, rules: IntakeRules) -> np.ndarray:
    """True for fixes outside duty hours (local time)."""
    if rules.duty_start_h == rules.duty_end_h:
        return np.zeros(len(t), dtype=bool)
    local = t.dt.tz_convert(LOCAL_TZ)
    h = (local.dt.hour + local.dt.minute / 60 + local.dt.second / 3600).to_numpy()
    if rules.duty_start_h < rules.duty_end_h:
        return ~((h >= rules.duty_start_h) & (h < rules.duty_end_h))
    return ~((h >= rules.duty_start_h) | (h < rules.duty_end_h))  # a night shift


def ingest_fixes(
    conn: Connection,
    frame: pd.DataFrame,
    source: str = "phone",
    rules: IntakeRules | None = None,
    progress: Callable[[str], None] | None = None,
    generated: bool = False,
) -> dict[str, Any]:
    """Validate, filter and store fixes exactly once; returns what was accepted and dropped.

    `generated` labels new tracks as GENERATED data (the demo county's patrol day).
    """
    rules = rules or IntakeRules()
    frame = _validate(conn, frame.reset_index(drop=True).copy())
    received = len(frame)
    frame = frame.sort_values(["staff", "t"], kind="stable")
    dup = frame.duplicated(["staff", "t"], keep="first").to_numpy()
    frame = frame[~dup].reset_index(drop=True)

    off = off_duty_mask(frame["t"], rules)
    frame_on = frame[~off].reset_index(drop=True)

    # Judge jumps together with what is already stored around the batch (offline batches
    # arrive out of order and in pieces).
    stored = pd.DataFrame(
        sql.execute(
            conn,
            "patrols/patrol_neighbours",
            staff=frame_on["staff"].unique().tolist(),
            t0=(frame_on["t"].min() - pd.Timedelta(seconds=rules.neighbour_window_s))
            if len(frame_on)
            else dt.datetime.now(dt.UTC),
            t1=(frame_on["t"].max() + pd.Timedelta(seconds=rules.neighbour_window_s))
            if len(frame_on)
            else dt.datetime.now(dt.UTC),
        ).all(),
        columns=["staff", "t", "lon", "lat"],
    )
    stored["t"] = pd.to_datetime(stored["t"], utc=True)
    stored["fixed"] = True
    both = pd.concat(
        [frame_on.assign(fixed=False, row=np.arange(len(frame_on))), stored.assign(row=-1)],
        ignore_index=True,
    )
    # A resubmitted fix is its stored twin: keep the stored one only.
    both = both.sort_values(["staff", "t", "fixed"], ascending=[True, True, False])
    both = both[~both.duplicated(["staff", "t"], keep="first")].reset_index(drop=True)
    secs = (both["t"] - pd.Timestamp("2000-01-01", tz="UTC")).dt.total_seconds().to_numpy()
    jumps = jump_mask(
        both["staff"].to_numpy(),
        secs,
        both["lon"].to_numpy(float),
        both["lat"].to_numpy(float),
        rules.max_speed_mps,
        both["fixed"].to_numpy(bool),
    )
    new = both[~both["fixed"].to_numpy(bool)]
    new_jump = jumps[~both["fixed"].to_numpy(bool)]
    keep = new[~new_jump].drop(columns=["fixed", "row"])
    n_jump = int(new_jump.sum())

    inserted = 0
    tracks: list[int] = []
    if len(keep):
        keep = keep.assign(day=keep["t"].dt.tz_convert(LOCAL_TZ).dt.date)
        days = keep.groupby(["staff", "day"], as_index=False).agg(t0=("t", "min"), t1=("t", "max"))
        track_rows = sql.execute(
            conn,
            "patrols/patrol_tracks_upsert",
            staff=days["staff"].tolist(),
            day=days["day"].tolist(),
            t0=days["t0"].dt.to_pydatetime().tolist(),
            t1=days["t1"].dt.to_pydatetime().tolist(),
            source=source,
            generated=generated,
        ).all()
        track_of = pd.DataFrame(track_rows, columns=["staff", "day", "track_id"])
        tracks = sorted(int(i) for i in track_of["track_id"])
        keep = keep.merge(track_of, on=["staff", "day"], how="left")
        inserted = _insert(conn, keep)
        if progress:
            progress(f"stored {inserted:,} fixes in {len(tracks)} track(s)")
    already = len(keep) - inserted
    return {
        "received": received,
        "accepted": inserted,
        "duplicates": int(dup.sum()) + already + (len(frame_on) - len(new)),
        "dropped_jump": n_jump,
        "dropped_off_duty": int(off.sum()),
        "tracks": tracks,
        "rules": {
            "max_speed_mps": rules.max_speed_mps,
            "duty_hours_local": [rules.duty_start_h, rules.duty_end_h],
            "timezone": str(LOCAL_TZ),
        },
    }


def _insert(conn: Connection, keep: pd.DataFrame) -> int:
    """COPY into a scratch table, then insert what is not there yet (exactly once)."""
    sql.execute(conn, "patrols/create_fix_in")
    sql.execute(conn, "patrols/truncate_fix_in")
    sql.copy_frame(
        conn,
        "fix_in",
        pd.DataFrame(
            {
                "track_id": keep["track_id"],
                "staff_id": keep["staff"],
                "t": keep["t"],
                "accuracy_m": keep["accuracy_m"],
                "lon": keep["lon"],
                "lat": keep["lat"],
            }
        ),
    )
    return int(sql.execute(conn, "patrols/patrol_fix_insert").rowcount)
