"""Resumable photo uploads (tus 1.0.0 semantics; the HTTP side is `mobile_api.tus`).

Bytes never touch a web server's disk: each PATCH streams its body into the object store as
parts `uploads/<upload id>/<start>-<end>` of at most PART_BYTES, and each stored part is
committed to the `Upload` row (offset, parts) with a conditional update, so any web process can
continue any upload and a connection cut mid-PATCH keeps every part that fully arrived plus the
piece that was in flight. On the last byte the parts are read back to check size and SHA-256
against the declared slot; the photo becomes `received` and the worker assembles the original
from the parts (it has to hold the photo in memory to decode it anyway), so a web process never
holds more than one part of any upload.
"""

import hashlib
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import models, transaction
from django.http import UnreadablePostError
from django.utils import timezone

from backend.exceptions import (
    Busy,
    Conflict,
    IntegrityFailed,
    Invalid,
    TooLarge,
    UnsupportedType,
)
from backend.queueing import enqueue_on_commit
from backend.storage import StorageError, get_store
from inspections.access import (
    ERR_UPLOAD_NOT_FOUND,
    access_photo_by_uuid,
    access_upload_by_id,
    not_found,
)
from inspections.models import ALLOWED_PHOTO_TYPES, Photo, PhotoState, Upload, UploadState
from inspections.object_keys import part_key, parts_prefix
from inspections.task_names import PROCESS_PHOTO_TASK

logger = logging.getLogger(__name__)

# A part is held in memory while it streams in, so it bounds what one PATCH costs (20 uploads
# at once stay far below 100 MB); it is also what a server killed mid-PATCH can lose, about a
# minute of a 2G link. A cut connection loses nothing: the piece that arrived is stored.
PART_BYTES = 1024 * 1024
# Reads from the request socket; small enough that a slow link fills them one by one.
READ_BYTES = 64 * 1024
# A phone that lost its upload URL for a day starts over; parts of uploads abandoned longer than
# that are deleted by `uploads_expire`. Every PATCH extends the deadline.
UPLOAD_TTL = timedelta(hours=24)
# How long a PATCH holds its upload without committing a part. It must outlast one part on a
# slow link (1 MiB at 2G's ~10 KB/s is under two minutes); a handler that died or hangs on a
# half-open connection loses the upload to the next PATCH after this long.
WRITER_LEASE = timedelta(minutes=2)
# A refused concurrent PATCH is told to come back after this many seconds.
BUSY_RETRY_AFTER_S = 1
# A HEAD waits at most this long for a streaming PATCH to finish storing what it received
# (a cut request ends within milliseconds; a live one on a slow link may not: then the HEAD
# answers the offset reached so far).
HEAD_SETTLE = timedelta(seconds=2)
HEAD_SETTLE_POLL_S = 0.05
PART_CONTENT_TYPE = "application/octet-stream"

ERR_TYPE_NOT_ALLOWED = "不支持的照片类型 {content_type}；允许：JPEG、HEIC/HEIF、PNG、WebP。"
ERR_EMPTY = "照片文件为空。"
ERR_TOO_LARGE = "照片超过 {limit} 字节的上限。"
ERR_SIZE_MISMATCH = "上传长度 {length} 与登记的照片大小 {declared} 不符。"
ERR_CHECKSUM_MISMATCH = "收到的照片与登记的大小或 SHA-256 不符，已丢弃，请重新上传。"
ERR_OFFSET_MISMATCH = "上传偏移量 {offset} 与服务器记录的 {current} 不符。"
ERR_PAST_END = "本次数据超出了登记的上传长度。"
ERR_BUSY = "另一个请求正在向此上传写入数据，请稍后从服务器记录的偏移量继续。"


# --- creation -----------------------------------------------------------------------------


