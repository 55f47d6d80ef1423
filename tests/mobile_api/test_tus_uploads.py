"""tus 1.0.0 at /api/mobile/v1/uploads/ as a stock client drives it."""

import io
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from backend.exceptions import Busy
from backend.storage import StorageUnavailable, get_store
from inspections.models import Photo, PhotoState, Upload, UploadState
from inspections.services import uploads as upload_service
from tests.mobile_api.phone import API, TUS, jpeg, sha256, slot

pytestmark = pytest.mark.django_db


@pytest.fixture
def photo(phone, project):
    """A declared slot of the phone's own finding, with the bytes the phone will send."""
    inspection_uuid, finding_uuid, declared = uuid.uuid4(), uuid.uuid4(), slot(jpeg(7))
    assert phone.put_inspection(inspection_uuid, project_id=project.id).status_code == 201
    assert phone.put_finding(inspection_uuid, finding_uuid, [declared]).status_code == 201
    return declared


def part_keys(upload_id) -> list[str]:
    return list(get_store().list_keys(f"uploads/{upload_id}/"))


def upload_of(response) -> Upload:
    return Upload.objects.get(id=response["Location"].rstrip("/").rsplit("/", 1)[-1])


def test_options_lists_version_extensions_and_max_size(client):
    response = client.options(f"{API}/uploads/")

    assert response.status_code == 204
    assert response["Tus-Resumable"] == "1.0.0"
    assert response["Tus-Version"] == "1.0.0"
    assert response["Tus-Extension"] == "creation,termination,expiration"
    assert response["Tus-Max-Size"] == str(25 * 1024 * 1024)


def test_every_request_needs_a_bearer_token(client, photo):
    response = client.post(f"{API}/uploads/", HTTP_UPLOAD_LENGTH=str(len(photo.data)), **TUS)

    assert response.status_code == 401
    assert response["Tus-Resumable"] == "1.0.0"
    assert response.json()["code"] == "not_authenticated"


def test_unsupported_protocol_version_is_412(phone, photo):
    response = phone.client.post(f"{API}/uploads/", HTTP_TUS_RESUMABLE="0.2.2", **phone.auth)

    assert response.status_code == 412
    assert response["Tus-Version"] == "1.0.0"


def test_create_head_patch_in_two_pieces(phone, photo):
    created = phone.tus_create(photo.photo_uuid, len(photo.data))
    url = created["Location"]

    head = phone.tus_head(url)
    half = len(photo.data) // 2
    first = phone.tus_patch(url, 0, photo.data[:half])
    resumed_head = phone.tus_head(url)
    last = phone.tus_patch(url, half, photo.data[half:])

    assert created.status_code == 201
    assert url.startswith("http://testserver/api/mobile/v1/uploads/")
    assert created["Tus-Resumable"] == "1.0.0"
    assert (head.status_code, head["Upload-Offset"], head["Upload-Length"]) == (
        200,
        "0",
        str(len(photo.data)),
    )
    assert head["Cache-Control"] == "no-store"
    assert "Upload-Expires" in head
    assert (first.status_code, first["Upload-Offset"]) == (204, str(half))
    assert resumed_head["Upload-Offset"] == str(half)
    assert (last.status_code, last["Upload-Offset"]) == (204, str(len(photo.data)))
    stored = Photo.objects.get(uuid=photo.photo_uuid)
    assert stored.state == PhotoState.RECEIVED
    assert stored.sha256 == sha256(photo.data)


