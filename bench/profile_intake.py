"""Where the worker's CPU per report goes, per layer: `gisgrid serve` under the intake bench's
load (wrk, 4 connections, the same requests and lifted limits as bench_intake), sampled by
py-spy (`--gil --nonblocking`: blocking mode stops the worker at each sample and inflated its
CPU ~8x), each sample given to its innermost recognised frame.

    .venv/bin/python -m bench.profile_intake [SECONDS] [PEER_ROOT]

PEER_ROOT: a copy of another tree (`git archive main | tar -x -C DIR`) served the same way
right before this one (through PYTHONPATH), so the two tables are a pair from the same minutes.
Not run by `./run bench` (its figures are shares of noisy samples, not a benchmark row).
"""

from __future__ import annotations

import collections
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

from bench import bench_intake
from bench.common import (
    BIN,
    cpu_seconds,
    delete_key_reports,
    demo_engine,
    load,
    postgres_cpu_seconds,
    serve_gisgrid,
    wrk,
)
from gisgrid.settings import Settings

# Innermost first: a sample belongs to the first of these its innermost frames match.
LAYERS = [
    ("driver (psycopg, pool)", ("psycopg/", "psycopg_pool/", "psycopg_binary")),
    ("intake core + GroupCommit", ("gisgrid/reports/", "gisgrid/datum", "gisgrid/access/")),
    ("front door", ("api/front.py", "api/capacity.py", "api/access_log.py", "api/inputs.py")),
    ("limits + who is calling", ("api/security.py", "api/deps.py")),
    ("framework (FastAPI, Starlette)", ("starlette/", "fastapi/", "anyio/", "multipart/")),
    ("route + render", ("api/",)),
    # The last Python frame before control goes back to uvloop: its C work and the kernel's
    # are sampled there.
    ("uvicorn + the loop's C work", ("uvicorn/", "httptools", "gisgrid/serving.py")),
]
OTHER = "event loop, other"


def layer(stack: str) -> str:
    """The layer of one collapsed py-spy stack (frames `name (path:line)` joined by `;`)."""
    for frame in reversed(stack.split(";")):
        m = re.search(r"\(([^)]*)\)", frame)
        path = m.group(1) if m else frame
        for name, patterns in LAYERS:
            if any(p in path for p in patterns):
                return name
    return OTHER


def profile(seconds: int, peer_root: str | None) -> dict[str, float]:
    """One fresh server under load: its CPU per report and each layer's share of it."""
    settings = Settings()
    engine = demo_engine(settings.demo_county, settings)
    name, key, pts, lua = bench_intake.client(engine)
    saved = os.environ.get("PYTHONPATH")
    if peer_root:
        os.environ["PYTHONPATH"] = peer_root
    raw = Path(f"/tmp/profile-intake-{uuid.uuid4().hex[:8]}.txt")
    try:
        with serve_gisgrid(engine, bench_intake.DIFFERS) as s:
            bench_intake._check_one(s.base, key, pts[0])
            wrk(s.base, lua, bench_intake.CONNECTIONS, bench_intake.WARM_UP_S)
            worker, pg = cpu_seconds(s.proc.pid), postgres_cpu_seconds(settings)
            spy = subprocess.Popen(
                [str(BIN / "py-spy"), "record", "--gil", "--nonblocking", "-r", "1000",
                 "-d", str(seconds), "-f", "raw", "-o", str(raw), "-p", str(s.proc.pid)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            r = wrk(s.base, lua, bench_intake.CONNECTIONS, seconds)
            n = r["req_s"] * seconds
            cpu_ms = (cpu_seconds(s.proc.pid) - worker) / n * 1000
            pg_after = postgres_cpu_seconds(settings)
            spy.wait()
    finally:
        if saved is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = saved
        delete_key_reports(engine, name)
    counts: collections.Counter[str] = collections.Counter()
    for line in raw.read_text().splitlines():
        stack, _, samples = line.rpartition(" ")
        counts[layer(stack)] += int(samples)
    raw.unlink()
    total = sum(counts.values())
    shares = {k: counts[k] / total * cpu_ms for k in [n for n, _ in LAYERS] + [OTHER]}
    pg_ms = (pg_after - pg) / n * 1000 if pg is not None and pg_after is not None else float("nan")
    print(
        f"  {peer_root or 'this tree'}: {load()}; {r['req_s']:.0f} req/s, p99 {r['p99_ms']:.1f} "
        f"ms; CPU per report: worker {cpu_ms:.3f} ms, PostgreSQL {pg_ms:.3f} ms; {total} samples"
    )
    return shares | {"worker CPU per report": cpu_ms}


def main() -> None:
    """Print the per-layer table (beside the peer tree's, when one is given)."""
    seconds = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    peer_root = sys.argv[2] if len(sys.argv) > 2 else None
    runs = [("peer", profile(seconds, peer_root))] if peer_root else []
    runs.append(("this tree", profile(seconds, None)))
    print(f"{'layer':34s}" + "".join(f"{label:>12s}" for label, _ in runs))
    for key in runs[0][1]:
        print(f"{key:34s}" + "".join(f"{r[key]:9.3f} ms" for _, r in runs))


if __name__ == "__main__":
    main()
