"""Enterprise scale from management contracts. `credit` cannot read contracts (imports flow one
way), so whoever changes contracts (registry import, admin) calls this to push the totals."""

from collections.abc import Iterable
from decimal import Decimal

from django.db import transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone

from credit.models import Enterprise
from credit.services import enterprise_scale_update
from inspections.models import ManagementContract


@transaction.atomic
def enterprise_scale_refresh(*, enterprise_ids: Iterable[int]) -> int:
    """Recompute managed area and project count from the contracts running today."""
    today = timezone.localdate()
    running = ManagementContract.objects.filter(start_date__lte=today).filter(
        Q(end_date__isnull=True) | Q(end_date__gt=today)
    )
    refreshed = 0
    for enterprise in Enterprise.objects.filter(id__in=set(enterprise_ids)):
        totals = running.filter(enterprise=enterprise).aggregate(
            area=Sum("project__building_area_m2"), projects=Count("project", distinct=True)
        )
        enterprise_scale_update(
            enterprise=enterprise,
            managed_area_m2=totals["area"] or Decimal(0),
            managed_projects=totals["projects"],
        )
        refreshed += 1
    return refreshed
