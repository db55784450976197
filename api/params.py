"""Query-parameter helpers shared by routers."""

import datetime as dt

# The largest id PostgreSQL's bigint holds: larger numbers name nothing and are refused early.
MAX_ID = 2**63 - 1

CHINA_STANDARD_TIME = dt.timezone(dt.timedelta(hours=8))


def aware(when: dt.datetime | None) -> dt.datetime | None:
    """A date without a zone is read as China Standard Time (UTC+8), where the service is used."""
    if when is not None and when.tzinfo is None:
        return when.replace(tzinfo=CHINA_STANDARD_TIME)
    return when
