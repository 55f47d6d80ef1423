"""One storage suite, run against the folder backend and against SeaweedFS through minio."""

import hashlib
import io
import time
import tracemalloc
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest

from backend import storage
from backend.storage import (
    FolderStore,
    InvalidKey,
    ObjectTooLarge,
    S3Store,
    StorageError,
    StorageUnavailable,
    store_from_url,
)
from tests.harness.services import free_port

MiB = 1024 * 1024
CHUNK = 64 * 1024
# With an unknown length the minio SDK holds at most three parts at once: the part on the wire,
# the next one being read, and its copy when the look-ahead byte is prepended (15 MiB measured).
# One more MiB covers HTTP buffers; a buffering upload of the 30 MB stream would need 30 MB.
STREAM_MEMORY_LIMIT = 3 * storage.PART_SIZE + MiB
LARGE_SIZE = 30 * 1000 * 1000


@pytest.fixture(params=["folder", "s3"])
def store(request: pytest.FixtureRequest) -> storage.ObjectStore:
    return request.getfixturevalue(f"{request.param}_store")


def chunks_of(total: int, *, chunk: int = CHUNK) -> Iterator[bytes]:
    """Deterministic, incompressible-looking bytes, produced one chunk at a time."""
    produced = 0
    counter = 0
    while produced < total:
        block = hashlib.sha256(counter.to_bytes(8, "big")).digest() * (chunk // 32)
        block = block[: min(chunk, total - produced)]
        produced += len(block)
        counter += 1
        yield block


def sha256_of(chunks: Iterator[bytes]) -> str:
    digest = hashlib.sha256()
    for piece in chunks:
        digest.update(piece)
    return digest.hexdigest()


def peak_memory_during(action: Callable[[], object]) -> int:
    tracemalloc.start()
    try:
        action()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def download(url: str, client) -> tuple[int, bytes, dict[str, str]]:
    """Fetch a presigned link the way a browser would: S3 links from the store itself, folder
    links from our own `/objects/<token>` view."""
    if url.startswith("http"):
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read(), dict(response.headers)
    response = client.get(url)
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return response.status_code, body, dict(response.headers)


@pytest.fixture
def serve_from(settings):
    """Point the app at `store`, so `/objects/<token>` reads the same folder the test wrote."""

    def use(store: storage.ObjectStore) -> None:
        if isinstance(store, FolderStore):
            settings.OBJECT_STORE_URL = f"file://{store.root}"

    return use


def test_put_get_stat_delete_round_trip(store):
    data = "物业巡查照片说明 — round trip".encode()

    written = store.put_bytes("reports/2025/a.txt", data, content_type="text/plain; charset=utf-8")

    assert written.key == "reports/2025/a.txt"
    assert written.size == len(data)
    assert written.content_type == "text/plain; charset=utf-8"
    assert written.etag == hashlib.md5(data).hexdigest()
    assert store.stat("reports/2025/a.txt") == written
    with store.get("reports/2025/a.txt") as reader:
        assert reader.stat == written
        assert reader.read() == data
    assert reader.closed
    assert store.read_bytes("reports/2025/a.txt", max_bytes=len(data)) == data

    store.delete("reports/2025/a.txt")

    assert store.get("reports/2025/a.txt") is None
    assert store.stat("reports/2025/a.txt") is None


def test_put_replaces_an_existing_object(store):
    store.put_bytes("k/v", b"first version", content_type="text/plain")

    store.put_bytes("k/v", b"second", content_type="application/json")

    assert store.read_bytes("k/v", max_bytes=100) == b"second"
    assert store.stat("k/v").content_type == "application/json"


def test_put_with_unknown_length_streams_from_a_generator(store):
    # Uneven chunk sizes, and one chunk larger than a read, exercise the re-chunking.
    pieces = [b"a" * 10, b"b" * 200_000, b"", b"c" * 70_001, b"d"]
    expected = b"".join(pieces)

    written = store.put("gen/object.bin", iter(pieces), content_type="application/octet-stream")

    assert written.size == len(expected)
    with store.get("gen/object.bin") as reader:
        assert b"".join(reader.iter_chunks(1000)) == expected


def test_put_from_a_file_with_known_length(store):
    written = store.put("file/object.bin", io.BytesIO(b"0123456789"), length=10)

    assert written.size == 10
    assert store.read_bytes("file/object.bin", max_bytes=10) == b"0123456789"


def test_stream_shorter_than_its_declared_length_stores_nothing(store):
    with pytest.raises(StorageError, match="ended after 3 bytes, 10 were declared"):
        store.put("short/object.bin", io.BytesIO(b"abc"), length=10)

    assert store.stat("short/object.bin") is None


def test_streamed_30_mb_put_keeps_memory_bounded(store):
    def upload() -> None:
        store.put("large/30mb.bin", chunks_of(LARGE_SIZE), content_type="application/zip")

    peak = peak_memory_during(upload)

    assert peak < STREAM_MEMORY_LIMIT, f"peak {peak / MiB:.1f} MiB"
    stat = store.stat("large/30mb.bin")
    assert (stat.size, stat.content_type) == (LARGE_SIZE, "application/zip")
    with store.get("large/30mb.bin") as reader:
        assert sha256_of(reader.iter_chunks(CHUNK)) == sha256_of(chunks_of(LARGE_SIZE))


def test_memory_probe_catches_an_upload_that_buffers_the_whole_stream():
    # The bound above is meaningful only if this measurement sees a buffered 30 MB.
    peak = peak_memory_during(lambda: b"".join(chunks_of(LARGE_SIZE)))

    assert peak > STREAM_MEMORY_LIMIT


def test_missing_key_is_none_and_deleting_it_is_not_an_error(store):
    assert store.get("nothing/here") is None
    assert store.stat("nothing/here") is None
    assert store.read_bytes("nothing/here", max_bytes=10) is None

    store.delete("nothing/here")


def test_read_bytes_refuses_an_object_above_the_limit(store):
    store.put_bytes("big/object", b"x" * 101)

    with pytest.raises(ObjectTooLarge, match="101 bytes, more than the 100 allowed"):
        store.read_bytes("big/object", max_bytes=100)


def test_list_keys_and_delete_prefix(store):
    for key in ("a/1", "a/2", "a/sub/3", "ab/4", "b/5"):
        store.put_bytes(key, key.encode())

    assert list(store.list_keys("a/")) == ["a/1", "a/2", "a/sub/3"]
    assert list(store.list_keys("a")) == ["a/1", "a/2", "a/sub/3", "ab/4"]
    assert list(store.list_keys("a/s")) == ["a/sub/3"]
    assert list(store.list_keys()) == ["a/1", "a/2", "a/sub/3", "ab/4", "b/5"]

    assert store.delete_prefix("a/") == 3

    assert list(store.list_keys()) == ["ab/4", "b/5"]
    assert store.delete_prefix("zzz/") == 0


def test_delete_prefix_refuses_the_empty_prefix(store):
    store.put_bytes("keep/me", b"1")

    with pytest.raises(InvalidKey, match="must not be empty"):
        store.delete_prefix("")

    assert list(store.list_keys()) == ["keep/me"]


@pytest.mark.parametrize(
    "key",
    [
        "../escape",
        "a/../../escape",
        "/etc/passwd",
        "a//b",
        "a/./b",
        ".hidden",
        "trailing/",
        "back\\slash",
        "nul\x00byte",
        "",
        "x" * 1025,
    ],
)
def test_unsafe_keys_are_refused_before_touching_the_store(store, key, tmp_path):
    for operation in (
        lambda: store.put_bytes(key, b"data"),
        lambda: store.get(key),
        lambda: store.stat(key),
        lambda: store.delete(key),
        lambda: store.presigned_get(key, expires=timedelta(minutes=1)),
    ):
        with pytest.raises(InvalidKey):
            operation()

    assert list(store.list_keys()) == []
    assert not (tmp_path / "escape").exists()


def test_prefix_with_parent_segment_is_refused(store):
    with pytest.raises(InvalidKey):
        list(store.list_keys("../"))


def test_presigned_link_downloads_the_object_under_the_given_filename(store, client, serve_from):
    serve_from(store)
    store.put_bytes("photos/p1/original", b"\xff\xd8jpeg bytes", content_type="image/jpeg")

    url = store.presigned_get(
        "photos/p1/original", expires=timedelta(minutes=5), filename="巡查照片.jpg"
    )
    status, body, headers = download(url, client)

    assert status == 200
    assert body == b"\xff\xd8jpeg bytes"
    assert headers["Content-Type"] == "image/jpeg"
    assert headers["Content-Disposition"] == (
        "attachment; filename*=utf-8''%E5%B7%A1%E6%9F%A5%E7%85%A7%E7%89%87.jpg"
    )


def test_link_lifetime_is_limited_to_seven_days(store):
    with pytest.raises(StorageError, match="between 1 second and 7 days"):
        store.presigned_get("a/b", expires=timedelta(days=8))


def test_folder_link_after_its_expiry_is_410(folder_store, client, serve_from, monkeypatch):
    serve_from(folder_store)
    folder_store.put_bytes("a/b", b"secret")
    url = folder_store.presigned_get("a/b", expires=timedelta(seconds=60))
    later = time.time() + 61
    monkeypatch.setattr(storage, "time", type("Clock", (), {"time": staticmethod(lambda: later)}))

    response = client.get(url)

    assert response.status_code == 410
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "link_expired"


def test_folder_link_that_was_tampered_with_is_403(folder_store, client, serve_from):
    serve_from(folder_store)
    folder_store.put_bytes("a/b", b"secret")
    folder_store.put_bytes("a/c", b"other")
    url = folder_store.presigned_get("a/b", expires=timedelta(minutes=5))
    token = url.rstrip("/").rsplit("/", 1)[1]
    forged = token[:-1] + ("A" if token[-1] != "A" else "B")

    response = client.get(url.replace(token, forged))

    assert response.status_code == 403
    assert response.json()["code"] == "link_invalid"


def test_folder_link_to_a_deleted_object_is_404(folder_store, client, serve_from):
    serve_from(folder_store)
    folder_store.put_bytes("a/b", b"secret")
    url = folder_store.presigned_get("a/b", expires=timedelta(minutes=5))
    folder_store.delete("a/b")

    response = client.get(url)

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_folder_link_is_served_without_filename_inline_and_sandboxed(
    folder_store, client, serve_from
):
    serve_from(folder_store)
    folder_store.put_bytes("a/page", b"<script>alert(1)</script>", content_type="text/html")

    response = client.get(folder_store.presigned_get("a/page", expires=timedelta(minutes=5)))

    assert response.status_code == 200
    assert "Content-Disposition" not in response
    assert response["Content-Security-Policy"] == "sandbox"
    assert response["Content-Length"] == "25"


def test_folder_key_that_is_also_a_folder_is_a_clear_error(folder_store):
    # S3 allows "a" and "a/b" side by side; a file system cannot. Object keys in this project
    # never do this, so the folder backend says so instead of pretending.
    folder_store.put_bytes("a", b"file")

    with pytest.raises(StorageError, match="a key is also a folder of other keys"):
        folder_store.put_bytes("a/b", b"nested")


def test_folder_put_leaves_no_temporary_files(folder_store):
    folder_store.put_bytes("x/y", b"data")
    with pytest.raises(StorageError):
        folder_store.put("x/z", io.BytesIO(b"ab"), length=5)

    assert sorted(path.name for path in (folder_store.root / "x").iterdir()) == ["y"]


def test_wrong_secret_is_a_clear_storage_error(s3_store, services):
    wrong = store_from_url(
        services.s3_url(bucket=s3_store.bucket, secret="not-the-secret-123"), timeout_s=5.0
    )

    with pytest.raises(StorageError) as raised:
        wrong.check()
    with pytest.raises(StorageError, match="refused the credentials"):
        wrong.put_bytes("a/b", b"data")

    assert not isinstance(raised.value, StorageUnavailable)
    assert "refused the credentials for bucket" in str(raised.value)
    assert "not-the-secret-123" not in str(raised.value)


def test_check_reports_a_missing_bucket(services, s3_store):
    absent = store_from_url(services.s3_url(bucket="never-created-bucket"), timeout_s=5.0)

    with pytest.raises(StorageError, match="bucket 'never-created-bucket' does not exist"):
        absent.check()
    s3_store.check()


def test_unreachable_endpoint_is_storage_unavailable_without_waiting_for_the_timeout():
    unreachable = store_from_url(f"s3://key:secret@127.0.0.1:{free_port()}/bucket", timeout_s=30.0)
    started = time.monotonic()

    with pytest.raises(StorageUnavailable, match="is unreachable"):
        unreachable.check()
    with pytest.raises(StorageUnavailable):
        unreachable.put_bytes("a/b", b"data")

    # A refused connection is retried twice with 0.4 s of backoff, never for the 30 s timeout.
    assert time.monotonic() - started < 5


def test_store_url_parsing(tmp_path):
    folder = store_from_url(f"file://{tmp_path}/objects", timeout_s=1.0)
    s3 = store_from_url("s3://AK:s%2Fcret@minio:9000/photos?secure=false", timeout_s=1.0)

    assert isinstance(folder, FolderStore)
    assert folder.root == tmp_path / "objects"
    assert isinstance(s3, S3Store)
    assert (s3.endpoint, s3.bucket) == ("minio:9000", "photos")
    assert "cret" not in repr(s3)
    with pytest.raises(
        StorageError, match=r"must be s3://.*got 's3://AK:\*\*\*@minio:9000/'"
    ) as raised:
        store_from_url("s3://AK:topsecret@minio:9000/", timeout_s=1.0)
    assert "topsecret" not in str(raised.value)


def test_get_store_follows_the_settings(settings, tmp_path):
    settings.OBJECT_STORE_URL = f"file://{tmp_path}"

    store = storage.get_store()

    assert isinstance(store, FolderStore)
    assert store.root == tmp_path
    assert storage.get_store() is store


@pytest.mark.slow
def test_stopped_store_is_unavailable_and_serves_again_after_restart(services, s3_store):
    s3_store.put_bytes("kept/object", b"survives a restart")
    services.s3.stop()
    try:
        with pytest.raises(StorageUnavailable, match="is unreachable"):
            s3_store.stat("kept/object")
    finally:
        services.s3.start()

    assert s3_store.read_bytes("kept/object", max_bytes=100) == b"survives a restart"


def test_s3_links_are_signed_for_the_public_address(s3_store, services):
    # Given the store reachable internally as 127.0.0.1 and publicly (to browsers) as localhost
    internal = s3_store.endpoint
    port = internal.rsplit(":", 1)[1]
    url_with_public = services.s3_url(bucket=s3_store.bucket)
    public_store = store_from_url(
        url_with_public, timeout_s=10.0, public_url=f"http://localhost:{port}"
    )
    s3_store.put_bytes("photos/p9/thumb.jpg", b"thumb bytes", content_type="image/jpeg")

    # When a link is made
    url = public_store.presigned_get("photos/p9/thumb.jpg", expires=timedelta(minutes=5))

    # Then it names the public host and the store accepts its signature there
    assert url.startswith(f"http://localhost:{port}/")
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.read() == b"thumb bytes"
    # and the same signature is refused for the internal host (the host is signed)
    internal_url = url.replace(f"localhost:{port}", internal, 1)
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(internal_url, timeout=10)
    assert refused.value.code == 403
