"""Uploaded photos through the pipeline: derivatives, evidence, flags, hostile bytes, links."""

import io
import urllib.request
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from PIL import Image

from backend.storage import get_store
from inspections import tasks
from inspections.models import Photo, PhotoState, Upload
from inspections.services import photo_process
from tests.inspections import imagefactory
from tests.mobile_api.phone import jpeg, slot

pytestmark = pytest.mark.django_db


def record(phone, project, *slots, code="SANITATION"):
    """An inspection with one finding declaring `slots`, every photo uploaded."""
    inspection_uuid, finding_uuid = uuid.uuid4(), uuid.uuid4()
    assert phone.put_inspection(inspection_uuid, project_id=project.id).status_code == 201
    assert phone.put_finding(inspection_uuid, finding_uuid, slots, code=code).status_code == 201
    for s in slots:
        assert phone.upload(s).status_code == 204
    return inspection_uuid


def processed(s) -> Photo:
    photo = Photo.objects.get(uuid=s.photo_uuid)
    photo_process(photo_id=photo.id)
    photo.refresh_from_db()
    return photo


def keys_of(photo: Photo) -> list[str]:
    store = get_store()
    keys = list(store.list_keys(f"photos/{photo.uuid}/"))
    for upload_id in Upload.objects.filter(photo=photo).values_list("id", flat=True):
        keys += list(store.list_keys(f"uploads/{upload_id}/"))
    return keys


def test_processing_makes_derivatives_and_reads_evidence(phone, project):
    photo_slot = slot(jpeg(1, size=(2000, 1500)))
    record(phone, project, photo_slot)

    photo = processed(photo_slot)

    assert photo.state == PhotoState.PROCESSED
    assert photo.flags == []
    assert (photo.width, photo.height, photo.detected_format) == (2000, 1500, "jpeg")
    assert timezone.localtime(photo.captured_at).strftime("%Y-%m-%d %H:%M") == "2025-05-06 17:00"
    assert photo.gps_lat == pytest.approx(imagefactory.HOHHOT_LAT, abs=1e-5)
    assert sorted(keys_of(photo)) == [
        f"photos/{photo.uuid}/display.jpg",
        f"photos/{photo.uuid}/original",
        f"photos/{photo.uuid}/thumb.jpg",
    ]
    assert get_store().read_bytes(photo.original_key, max_bytes=10**7) == photo_slot.data


def test_processing_twice_changes_nothing(phone, project):
    photo_slot = slot(jpeg(2))
    record(phone, project, photo_slot)
    first = processed(photo_slot)

    assert photo_process(photo_id=first.id) is None
    again = Photo.objects.get(id=first.id)
    assert (again.state, again.processed_at, again.flags) == (
        first.state,
        first.processed_at,
        first.flags,
    )


def test_same_photo_in_another_inspection_is_flagged_reused(phone, project):
    data = jpeg(3)
    original, reused = slot(data), slot(data)
    record(phone, project, original)
    processed(original)
    record(phone, project, reused)

    assert flags_of(processed(reused)) == ["reused_photo"]


def test_recompressed_copy_is_a_near_duplicate(phone, project):
    picture = imagefactory.scene(640, 480, seed=4)
    exif = imagefactory.hohhot_exif(taken="2025:05:06 17:00:00")
    first = slot(imagefactory.encode(picture, "JPEG", exif=exif, quality=95))
    second = slot(imagefactory.encode(picture, "JPEG", exif=exif, quality=60))
    record(phone, project, first)
    processed(first)
    record(phone, project, second)

    assert flags_of(processed(second)) == ["reused_photo"]


def test_two_photos_of_one_inspection_are_not_reuse(phone, project):
    data = jpeg(5)
    a, b = slot(data), slot(data)
    record(phone, project, a, b, code="ABANDON")

    assert (flags_of(processed(a)), flags_of(processed(b))) == ([], [])


def test_photo_without_exif_far_away_and_from_another_day_is_flagged(phone, project):
    no_exif = slot(jpeg(6, exif=b""))
    far_and_old = slot(
        jpeg(
            7,
            exif=imagefactory.exif_bytes(
                taken="2025:04:20 10:00:00", lat=(40, 39, 0.0), lon=(109, 50, 0.0)
            ),
        )
    )
    record(phone, project, no_exif, far_and_old, code="ABANDON")

    assert flags_of(processed(no_exif)) == ["no_exif"]
    assert flags_of(processed(far_and_old)) == ["capture_time_mismatch", "gps_far_from_project"]


def flags_of(photo: Photo) -> list[str]:
    return photo.flags