def upload_create(
    *,
    user: AbstractBaseUser,
    photo_uuid: UUID,
    length: int,
    filename: str,
    content_type: str,
) -> Upload:
    """A new upload for one declared photo slot of the caller's own finding. A photo that has
    already arrived answers with its finished upload, so the client simply sees it complete."""
    with transaction.atomic():
        photo = access_photo_by_uuid(user, photo_uuid, for_update=True)
        if photo.state in (PhotoState.RECEIVED, PhotoState.PROCESSED, PhotoState.REJECTED):
            return _finished_upload_of(photo)
        if content_type not in ALLOWED_PHOTO_TYPES:
            raise UnsupportedType(
                "unsupported_media_type",
                ERR_TYPE_NOT_ALLOWED.format(content_type=content_type),
            )
        if length < 1:
            raise Invalid("empty_file", ERR_EMPTY)
        if length > settings.MAX_PHOTO_BYTES:
            raise TooLarge("photo_too_large", ERR_TOO_LARGE.format(limit=settings.MAX_PHOTO_BYTES))
        if length != photo.declared_size:
            raise IntegrityFailed(
                "checksum_mismatch",
                ERR_SIZE_MISMATCH.format(length=length, declared=photo.declared_size),
            )
        upload = Upload.objects.create(
            photo=photo,
            length=length,
            filename=filename[:255],
            content_type=content_type,
            expires_at=timezone.now() + UPLOAD_TTL,
        )
        if photo.state == PhotoState.DECLARED:
            photo.state = PhotoState.UPLOADING
            photo.save(update_fields=["state", "updated_at"])
    return upload


def _finished_upload_of(photo: Photo) -> Upload:
    # A photo only ever arrives through an upload that completed, and that row is kept.
    return photo.uploads.filter(state=UploadState.COMPLETED).earliest("created_at")


def upload_get(*, user: AbstractBaseUser, upload_id: UUID, settle: bool = False) -> Upload:
    """HEAD: 404 for an unknown or foreign upload, and for one that ended without its photo
    (refused at the last byte, terminated, or expired).

    With `settle`, a PATCH still streaming into the upload is waited for (up to
    `HEAD_SETTLE`): a client that lost its connection asks for the offset at once, while the
    server is still storing what that connection delivered, and resuming from the offset
    before that would send those bytes again."""
    upload = access_upload_by_id(user, upload_id)
    deadline = time.monotonic() + HEAD_SETTLE.total_seconds()
    while settle and _being_written(upload) and time.monotonic() < deadline:
        time.sleep(HEAD_SETTLE_POLL_S)
        upload.refresh_from_db()
    if upload.state == UploadState.ACTIVE and upload.expires_at <= timezone.now():
        raise not_found(ERR_UPLOAD_NOT_FOUND)
    return upload


def _being_written(upload: Upload) -> bool:
    return (
        upload.state == UploadState.ACTIVE
        and upload.writer_until is not None
        and upload.writer_until > timezone.now()
    )


# --- appending bytes ----------------------------------------------------------------------


@dataclass(frozen=True)
class AppendResult:
    """What tus reports about an upload: its offset, length and (while active) its deadline."""

    offset: int
    length: int
    expires_at: datetime | None

    @classmethod
    def of(cls, upload: Upload) -> "AppendResult":
        active = upload.state == UploadState.ACTIVE
        return cls(
            offset=upload.offset,
            length=upload.length,
            expires_at=upload.expires_at if active else None,
        )


def upload_append(
    *,
    user: AbstractBaseUser,
    upload_id: UUID,
    offset: int,
    content_length: int,
    read: Callable[[int], bytes],
) -> AppendResult:
    """PATCH: stream `content_length` bytes (through `read`) from `offset`. 409 on an offset
    mismatch, 460 when the finished upload does not match its slot (the upload ends)."""
    upload = upload_get(user=user, upload_id=upload_id)
    if upload.offset != offset:
        raise Conflict(
            "offset_mismatch",
            ERR_OFFSET_MISMATCH.format(offset=offset, current=upload.offset),
            upload_offset=upload.offset,
        )
    if offset + content_length > upload.length:
        raise TooLarge("past_upload_length", ERR_PAST_END)
    if upload.state == UploadState.COMPLETED or content_length == 0:
        return AppendResult.of(upload)
    lease = _take_writer_lease(upload.id, offset)
    try:
        return _stream_parts(
            upload, offset=offset, content_length=content_length, read=read, lease=lease
        )
    finally:
        _release_writer_lease(upload.id, lease)


def _take_writer_lease(upload_id: UUID, offset: int) -> UUID:
    """One PATCH at a time streams into an upload. A browser resends a request by itself when
    the connection it reused dies before any answer; without the lease both copies would be
    read (and one thrown away at commit), paying for the same bytes twice on a slow link."""
    now = timezone.now()
    lease = uuid.uuid4()
    taken = (
        Upload.objects.filter(id=upload_id, state=UploadState.ACTIVE, offset=offset)
        .filter(models.Q(writer_until__isnull=True) | models.Q(writer_until__lt=now))
        .update(writer=lease, writer_until=now + WRITER_LEASE)
    )
    if taken:
        return lease
    current = Upload.objects.filter(id=upload_id).values_list("offset", flat=True).first()
    if current is not None and current != offset:
        raise Conflict(
            "offset_mismatch",
            ERR_OFFSET_MISMATCH.format(offset=offset, current=current),
            upload_offset=current,
        )
    raise Busy("upload_busy", ERR_BUSY, headers={"Retry-After": str(BUSY_RETRY_AFTER_S)})


