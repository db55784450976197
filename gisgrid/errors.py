"""Domain errors. The API maps each class to an HTTP status in one table (api/errors.py)."""


class GisGridError(Exception):
    """Base class: every message names the bad value and says what would be accepted."""

    # Seconds a client should wait before sending the same request again (Retry-After), for
    # errors that pass with time (rate limits, overload, the database restarting).
    retry_after: int | None = None

    def __init__(
        self,
        message: str = "",
        *,
        retry_after: int | None = None,
        reason: str | None = None,
        **params: object,
    ) -> None:
        super().__init__(message)
        if retry_after is not None:
            self.retry_after = max(1, int(retry_after))
        # What went wrong as a key and its values, for the API to say it in Chinese to the
        # people who read it (api/errors.py's table); the message stays for logs and the CLI.
        self.reason = reason
        self.params = params


class NotFound(GisGridError):
    """A unit, grid or record with that code or id does not exist."""


class OutsideCoverage(GisGridError):
    """A point falls outside every grid the service holds."""


class InvalidCoordinate(GisGridError):
    """A coordinate is malformed, out of range or apparently swapped."""


class InvalidGeometry(GisGridError):
    """A geometry is malformed, of the wrong type or invalid."""


class TopologyError(GisGridError):
    """Polygons overlap, leave gaps or do not nest in their parent."""


class LocalDatabaseError(GisGridError):
    """The project-managed PostGIS could not be installed, started or reached."""

    retry_after = 5


class DatabaseUnavailable(GisGridError):
    """PostgreSQL did not answer (restarting, unreachable): nothing was done, send it again."""

    retry_after = 3


class DataSourceError(GisGridError):
    """A packaged dataset (divisions, outlines) is missing or unreadable."""


class InvalidCode(GisGridError):
    """A division or grid code is not of a shape gisgrid knows."""


class NotAuthenticated(GisGridError):
    """No valid credentials came with a request that needs them."""


class UnknownToken(NotAuthenticated):
    """A bearer token the service never issued, or one that was revoked (never valid again)."""


class Forbidden(GisGridError):
    """The caller's role or area scope does not allow this."""


class Conflict(GisGridError):
    """The request clashes with what is stored (a taken name, a stale version)."""


class RateLimited(GisGridError):
    """Too many requests from one client in a short time."""

    retry_after = 60


class Overloaded(GisGridError):
    """The service is at capacity (every database slot busy, the queue full): try again soon."""

    retry_after = 2


class ClientGone(GisGridError):
    """The caller left before its request was served; nothing was done (nobody reads an answer)."""


class InvalidTrack(GisGridError):
    """A patrol track upload cannot be read: wrong format, missing times or staff."""


class InvalidPeriod(GisGridError):
    """A time period is empty, reversed, without a zone or too long."""


class PayloadTooLarge(GisGridError):
    """An upload is bigger than the service accepts in one request."""


class InvalidApiKey(GisGridError):
    """An Open311 api_key is missing, unknown or revoked."""


class InvalidReport(GisGridError):
    """A service request is missing a field or carries a value gisgrid cannot accept."""


class IdempotencyConflict(GisGridError):
    """An Idempotency-Key (or token) was reused for a different request."""


class InvalidImport(GisGridError):
    """A boundary import was asked for with a bad level, date, generation name or file."""


class ImportRefused(GisGridError):
    """A boundary import still has errors, so --commit refuses to write any of it."""


class StalePlan(Conflict):
    """A redraw draft was made from a generation that is no longer current."""


class GridRuleBroken(Conflict):
    """An edit would break a grid rule: one piece, inside one village, not empty."""


class CalendarError(GisGridError):
    """A working calendar setting (periods, holidays) or a time-limit question is malformed."""


class UnsupportedMedia(GisGridError):
    """An upload is not a photo of a kind the service reads (JPEG, PNG, HEIC)."""
