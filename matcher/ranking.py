"""One query against one table: hard constraints, soft factors, weights, spread and reasons.

Every step before the reasons is a numpy operation over the table's rows; reasons are written for
the final k only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache

import numpy as np

from matcher import explain, factors, spread
from matcher.ann import DenseIndex
from matcher.constraints import Columns
from matcher.directions import Direction
from matcher.industry import INDUSTRY_CODES, Evidence, IndustryGuess, guesses_of, stored_evidence
from matcher.lexical import LexicalQuery, Lexicon
from matcher.registry import Pair, registered
from matcher.scorer import MatchScorer
from matcher.store import ItemTable, inner_products
from matcher.tables import DISTRICT_ROW
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
    large: frozenset[RecordKind] = frozenset()
    """The kinds whose tables are large enough for a dense index (whether or not a query uses it)."""


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
    evidence: Evidence
    """The words of the query's text that show each industry."""

    def guesses(self) -> tuple[IndustryGuess, ...]:
        """The query's industries (declared, then inferred) with the words that show them."""
        return tuple(guesses_of(self.industries[0], self.evidence, declared(self.record)))


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
    reasons: bool = True
    """Whether results carry their reasons (a caller after the scores alone saves their writing)."""


DENSE_SCANS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="dense-scan")
"""Threads that scan the dense channel while the query's own thread works out the rest (numpy lets go
of the GIL meanwhile); long-lived, so that a query does not pay for starting a thread."""
DENSE_CANDIDATES = 1000
"""Rows the dense index proposes per query (in tables that have one)."""
LEXICAL_CANDIDATES = 1000
"""Rows the TF-IDF channel proposes per query (in tables that have a dense index)."""
COMPLETION_BATCH = 1000
"""Rows past both channels' candidates scored first (the most promising; then twice as many, and so on:
see `_completed`)."""
POSTINGS_BUDGET = 200_000
"""In a large table the TF-IDF channel counts a query's rarest terms while their documents add up to at
most this many (the commonest weigh least: idf²), so it never walks every posting of every row."""
PARALLEL_SCAN_ROWS = 20_000
"""Tables at least this large scan the dense channel on another thread; below, handing the scan over
costs more than it saves (0.1 ms on an idle machine, milliseconds on a busy one)."""


def _calibrated(similarities: np.ndarray, table: ItemTable, among: np.ndarray | None = None) -> np.ndarray:
    """Every row's similarity [size] on 0..1 (see `_calibration`)."""
    return factors.rescale(similarities, *_calibration(similarities, table, among))


def _calibration(
    similarities: np.ndarray, table: ItemTable, among: np.ndarray | None = None
) -> tuple[float, float]:
    """The similarities [size] taken to 0 and to 1: the 10th percentile of the calibration rows
    (`ItemTable.calibration_rows`: every live row in a table of up to 4,096), and the best live row's;
    or, given `among` [size] bool, the best of those rows and the calibration rows. (1, 1) when no row is
    live (so none is picked)."""
    reference = table.calibration_rows
    if not len(reference):
        return 1.0, 1.0
    if among is not None:
        best = max(float(similarities[among].max(initial=-1.0)), float(similarities[reference].max()))
    else:
        best = float(similarities.max() if table.live == table.size else similarities[table.alive].max())
    return factors.tenth_percentile(similarities[reference]), best


