"""The monthly report: made by the scheduled task on a real Celery worker, once per region and
month however often it runs, stored in the object store, listed and downloadable only by staff
of the region. And the grade counts every publication writes for the grade trend."""

import io
import time
from datetime import date

import pytest
from django.db.models import Sum
from django.test import Client
from pypdf import PdfReader

from backend.celery import app
from backend.storage import get_store
from credit.models import SnapshotEntry, SnapshotGradeCount
from inspections.models import MonthlyReport
from inspections.stats.reports import REPORTED_LEVELS, monthly_report_build
from inspections.task_names import BUILD_MONTHLY_REPORTS_TASK
from tests.credit.conftest import new_record, publish, rescore
from tests.factories import EnterpriseFactory, region
from tests.inspections.stats.world import build_world

WORKER_WAIT_S = 90.0  # six PDFs, the first one importing WeasyPrint, on a busy 2-core machine


def wait_until(condition, timeout: float = WORKER_WAIT_S):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.25)
    return condition()


def pdf_text(data: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


@pytest.mark.worker
def test_the_scheduled_task_makes_one_report_per_region_and_month(
    transactional_db, celery_worker_proc
):
    from credit.models import Region

    build_world()
    regions = Region.objects.filter(level__in=REPORTED_LEVELS).count()

    app.send_task(BUILD_MONTHLY_REPORTS_TASK, args=["2026-03-01"])
    assert wait_until(lambda: MonthlyReport.objects.count() == regions), "reports not made"
    first = dict(MonthlyReport.objects.values_list("region_id", "generated_at"))
    app.send_task(BUILD_MONTHLY_REPORTS_TASK, args=["2026-03-01"])
    assert wait_until(
        lambda: all(r.generated_at > first[r.region_id] for r in MonthlyReport.objects.all())
    ), "the second run did not remake the reports"

    assert MonthlyReport.objects.count() == regions  # remade in place, not added
    report = MonthlyReport.objects.get(region_id="150100", month=date(2026, 3, 1))
    data = get_store().read_bytes(report.object_key, max_bytes=10_000_000)
    assert data.startswith(b"%PDF") and len(data) == report.size
    text = pdf_text(data)
    assert "呼和浩特市物业服务监管统计月报" in text
    assert "2026年3月" in text
    assert "巡查次数（按类型）" in text and "随机抽查比例：计划与实际" in text


@pytest.mark.django_db
def test_a_report_is_listed_and_served_to_staff_of_its_region_only(settings):
    world = build_world()
    report = monthly_report_build("150100", date(2026, 3, 1))
    mine, theirs = Client(), Client()
    mine.force_login(world.reviewer_150100.user)
    theirs.force_login(world.reviewer_150200.user)
    url = f"/bureau/statistics/reports/{report.id}.pdf"

    page = mine.get("/bureau/statistics/?region=150100&period=2026-03").content.decode()
    answer = mine.get(url)
    refused = theirs.get(url)

    assert url in page and "2026年3月月度统计报告" in page
    assert answer.status_code == 200 and answer["Content-Type"] == "application/pdf"
    body = b"".join(answer.streaming_content)
    assert body.startswith(b"%PDF") and "监管统计月报" in pdf_text(body)
    assert refused.status_code == 404
    assert (
        "2026年3月月度统计报告"
        not in theirs.get("/bureau/statistics/?region=150200&period=2026-03").content.decode()
    )


@pytest.mark.django_db
def test_every_publication_writes_its_grade_counts(reviewer):
    firms = [EnterpriseFactory(region=region(code)) for code in ("150102", "150102", "150202")]
    new_record(firms[0], "FEE-UNLISTED", reviewer)
    for firm in firms:
        rescore(firm)

    snapshot = publish(reviewer)

    counts = SnapshotGradeCount.objects.filter(snapshot=snapshot)
    assert (
        counts.aggregate(n=Sum("firms"))["n"]
        == SnapshotEntry.objects.filter(snapshot=snapshot).count()
        == snapshot.enterprises
    )
    by_region = {(c.region_code, c.grade, c.blacklisted): c.firms for c in counts}
    entries = SnapshotEntry.objects.filter(snapshot=snapshot)
    for entry in entries:
        assert by_region[(entry.region_code, entry.grade, entry.blacklisted)] >= 1
    assert all(c.as_of == snapshot.as_of for c in counts)
