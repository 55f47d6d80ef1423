"""The apps' gauges on /metrics: photos by state, snapshot age, dirty enterprises, stranded
tasks."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from credit.models import EnterpriseScore, Snapshot
from inspections.models import Photo
from inspections.models.photos import PhotoState

pytestmark = pytest.mark.django_db


def _gauges(client) -> dict[str, dict[tuple, float]]:
    response = client.get("/metrics", REMOTE_ADDR="127.0.0.1")
    assert response.status_code == 200
    return {
        family.name: {tuple(sorted(s.labels.items())): s.value for s in family.samples}
        for family in text_string_to_metric_families(response.content.decode())
    }


def test_photos_by_state_counts_every_state_including_zero(client, inspection_with_photos):
    Photo.objects.filter(pk=inspection_with_photos[0].pk).update(
        state=PhotoState.RECEIVED, received_at=timezone.now() - timedelta(minutes=12)
    )

    gauges = _gauges(client)

    photos = gauges["wuye_photos"]
    assert photos[(("state", "received"),)] == 1
    assert photos[(("state", "rejected"),)] == 0
    assert sum(photos.values()) == Photo.objects.count()
    assert gauges["wuye_photo_oldest_received_age_seconds"][()] >= 12 * 60


def test_snapshot_age_and_dirty_enterprises(client, published_snapshot):
    Snapshot.objects.filter(pk=published_snapshot.pk).update(
        published_at=timezone.now() - timedelta(hours=30)
    )
    EnterpriseScore.objects.update(dirty=True)

    gauges = _gauges(client)

    assert 30 * 3600 <= gauges["wuye_snapshot_age_seconds"][()] < 30 * 3600 + 60
    assert gauges["wuye_dirty_enterprises"][()] == EnterpriseScore.objects.count() > 0


def test_stranded_tasks_counts_open_tasks_of_an_inspector_who_lost_the_region(client):
    from inspections.services import task_create
    from tests.factories import ProjectFactory, region, staff

    inspector = staff(regions=("150100",))
    project = ProjectFactory()
    task_create(project=project, assignee=inspector, kind="routine", due_date=timezone.localdate())
    assert _gauges(client)["wuye_tasks_stranded"][()] == 0

    inspector.regions.set([region("150200", "包头市")])

    assert _gauges(client)["wuye_tasks_stranded"][()] == 1


@pytest.fixture
def published_snapshot():
    from credit.publication import snapshot_publish
    from credit.recompute.full import recompute_all
    from tests.factories import EnterpriseFactory

    EnterpriseFactory.create_batch(3)
    recompute_all()
    return snapshot_publish(actor=None)


@pytest.fixture
def inspection_with_photos():
    from inspections.models import Finding, Inspection
    from tests.factories import ProjectFactory, staff

    inspector = staff()
    inspection = Inspection.objects.create(
        uuid=uuid.uuid4(),
        inspector=inspector,
        project=ProjectFactory(),
        started_at=timezone.now(),
        body_sha256="0" * 64,
    )
    finding = Finding.objects.create(
        uuid=uuid.uuid4(),
        inspection=inspection,
        violation_code="SANITATION",
        description="垃圾堆放",
        observed_at=timezone.now(),
        body_sha256="0" * 64,
    )
    return [
        Photo.objects.create(
            uuid=uuid.uuid4(),
            finding=finding,
            position=position,
            declared_sha256="0" * 64,
            declared_size=1000,
            declared_content_type="image/jpeg",
        )
        for position in range(2)
    ]
