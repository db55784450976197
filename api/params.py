"""Query-parameter helpers shared by routers."""

import datetime as dt
from typing import Annotated

from fastapi import Header, Path, Query

# The largest ids PostgreSQL's bigint and integer hold: larger numbers name nothing, and are
# refused as invalid (422 naming the parameter) before the database is asked.
MAX_ID = 2**63 - 1
MAX_INT = 2**31 - 1

# Parameters many routes share, with the bounds their columns have.
ReportId = Annotated[int, Path(ge=1, le=MAX_ID, description="a report's number")]
HouseholdId = Annotated[int, Path(ge=1, le=MAX_ID, description="a household's id")]
GridQ = Annotated[str, Query(description="15-digit grid code")]
Offset = Annotated[int, Query(ge=0, le=MAX_ID, description="rows to skip")]
# A write a phone may send again when it never heard the answer: the same key on the same
# thing is done once, and the resend is answered as the first was (Idempotent-Replayed: true).
IdempotencyKey = Annotated[
    str | None, Header(description="Same key, same write: a resend is done once (200, replayed)")
]
GenerationQ = Annotated[
    int | None, Query(ge=1, le=MAX_INT, description="grid generation id (default: current)")
]

CHINA_STANDARD_TIME = dt.timezone(dt.timedelta(hours=8))


def aware(when: dt.datetime | None) -> dt.datetime | None:
    """A date without a zone is read as China Standard Time (UTC+8), where the service is used."""
    if when is not None and when.tzinfo is None:
        return when.replace(tzinfo=CHINA_STANDARD_TIME)
    return when
