"""Pieces every inspections service shares: request fingerprints, results, error mapping."""

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Generic, TypeVar
from uuid import UUID

from django.core.exceptions import ValidationError
from django.db import models

from backend.exceptions import Conflict, Invalid

ModelT = TypeVar("ModelT", bound=models.Model)

ERR_IDEMPOTENCY_CONFLICT = "该编号已用于内容不同的请求；同一编号重发时内容必须完全相同。"
ERR_INVALID = "请求内容不符合要求。"


@dataclass(frozen=True)
class Location:
    """A WGS-84 point reported by the phone, with its accuracy radius in metres."""

    lat: float
    lon: float
    accuracy_m: float | None


@dataclass(frozen=True)
class Written(Generic[ModelT]):
    """The row an idempotent PUT wrote (`created`) or found unchanged (an identical resend)."""

    obj: ModelT
    created: bool


def _canonical_default(value: Any) -> Any:
    if isinstance(value, datetime):
        # One instant has one spelling, whatever offset the phone wrote it in.
        return value.astimezone(UTC).isoformat(timespec="microseconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, Location):
        return {"lat": value.lat, "lon": value.lon, "accuracy_m": value.accuracy_m}
    raise TypeError(f"cannot fingerprint {type(value).__name__}")


def fingerprint(body: dict[str, Any]) -> str:
    """SHA-256 of a request's meaning: canonical JSON with sorted keys and UTC instants."""
    canonical = json.dumps(
        body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_canonical_default
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def idempotency_conflict() -> Conflict:
    return Conflict("idempotency_conflict", ERR_IDEMPOTENCY_CONFLICT)


def validated(obj: ModelT) -> ModelT:
    """`full_clean()` before save, with a model error turned into a domain error naming each
    field (the interface answers 422 with the fields in the body). Uniqueness is
    left to the database constraint, which the callers catch under their row lock."""
    try:
        obj.full_clean(validate_unique=False)
    except ValidationError as exc:
        fields = [
            (field, str(message))
            for field, messages in exc.message_dict.items()
            for message in messages
        ]
        raise Invalid("validation_error", ERR_INVALID, fields=fields) from exc
    return obj
