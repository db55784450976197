"""Photo parts of multipart uploads, read for the routers that take photos."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool

from gisgrid import media
from gisgrid.errors import InvalidReport


async def read_photo(part: Any) -> media.Prepared:
    """A multipart file part, checked and re-encoded (in a thread: decoding takes a moment).

    Reads one byte past the limit, so an oversized photo is refused (413) without holding
    more of it than that.
    """
    if part is None or isinstance(part, str):
        raise InvalidReport("the upload needs a file part holding the photo")
    data = await part.read(media.MAX_PHOTO_BYTES + 1)
    return await run_in_threadpool(media.prepare, data)


def is_file(part: Any) -> bool:
    """Whether a form value is a non-empty file (browsers send an empty part for no file)."""
    return part is not None and not isinstance(part, str) and bool(getattr(part, "size", 1))
