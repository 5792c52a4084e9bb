"""One query against one table: hard constraints, soft factors, weights, spread and reasons.

Every step before the reasons is a numpy operation over the table's rows; reasons are written for
the final k only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property, lru_cache

import numpy as np

from matcher import explain, factors
from matcher.ann import DenseIndex
from matcher.constraints import Columns
from matcher.directions import Direction
from matcher.industry import INDUSTRY_CODES, IndustryGuess, guesses_of, term_evidence
from matcher.lexical import LexicalQuery, Lexicon
from matcher.registry import Pair, registered
from matcher.scorer import MatchScorer
from matcher.spread import pick
from matcher.store import ItemTable
from matcher.tables import DISTRICT_ROW
from matcher.text import record_text
from matcher.weights import Weights
from models.records import BuildingRecord, CatalogueRecord, EnterpriseRecord, RecordKind, ScenarioRecord

KIND_NOUNS = {"buildings": "楼宇", "enterprises": "企业", "scenarios": "应用场景"}


@dataclass(frozen=True)
class Match:
    """One recommended item: its score, each factor's contribution (adding up to it), reasons and record."""

    id: str
    name: str
    rank: int
    score: float
    components: dict[str, float]
    reasons: list[str]
    district: str | None
    record: CatalogueRecord = field(repr=False)
    """The item as matched, for pages that show more of it."""


@dataclass(frozen=True)
class MatchResult:
    """Results best first; when fewer than asked survive the hard constraints, `note` says so."""

    results: list[Match]
    requested: int
    eligible: int
    excluded: dict[str, int] = field(default_factory=dict)
    """Per hard constraint, in the pairing's order, the rows it removed (each under the first it breaks)."""
    note: str | None = None
    industries: tuple[IndustryGuess, ...] = ()
    """The query's industries (declared, then inferred) with the words that show them."""


@dataclass(frozen=True, eq=False)
class Snapshot:
    """Everything a query reads, published whole by each write (so a query never sees half a write)."""

    tables: dict[RecordKind, ItemTable]
    lexicon: Lexicon
    district_shares: np.ndarray
    """[districts, 12]: how strongly each district gathers each industry (0..1)."""
    district_peers: np.ndarray
    """[districts, 12] int64: how many buildings of each district gather each industry."""
    indexes: Mapping[RecordKind, DenseIndex] = field(default_factory=dict)
    """The dense index of each table large enough to have one."""


@dataclass(frozen=True, eq=False)
class Query:
    """One side of a pair: a stored record's row or an ad-hoc profile, its columns of length 1."""

    record: CatalogueRecord
    columns: Columns
    vector: np.ndarray
    """[dim] float32."""
    lexical: LexicalQuery
    industries: np.ndarray
    """[1, 12] float32: declared industries 1, inferred ones their probability."""

    def guesses(self) -> tuple[IndustryGuess, ...]:
        """The query's industries (declared, then inferred) with the words that show them."""
        return tuple(guesses_of(self.industries[0], record_text(self.record), declared(self.record)))


@dataclass(frozen=True, eq=False)
class Request:
    """What is asked of one table: the direction, the pairs' constraint masks, k, weights, filter and day."""

    direction: Direction
    violations: dict[str, np.ndarray]
    """Constraint name → [n] or [1] bool: which pairs break it."""
    k: int
    weights: Weights
    districts: Sequence[str]
    today: date


DENSE_SCANS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="dense-scan")
"""Threads that scan the dense channel while the query's own thread works out the rest (numpy lets go
of the GIL meanwhile); long-lived, so that a query does not pay for starting a thread."""
DENSE_CANDIDATES = 1000
"""Rows the dense index proposes per query (in tables that have one)."""
LEXICAL_CANDIDATES = 1000
"""Rows the TF-IDF channel proposes per query (in tables that have a dense index)."""
POSTINGS_BUDGET = 200_000
"""Postings the TF-IDF channel walks to propose its rows: its rarest terms' first."""
PARALLEL_SCAN_ROWS = 20_000
"""Tables at least this large scan the dense channel on another thread; below, handing the scan over
costs more than it saves (0.1 ms on an idle machine, milliseconds on a busy one)."""


