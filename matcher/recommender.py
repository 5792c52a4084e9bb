"""The recommender: hard constraints, soft factors, weights, spread and reasons, in four directions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np
from scipy import sparse

from matcher import explain, factors
from matcher.constraints import (
    BUILDING_CONSTRAINTS,
    SCENARIO_CONSTRAINTS,
    Columns,
    building_violations,
    eligible,
    scenario_violations,
)
from matcher.encoder import Encoder
from matcher.industry import INDUSTRY_CODES, industry_matrix, infer_industries
from matcher.lexical import LexicalModel, lexical_similarity
from matcher.scorer import MatchScorer
from matcher.spread import spread_rerank
from matcher.tables import COLUMNS, DISTRICT_ROW, DISTRICTS, ItemTable
from matcher.text import record_text
from matcher.weights import BUILDING_FACTORS, SCENARIO_FACTORS, Weights
from models.records import BuildingRecord, CatalogueRecord, EnterpriseRecord, RecordKind, ScenarioRecord

KINDS: tuple[RecordKind, ...] = ("buildings", "enterprises", "scenarios")
KIND_NOUNS = {"buildings": "楼宇", "enterprises": "企业", "scenarios": "应用场景"}
PEER_CONFIDENCE = 0.5
"""A building counts as gathering an industry when its confidence for it is at least this."""


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


@dataclass(frozen=True)
class _Query:
    """One side of a pair as length-1 arrays: a stored record's row or an ad-hoc profile."""

    record: CatalogueRecord
    columns: Columns
    vector: np.ndarray
    lexical: sparse.csr_matrix
    industries: np.ndarray


def _take(columns: Columns, rows: np.ndarray | slice) -> Columns:
    """The given rows of every column."""
    return {name: values[rows] for name, values in columns.items()}


