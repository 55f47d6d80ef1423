"""The credit rulebook: every number of the credit model as versioned, validated data.

Pure module (no Django): the bureau's rulebook JSON goes in, frozen dataclasses come out. The
default rulebook lives beside this module in ``rulebook/default.json``; a bureau edit is a new
version whose canonical-JSON sha256 is stamped on every snapshot it produced.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import cache, cached_property
from pathlib import Path
from types import MappingProxyType
from typing import Any

DEFAULT_RULEBOOK_PATH = Path(__file__).parent / "rulebook" / "default.json"

KIND_BAD = "bad"
KIND_GOOD = "good"
SEVERITY_MINOR = "minor"
SEVERITY_ORDINARY = "ordinary"
SEVERITY_SERIOUS = "serious"
SEVERITIES = (SEVERITY_MINOR, SEVERITY_ORDINARY, SEVERITY_SERIOUS)

# Scores are kept in exact hundredths, so configured numbers may not carry finer precision.
MAX_DECIMAL_PLACES = 2
RULE_CODE_PATTERN = re.compile(r"^[A-Z0-9]+(?:-[A-Z0-9]+)*$")

MSG_INVALID_RULEBOOK = "invalid rulebook ({count} problem(s)):\n{problems}"
MSG_NOT_OBJECT = "{path}: must be a JSON object"
MSG_NOT_LIST = "{path}: must be a non-empty list"
MSG_MISSING_KEY = "{path}: missing"
MSG_UNKNOWN_KEY = "{path}: unknown key"
MSG_NOT_TEXT = "{path}: must be a non-empty string"
MSG_NOT_BOOL = "{path}: must be true or false"
MSG_NOT_INT = "{path}: must be a whole number >= {minimum}"
MSG_NOT_NUMBER = "{path}: must be a number"
MSG_TOO_PRECISE = "{path}: at most 2 decimal places"
MSG_BELOW_MINIMUM = "{path}: must be >= {minimum}"
MSG_NOT_POSITIVE = "{path}: must be > 0"
MSG_NOT_RATIO = "{path}: must be between 0 and 1"
MSG_BAD_CODE = "{path}: rule codes are upper-case words joined by '-' (got {value!r})"
MSG_DUPLICATE_CODE = "{path}: duplicate rule code {value!r}"
MSG_DUPLICATE_GRADE = "{path}: duplicate grade {value!r}"
MSG_UNKNOWN_SEVERITY = "{path}: must be one of minor, ordinary, serious (got {value!r})"
MSG_UNKNOWN_GRADE = "{path}: {value!r} is not a grade of grade_bands"
MSG_SEVERITY_KEYS = "{path}: needs exactly the keys minor, ordinary, serious"
MSG_GRADE_KEYS = "{path}: needs exactly one entry per grade of grade_bands ({grades})"
MSG_BANDS_NOT_DESCENDING = "{path}: must be strictly below the band above"
MSG_LAST_BAND_OPEN = "{path}: the last band must have min_score null (it catches every score)"
MSG_ONLY_LAST_BAND_OPEN = "{path}: only the last band may have min_score null"
MSG_BLACKLIST_NOT_SERIOUS = "{path}: only serious violations may lead to the blacklist"

TOP_LEVEL_KEYS = frozenset(
    {
        "version",
        "title_zh",
        "title_en",
        "notes",
        "base_score",
        "bonus_cap",
        "grade_bands",
        "clean_floor_grade",
        "objection_window_working_days",
        "repair_min_months",
        "min_photos",
        "model",
        "tender",
        "backbone_candidate",
        "violations",
        "good_behaviours",
    }
)
OPTIONAL_TOP_LEVEL_KEYS = frozenset({"notes"})
GRADE_BAND_KEYS = frozenset({"grade", "min_score"})
MODEL_KEYS = frozenset({"weight", "cap"})
TENDER_KEYS = frozenset(
    {
        "grade_points",
        "backbone_min_project_area_m2",
        "backbone_project_types",
        "backbone_points",
        "backbone_deposit_reduction",
        "benefit_points",
        "benefit_deposit_reduction",
        "max_deposit_reduction",
    }
)
BACKBONE_CANDIDATE_KEYS = frozenset(
    {"min_managed_area_m2", "min_project_count", "min_grade", "exclude_effective_serious"}
)
VIOLATION_KEYS = frozenset(
    {"code", "title_zh", "title_en", "severity", "points", "months", "blacklist", "clauses"}
)
GOOD_BEHAVIOUR_KEYS = frozenset(
    {"code", "title_zh", "title_en", "points", "months", "clauses", "tender_benefit"}
)


class RulebookError(ValueError):
    """A rulebook document failed validation; ``problems`` lists every problem found."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = tuple(problems)
        super().__init__(
            MSG_INVALID_RULEBOOK.format(
                count=len(problems), problems="\n".join(f"- {p}" for p in problems)
            )
        )


