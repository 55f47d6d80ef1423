"""Work waiting on the bureau desk of the demo (`seed_demo`'s last steps): findings to review
with processed photos, a blacklist proposal waiting for its second approver, and an objection
in its window. Everything goes through the real services, as the phone and the staff would.

Each step is idempotent: it does nothing when the work it leaves was left by an earlier run
(found by its demo UUIDs or `source_ref` prefix), so a second run, even on a later day, adds
nothing and never files a second case.
"""

from __future__ import annotations

import hashlib
import io
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING

from django.contrib.auth import get_user_model
from django.test.utils import override_settings
from django.utils import timezone

from credit.models import (
    BlacklistEntry,
    BlacklistStatus,
    CreditRecord,
    Enterprise,
    RecordSource,
)
from credit.recompute.firm import recompute_enterprise
from credit.services import blacklist_propose, objection_file, record_create, today_local
from credit.stats.periods import last_complete_month
from inspections.demo_photos import demo_photo
from inspections.models import Inspection, Photo, Project, ProjectType
from inspections.services import (
    Location,
    PhotoSlot,
    finding_put,
    inspection_put,
    inspection_submit,
    photo_process,
    upload_append,
    upload_create,
)
from inspections.stats.reports import monthly_report_build

if TYPE_CHECKING:
    from inspections.demo_data import DemoContext

# The western reviewer's leagues (demo_data.WEST) hold every case, so one account sees it all.
REVIEWER = "reviewer_west"
WORK_LEAGUES = ("150100", "150200")
WINTER_MONTHS = (11, 12, 1, 2, 3)
BLACKLIST_REF = "demo-work-blacklist-"
OBJECTION_REF = "demo-work-objection-"
# A penalty decided well before today: past the objection window whatever its length, so the
# serious record counts and the blacklist proposal rests on it.
PENALTY_DAYS_AGO = 40


@dataclass(frozen=True)
class DemoShot:
    scene: str
    with_exif: bool = True  # many Android phones strip EXIF: the desk flags such photos


@dataclass(frozen=True)
class DemoFinding:
    violation_code: str
    description: str
    shots: tuple[DemoShot, ...]
    winter_only: bool = False


@dataclass(frozen=True)
class DemoInspection:
    league: str  # the inspector is inspector_<league>
    compound: int  # which residential compound of the league, in id order
    findings: tuple[DemoFinding, ...]


DEMO_INSPECTIONS: tuple[DemoInspection, ...] = (
    DemoInspection(
        "150100",
        0,
        (
            DemoFinding(
                "SNOW-ICE",
                "小区主干道积雪两日未清，已压实结冰，老人出行困难。",
                (DemoShot("snow"),),
                winter_only=True,
            ),
            DemoFinding(
                "SANITATION",
                "3号楼前垃圾桶满溢，生活垃圾堆放在地面，未及时清运。",
                (DemoShot("litter"),),
            ),
        ),
    ),
    DemoInspection(
        "150100",
        1,
        (
            DemoFinding(
                "PARKING-DISORDER",
                "多辆车停放在绿地和消防通道上，物业未劝阻、未设置隔离。",
                (DemoShot("parking"), DemoShot("parking_close", with_exif=False)),
            ),
        ),
    ),
    DemoInspection(
        "150200",
        0,
        (
            DemoFinding(
                "CONSTRUCTION-UNREPORTED",
                "5号楼楼顶新建彩钢房，物业未制止，也未向主管部门报告。",
                (DemoShot("shed"),),
            ),
        ),
    ),
)


def _user(username: str):
    return get_user_model().objects.get(username=username)


def _uuid(*parts: object) -> uuid.UUID:
    return uuid.uuid5(uuid.NAMESPACE_URL, "wuye-credit/demo-work/" + "/".join(map(str, parts)))


def _compound(league: str, number: int) -> Project | None:
    compounds = Project.objects.filter(
        region__code__startswith=league[:4], project_type=ProjectType.RESIDENTIAL
    ).order_by("id")
    return compounds[number : number + 1].first()


def _visit_time(day: date, minutes: int) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(10, 0)) + timedelta(minutes=minutes))


# --- findings to review -----------------------------------------------------------------------


