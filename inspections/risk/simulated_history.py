"""Write a simulated world's inspections, findings and complaints into the database, for the demo
(`seed_demo`) and for tests that need a realistic history behind real compounds.

Written straight through the models, not the phone services: this is history, as if imported
from an older system. Simulated compound k is `project_ids[k - 1]`; the simulator's
enterprises are ignored because the database's own contracts say who managed what (features
look managers up there). Findings are confirmed by `reviewer` without credit records: the
credit history of the demo is seeded by `credit.demo` through the credit services, and turning
these findings into records too would count the same past twice.

Idempotent: every row carries a UUID derived from `namespace`, and a history already present
(its first inspection exists) is not written again.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import numpy as np
import pandas as pd
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from credit.models import StaffProfile
from inspections.models import (
    Complaint,
    ComplaintOutcome,
    Finding,
    Inspection,
    InspectionStatus,
    Project,
    ReviewStatus,
)
from ml.simulator import World

BATCH = 2000
VISIT_START = time(10, 0)  # a morning round
VISIT_MINUTES = 40
FINDING_AFTER_MINUTES = 10
REVIEW_AFTER_DAYS = 2
COMPLAINT_TIME = time(9, 0)
# Complaints of the last 30 days are still being looked into (the planner puts them first).
OPEN_COMPLAINT_DAYS = 30
HISTORY_NOTE = "历史记录（模拟）"
COMPLAINT_TEXT = "居民反映物业服务问题（模拟投诉）"
FINDING_TEXT = "模拟巡查发现"

ERR_TOO_FEW_PROJECTS = "the world has {world} compounds but only {projects} projects were given"


@dataclass(frozen=True)
class HistorySummary:
    inspections: int
    findings: int
    complaints: int


def _at(day, clock: time) -> datetime:
    value = pd.Timestamp(day).date()
    return timezone.make_aware(datetime.combine(value, clock))


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def simulated_history_load(
    *,
    world: World,
    project_ids: Sequence[int],
    inspectors: Mapping[str, StaffProfile],
    fallback_inspector: StaffProfile,
    reviewer: AbstractBaseUser,
    namespace: uuid.UUID,
    today: date,
) -> HistorySummary:
    """`inspectors` maps a league code (first four digits + "00") to the inspector who made
    that league's visits; other leagues' visits go to `fallback_inspector`."""
    if len(world.compounds) > len(project_ids):
        raise ValueError(
            ERR_TOO_FEW_PROJECTS.format(world=len(world.compounds), projects=len(project_ids))
        )
    inspections = world.inspections
    if (
        len(inspections)
        and Inspection.objects.filter(
            uuid=uuid.uuid5(namespace, f"inspection-{inspections['inspection_id'].iloc[0]}")
        ).exists()
    ):
        return HistorySummary(0, 0, 0)
    projects = Project.objects.in_bulk(list(project_ids))
    project_of = np.asarray(project_ids, dtype=np.int64)
    with transaction.atomic():
        ids = _write_inspections(
            inspections, project_of, projects, inspectors, fallback_inspector, namespace
        )
        findings = _write_findings(inspections, ids, reviewer, namespace)
        complaints = _write_complaints(world.complaints, project_of, reviewer, today)
    return HistorySummary(len(ids), findings, complaints)


def _write_inspections(inspections, project_of, projects, inspectors, fallback, namespace):
    rows = []
    for inspection_id, compound_id, day in inspections[
        ["inspection_id", "compound_id", "date"]
    ].itertuples(index=False):
        project = projects[int(project_of[compound_id - 1])]
        started = _at(day, VISIT_START)
        finished = started + timedelta(minutes=VISIT_MINUTES)
        key = uuid.uuid5(namespace, f"inspection-{inspection_id}")
        rows.append(
            Inspection(
                uuid=key,
                inspector=inspectors.get(project.region_id[:4] + "00", fallback),
                project=project,
                started_at=started,
                finished_at=finished,
                lat=project.lat,
                lon=project.lon,
                note=HISTORY_NOTE,
                status=InspectionStatus.SUBMITTED,
                submitted_at=finished,
                body_sha256=_digest(str(key)),
                submit_sha256=_digest(f"submit-{key}"),
            )
        )
    Inspection.objects.bulk_create(rows, batch_size=BATCH)
    by_uuid = dict(
        Inspection.objects.filter(uuid__in=[row.uuid for row in rows]).values_list("uuid", "id")
    )
    return {
        int(inspection_id): by_uuid[row.uuid]
        for inspection_id, row in zip(inspections["inspection_id"], rows, strict=True)
    }


def _write_findings(inspections, ids, reviewer, namespace) -> int:
    now = timezone.now()
    rows = []
    for inspection_id, day, codes in inspections[["inspection_id", "date", "codes"]].itertuples(
        index=False
    ):
        if not codes:
            continue
        observed = _at(day, VISIT_START) + timedelta(minutes=FINDING_AFTER_MINUTES)
        for number, code in enumerate(str(codes).split(";")):
            key = uuid.uuid5(namespace, f"finding-{inspection_id}-{number}")
            rows.append(
                Finding(
                    uuid=key,
                    inspection_id=ids[int(inspection_id)],
                    violation_code=code,
                    description=FINDING_TEXT,
                    observed_at=observed,
                    body_sha256=_digest(str(key)),
                    review_status=ReviewStatus.CONFIRMED,
                    reviewed_by=reviewer,
                    reviewed_at=min(observed + timedelta(days=REVIEW_AFTER_DAYS), now),
                )
            )
    Finding.objects.bulk_create(rows, batch_size=BATCH)
    return len(rows)


def _write_complaints(complaints, project_of, reviewer, today: date) -> int:
    open_from = today - timedelta(days=OPEN_COMPLAINT_DAYS)
    rows = []
    for compound_id, day, verified in complaints[["compound_id", "date", "verified"]].itertuples(
        index=False
    ):
        received = _at(day, COMPLAINT_TIME)
        if received.date() >= open_from:
            outcome = ComplaintOutcome.OPEN
        else:
            outcome = ComplaintOutcome.CONFIRMED if verified else ComplaintOutcome.UNFOUNDED
        rows.append(
            Complaint(
                project_id=int(project_of[compound_id - 1]),
                text=COMPLAINT_TEXT,
                received_at=received,
                registered_by=reviewer,
                outcome=outcome,
            )
        )
    Complaint.objects.bulk_create(rows, batch_size=BATCH)
    return len(rows)