@dataclass(frozen=True)
class Rule:
    """One catalogue entry; ``kind`` "bad" deducts its points, "good" adds them."""

    code: str
    kind: str
    title_zh: str
    title_en: str
    points: Decimal
    months: int
    clauses: tuple[str, ...]
    severity: str | None = None  # bad rules only
    blacklist: bool = False  # bad rules only
    min_photos: int | None = None  # bad rules only: evidence the phone must attach
    tender_benefit: bool = False  # good rules only


@dataclass(frozen=True)
class GradeBand:
    grade: str
    min_score: Decimal | None  # None: the bottom band, catching every lower score


@dataclass(frozen=True)
class ModelBlendConfig:
    weight: Decimal
    cap: Decimal


@dataclass(frozen=True)
class TenderConfig:
    grade_points: Mapping[str, Decimal]
    backbone_min_project_area_m2: Decimal
    backbone_project_types: frozenset[str] | None  # None: every project type
    backbone_points: Decimal
    backbone_deposit_reduction: Decimal
    benefit_points: Decimal
    benefit_deposit_reduction: Decimal
    max_deposit_reduction: Decimal


@dataclass(frozen=True)
class BackboneCandidateConfig:
    min_managed_area_m2: Decimal
    min_project_count: int
    min_grade: str
    exclude_effective_serious: bool


@dataclass(frozen=True)
class Rulebook:
    version: str
    sha256: str
    title_zh: str
    title_en: str
    base_score: Decimal
    bonus_cap: Decimal
    grade_bands: tuple[GradeBand, ...]  # best grade first
    clean_floor_grade: str
    objection_window_working_days: int
    repair_min_months: Mapping[str, int]
    model: ModelBlendConfig
    tender: TenderConfig
    backbone_candidate: BackboneCandidateConfig
    rules: tuple[Rule, ...]

    @cached_property
    def _rules_by_code(self) -> Mapping[str, Rule]:
        return MappingProxyType({rule.code: rule for rule in self.rules})

    def rule(self, code: str) -> Rule | None:
        return self._rules_by_code.get(code)

    @property
    def violations(self) -> tuple[Rule, ...]:
        return tuple(rule for rule in self.rules if rule.kind == KIND_BAD)

    @property
    def good_behaviours(self) -> tuple[Rule, ...]:
        return tuple(rule for rule in self.rules if rule.kind == KIND_GOOD)

    @property
    def grade_names(self) -> tuple[str, ...]:
        """Grades best first; a grade's position is its code in bulk score arrays."""
        return tuple(band.grade for band in self.grade_bands)

    def grade_code(self, grade: str) -> int:
        return self.grade_names.index(grade)


def rulebook_sha256(data: Mapping[str, Any]) -> str:
    """SHA-256 of canonical JSON (sorted keys, no spaces, UTF-8), independent of file layout."""
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def default_rulebook_data() -> dict[str, Any]:
    """A fresh copy of the default rulebook document, e.g. to store it beside its hash."""
    return copy.deepcopy(_read_default_rulebook_data())


@cache
def load_default_rulebook() -> Rulebook:
    return parse_rulebook(_read_default_rulebook_data())


@cache
def _read_default_rulebook_data() -> dict[str, Any]:
    return json.loads(DEFAULT_RULEBOOK_PATH.read_text(encoding="utf-8"))


