"""Division and grid codes: 6-digit county, 9-digit town, 12-digit village, 15-digit grid."""

from gisgrid.errors import InvalidCode

LEVELS = ("county", "town", "village", "grid")
_PADDING = {6: "000000", 9: "000", 12: ""}


def unit_code(code: str) -> str:
    """The 12-digit statistical code for a 6-, 9- or 12-digit unit code."""
    code = code.strip()
    if not code.isdigit() or len(code) not in _PADDING:
        raise InvalidCode(f"unit code {code!r} is not 6 (county), 9 (town) or 12 (village) digits")
    return code + _PADDING[len(code)]


def unit_prefix(code: str) -> str:
    """The shortest prefix that identifies a unit: 441226, 441226101 or a full village code."""
    full = unit_code(code)
    if full.endswith("000000"):
        return full[:6]
    if full.endswith("000"):
        return full[:9]
    return full


def grid_code(code: str) -> str:
    """A 15-digit grid code: village code + 3-digit sequence (DB11/T 2157-2023)."""
    code = code.strip()
    if not code.isdigit() or len(code) != 15:
        raise InvalidCode(f"grid code {code!r} is not 15 digits (12-digit village code + 3)")
    return code
