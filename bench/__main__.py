"""Run benchmarks: `python -m bench` runs all, `python -m bench NAME ...` runs some."""

import importlib
import pkgutil
import sys
from pathlib import Path


def main(names: list[str]) -> int:
    """Import bench.<name> and call its main() for each name (all when none are given)."""
    available = sorted(
        m.name
        for m in pkgutil.iter_modules([str(Path(__file__).parent)])
        if m.name.startswith("bench_")
    )
    chosen = [n if n.startswith("bench_") else f"bench_{n}" for n in names] or available
    unknown = [n for n in chosen if n not in available]
    if unknown:
        print(f"unknown benchmark(s) {unknown}; available: {available}", file=sys.stderr)
        return 2
    for name in chosen:
        from bench.common import load

        print(f"== {name} ({load()})", flush=True)
        importlib.import_module(f"bench.{name}").main()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
