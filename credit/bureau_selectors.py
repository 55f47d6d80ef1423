"""Reads of the bureau desk's credit side: what waits for staff (blacklist proposals, objections,
records still in their objection window) and the names of regions, so that no page shows a bare
GB/T 2260 code. Every read takes the caller's region scope as a `Q` (`credit.access`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from django.db.models import Q, QuerySet

from credit.models import (
    BlacklistEntry,
    BlacklistStatus,
    CreditRecord,
    Objection,
    RecordStatus,
    Region,
)


def region_names(codes: Iterable[str]) -> dict[str, str]:
    """Code → full name of the given codes, a banner or county with its league or city in front
    (150100 → 呼和浩特市, 150102 → 呼和浩特市新城区: many cities have a 新城区); unknown codes
    are left out."""
    wanted = {code for code in codes if code}
    if not wanted:
        return {}
    rows = Region.objects.filter(code__in=wanted).values_list("code", "name", "parent_id")
    parents = {parent for _code, _name, parent in rows if parent}
    parent_names = dict(
        Region.objects.filter(code__in=parents, parent__isnull=False).values_list("code", "name")
    )
    return {code: parent_names.get(parent or "", "") + name for code, name, parent in rows}


def region_name(code: str) -> str:
    """The name of one region; the code itself only when the region is unknown."""
    return region_names([code]).get(code, code)


@dataclass(frozen=True)
class ProposalCounts:
    to_approve: int  # proposed by a person: a second, different person approves
    to_endorse: int  # proposed by the rules: a person proposes, then another approves


def blacklist_proposal_counts(*, scope: Q) -> ProposalCounts:
    """Open proposals in scope (`enterprise__…`), by what they wait for."""
    proposals = BlacklistEntry.objects.filter(scope, status=BlacklistStatus.PROPOSED)
    return ProposalCounts(
        to_approve=proposals.filter(proposed_by__isnull=False).count(),
        to_endorse=proposals.filter(proposed_by__isnull=True).count(),
    )


def objections_open(*, scope: Q) -> QuerySet[Objection]:
    """Objections filed and not yet decided, oldest first; `scope` on `record__enterprise__…`.
    Their records stay pending until someone decides."""
    return (
        Objection.objects.filter(scope, decision="")
        .select_related("record__enterprise__region", "filed_by")
        .order_by("filed_on", "id")
    )


def records_in_objection_window(*, scope: Q, today: date) -> QuerySet[CreditRecord]:
    """Pending records whose objection deadline is today or later and that carry no objection
    yet: the firm may still object. Soonest deadline first; `scope` on `enterprise__…`."""
    return (
        CreditRecord.objects.filter(
            scope,
            status=RecordStatus.PENDING,
            objection_deadline__gte=today,
            objection__isnull=True,
        )
        .select_related("enterprise__region")
        .order_by("objection_deadline", "id")
    )