def _release_writer_lease(upload_id: UUID, lease: UUID) -> None:
    Upload.objects.filter(id=upload_id, writer=lease).update(writer=None, writer_until=None)


def _stream_parts(
    upload: Upload, *, offset: int, content_length: int, read: Callable[[int], bytes], lease: UUID
) -> AppendResult:
    position, remaining = offset, content_length
    # A request that carries the whole upload (the usual case) hashes as it streams, so the
    # completion need not read every part back from the store.
    digest = hashlib.sha256() if offset == 0 else None
    while remaining > 0:
        wanted = min(remaining, PART_BYTES)
        data = _read_part(read, wanted)
        if not data:
            break  # the client went away; what arrived before is committed
        if digest is not None:
            digest.update(data)
        end = position + len(data)
        key = part_key(upload.id, position, end)
        get_store().put_bytes(key, data, content_type=PART_CONTENT_TYPE)
        if end == upload.length:
            return _complete(upload, position=position, key=key, streamed=digest)
        upload = _commit_part(upload.id, start=position, end=end, key=key, lease=lease)
        position, remaining = end, remaining - len(data)
        if len(data) < wanted:
            break  # the body ended early (connection cut): the piece that arrived is kept
    return AppendResult.of(upload)


def _read_part(read: Callable[[int], bytes], size: int) -> bytes:
    """Up to `size` bytes; fewer only when the body ends or the connection breaks."""
    chunks, got = [], 0
    while got < size:
        try:
            chunk = read(min(READ_BYTES, size - got))
        except (UnreadablePostError, OSError):
            break
        if not chunk:
            break
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def _commit_part(upload_id: UUID, *, start: int, end: int, key: str, lease: UUID) -> Upload:
    with transaction.atomic():
        upload = Upload.objects.select_for_update().get(id=upload_id)
        if upload.state == UploadState.ACTIVE and upload.offset == start:
            upload.parts = [*upload.parts, [start, end]]
            upload.offset = end
            upload.expires_at = timezone.now() + UPLOAD_TTL
            fields = ["parts", "offset", "expires_at", "updated_at"]
            if upload.writer == lease:  # still ours: a committed part renews it
                upload.writer_until = timezone.now() + WRITER_LEASE
                fields.append("writer_until")
            upload.save(update_fields=fields)
            return upload
    # Another PATCH from the same offset won (a retry racing the request it replaced).
    _forget_part(upload, key)
    raise Conflict(
        "offset_mismatch",
        ERR_OFFSET_MISMATCH.format(offset=start, current=upload.offset),
        upload_offset=upload.offset,
    )


def _forget_part(upload: Upload, key: str) -> None:
    committed = {part_key(upload.id, start, end) for start, end in upload.parts}
    if key not in committed:
        get_store().delete(key)


def _part_keys(upload: Upload) -> list[str]:
    return [part_key(upload.id, start, end) for start, end in upload.parts]


def read_parts(keys: list[str], consume: Callable[[bytes], None]) -> None:
    """Feed every part's bytes, in order and a chunk at a time, to `consume`."""
    store = get_store()
    for key in keys:
        reader = store.get(key)
        if reader is None:
            raise StorageError(f"upload part {key} is missing")
        with reader:
            for chunk in reader.iter_chunks():
                consume(chunk)