class Recommender:
    """Matches firms to buildings and scenarios (and back), over an in-memory copy of the catalogue.

    The database is the source of truth: `load` builds the tables, `upsert`/`remove` keep them in
    step, and a change is visible to the next query. Vectors come from `encoder`; pass a
    `CachedEncoder` so that unchanged texts are never encoded again.
    """

    def __init__(
        self, encoder: Encoder, *, weights: Weights | None = None, today: date | None = None
    ) -> None:
        """Store the encoder, the weights (defaults when None) and the day deadlines are judged on."""
        self.encoder = encoder
        self.weights = weights or Weights()
        self.today = today
        self.records: dict[RecordKind, dict[str, CatalogueRecord]] = {kind: {} for kind in KINDS}
        self.lexical_model = LexicalModel()
        self.tables: dict[RecordKind, ItemTable] = {}

    def load(self, catalogue: Mapping[RecordKind, Sequence[CatalogueRecord]]) -> Recommender:
        """Build every table from scratch; the TF-IDF vocabulary is learnt from all texts."""
        for kind in KINDS:
            self.records[kind] = {record.id: record for record in catalogue.get(kind, ())}
        self.lexical_model.fit([record_text(r) for kind in KINDS for r in self.records[kind].values()])
        for kind in KINDS:
            self._rebuild(kind)
        return self

    def upsert(self, kind: RecordKind, records: Sequence[CatalogueRecord]) -> None:
        """Add or replace records; the next query sees them."""
        self.records[kind].update({record.id: record for record in records})
        self._rebuild(kind)

    def replace(self, kind: RecordKind, records: Sequence[CatalogueRecord]) -> None:
        """Take every record of a kind afresh (after changes made by another process)."""
        self.records[kind] = {record.id: record for record in records}
        self._rebuild(kind)

    def remove(self, kind: RecordKind, ids: Sequence[str]) -> None:
        """Forget records; the next query no longer returns them."""
        for record_id in ids:
            self.records[kind].pop(record_id, None)
        self._rebuild(kind)

    def _rebuild(self, kind: RecordKind) -> None:
        """Recompute one kind's table (vectors come from the encoder's cache when unchanged)."""
        records = sorted(self.records[kind].values(), key=lambda record: record.id)
        texts = [record_text(record) for record in records]
        vectors = self.encoder.encode(texts) if records else np.zeros((0, self.encoder.dim), np.float32)
        self.tables[kind] = ItemTable(
            kind=kind,
            records=list(records),
            vectors=vectors,
            lexical=self.lexical_model.transform(texts),
            industries=industry_matrix(texts, [_declared(record) for record in records]),
            columns=COLUMNS[kind](records),  # type: ignore[operator]
        )
        if kind == "buildings":
            self._district_industries()

    def _district_industries(self) -> None:
        """How strongly each district gathers each industry (0..1) and how many buildings do."""
        table = self.tables["buildings"]
        shape = (len(DISTRICTS), len(INDUSTRY_CODES))
        totals, peers = np.zeros(shape), np.zeros(shape, dtype=np.int64)
        np.add.at(totals, table.columns["district"], table.industries)
        np.add.at(peers, table.columns["district"], table.industries >= PEER_CONFIDENCE)
        best = totals.max(axis=0, keepdims=True)
        self.district_shares = np.divide(totals, best, out=np.zeros(shape), where=best > 0)
        self.district_peers = peers

    def _today(self) -> date:
        """The day deadlines are judged on."""
        return self.today or date.today()

    def _query(self, kind: RecordKind, record: CatalogueRecord) -> _Query:
        """A stored record's row, or an ad-hoc profile encoded on the spot."""
        table = self.tables[kind]
        row = table.row_of.get(record.id)
        if row is not None and table.records[row] == record:
            return _Query(
                record,
                _take(table.columns, slice(row, row + 1)),
                table.vectors[row],
                table.lexical[row],
                table.industries[row : row + 1],
            )
        text = record_text(record)
        return _Query(
            record,
            COLUMNS[kind]([record]),  # type: ignore[operator]
            self.encoder.encode([text])[0],
            self.lexical_model.transform([text]),
            industry_matrix([text], [_declared(record)]),
        )

    def channel_similarities(self, firm: EnterpriseRecord, kind: RecordKind) -> tuple[np.ndarray, np.ndarray]:
        """Raw dense and TF-IDF similarities of a firm to every row of a table (for baselines)."""
        query = self._query("enterprises", firm)
        table = self.tables[kind]
        return table.index.similarities(query.vector), lexical_similarity(query.lexical, table.lexical)

    def stored(self, kind: RecordKind, record_id: str) -> CatalogueRecord:
        """A stored record by id (KeyError when unknown)."""
        return self.records[kind][record_id]

    # ---- the four directions -------------------------------------------------------------------

    def match_buildings(
        self,
        firm: EnterpriseRecord,
        k: int = 10,
        *,
        weights: Weights | None = None,
        districts: Sequence[str] = (),
    ) -> MatchResult:
        """The best buildings for a firm (stored or ad hoc)."""
        query = self._query("enterprises", firm)
        table = self.tables["buildings"]
        violations = building_violations(query.columns, table.columns)
        return self._rank(query, table, "buildings", violations, BUILDING_CONSTRAINTS, k, weights, districts)

    def match_scenarios(
        self,
        firm: EnterpriseRecord,
        k: int = 10,
        *,
        weights: Weights | None = None,
        districts: Sequence[str] = (),
    ) -> MatchResult:
        """The best open scenarios for a firm (stored or ad hoc)."""
        query = self._query("enterprises", firm)
        table = self.tables["scenarios"]
        violations = scenario_violations(table.columns, self._today().toordinal())
        return self._rank(query, table, "scenarios", violations, SCENARIO_CONSTRAINTS, k, weights, districts)

    def match_enterprises_for_building(
        self, building: BuildingRecord, k: int = 10, *, weights: Weights | None = None
    ) -> MatchResult:
        """The firms in the lead pool that fit a building (or a vacant floor given ad hoc)."""
        query = self._query("buildings", building)
        table = self.tables["enterprises"]
        violations = building_violations(table.columns, query.columns)
        return self._rank(
            query,
            table,
            "enterprises",
            violations,
            BUILDING_CONSTRAINTS,
            k,
            weights,
            (),
            counterpart="buildings",
        )

    def match_enterprises_for_scenario(
        self, scenario: ScenarioRecord, k: int = 10, *, weights: Weights | None = None
    ) -> MatchResult:
        """The firms that could take on a scenario; none when the scenario is not open."""
        query = self._query("scenarios", scenario)
        closed = scenario_violations(query.columns, self._today().toordinal())
        broken = [SCENARIO_CONSTRAINTS[name] for name, mask in closed.items() if mask.any()]
        if broken:
            return MatchResult([], k, 0, note=f"该场景不可推荐：{'；'.join(broken)}")
        table = self.tables["enterprises"]
        return self._rank(query, table, "enterprises", {}, {}, k, weights, (), counterpart="scenarios")

    # ---- scoring -----------------------------------------------------------------------------

    def _rank(
        self,
        query: _Query,
        table: ItemTable,
        kind: RecordKind,
        violations: dict[str, np.ndarray],
        constraint_names: Mapping[str, str],
        k: int,
        weights: Weights | None,
        districts: Sequence[str],
        counterpart: RecordKind | None = None,
    ) -> MatchResult:
        """Filter by the constraints, score by the factors, spread across districts, explain."""
        weights = weights or self.weights
        n = len(table)
        ok = eligible(violations) if violations else np.ones(n, dtype=bool)
        ok = np.broadcast_to(ok, (n,)).copy()
        excluded = {name: int(np.broadcast_to(mask, (n,)).sum()) for name, mask in violations.items()}
        if districts:
            wanted = [DISTRICT_ROW[d] for d in districts if d in DISTRICT_ROW]
            ok &= np.isin(table.columns["district"], wanted)
        rows = np.flatnonzero(ok)
        dense_all = table.index.similarities(query.vector) if n else np.zeros(0, np.float32)
        lexical_all = lexical_similarity(query.lexical, table.lexical)
        semantic = factors.semantic(dense_all, lexical_all, weights.lexical_blend)[rows]
        pair = self._pair_factors(query, table, kind, counterpart, rows, semantic)
        scorer = MatchScorer.from_weights(weights)
        score, contributions = scorer.combine(pair)
        spreading = kind in ("buildings", "scenarios")
        item_districts = table.columns["district"][rows] if spreading else np.zeros(len(rows), np.int64)
        picked, penalties = spread_rerank(score, item_districts, weights.spread if spreading else 0.0, k)
        results = [
            self._match(
                query,
                table,
                kind,
                counterpart,
                int(rows[p]),
                rank,
                score[p] - penalty,
                {name: float(values[p]) for name, values in contributions.items()},
                {name: float(values[p]) for name, values in pair.items()},
                penalty,
                spreading,
                float(dense_all[rows[p]]),
            )
            for rank, (p, penalty) in enumerate(zip(picked, penalties, strict=True), start=1)
        ]
        return MatchResult(
            results,
            k,
            len(rows),
            excluded,
            _shortfall_note(len(results), k, kind, excluded, constraint_names),
        )

    def _pair_factors(
        self,
        query: _Query,
        table: ItemTable,
        kind: RecordKind,
        counterpart: RecordKind | None,
        rows: np.ndarray,
        semantic: np.ndarray,
    ) -> dict[str, np.ndarray]:
        """Every soft factor of the pairs (query, rows), each 0..1."""
        items = _take(table.columns, rows)
        item_industries = table.industries[rows]
        names: tuple[str, ...]
        if kind == "buildings" or counterpart == "buildings":
            firm, building = (query.columns, items) if kind == "buildings" else (items, query.columns)
            firm_ind = query.industries if kind == "buildings" else item_industries
            values = {
                "semantic": semantic,
                "industry": factors.industry(query.industries, item_industries),
                "district": factors.district(firm["preferred"], building["district"]),
                "area": factors.area(firm, building),
                "rent": factors.rent(firm, building),
                "fit_out": factors.fit_out(firm, building),
                "amenities": factors.amenities(firm, building),
                "cluster": factors.cluster(firm_ind, building["district"], self.district_shares),
                "incentives": factors.incentives(firm, building),
            }
            names = BUILDING_FACTORS
        else:
            firm, scenario = (query.columns, items) if kind == "scenarios" else (items, query.columns)
            today = self._today().toordinal()
            values = {
                "semantic": semantic,
                "industry": factors.industry(query.industries, item_industries),
                "district": factors.district(firm["preferred"], scenario["district"]),
                "budget": factors.budget(firm, scenario),
                "urgency": factors.urgency(scenario, today),
            }
            names = SCENARIO_FACTORS
        size = len(rows)
        return {name: np.broadcast_to(np.asarray(values[name], dtype=np.float64), (size,)) for name in names}

    def _match(
        self,
        query: _Query,
        table: ItemTable,
        kind: RecordKind,
        counterpart: RecordKind | None,
        row: int,
        rank: int,
        score: float,
        contributions: dict[str, float],
        values: dict[str, float],
        penalty: float,
        spreading: bool,
        dense: float,
    ) -> Match:
        """One result with its reasons."""
        item = table.records[row]
        if spreading:
            contributions = {**contributions, "spread": -float(penalty)}
        firm = query.record if kind != "enterprises" else item
        other = item if kind != "enterprises" else query.record
        firm_text, other_text = record_text(firm), record_text(other)
        shared, evidence = _shared_industry(firm_text, _declared(firm), other_text, _declared(other))
        peers = 0
        if shared and isinstance(other, BuildingRecord):
            peers = int(self.district_peers[DISTRICT_ROW[other.district], INDUSTRY_CODES.index(shared)])
        assert isinstance(firm, EnterpriseRecord)
        facts = explain.PairFacts(firm, values, contributions, shared, evidence, dense, peers, self._today())
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
            rank,
            float(score),
            contributions,
            reasons,
            str(item_district) if item_district else None,
        )


