"""OWASP API4 (unrestricted resource consumption): bodies above the limits are refused with a
413 problem before they are processed, and an upload whose body stops midway keeps exactly
the bytes that arrived (a resume then finishes it) and never stores anything else.

Slowloris-style clients (headers or bodies sent a byte at a time) are the reverse proxy's and
gunicorn's job: docker/gunicorn.conf.py kills a request after `timeout` seconds, and the test
below checks that setting is there."""

import io
import json
import runpy
import sys
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client

from backend.storage import get_store
from credit.signing import signed_headers
from inspections.models import Photo, PhotoState, Upload
from inspections.services import PhotoSlot, finding_put, inspection_put
from inspections.services.uploads import PART_BYTES, part_key
from tests.fuzz.world import STARTED
from tests.mobile_api.phone import TUS, metadata, sha256
from tests.security.conftest import Footprint, bureau_api, mobile_api, problem_code

pytestmark = [pytest.mark.django_db, pytest.mark.services]

GUNICORN_CONF = Path(__file__).resolve().parents[2] / "docker" / "gunicorn.conf.py"


def oversized_json() -> dict:
    return {"note": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)}


def test_a_json_body_above_the_limit_is_a_413_problem_on_the_mobile_api(world):
    before = Footprint.now()

    response = mobile_api(world.a.inspector_token).put(
        f"/inspections/{uuid.uuid4()}", oversized_json()
    )

    assert (response.status_code, problem_code(response)) == (413, "request_too_large")
    assert Footprint.now() == before


def test_a_json_body_above_the_limit_is_a_413_problem_on_the_bureau_api(world):
    response = bureau_api(world.a.reviewer_token).post("/credit/records", oversized_json())

    assert (response.status_code, problem_code(response)) == (413, "request_too_large")


def test_a_signed_body_above_the_limit_is_a_413_problem_on_the_tender_api(world):
    body = json.dumps({"usccs": ["x" * 64] * 40_000}).encode()
    path = "/api/tender/v1/enterprises/batch"
    headers = signed_headers(
        client_id=world.a.tender_client.client_id,
        secret=world.a.tender_secret,
        method="POST",
        path=path,
        body=body,
    )

    response = Client().post(path, body, content_type="application/json", headers=headers)

    assert (response.status_code, problem_code(response)) == (413, "request_too_large")


# --- tus ------------------------------------------------------------------------------------


def declared_slot(side, data: bytes) -> PhotoSlot:
    """A new draft inspection of `side` with one finding declaring `data` as its photo."""
    user = side.inspector.user
    inspection = inspection_put(
        user=user,
        inspection_uuid=uuid.uuid4(),
        project_id=side.project.id,
        task_id=None,
        started_at=STARTED,
        location=None,
        note="",
    ).obj
    slot = PhotoSlot(
        photo_uuid=uuid.uuid4(),
        sha256=sha256(data),
        size_bytes=len(data),
        content_type="image/jpeg",
    )
    finding_put(
        user=user,
        inspection_uuid=inspection.uuid,
        finding_uuid=uuid.uuid4(),
        violation_code="SANITATION",
        description="",
        observed_at=STARTED,
        location=None,
        photos=[slot],
    )
    return slot


def tus_client(token: str) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}")


def tus_create(token: str, photo_uuid, length: int):
    return tus_client(token).post(
        "/api/mobile/v1/uploads/",
        HTTP_UPLOAD_LENGTH=str(length),
        HTTP_UPLOAD_METADATA=metadata(photo_uuid=str(photo_uuid), content_type="image/jpeg"),
        **TUS,
    )


def tus_patch(token: str, url: str, offset: int, data: bytes):
    return tus_client(token).patch(
        url,
        data,
        content_type="application/offset+octet-stream",
        HTTP_UPLOAD_OFFSET=str(offset),
        **TUS,
    )


def test_an_upload_longer_than_25_mib_is_refused_at_creation(world):
    slot = declared_slot(world.a, b"\xff\xd8\xff" + b"\0" * 100)
    before = Footprint.now()

    response = tus_create(world.a.inspector_token, slot.photo_uuid, settings.MAX_PHOTO_BYTES + 1)

    assert (response.status_code, problem_code(response)) == (413, "photo_too_large")
    assert response["Tus-Resumable"] == "1.0.0"
    assert Footprint.now() == before


