"""Which compounds to inspect in one round: a pure function of the candidates and a seed.

Order of selection, within `capacity` visits:

1. Compounds with open complaints (most complaints first): a resident is waiting.
2. Compounds not inspected for 12 months or never (longest first): nobody goes unseen for
   a year, whatever the model thinks. If 1 and 2 together exceed the capacity, the capacity
   wins and `mandatory_left_out` says how many did not fit, so the planner can add visits.
3. Random slots: `round(random_share * capacity)`, at most what is left after 1.
4. Model slots: the remaining slots go to the highest probabilities (unscored compounds after
   scored ones, then longest uninspected). While the model is not live (it has not passed the
   promotion gate, see inspections.risk.gating) no candidate has a probability and these slots
   go by the best simple ranking instead (`Candidate.ranking`), selected_by "ranking".
5. The random slots are filled by a simple random sample without replacement of `m` compounds
   out of the `N` eligible compounds selected by none of the above (the pool), drawn with
   `random.Random(seed)` from the pool sorted by project id. Every pool compound has inclusion
   probability `m / N`, recorded on its item so that outcomes of random visits can be
   re-weighted (Horvitz–Thompson) to learn about the places the model would never pick.
   Selected-by-rule compounds have inclusion probability 1.

The same candidates and seed always give the same plan.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

OVERDUE_DAYS = 365  # "not inspected for 12 months"
DEFAULT_RANDOM_SHARE = 0.15
DAYS_PER_MONTH = 30.44

MSG_COMPLAINT = "有{n}件待核查的居民投诉"
MSG_NEVER = "从未巡查"
MSG_OVERDUE = "已{months}个月未巡查（超过12个月必查）"
MSG_MODEL = "模型风险排名第{rank}位（违规概率{p:.1%}）"
MSG_MODEL_UNSCORED = "尚无模型评分，按未巡查时长排序"
MSG_RANDOM = "随机抽查（入选概率{q:.1%}）"
MSG_RANKING = "简单排序第{rank}位：{text}（风险模型未上线）"

ERR_CAPACITY = "capacity must be at least 1"
ERR_SHARE = "random_share must lie in [0, 1]"


@dataclass(frozen=True)
class Candidate:
    project_id: int
    probability: float | None  # None: the compound has no score yet
    reasons: tuple[str, ...]  # the model's reasons for its probability
    days_since_inspection: int | None  # None: never inspected
    open_complaints: int
    # The best simple ranking's value (higher = inspect first), set only while the model is
    # not live; `ranking_text` says it in words ("近一年确认违规3项").
    ranking: float | None = None
    ranking_text: str = ""


@dataclass(frozen=True)
class PlannedItem:
    project_id: int
    rank: int
    selected_by: str  # complaint | overdue | model | ranking | random
    inclusion_probability: float
    probability: float | None
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Plan:
    items: tuple[PlannedItem, ...]
    eligible: int
    random_pool: int
    random_slots: int
    mandatory_left_out: int


def random_slot_count(capacity: int, random_share: float) -> int:
    """share × capacity rounded half up: 15 % of 30 visits (4.5) is 5, where Python's round()
    would give 4."""
    return math.floor(random_share * capacity + 0.5)


def make_plan(
    candidates: Sequence[Candidate], *, capacity: int, random_share: float, seed: int
) -> Plan:
    if capacity < 1:
        raise ValueError(ERR_CAPACITY)
    if not 0.0 <= random_share <= 1.0:
        raise ValueError(ERR_SHARE)
    complaints = sorted(
        (c for c in candidates if c.open_complaints > 0),
        key=lambda c: (-c.open_complaints, -_p(c), c.project_id),
    )
    overdue = sorted(
        (c for c in candidates if c.open_complaints == 0 and _overdue(c)),
        key=lambda c: (-_days(c), -_p(c), c.project_id),
    )
    mandatory = (complaints + overdue)[:capacity]
    left_out = len(complaints) + len(overdue) - len(mandatory)
    chosen = {c.project_id for c in mandatory}
    remaining = capacity - len(mandatory)
    random_slots = min(remaining, random_slot_count(capacity, random_share))
    rest = sorted(
        (c for c in candidates if c.project_id not in chosen),
        key=lambda c: (c.probability is None, -_p(c), -_ranking(c), -_days(c), c.project_id),
    )
    model_picks = rest[: remaining - random_slots]
    pool = sorted(rest[remaining - random_slots :], key=lambda c: c.project_id)
    random_slots = min(random_slots, len(pool))
    # Seeded per plan: a rerun reproduces the plan, another plan draws other compounds.
    random_picks = random.Random(seed).sample(pool, random_slots)  # noqa: S311 (not secrets)
    q = random_slots / len(pool) if pool else 0.0

    items: list[PlannedItem] = []
    for candidate in complaints[: len(mandatory)]:
        items.append(
            _item(candidate, len(items) + 1, "complaint", 1.0, _complaint_reason(candidate))
        )
    for candidate in mandatory[len(items) :]:
        items.append(_item(candidate, len(items) + 1, "overdue", 1.0, _overdue_reason(candidate)))
    for position, candidate in enumerate(model_picks, start=1):
        by = (
            "ranking"
            if candidate.probability is None and candidate.ranking is not None
            else "model"
        )
        items.append(_item(candidate, len(items) + 1, by, 1.0, _model_reason(candidate, position)))
    for candidate in sorted(random_picks, key=lambda c: (-_p(c), c.project_id)):
        items.append(_item(candidate, len(items) + 1, "random", q, MSG_RANDOM.format(q=q)))
    return Plan(
        items=tuple(items),
        eligible=len(candidates),
        random_pool=len(pool),
        random_slots=random_slots,
        mandatory_left_out=left_out,
    )


def _p(candidate: Candidate) -> float:
    return -1.0 if candidate.probability is None else candidate.probability


def _ranking(candidate: Candidate) -> float:
    return -math.inf if candidate.ranking is None else candidate.ranking


def _days(candidate: Candidate) -> float:
    return math.inf if candidate.days_since_inspection is None else candidate.days_since_inspection


def _overdue(candidate: Candidate) -> bool:
    return _days(candidate) >= OVERDUE_DAYS


def _item(
    candidate: Candidate, rank: int, selected_by: str, inclusion: float, why: str
) -> PlannedItem:
    return PlannedItem(
        project_id=candidate.project_id,
        rank=rank,
        selected_by=selected_by,
        inclusion_probability=inclusion,
        probability=candidate.probability,
        reasons=(why, *candidate.reasons),
    )


def _complaint_reason(candidate: Candidate) -> str:
    return MSG_COMPLAINT.format(n=candidate.open_complaints)


def _overdue_reason(candidate: Candidate) -> str:
    if candidate.days_since_inspection is None:
        return MSG_NEVER
    return MSG_OVERDUE.format(months=int(candidate.days_since_inspection // DAYS_PER_MONTH))


def _model_reason(candidate: Candidate, position: int) -> str:
    if candidate.probability is None and candidate.ranking is not None:
        return MSG_RANKING.format(rank=position, text=candidate.ranking_text)
    if candidate.probability is None:
        return MSG_MODEL_UNSCORED
    return MSG_MODEL.format(rank=position, p=candidate.probability)
