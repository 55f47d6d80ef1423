"""Two regions' worth of real data for the fuzz and security tests, built through the services.

Region A is 呼和浩特 (150100), region B is 包头 (150200). Each has a managing enterprise, a
compound, an inspector with a mobile token, a reviewer with a bureau token, a task, a submitted
inspection whose finding is pending review and whose photo went through the real upload and
processing pipeline, a credit record, and a tender client. An admin of the whole autonomous
region (150000) and a published snapshot complete it.
"""

import io
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from backend.models import TokenAudience
from backend.tokens import token_pair_issue
from credit.models import CreditRecord, StaffProfile, StaffRole, TenderClient
from credit.publication import snapshot_publish
from credit.services import record_create
from credit.tender_auth import tender_client_create
from inspections.models import Finding, Inspection, InspectionTask, Photo, Project
from inspections.services import (
    Location,
    PhotoSlot,
    finding_put,
    inspection_put,
    inspection_submit,
    photo_process,
    task_create,
    upload_append,
    upload_create,
)
from tests.factories import ContractFactory, EnterpriseFactory, ProjectFactory, region, staff
from tests.inspections import imagefactory
from tests.mobile_api.phone import jpeg, sha256

STARTED = datetime(2025, 5, 6, 9, 0, tzinfo=UTC)
# Inspectors' photos carry GPS in their EXIF: the tests check it never leaks to the public.
PHOTO_EXIF = imagefactory.hohhot_exif(taken="2025:05:06 17:20:00")


@dataclass(frozen=True)
class Side:
    """Everything one region holds."""

    region_code: str
    enterprise_uscc: str
    enterprise_name: str
    project: Project
    inspector: StaffProfile
    inspector_token: str
    inspector_refresh: str
    reviewer: StaffProfile
    reviewer_token: str
    task: InspectionTask
    inspection: Inspection
    finding: Finding
    photo: Photo
    photo_bytes: bytes
    record: CreditRecord
    tender_client: TenderClient
    tender_secret: str


@dataclass(frozen=True)
class World:
    a: Side
    b: Side
    admin: StaffProfile
    admin_token: str


def mobile_token(profile: StaffProfile, *, device_id: str = "phone") -> tuple[str, str]:
    pair = token_pair_issue(user=profile.user, audience=TokenAudience.MOBILE, device_id=device_id)
    return pair.access_token, pair.refresh_token


def bureau_token(profile: StaffProfile, *, device_id: str = "pc") -> str:
    pair = token_pair_issue(user=profile.user, audience=TokenAudience.BUREAU, device_id=device_id)
    return pair.access_token


def upload_and_process(user, slot: PhotoSlot, data: bytes) -> Photo:
    upload = upload_create(
        user=user,
        photo_uuid=slot.photo_uuid,
        length=len(data),
        filename="IMG_0001.JPG",
        content_type=slot.content_type,
    )
    upload_append(
        user=user,
        upload_id=upload.id,
        offset=0,
        content_length=len(data),
        read=io.BytesIO(data).read,
    )
    photo = Photo.objects.get(uuid=slot.photo_uuid)
    return photo_process(photo_id=photo.id) or photo


def build_side(*, code: str, name: str, lat: float, lon: float, seed: int) -> Side:
    area = region(code, name=name)
    enterprise = EnterpriseFactory(region=area, name=f"{name}物业服务有限公司")
    project = ProjectFactory(name=f"{name}花园", region=area, lat=lat, lon=lon)
    ContractFactory(enterprise=enterprise, project=project, start_date=date(2020, 1, 1))
    inspector = staff(role=StaffRole.INSPECTOR, regions=(code,), name=f"{name}巡查员")
    reviewer = staff(role=StaffRole.REVIEWER, regions=(code,), name=f"{name}审核员")
    access, refresh = mobile_token(inspector)
    task = task_create(
        project=project,
        assignee=inspector,
        kind="routine",
        due_date=date(2025, 5, 31),
        reasons=["例行巡查"],
    )
    inspection = inspection_put(
        user=inspector.user,
        inspection_uuid=uuid.uuid4(),
        project_id=project.id,
        task_id=task.id,
        started_at=STARTED,
        location=Location(lat=lat, lon=lon, accuracy_m=10.0),
        note="",
    ).obj
    data = jpeg(seed, exif=PHOTO_EXIF)
    slot = PhotoSlot(
        photo_uuid=uuid.uuid4(),
        sha256=sha256(data),
        size_bytes=len(data),
        content_type="image/jpeg",
    )
    finding = finding_put(
        user=inspector.user,
        inspection_uuid=inspection.uuid,
        finding_uuid=uuid.uuid4(),
        violation_code="SANITATION",
        description="垃圾堆放未清理",
        observed_at=STARTED + timedelta(minutes=20),
        location=None,
        photos=[slot],
    ).obj
    photo = upload_and_process(inspector.user, slot, data)
    inspection = inspection_submit(
        user=inspector.user,
        inspection_uuid=inspection.uuid,
        finished_at=STARTED + timedelta(hours=1),
        finding_uuids=[finding.uuid],
    )
    record = record_create(
        enterprise=enterprise,
        rule_code="ADMIN-PENALTY",
        decided_at=date(2025, 3, 5),
        document_no=f"{name}房罚〔2025〕1号",
        facts="未按规定公示收费标准",
        source="penalty",
        actor=reviewer.user,
    )
    client, secret = tender_client_create(name=f"{name}公共资源交易中心")
    return Side(
        region_code=code,
        enterprise_uscc=enterprise.uscc,
        enterprise_name=enterprise.name,
        project=project,
        inspector=inspector,
        inspector_token=access,
        inspector_refresh=refresh,
        reviewer=reviewer,
        reviewer_token=bureau_token(reviewer),
        task=task,
        inspection=inspection,
        finding=finding,
        photo=photo,
        photo_bytes=data,
        record=record,
        tender_client=client,
        tender_secret=secret,
    )


def build_world() -> World:
    a = build_side(
        code="150100",
        name="呼和浩特",
        lat=imagefactory.HOHHOT_LAT,
        lon=imagefactory.HOHHOT_LON,
        seed=1,
    )
    b = build_side(code="150200", name="包头", lat=40.65, lon=109.84, seed=2)
    admin = staff(role=StaffRole.ADMIN, regions=("150000",), name="自治区管理员")
    snapshot_publish(actor=admin.user)
    return World(a=a, b=b, admin=admin, admin_token=bureau_token(admin))