def test_large_patch_is_stored_as_bounded_parts(phone, project, monkeypatch):
    monkeypatch.setattr(upload_service, "PART_BYTES", 4096)
    inspection_uuid, finding_uuid, big = uuid.uuid4(), uuid.uuid4(), slot(jpeg(3, size=(900, 700)))
    phone.put_inspection(inspection_uuid, project_id=project.id)
    phone.put_finding(inspection_uuid, finding_uuid, [big])
    created = phone.tus_create(big.photo_uuid, len(big.data))
    cut = len(big.data) - 10_000

    phone.tus_patch(created["Location"], 0, big.data[:cut])
    upload = upload_of(created)

    assert [end - start for start, end in upload.parts] == [4096] * (cut // 4096) + (
        [cut % 4096] if cut % 4096 else []
    )
    assert len(part_keys(upload.id)) == len(upload.parts)
    assert phone.tus_patch(created["Location"], cut, big.data[cut:]).status_code == 204
    assert Photo.objects.get(uuid=big.photo_uuid).state == PhotoState.RECEIVED


def test_offset_mismatch_is_409_and_keeps_the_offset(phone, photo):
    url = phone.tus_create(photo.photo_uuid, len(photo.data))["Location"]
    phone.tus_patch(url, 0, photo.data[:100])

    response = phone.tus_patch(url, 50, photo.data[50:200])

    assert response.status_code == 409
    assert response.json()["code"] == "offset_mismatch"
    assert response.json()["upload_offset"] == 100
    assert phone.tus_head(url)["Upload-Offset"] == "100"


def test_patch_needs_the_offset_content_type(phone, photo):
    url = phone.tus_create(photo.photo_uuid, len(photo.data))["Location"]

    response = phone.client.patch(
        url,
        photo.data,
        content_type="application/octet-stream",
        HTTP_UPLOAD_OFFSET="0",
        **TUS,
        **phone.auth,
    )

    assert response.status_code == 415


def test_post_again_after_arrival_points_at_the_finished_upload(phone, photo):
    first = phone.tus_create(photo.photo_uuid, len(photo.data))
    phone.tus_patch(first["Location"], 0, photo.data)

    again = phone.tus_create(photo.photo_uuid, len(photo.data))

    assert again.status_code == 201
    assert again["Location"] == first["Location"]
    assert again["Upload-Offset"] == again["Upload-Length"] == str(len(photo.data))
    assert phone.tus_head(again["Location"])["Upload-Offset"] == str(len(photo.data))


def test_wrong_sha256_is_460_discards_bytes_and_ends_the_upload(phone, photo):
    other_bytes = jpeg(8)[: len(photo.data)].ljust(len(photo.data), b"\0")
    created = phone.tus_create(photo.photo_uuid, len(photo.data))
    upload_id = upload_of(created).id

    response = phone.tus_patch(created["Location"], 0, other_bytes)

    assert response.status_code == 460
    assert response.json()["code"] == "checksum_mismatch"
    assert response["Tus-Resumable"] == "1.0.0"
    assert phone.tus_head(created["Location"]).status_code == 404
    assert part_keys(upload_id) == []
    assert not Upload.objects.filter(id=upload_id).exists()
    assert Photo.objects.get(uuid=photo.photo_uuid).state == PhotoState.DECLARED
    assert list(get_store().list_keys(f"photos/{photo.photo_uuid}/")) == []


def test_length_other_than_declared_is_460_at_creation(phone, photo):
    response = phone.tus_create(photo.photo_uuid, len(photo.data) + 1)

    assert response.status_code == 460
    assert not Upload.objects.filter(photo__uuid=photo.photo_uuid).exists()


@pytest.mark.parametrize(
    ("length", "content_type", "status", "code"),
    [
        (25 * 1024 * 1024 + 1, "image/jpeg", 413, "photo_too_large"),
        (0, "image/jpeg", 422, "empty_file"),
        (1000, "image/svg+xml", 415, "unsupported_media_type"),
    ],
)
def test_creation_refusals(phone, photo, length, content_type, status, code):
    response = phone.tus_create(photo.photo_uuid, length, content_type=content_type)

    assert response.status_code == status
    assert response.json()["code"] == code
    assert not Upload.objects.filter(photo__uuid=photo.photo_uuid).exists()


def test_photo_of_another_inspectors_finding_is_404(colleague_phone, photo):
    response = colleague_phone.tus_create(photo.photo_uuid, len(photo.data))

    assert response.status_code == 404
    assert not Upload.objects.filter(photo__uuid=photo.photo_uuid).exists()


