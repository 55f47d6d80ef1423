"""Enterprise scale pushed from management contracts into the credit app."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from inspections.services import enterprise_scale_refresh
from tests.factories import ContractFactory, EnterpriseFactory, ProjectFactory

pytestmark = pytest.mark.django_db


def test_scale_counts_only_contracts_running_today():
    firm = EnterpriseFactory()
    today = timezone.localdate()
    ContractFactory(enterprise=firm, project=ProjectFactory(building_area_m2=Decimal("1200.50")))
    ContractFactory(enterprise=firm, project=ProjectFactory(building_area_m2=Decimal("800")))
    ContractFactory(
        enterprise=firm,
        project=ProjectFactory(building_area_m2=Decimal("5000")),
        start_date=date(2015, 1, 1),
        end_date=today,  # ended today: end dates are exclusive
    )
    ContractFactory(
        enterprise=firm,
        project=ProjectFactory(building_area_m2=Decimal("7000")),
        start_date=today + timedelta(days=1),
    )

    assert enterprise_scale_refresh(enterprise_ids=[firm.id]) == 1

    firm.refresh_from_db()
    assert (firm.managed_area_m2, firm.managed_projects) == (Decimal("2000.50"), 2)