def _complete(
    upload: Upload, *, position: int, key: str, streamed: "hashlib._Hash | None"
) -> AppendResult:
    """The last part is stored but not committed: check the whole upload against the slot,
    then commit the part, the upload and the photo in one transaction. `streamed` is the hash
    of every byte when this request carried them all; otherwise the parts are read back."""
    if streamed is not None:
        digest, size = streamed, upload.length
    else:
        digest, size = _hash_of_parts([*_part_keys(upload), key])
    photo = upload.photo
    if size != photo.declared_size or digest.hexdigest() != photo.declared_sha256:
        _discard(upload)
        raise IntegrityFailed("checksum_mismatch", ERR_CHECKSUM_MISMATCH)
    with transaction.atomic():
        locked = Upload.objects.select_for_update().get(id=upload.id)
        if locked.state != UploadState.ACTIVE or locked.offset != position:
            if locked.state == UploadState.COMPLETED:
                return AppendResult.of(locked)
            _forget_part(locked, key)
            raise Conflict(
                "offset_mismatch",
                ERR_OFFSET_MISMATCH.format(offset=position, current=locked.offset),
                upload_offset=locked.offset,
            )
        locked.parts = [*locked.parts, [position, locked.length]]
        locked.offset = locked.length
        locked.state = UploadState.COMPLETED
        claimed = Photo.objects.filter(
            id=photo.id, state__in=(PhotoState.DECLARED, PhotoState.UPLOADING)
        ).update(
            state=PhotoState.RECEIVED,
            sha256=digest.hexdigest(),
            received_at=timezone.now(),
            updated_at=timezone.now(),
        )
        if claimed:
            queue_processing_on_commit(photo.id)
        else:
            # Another upload of the same photo finished first; these bytes are a duplicate.
            transaction.on_commit(lambda: _delete_parts_quietly(locked.id))
            locked.parts = []
        locked.save(update_fields=["parts", "offset", "state", "updated_at"])
    return AppendResult.of(locked)


def queue_processing_on_commit(photo_id: int) -> None:
    """Like `delay_on_commit`, but a broker outage after the commit only logs: the photo is
    `received` in the database, which is the outbox `sweep_photos` reads, and the client's
    upload has succeeded, so it must not see an error."""
    enqueue_on_commit(PROCESS_PHOTO_TASK, photo_id)


def _hash_of_parts(keys: list[str]) -> tuple["hashlib._Hash", int]:
    digest, size = hashlib.sha256(), 0

    def consume(chunk: bytes) -> None:
        nonlocal size
        digest.update(chunk)
        size += len(chunk)

    read_parts(keys, consume)
    return digest, size


# --- ending uploads -----------------------------------------------------------------------


def _discard(upload: Upload) -> None:
    """End an upload whose bytes are refused: its parts go, its row goes (later requests to its
    URL are 404), and the photo slot is free for a new upload."""
    get_store().delete_prefix(parts_prefix(upload.id))
    with transaction.atomic():
        Upload.objects.filter(id=upload.id, state=UploadState.ACTIVE).delete()
        _release_photo(upload.photo_id)


def _release_photo(photo_id: int) -> None:
    still_uploading = Upload.objects.filter(photo_id=photo_id, state=UploadState.ACTIVE).exists()
    if not still_uploading:
        Photo.objects.filter(id=photo_id, state=PhotoState.UPLOADING).update(
            state=PhotoState.DECLARED, updated_at=timezone.now()
        )


def upload_terminate(*, user: AbstractBaseUser, upload_id: UUID) -> None:
    """DELETE (tus termination). A finished upload stays: its photo has arrived."""
    upload = access_upload_by_id(user, upload_id)
    if upload.state == UploadState.ACTIVE:
        _discard(upload)


def _delete_parts_quietly(upload_id: UUID) -> None:
    try:
        get_store().delete_prefix(parts_prefix(upload_id))
    except StorageError:
        # `uploads_expire` finds leftover parts of finished uploads and deletes them later.
        logger.warning("could not delete parts of upload %s; the sweeper will", upload_id)


def uploads_expire(*, now: datetime | None = None) -> int:
    """Abandoned uploads past their deadline: delete their parts, mark them expired, free the
    photo slot. Also removes parts that a finished upload left behind. Safe to run twice."""
    now = now or timezone.now()
    expired = 0
    for upload in Upload.objects.filter(state=UploadState.ACTIVE, expires_at__lte=now):
        get_store().delete_prefix(parts_prefix(upload.id))
        with transaction.atomic():
            changed = Upload.objects.filter(
                id=upload.id, state=UploadState.ACTIVE, expires_at__lte=now
            ).update(state=UploadState.EXPIRED, parts=[], updated_at=now)
            if changed:
                _release_photo(upload.photo_id)
                expired += 1
    leftovers = Upload.objects.filter(state=UploadState.COMPLETED).exclude(parts=[])
    for upload in leftovers.exclude(photo__state=PhotoState.RECEIVED):
        # The photo was assembled (or refused) by the worker; the parts are no longer needed.
        get_store().delete_prefix(parts_prefix(upload.id))
        Upload.objects.filter(id=upload.id).update(parts=[], updated_at=now)
    return expired
