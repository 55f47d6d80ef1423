"""Reads for the APIs and pages: task feed, project lists, inspection detail and an inspector's
recent inspections, review queue, the planner's regions and an approved plan's items.

Cursors are opaque to clients: urlsafe base64 of a small JSON object. A cursor the server did
not make is a 422, never a 500.
"""

import base64
import binascii
import json
import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Generic, TypeVar

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import F, FloatField, Prefetch, Q, QuerySet, Value
from django.db.models.functions import Cast
from django.utils import timezone

from backend.exceptions import Invalid
from backend.storage import get_store
from credit.access import region_scope_q
from credit.choices import RegionLevel
from credit.models import Enterprise, Region
from credit.selectors import ManagedCompound
from inspections.access import (
    access_project_for_inspector,
    findings_for_reviewer,
    inspections_for_inspector,
    projects_for_inspector,
    task_feed_for_inspector,
)
from inspections.models import (
    Finding,
    Inspection,
    InspectionPlan,
    InspectionStatus,
    ManagementContract,
    Photo,
    PhotoState,
    PlanItem,
    Project,
)

T = TypeVar("T")

ERR_BAD_CURSOR = "分页游标无效，请从第一页重新获取。"
MAX_PAGE = 200
DEFAULT_PAGE = 50


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None
    has_more: bool