def rank(snapshot: Snapshot, query: Query, request: Request) -> MatchResult:
    """Filter by the constraints, score by the factors, spread across districts, explain the top k.

    In a large table (`Snapshot.large`) the TF-IDF channel counts only the query's rarest terms and the
    dense channel's best is the best eligible row's; one with a dense index scores only the candidates of
    both channels (`_candidates`); any other, every row.
    """
    direction = request.direction
    table = snapshot.tables[direction.result]
    index = snapshot.indexes.get(direction.result)
    large = direction.result in snapshot.large
    ok, excluded, outside = _eligible(table, request)
    dense_work = _dense_work(table, index, query.vector, ok)
    terms = query.lexical
    if large:
        terms = snapshot.lexicon.rarest(terms, POSTINGS_BUDGET)
    lexical = table.lexical.similarities(terms)
    found = int(np.count_nonzero(ok))
    if index is None:
        scored = table
        calibrated_lexical = _calibrated(lexical, table)
        dense = table.dense(query.vector) if dense_work is None else dense_work.result()
        calibrated_dense = _calibrated(dense, table, ok if large else None)
        others = _pair_factors(snapshot, query, table, request)
    else:
        assert dense_work is not None
        every_row = _pair_factors(snapshot, query, table, request)
        rows, dense, calibration = _completed(
            table, dense_work.result(), query.vector, lexical, ok, every_row, request
        )
        scored, ok = table.subset(rows), ok[rows]
        calibrated_lexical = factors.rescale(lexical[rows], *_calibration(lexical, table))
        calibrated_dense = factors.rescale(dense, *calibration)
        others = {name: _at(column, rows) for name, column in every_row.items()}
    semantic = factors.semantic(calibrated_dense, calibrated_lexical, request.weights.lexical_blend)
    values = {name: semantic if name == "semantic" else others[name] for name in direction.factors}
    scorer = _scorer(request.weights)
    score = scorer.score(values)
    strength = _strength(request)
    districts = _districts(scored, request)
    groups = scored.district_groups if strength > 0 else (np.arange(scored.size),)
    rows, penalties = spread.pick(
        score,
        ok,
        groups,
        districts,
        strength,
        request.k,
        lambda chosen: [scored.rows[row].id for row in chosen.tolist()],
    )
    picked = {name: _at(column, rows) for name, column in values.items()}
    _, contributions = scorer.combine(picked)
    explainer = _Explainer.of(snapshot, query, request)
    results = explainer.matches(
        [scored.rows[row] for row in rows.tolist()],
        [scored.terms[row] for row in rows.tolist()],
        scored.industries[rows],
        score[rows] - penalties,
        penalties if direction.spread else None,
        contributions,
        picked,
        dense[rows],
    )
    return MatchResult(
        results,
        request.k,
        found,
        excluded,
        _shortfall_note(len(results), request, excluded, outside),
        query.guesses(),
    )


def single_threaded(snapshot: Snapshot, kind: RecordKind) -> bool:
    """Whether a query of this table runs on its caller's thread alone: no dense index, and fewer than
    PARALLEL_SCAN_ROWS rows (so a few milliseconds of work at most)."""
    return kind not in snapshot.indexes and not _scanned_apart(snapshot.tables[kind])


def _scanned_apart(table: ItemTable) -> bool:
    """Whether a table's dense scan runs on another thread (PARALLEL_SCAN_ROWS rows or more)."""
    return table.size >= PARALLEL_SCAN_ROWS


def _dense_work(
    table: ItemTable, index: DenseIndex | None, vector: np.ndarray, ok: np.ndarray
) -> Future[np.ndarray] | None:
    """The dense channel's work, started on another thread while the query's own works out the rest: the
    rows the index proposes, or the scan of a table of PARALLEL_SCAN_ROWS or more; None for a smaller one."""
    if index is not None:
        return DENSE_SCANS.submit(index.search, vector, DENSE_CANDIDATES, table.vectors, ok)
    if _scanned_apart(table):
        return DENSE_SCANS.submit(table.dense, vector)
    return None


