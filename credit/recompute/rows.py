"""The stale rows of the full recompute: what `recompute_enterprise` would store for each
selected firm, made into COPY text block by block."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from credit.recompute.bulk_read import FirmState, RecordColumns, RiskReasons
from credit.recompute.copy_text import COPY_CHUNK, COPY_NULL, copy_escape
from credit.recompute.reasons import ReasonWriter
from credit.rulebook import Rulebook
from credit.scoring import BulkScores


@dataclass(frozen=True)
class StaleRows:
    """What recompute_enterprise would store for each selected firm, in enterprise order. The
    COPY text of a block of rows, their reasons (about 1 KB a firm) above all, is made only as
    that block is sent: the server parses one block while Python makes the next, and the
    province's reasons never sit in memory at once."""

    ids: np.ndarray
    xmin: np.ndarray  # of the score row when the state was read; -1 when there was none
    positions: np.ndarray  # into firms and scores
    firms: FirmState
    scores: BulkScores
    fingerprints: np.ndarray  # of every firm
    blacklisted: np.ndarray  # per row
    good_uncapped: np.ndarray  # per row: counted good points before the bonus cap
    benefit_codes: dict[int, tuple[str, ...]]  # by position, sorted; absent when none
    risk_reasons: RiskReasons
    record_reasons: list[str]  # fragments of the selected firms' counted records, in order
    record_bounds: np.ndarray  # per row: its slice of record_reasons
    writer: ReasonWriter
    basis: dict[int, list[tuple[int, str]]]  # (record id, rule code) of blacklist records

    @classmethod
    def build(
        cls,
        *,
        firms: FirmState,
        risk_reasons: RiskReasons,
        records: RecordColumns,
        counted: np.ndarray,
        scores: BulkScores,
        fingerprints: np.ndarray,
        selected: np.ndarray,
        blacklisted: np.ndarray,
        rulebook: Rulebook,
    ) -> StaleRows:
        positions = np.flatnonzero(selected)
        ordered = _counted_in_firm_order(
            records, counted & selected[records.arrays.enterprise_index]
        )
        writer = ReasonWriter(rulebook, records.codes)
        owners = records.arrays.enterprise_index[ordered]
        good = records.arrays.is_good[ordered]
        good_points = np.bincount(
            owners[good],
            weights=records.arrays.points_centi[ordered][good],
            minlength=len(firms.ids),
        ).astype(np.int64)
        return cls(
            ids=firms.ids[positions],
            xmin=firms.xmin[positions],
            positions=positions,
            firms=firms,
            scores=scores,
            fingerprints=fingerprints,
            blacklisted=blacklisted[positions] & scores.blacklist_proposal[positions],
            good_uncapped=good_points[positions],
            benefit_codes=_benefit_codes(records, ordered, owners),
            risk_reasons=risk_reasons,
            record_reasons=writer.record_fragments(records, ordered),
            record_bounds=np.searchsorted(owners, np.stack([positions, positions + 1])).T,
            writer=writer,
            basis=_blacklist_basis(records, ordered, firms.ids),
        )

    def copy_blocks(
        self, indexes: np.ndarray, *, with_xmin: bool, constants: str = ""
    ) -> Iterator[str]:
        """COPY text of the rows at `indexes`, COPY_CHUNK lines a block: enterprise_id, its
        seen xmin (\\N for none) when `with_xmin`, the columns of STORED_COLUMNS, then
        `constants` (tab-led COPY text of the columns every row shares)."""
        for start in range(0, len(indexes), COPY_CHUNK):
            yield self._block(indexes[start : start + COPY_CHUNK], with_xmin, constants)

    def _block(self, chunk: np.ndarray, with_xmin: bool, constants: str) -> str:
        positions = self.positions[chunk]
        heads = [str(i) for i in self.ids[chunk].tolist()]
        if with_xmin:
            xmin = self.xmin[chunk].tolist()
            heads = [f"{h}\t{COPY_NULL if x < 0 else x}" for h, x in zip(heads, xmin, strict=True)]
        before = self.writer.columns_before_reasons(
            self.scores,
            positions,
            blacklisted=self.blacklisted[chunk],
            benefit_codes=[self.benefit_codes.get(p, ()) for p in positions.tolist()],
        )
        tails = self.writer.tails(
            self.good_uncapped[chunk],
            firms=self.firms,
            risk_reasons=self.risk_reasons,
            scores=self.scores,
            positions=positions,
        )
        after = _columns_after_reasons(self.firms, self.fingerprints, positions)
        base, fragments = self.writer.base, self.record_reasons
        lines = []
        for head, (start, end), columns, tail, last in zip(
            heads, self.record_bounds[chunk].tolist(), before, tails, after, strict=True
        ):
            records = "".join(["," + fragment for fragment in fragments[start:end]])
            lines.append(f"{head}\t{columns}\t[{base}{records}{tail}]\t{last}{constants}\n")
        return "".join(lines)


def _columns_after_reasons(
    firms: FirmState, fingerprints: np.ndarray, positions: np.ndarray
) -> list[str]:
    """counted_fingerprint and model_version of each firm, as COPY text."""
    versions = [copy_escape(v) for v in ("", *firms.model_versions)]
    return [
        f"{fingerprint}\t{versions[version]}"
        for fingerprint, version in zip(
            fingerprints[positions].tolist(),
            firms.model_version_index[positions].tolist(),
            strict=True,
        )
    ]


def _counted_in_firm_order(records: RecordColumns, mask: np.ndarray) -> np.ndarray:
    """Indexes of the masked records by firm, then as recompute_enterprise lists a firm's
    records (CreditRecord's ordering: newest decision first, then highest id)."""
    where = np.flatnonzero(mask)
    order = np.lexsort(
        (-records.ids[where], -records.decided[where], records.arrays.enterprise_index[where])
    )
    return where[order]


def _benefit_codes(
    records: RecordColumns, ordered: np.ndarray, owners: np.ndarray
) -> dict[int, tuple[str, ...]]:
    """The sorted codes of the counted good records with a tender benefit, by firm position."""
    benefit = records.arrays.tender_benefit[ordered] & records.arrays.is_good[ordered]
    codes: dict[int, set[str]] = {}
    for owner, index in zip(
        owners[benefit].tolist(), records.code_index[ordered][benefit].tolist(), strict=True
    ):
        codes.setdefault(owner, set()).add(records.codes[index])
    return {owner: tuple(sorted(found)) for owner, found in codes.items()}


def _blacklist_basis(
    records: RecordColumns, ordered: np.ndarray, enterprise_ids: np.ndarray
) -> dict[int, list[tuple[int, str]]]:
    """The counted blacklist records of each firm, in its record order (blacklist_record_ids)."""
    arrays = records.arrays
    basis = ordered[arrays.blacklist[ordered] & ~arrays.is_good[ordered]]
    by_firm: dict[int, list[tuple[int, str]]] = {}
    for owner, record_id, code in zip(
        enterprise_ids[arrays.enterprise_index[basis]].tolist(),
        records.ids[basis].tolist(),
        records.code_index[basis].tolist(),
        strict=True,
    ):
        by_firm.setdefault(owner, []).append((record_id, records.codes[code]))
    return by_firm