def _dense_scan(table: ItemTable, vector: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The raw [size] float32 and calibrated [size] similarities of `vector` [dim] to every row."""
    similarities = table.dense(vector)
    return similarities, _calibrated(similarities, table)


def _calibrated(similarities: np.ndarray, table: ItemTable) -> np.ndarray:
    """Every row's similarity [size] on 0..1: the best live row 1, the 10th percentile of the calibration
    rows (`ItemTable.calibration_rows`: every live row in a table of up to 4,096) and below 0."""
    reference = table.calibration_rows
    if not len(reference):
        return np.zeros(similarities.shape)
    best = similarities.max() if table.live == table.size else similarities[table.alive].max()
    return factors.rescale(similarities, factors.tenth_percentile(similarities[reference]), float(best))


def rank(snapshot: Snapshot, query: Query, request: Request) -> MatchResult:
    """Filter by the constraints, score by the factors, spread across districts, explain the top k.

    A table with a dense index (a large one) scores only the candidates of both channels (see
    `_candidates`); any other is scored row by row.
    """
    direction = request.direction
    table = snapshot.tables[direction.result]
    index = snapshot.indexes.get(direction.result)
    exact = index is None
    dense_scan = (
        DENSE_SCANS.submit(_dense_scan, table, query.vector)
        if exact and table.size >= PARALLEL_SCAN_ROWS
        else None
    )
    lexical = table.lexical.similarities(query.lexical) if exact else None
    ok, excluded, outside = _eligible(table, request)
    found = int(np.count_nonzero(ok))
    if index is None:
        scored = table
        assert lexical is not None
        calibrated_lexical = _calibrated(lexical, table)
        dense, calibrated_dense = (
            _dense_scan(table, query.vector) if dense_scan is None else dense_scan.result()
        )
    else:
        rows, tops = _candidates(table, index, query, ok)
        scored, ok = table.subset(rows), ok[rows]
        dense, calibrated_dense, calibrated_lexical = _candidate_channels(table, query, rows, tops)
    others = _pair_factors(snapshot, query, scored, request)
    semantic = factors.semantic(calibrated_dense, calibrated_lexical, request.weights.lexical_blend)
    values = {name: semantic if name == "semantic" else others[name] for name in direction.factors}
    scorer = _scorer(request.weights)
    score = scorer.score(values)
    strength = request.weights.spread if direction.spread else 0.0
    districts = scored.columns["district"] if direction.spread else np.zeros(scored.size, dtype=np.int64)
    groups = scored.district_groups if strength > 0 else (np.arange(scored.size),)
    rows, penalties = pick(
        score,
        ok,
        groups,
        districts,
        strength,
        request.k,
        lambda chosen: [scored.rows[row].id for row in chosen.tolist()],
    )
    picked = {name: np.broadcast_to(column, score.shape)[rows] for name, column in values.items()}
    _, contributions = scorer.combine(picked)
    explainer = _Explainer.of(snapshot, query, request)
    results = [
        explainer.match(
            scored.rows[row],
            scored.industries[row],
            place,
            float(score[row] - penalty),
            {name: float(values[place - 1]) for name, values in contributions.items()},
            {name: float(values[place - 1]) for name, values in picked.items()},
            float(penalty) if direction.spread else None,
            float(dense[row]),
        )
        for place, (row, penalty) in enumerate(zip(rows.tolist(), penalties.tolist(), strict=True), start=1)
    ]
    return MatchResult(
        results,
        request.k,
        found,
        excluded,
        _shortfall_note(len(results), request, excluded, outside),
        query.guesses(),
    )


def _eligible(table: ItemTable, request: Request) -> tuple[np.ndarray, dict[str, int], int]:
    """The rows [size] bool that break no constraint and lie in the districts asked for; the rows each
    constraint removed (each under the first it breaks); and how many more the district filter removed."""
    ok = table.alive.copy()
    excluded: dict[str, int] = {}
    for name, mask in request.violations.items():  # a pair counts under the first constraint it breaks
        broken = np.broadcast_to(mask, ok.shape)
        excluded[name] = int(np.count_nonzero(broken & ok))
        ok &= ~broken
    outside = 0
    if request.districts:
        wanted = [DISTRICT_ROW[d] for d in request.districts if d in DISTRICT_ROW]
        inside = np.isin(table.columns["district"], wanted)
        outside = int(np.count_nonzero(ok & ~inside))
        ok &= inside
    return ok, excluded, outside


def _candidates(table: ItemTable, index: DenseIndex, query: Query, ok: np.ndarray) -> tuple[np.ndarray, ...]:
    """The eligible rows [m] (sorted) either channel ranks high: the dense index's best and the TF-IDF
    channel's best over the query's rarest terms (a bounded walk of the postings); and the live rows,
    eligible or not, where each channel's best similarity likely lies, for the calibration."""
    dense = index.search(query.vector, DENSE_CANDIDATES, table.vectors, ok)
    lexical = table.lexical.candidates(query.lexical, LEXICAL_CANDIDATES, POSTINGS_BUDGET)
    lexical = lexical[table.alive[lexical]]
    rows: np.ndarray = np.union1d(dense, lexical[ok[lexical]])
    best = (
        [] if np.array_equal(ok, table.alive) else [index.search(query.vector, 1, table.vectors, table.alive)]
    )
    tops = np.concatenate([np.zeros(0, dtype=np.int64), *best, lexical])
    return rows, tops


def _candidate_channels(
    table: ItemTable, query: Query, rows: np.ndarray, tops: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Raw dense, calibrated dense and calibrated TF-IDF similarities of some rows [m], each [m].

    Exact at those rows and at the table's calibration rows, whose 10th percentile is the low end (as
    in `_calibrated`); the best of them and of `tops` is the high end.
    """
    sample = table.calibration_rows
    both = np.union1d(np.union1d(rows, sample), tops)
    dense = np.einsum("ij,j->i", table.vectors[both], query.vector)
    lexical = table.lexical.similarities_at(query.lexical, both)
    in_sample = np.isin(both, sample, assume_unique=True)
    at = np.searchsorted(both, rows)
    calibrated = [
        factors.rescale(values[at], factors.tenth_percentile(values[in_sample]), float(values.max()))
        for values in (dense, lexical)
    ]
    return dense[at], calibrated[0], calibrated[1]


def _pair_factors(
    snapshot: Snapshot, query: Query, table: ItemTable, request: Request
) -> dict[str, np.ndarray]:
    """Every soft factor but the semantic one of the pairs (query, row), each 0..1: [n] (or broadcastable)."""
    direction = request.direction
    firm, offer = direction.sides(query.columns, table.columns)
    firm_industries, _ = direction.sides(query.industries, table.industries)
    pair = Pair(
        firm,
        offer,
        query.industries,
        table.industries,
        table.industry_best,
        firm_industries,
        snapshot.district_shares,
        request.today.toordinal(),
    )
    factors_of_pair = registered(direction.pairing.offer).items()
    return {name: factor.score(pair) for name, factor in factors_of_pair if factor.score is not None}


@dataclass(frozen=True)
class _Explainer:
    """What the reasons of every result of one query share, worked out once per query."""

    snapshot: Snapshot
    query: Query
    request: Request
    query_side: _Side
    makers: dict[str, explain.Reason]
    fallbacks: tuple[str, ...]

    @classmethod
    def of(cls, snapshot: Snapshot, query: Query, request: Request) -> _Explainer:
        """The query's side and the reason makers of the factors the direction scores."""
        pairing, scored = request.direction.pairing, request.direction.factors
        makers = {name: factor.reason for name, factor in registered(pairing.offer).items() if name in scored}
        fallbacks = tuple(name for name in pairing.fallbacks if name in scored)
        return cls(snapshot, query, request, _Side.of(query.record), makers, fallbacks)

    def match(
        self,
        item: CatalogueRecord,
        item_industries: np.ndarray,
        place: int,
        score: float,
        contributions: dict[str, float],
        values: dict[str, float],
        penalty: float | None,
        dense: float,
    ) -> Match:
        """One result with its reasons; `item_industries` [12] is the item's row of industry confidences."""
        if penalty is not None:
            contributions = {**contributions, "spread": -penalty}
        direction = self.request.direction
        firm, offer = direction.sides(self.query_side, _Side.of(item))
        firm_row, offer_row = direction.sides(self.query.industries[0], item_industries)
        shared = _shared_industry(firm, offer, firm_row, offer_row)
        peers = 0
        if shared.code and isinstance(offer.record, BuildingRecord):
            district = DISTRICT_ROW[offer.record.district]
            peers = int(self.snapshot.district_peers[district, INDUSTRY_CODES.index(shared.code)])
        assert isinstance(firm.record, EnterpriseRecord)
        assert isinstance(offer.record, BuildingRecord | ScenarioRecord)
        today = self.request.today
        facts = explain.PairFacts(
            firm.record, offer.record, values, contributions, shared, dense, peers, today
        )
        reasons = explain.reasons(facts, self.makers, self.fallbacks)
        assert isinstance(item, BuildingRecord | EnterpriseRecord | ScenarioRecord)
        name = item.title if isinstance(item, ScenarioRecord) else item.name
        item_district = None if isinstance(item, EnterpriseRecord) else item.district
        return Match(
            item.id,
            name,
            place,
            score,
            contributions,
            reasons,
            str(item_district) if item_district else None,
            item,
        )


@dataclass(frozen=True)
class _Side:
    """One side of a pair as its reasons read it: the record and the industry codes it declares."""

    record: CatalogueRecord
    declared: frozenset[str]

    @classmethod
    def of(cls, record: CatalogueRecord) -> _Side:
        """A record's side."""
        return cls(record, frozenset(declared(record)))

    @cached_property
    def evidence(self) -> Mapping[str, tuple[str, ...]]:
        """The lexicon terms of the record's text supporting each industry (see `term_evidence`)."""
        return term_evidence(record_text(self.record))


def declared(record: CatalogueRecord) -> list[str]:
    """The industry codes a record declares."""
    if isinstance(record, BuildingRecord):
        return [str(code) for code in record.focus_industries]
    assert isinstance(record, EnterpriseRecord | ScenarioRecord)
    return [str(code) for code in record.industries]


@lru_cache(maxsize=64)
def _scorer(weights: Weights) -> MatchScorer:
    """The fitted scorer of a set of weights (fitting validates them again, which takes a while)."""
    return MatchScorer.from_weights(weights)


def _shared_industry(
    firm: _Side, offer: _Side, firm_row: np.ndarray, offer_row: np.ndarray
) -> explain.SharedIndustry:
    """The industry both sides show most strongly (as the industry factor takes it), and its words."""
    products = firm_row * offer_row
    column = int(np.argmax(products))
    if products[column] <= 0:
        return explain.SharedIndustry()
    code = INDUSTRY_CODES[column]

    def inferred(side: _Side, row: np.ndarray) -> float | None:
        """The side's probability of the industry when inferred; None when the record declares it."""
        return None if code in side.declared else float(row[column])

    evidence = [word for side in (firm, offer) for word in side.evidence.get(code, ())]
    return explain.SharedIndustry(
        code, tuple(dict.fromkeys(evidence)), inferred(firm, firm_row), inferred(offer, offer_row)
    )


def _shortfall_note(found: int, request: Request, excluded: Mapping[str, int], outside: int) -> str | None:
    """Say so when fewer than k results survive, and what excluded them; `outside`: the district filter's."""
    if found >= request.k:
        return None
    names = request.direction.pairing.constraints
    causes = [f"{names[name]}：{count} 个" for name, count in excluded.items() if count]
    kept = "满足全部硬性条件"
    if request.districts:
        kept += "且位于所选区域"
        if outside:
            causes.append(f"不在所选区域（{'、'.join(request.districts)}）：{outside} 个")
    note = f"仅有 {found} 个{KIND_NOUNS[request.direction.result]}{kept}，未凑满 {request.k} 个"
    return f"{note}（已排除 — {'；'.join(causes)}）" if causes else note
