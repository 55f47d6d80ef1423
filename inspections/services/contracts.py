"""Enterprise scale from management contracts. `credit` cannot read contracts (imports flow one
way), so whoever changes contracts (registry import, admin, the daily beat task) calls this to
push the totals through `credit.services.enterprise_scales_update`."""

from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from django.db import transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone

from credit.models import Enterprise
from credit.services import enterprise_scales_update
from inspections.models import ManagementContract

# Keeps each IN (...) list well below SQLite's and PostgreSQL's parameter limits.
QUERY_CHUNK = 900


def _running_on(day: date) -> Q:
    return Q(start_date__lte=day) & (Q(end_date__isnull=True) | Q(end_date__gt=day))


@transaction.atomic
def enterprise_scale_refresh(*, enterprise_ids: Iterable[int], today: date | None = None) -> int:
    """Recompute managed area and project count from the contracts running `today` (one
    aggregate query per chunk; only enterprises whose figures changed are written).
    Returns how many enterprises were looked at."""
    today = today or timezone.localdate()
    ids = sorted(set(enterprise_ids))
    refreshed = 0
    for start in range(0, len(ids), QUERY_CHUNK):
        chunk = ids[start : start + QUERY_CHUNK]
        totals = {
            row["enterprise_id"]: row
            for row in ManagementContract.objects.filter(
                _running_on(today), enterprise_id__in=chunk
            )
            .values("enterprise_id")
            .annotate(
                area=Sum("project__building_area_m2"), projects=Count("project", distinct=True)
            )
        }
        enterprise_scales_update(
            scales={
                enterprise_id: (
                    totals.get(enterprise_id, {}).get("area") or Decimal(0),
                    totals.get(enterprise_id, {}).get("projects") or 0,
                )
                for enterprise_id in chunk
            }
        )
        refreshed += len(chunk)
    return refreshed


def enterprise_scale_refresh_all(*, today: date | None = None) -> int:
    """The daily sweep: contracts end and start without anyone editing them."""
    return enterprise_scale_refresh(
        enterprise_ids=Enterprise.objects.values_list("id", flat=True), today=today
    )
