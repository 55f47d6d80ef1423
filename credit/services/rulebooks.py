"""Rulebook versions: a change of the rules is a new version, never an edit."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from backend.audit import actor_name, audit_append
from backend.exceptions import Conflict
from credit.models import (
    RulebookVersion,
)
from credit.services.common import full_clean

# --- rulebook versions -------------------------------------------------------------------------

ERR_RULEBOOK_VERSION_TAKEN = "规则版本号 {version} 已被另一份内容使用，请在新内容中使用新的版本号。"


@transaction.atomic
def rulebook_version_create(
    *, content: dict, actor: AbstractBaseUser | None, activate: bool = True
) -> RulebookVersion:
    """Store a rulebook document as a new version (validated) and, by default, make it the active
    one. The same content again is not duplicated: the stored version is returned (and
    activated). Changing scores follow through the full recompute (`recompute_scores --all`)."""
    version = RulebookVersion(content=content, created_by=actor)
    full_clean(version, exclude=["created_by"], validate_unique=False, validate_constraints=False)
    existing = RulebookVersion.objects.select_for_update().filter(version=version.version).first()
    if existing is not None and existing.sha256 != version.sha256:
        raise Conflict(
            "rulebook_version_taken",
            ERR_RULEBOOK_VERSION_TAKEN.format(version=version.version),
        )
    created = existing is None
    if created:
        version.save()
    else:
        version = existing
    if activate and not version.is_active:
        RulebookVersion.objects.filter(is_active=True).update(is_active=False)
        version.is_active = True
        version.save(update_fields=["is_active", "updated_at"])
    if created or activate:
        audit_append(
            actor=actor_name(actor),
            action="credit.rulebook_version_stored" if created else "credit.rulebook_activated",
            object_type="rulebook_version",
            object_id=version.version,
            payload={"sha256": version.sha256, "active": version.is_active},
        )
    return version
