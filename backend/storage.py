"""Object storage behind one small interface, and the only module that imports `minio`.

`get_store()` returns the store named by `settings.OBJECT_STORE_URL`:

- `s3://KEY:SECRET@HOST:PORT/BUCKET?secure=false&region=us-east-1` — any S3 API (MinIO in
  production, SeaweedFS in tests) through the minio SDK. Percent-encode `/` or `@` in the secret.
- `file:///ABSOLUTE/PATH` — a local folder for the embedded mode, with the same semantics.

Both backends behave identically: keys are validated by the same rule (`validate_key`), a missing
key is `None` from `get`/`stat`/`read_bytes` and a no-op for `delete`, every other failure is a
`StorageError`, and `StorageUnavailable` marks the retryable ones (connection refused, timeout,
5xx) so an API can answer 503 with `Retry-After`.

Provisioning is explicit: `ensure_bucket()` creates the bucket (idempotent; run it at deploy time
or from the test harness), while `check()` only reports a missing bucket. A typo in the URL is
then caught by `/healthz` instead of silently filling a new bucket. A local folder is local state,
so the folder backend creates its directory on demand.
"""

import hashlib
import io
import json
import os
import re
import tempfile
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from functools import cached_property, lru_cache
from pathlib import Path
from typing import BinaryIO
from urllib.parse import parse_qs, unquote, urlsplit

import certifi
import urllib3
from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils.http import content_disposition_header
from minio import Minio
from minio.deleteobjects import DeleteObject
from minio.error import MinioException, S3Error, ServerError

DEFAULT_CONTENT_TYPE = "application/octet-stream"
# Streams are copied in 64 KiB pieces: large enough for few system calls, small enough that
# reading never holds more than a sliver of a 25 MiB photo.
CHUNK_SIZE = 64 * 1024
# S3's smallest allowed multipart part. The SDK reads one part at a time; with an unknown length
# it briefly holds three (the part being sent, the next one, and its copy behind a look-ahead
# byte), so 15 MiB is what a streamed upload of any size costs in memory.
PART_SIZE = 5 * 1024 * 1024
# S3 limits keys to 1024 bytes of UTF-8.
MAX_KEY_BYTES = 1024
# Presigned S3 URLs cannot outlive 7 days (SigV4); the folder backend keeps the same limit.
MAX_LINK_LIFETIME = timedelta(days=7)
# A store on the same network completes a TCP handshake in milliseconds; 3 s covers a congested
# link without letting a dead host hold a web worker for the whole read timeout.
CONNECT_TIMEOUT_S = 3.0
# Three attempts with 0.4 s of backoff ride out a store restart without making a caller that
# hits an unreachable store wait more than a second before it gets StorageUnavailable.
HTTP_RETRIES = 2
HTTP_BACKOFF_S = 0.2
DELETE_BATCH = 1000  # S3 DeleteObjects accepts at most 1000 keys per request
S3_REGION = "us-east-1"  # MinIO's and SeaweedFS's default; naming it avoids a region lookup
SIGNED_LINK_SALT = "backend.storage.signed-object"

