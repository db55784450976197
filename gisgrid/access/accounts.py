"""Accounts, roles, area scopes and bearer tokens.

An account acts only inside its scope: a unit or grid code, used as a prefix of grid codes
(441226 = the county, 441226101 = one town, 441226101201 = one village, 15 digits = one grid).
Queries take the scope as a bound parameter so out-of-scope rows never leave PostGIS.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from psycopg_pool import AsyncConnectionPool
from sqlalchemy import Connection, RowMapping

from gisgrid import sql
from gisgrid.divisions import grid_code, unit_prefix
from gisgrid.errors import (
    Conflict,
    Forbidden,
    InvalidCode,
    NotAuthenticated,
    NotFound,
    UnknownToken,
)

# Bearer tokens live an hour (POST /api/v1/auth/refresh trades one for a fresh one); a session
# cookie of the map pages lives a working day (a wall display signs in once a shift).
TOKEN_TTL = dt.timedelta(hours=1)
SESSION_TTL = dt.timedelta(hours=10)
_hasher = PasswordHasher()


class Role(StrEnum):
    """What an account is, in the domain."""

    resident = "resident"
    household_leader = "household_leader"  # 联户长
    grid_worker = "grid_worker"  # 网格员
    grid_chief = "grid_chief"  # 网格长
    village_operator = "village_operator"  # 村(社区)综治中心
    town_operator = "town_operator"  # 乡镇(街道)综治中心
    county_operator = "county_operator"  # 县综治中心
    department_handler = "department_handler"  # 职能部门
    planner = "planner"
    admin = "admin"


# Who may read personal fields (names, phones, ID numbers) of households in their scope.
PERSONAL_READERS = frozenset(
    {
        Role.household_leader,
        Role.grid_worker,
        Role.grid_chief,
        Role.village_operator,
        Role.town_operator,
        Role.county_operator,
        Role.admin,
    }
)
# Who may list the household register at all (planners and departments see it masked).
REGISTER_READERS = PERSONAL_READERS | {Role.planner, Role.department_handler}
# Who handles cases and so may see reporters and exact report locations in scope.
CASE_HANDLERS = PERSONAL_READERS | {Role.department_handler}
# Where a scope may be as wide as it likes; everyone else must have one.
UNSCOPED_ALLOWED = frozenset({Role.admin})


@dataclass(frozen=True)
class Principal:
    """Who is calling: an account, or the anonymous public (account_id None)."""

    account_id: int | None
    username: str
    role: Role | None
    scope: str  # grid-code prefix; "" means everywhere
    # A department handler (职能部门) acts for one department: its id and code.
    department_id: int | None = None
    department: str | None = None

    @property
    def is_public(self) -> bool:
        """True for an anonymous caller."""
        return self.account_id is None

    def covers(self, code: str) -> bool:
        """Whether a unit or grid code lies inside this principal's scope."""
        return not self.is_public and code.startswith(self.scope)

    def require(self, roles: frozenset[Role] | set[Role], action: str) -> None:
        """Raise NotAuthenticated / Forbidden unless this principal has one of `roles`."""
        if self.is_public:
            raise NotAuthenticated(
                f"{action} needs a signed-in account: send a bearer token "
                "from POST /api/v1/auth/token",
                reason="auth.sign_in",
                action=action,
            )
        if self.role not in roles:
            allowed = ", ".join(sorted(r.value for r in roles))
            raise Forbidden(
                f"{action} is not allowed for role {self.role}; allowed: {allowed}",
                reason="auth.role",
                action=action,
                role=str(self.role),
                allowed=sorted(r.value for r in roles),
            )

    def require_scope(self, code: str, action: str) -> None:
        """Raise Forbidden unless `code` lies inside this principal's scope."""
        if not self.covers(code):
            raise self.outside_scope(
                action, code, f"{action}: {code} is outside your scope {self.scope or '(none)'}"
            )

    def outside_scope(self, action: str, code: str, message: str) -> Forbidden:
        """The refusal of `action` on `code` (as a person reads it) outside this scope."""
        return Forbidden(message, reason="auth.scope", action=action, code=code, scope=self.scope)


PUBLIC = Principal(account_id=None, username="public", role=None, scope="\x00")
# The `gisgrid` command acting on the operator's behalf (bulletins, exports): everywhere, no
# account row (account_id 0 is never issued), and never the public.
COMMAND_LINE = Principal(account_id=0, username="command-line", role=Role.admin, scope="")


