"""One query against one table: hard constraints, soft factors, weights, spread and reasons.

Every step before the reasons is a numpy operation over the table's rows; reasons are written for
the final k only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache

import numpy as np

from matcher import explain, factors
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


def _dense_scan(table: ItemTable, vector: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The raw [size] float32 and calibrated [size] similarities of `vector` [dim] to every row."""
    similarities = table.dense(vector)
    return similarities, factors.calibrate(similarities, _live(table))


def _live(table: ItemTable) -> np.ndarray | None:
    """The live rows [size] bool, or None when no row is dead."""
    return None if table.live == table.size else table.alive


def rank(snapshot: Snapshot, query: Query, request: Request) -> MatchResult:
    """Filter by the constraints, score by the factors, spread across districts, explain the top k."""
    direction = request.direction
    table = snapshot.tables[direction.result]
    dense_scan = DENSE_SCANS.submit(_dense_scan, table, query.vector)
    lexical = table.lexical.similarities(query.lexical)
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
    others = _pair_factors(snapshot, query, table, request)
    calibrated_lexical = factors.calibrate(lexical, _live(table))
    dense, calibrated_dense = dense_scan.result()
    semantic = factors.semantic(calibrated_dense, calibrated_lexical, request.weights.lexical_blend)
    values = {name: semantic if name == "semantic" else others[name] for name in direction.factors}
    scorer = _scorer(request.weights)
    score = scorer.score(values)
    strength = request.weights.spread if direction.spread else 0.0
    districts = table.columns["district"] if direction.spread else np.zeros(table.size, dtype=np.int64)
    groups = table.district_groups if strength > 0 else (np.arange(table.size),)
    rows, penalties = pick(
        score,
        ok,
        groups,
        districts,
        strength,
        request.k,
        lambda chosen: [table.rows[row].id for row in chosen.tolist()],
    )
    picked = {name: np.broadcast_to(column, score.shape)[rows] for name, column in values.items()}
    _, contributions = scorer.combine(picked)
    results = [
        _match(
            snapshot,
            query,
            table.rows[row],
            table.industries[row],
            request,
            place,
            float(score[row] - penalty),
            {name: float(values[place - 1]) for name, values in contributions.items()},
            {name: float(values[place - 1]) for name, values in picked.items()},
            float(penalty) if direction.spread else None,
            float(dense[row]),
        )
        for place, (row, penalty) in enumerate(zip(rows.tolist(), penalties.tolist(), strict=True), start=1)
    ]
    found = int(np.count_nonzero(ok))
    return MatchResult(
        results,
        request.k,
        found,
        excluded,
        _shortfall_note(len(results), request, excluded, outside),
        query.guesses(),
    )


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


def _match(
    snapshot: Snapshot,
    query: Query,
    item: CatalogueRecord,
    item_industries: np.ndarray,
    request: Request,
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
    pairing = request.direction.pairing
    firm, offer = request.direction.sides(query.record, item)
    firm_row, offer_row = request.direction.sides(query.industries[0], item_industries)
    shared = _shared_industry(firm, offer, firm_row, offer_row)
    peers = 0
    if shared.code and isinstance(offer, BuildingRecord):
        peers = int(snapshot.district_peers[DISTRICT_ROW[offer.district], INDUSTRY_CODES.index(shared.code)])
    assert isinstance(firm, EnterpriseRecord)
    assert isinstance(offer, BuildingRecord | ScenarioRecord)
    today = request.today
    facts = explain.PairFacts(firm, offer, values, contributions, shared, dense, peers, today)
    scored = request.direction.factors
    makers = {name: factor.reason for name, factor in registered(pairing.offer).items() if name in scored}
    reasons = explain.reasons(facts, makers, tuple(name for name in pairing.fallbacks if name in scored))
    name = getattr(item, "name", None) or getattr(item, "title", "")
    item_district = getattr(item, "district", None)
    return Match(
        item.id,
        str(name),
        place,
        score,
        contributions,
        reasons,
        str(item_district) if item_district else None,
        item,
    )


def declared(record: CatalogueRecord) -> list[str]:
    """The industry codes a record declares."""
    codes = getattr(record, "industries", None) or getattr(record, "focus_industries", None) or []
    return [str(code) for code in codes]


@lru_cache(maxsize=64)
def _scorer(weights: Weights) -> MatchScorer:
    """The fitted scorer of a set of weights (fitting validates them again, which takes a while)."""
    return MatchScorer.from_weights(weights)


def _shared_industry(
    firm: CatalogueRecord, offer: CatalogueRecord, firm_row: np.ndarray, offer_row: np.ndarray
) -> explain.SharedIndustry:
    """The industry both sides show most strongly (as the industry factor takes it), and its words."""
    products = firm_row * offer_row
    column = int(np.argmax(products))
    if products[column] <= 0:
        return explain.SharedIndustry()
    code = INDUSTRY_CODES[column]

    def inferred(record: CatalogueRecord, row: np.ndarray) -> float | None:
        """The side's probability of the industry when inferred; None when the record declares it."""
        return None if code in declared(record) else float(row[column])

    evidence = [word for record in (firm, offer) for word in term_evidence(record_text(record)).get(code, ())]
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