def encode_cursor(payload: dict[str, Any]) -> str:
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, *, keys: tuple[str, ...]) -> dict[str, Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        payload = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        payload = None
    if not isinstance(payload, dict) or set(payload) != set(keys):
        raise Invalid("invalid_cursor", ERR_BAD_CURSOR)
    return payload


def _page(rows: list[T], limit: int, cursor_of, *, empty_cursor: str | None = None) -> Page[T]:
    has_more = len(rows) > limit
    items = rows[:limit]
    next_cursor = cursor_of(items[-1]) if items else empty_cursor
    return Page(items=items, next_cursor=next_cursor, has_more=has_more)


# --- managing enterprise of projects --------------------------------------------------------


def current_contracts_prefetch(prefix: str = "") -> Prefetch:
    """Today's management contract(s) of each project, with the enterprise."""
    today = timezone.localdate()
    queryset = (
        ManagementContract.objects.filter(start_date__lte=today)
        .filter(Q(end_date__isnull=True) | Q(end_date__gt=today))
        .select_related("enterprise")
        .order_by("-start_date")
    )
    return Prefetch(f"{prefix}contracts", queryset=queryset, to_attr="current_contracts")


def current_enterprise(project: Project) -> Enterprise | None:
    contracts = getattr(project, "current_contracts", None)
    return contracts[0].enterprise if contracts else None


def managing_enterprise_on(*, project: Project, day: date) -> Enterprise | None:
    """The enterprise whose contract covers `day` (start inclusive, end exclusive)."""
    contract = (
        ManagementContract.objects.select_related("enterprise")
        .filter(project=project, start_date__lte=day)
        .filter(Q(end_date__isnull=True) | Q(end_date__gt=day))
        .order_by("-start_date")
        .first()
    )
    return contract.enterprise if contract else None


# --- tasks --------------------------------------------------------------------------------


def tasks_page(*, user: AbstractBaseUser, cursor: str | None, limit: int) -> Page:
    """The inspector's tasks in commit order of their last change; a phone that keeps the
    returned cursor sees every later change (cancellations included) exactly once."""
    after = decode_cursor(cursor, keys=("s",))["s"] if cursor else 0
    if not isinstance(after, int):
        raise Invalid("invalid_cursor", ERR_BAD_CURSOR)
    rows = list(
        task_feed_for_inspector(user)
        .filter(change_seq__gt=after)
        .select_related("project")
        .prefetch_related(current_contracts_prefetch("project__"))
        .order_by("change_seq")[: limit + 1]
    )
    # With nothing new the phone keeps its place: the same cursor comes back.
    return _page(
        rows, limit, lambda task: encode_cursor({"s": task.change_seq}), empty_cursor=cursor
    )


# --- projects -----------------------------------------------------------------------------


def projects_page(
    *,
    user: AbstractBaseUser,
    cursor: str | None,
    limit: int,
    near: tuple[float, float] | None,
) -> Page:
    base = projects_for_inspector(user).prefetch_related(current_contracts_prefetch())
    if near is None:
        after = decode_cursor(cursor, keys=("i",))["i"] if cursor else 0
        if not isinstance(after, int):
            raise Invalid("invalid_cursor", ERR_BAD_CURSOR)
        rows = list(base.filter(id__gt=after).order_by("id")[: limit + 1])
        return _page(rows, limit, lambda project: encode_cursor({"i": project.id}))
    queryset = base.annotate(distance_key=_distance_key(*near))
    if cursor:
        position = decode_cursor(cursor, keys=("d", "i"))
        if not isinstance(position["d"], int | float) or not isinstance(position["i"], int):
            raise Invalid("invalid_cursor", ERR_BAD_CURSOR)
        queryset = queryset.filter(
            Q(distance_key__gt=position["d"]) | Q(distance_key=position["d"], id__gt=position["i"])
        )
    rows = list(queryset.order_by("distance_key", "id")[: limit + 1])
    return _page(
        rows, limit, lambda project: encode_cursor({"d": project.distance_key, "i": project.id})
    )


def _distance_key(lat: float, lon: float):
    """Squared equirectangular distance in degrees of latitude: orders compounds exactly like
    the true distance at city scale and needs no trigonometry in the database (SQLite has
    none). The cosine of the phone's latitude shrinks longitude degrees to their width there."""
    shrink = math.cos(math.radians(lat))
    dlat = F("lat") - Value(lat)
    dlon = (F("lon") - Value(lon)) * Value(shrink)
    return Cast(dlat * dlat + dlon * dlon, output_field=FloatField())


# --- inspections --------------------------------------------------------------------------


def photos_prefetch(prefix: str = "") -> Prefetch:
    return Prefetch(f"{prefix}photos", queryset=Photo.objects.order_by("position"))


def findings_prefetch() -> Prefetch:
    """An inspection's findings in the order they were observed, with their photo slots."""
    return Prefetch(
        "findings",
        queryset=Finding.objects.order_by("observed_at", "id").prefetch_related(photos_prefetch()),
    )


def inspection_detail(inspection: Inspection) -> Inspection:
    """The inspection with its findings and their photo slots loaded."""
    return Inspection.objects.filter(id=inspection.id).prefetch_related(findings_prefetch()).get()


# A phone lists its recent work to pick up where it left off (a reinstalled app, a second
# device); a few weeks of inspections fit in 100, and the whole answer stays small.
MAX_RECENT_INSPECTIONS = 100
DEFAULT_RECENT_INSPECTIONS = 20


def inspections_recent(
    *, user: AbstractBaseUser, project_id: int | None, limit: int
) -> list[Inspection]:
    """The inspector's own inspections (of projects in their regions), newest start first, each
    with its findings and photo slots (one query each, however many there are). A project
    outside their regions is a NotFound, as when they record an inspection of it."""
    queryset = inspections_for_inspector(user)
    if project_id is not None:
        queryset = queryset.filter(project=access_project_for_inspector(user, project_id))
    return list(
        queryset.order_by("-started_at", "-id").prefetch_related(findings_prefetch())[:limit]
    )


# --- review queue -------------------------------------------------------------------------


def review_queue(*, user: AbstractBaseUser, status: str, cursor: str | None, limit: int) -> Page:
    """Findings of submitted inspections in the reviewer's regions, oldest first."""
    after = decode_cursor(cursor, keys=("i",))["i"] if cursor else 0
    if not isinstance(after, int):
        raise Invalid("invalid_cursor", ERR_BAD_CURSOR)
    rows = list(
        findings_for_reviewer(user)
        .filter(
            review_status=status,
            inspection__status=InspectionStatus.SUBMITTED,
            id__gt=after,
        )
        .select_related("inspection__project__region", "inspection__inspector", "reviewed_by")
        .prefetch_related(photos_prefetch())
        .order_by("id")[: limit + 1]
    )
    return _page(rows, limit, lambda finding: encode_cursor({"i": finding.id}))


# --- plans --------------------------------------------------------------------------------


def planner_regions(user: AbstractBaseUser) -> QuerySet[Region]:
    """The 盟市 and 旗县 of the user's regions a round may be planned for, by code."""
    return Region.objects.filter(
        region_scope_q(user, "code"),
        level__in=(RegionLevel.LEAGUE_CITY, RegionLevel.BANNER_COUNTY),
        parent__isnull=False,  # the autonomous region itself is too wide for one round
    ).order_by("code")


def plan_items(plan: InspectionPlan) -> QuerySet[PlanItem]:
    """An approved plan's items in rank order, with compound, task and assignee."""
    return plan.items.select_related("project", "task__assignee__user").order_by("rank")


# --- photo links --------------------------------------------------------------------------

# Long enough to open a review page or a phone screen and look; short enough that a copied link
# is useless by the time it could be passed around.
PHOTO_LINK_LIFETIME = timedelta(minutes=10)


@dataclass(frozen=True)
class PhotoLinks:
    thumb_url: str | None
    display_url: str | None
    expires_at: datetime | None


def photo_links(photo: Photo) -> PhotoLinks:
    """Short-lived links to the derivatives of a processed photo. Originals are never linked:
    they keep the EXIF (GPS, device) that only the pipeline may read."""
    if photo.state != PhotoState.PROCESSED or not (photo.thumb_key and photo.display_key):
        return PhotoLinks(thumb_url=None, display_url=None, expires_at=None)
    store = get_store()
    return PhotoLinks(
        thumb_url=store.presigned_get(photo.thumb_key, expires=PHOTO_LINK_LIFETIME),
        display_url=store.presigned_get(photo.display_key, expires=PHOTO_LINK_LIFETIME),
        expires_at=timezone.now() + PHOTO_LINK_LIFETIME,
    )


def compounds_managed_on(enterprise_id: int, day: date) -> list[ManagedCompound]:
    """The compounds a firm manages under contract on `day`, by name: the reader credit's
    public pages use for "在管项目" (installed by `InspectionsConfig.ready`, since credit may
    not import this app)."""
    rows = (
        ManagementContract.objects.filter(enterprise_id=enterprise_id, start_date__lte=day)
        .filter(Q(end_date__isnull=True) | Q(end_date__gt=day))
        .order_by("project__name")
        .values_list("project__name", "project__region_id")
        .distinct()
    )
    return [ManagedCompound(name=name, region_code=code) for name, code in rows]