def test_another_inspector_cannot_touch_my_upload(phone, colleague_phone, photo):
    url = phone.tus_create(photo.photo_uuid, len(photo.data))["Location"]

    responses = [
        colleague_phone.tus_head(url),
        colleague_phone.tus_patch(url, 0, photo.data),
        colleague_phone.tus_delete(url),
    ]

    assert [r.status_code for r in responses] == [404, 404, 404]
    assert phone.tus_head(url)["Upload-Offset"] == "0"


def test_delete_terminates_and_frees_the_slot(phone, photo):
    created = phone.tus_create(photo.photo_uuid, len(photo.data))
    phone.tus_patch(created["Location"], 0, photo.data[:500])
    upload_id = upload_of(created).id

    response = phone.tus_delete(created["Location"])

    assert response.status_code == 204
    assert phone.tus_head(created["Location"]).status_code == 404
    assert part_keys(upload_id) == []
    assert Photo.objects.get(uuid=photo.photo_uuid).state == PhotoState.DECLARED


def test_storage_outage_is_503_with_retry_after_and_commits_nothing(phone, photo, monkeypatch):
    url = phone.tus_create(photo.photo_uuid, len(photo.data))["Location"]
    phone.tus_patch(url, 0, photo.data[:100])

    class DownStore:
        def put_bytes(self, *args, **kwargs):
            raise StorageUnavailable("connection refused")

    monkeypatch.setattr(upload_service, "get_store", DownStore)
    response = phone.tus_patch(url, 100, photo.data[100:])
    monkeypatch.undo()

    assert response.status_code == 503
    assert response.json()["code"] == "storage_unavailable"
    assert response["Retry-After"] == "10"
    assert phone.tus_head(url)["Upload-Offset"] == "100"
    assert phone.tus_patch(url, 100, photo.data[100:]).status_code == 204


def test_expired_upload_is_gone_and_its_parts_deleted(phone, photo):
    created = phone.tus_create(photo.photo_uuid, len(photo.data))
    phone.tus_patch(created["Location"], 0, photo.data[:300])
    upload = upload_of(created)

    expired = upload_service.uploads_expire(now=upload.expires_at)
    again = upload_service.uploads_expire(now=upload.expires_at)

    assert (expired, again) == (1, 0)
    assert phone.tus_head(created["Location"]).status_code == 404
    assert part_keys(upload.id) == []
    upload.refresh_from_db()
    assert upload.state == UploadState.EXPIRED
    assert Photo.objects.get(uuid=photo.photo_uuid).state == PhotoState.DECLARED


def test_connection_cut_mid_patch_keeps_the_bytes_that_arrived(phone, inspector, photo):
    created = phone.tus_create(photo.photo_uuid, len(photo.data))
    upload = upload_of(created)
    arrived = io.BytesIO(photo.data[:1234])  # then the link dies: reads return nothing

    result = upload_service.upload_append(
        user=inspector.user,
        upload_id=upload.id,
        offset=0,
        content_length=len(photo.data),
        read=arrived.read,
    )

    assert result.offset == 1234
    assert phone.tus_head(created["Location"])["Upload-Offset"] == "1234"
    assert phone.tus_patch(created["Location"], 1234, photo.data[1234:]).status_code == 204
    assert Photo.objects.get(uuid=photo.photo_uuid).sha256 == sha256(photo.data)


def _streaming_elsewhere(upload: Upload, *, for_s: float) -> None:
    """The state a PATCH that is still streaming leaves on its upload (its writer lease)."""
    Upload.objects.filter(id=upload.id).update(
        writer=uuid.uuid4(), writer_until=timezone.now() + timedelta(seconds=for_s)
    )


