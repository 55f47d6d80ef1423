"""The phone app, as far as the end-to-end tests need it: JSON over `requests`, photos with
`tuspy`, every request retried until it gets an answer (the app's offline queue)."""

import io
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import requests
from tusclient import client as tus
from tusclient.exceptions import TusCommunicationError, TusUploadFailed

from tests.mobile_api.phone import sha256

# Retries are what the app's offline queue does; the bound only ends a test that cannot pass.
MAX_ATTEMPTS = 40
RETRY_PAUSE_S = 0.05
TRANSIENT = (requests.RequestException, TusCommunicationError, TusUploadFailed)


@dataclass
class Photo:
    photo_uuid: uuid.UUID
    data: bytes

    def declared(self) -> dict:
        return {
            "photo_uuid": str(self.photo_uuid),
            "sha256": sha256(self.data),
            "size_bytes": len(self.data),
            "content_type": "image/jpeg",
        }


def retried(send: Callable[[], requests.Response]) -> requests.Response:
    """Resend until the server answers (a dropped connection is no answer)."""
    for _ in range(MAX_ATTEMPTS):
        try:
            response = send()
        except requests.RequestException:
            time.sleep(RETRY_PAUSE_S)
            continue
        if response.status_code < 500:
            return response
        time.sleep(RETRY_PAUSE_S)
    raise AssertionError(f"no answer after {MAX_ATTEMPTS} attempts")


class FieldApp:
    def __init__(self, base_url: str, *, session: requests.Session | None = None) -> None:
        self.api = f"{base_url}/api/mobile/v1"
        self.http = session or requests.Session()
        self.token = ""

    def sign_in(self, username: str, password: str) -> dict:
        response = retried(
            lambda: self.http.post(
                f"{self.api}/auth/token",
                json={"username": username, "password": password, "device_id": "e2e-phone"},
                timeout=30,
            )
        )
        assert response.status_code == 200, response.text
        self.token = response.json()["access_token"]
        return response.json()

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def get(self, path: str) -> requests.Response:
        return retried(lambda: self.http.get(f"{self.api}{path}", headers=self.auth, timeout=30))

    def put(self, path: str, body: dict) -> requests.Response:
        return retried(
            lambda: self.http.put(f"{self.api}{path}", json=body, headers=self.auth, timeout=30)
        )

    def post(self, path: str, body: dict) -> requests.Response:
        return retried(
            lambda: self.http.post(f"{self.api}{path}", json=body, headers=self.auth, timeout=30)
        )

    def uploader(self, photo: Photo, *, url: str | None = None, chunk_size: int):
        client = tus.TusClient(f"{self.api}/uploads/", headers=self.auth)
        return client.uploader(
            file_stream=io.BytesIO(photo.data),
            url=url,
            chunk_size=chunk_size,
            metadata={
                "photo_uuid": str(photo.photo_uuid),
                "filename": f"{photo.photo_uuid}.jpg",
                "content_type": "image/jpeg",
            },
            retries=MAX_ATTEMPTS,
            retry_delay=RETRY_PAUSE_S,
        )

    def upload(self, photo: Photo, *, chunk_size: int = 256 * 1024) -> str:
        """Upload until done, surviving drops anywhere (creation included). Returns the URL."""
        url = None
        for _ in range(MAX_ATTEMPTS):
            try:
                uploader = self.uploader(photo, url=url, chunk_size=chunk_size)
                if uploader.url is None:
                    uploader.set_url(uploader.create_url())
                url = uploader.url
                uploader.upload()
                return url
            except TRANSIENT:
                time.sleep(RETRY_PAUSE_S)
        raise AssertionError(f"upload of {photo.photo_uuid} did not finish")