def parse_rulebook(data: Mapping[str, Any]) -> Rulebook:
    """Validate a rulebook document; RulebookError lists every problem, not just the first."""
    if not isinstance(data, Mapping):
        raise RulebookError([MSG_NOT_OBJECT.format(path="rulebook")])
    problems: list[str] = []
    reader = _Reader(problems)
    fields = reader.obj(data, "", TOP_LEVEL_KEYS, optional=OPTIONAL_TOP_LEVEL_KEYS)

    grade_bands = _parse_grade_bands(reader, fields["grade_bands"])
    grades = tuple(band.grade for band in grade_bands)
    rules = _parse_rules(reader, fields)
    rulebook = Rulebook(
        version=reader.text(fields["version"], "version"),
        sha256=rulebook_sha256(data),
        title_zh=reader.text(fields["title_zh"], "title_zh"),
        title_en=reader.text(fields["title_en"], "title_en"),
        base_score=reader.number(fields["base_score"], "base_score", minimum=Decimal(0)),
        bonus_cap=reader.number(fields["bonus_cap"], "bonus_cap", minimum=Decimal(0)),
        grade_bands=grade_bands,
        clean_floor_grade=reader.grade(fields["clean_floor_grade"], "clean_floor_grade", grades),
        objection_window_working_days=reader.integer(
            fields["objection_window_working_days"], "objection_window_working_days", minimum=0
        ),
        repair_min_months=_parse_per_severity(
            reader, fields["repair_min_months"], "repair_min_months", minimum=0
        ),
        model=_parse_model(reader, fields["model"]),
        tender=_parse_tender(reader, fields["tender"], grades),
        backbone_candidate=_parse_backbone_candidate(reader, fields["backbone_candidate"], grades),
        rules=rules,
    )
    if problems:
        raise RulebookError(problems)
    return rulebook


# Stands for an absent key: check_keys already reported it, so the field readers stay silent.
MISSING: Any = object()


