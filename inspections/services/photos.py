"""The photo pipeline around `inspections.images`: assemble the original from its upload parts,
process it, store derivatives and evidence, flag what a reviewer should look at twice.

Safe to run twice or concurrently: object keys are deterministic and every state change is a
conditional UPDATE from `received`, so a second run finds nothing left to do.
"""

import hashlib
import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from backend.storage import get_store
from inspections.images import (
    NEAR_DUPLICATE_MAX_DISTANCE,
    PhotoRejected,
    ProcessedPhoto,
    analyse_photo,
    evidence_flags,
    phash_distance,
)
from inspections.models import Photo, PhotoState, Upload, UploadState
from inspections.object_keys import (
    display_key,
    original_key,
    part_key,
    parts_prefix,
    photo_prefix,
    thumb_key,
)
from inspections.services.uploads import read_parts

logger = logging.getLogger(__name__)

DISPLAY_CONTENT_TYPE = "image/jpeg"
# Looking further back for a reused photo finds little: evidence is re-used to cover a recent
# visit that never happened, and two years covers a full inspection cycle of every compound.
REUSE_LOOKBACK = timedelta(days=730)
REJECTION_CHECKSUM = "checksum_mismatch"
REJECTION_DETAIL_CHECKSUM = "the assembled parts do not match the verified SHA-256"


def photo_process(*, photo_id: int) -> Photo | None:
    """Process one received photo; anything else (missing, already done) is left alone."""
    photo = (
        Photo.objects.select_related("finding__inspection__project")
        .filter(id=photo_id, state=PhotoState.RECEIVED)
        .first()
    )
    if photo is None:
        return None
    data = _original_bytes(photo)
    if data is None:
        return _reopen_slot(photo)
    try:
        processed = analyse_photo(data)
    except PhotoRejected as rejection:
        return _reject(photo, code=str(rejection.code), detail=rejection.detail)
    return _accept(photo, processed)


# --- the original ------------------------------------------------------------------------


def _assembling_upload(photo: Photo) -> Upload | None:
    return (
        photo.uploads.filter(state=UploadState.COMPLETED)
        .exclude(parts=[])
        .order_by("updated_at")
        .first()
    )


def _original_bytes(photo: Photo) -> bytes | None:
    """The original's bytes; on the first run, assembled from the upload's parts and stored as
    `photos/<uuid>/original` before the parts are deleted."""
    store = get_store()
    if photo.original_key:
        return store.read_bytes(photo.original_key, max_bytes=settings.MAX_PHOTO_BYTES)
    upload = _assembling_upload(photo)
    if upload is None:
        return None
    chunks: list[bytes] = []
    read_parts([part_key(upload.id, start, end) for start, end in upload.parts], chunks.append)
    data = b"".join(chunks)
    if hashlib.sha256(data).hexdigest() != photo.sha256:
        # The upload check passed on these very parts; only tampering with the store gets here.
        _reject(photo, code=REJECTION_CHECKSUM, detail=REJECTION_DETAIL_CHECKSUM)
        return None
    key = original_key(photo.uuid)
    store.put_bytes(key, data, content_type=photo.declared_content_type)
    Photo.objects.filter(id=photo.id, state=PhotoState.RECEIVED).update(original_key=key)
    photo.original_key = key
    store.delete_prefix(parts_prefix(upload.id))
    Upload.objects.filter(id=upload.id).update(parts=[], updated_at=timezone.now())
    return data


def _reopen_slot(photo: Photo) -> Photo | None:
    """The bytes are gone from the store (lost, or deleted by hand): the slot waits for a new
    upload instead of pretending the photo arrived."""
    logger.error("photo %s is received but its bytes are missing; reopening the slot", photo.uuid)
    Photo.objects.filter(id=photo.id, state=PhotoState.RECEIVED).update(
        state=PhotoState.DECLARED, sha256="", received_at=None, updated_at=timezone.now()
    )
    return None


# --- outcomes ----------------------------------------------------------------------------


