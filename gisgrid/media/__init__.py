"""Photos: read (JPEG, PNG, HEIC), stored by content with thumbnails, served without EXIF.

Reports, household visits and patrol reports carry photos through these names; the files live
under the state dir (`<GISGRID_STATE_DIR>/media`), the rows in `photo` and `report_photo`.
"""

from gisgrid.media.attach import (
    STAGES,
    add_report_photo,
    is_public,
    link_report_photo,
    may_see,
    report_photos,
)
from gisgrid.media.photos import (
    MAX_PHOTO_BYTES,
    PhotoStore,
    Prepared,
    discard_files,
    parse_name,
    prepare,
    save,
    url,
    write_files,
)

__all__ = [
    "MAX_PHOTO_BYTES",
    "STAGES",
    "PhotoStore",
    "Prepared",
    "add_report_photo",
    "discard_files",
    "is_public",
    "link_report_photo",
    "may_see",
    "parse_name",
    "prepare",
    "report_photos",
    "save",
    "url",
    "write_files",
]