class _Reader:
    """Typed field readers that record a problem and return a harmless placeholder on failure."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems

    def problem(self, message: str, **values: Any) -> None:
        self.problems.append(message.format(**values))

    def check_keys(
        self,
        obj: Mapping[str, Any],
        path: str,
        keys: frozenset[str],
        optional: frozenset[str] = frozenset(),
    ) -> None:
        prefix = f"{path}." if path else ""
        for key in sorted(keys - optional - obj.keys()):
            self.problem(MSG_MISSING_KEY, path=prefix + key)
        for key in sorted(obj.keys() - keys):
            self.problem(MSG_UNKNOWN_KEY, path=prefix + str(key))

    def obj(
        self,
        value: Any,
        path: str,
        keys: frozenset[str],
        optional: frozenset[str] = frozenset(),
    ) -> Mapping[str, Any]:
        """The object with every expected key present, absent ones set to MISSING."""
        if value is MISSING:
            return dict.fromkeys(keys, MISSING)
        if not isinstance(value, Mapping):
            self.problem(MSG_NOT_OBJECT, path=path or "rulebook")
            return dict.fromkeys(keys, MISSING)
        self.check_keys(value, path, keys, optional)
        return {**dict.fromkeys(keys, MISSING), **value}

    def items(self, value: Any, path: str) -> list[Any]:
        if value is MISSING:
            return []
        if not isinstance(value, list) or not value:
            self.problem(MSG_NOT_LIST, path=path)
            return []
        return value

    def text(self, value: Any, path: str) -> str:
        if value is MISSING:
            return ""
        if not isinstance(value, str) or not value.strip():
            self.problem(MSG_NOT_TEXT, path=path)
            return ""
        return value

    def flag(self, value: Any, path: str) -> bool:
        if value is MISSING:
            return False
        if not isinstance(value, bool):
            self.problem(MSG_NOT_BOOL, path=path)
            return False
        return value

    def integer(self, value: Any, path: str, *, minimum: int) -> int:
        if value is MISSING:
            return minimum
        if type(value) is not int or value < minimum:
            self.problem(MSG_NOT_INT, path=path, minimum=minimum)
            return minimum
        return value

    def number(
        self,
        value: Any,
        path: str,
        *,
        minimum: Decimal | None = None,
        positive: bool = False,
        ratio: bool = False,
    ) -> Decimal:
        if value is MISSING:
            return Decimal(0)
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.problem(MSG_NOT_NUMBER, path=path)
            return Decimal(0)
        # str() first: Decimal(0.2) would carry the binary expansion of the float.
        number = Decimal(str(value))
        if not number.is_finite():
            self.problem(MSG_NOT_NUMBER, path=path)
            return Decimal(0)
        if -number.as_tuple().exponent > MAX_DECIMAL_PLACES:
            self.problem(MSG_TOO_PRECISE, path=path)
        if positive and number <= 0:
            self.problem(MSG_NOT_POSITIVE, path=path)
        if minimum is not None and number < minimum:
            self.problem(MSG_BELOW_MINIMUM, path=path, minimum=minimum)
        if ratio and not 0 <= number <= 1:
            self.problem(MSG_NOT_RATIO, path=path)
        return number

    def grade(self, value: Any, path: str, grades: tuple[str, ...]) -> str:
        if value is MISSING:
            return ""
        if value not in grades:
            self.problem(MSG_UNKNOWN_GRADE, path=path, value=value)
            return ""
        return value

    def clauses(self, value: Any, path: str) -> tuple[str, ...]:
        return tuple(
            self.text(clause, f"{path}[{i}]") for i, clause in enumerate(self.items(value, path))
        )


def _parse_grade_bands(reader: _Reader, value: Any) -> tuple[GradeBand, ...]:
    bands: list[GradeBand] = []
    items = reader.items(value, "grade_bands")
    for i, item in enumerate(items):
        path = f"grade_bands[{i}]"
        band = reader.obj(item, path, GRADE_BAND_KEYS)
        grade = reader.text(band["grade"], f"{path}.grade")
        if grade and grade in (b.grade for b in bands):
            reader.problem(MSG_DUPLICATE_GRADE, path=f"{path}.grade", value=grade)
        min_score = _band_min_score(
            reader,
            band["min_score"],
            f"{path}.min_score",
            is_last=i == len(items) - 1,
            above=bands[-1].min_score if bands else None,
        )
        bands.append(GradeBand(grade=grade, min_score=min_score))
    return tuple(bands)


def _band_min_score(
    reader: _Reader, value: Any, path: str, *, is_last: bool, above: Decimal | None
) -> Decimal | None:
    if value is MISSING:
        return None
    if value is None:
        if not is_last:
            reader.problem(MSG_ONLY_LAST_BAND_OPEN, path=path)
        return None
    min_score = reader.number(value, path)
    if is_last:
        reader.problem(MSG_LAST_BAND_OPEN, path=path)
    if above is not None and min_score >= above:
        reader.problem(MSG_BANDS_NOT_DESCENDING, path=path)
    return min_score


def _parse_per_severity(
    reader: _Reader, value: Any, path: str, *, minimum: int
) -> Mapping[str, int]:
    if value is MISSING or not isinstance(value, Mapping) or set(value) != set(SEVERITIES):
        if value is not MISSING:
            reader.problem(MSG_SEVERITY_KEYS, path=path)
        return MappingProxyType({severity: minimum for severity in SEVERITIES})
    return MappingProxyType(
        {
            severity: reader.integer(value[severity], f"{path}.{severity}", minimum=minimum)
            for severity in SEVERITIES
        }
    )


def _parse_model(reader: _Reader, value: Any) -> ModelBlendConfig:
    model = reader.obj(value, "model", MODEL_KEYS)
    return ModelBlendConfig(
        weight=reader.number(model["weight"], "model.weight", minimum=Decimal(0)),
        cap=reader.number(model["cap"], "model.cap", minimum=Decimal(0)),
    )


def _parse_tender(reader: _Reader, value: Any, grades: tuple[str, ...]) -> TenderConfig:
    tender = reader.obj(value, "tender", TENDER_KEYS)
    raw_points = tender["grade_points"]
    if not isinstance(raw_points, Mapping) or set(raw_points) != set(grades):
        if raw_points is not MISSING:
            reader.problem(MSG_GRADE_KEYS, path="tender.grade_points", grades=", ".join(grades))
        raw_points = {}
    grade_points = {
        grade: reader.number(points, f"tender.grade_points.{grade}")
        for grade, points in raw_points.items()
    }
    raw_types = tender["backbone_project_types"]
    project_types = None
    if raw_types is not None and raw_types is not MISSING:
        project_types = frozenset(
            reader.text(t, f"tender.backbone_project_types[{i}]")
            for i, t in enumerate(reader.items(raw_types, "tender.backbone_project_types"))
        )
    return TenderConfig(
        grade_points=MappingProxyType(grade_points),
        backbone_min_project_area_m2=reader.number(
            tender["backbone_min_project_area_m2"],
            "tender.backbone_min_project_area_m2",
            positive=True,
        ),
        backbone_project_types=project_types,
        backbone_points=reader.number(tender["backbone_points"], "tender.backbone_points"),
        backbone_deposit_reduction=reader.number(
            tender["backbone_deposit_reduction"], "tender.backbone_deposit_reduction", ratio=True
        ),
        benefit_points=reader.number(tender["benefit_points"], "tender.benefit_points"),
        benefit_deposit_reduction=reader.number(
            tender["benefit_deposit_reduction"], "tender.benefit_deposit_reduction", ratio=True
        ),
        max_deposit_reduction=reader.number(
            tender["max_deposit_reduction"], "tender.max_deposit_reduction", ratio=True
        ),
    )


def _parse_backbone_candidate(
    reader: _Reader, value: Any, grades: tuple[str, ...]
) -> BackboneCandidateConfig:
    path = "backbone_candidate"
    config = reader.obj(value, path, BACKBONE_CANDIDATE_KEYS)
    return BackboneCandidateConfig(
        min_managed_area_m2=reader.number(
            config["min_managed_area_m2"], f"{path}.min_managed_area_m2", minimum=Decimal(0)
        ),
        min_project_count=reader.integer(
            config["min_project_count"], f"{path}.min_project_count", minimum=0
        ),
        min_grade=reader.grade(config["min_grade"], f"{path}.min_grade", grades),
        exclude_effective_serious=reader.flag(
            config["exclude_effective_serious"], f"{path}.exclude_effective_serious"
        ),
    )


def _parse_rules(reader: _Reader, data: Mapping[str, Any]) -> tuple[Rule, ...]:
    min_photos = _parse_per_severity(reader, data["min_photos"], "min_photos", minimum=1)
    rules: list[Rule] = []
    seen: set[str] = set()
    for section in ("violations", "good_behaviours"):
        for i, item in enumerate(reader.items(data[section], section)):
            path = f"{section}[{i}]"
            if section == "violations":
                rule = _parse_violation(reader, item, path, min_photos)
            else:
                rule = _parse_good_behaviour(reader, item, path)
            if rule.code in seen:
                reader.problem(MSG_DUPLICATE_CODE, path=f"{path}.code", value=rule.code)
            seen.add(rule.code)
            rules.append(rule)
    return tuple(rules)


def _rule_code(reader: _Reader, value: Any, path: str) -> str:
    code = reader.text(value, path)
    if code and not RULE_CODE_PATTERN.match(code):
        reader.problem(MSG_BAD_CODE, path=path, value=code)
    return code


def _parse_violation(reader: _Reader, item: Any, path: str, min_photos: Mapping[str, int]) -> Rule:
    entry = reader.obj(item, path, VIOLATION_KEYS)
    severity = entry["severity"]
    known_severity = severity in SEVERITIES
    if not known_severity and severity is not MISSING:
        reader.problem(MSG_UNKNOWN_SEVERITY, path=f"{path}.severity", value=severity)
    blacklist = reader.flag(entry["blacklist"], f"{path}.blacklist")
    if blacklist and known_severity and severity != SEVERITY_SERIOUS:
        reader.problem(MSG_BLACKLIST_NOT_SERIOUS, path=f"{path}.blacklist")
    return Rule(
        code=_rule_code(reader, entry["code"], f"{path}.code"),
        kind=KIND_BAD,
        title_zh=reader.text(entry["title_zh"], f"{path}.title_zh"),
        title_en=reader.text(entry["title_en"], f"{path}.title_en"),
        points=reader.number(entry["points"], f"{path}.points", positive=True),
        months=reader.integer(entry["months"], f"{path}.months", minimum=1),
        clauses=reader.clauses(entry["clauses"], f"{path}.clauses"),
        severity=severity if known_severity else None,
        blacklist=blacklist,
        min_photos=min_photos[severity] if known_severity else None,
    )


def _parse_good_behaviour(reader: _Reader, item: Any, path: str) -> Rule:
    entry = reader.obj(item, path, GOOD_BEHAVIOUR_KEYS)
    return Rule(
        code=_rule_code(reader, entry["code"], f"{path}.code"),
        kind=KIND_GOOD,
        title_zh=reader.text(entry["title_zh"], f"{path}.title_zh"),
        title_en=reader.text(entry["title_en"], f"{path}.title_en"),
        points=reader.number(entry["points"], f"{path}.points", positive=True),
        months=reader.integer(entry["months"], f"{path}.months", minimum=1),
        clauses=reader.clauses(entry["clauses"], f"{path}.clauses"),
        tender_benefit=reader.flag(entry["tender_benefit"], f"{path}.tender_benefit"),
    )