ERR_KEY_INVALID = "invalid object key {key!r}: {reason}"
ERR_PREFIX_INVALID = "invalid key prefix {prefix!r}: {reason}"
ERR_CONTENT_TYPE = "invalid content type {content_type!r}"
ERR_SHORT_STREAM = "stream for {key!r} ended after {got} bytes, {expected} were declared"
ERR_TOO_LARGE = "object {key!r} has {size} bytes, more than the {limit} allowed here"
ERR_LINK_LIFETIME = "a download link must live between 1 second and 7 days, not {expires}"
ERR_URL = "OBJECT_STORE_URL must be s3://KEY:SECRET@HOST:PORT/BUCKET or file:///PATH, got {url!r}"
ERR_UNREACHABLE = "object store at {endpoint} is unreachable ({reason}); retry later"
ERR_CREDENTIALS = (
    "object store at {endpoint} refused the credentials for bucket {bucket!r} ({code}): "
    "check the access key and secret in OBJECT_STORE_URL"
)
ERR_BUCKET_MISSING = (
    "bucket {bucket!r} does not exist at {endpoint}: create it with ensure_bucket() "
    "or check the bucket name in OBJECT_STORE_URL"
)
ERR_S3 = "object store at {endpoint} failed to {action} {target!r}: {code}: {message}"
ERR_VANISHED = "object {key!r} was deleted by another writer right after it was stored"
ERR_DELETE = "object store at {endpoint} failed to delete {count} objects, first: {first}"
ERR_FOLDER = "object folder {root} failed to {action} {target!r}: {reason}"
ERR_KEY_CONFLICT = "object folder {root} cannot store {key!r}: a key is also a folder of other keys"
ERR_NOT_AN_OBJECT = "object folder file {path} is not an object written by this store"