def _declared(record: CatalogueRecord) -> list[str]:
    """The industry codes a record declares."""
    codes = getattr(record, "industries", None) or getattr(record, "focus_industries", None) or []
    return [str(code) for code in codes]


def _shared_industry(
    firm_text: str, firm_declared: list[str], other_text: str, other_declared: list[str]
) -> tuple[str | None, tuple[str, ...]]:
    """The industry both sides show most strongly, with the words that show it."""
    firm_guesses = {guess.code: guess for guess in infer_industries(firm_text, firm_declared)}
    other_guesses = {guess.code: guess for guess in infer_industries(other_text, other_declared)}
    common = [
        (firm_guesses[code].confidence * other_guesses[code].confidence, code)
        for code in firm_guesses.keys() & other_guesses.keys()
    ]
    if not common:
        return None, ()
    code = max(common)[1]
    evidence = tuple(dict.fromkeys(firm_guesses[code].evidence + other_guesses[code].evidence))
    return code, evidence


def _shortfall_note(
    found: int, k: int, kind: RecordKind, excluded: Mapping[str, int], names: Mapping[str, str]
) -> str | None:
    """Say so when fewer than k results survive, and what excluded the others."""
    if found >= k:
        return None
    causes = "；".join(f"{names[name]}：{count} 个" for name, count in excluded.items() if count)
    note = f"仅有 {found} 个{KIND_NOUNS[kind]}满足全部硬性条件，未凑满 {k} 个"
    return f"{note}（已排除 — {causes}）" if causes else note
