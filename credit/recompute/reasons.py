"""The reasons writer of the full recompute: each firm's reasons as the COPY text of their JSON,
joined from fragments made by `credit.scoring`'s own reason builders (so the bulk path writes
the very lines `recompute_enterprise` writes)."""

from __future__ import annotations

import json
from decimal import Decimal

import numpy as np

from credit.models import RecordKind, RecordStatus
from credit.recompute.bulk_read import FirmState, RecordColumns, RiskReasons
from credit.recompute.copy_text import centi_text, copy_escape
from credit.rulebook import SEVERITIES, Rulebook
from credit.score_inputs import reason_json
from credit.scoring import (
    BulkScores,
    Reason,
    RecordInput,
    RiskInput,
    base_reason,
    blacklist_proposal_reason,
    bonus_cap_reason,
    grade_floor_reason,
    grade_index_for,
    model_reasons,
    record_reason,
    to_centi,
)

_POINTS_MASK = (1 << 31) - 1


class ReasonWriter:
    """Reasons as COPY text of their JSON, joined from fragments that the reason builders of
    credit.scoring make once per distinct input: a record's reason depends on its rule and
    points only, the model's lines on what they show (250,000 firms share a few thousand)."""

    def __init__(self, rulebook: Rulebook, codes: tuple[str | None, ...]) -> None:
        self.rulebook = rulebook
        self.codes = codes
        self.base = _fragment(base_reason(to_centi(rulebook.base_score)))
        self.floor = _fragment(grade_floor_reason(rulebook))
        self.blacklist = _fragment(blacklist_proposal_reason())
        self._grades = [copy_escape(name) for name in rulebook.grade_names]
        self._centi: dict[int, str] = {}
        self._bands: dict[int, int] = {}
        self._benefits: dict[tuple[str, ...], str] = {}
        self._models: dict[tuple, str] = {}
        self._tails: dict[tuple, str] = {}

    def record_fragments(self, records: RecordColumns, ordered: np.ndarray) -> list[str]:
        arrays = records.arrays
        # One int64 key per record (points are read as int4, so they fit in the low 31 bits):
        # a 1-D unique sorts several times faster than np.unique over columns.
        keys = (
            (records.code_index[ordered].astype(np.int64) << 32)
            | (arrays.is_good[ordered].astype(np.int64) << 31)
            | arrays.points_centi[ordered]
        )
        unique, inverse = np.unique(keys, return_inverse=True)
        made = [
            self._record_fragment(key >> 32, bool((key >> 31) & 1), key & _POINTS_MASK)
            for key in unique.tolist()
        ]
        return [made[i] for i in inverse.tolist()]

    def _record_fragment(self, code_index: int, good: bool, centi: int) -> str:
        record = RecordInput(
            record_id=0,
            rule_code=self.codes[code_index],
            kind=RecordKind.GOOD if good else RecordKind.BAD,
            severity=None if good else SEVERITIES[0],  # the reason does not show the severity
            points=Decimal(centi).scaleb(-2),
            effective_from=None,
            effective_until=None,
            status=RecordStatus.PENDING,
        )
        return _fragment(record_reason(record, self.rulebook))

    def columns_before_reasons(
        self,
        scores: BulkScores,
        positions: np.ndarray,
        *,
        blacklisted: np.ndarray,
        benefit_codes: list[tuple[str, ...]],
    ) -> list[str]:
        """rule_score, model_adjustment, score, grade, blacklisted, blacklist_proposal,
        has_effective_serious and tender_benefit_codes of each firm, as COPY text."""
        flags = ("f", "t")
        return [
            f"{self._centi_text(rule)}\t{self._centi_text(model)}\t{self._centi_text(final)}"
            f"\t{self._grades[grade]}\t{flags[black]}\t{flags[proposal]}\t{flags[serious]}"
            f"\t{self._benefit_json(codes)}"
            for rule, model, final, grade, black, proposal, serious, codes in zip(
                scores.rule_score_centi[positions].tolist(),
                scores.model_adjustment_centi[positions].tolist(),
                scores.final_score_centi[positions].tolist(),
                scores.grade[positions].tolist(),
                blacklisted.tolist(),
                scores.blacklist_proposal[positions].tolist(),
                scores.has_effective_serious[positions].tolist(),
                benefit_codes,
                strict=True,
            )
        ]

    def _centi_text(self, centi: int) -> str:
        text = self._centi.get(centi)
        if text is None:
            text = self._centi[centi] = centi_text(centi)
        return text

    def _benefit_json(self, codes: tuple[str, ...]) -> str:
        text = self._benefits.get(codes)
        if text is None:
            text = self._benefits[codes] = copy_escape(json.dumps(list(codes), ensure_ascii=False))
        return text

    def band_indexes(self, final_centi: np.ndarray) -> np.ndarray:
        """grade_index_for of each score (before the clean-firm floor)."""
        values, inverse = np.unique(final_centi, return_inverse=True)
        bands = np.array([self._band(v) for v in values.tolist()], dtype=np.int64)
        return bands[inverse.ravel()]

    def _band(self, final_centi: int) -> int:
        band = self._bands.get(final_centi)
        if band is None:
            band = self._bands[final_centi] = grade_index_for(final_centi, self.rulebook)
        return band

    def tails(
        self,
        good_uncapped: np.ndarray,
        *,
        firms: FirmState,
        risk_reasons: RiskReasons,
        scores: BulkScores,
        positions: np.ndarray,
    ) -> list[str]:
        """What follows a firm's record lines (each joined once per distinct combination):
        the bonus cap, the model's lines, the grade floor, the blacklist proposal."""
        excess = good_uncapped - to_centi(self.rulebook.bonus_cap)
        floor_applied = scores.grade[positions] != self.band_indexes(
            scores.final_score_centi[positions]
        )
        models = self._model_parts(firms, risk_reasons, scores, positions)
        tails = []
        for key in zip(
            excess.tolist(),
            models,
            floor_applied.tolist(),
            scores.blacklist_proposal[positions].tolist(),
            strict=True,
        ):
            tail = self._tails.get(key)
            if tail is None:
                tail = self._tails[key] = self._tail(*key)
            tails.append(tail)
        return tails

    def _tail(self, excess_c: int, model: str, floor_applied: bool, proposal: bool) -> str:
        parts = []
        if excess_c > 0:
            parts.append(_fragment(bonus_cap_reason(self.rulebook, excess_c=excess_c)))
        if model:
            parts.append(model)
        if floor_applied:
            parts.append(self.floor)
        if proposal:
            parts.append(self.blacklist)
        return "".join("," + part for part in parts)

    def _model_parts(
        self,
        firms: FirmState,
        risk_reasons: RiskReasons,
        scores: BulkScores,
        positions: np.ndarray,
    ) -> list[str]:
        """model_reasons of each firm as fragments ("" without an estimate)."""
        parts = []
        for present, live, probability, mean, version, reasons, model_c, serious in zip(
            firms.has_risk[positions].tolist(),
            firms.live[positions].tolist(),
            firms.probability[positions].tolist(),
            firms.population_mean[positions].tolist(),
            firms.model_version_index[positions].tolist(),
            risk_reasons.index[positions].tolist(),
            scores.model_adjustment_centi[positions].tolist(),
            scores.has_effective_serious[positions].tolist(),
            strict=True,
        ):
            if not present:
                parts.append("")
                continue
            # Everything model_reasons shows: whether the model is live, the version, both rates
            # as printed, the points, whether the no-lift line applies, the model's own reasons.
            key = (
                live,
                version,
                f"{probability:.1%}",
                f"{mean:.1%}",
                model_c,
                serious and probability < mean,
                reasons,
            )
            part = self._models.get(key)
            if part is None:
                risk = RiskInput(
                    probability=probability,
                    population_mean=mean,
                    model_version=firms.model_versions[version - 1],
                    reasons=risk_reasons.lists[reasons],
                    live=live,
                )
                lines = model_reasons(risk, model_c, has_serious=serious, rulebook=self.rulebook)
                part = self._models[key] = ",".join(_fragment(r) for r in lines)
            parts.append(part)
        return parts


def _fragment(reason: Reason) -> str:
    """reason_json as compact JSON (jsonb stores the same value as with spaces), escaped for
    COPY text: JSON escapes every tab and newline inside its strings, so the backslash is the
    only character to double."""
    text = json.dumps(reason_json(reason), ensure_ascii=False, separators=(",", ":"))
    return text.replace("\\", "\\\\")


# --- writing ---
