"""The demo counties' functional departments (职能部门): a GENERATED, realistic set.

Every county government in China has bureaus of roughly these names; which report categories
each owns follows common practice (城管执法 takes street order and construction, 派出所 public
security, 司法所 disputes ...). The time limits are plausible defaults, not any county's rules,
and every row is flagged `generated`.
"""

from __future__ import annotations

from sqlalchemy import Connection

from gisgrid.reports import DepartmentSpec, add_departments

DAY = 8  # working hours in a working day

# code, name (after the county's name), categories owned, 报到 hours, feedback hours
DEMO_DEPARTMENTS: tuple[DepartmentSpec, ...] = tuple(
    DepartmentSpec(code, name, cats, respond, feedback)
    for code, name, cats, respond, feedback in (
        ("ZJ", "住房和城乡建设局", ("BJ01", "BJ02", "BJ03", "BJ05", "SJ06"), 4, 5 * DAY),
        ("CG", "综合行政执法局（城管执法）", ("SJ01", "SJ02", "SJ04", "SJ05", "SJ07", "BJ06"),
         2, 3 * DAY),
        ("GA", "公安局（辖区派出所）", ("ZZ02", "ZZ06", "ZZ10", "SJ08"), 1, 2 * DAY),
        ("SC", "市场监督管理局", ("ZZ05",), 4, 5 * DAY),
        ("ZR", "自然资源局", ("ZZ08", "ZZ13"), 4, 5 * DAY),
        ("SL", "水利局", ("SJ03",), 2, 3 * DAY),
        ("WJ", "卫生健康局", ("ZZ03",), 4, 5 * DAY),
        ("MZ", "民政局", ("ZZ04", "ZZ14"), 4, 5 * DAY),
        ("SF", "司法局（辖区司法所）", ("ZZ07",), 4, 5 * DAY),
        ("RS", "人力资源和社会保障局", ("ZZ09",), 4, 5 * DAY),
        ("JT", "交通运输局", ("BJ04", "ZZ11"), 4, 5 * DAY),
        ("YJ", "应急管理局", ("SJ09", "ZZ12"), 1, 1 * DAY),
    )
)  # fmt: skip


def write_demo_departments(conn: Connection, county: str, county_name: str) -> int:
    """The generated departments of a demo county, named after it (e.g. 德庆县住房和城乡建设局)."""
    specs = [
        DepartmentSpec(s.code, county_name + s.name, s.categories, s.response_hours,
                       s.feedback_hours)
        for s in DEMO_DEPARTMENTS
    ]  # fmt: skip
    return add_departments(conn, county, specs, generated=True)