def _reject(photo: Photo, *, code: str, detail: str) -> Photo:
    """Refused bytes leave nothing behind: original, parts and derivatives are deleted first,
    then the slot records why."""
    store = get_store()
    store.delete_prefix(photo_prefix(photo.uuid))
    for upload_id in photo.uploads.exclude(parts=[]).values_list("id", flat=True):
        store.delete_prefix(parts_prefix(upload_id))
    with transaction.atomic():
        photo.uploads.exclude(parts=[]).update(parts=[], updated_at=timezone.now())
        Photo.objects.filter(id=photo.id, state=PhotoState.RECEIVED).update(
            state=PhotoState.REJECTED,
            rejection_reason=code,
            rejection_detail=detail[:300],
            original_key="",
            processed_at=timezone.now(),
            updated_at=timezone.now(),
        )
    photo.refresh_from_db()
    return photo


def _accept(photo: Photo, processed: ProcessedPhoto) -> Photo:
    store = get_store()
    display, thumb = display_key(photo.uuid), thumb_key(photo.uuid)
    store.put_bytes(display, processed.display.jpeg, content_type=DISPLAY_CONTENT_TYPE)
    store.put_bytes(thumb, processed.thumbnail.jpeg, content_type=DISPLAY_CONTENT_TYPE)
    Photo.objects.filter(id=photo.id, state=PhotoState.RECEIVED).update(
        state=PhotoState.PROCESSED,
        flags=_flags(photo, processed),
        detected_format=processed.detected_format,
        width=processed.original_width,
        height=processed.original_height,
        captured_at=processed.capture_time,
        gps_lat=processed.gps_lat,
        gps_lon=processed.gps_lon,
        phash=processed.phash,
        display_key=display,
        thumb_key=thumb,
        processed_at=timezone.now(),
        updated_at=timezone.now(),
    )
    photo.refresh_from_db()
    return photo


def _flags(photo: Photo, processed: ProcessedPhoto) -> list[str]:
    """EXIF GPS is the photo's own position; without it the phone's reported position of the
    finding (or, failing that, of the inspection) stands in, with the accuracy it reported."""
    finding = photo.finding
    inspection = finding.inspection
    project = inspection.project
    if processed.gps_lat is not None:
        lat, lon = processed.gps_lat, processed.gps_lon
        accuracy = finding.accuracy_m if finding.lat is not None else inspection.accuracy_m
    elif finding.lat is not None:
        lat, lon, accuracy = finding.lat, finding.lon, finding.accuracy_m
    else:
        lat, lon, accuracy = inspection.lat, inspection.lon, inspection.accuracy_m
    return evidence_flags(
        evidence_lat=lat,
        evidence_lon=lon,
        project_lat=project.lat,
        project_lon=project.lon,
        geofence_m=project.geofence_m,
        accuracy_m=accuracy,
        capture_time=processed.capture_time,
        observed_at=finding.observed_at,
        has_exif=processed.has_exif,
        reused=_is_reused(photo, processed),
    )


def _is_reused(photo: Photo, processed: ProcessedPhoto) -> bool:
    """The same bytes, or a near-identical picture, already used as evidence in ANOTHER
    inspection of the same compound or by the same inspector."""
    inspection = photo.finding.inspection
    others = Photo.objects.filter(
        state__in=(PhotoState.RECEIVED, PhotoState.PROCESSED),
        received_at__gte=timezone.now() - REUSE_LOOKBACK,
    ).exclude(finding__inspection_id=inspection.id)
    if others.filter(sha256=processed.sha256).exists():
        return True
    nearby = others.filter(
        Q(finding__inspection__project_id=inspection.project_id)
        | Q(finding__inspection__inspector_id=inspection.inspector_id)
    ).exclude(phash="")
    return any(
        phash_distance(other, processed.phash) <= NEAR_DUPLICATE_MAX_DISTANCE
        for other in nearby.values_list("phash", flat=True).iterator()
    )
