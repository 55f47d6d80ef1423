"""Ten phones' worth of identical PUTs at once, on PostgreSQL, through the real locking path."""

import threading
import uuid

import pytest
from django.db import connection, connections
from django.test import Client

from inspections.models import Finding, Inspection, Photo
from tests.mobile_api.phone import Phone, jpeg, slot

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.services]

CONCURRENT = 10


def all_at_once(send) -> list[int]:
    """Run `send()` in CONCURRENT threads released together; their status codes."""
    barrier = threading.Barrier(CONCURRENT)
    statuses: list[int] = []
    errors: list[BaseException] = []

    def worker():
        try:
            barrier.wait()
            statuses.append(send().status_code)
        except BaseException as exc:  # surfaced below, with the thread's own traceback
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(CONCURRENT)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return sorted(statuses)


def fresh_phone(phone: Phone) -> Phone:
    """Each thread needs its own client; the token is the same device's."""
    return Phone(Client(), phone.auth["HTTP_AUTHORIZATION"].removeprefix("Bearer "))


def test_ten_identical_inspection_puts_make_one_row(phone, project):
    assert connection.vendor == "postgresql"
    inspection_uuid = uuid.uuid4()

    statuses = all_at_once(
        lambda: fresh_phone(phone).put_inspection(inspection_uuid, project_id=project.id)
    )

    assert statuses == [200] * (CONCURRENT - 1) + [201]
    assert Inspection.objects.filter(uuid=inspection_uuid).count() == 1


def test_ten_identical_finding_puts_make_one_finding_and_one_set_of_slots(phone, project):
    inspection_uuid, finding_uuid = uuid.uuid4(), uuid.uuid4()
    photos = [slot(jpeg(1)), slot(jpeg(2))]
    phone.put_inspection(inspection_uuid, project_id=project.id)

    statuses = all_at_once(
        lambda: fresh_phone(phone).put_finding(inspection_uuid, finding_uuid, photos)
    )

    assert statuses == [200] * (CONCURRENT - 1) + [201]
    assert Finding.objects.filter(uuid=finding_uuid).count() == 1
    assert Photo.objects.filter(finding__uuid=finding_uuid).count() == 2


def test_racing_different_bodies_leave_exactly_one_winner(phone, project):
    inspection_uuid = uuid.uuid4()
    notes = iter(range(CONCURRENT))
    lock = threading.Lock()

    def send():
        with lock:
            note = f"版本{next(notes)}"
        return fresh_phone(phone).put_inspection(inspection_uuid, project_id=project.id, note=note)

    statuses = all_at_once(send)

    assert statuses == [201] + [409] * (CONCURRENT - 1)
    assert Inspection.objects.filter(uuid=inspection_uuid).count() == 1
