"""The object store (SeaweedFS) stops in the middle of a photo upload: the server answers 503
with Retry-After, keeps exactly what it had committed (the offset in the database and the parts
in the store agree, nothing beyond), and once the store is back the phone resumes from HEAD's
offset and finishes; the stored original is the phone's photo, byte for byte."""

import hashlib
import http.client
import random
from urllib.parse import urlsplit

import pytest
import requests

from backend.storage import get_store
from inspections.models import Photo, PhotoState, Upload
from inspections.object_keys import part_key
from inspections.services import photo_process
from inspections.services.uploads import PART_BYTES
from mobile_api.tus import STORAGE_RETRY_AFTER_S
from tests.faults.control import wait_until
from tests.faults.fingerprint import assert_same_end_state, reset_world, take_fingerprint
from tests.faults.world import build_world, noise_jpeg, phone, plan_visit, record_visit
from tests.mobile_api.phone import metadata

pytestmark = [pytest.mark.services, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

TUS = {"Tus-Resumable": "1.0.0"}
# About 2.9 MB of noise: three upload parts, so the outage can fall between two of them.
PHOTO_SIZE = (2000, 1500)


class HandDrivenUpload:
    """One photo's upload, driven by hand so the test decides when bytes leave the phone."""

    def __init__(self, base_url: str, token: str, photo) -> None:
        self.api = f"{base_url}/api/mobile/v1"
        self.auth = {"Authorization": f"Bearer {token}"} | TUS
        self.photo = photo
        created = requests.post(
            f"{self.api}/uploads/",
            headers=self.auth
            | {
                "Upload-Length": str(len(photo.data)),
                "Upload-Metadata": metadata(
                    photo_uuid=str(photo.photo_uuid), content_type="image/jpeg"
                ),
            },
            timeout=30,
        )
        assert created.status_code == 201, created.text
        self.url = created.headers["Location"]
        self.upload_id = self.url.rstrip("/").rsplit("/", 1)[-1]

    def patch_two_parts(self, between_parts) -> http.client.HTTPResponse:
        """One PATCH carrying two parts; `between_parts()` runs once the server has committed
        the first and before the second leaves the phone."""
        target = urlsplit(self.url)
        link = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
        link.putrequest("PATCH", target.path)
        for name, value in self.auth.items():
            link.putheader(name, value)
        link.putheader("Upload-Offset", "0")
        link.putheader("Content-Type", "application/offset+octet-stream")
        link.putheader("Content-Length", str(2 * PART_BYTES))
        link.endheaders()
        link.send(self.photo.data[:PART_BYTES])
        wait_until(lambda: self.committed_offset() == PART_BYTES, "the first part's commit")
        between_parts()
        link.send(self.photo.data[PART_BYTES : 2 * PART_BYTES])
        response = link.getresponse()
        response.read()
        link.close()
        return response

    def committed_offset(self) -> int:
        return Upload.objects.get(id=self.upload_id).offset

    def head(self) -> requests.Response:
        return requests.head(self.url, headers=self.auth, timeout=30)

    def patch(self, offset: int, data: bytes) -> requests.Response:
        return requests.patch(
            self.url,
            data=data,
            headers=self.auth
            | {"Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream"},
            timeout=30,
        )


def upload_workload(base_url: str, *, between_parts=lambda: None):
    """An inspector declares a finding with one large photo and starts uploading it."""
    world = build_world(inspectors=1)
    app = phone(base_url, world.inspector_tokens[0])
    visit = plan_visit(random.Random(31), draw_photo=lambda rng: noise_jpeg(rng, size=PHOTO_SIZE))
    record_visit(app, visit, project_id=world.project_id)
    first = visit.photos[0]
    upload = HandDrivenUpload(base_url, world.inspector_tokens[0], first)
    return app, visit, upload, upload.patch_two_parts(between_parts)


def finish(app, visit, upload: HandDrivenUpload) -> None:
    """The phone resumes from the server's offset with tuspy, uploads the other photos, and
    the worker's processing runs (here, in-process)."""
    app.uploader(upload.photo, url=upload.url, chunk_size=PART_BYTES).upload()
    for photo in visit.photos[1:]:
        app.upload(photo, chunk_size=PART_BYTES)
    for photo in visit.photos:
        row = Photo.objects.get(uuid=photo.photo_uuid)
        assert photo_process(photo_id=row.id).state == PhotoState.PROCESSED


def test_store_stops_during_an_upload(live_server, services):
    # Given the state a run without the outage ends in
    reset_world()
    app, visit, upload, answer = upload_workload(live_server.url)
    assert answer.status == 204
    finish(app, visit, upload)
    baseline = take_fingerprint()

    # When the store stops after the first part of a PATCH is committed
    reset_world()
    app, visit, upload, answer = upload_workload(live_server.url, between_parts=services.s3.stop)
    try:
        # Then the PATCH, and any PATCH while the store is down, answers 503 with Retry-After
        assert (answer.status, answer.getheader("Retry-After")) == (
            503,
            str(STORAGE_RETRY_AFTER_S),
        )
        again = upload.patch(PART_BYTES, upload.photo.data[PART_BYTES : 2 * PART_BYTES])
        assert (again.status_code, again.headers.get("Retry-After")) == (
            503,
            str(STORAGE_RETRY_AFTER_S),
        )
        # and HEAD (the database only) reports the committed offset
        head = upload.head()
        assert (head.status_code, head.headers["Upload-Offset"]) == (200, str(PART_BYTES))
    finally:
        services.s3.start()

    # Nothing half-written: the row and the store hold exactly the first part
    row = Upload.objects.get(id=upload.upload_id)
    assert (row.offset, row.parts, row.state) == (PART_BYTES, [[0, PART_BYTES]], "active")
    assert list(get_store().list_keys(f"uploads/{upload.upload_id}/")) == [
        part_key(row.id, 0, PART_BYTES)
    ]
    assert list(get_store().list_keys("photos/")) == []

    # Once the store is back the phone resumes and finishes; the original is its photo
    finish(app, visit, upload)
    original = get_store().read_bytes(f"photos/{upload.photo.photo_uuid}/original", max_bytes=10**7)
    assert hashlib.sha256(original).hexdigest() == upload.photo.declared()["sha256"]
    assert_same_end_state(baseline, take_fingerprint())
