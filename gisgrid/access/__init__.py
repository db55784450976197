"""Who may do what: accounts, roles and area scopes, the audit log, the household register."""

from gisgrid.access import audit, shared
from gisgrid.access.accounts import (
    CASE_HANDLERS,
    COMMAND_LINE,
    MAP_EDITORS,
    PERSONAL_READERS,
    PUBLIC,
    REGISTER_READERS,
    Principal,
    Role,
    department_among,
)

__all__ = [
    "CASE_HANDLERS",
    "COMMAND_LINE",
    "MAP_EDITORS",
    "PERSONAL_READERS",
    "PUBLIC",
    "REGISTER_READERS",
    "Principal",
    "Role",
    "audit",
    "department_among",
    "shared",
]