_CREDENTIAL_CODES = frozenset({"AccessDenied", "SignatureDoesNotMatch", "InvalidAccessKeyId"})
_FORBIDDEN_KEY_CHARS = re.compile(r"[\x00-\x1f\x7f\\]")
_CONTENT_TYPE = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+/[!#$%&'*+.^_`|~0-9A-Za-z-]+(;[ -~]*)?$")


class StorageError(Exception):
    """An object store failure other than a missing key. The message says what to fix."""


class StorageUnavailable(StorageError):
    """The store could not be reached or answered 5xx: the same call may succeed later."""


class InvalidKey(StorageError, ValueError):
    """A key or prefix that could escape the folder or that S3 would treat differently."""


class ObjectTooLarge(StorageError):
    """`read_bytes` found more bytes than its caller accepts."""


class ObjectLinkInvalid(Exception):
    """A signed object link that was tampered with or not made by this deployment."""


class ObjectLinkExpired(ObjectLinkInvalid):
    """A genuine signed object link whose lifetime is over."""


@dataclass(frozen=True)
class ObjectStat:
    key: str
    size: int
    content_type: str
    etag: str
    last_modified: datetime


@dataclass(frozen=True)
class ObjectLinkGrant:
    """What a folder-backend download link allows: one key, until `expires_at`."""

    key: str
    filename: str | None
    expires_at: datetime


def validate_key(key: str) -> str:
    """Refuse keys that could leave the folder root or that S3 and a file system would read
    differently: empty, absolute, `.`/`..` or hidden segments, backslashes, control characters."""
    reason = _key_problem(key, allow_partial=False)
    if reason:
        raise InvalidKey(ERR_KEY_INVALID.format(key=key, reason=reason))
    return key


def validate_prefix(prefix: str, *, allow_empty: bool) -> str:
    """A prefix may end in `/` or in the middle of a segment, but obeys the key rules otherwise."""
    if prefix == "":
        if allow_empty:
            return prefix
        raise InvalidKey(ERR_PREFIX_INVALID.format(prefix=prefix, reason="must not be empty"))
    reason = _key_problem(prefix, allow_partial=True)
    if reason:
        raise InvalidKey(ERR_PREFIX_INVALID.format(prefix=prefix, reason=reason))
    return prefix


def _key_problem(key: object, *, allow_partial: bool) -> str | None:
    if not isinstance(key, str) or not key:
        return "must be a non-empty string"
    if len(key.encode()) > MAX_KEY_BYTES:
        return f"longer than {MAX_KEY_BYTES} bytes"
    if _FORBIDDEN_KEY_CHARS.search(key):
        return "contains a control character or a backslash"
    segments = key.split("/")
    if allow_partial and segments[-1] == "":
        segments = segments[:-1]
    for segment in segments:
        if segment == "":
            return "has an empty path segment (leading, trailing or double slash)"
        if segment.startswith("."):
            return "has a segment starting with '.' (relative or hidden path)"
    return None


def _validate_content_type(content_type: str) -> str:
    if not isinstance(content_type, str) or not _CONTENT_TYPE.match(content_type):
        raise StorageError(ERR_CONTENT_TYPE.format(content_type=content_type))
    return content_type


def _validate_lifetime(expires: timedelta) -> None:
    if not timedelta(seconds=1) <= expires <= MAX_LINK_LIFETIME:
        raise StorageError(ERR_LINK_LIFETIME.format(expires=expires))


Stream = BinaryIO | Iterable[bytes]


class _Source:
    """Adapts a binary file or an iterable of byte chunks to `read(n)` returning exactly `n`
    bytes until the data ends, and refuses a stream shorter than its declared length.

    Each `read` builds its result in a BytesIO, whose `getvalue()` hands over the buffer without
    copying it, so a 5 MiB part costs 5 MiB and not twice that.
    """

    def __init__(self, stream: Stream, *, key: str, length: int | None) -> None:
        self._chunks = _chunks_of(stream)
        self._pending = b""
        self._key = key
        self._length = length
        self.count = 0

    def read(self, size: int = -1) -> bytes:
        wanted = self._wanted(size)
        buffer = io.BytesIO()
        while wanted > 0:
            chunk = self._pending or next(self._chunks, b"")
            if not chunk:
                break
            taken = chunk[:wanted] if len(chunk) > wanted else chunk
            self._pending = chunk[len(taken) :]
            buffer.write(taken)
            wanted -= len(taken)
        data = buffer.getvalue()
        self.count += len(data)
        if wanted > 0 and self._length is not None:
            raise StorageError(
                ERR_SHORT_STREAM.format(key=self._key, got=self.count, expected=self._length)
            )
        return data

    def _wanted(self, size: int) -> int:
        if self._length is None:
            return size if size >= 0 else 2**62
        remaining = self._length - self.count
        return min(size, remaining) if size >= 0 else remaining


def _chunks_of(stream: Stream) -> Iterator[bytes]:
    if isinstance(stream, bytes | bytearray | memoryview):
        raise TypeError("put() takes a stream; use put_bytes() for bytes")
    read = getattr(stream, "read", None)
    if read is not None:
        return iter(lambda: read(CHUNK_SIZE), b"")
    return iter(stream)


class ObjectReader:
    """An open object: `stat`, `read(n)`, `iter_chunks(size)`. Use it as a context manager (or
    call `close()`) so the file or HTTP connection is always released."""

    def __init__(
        self, *, stat: ObjectStat, read: Callable[[int], bytes], close: Callable[[], None]
    ) -> None:
        self.stat = stat
        self._read = read
        self._close = close
        self.closed = False

    def read(self, size: int = -1) -> bytes:
        return self._read(size)

    def iter_chunks(self, size: int = CHUNK_SIZE) -> Iterator[bytes]:
        return iter(lambda: self._read(size), b"")

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._close()

    def __enter__(self) -> "ObjectReader":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class ObjectStore(ABC):
    """The interface both backends implement with identical semantics."""

    @abstractmethod
    def put(
        self,
        key: str,
        stream: Stream,
        *,
        length: int | None = None,
        content_type: str = DEFAULT_CONTENT_TYPE,
    ) -> ObjectStat:
        """Store the stream under `key`, replacing any object there. With `length`, exactly that
        many bytes are read (fewer is a StorageError). Memory stays bounded whatever the size:
        a few 5 MiB parts for S3, one 64 KiB chunk for the folder."""

    @abstractmethod
    def get(self, key: str) -> ObjectReader | None: ...

    @abstractmethod
    def stat(self, key: str) -> ObjectStat | None: ...

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove the object; removing a missing key is not an error."""

    @abstractmethod
    def list_keys(self, prefix: str = "") -> Iterator[str]:
        """Keys starting with `prefix`, in lexicographic order."""

    @abstractmethod
    def presigned_get(self, key: str, *, expires: timedelta, filename: str | None = None) -> str:
        """A URL that downloads the object without credentials until `expires` has passed;
        with `filename`, the browser saves it under that name."""

    @abstractmethod
    def check(self) -> None:
        """Raise StorageError unless the store is reachable, the credentials are accepted and
        the bucket exists."""

    @abstractmethod
    def ensure_bucket(self) -> None:
        """Create the bucket (folder) if it does not exist; idempotent."""

    def put_bytes(
        self, key: str, data: bytes, *, content_type: str = DEFAULT_CONTENT_TYPE
    ) -> ObjectStat:
        return self.put(key, io.BytesIO(data), length=len(data), content_type=content_type)

    def read_bytes(self, key: str, *, max_bytes: int) -> bytes | None:
        """The whole object, refusing (ObjectTooLarge) one bigger than `max_bytes`."""
        reader = self.get(key)
        if reader is None:
            return None
        with reader:
            if reader.stat.size > max_bytes:
                raise ObjectTooLarge(
                    ERR_TOO_LARGE.format(key=key, size=reader.stat.size, limit=max_bytes)
                )
            data = reader.read(max_bytes + 1)
        if len(data) > max_bytes:
            raise ObjectTooLarge(ERR_TOO_LARGE.format(key=key, size=len(data), limit=max_bytes))
        return data

    def delete_prefix(self, prefix: str) -> int:
        """Delete every key starting with the (non-empty) prefix; returns how many."""
        validate_prefix(prefix, allow_empty=False)
        deleted = 0
        for key in list(self.list_keys(prefix)):
            self.delete(key)
            deleted += 1
        return deleted


class _ObjectMissing(StorageError):
    """Internal: the S3 call answered NoSuchKey; public methods turn it into None."""


class S3Store(ObjectStore):
    def __init__(
        self,
        *,
        endpoint: str,
        access_key: str,
        secret_key: str,
        bucket: str,
        secure: bool,
        region: str = S3_REGION,
        timeout_s: float,
        public_url: str = "",
    ) -> None:
        self.endpoint = endpoint
        # Browsers cannot reach the store by its internal name (e.g. minio:9000 inside compose):
        # presigned links are signed for the public address instead. Signing is offline (the
        # region is known), so this client never opens a connection.
        self._public = urlsplit(public_url) if public_url else None
        self.bucket = bucket
        self._access_key = access_key
        self._secret_key = secret_key
        self._secure = secure
        self._region = region
        self._timeout_s = timeout_s

    def __repr__(self) -> str:  # never show the secret
        scheme = "https" if self._secure else "http"
        return f"S3Store({scheme}://{self.endpoint}/{self.bucket})"

    @cached_property
    def _client(self) -> Minio:
        # Created on first use, so a forked Celery worker builds its own connection pool.
        http = urllib3.PoolManager(
            timeout=urllib3.Timeout(
                connect=min(CONNECT_TIMEOUT_S, self._timeout_s), read=self._timeout_s
            ),
            maxsize=10,
            cert_reqs="CERT_REQUIRED",
            ca_certs=os.environ.get("SSL_CERT_FILE") or certifi.where(),
            retries=urllib3.Retry(
                total=HTTP_RETRIES,
                backoff_factor=HTTP_BACKOFF_S,
                status_forcelist=(500, 502, 503, 504),
            ),
        )
        return Minio(
            self.endpoint,
            access_key=self._access_key,
            secret_key=self._secret_key,
            secure=self._secure,
            region=self._region,
            http_client=http,
        )

    @contextmanager
    def _translated(self, action: str, target: str) -> Iterator[None]:
        try:
            yield
        except StorageError:
            raise
        except S3Error as exc:
            raise self._error_for(exc, action, target) from exc
        except (urllib3.exceptions.HTTPError, ServerError) as exc:
            reason = str(getattr(exc, "reason", None) or exc)
            raise StorageUnavailable(
                ERR_UNREACHABLE.format(endpoint=self.endpoint, reason=reason)
            ) from exc
        except MinioException as exc:
            raise StorageError(
                ERR_S3.format(
                    endpoint=self.endpoint,
                    action=action,
                    target=target,
                    code=type(exc).__name__,
                    message=exc,
                )
            ) from exc

    def _error_for(self, exc: S3Error, action: str, target: str) -> StorageError:
        if exc.code == "NoSuchKey":
            return _ObjectMissing(target)
        if exc.code == "NoSuchBucket":
            return StorageError(
                ERR_BUCKET_MISSING.format(bucket=self.bucket, endpoint=self.endpoint)
            )
        if exc.code in _CREDENTIAL_CODES:
            return StorageError(
                ERR_CREDENTIALS.format(endpoint=self.endpoint, bucket=self.bucket, code=exc.code)
            )
        message = ERR_S3.format(
            endpoint=self.endpoint, action=action, target=target, code=exc.code, message=exc.message
        )
        status = exc.response.status if exc.response is not None else 0
        return StorageUnavailable(message) if status >= 500 else StorageError(message)

    def put(
        self,
        key: str,
        stream: Stream,
        *,
        length: int | None = None,
        content_type: str = DEFAULT_CONTENT_TYPE,
    ) -> ObjectStat:
        validate_key(key)
        _validate_content_type(content_type)
        source = _Source(stream, key=key, length=length)
        with self._translated("put", key):
            # One upload thread: parallel part uploads would queue every part read ahead of
            # the network, and memory would grow with the object instead of staying bounded.
            self._client.put_object(
                self.bucket,
                key,
                source,
                length if length is not None else -1,
                content_type=content_type,
                part_size=PART_SIZE,
                num_parallel_uploads=1,
            )
        stat = self.stat(key)
        if stat is None:  # deleted by someone else between our PUT and HEAD
            raise StorageError(ERR_VANISHED.format(key=key))
        return stat

    def get(self, key: str) -> ObjectReader | None:
        validate_key(key)
        try:
            with self._translated("get", key):
                response = self._client.get_object(self.bucket, key)
        except _ObjectMissing:
            return None

        def release() -> None:
            response.close()
            response.release_conn()

        try:
            stat = self._stat_from_headers(key, response.headers)
        except (KeyError, ValueError, TypeError) as exc:
            release()
            raise StorageError(
                ERR_S3.format(
                    endpoint=self.endpoint,
                    action="get",
                    target=key,
                    code="BadHeaders",
                    message=exc,
                )
            ) from exc

        def read(size: int) -> bytes:
            with self._translated("read", key):
                return response.read(size if size >= 0 else None)

        return ObjectReader(stat=stat, read=read, close=release)

    @staticmethod
    def _stat_from_headers(key: str, headers: urllib3.HTTPHeaderDict) -> ObjectStat:
        return ObjectStat(
            key=key,
            size=int(headers["Content-Length"]),
            content_type=headers.get("Content-Type") or DEFAULT_CONTENT_TYPE,
            etag=(headers.get("ETag") or "").strip('"'),
            last_modified=parsedate_to_datetime(headers["Last-Modified"]),
        )

    def stat(self, key: str) -> ObjectStat | None:
        validate_key(key)
        try:
            with self._translated("stat", key):
                result = self._client.stat_object(self.bucket, key)
        except _ObjectMissing:
            return None
        return ObjectStat(
            key=key,
            size=int(result.size or 0),
            content_type=result.content_type or DEFAULT_CONTENT_TYPE,
            etag=(result.etag or "").strip('"'),
            last_modified=result.last_modified or datetime.now(UTC),
        )

    def delete(self, key: str) -> None:
        validate_key(key)
        with self._translated("delete", key):
            self._client.remove_object(self.bucket, key)

    def delete_prefix(self, prefix: str) -> int:
        validate_prefix(prefix, allow_empty=False)
        deleted = 0
        batch: list[DeleteObject] = []
        for key in self.list_keys(prefix):
            batch.append(DeleteObject(key))
            if len(batch) == DELETE_BATCH:
                deleted += self._delete_batch(prefix, batch)
                batch = []
        if batch:
            deleted += self._delete_batch(prefix, batch)
        return deleted

    def _delete_batch(self, prefix: str, batch: list[DeleteObject]) -> int:
        with self._translated("delete", prefix):
            # remove_objects is lazy: the request is sent while its errors are consumed.
            errors = list(self._client.remove_objects(self.bucket, batch))
        if errors:
            raise StorageError(
                ERR_DELETE.format(endpoint=self.endpoint, count=len(errors), first=errors[0])
            )
        return len(batch)

    def list_keys(self, prefix: str = "") -> Iterator[str]:
        validate_prefix(prefix, allow_empty=True)
        with self._translated("list", prefix):
            for item in self._client.list_objects(
                self.bucket, prefix=prefix or None, recursive=True
            ):
                if not item.is_dir:
                    yield item.object_name

    def presigned_get(self, key: str, *, expires: timedelta, filename: str | None = None) -> str:
        validate_key(key)
        _validate_lifetime(expires)
        response_headers = None
        if filename:
            response_headers = {
                "response-content-disposition": content_disposition_header(True, filename)
            }
        with self._translated("sign", key):
            return self._signing_client.presigned_get_object(
                self.bucket, key, expires=expires, response_headers=response_headers
            )

    @cached_property
    def _signing_client(self) -> Minio:
        if self._public is None:
            return self._client
        return Minio(
            self._public.netloc,
            access_key=self._access_key,
            secret_key=self._secret_key,
            secure=self._public.scheme == "https",
            region=self._region,
        )

    def check(self) -> None:
        with self._translated("check", self.bucket):
            exists = self._client.bucket_exists(self.bucket)
        if not exists:
            raise StorageError(
                ERR_BUCKET_MISSING.format(bucket=self.bucket, endpoint=self.endpoint)
            )

    def ensure_bucket(self) -> None:
        with self._translated("create bucket", self.bucket):
            if self._client.bucket_exists(self.bucket):
                return
            try:
                self._client.make_bucket(self.bucket)
            except S3Error as exc:
                if exc.code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                    raise


# Folder objects are one file each: the bytes, then a JSON trailer (content type, etag), its
# length and a magic marker. One file means one os.replace publishes data and metadata together.
_MAGIC = b"WUYEOBJ1"
_TRAILER_LEN = 4


class FolderStore(ObjectStore):
    def __init__(self, *, root: Path) -> None:
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"FolderStore({self.root})"

    def _path(self, key: str) -> Path:
        # validate_key refuses '..', hidden and empty segments, so the path stays under root.
        return self.root.joinpath(*validate_key(key).split("/"))

    @contextmanager
    def _translated(self, action: str, target: str) -> Iterator[None]:
        try:
            yield
        except StorageError:
            raise
        except (NotADirectoryError, IsADirectoryError, FileExistsError) as exc:
            raise StorageError(ERR_KEY_CONFLICT.format(root=self.root, key=target)) from exc
        except OSError as exc:
            raise StorageError(
                ERR_FOLDER.format(root=self.root, action=action, target=target, reason=exc)
            ) from exc

    def put(
        self,
        key: str,
        stream: Stream,
        *,
        length: int | None = None,
        content_type: str = DEFAULT_CONTENT_TYPE,
    ) -> ObjectStat:
        path = self._path(key)
        _validate_content_type(content_type)
        source = _Source(stream, key=key, length=length)
        with self._translated("put", key):
            path.parent.mkdir(parents=True, exist_ok=True)
            descriptor, temp_name = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            try:
                with os.fdopen(descriptor, "wb") as temp:
                    digest = hashlib.md5(usedforsecurity=False)  # S3's single-part ETag
                    while chunk := source.read(CHUNK_SIZE):
                        digest.update(chunk)
                        temp.write(chunk)
                    trailer = json.dumps(
                        {"content_type": content_type, "etag": digest.hexdigest()}
                    ).encode()
                    temp.write(trailer + len(trailer).to_bytes(_TRAILER_LEN, "big") + _MAGIC)
                    temp.flush()
                    os.fsync(temp.fileno())  # the bytes are on disk before the name points to them
                os.replace(temp_name, path)
            except BaseException:
                Path(temp_name).unlink(missing_ok=True)
                raise
        return self._stat_of_open(key, path)

    def _stat_of_open(self, key: str, path: Path) -> ObjectStat:
        with self._translated("stat", key), path.open("rb") as file:
            return self._read_stat(key, file)

    def _read_stat(self, key: str, file: BinaryIO) -> ObjectStat:
        info = os.fstat(file.fileno())
        tail = len(_MAGIC) + _TRAILER_LEN
        if info.st_size < tail:
            raise StorageError(ERR_NOT_AN_OBJECT.format(path=file.name))
        file.seek(info.st_size - tail)
        footer = file.read(tail)
        trailer_len = int.from_bytes(footer[:_TRAILER_LEN], "big")
        if footer[_TRAILER_LEN:] != _MAGIC or trailer_len > info.st_size - tail:
            raise StorageError(ERR_NOT_AN_OBJECT.format(path=file.name))
        size = info.st_size - tail - trailer_len
        file.seek(size)
        try:
            trailer = json.loads(file.read(trailer_len))
        except ValueError as exc:
            raise StorageError(ERR_NOT_AN_OBJECT.format(path=file.name)) from exc
        file.seek(0)
        return ObjectStat(
            key=key,
            size=size,
            content_type=trailer["content_type"],
            etag=trailer["etag"],
            last_modified=datetime.fromtimestamp(info.st_mtime, tz=UTC),
        )

    def _open(self, key: str) -> BinaryIO | None:
        path = self._path(key)
        with self._translated("open", key):
            try:
                return path.open("rb")
            except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
                return None  # a key that is only a folder of other keys does not exist either

    def get(self, key: str) -> ObjectReader | None:
        file = self._open(key)
        if file is None:
            return None
        try:
            with self._translated("get", key):
                stat = self._read_stat(key, file)
        except BaseException:
            file.close()
            raise
        remaining = stat.size

        def read(size: int) -> bytes:
            nonlocal remaining
            wanted = remaining if size < 0 else min(size, remaining)
            with self._translated("read", key):
                data = file.read(wanted)
            remaining -= len(data)
            return data

        return ObjectReader(stat=stat, read=read, close=file.close)

    def stat(self, key: str) -> ObjectStat | None:
        file = self._open(key)
        if file is None:
            return None
        with file, self._translated("stat", key):
            return self._read_stat(key, file)

    def delete(self, key: str) -> None:
        path = self._path(key)
        with self._translated("delete", key):
            try:
                path.unlink()
            except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
                return
        self._prune_empty_parents(path.parent)

    def _prune_empty_parents(self, folder: Path) -> None:
        while folder != self.root and self.root in folder.parents:
            try:
                folder.rmdir()
            except OSError:  # not empty, or a concurrent put just used it: keep it
                return
            folder = folder.parent

    def list_keys(self, prefix: str = "") -> Iterator[str]:
        validate_prefix(prefix, allow_empty=True)
        folder_part = prefix.rpartition("/")[0]
        start = self.root.joinpath(*folder_part.split("/")) if folder_part else self.root
        with self._translated("list", prefix):
            keys = sorted(key for key in self._walk(start) if key.startswith(prefix))
        yield from keys

    def _walk(self, start: Path) -> Iterator[str]:
        for folder, dirs, files in os.walk(start):
            dirs[:] = [name for name in dirs if not name.startswith(".")]
            relative = Path(folder).relative_to(self.root).as_posix()
            for name in files:
                if not name.startswith("."):  # temp files of unfinished puts
                    yield name if relative == "." else f"{relative}/{name}"

    def presigned_get(self, key: str, *, expires: timedelta, filename: str | None = None) -> str:
        validate_key(key)
        _validate_lifetime(expires)
        payload = {"k": key, "f": filename, "e": int(time.time() + expires.total_seconds())}
        token = signing.dumps(payload, salt=SIGNED_LINK_SALT, compress=True)
        return reverse("signed-object", kwargs={"token": token})

    def check(self) -> None:
        self.ensure_bucket()
        with (
            self._translated("write a probe to", str(self.root)),
            tempfile.TemporaryFile(dir=self.root, prefix=".probe-") as probe,
        ):
            probe.write(b"ok")

    def ensure_bucket(self) -> None:
        with self._translated("create", str(self.root)):
            self.root.mkdir(parents=True, exist_ok=True)


def read_object_link(token: str) -> ObjectLinkGrant:
    """Decode a folder-backend download token: ObjectLinkInvalid if it was tampered with,
    ObjectLinkExpired if it is genuine but too old."""
    try:
        payload = signing.loads(token, salt=SIGNED_LINK_SALT)
        key, filename, expires_at = payload["k"], payload["f"], int(payload["e"])
    except (signing.BadSignature, KeyError, TypeError, ValueError) as exc:
        raise ObjectLinkInvalid(token) from exc
    if time.time() > expires_at:
        raise ObjectLinkExpired(token)
    return ObjectLinkGrant(
        key=key, filename=filename, expires_at=datetime.fromtimestamp(expires_at, tz=UTC)
    )


def store_from_url(url: str, *, timeout_s: float, public_url: str = "") -> ObjectStore:
    """Build (without any network or disk access) the store an OBJECT_STORE_URL names.
    `public_url` (OBJECT_STORE_PUBLIC_URL) is the address browsers use for presigned links."""
    parts = urlsplit(url)
    if parts.scheme == "file" and parts.netloc in ("", "localhost") and parts.path:
        return FolderStore(root=Path(unquote(parts.path)))
    if parts.scheme == "s3":
        bucket = parts.path.strip("/")
        if not (parts.hostname and parts.username and parts.password and bucket):
            raise StorageError(ERR_URL.format(url=_redacted(url)))
        options = {name: values[-1] for name, values in parse_qs(parts.query).items()}
        endpoint = parts.hostname if parts.port is None else f"{parts.hostname}:{parts.port}"
        return S3Store(
            endpoint=endpoint,
            access_key=unquote(parts.username),
            secret_key=unquote(parts.password),
            bucket=bucket,
            secure=options.get("secure", "true").lower() not in ("false", "0", "no"),
            region=options.get("region", S3_REGION),
            timeout_s=timeout_s,
            public_url=public_url,
        )
    raise StorageError(ERR_URL.format(url=_redacted(url)))


def _redacted(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@", 1)
    return url


@lru_cache(maxsize=8)
def _cached_store(url: str, timeout_s: float, public_url: str) -> ObjectStore:
    return store_from_url(url, timeout_s=timeout_s, public_url=public_url)


def get_store() -> ObjectStore:
    """The store configured in settings, one instance per URL (so its connection pool is
    shared, and `override_settings(OBJECT_STORE_URL=...)` gets its own)."""
    return _cached_store(
        settings.OBJECT_STORE_URL,
        settings.OBJECT_STORE_TIMEOUT_S,
        settings.OBJECT_STORE_PUBLIC_URL,
    )


def reset_store() -> None:
    """Forget cached stores (tests that restart the object store, forked processes)."""
    _cached_store.cache_clear()