def scope_prefix(scope: str) -> str:
    """Normalise a scope (any unit or grid code) to the grid-code prefix it stands for."""
    scope = scope.strip()
    if scope in ("", "*"):
        return ""
    if len(scope) == 15:
        return grid_code(scope)
    return unit_prefix(scope)


def hash_password(password: str) -> str:
    """An argon2id hash of a password."""
    return _hasher.hash(password)


def create_account(
    conn: Connection,
    username: str,
    password: str,
    role: Role | str,
    scope: str,
    display_name: str | None = None,
    department: str | None = None,
) -> int:
    """Create an account; the scope must be a known unit or grid unless the role is admin.

    A department handler names its `department` (code, in the scope's county): it then sees and
    acts on the cases whistled to that department only.
    """
    role = Role(role)
    if department is not None and role != Role.department_handler:
        raise InvalidCode(f"department={department!r} is only for role department_handler")
    if len(password) < 8:
        raise InvalidCode("password is too short: use at least 8 characters")
    prefix = scope_prefix(scope)
    if prefix == "" and role not in UNSCOPED_ALLOWED:
        raise InvalidCode(f"role {role} needs a scope: a county, town, village or grid code")
    if prefix and not _scope_exists(conn, prefix):
        raise InvalidCode(f"scope {scope!r} matches no unit or grid in the database")
    exists = sql.execute(conn, "access/account_exists", u=username).first()
    if exists:
        raise Conflict(f"username {username!r} is taken")
    department_id = _department_id(conn, prefix, department) if department else None
    account_id = int(
        sql.execute(
            conn,
            "access/insert_account",
            u=username,
            h=hash_password(password),
            r=role.value,
            s=prefix,
            d=display_name,
        ).scalar_one()
    )
    if department_id is not None:
        sql.execute(conn, "access/bind_department", account=account_id, department=department_id)
    return account_id


def _department_id(conn: Connection, prefix: str, code: str) -> int:
    """The id of department `code` of the county the scope lies in, or NotFound naming them."""
    county = prefix[:6]
    found = sql.rows(conn, "access/departments_of_county", county=county)
    return int(department_among(found, county, code)["id"])


def department_among(rows: Sequence[RowMapping], county: str, code: str) -> RowMapping:
    """Department `code` among a county's (rows with code and name), or NotFound listing them."""
    for row in rows:
        if row["code"] == code:
            return row
    known = ", ".join(f"{r['code']} ({r['name']})" for r in rows) or "none yet"
    raise NotFound(f"department {code!r} is not one of county {county}'s departments: {known}")


def _scope_exists(conn: Connection, prefix: str) -> bool:
    name = "access/scope_grid_exists" if len(prefix) == 15 else "access/scope_unit_exists"
    return sql.execute(conn, name, p=prefix).first() is not None


def token_hash(token: str) -> str:
    """The stored form of a bearer token."""
    return _token_hash(token)


def _token_hash(token: str) -> str:
    # Tokens are random 256-bit values: a plain SHA-256 is enough to keep stored ones useless.
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(
    conn: Connection, username: str, password: str, ttl: dt.timedelta = TOKEN_TTL
) -> tuple[str, dt.datetime]:
    """Check a password and return a new bearer token and its expiry (`ttl` from now)."""
    row = sql.execute(conn, "access/account_password", u=username).first()
    # Verify against a dummy hash for unknown users so timing does not reveal which exist.
    stored = row.password_hash if row else _DUMMY_HASH
    try:
        _hasher.verify(stored, password)
        ok = row is not None and row.active
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok:
        raise NotAuthenticated("wrong username or password", reason="auth.wrong_password")
    return new_token(conn, row.id, ttl)  # type: ignore[union-attr]


def new_token(conn: Connection, account_id: int, ttl: dt.timedelta) -> tuple[str, dt.datetime]:
    """A new random token for an account, stored as its hash; the token and its expiry."""
    token = secrets.token_urlsafe(32)
    expires = dt.datetime.now(dt.UTC) + ttl
    sql.execute(conn, "access/insert_token", h=_token_hash(token), a=account_id, e=expires)
    return token, expires


def principal_for_token(conn: Connection, token: str) -> Principal:
    """The account behind a bearer token, or NotAuthenticated saying why not."""
    row = sql.first(conn, "access/token_account", h=token_hash(token))
    return principal_of(row)


async def principal_for_token_async(
    pool: AsyncConnectionPool, token: str
) -> tuple[Principal, dt.datetime]:
    """The same and the token's expiry, on the async pool: one statement, no thread (issue 13:
    never a second connection from the request's pool, which a request could wait for forever).
    """
    async with pool.connection() as aconn:
        row = await sql.afirst(aconn, "access/token_account", h=token_hash(token))
    return principal_of(row), row["expires_at"]  # type: ignore[index]