def seed_review_work(ctx: DemoContext) -> None:
    """Submitted inspections of yesterday with findings waiting for review, each photo uploaded
    with tus and processed by the pipeline (derivatives in the object store)."""
    if Inspection.objects.filter(uuid=_uuid(ctx.seed, "inspection", 0)).exists():
        ctx.counts["findings_to_review_written"] = 0
        return
    written = 0
    for number, visit in enumerate(DEMO_INSPECTIONS):
        written += _seed_inspection(ctx, number, visit)
    ctx.counts["findings_to_review_written"] = written


def _seed_inspection(ctx: DemoContext, number: int, visit: DemoInspection) -> int:
    inspector = _user(f"inspector_{visit.league}")
    project = _compound(visit.league, visit.compound)
    if project is None:
        return 0  # a tiny demo without that many compounds
    day = ctx.today - timedelta(days=1)
    inspection_uuid = _uuid(ctx.seed, "inspection", number)
    here = Location(lat=project.lat, lon=project.lon, accuracy_m=8.0)
    inspection_put(
        user=inspector,
        inspection_uuid=inspection_uuid,
        project_id=project.id,
        task_id=None,
        started_at=_visit_time(day, number * 90),
        location=here,
        note="",
    )
    finding_uuids = []
    findings = [f for f in visit.findings if day.month in WINTER_MONTHS or not f.winter_only]
    for position, finding in enumerate(findings):
        observed = _visit_time(day, number * 90 + 10 + position * 8)
        finding_uuid = _uuid(ctx.seed, "finding", number, position)
        photos = [
            (
                _uuid(ctx.seed, "photo", number, position, shot_number),
                demo_photo(
                    shot.scene,
                    seed=ctx.seed + shot_number,
                    taken=observed if shot.with_exif else None,
                    lat=project.lat + 0.0002 * (shot_number + 1),  # a few tens of metres away
                    lon=project.lon,
                ),
            )
            for shot_number, shot in enumerate(finding.shots)
        ]
        finding_put(
            user=inspector,
            inspection_uuid=inspection_uuid,
            finding_uuid=finding_uuid,
            violation_code=finding.violation_code,
            description=finding.description,
            observed_at=observed,
            location=here,
            photos=[_slot(photo_uuid, data) for photo_uuid, data in photos],
        )
        for photo_uuid, data in photos:
            _upload(inspector, photo_uuid, data)
        finding_uuids.append(finding_uuid)
    inspection_submit(
        user=inspector,
        inspection_uuid=inspection_uuid,
        finished_at=_visit_time(day, number * 90 + 45),
        finding_uuids=finding_uuids,
    )
    return len(finding_uuids)


def _slot(photo_uuid: uuid.UUID, data: bytes) -> PhotoSlot:
    return PhotoSlot(
        photo_uuid=photo_uuid,
        sha256=hashlib.sha256(data).hexdigest(),
        size_bytes=len(data),
        content_type="image/jpeg",
    )


def _upload(inspector, photo_uuid: uuid.UUID, data: bytes) -> None:
    """The phone's tus upload in one PATCH, then the worker's processing. Run here rather than
    left to the queue: with a broker and no worker (tests) the photos would wait forever."""
    upload = upload_create(
        user=inspector,
        photo_uuid=photo_uuid,
        length=len(data),
        filename=f"{photo_uuid}.jpg",
        content_type="image/jpeg",
    )
    upload_append(
        user=inspector,
        upload_id=upload.id,
        offset=0,
        content_length=len(data),
        read=io.BytesIO(data).read,
    )
    photo_process(photo_id=Photo.objects.values_list("id", flat=True).get(uuid=photo_uuid))


# --- a blacklist proposal waiting for its second approver ----------------------------------------


def _western_firms(ctx: DemoContext, *, exclude: tuple[int, ...] = ()) -> list[Enterprise]:
    """Demo firms of the work leagues that are not on the blacklist nor proposed for it."""
    open_entries = BlacklistEntry.objects.filter(
        status__in=(BlacklistStatus.PROPOSED, BlacklistStatus.ACTIVE)
    ).values("enterprise_id")
    firms = (
        Enterprise.objects.filter(pk__in=ctx.enterprise_ids)
        .exclude(pk__in=open_entries)
        .exclude(pk__in=exclude)
        .order_by("uscc")
    )
    return [f for f in firms if f.region_id[:4] + "00" in WORK_LEAGUES]


