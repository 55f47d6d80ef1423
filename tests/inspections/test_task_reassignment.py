"""Stranded tasks: an inspector who loses the compound's region, their role or their account
can no longer do a task. Before `tasks_reassign_stranded` the task vanished from their phone
without a cancellation and nobody else got it; now the phone hears of the cancellation and the
least-loaded inspector covering the compound gets a copy, with the complaint or plan item."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from backend.audit import verify_audit_chain
from backend.celery import app
from backend.models import AuditEntry
from credit.models import StaffRole
from inspections.models import Complaint, InspectionPlan, InspectionTask, PlanItem
from inspections.services import task_create, tasks_reassign_stranded
from inspections.services.tasks import stranded_task_ids
from inspections.tasks import reassign_stranded_tasks
from tests.factories import region, staff

pytestmark = pytest.mark.django_db
COMPLAINTS = "/api/bureau/v1/complaints"


def complaint_task(bureau, project) -> InspectionTask:
    response = bureau.post(
        COMPLAINTS,
        {
            "project_id": project.id,
            "text": "电梯停运三天",
            "received_at": "2025-05-05T08:00:00+08:00",
        },
        content_type="application/json",
    )
    assert response.status_code == 201
    return Complaint.objects.get(id=response.json()["id"]).task


def feed_after(phone, cursor: str) -> list[dict]:
    return phone.get(f"/tasks?cursor={cursor}").json()["items"]


def test_an_inspector_moved_away_hears_the_cancellation_and_a_colleague_gets_the_task(
    bureau, phone, project, inspector
):
    task = complaint_task(bureau, project)
    synced = phone.get("/tasks").json()
    assert [item["id"] for item in synced["items"]] == [task.id]
    inspector.regions.set([region("150200", "包头市")])
    colleague = staff(regions=("150100",), name="巡查员乙")

    [moved] = tasks_reassign_stranded()

    assert [(item["id"], item["status"]) for item in feed_after(phone, synced["next_cursor"])] == [
        (task.id, "cancelled")
    ]
    successor = Complaint.objects.get(task=moved.replacement).task
    assert successor.assignee_id == colleague.id
    assert (successor.kind, successor.due_date, successor.priority_rank, successor.reasons) == (
        task.kind,
        task.due_date,
        task.priority_rank,
        task.reasons,
    )
    assert InspectionTask.objects.get(id=task.id).status == "cancelled"
    entry = AuditEntry.objects.get(action="task.reassigned")
    assert (entry.object_id, entry.payload["to_inspector_id"]) == (str(task.id), colleague.id)
    assert verify_audit_chain().ok


def test_a_second_run_changes_nothing(bureau, project, inspector):
    complaint_task(bureau, project)
    inspector.regions.set([region("150200", "包头市")])
    staff(regions=("150100",))
    tasks_reassign_stranded()
    tasks_before = list(InspectionTask.objects.values_list("id", "status", "change_seq"))

    assert tasks_reassign_stranded() == []
    assert list(InspectionTask.objects.values_list("id", "status", "change_seq")) == tasks_before


def test_a_plan_items_task_follows_the_reassignment(project, inspector, reviewer):
    task = task_create(
        project=project, assignee=inspector, kind="routine", due_date=date(2026, 12, 31)
    )
    plan = InspectionPlan.objects.create(
        region=project.region,
        capacity=1,
        start_date=date(2026, 12, 7),
        due_date=date(2027, 1, 4),
        seed=1,
        random_share=0.0,
        random_pool=0,
        random_slots=0,
        approved_by=reviewer.user,
    )
    item = PlanItem.objects.create(
        plan=plan,
        project=project,
        rank=1,
        selected_by="model",
        inclusion_probability=1.0,
        task=task,
    )
    task.assignee.user.is_active = False  # the account was closed
    task.assignee.user.save()
    colleague = staff(regions=("150100",))

    [moved] = tasks_reassign_stranded()

    item.refresh_from_db()
    assert item.task_id == moved.replacement.id != task.id
    assert item.task.assignee_id == colleague.id


def test_with_nobody_to_take_it_the_task_waits_for_an_inspector_of_the_region(
    bureau, project, inspector
):
    task = complaint_task(bureau, project)
    inspector.role = StaffRole.REVIEWER  # promoted: no longer an inspector
    inspector.save()

    assert tasks_reassign_stranded() == []
    assert stranded_task_ids() == [task.id]  # what the wuye_tasks_stranded gauge counts
    assert InspectionTask.objects.get(id=task.id).status == "assigned"
    assert not AuditEntry.objects.filter(action="task.reassigned").exists()

    newcomer = staff(regions=("150100",))
    [moved] = tasks_reassign_stranded()

    assert moved.replacement.assignee_id == newcomer.id
    assert Complaint.objects.get(task=moved.replacement)
    assert stranded_task_ids() == []


def test_tasks_the_inspector_can_still_do_are_left_alone(bureau, project, inspector):
    task = complaint_task(bureau, project)
    inspector.regions.set([region("150000", "内蒙古自治区")])  # a wider scope still covers it
    done = task_create(
        project=project,
        assignee=inspector,
        kind="routine",
        due_date=timezone.localdate() + timedelta(days=3),
    )
    done.status = "done"
    done.save()
    inspector.regions.set([region("150200", "包头市")])
    inspector.regions.add(region("150100", "呼和浩特市"))

    assert tasks_reassign_stranded() == []
    assert InspectionTask.objects.get(id=task.id).status == "assigned"


def test_the_sweeper_runs_every_five_minutes_and_hands_on_the_tasks(bureau, project, inspector):
    complaint_task(bureau, project)
    inspector.regions.set([region("150200", "包头市")])
    staff(regions=("150100",))

    assert reassign_stranded_tasks() == 1
    [schedule] = [
        entry
        for entry in app.conf.beat_schedule.values()
        if entry["task"] == "inspections.reassign_stranded_tasks"
    ]
    assert str(schedule["schedule"]._orig_minute) == "*/5"
