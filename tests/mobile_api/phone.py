"""A phone as tests drive it: the Django test client with a bearer token, JSON helpers, tus."""

import base64
import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.test import Client

from tests.factories import DEFAULT_PASSWORD
from tests.inspections import imagefactory

API = "/api/mobile/v1"
TUS = {"HTTP_TUS_RESUMABLE": "1.0.0"}
STARTED = datetime(2025, 5, 6, 9, 0, tzinfo=UTC)


def sign_in(client: Client, username: str, *, device_id: str = "phone-1") -> dict:
    response = client.post(
        f"{API}/auth/token",
        {"username": username, "password": DEFAULT_PASSWORD, "device_id": device_id},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    return response.json()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def jpeg(seed: int = 0, *, size: tuple[int, int] = (640, 480), exif: bytes | None = None) -> bytes:
    """A small phone-like JPEG; EXIF (Hohhot, 2025-05-06 17:00 local) unless given."""
    exif = exif if exif is not None else imagefactory.hohhot_exif(taken="2025:05:06 17:00:00")
    return imagefactory.encode(imagefactory.scene(*size, seed=seed), "JPEG", exif=exif)


def metadata(**values: str) -> str:
    return ",".join(
        f"{key} {base64.b64encode(value.encode()).decode()}" for key, value in values.items()
    )


@dataclass
class Slot:
    photo_uuid: uuid.UUID
    data: bytes
    content_type: str = "image/jpeg"

    def declared(self) -> dict:
        return {
            "photo_uuid": str(self.photo_uuid),
            "sha256": sha256(self.data),
            "size_bytes": len(self.data),
            "content_type": self.content_type,
        }


def slot(data: bytes, content_type: str = "image/jpeg") -> Slot:
    return Slot(photo_uuid=uuid.uuid4(), data=data, content_type=content_type)


class Phone:
    """Requests as the app sends them, authenticated with the inspector's access token."""

    def __init__(self, client: Client, access_token: str) -> None:
        self.client = client
        self.auth = {"HTTP_AUTHORIZATION": f"Bearer {access_token}"}

    def get(self, path: str, **headers):
        return self.client.get(f"{API}{path}", **self.auth, **headers)

    def put(self, path: str, body: dict):
        return self.client.put(
            f"{API}{path}", json.dumps(body), content_type="application/json", **self.auth
        )

    def post(self, path: str, body: dict):
        return self.client.post(
            f"{API}{path}", json.dumps(body), content_type="application/json", **self.auth
        )

    # --- domain shortcuts -----------------------------------------------------------------

    def put_inspection(self, inspection_uuid, *, project_id: int, task_id=None, **extra):
        body = {
            "task_id": task_id,
            "project_id": project_id,
            "started_at": STARTED.isoformat(),
            "location": {"lat": 40.8253, "lon": 111.652, "accuracy_m": 12.0},
            "note": "",
        } | extra
        return self.put(f"/inspections/{inspection_uuid}", body)

    def put_finding(self, inspection_uuid, finding_uuid, slots, *, code="SANITATION", **extra):
        body = {
            "violation_code": code,
            "description": "垃圾堆放未清理",
            "observed_at": (STARTED + timedelta(minutes=30)).isoformat(),
            "location": None,
            "photos": [s.declared() for s in slots],
        } | extra
        return self.put(f"/inspections/{inspection_uuid}/findings/{finding_uuid}", body)

    def submit(self, inspection_uuid, finding_uuids, **extra):
        body = {
            "finished_at": (STARTED + timedelta(hours=1)).isoformat(),
            "finding_uuids": [str(u) for u in finding_uuids],
        } | extra
        return self.post(f"/inspections/{inspection_uuid}/submit", body)

    # --- tus ------------------------------------------------------------------------------

    def tus_create(self, photo_uuid, length: int, *, content_type: str = "image/jpeg"):
        return self.client.post(
            f"{API}/uploads/",
            HTTP_UPLOAD_LENGTH=str(length),
            HTTP_UPLOAD_METADATA=metadata(
                photo_uuid=str(photo_uuid), filename="IMG_0001.JPG", content_type=content_type
            ),
            **TUS,
            **self.auth,
        )

    def tus_head(self, url: str):
        return self.client.head(url, **TUS, **self.auth)

    def tus_patch(self, url: str, offset: int, data: bytes):
        return self.client.patch(
            url,
            data,
            content_type="application/offset+octet-stream",
            HTTP_UPLOAD_OFFSET=str(offset),
            **TUS,
            **self.auth,
        )

    def tus_delete(self, url: str):
        return self.client.delete(url, **TUS, **self.auth)

    def upload(self, s: Slot):
        """POST then one PATCH with every byte; returns the PATCH response."""
        created = self.tus_create(s.photo_uuid, len(s.data), content_type=s.content_type)
        assert created.status_code == 201, created.content
        return self.tus_patch(created["Location"], 0, s.data)
