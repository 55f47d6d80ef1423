"""Hypothesis fuzzing of the two parsers of outside files, on mutated REAL files:

- the photo pipeline (`inspections.images.analyse_photo`, then `photo_process` with the object
  store): phone-like JPEG (baseline and progressive, EXIF with GPS), PNG with transparency,
  WebP and HEIC. Only a `ProcessedPhoto` or a `PhotoRejected` may come out; a rejected photo
  leaves no object behind, an accepted one has metadata-free derivatives;
- the registry importer (`registry_import`): a real two-sheet workbook and real CSV files
  (UTF-8 and GB18030), damaged as bytes and, for the workbook, member by member inside a valid
  zip. Only an `ImportReport` may come out, and one with errors has written nothing.
"""

import io
import uuid
import warnings
import zipfile
from functools import cache

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from PIL import Image

from backend.models import AuditEntry
from backend.storage import get_store
from credit.models import Enterprise
from inspections.images import PhotoRejected, ProcessedPhoto, RejectionCode, analyse_photo
from inspections.models import Inspection, ManagementContract, PhotoState, Project
from inspections.registry_import import ImportReport, registry_import
from inspections.services import PhotoSlot, finding_put, photo_process
from tests.factories import region
from tests.fuzz.mutations import mutated, mutated_zip
from tests.fuzz.world import STARTED, build_side, upload_and_process
from tests.inspections import imagefactory
from tests.inspections.test_registry_import import (
    ENTERPRISE_HEADER,
    PROJECT_HEADER,
    csv_bytes,
    enterprise_row,
    project_row,
    standard_workbook,
)
from tests.mobile_api.phone import sha256


def fuzz(examples: int, **overrides) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        database=None,
        **overrides,
    )


# --- real photos ----------------------------------------------------------------------------


@cache
def real_photos() -> dict[str, bytes]:
    """Photos as phones write them: a 1024×768 scene with the camera's EXIF (time, GPS)."""
    exif = imagefactory.hohhot_exif(taken="2025:05:06 17:20:00")
    scene = imagefactory.scene(1024, 768, seed=7)
    transparent = scene.convert("RGBA")
    transparent.putalpha(Image.linear_gradient("L").resize(scene.size))
    return {
        "jpeg": imagefactory.encode(scene, "JPEG", exif=exif, quality=85),
        "progressive_jpeg": imagefactory.encode(scene, "JPEG", exif=exif, progressive=True),
        "png": imagefactory.encode(transparent, "PNG", exif=exif),
        "webp": imagefactory.encode(scene, "WEBP", exif=exif, quality=80),
        "heic": imagefactory.encode(scene, "HEIF", exif=exif),
    }


def damaged_photo():
    return st.sampled_from(sorted(real_photos())).flatmap(lambda kind: mutated(real_photos()[kind]))


def assert_metadata_free_jpeg(data: bytes, max_side: int) -> None:
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "JPEG"
        assert max(image.size) <= max_side
        assert not image.getexif()
        assert "icc_profile" not in image.info and "exif" not in image.info


@pytest.mark.parametrize("kind", sorted(real_photos()))
def test_every_real_photo_is_accepted_before_it_is_damaged(kind):
    processed = analyse_photo(real_photos()[kind])

    assert processed.gps_lat == pytest.approx(imagefactory.HOHHOT_LAT, abs=1e-4)


def check_photo_outcome(data: bytes) -> None:
    try:
        processed = analyse_photo(data)
    except PhotoRejected as rejected:
        assert rejected.code in set(RejectionCode)
        return
    assert isinstance(processed, ProcessedPhoto)
    assert_metadata_free_jpeg(processed.display.jpeg, max_side=1600)
    assert_metadata_free_jpeg(processed.thumbnail.jpeg, max_side=320)


@fuzz(300)
@given(damaged_photo())
def test_a_damaged_photo_is_processed_or_rejected_with_a_stable_code(data):
    check_photo_outcome(data)


@pytest.mark.fuzz_long
@fuzz(5000)
@given(damaged_photo())
def test_a_damaged_photo_is_processed_or_rejected_long(data):
    check_photo_outcome(data)


@pytest.fixture
def inspector_with_inspection(db):
    return build_side(code="150100", name="呼和浩特", lat=40.8, lon=111.6, seed=3)