def test_a_second_patch_while_one_streams_is_423_and_reads_nothing(phone, inspector, photo):
    created = phone.tus_create(photo.photo_uuid, len(photo.data))
    upload = upload_of(created)
    _streaming_elsewhere(upload, for_s=60)
    body = io.BytesIO(photo.data)

    refused = phone.tus_patch(created["Location"], 0, photo.data)
    with pytest.raises(Busy):
        upload_service.upload_append(
            user=inspector.user,
            upload_id=upload.id,
            offset=0,
            content_length=len(photo.data),
            read=body.read,
        )

    assert refused.status_code == 423
    assert refused.json()["code"] == "upload_busy"
    assert refused["Retry-After"] == "1" and refused["Tus-Resumable"] == "1.0.0"
    assert body.tell() == 0, "the duplicate's body must not be read"
    assert Upload.objects.get(id=upload.id).offset == 0
    assert part_keys(upload.id) == []


def test_a_lapsed_lease_lets_the_next_patch_finish(phone, photo):
    created = phone.tus_create(photo.photo_uuid, len(photo.data))
    upload = upload_of(created)
    _streaming_elsewhere(upload, for_s=-1)  # that handler died without letting go

    finished = phone.tus_patch(created["Location"], 0, photo.data)

    assert finished.status_code == 204
    assert Photo.objects.get(uuid=photo.photo_uuid).state == PhotoState.RECEIVED


def test_every_patch_lets_go_of_its_lease_cut_or_whole(phone, inspector, photo):
    created = phone.tus_create(photo.photo_uuid, len(photo.data))
    upload = upload_of(created)
    upload_service.upload_append(
        user=inspector.user,
        upload_id=upload.id,
        offset=0,
        content_length=len(photo.data),
        read=io.BytesIO(photo.data[:1000]).read,  # cut after 1000 bytes
    )
    after_cut = Upload.objects.get(id=upload.id)
    finished = phone.tus_patch(created["Location"], 1000, photo.data[1000:])

    assert (after_cut.offset, after_cut.writer, after_cut.writer_until) == (1000, None, None)
    assert finished.status_code == 204
    assert Upload.objects.filter(id=upload.id, writer__isnull=True).exists()


def test_a_patch_at_a_stale_offset_while_another_streams_is_409_with_the_offset(phone, photo):
    created = phone.tus_create(photo.photo_uuid, len(photo.data))
    upload = upload_of(created)
    assert phone.tus_patch(created["Location"], 0, photo.data[:500]).status_code == 204
    _streaming_elsewhere(upload, for_s=60)

    stale = phone.tus_patch(created["Location"], 0, photo.data)

    assert stale.status_code == 409
    assert stale.json()["upload_offset"] == 500


def test_head_waits_for_a_streaming_patch_to_store_what_it_received(phone, photo, monkeypatch):
    created = phone.tus_create(photo.photo_uuid, len(photo.data))
    upload = upload_of(created)
    _streaming_elsewhere(upload, for_s=60)
    polls = []

    def the_cut_request_commits(seconds):
        # Stands in for the other request finishing while HEAD waits: it stores 700 bytes.
        polls.append(seconds)
        Upload.objects.filter(id=upload.id).update(
            offset=700, parts=[[0, 700]], writer=None, writer_until=None
        )

    monkeypatch.setattr(upload_service.time, "sleep", the_cut_request_commits)
    head = phone.tus_head(created["Location"])

    assert head["Upload-Offset"] == "700"
    assert len(polls) == 1


def test_head_answers_after_its_wait_even_while_a_slow_patch_still_streams(
    phone, photo, monkeypatch
):
    created = phone.tus_create(photo.photo_uuid, len(photo.data))
    _streaming_elsewhere(upload_of(created), for_s=60)
    clock = iter(range(0, 100))
    monkeypatch.setattr(upload_service.time, "sleep", lambda seconds: None)
    monkeypatch.setattr(upload_service.time, "monotonic", lambda: next(clock))

    head = phone.tus_head(created["Location"])

    assert (head.status_code, head["Upload-Offset"]) == (200, "0")