def _at(column: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """A factor's values [m] at some rows, the factor being [n] or one value for every row [1]."""
    return column[rows] if column.size > 1 else np.repeat(column, len(rows))


def _eligible(table: ItemTable, request: Request) -> tuple[np.ndarray, dict[str, int], int]:
    """The rows [size] bool that break no constraint and lie in the districts asked for; the rows each
    constraint removed (each under the first it breaks); and how many more the district filter removed."""
    ok = table.alive.copy()
    excluded: dict[str, int] = {}
    for name, mask in request.violations.items():  # a pair counts under the first constraint it breaks
        broken = mask & ok
        excluded[name] = int(np.count_nonzero(broken))
        ok ^= broken
    outside = 0
    if request.districts:
        wanted = [DISTRICT_ROW[d] for d in request.districts if d in DISTRICT_ROW]
        inside = np.isin(table.columns["district"], wanted)
        outside = int(np.count_nonzero(ok & ~inside))
        ok &= inside
    return ok, excluded, outside


def _strength(request: Request) -> float:
    """How strongly the results are spread across districts (0 for directions that do not spread)."""
    return request.weights.spread if request.direction.spread else 0.0


def _districts(table: ItemTable, request: Request) -> np.ndarray:
    """Each row's district [size] as the spread reads it (one district for directions that do not spread)."""
    return table.columns["district"] if request.direction.spread else np.zeros(table.size, dtype=np.int64)


def _completed(
    table: ItemTable,
    proposed: np.ndarray,
    vector: np.ndarray,
    lexical: np.ndarray,
    ok: np.ndarray,
    others: Mapping[str, np.ndarray],
    request: Request,
) -> tuple[np.ndarray, np.ndarray, tuple[float, float]]:
    """The rows [m] (sorted) an indexed table scores, given the rows its index `proposed` (best first), with
    their dense similarities [m] and the calibration `_candidate_dense` gives them. The rows are the
    candidates of both channels (`_candidates`) and
    every other eligible row that could be picked. That is, one whose score, were its dense similarity the
    best the index passed over, reaches `spread.floor` of the rows scored; the most promising are scored
    first, in batches of COMPLETION_BATCH rows doubling each time, and each batch raises the floor."""
    rows, passed = _candidates(table, proposed, vector, lexical, ok)
    scorer, blend, names = _scorer(request.weights), request.weights.lexical_blend, request.direction.factors
    dense, calibration = _candidate_dense(table, vector, rows)
    calibrated_lexical = factors.rescale(lexical, *_calibration(lexical, table))
    districts, strength = _districts(table, request), _strength(request)

    def scores_of(some: np.ndarray, semantic: np.ndarray) -> np.ndarray:
        """The scores [len(some)] of some rows given their semantic factor (or a bound of it)."""
        return scorer.score(
            {name: semantic if name == "semantic" else _at(others[name], some) for name in names}
        )

    def exact(some: np.ndarray, dense: np.ndarray) -> np.ndarray:
        """The scores of some rows given their dense similarities, calibrated as the candidates'."""
        return scores_of(
            some, factors.semantic(factors.rescale(dense, *calibration), calibrated_lexical[some], blend)
        )

    scores = exact(rows, dense)
    ceiling = factors.semantic(factors.rescale(np.array([passed]), *calibration), calibrated_lexical, blend)
    bounds = scorer.score({name: ceiling if name == "semantic" else others[name] for name in names})
    floor = spread.floor(scores, ok[rows], districts[rows], strength, request.k)
    waiting = np.setdiff1d(np.flatnonzero(ok & (bounds >= floor)), rows, assume_unique=True)
    batch_size = COMPLETION_BATCH
    while len(waiting):
        first = _largest(bounds[waiting], batch_size)
        batch_size *= 2
        batch, waiting = waiting[first], np.delete(waiting, first)
        batch_dense = _dense_at(table, vector, batch)
        rows, dense = np.concatenate([rows, batch]), np.concatenate([dense, batch_dense])
        scores = np.concatenate([scores, exact(batch, batch_dense)])
        floor = spread.floor(scores, ok[rows], districts[rows], strength, request.k)
        waiting = waiting[bounds[waiting] >= floor]
    order = np.argsort(rows)
    low, high = calibration  # the best of the rows scored, as `_candidate_dense` of them all would take it
    return rows[order], dense[order], (low, max(high, float(dense.max(initial=-1.0))))


def _largest(values: np.ndarray, n: int) -> np.ndarray:
    """The positions of the n largest values (all of them when there are no more), in no order."""
    if len(values) <= n:
        return np.arange(len(values))
    return np.argpartition(-values, n - 1)[:n]


def _dense_at(table: ItemTable, vector: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Exact dense similarities [m] of some rows."""
    return inner_products(table.vectors, vector, rows)


def _candidates(
    table: ItemTable, found: np.ndarray, vector: np.ndarray, lexical: np.ndarray, ok: np.ndarray
) -> tuple[np.ndarray, float]:
    """The eligible rows [m] (sorted) either channel ranks high: those the dense index `found` (its best
    DENSE_CANDIDATES, best first) and the TF-IDF channel's best LEXICAL_CANDIDATES; and the dense
    similarity of the index's last (1 when it found none: nothing is known of the rows it passed over)."""
    passed = float(table.vectors[found[-1]] @ vector) if len(found) else 1.0
    reached = np.flatnonzero((lexical > 0) & ok)
    if len(reached) > LEXICAL_CANDIDATES:
        reached = reached[np.argpartition(-lexical[reached], LEXICAL_CANDIDATES - 1)[:LEXICAL_CANDIDATES]]
    rows: np.ndarray = np.union1d(found, reached)
    return rows, passed


def _candidate_dense(
    table: ItemTable, vector: np.ndarray, rows: np.ndarray
) -> tuple[np.ndarray, tuple[float, float]]:
    """Exact dense similarities of some eligible rows [m], and the (low, high) `_calibration` takes in a large
    table, the best eligible row being among the rows."""
    dense = _dense_at(table, vector, rows)
    reference = _dense_at(table, vector, table.calibration_rows)
    if not len(reference):
        return dense, (1.0, 1.0)
    high = max(float(dense.max(initial=-1.0)), float(reference.max()))
    return dense, (factors.tenth_percentile(reference), high)


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
        return cls(snapshot, query, request, _Side.of(query.record, query.evidence), makers, fallbacks)

    def matches(
        self,
        items: Sequence[CatalogueRecord],
        terms: Sequence[bytes],
        industries: np.ndarray,
        scores: np.ndarray,
        penalties: np.ndarray | None,
        contributions: Mapping[str, np.ndarray],
        values: Mapping[str, np.ndarray],
        dense: np.ndarray,
    ) -> list[Match]:
        """The results, best first, with their reasons: the items [k] with their lexicon terms
        (`ItemTable.terms`), industry rows [k, 12], scores, spread penalties (None for directions that do
        not spread), factor contributions, factor values and dense similarities, each [k]."""
        products = self.query.industries[0] * industries
        strongest = products.argmax(axis=1)
        shared = products[np.arange(len(items)), strongest] > 0
        given = {name: column.tolist() for name, column in contributions.items()}
        if penalties is not None:
            given["spread"] = (-penalties).tolist()
        factor_values = {name: column.tolist() for name, column in values.items()}
        ranked = explain.by_contribution(list(self.makers), contributions, len(items))
        return [
            self._match(
                item,
                place,
                score,
                {name: column[place - 1] for name, column in given.items()},
                {name: column[place - 1] for name, column in factor_values.items()},
                self._shared(item, item_terms, industries[place - 1], column)
                if is_shared and self.request.reasons
                else explain.SharedIndustry(),
                similarity,
                ranked[place - 1],
            )
            for place, (item, item_terms, score, column, is_shared, similarity) in enumerate(
                zip(
                    items,
                    terms,
                    scores.tolist(),
                    strongest.tolist(),
                    shared.tolist(),
                    dense.tolist(),
                    strict=True,
                ),
                start=1,
            )
        ]

    def _shared(
        self, item: CatalogueRecord, terms: bytes, item_industries: np.ndarray, column: int
    ) -> explain.SharedIndustry:
        """The industry (`column`) the query and the item share most strongly, as the industry factor takes
        it, and the words of both texts that show it; `item_industries` [12] is the item's row."""
        code = INDUSTRY_CODES[column]
        direction = self.request.direction
        firm, offer = direction.sides(self.query_side, _Side.of(item, stored_evidence(terms)))
        firm_row, offer_row = direction.sides(self.query.industries[0], item_industries)

        def inferred(side: _Side, row: np.ndarray) -> float | None:
            """The side's probability of the industry when inferred; None when the record declares it."""
            return None if code in side.declared else float(row[column])

        evidence = [word for side in (firm, offer) for word in side.evidence(code)]
        return explain.SharedIndustry(
            code, tuple(dict.fromkeys(evidence)), inferred(firm, firm_row), inferred(offer, offer_row)
        )

    def _match(
        self,
        item: CatalogueRecord,
        place: int,
        score: float,
        contributions: dict[str, float],
        values: dict[str, float],
        shared: explain.SharedIndustry,
        dense: float,
        ranked: list[str],
    ) -> Match:
        """One result with its reasons (`ranked`: the reason makers by the result's contributions), unless
        the request asks for none."""
        reasons: list[str] = []
        if self.request.reasons:
            firm, offer = self.request.direction.sides(self.query.record, item)
            peers = 0
            if shared.code and isinstance(offer, BuildingRecord):
                district = DISTRICT_ROW[offer.district]
                peers = int(self.snapshot.district_peers[district, INDUSTRY_CODES.index(shared.code)])
            assert isinstance(firm, EnterpriseRecord)
            assert isinstance(offer, BuildingRecord | ScenarioRecord)
            facts = explain.PairFacts(
                firm, offer, values, contributions, shared, dense, peers, self.request.today
            )
            reasons = explain.reasons(facts, ranked, self.makers, self.fallbacks)
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
    """One side of a pair as its reasons read it: the record, the industry codes it declares and the words
    of its text that show an industry."""

    record: CatalogueRecord
    declared: frozenset[str]
    evidence: Evidence

    @classmethod
    def of(cls, record: CatalogueRecord, evidence: Evidence) -> _Side:
        """A record's side."""
        return cls(record, frozenset(declared(record)), evidence)


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