@pytest.mark.services
@fuzz(12)
@given(data=damaged_photo())
def test_a_damaged_upload_ends_processed_or_rejected_and_a_rejection_leaves_no_object(
    inspector_with_inspection, data
):
    # Given a finding of a draft inspection that declared this (damaged) photo
    assume(data)  # an empty upload is refused at creation, before any processing
    side = inspector_with_inspection
    user = side.inspector.user
    inspection = Inspection.objects.create(
        uuid=uuid.uuid4(),
        inspector=side.inspector,
        project=side.project,
        started_at=STARTED,
        body_sha256="0" * 64,
    )
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

    # When it is uploaded and processed (twice: the worker may run a task again)
    photo = upload_and_process(user, slot, data)
    assert photo_process(photo_id=photo.id) is None

    # Then it is processed with its derivatives, or rejected with nothing left in the store
    store = get_store()
    kept = sorted(store.list_keys(f"photos/{slot.photo_uuid}/"))
    parts = list(store.list_keys(f"uploads/{photo.uploads.get().id}/"))
    if photo.state == PhotoState.REJECTED:
        assert photo.rejection_reason in set(RejectionCode)
        assert (kept, parts) == ([], [])
    else:
        assert photo.state == PhotoState.PROCESSED
        prefix = f"photos/{slot.photo_uuid}/"
        assert kept == [prefix + "display.jpg", prefix + "original", prefix + "thumb.jpg"]
        assert parts == []
        assert_metadata_free_jpeg(store.read_bytes(photo.display_key, max_bytes=10**7), 1600)


# --- real registry files --------------------------------------------------------------------


@cache
def real_registry_files() -> dict[str, bytes]:
    """The workbook staff fill in, and the same tables as CSV the way Excel and WPS save it."""
    enterprises = [ENTERPRISE_HEADER, enterprise_row()]
    projects = [
        PROJECT_HEADER,
        project_row(name="青城小区", address="赛罕区大学西路2号"),
        project_row(name="钢城家园", address="钢铁大街8号", start="2021年3月1日"),
    ]
    return {
        "registry.xlsx": standard_workbook(),
        "enterprises.csv": csv_bytes(enterprises),
        "projects-gb18030.csv": csv_bytes(projects, encoding="gb18030"),
    }


def damaged_registry_file():
    def damage(filename: str):
        original = real_registry_files()[filename]
        options = [mutated(original)]
        if filename.endswith(".xlsx"):
            options.append(mutated_zip(original))
        return st.tuples(st.just(filename), st.one_of(options))

    return st.sampled_from(sorted(real_registry_files())).flatmap(damage)


def stored_rows() -> tuple[int, int, int, int]:
    return (
        Enterprise.objects.count(),
        Project.objects.count(),
        ManagementContract.objects.count(),
        AuditEntry.objects.count(),
    )


@pytest.fixture
def registry_regions(db):
    region("150102", "新城区")
    region("150203", "昆都仑区")


def test_every_real_registry_file_imports_before_it_is_damaged(registry_regions):
    for filename, data in real_registry_files().items():
        report = registry_import(source=io.BytesIO(data), filename=filename, actor="fuzz")
        assert report.errors == (), filename


# Both were found by this fuzzing: a damaged sheet's XML raised from openpyxl's lazy row reader,
# and a NUL in a text cell reached PostgreSQL. Each now gives a report and writes nothing.


def _damaged_sheet_xml() -> bytes:
    original = real_registry_files()["registry.xlsx"]
    with zipfile.ZipFile(io.BytesIO(original)) as source:
        members = [(info.filename, source.read(info)) for info in source.infolist()]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for name, content in members:
            if name == "xl/worksheets/sheet1.xml":
                content = content.replace(b"</sheetData>", b"</sheetDat>")
            target.writestr(name, content)
    return buffer.getvalue()


def test_a_workbook_with_damaged_sheet_xml_is_reported_and_nothing_written(registry_regions):
    before = stored_rows()

    report = registry_import(
        source=io.BytesIO(_damaged_sheet_xml()), filename="registry.xlsx", actor="fuzz"
    )

    assert report.errors and stored_rows() == before


def test_a_csv_with_a_nul_character_is_reported_and_nothing_written(registry_regions):
    before = stored_rows()
    data = csv_bytes([ENTERPRISE_HEADER, enterprise_row(name="青城物业\x00服务有限公司")])

    report = registry_import(source=io.BytesIO(data), filename="e.csv", actor="fuzz")

    assert report.errors and stored_rows() == before


def check_registry_outcome(damaged: tuple[str, bytes]) -> None:
    """The documented outcome: an ImportReport, and either everything written or nothing."""
    filename, data = damaged
    before = stored_rows()

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # openpyxl warns about odd but readable parts
        report = registry_import(source=io.BytesIO(data), filename=filename, actor="fuzz")

    assert isinstance(report, ImportReport)
    if report.errors:
        assert stored_rows() == before
    else:
        created = (report.enterprises.created, report.projects.created, report.contracts.created)
        after = stored_rows()
        assert after[:3] == tuple(b + c for b, c in zip(before[:3], created, strict=True))
        assert after[3] == before[3] + (1 if report.changed else 0)


def fuzz_registry(examples: int) -> None:
    """Any exception or partial write fails the property."""

    @fuzz(examples)
    @given(damaged_registry_file())
    def run(damaged):
        check_registry_outcome(damaged)

    run()


def test_a_damaged_registry_file_is_imported_whole_or_reported_and_nothing_written(
    registry_regions,
):
    fuzz_registry(150)


@pytest.mark.fuzz_long
def test_a_damaged_registry_file_long(registry_regions):
    fuzz_registry(2000)
