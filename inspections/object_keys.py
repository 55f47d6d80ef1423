"""Where the inspections app keeps its objects in the store: every key it writes is named
here, so the upload and photo services (and the tests that look for leftovers) agree on the
layout.

    uploads/{upload id}/{start:010d}-{end:010d}   tus parts, until the photo is assembled
    photos/{photo uuid}/original                  the assembled original (private)
    photos/{photo uuid}/display.jpg, thumb.jpg    the metadata-free derivatives
"""

from uuid import UUID


def part_key(upload_id: UUID, start: int, end: int) -> str:
    # Zero-padded so that listing order is byte order; the end is part of the key so two
    # racing PATCHes from the same offset never overwrite each other's part.
    return f"uploads/{upload_id}/{start:010d}-{end:010d}"


def parts_prefix(upload_id: UUID) -> str:
    return f"uploads/{upload_id}/"


def photo_prefix(photo_uuid: UUID) -> str:
    return f"photos/{photo_uuid}/"


def original_key(photo_uuid: UUID) -> str:
    return f"{photo_prefix(photo_uuid)}original"


def display_key(photo_uuid: UUID) -> str:
    return f"{photo_prefix(photo_uuid)}display.jpg"


def thumb_key(photo_uuid: UUID) -> str:
    return f"{photo_prefix(photo_uuid)}thumb.jpg"
