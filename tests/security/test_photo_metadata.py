"""Photo metadata is evidence for the bureau, never public: published pages and open data carry
no GPS, EXIF or inspector names, and the derivatives reviewers and phones download (through
presigned links) are stripped JPEGs. Originals, which keep the EXIF, are never linked."""

import io
import urllib.request

import pytest
from django.test import Client
from PIL import Image

from credit.publication import snapshot_publish
from inspections.services import finding_review
from tests.inspections import imagefactory
from tests.security.conftest import mobile_api

pytestmark = [pytest.mark.django_db, pytest.mark.services]

EXIF_MARKER = b"Exif\x00\x00"


@pytest.fixture
def published(world, settings):
    """Region A's finding confirmed into a credit record and published."""
    settings.CREDIT_OBJECTION_WORKING_DAYS = 0
    finding_review(
        user=world.a.reviewer.user, finding_uuid=world.a.finding.uuid, decision="confirm",
        comment="",
    )  # fmt: skip
    return snapshot_publish(actor=None)


def private_strings(side) -> list[str]:
    """What a photo and its inspector would give away."""
    return [
        side.inspector.display_name,
        side.inspector.user.username,
        str(side.photo.uuid),
        str(side.finding.uuid),
        f"{imagefactory.HOHHOT_LAT:.4f}",
        f"{imagefactory.HOHHOT_LON:.3f}",
        "gps",
        "exif",
        "captured",
    ]


@pytest.mark.parametrize(
    "url",
    [
        "/credit/e/{uscc}/",
        "/credit/?q={uscc}",
        "/credit/open-data/latest.json",
        "/credit/open-data/latest.csv",
    ],
)
def test_public_pages_and_open_data_carry_no_photo_metadata_or_inspector(world, published, url):
    # follow: a search for a firm's exact code opens its page (CONTRACTS.md)
    response = Client().get(url.format(uscc=world.a.enterprise_uscc), follow=True)
    body = b"".join(response.streaming_content) if response.streaming else response.content
    text = body.decode("utf-8-sig").lower()

    assert response.status_code == 200
    assert world.a.enterprise_uscc.lower() in text  # the published record is there
    assert [s for s in private_strings(world.a) if s.lower() in text] == []


def download(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read()


def test_derivatives_behind_the_presigned_links_carry_no_exif(world):
    # Given the original the phone uploaded carries EXIF with GPS
    assert EXIF_MARKER in world.a.photo_bytes

    # When the phone asks for its photo and downloads both links
    photo = mobile_api(world.a.inspector_token).get(f"/photos/{world.a.photo.uuid}").json()
    derivatives = [download(photo["display_url"]), download(photo["thumb_url"])]

    # Then both are JPEGs without any EXIF segment, and no link names the original
    for data in derivatives:
        assert EXIF_MARKER not in data
        with Image.open(io.BytesIO(data)) as image:
            assert (image.format, dict(image.getexif())) == ("JPEG", {})
    assert "original" not in photo["display_url"] + photo["thumb_url"]