def test_a_patch_beyond_the_upload_length_is_refused_and_stores_nothing(world):
    data = b"\xff\xd8\xff" + bytes(997)
    slot = declared_slot(world.a, data)
    url = tus_create(world.a.inspector_token, slot.photo_uuid, len(data))["Location"]
    before = Footprint.now()

    response = tus_patch(world.a.inspector_token, url, 0, data + b"trailing")

    assert (response.status_code, problem_code(response)) == (413, "past_upload_length")
    assert Footprint.now() == before


class CutStream(io.RawIOBase):
    """A request body that delivers `arrived` bytes, then ends (the phone lost its link and the
    proxy closed the request) or breaks (`OSError`, the connection was reset)."""

    def __init__(self, arrived: bytes, *, breaks: bool) -> None:
        self.body = io.BytesIO(arrived)
        self.breaks = breaks

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        chunk = self.body.read(size)
        if not chunk and self.breaks:
            raise OSError("connection reset by peer")
        return chunk


@contextmanager
def connection_kept():
    """What Django's test client does around a request: no connection clean-up, which would
    close the test's open transaction."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    try:
        yield
    finally:
        for signal in (request_started, request_finished):
            signal.connect(close_old_connections)


def cut_patch(*, token: str, url: str, length: int, arrived: bytes, breaks: bool) -> int:
    """A PATCH through the real WSGI handler whose body stops after `arrived`."""
    environ = {
        "REQUEST_METHOD": "PATCH",
        "PATH_INFO": url.split("testserver", 1)[-1],
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "HTTP_HOST": "testserver",
        "wsgi.url_scheme": "http",
        "wsgi.version": (1, 0),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        "wsgi.input": CutStream(arrived, breaks=breaks),
        "CONTENT_LENGTH": str(length),
        "CONTENT_TYPE": "application/offset+octet-stream",
        "HTTP_UPLOAD_OFFSET": "0",
        "HTTP_TUS_RESUMABLE": "1.0.0",
        "HTTP_AUTHORIZATION": f"Bearer {token}",
    }
    statuses = []
    with connection_kept():
        response = WSGIHandler()(environ, lambda status, headers: statuses.append(status))
        b"".join(response)
        response.close()
    return int(statuses[0].split()[0])


@pytest.mark.parametrize("breaks", [False, True], ids=["body_ends_early", "connection_reset"])
def test_a_patch_whose_body_stops_midway_keeps_what_arrived_and_can_resume(world, breaks):
    # Given a declared 2.5 MiB photo and a PATCH that carries only the first 1.5 MiB
    data = bytes(range(256)) * (10 * 1024) + b"tail"
    slot = declared_slot(world.a, data)
    token = world.a.inspector_token
    url = tus_create(token, slot.photo_uuid, len(data))["Location"]
    arrived = data[: PART_BYTES + PART_BYTES // 2]

    # When the body stops
    status = cut_patch(token=token, url=url, length=len(data), arrived=arrived, breaks=breaks)

    # Then the server kept exactly what arrived, in parts that match the bytes sent
    assert status == 204
    upload = Upload.objects.get(photo__uuid=slot.photo_uuid)
    assert upload.offset == len(arrived)
    stored = b"".join(
        get_store().read_bytes(part_key(upload.id, start, end), max_bytes=PART_BYTES)
        for start, end in upload.parts
    )
    assert stored == arrived
    assert Photo.objects.get(uuid=slot.photo_uuid).state == PhotoState.UPLOADING

    # And the phone resumes from HEAD's offset and finishes the photo intact
    offset = int(tus_client(token).head(url, **TUS)["Upload-Offset"])
    finished = tus_patch(token, url, offset, data[offset:])
    assert (finished.status_code, finished["Upload-Offset"]) == (204, str(len(data)))
    photo = Photo.objects.get(uuid=slot.photo_uuid)
    assert (photo.state, photo.sha256) == (PhotoState.RECEIVED, sha256(data))


def test_gunicorn_kills_a_request_that_takes_longer_than_a_minute():
    config = runpy.run_path(str(GUNICORN_CONF))

    assert config["timeout"] == 60
    assert config["worker_class"] == "gthread"
