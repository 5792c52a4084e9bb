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
from matcher.industry import INDUSTRY_CODES, IndustryGuess, infer_industries
from matcher.lexical import LexicalQuery, Lexicon
from matcher.scorer import MatchScorer
from matcher.spread import pick
from matcher.store import ItemTable
from matcher.tables import DISTRICT_ROW
from matcher.text import record_text
from matcher.weights import BUILDING_FACTORS, SCENARIO_FACTORS, Weights
from models.records import BuildingRecord, CatalogueRecord, EnterpriseRecord, RecordKind, ScenarioRecord

KIND_NOUNS = {"buildings": "楼宇", "enterprises": "企业", "scenarios": "应用场景"}


@dataclass(frozen=True)
class Match:
    """One recommended item: its score, each factor's contribution (adding up to it) and reasons."""

    id: str
    name: str
    rank: int
    score: float
    components: dict[str, float]
    reasons: list[str]
    district: str | None


@dataclass(frozen=True)
class MatchResult:
    """Results best first; when fewer than asked survive the hard constraints, `note` says so."""

    results: list[Match]
    requested: int
    eligible: int
    excluded: dict[str, int] = field(default_factory=dict)
    note: str | None = None


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
    """[1, 12] float32."""


@dataclass(frozen=True, eq=False)
class Request:
    """What is asked of one table: its kind, the pairs' constraint masks, k, weights, filter and day."""

    kind: RecordKind
    violations: dict[str, np.ndarray]
    """Constraint name → [n] or [1] bool: which pairs break it."""
    constraint_names: Mapping[str, str]
    k: int
    weights: Weights
    districts: Sequence[str]
    today: date
    counterpart: RecordKind | None = None
    """For firms as results: the kind of the query (buildings or scenarios)."""


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
    table = snapshot.tables[request.kind]
    dense_scan = DENSE_SCANS.submit(_dense_scan, table, query.vector)
    lexical = table.lexical.similarities(query.lexical)
    ok = table.alive.copy()
    excluded: dict[str, int] = {}
    for name, mask in request.violations.items():
        broken = np.broadcast_to(mask, ok.shape)
        excluded[name] = int(np.count_nonzero(broken & table.alive))
        ok &= ~broken
    if request.districts:
        wanted = [DISTRICT_ROW[d] for d in request.districts if d in DISTRICT_ROW]
        ok &= np.isin(table.columns["district"], wanted)
    others = _pair_factors(snapshot, query, table, request)
    calibrated_lexical = factors.calibrate(lexical, _live(table))
    dense, calibrated_dense = dense_scan.result()
    semantic = factors.semantic(calibrated_dense, calibrated_lexical, request.weights.lexical_blend)
    values = {"semantic": semantic, **others}
    scorer = _scorer(request.weights)
    score = scorer.score(values)
    spreading = request.kind in ("buildings", "scenarios")
    strength = request.weights.spread if spreading else 0.0
    districts = table.columns["district"] if spreading else np.zeros(table.size, dtype=np.int64)
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
            request,
            place,
            float(score[row] - penalty),
            {name: float(values[place - 1]) for name, values in contributions.items()},
            {name: float(values[place - 1]) for name, values in picked.items()},
            float(penalty) if spreading else None,
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
        _shortfall_note(len(results), request, excluded),
    )


