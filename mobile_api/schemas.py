from django.contrib.auth.models import AbstractBaseUser
from ninja import Schema

from credit.access import staff_profile_of


class InspectorOut(Schema):
    id: int
    name: str
    regions: list[str]


def inspector_out(user: AbstractBaseUser) -> dict:
    profile = staff_profile_of(user)
    return {
        "id": profile.id,
        "name": profile.display_name or user.get_username(),
        "regions": sorted(profile.regions.values_list("code", flat=True)),
    }