# --- hostile bytes ------------------------------------------------------------------------


def svg_named_jpg() -> bytes:
    return b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda: imagefactory.png_header_only(50_000, 50_000), "decompression_bomb"),
        (lambda: jpeg(8)[: len(jpeg(8)) // 2], "truncated"),
        (lambda: jpeg(9) + b"<script>alert(document.cookie)</script>", "polyglot"),
        (svg_named_jpg, "not_an_image"),
    ],
    ids=["50000x50000-png", "truncated-jpeg", "jpeg-with-script", "svg-named-jpg"],
)
def test_hostile_bytes_are_rejected_with_a_reason_and_leave_no_objects(
    phone, project, make, reason
):
    hostile = slot(make())  # declared as image/jpeg, as a phone would name it IMG_0001.JPG
    inspection_uuid = record(phone, project, hostile)

    photo = processed(hostile)

    assert photo.state == PhotoState.REJECTED
    assert photo.rejection_reason == reason
    assert keys_of(photo) == []
    assert (photo.original_key, photo.display_key, photo.thumb_key) == ("", "", "")
    [out] = phone.get(f"/inspections/{inspection_uuid}").json()["findings"][0]["photos"]
    assert (out["state"], out["rejection_reason"]) == ("rejected", reason)
    detail = phone.get(f"/photos/{hostile.photo_uuid}").json()
    assert (detail["thumb_url"], detail["display_url"]) == (None, None)


def test_zero_byte_photo_cannot_even_be_declared(phone, project):
    inspection_uuid, finding_uuid = uuid.uuid4(), uuid.uuid4()
    phone.put_inspection(inspection_uuid, project_id=project.id)

    response = phone.put_finding(inspection_uuid, finding_uuid, [slot(b"")])

    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"][-1] == "size_bytes"
    assert not Photo.objects.filter(finding__uuid=finding_uuid).exists()


# --- links --------------------------------------------------------------------------------


def download(client, url: str) -> bytes:
    """S3 links go to the store itself; the embedded store's links are served by this site."""
    if url.startswith("http://testserver/"):
        return b"".join(client.get(url).streaming_content)
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read()


def test_photo_links_are_short_lived_derivatives_without_metadata(phone, project, client):
    photo_slot = slot(jpeg(10, size=(2400, 1800)))
    record(phone, project, photo_slot)
    processed(photo_slot)

    body = phone.get(f"/photos/{photo_slot.photo_uuid}").json()

    assert body["state"] == "processed"
    assert body["evidence"]["width"] == 2400
    assert "original" not in body["thumb_url"] + body["display_url"]
    expires = timezone.datetime.fromisoformat(body["urls_expire_at"])
    assert timedelta(minutes=9) < expires - timezone.now() <= timedelta(minutes=10)
    display = Image.open(io.BytesIO(download(client, body["display_url"])))
    thumb = Image.open(io.BytesIO(download(client, body["thumb_url"])))
    assert (display.format, max(display.size), max(thumb.size)) == ("JPEG", 1600, 320)
    assert len(display.getexif()) == 0


def test_photo_of_another_inspector_is_404(colleague_phone, phone, project):
    photo_slot = slot(jpeg(11))
    record(phone, project, photo_slot)

    assert colleague_phone.get(f"/photos/{photo_slot.photo_uuid}").status_code == 404


# --- sweepers -----------------------------------------------------------------------------


def test_sweeper_requeues_photos_stuck_in_received(phone, project, monkeypatch):
    stuck, fresh = slot(jpeg(12)), slot(jpeg(13))
    record(phone, project, stuck, fresh, code="ABANDON")
    Photo.objects.filter(uuid=stuck.photo_uuid).update(
        received_at=timezone.now() - timedelta(minutes=11)
    )
    queued = []
    monkeypatch.setattr(tasks.process_photo_task, "delay", queued.append)

    assert tasks.sweep_photos() == 1
    assert queued == [Photo.objects.get(uuid=stuck.photo_uuid).id]


def test_photo_whose_bytes_vanished_goes_back_to_declared(phone, project):
    lost = slot(jpeg(14))
    record(phone, project, lost)
    photo = Photo.objects.get(uuid=lost.photo_uuid)
    for upload in Upload.objects.filter(photo=photo):
        get_store().delete_prefix(f"uploads/{upload.id}/")
        upload.parts = []
        upload.save(update_fields=["parts"])

    assert photo_process(photo_id=photo.id) is None
    photo.refresh_from_db()
    assert (photo.state, photo.sha256) == (PhotoState.DECLARED, "")
