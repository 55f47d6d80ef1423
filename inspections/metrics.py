"""Gauges of the inspections app for /metrics (registered in InspectionsConfig.ready)."""

from django.db.models import Count, Min
from django.utils import timezone

from inspections.models import Photo
from inspections.models.photos import PhotoState


def photo_counts_by_state() -> dict[tuple[str, ...], float]:
    counts = dict(Photo.objects.values_list("state").annotate(n=Count("pk")))
    return {(state,): float(counts.get(state, 0)) for state in PhotoState.values}


def oldest_received_photo_age() -> dict[tuple[str, ...], float]:
    """A photo waits in `received` for the worker; over 10 minutes the sweeper re-queues it."""
    oldest = Photo.objects.filter(state=PhotoState.RECEIVED).aggregate(t=Min("received_at"))["t"]
    return {(): (timezone.now() - oldest).total_seconds() if oldest else 0.0}


def stranded_tasks() -> dict[tuple[str, ...], float]:
    """Open tasks whose inspector lost the region, role or account. The sweeper hands them on
    within 5 minutes; one that stays counted has no inspector covering its compound."""
    from inspections.services.tasks import stranded_task_ids

    return {(): float(len(stranded_task_ids()))}


def latest_calibration_error() -> dict[tuple[str, ...], float]:
    from inspections.risk.calibration_check import latest_calibration_error as latest

    return latest()


def register() -> None:
    from backend.observability import register_gauge

    register_gauge("wuye_photos", "Photos by state.", photo_counts_by_state, labelnames=("state",))
    register_gauge(
        "wuye_photo_oldest_received_age_seconds",
        "Age of the oldest photo waiting for processing.",
        oldest_received_photo_age,
    )
    register_gauge(
        "wuye_risk_model_calibration_error",
        "Expected calibration error of the active risk model on the latest completed period.",
        latest_calibration_error,
    )
    register_gauge(
        "wuye_tasks_stranded",
        "Open inspection tasks whose inspector can no longer do them.",
        stranded_tasks,
    )