def _pair_factors(
    snapshot: Snapshot, query: Query, table: ItemTable, request: Request
) -> dict[str, np.ndarray]:
    """Every soft factor but the semantic one of the pairs (query, row), each 0..1: [n] (or broadcastable)."""
    items = table.columns
    kind, counterpart = request.kind, request.counterpart
    industry = factors.industry(query.industries, table.industries, table.industry_best)
    if kind == "buildings" or counterpart == "buildings":
        firm, building = (query.columns, items) if kind == "buildings" else (items, query.columns)
        firm_industries = query.industries if kind == "buildings" else table.industries
        values = {
            "industry": industry,
            "district": factors.district(firm["preferred"], building["district"]),
            "area": factors.area(firm, building),
            "rent": factors.rent(firm, building),
            "fit_out": factors.fit_out(firm, building),
            "amenities": factors.amenities(firm, building),
            "cluster": factors.cluster(firm_industries, building["district"], snapshot.district_shares),
            "incentives": factors.incentives(firm, building),
        }
        return {name: values[name] for name in BUILDING_FACTORS if name != "semantic"}
    firm, scenario = (query.columns, items) if kind == "scenarios" else (items, query.columns)
    values = {
        "industry": industry,
        "district": factors.district(firm["preferred"], scenario["district"]),
        "budget": factors.budget(firm, scenario),
        "urgency": factors.urgency(scenario, request.today.toordinal()),
    }
    return {name: values[name] for name in SCENARIO_FACTORS if name != "semantic"}


def _match(
    snapshot: Snapshot,
    query: Query,
    item: CatalogueRecord,
    request: Request,
    place: int,
    score: float,
    contributions: dict[str, float],
    values: dict[str, float],
    penalty: float | None,
    dense: float,
) -> Match:
    """One result with its reasons."""
    if penalty is not None:
        contributions = {**contributions, "spread": -penalty}
    firm = query.record if request.kind != "enterprises" else item
    other = item if request.kind != "enterprises" else query.record
    shared, evidence = _shared_industry(firm, other)
    peers = 0
    if shared and isinstance(other, BuildingRecord):
        peers = int(snapshot.district_peers[DISTRICT_ROW[other.district], INDUSTRY_CODES.index(shared)])
    assert isinstance(firm, EnterpriseRecord)
    facts = explain.PairFacts(firm, values, contributions, shared, evidence, dense, peers, request.today)
    if isinstance(other, BuildingRecord):
        reasons = explain.building_reasons(other, facts)
    else:
        assert isinstance(other, ScenarioRecord)
        reasons = explain.scenario_reasons(other, facts)
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
    )


def declared(record: CatalogueRecord) -> list[str]:
    """The industry codes a record declares."""
    codes = getattr(record, "industries", None) or getattr(record, "focus_industries", None) or []
    return [str(code) for code in codes]


@lru_cache(maxsize=64)
def _scorer(weights: Weights) -> MatchScorer:
    """The fitted scorer of a set of weights (fitting validates them again, which takes a while)."""
    return MatchScorer.from_weights(weights)


@lru_cache(maxsize=4096)
def _guesses(text: str, codes: tuple[str, ...]) -> dict[str, IndustryGuess]:
    """A text's industries by code (cached: the same items come up again and again)."""
    return {guess.code: guess for guess in infer_industries(text, codes)}


def _shared_industry(firm: CatalogueRecord, other: CatalogueRecord) -> tuple[str | None, tuple[str, ...]]:
    """The industry both sides show most strongly, with the words that show it."""
    firm_guesses = _guesses(record_text(firm), tuple(declared(firm)))
    other_guesses = _guesses(record_text(other), tuple(declared(other)))
    common = [
        (firm_guesses[code].confidence * other_guesses[code].confidence, code)
        for code in firm_guesses.keys() & other_guesses.keys()
    ]
    if not common:
        return None, ()
    code = max(common)[1]
    evidence = tuple(dict.fromkeys(firm_guesses[code].evidence + other_guesses[code].evidence))
    return code, evidence


def _shortfall_note(found: int, request: Request, excluded: Mapping[str, int]) -> str | None:
    """Say so when fewer than k results survive, and what excluded the others."""
    if found >= request.k:
        return None
    names = request.constraint_names
    causes = "；".join(f"{names[name]}：{count} 个" for name, count in excluded.items() if count)
    note = f"仅有 {found} 个{KIND_NOUNS[request.kind]}满足全部硬性条件，未凑满 {request.k} 个"
    return f"{note}（已排除 — {causes}）" if causes else note
