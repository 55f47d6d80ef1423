"""Backbone enterprises (骨干企业): designated by the bureau (the system only proposes)."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from backend.audit import actor_name, audit_append
from backend.exceptions import Conflict
from credit.models import (
    BackboneDesignation,
    BlacklistStatus,
    Enterprise,
)
from credit.selectors import (
    open_blacklist_entry,
)
from credit.services.common import enterprise_mark_dirty
from credit.workdays import today_local

ERR_ALREADY_BACKBONE = "该企业已被认定为骨干企业。"
ERR_BACKBONE_BLACKLISTED = "黑名单企业不能认定为骨干企业。"
ERR_NOT_BACKBONE = "该企业不是骨干企业。"


# --- backbone enterprises ----------------------------------------------------------------------


@transaction.atomic
def backbone_designate(
    *, enterprise: Enterprise, document_no: str, actor: AbstractBaseUser
) -> BackboneDesignation:
    Enterprise.objects.select_for_update().filter(pk=enterprise.pk).first()
    if BackboneDesignation.objects.filter(enterprise=enterprise, ended_on__isnull=True).exists():
        raise Conflict("already_backbone", ERR_ALREADY_BACKBONE)
    if open_blacklist_entry(enterprise_id=enterprise.id) is not None and (
        open_blacklist_entry(enterprise_id=enterprise.id).status == BlacklistStatus.ACTIVE
    ):
        raise Conflict("blacklisted", ERR_BACKBONE_BLACKLISTED)
    designation = BackboneDesignation.objects.create(
        enterprise=enterprise,
        designated_by=actor,
        designated_on=today_local(),
        document_no=document_no,
    )
    enterprise_mark_dirty(enterprise_id=enterprise.id)
    audit_append(
        actor=actor_name(actor),
        action="credit.backbone_designated",
        object_type="enterprise",
        object_id=enterprise.uscc,
        payload={"designation": designation.id, "document_no": document_no},
    )
    return designation


@transaction.atomic
def backbone_end(
    *, enterprise: Enterprise, reason: str, actor: AbstractBaseUser
) -> BackboneDesignation:
    designation = (
        BackboneDesignation.objects.select_for_update()
        .filter(enterprise=enterprise, ended_on__isnull=True)
        .first()
    )
    if designation is None:
        raise Conflict("not_backbone", ERR_NOT_BACKBONE)
    designation.ended_on = today_local()
    designation.end_reason = reason
    designation.save(update_fields=["ended_on", "end_reason", "updated_at"])
    enterprise_mark_dirty(enterprise_id=enterprise.id)
    audit_append(
        actor=actor_name(actor),
        action="credit.backbone_ended",
        object_type="enterprise",
        object_id=enterprise.uscc,
        payload={"designation": designation.id, "reason": reason},
    )
    return designation