def principal_of(row: Mapping[str, Any] | RowMapping | None) -> Principal:
    """The principal of a token_account row, or NotAuthenticated saying why not.

    The row carries a department handler's department too (one statement: the principal of a
    request never takes a second connection or a second round trip)."""
    if row is None:
        raise UnknownToken(
            "the bearer token is unknown or revoked; get a new one from POST /api/v1/auth/token",
            reason="auth.token_unknown",
        )
    if row["expires_at"] <= dt.datetime.now(dt.UTC):
        raise NotAuthenticated(
            f"the bearer token expired at {row['expires_at'].isoformat()}; "
            "get a new one from POST /api/v1/auth/token",
            reason="auth.token_expired",
            expired=row["expires_at"].isoformat(),
        )
    if not row["active"]:
        raise NotAuthenticated(
            f"account {row['username']} is disabled",
            reason="auth.disabled",
            username=row["username"],
        )
    dept_id = row["department_id"]
    return Principal(
        row["id"],
        row["username"],
        Role(row["role"]),
        row["scope"],
        int(dept_id) if dept_id is not None else None,
        row["department"],
    )


def revoke_token(conn: Connection, token: str) -> int:
    """Revoke a token (sign-out); how many were revoked (0 if it was unknown)."""
    return int(sql.execute(conn, "access/revoke_token", h=_token_hash(token)).rowcount)


def revoke_tokens_of(conn: Connection, who: Principal, username: str) -> tuple[int, int]:
    """An admin revokes every live token of an account: (its id, how many were revoked)."""
    who.require(frozenset({Role.admin}), "revoking another account's tokens")
    account_id = sql.scalar(conn, "access/account_id", u=username)
    if account_id is None:
        raise NotFound(f"account {username!r} does not exist")
    revoked = sql.rows(conn, "access/revoke_account_tokens", u=username)
    return int(account_id), len(revoked)


_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


# Who works in the field or runs a centre: may send tracks and plan routes for staff in scope.
FIELD_ROLES = PERSONAL_READERS - {Role.household_leader}
# Who may change the map itself (roads, key places, boundaries).
MAP_EDITORS = frozenset({Role.planner, Role.county_operator, Role.admin})


def require_staff_in_scope(
    conn: Connection, who: Principal, staff_ids: list[int], action: str
) -> None:
    """Raise Forbidden unless every staff member serves a grid inside the caller's scope."""
    if who.scope == "" and not who.is_public:
        return  # everywhere: whether the staff exist is the intake's own check
    ids = sorted({int(i) for i in staff_ids})
    inside = set(sql.execute(conn, "access/staff_in_scope", ids=ids, scope=who.scope).scalars())
    outside = [i for i in ids if i not in inside]
    if outside:
        raise Forbidden(
            f"{action}: staff {outside[:5]} serve no grid inside your scope {who.scope or '(all)'}",
            reason="auth.staff_scope",
            action=action,
            staff=outside[:5],
            scope=who.scope,
        )


def _reissue(
    conn: Connection,
    username: str,
    role: Role,
    county: str,
    display_name: str,
    department: str | None = None,
) -> tuple[str, bool]:
    """A new password for a demo account, which is created if missing; (password, created)."""
    password = secrets.token_urlsafe(9)
    updated = sql.execute(
        conn, "access/reset_password", h=hash_password(password), u=username
    ).rowcount
    if not updated:
        create_account(
            conn, username, password, role, county[:6], display_name, department=department
        )
    return password, not updated


def reissue_demo_account(conn: Connection, county: str) -> tuple[str, str]:
    """(username, new password) of the demo centre operator for a county, created if missing.

    The password is new on every call: only its hash is stored, so it cannot be shown again.
    """
    username = f"demo-{county[:6]}"
    display = "GENERATED demo county operator"
    return username, _reissue(conn, username, Role.county_operator, county, display)[0]


def reissue_demo_department_account(
    conn: Connection, county: str, department: str = "ZJ"
) -> tuple[str, str]:
    """(username, new password) of a demo county's department handler, created if missing and
    bound to the GENERATED department `department`; the password is new on every call."""
    username = f"demo-{county[:6]}-{department.lower()}"
    display = f"GENERATED demo handler of department {department}"
    password, created = _reissue(
        conn, username, Role.department_handler, county, display, department
    )
    if not created:
        sql.execute(
            conn,
            "access/bind_department_by_code",
            username=username,
            county=county[:6],
            code=department,
        )
    return username, password