def seed_blacklist_proposal(ctx: DemoContext) -> None:
    """A serious record (misused maintenance fund, a penalty decided weeks ago) and the western
    reviewer's proposal to blacklist the firm: an admin, a second person, approves it."""
    if CreditRecord.objects.filter(source_ref__startswith=BLACKLIST_REF).exists():
        ctx.counts["blacklist_proposals_written"] = 0
        return
    firms = _western_firms(ctx)
    if not firms:
        ctx.counts["blacklist_proposals_written"] = 0
        return
    reviewer, firm = _user(REVIEWER), firms[0]
    decided = today_local() - timedelta(days=PENALTY_DAYS_AGO)
    record_create(
        enterprise=firm,
        rule_code="MAINT-FUND-MISUSE",
        decided_at=decided,
        document_no=f"示例罚〔{decided.year}〕18号",
        facts="经审计，挪用住宅专项维修资金 46 万元改造门禁，未经业主大会同意（演示数据）。",
        source=RecordSource.PENALTY,
        source_ref=f"{BLACKLIST_REF}{firm.uscc}",
        actor=reviewer,
    )
    blacklist_propose(
        enterprise=firm,
        reason="挤占挪用住宅专项维修资金，行政处罚决定已生效，依规则提议列入黑名单。",
        actor=reviewer,
    )
    recompute_enterprise(enterprise_id=firm.id)
    ctx.counts["blacklist_proposals_written"] = 1


# --- an objection in its window --------------------------------------------------------------


def seed_objection_case(ctx: DemoContext) -> None:
    """Two records decided today under the rulebook's own objection window: one with the firm's
    objection waiting for a decision, one the firm may still object to.

    `make run` sets CREDIT_OBJECTION_WORKING_DAYS=0 so that every other record counts at once;
    without the rulebook's window here there would be no objection to show."""
    if CreditRecord.objects.filter(source_ref__startswith=OBJECTION_REF).exists():
        ctx.counts["objections_written"] = 0
        return
    reviewer = _user(REVIEWER)
    taken = tuple(
        CreditRecord.objects.filter(source_ref__startswith=BLACKLIST_REF).values_list(
            "enterprise_id", flat=True
        )
    )
    firms = _western_firms(ctx, exclude=taken) or _western_firms(ctx)
    if not firms:
        ctx.counts["objections_written"] = 0
        return
    objected, open_window = firms[0], firms[min(1, len(firms) - 1)]
    today = today_local()
    with override_settings(CREDIT_OBJECTION_WORKING_DAYS=None):
        record = record_create(
            enterprise=objected,
            rule_code="FEE-UNLISTED",
            decided_at=today,
            document_no=f"示例罚〔{today.year}〕27号",
            facts="向业主收取“电梯使用费”每户每月 20 元，收费项目未标明、未公示（演示数据）。",
            source=RecordSource.PENALTY,
            source_ref=f"{OBJECTION_REF}{objected.uscc}-fee",
            actor=reviewer,
        )
        record_create(
            enterprise=open_window,
            rule_code="PARKING-LEASE",
            decided_at=today,
            document_no=f"示例罚〔{today.year}〕28号",
            facts="将地上公共车位整体出租给第三方，租期三年（演示数据）。",
            source=RecordSource.PENALTY,
            source_ref=f"{OBJECTION_REF}{open_window.uscc}-parking",
            actor=reviewer,
        )
    objection_file(
        record=record,
        grounds="企业称该项费用已于今年3月在小区公告栏公示，并提交公示照片和业主委员会证明。",
        actor=reviewer,
    )
    ctx.counts["objections_written"] = 1


# The regions whose monthly report the demo makes (the admin's province and the two leagues of
# the demo inspectors with the most work); the scheduled task makes every region's.
DEMO_REPORT_REGIONS = ("150000", "150100", "150200")


def seed_monthly_reports(ctx) -> None:
    """Last month's statistics reports, so the dashboard lists one (made again on every run:
    the history it counts is fixed, the report is replaced in place)."""
    month = last_complete_month(ctx.today).first_month
    for code in DEMO_REPORT_REGIONS:
        monthly_report_build(code, month)
    ctx.counts["monthly_reports_written"] = len(DEMO_REPORT_REGIONS)
