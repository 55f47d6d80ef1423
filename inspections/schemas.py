"""Schemas shared by the bureau and mobile APIs."""

from django.contrib.auth.models import AbstractBaseUser
from ninja import Schema

from credit.access import staff_profile_of


class StaffOut(Schema):
    id: int
    name: str
    role: str
    regions: list[str]


def staff_out(user: AbstractBaseUser) -> dict:
    profile = staff_profile_of(user)
    return {
        "id": profile.id,
        "name": profile.display_name or user.get_username(),
        "role": profile.role,
        "regions": sorted(profile.regions.values_list("code", flat=True)),
    }
