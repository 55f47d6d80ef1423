"""Photo uploads through a link that drops connections at random points: the client retries
and every photo ends stored exactly once and intact."""

import hashlib
import random
import uuid
from urllib.parse import urlsplit

import pytest
from PIL import Image

from backend.storage import get_store
from inspections.models import Photo, PhotoState, Upload, UploadState
from inspections.services import photo_process, uploads_expire
from tests.e2e.field_app import FieldApp
from tests.e2e.field_app import Photo as PhonePhoto
from tests.e2e.flaky_proxy import FlakyProxy
from tests.factories import DEFAULT_PASSWORD
from tests.inspections import imagefactory
from tests.mobile_api.phone import STARTED

pytestmark = [pytest.mark.services, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PHOTOS = 6
# A ~200 KB photo spans several 64 KiB chunks, so drops land before, inside and after them.
CHUNK_BYTES = 64 * 1024


def noise_jpeg(rng: random.Random) -> bytes:
    """A real JPEG of random pixels: noise does not compress, so it is large on the wire."""
    width, height = 360, 280
    picture = Image.frombytes("RGB", (width, height), rng.randbytes(width * height * 3))
    return imagefactory.encode(picture, "JPEG", quality=92)


@pytest.mark.parametrize("seed", [1, 2])
def test_uploads_survive_random_connection_drops(live_server, seed, inspector, project):
    rng = random.Random(seed)
    host, port = urlsplit(live_server.url).hostname, urlsplit(live_server.url).port
    proxy = FlakyProxy(upstream=(host, port), seed=seed).start()
    try:
        app = FieldApp(proxy.url)
        app.sign_in(inspector.user.username, DEFAULT_PASSWORD)
        inspection_uuid, finding_uuid = uuid.uuid4(), uuid.uuid4()
        photos = [PhonePhoto(uuid.uuid4(), noise_jpeg(rng)) for _ in range(PHOTOS)]
        assert app.put(
            f"/inspections/{inspection_uuid}",
            {"project_id": project.id, "started_at": STARTED.isoformat()},
        ).status_code in (200, 201)
        finding = {
            "violation_code": "ABANDON",
            "observed_at": STARTED.isoformat(),
            "photos": [photo.declared() for photo in photos],
        }
        assert app.put(
            f"/inspections/{inspection_uuid}/findings/{finding_uuid}", finding
        ).status_code in (200, 201)

        for photo in photos:
            app.upload(photo, chunk_size=CHUNK_BYTES)
    finally:
        proxy.stop()

    assert proxy.drops > 0, "the proxy never dropped a connection: the test proved nothing"
    store = get_store()
    for photo in photos:
        stored = Photo.objects.get(uuid=photo.photo_uuid)
        assert stored.state == PhotoState.RECEIVED
        assert Upload.objects.filter(photo=stored, state=UploadState.COMPLETED).count() == 1
        assert photo_process(photo_id=stored.id).state == PhotoState.PROCESSED
        original = store.read_bytes(f"photos/{photo.photo_uuid}/original", max_bytes=10**7)
        assert hashlib.sha256(original).hexdigest() == photo.declared()["sha256"]
    uploads_expire(now=max(u.expires_at for u in Upload.objects.all()))
    leftovers = [
        key
        for upload_id in Upload.objects.values_list("id", flat=True)
        for key in store.list_keys(f"uploads/{upload_id}/")
    ]
    assert leftovers == []
