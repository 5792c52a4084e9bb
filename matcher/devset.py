"""The hand-labelled development set for evaluating the matcher, and its graded relevance rule."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal, cast, get_args

from matcher.registry import OfferKind
from models.catalogue import parse_file
from models.enums import FitOut, ScenarioStatus
from models.records import BuildingRecord, CatalogueRecord, EnterpriseRecord, ScenarioRecord

DEVSET_DIR = Path(__file__).parent / "devset_data"
"""The set's files: package data of the matcher, since the running API evaluates weight previews on it."""
REFERENCE_DATE = date(2026, 12, 1)
"""The day the set is judged on: scenarios with an earlier deadline have expired."""

ItemKind = OfferKind
"""The kinds a firm is offered, which the set grades."""
HiddenKind = Literal["enterprise", "building", "scenario"]
TrapKind = Literal["too_small", "too_dear", "not_move_in_ready", "expired", "closed", "awarded", "draft"]
TRAP_KINDS: tuple[str, ...] = get_args(TrapKind)
_HIDDEN_KIND: dict[ItemKind, HiddenKind] = {"buildings": "building", "scenarios": "scenario"}
_STATUS_TRAPS: dict[ScenarioStatus, TrapKind] = {
    ScenarioStatus.draft: "draft",
    ScenarioStatus.closed: "closed",
    ScenarioStatus.awarded: "awarded",
}


@dataclass(frozen=True)
class Trap:
    """An item that fits a firm's specialty or industry but breaks one of its hard constraints."""

    firm: str
    item: str
    kind: Literal["building", "scenario"]
    trap: TrapKind


@dataclass(frozen=True)
class DevSet:
    """The parsed import files, the hidden labels keyed by (kind, id), and the deliberate traps."""

    enterprises: list[EnterpriseRecord]
    buildings: list[BuildingRecord]
    scenarios: list[ScenarioRecord]
    hidden: dict[tuple[str, str], dict[str, Any]]
    traps: list[Trap]
    _by_id: dict[tuple[str, str], CatalogueRecord] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        """Index every record by its kind and id."""
        index: dict[tuple[str, str], CatalogueRecord] = {}
        for kind, records in (
            ("enterprise", self.enterprises),
            ("building", self.buildings),
            ("scenario", self.scenarios),
        ):
            for record in cast(list[CatalogueRecord], records):
                index[(kind, record.id)] = record
        object.__setattr__(self, "_by_id", index)

    def enterprise(self, firm_id: str) -> EnterpriseRecord:
        """The enterprise record with this id (KeyError when absent)."""
        return cast(EnterpriseRecord, self._by_id[("enterprise", firm_id)])

    def item(self, kind: ItemKind, item_id: str) -> BuildingRecord | ScenarioRecord:
        """The building or scenario record with this id (KeyError when absent)."""
        return cast(BuildingRecord | ScenarioRecord, self._by_id[(_HIDDEN_KIND[kind], item_id)])

    def items(self, kind: ItemKind) -> list[BuildingRecord] | list[ScenarioRecord]:
        """All buildings or all scenarios."""
        return self.buildings if kind == "buildings" else self.scenarios


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    """The JSON objects of a JSON Lines file, skipping blank lines."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [cast(dict[str, Any], json.loads(line)) for line in lines if line.strip()]


def _parse_trap(row: dict[str, Any]) -> Trap:
    """One row of traps.jsonl, checked against the known item and trap kinds."""
    if row.get("kind") not in ("building", "scenario") or row.get("trap") not in TRAP_KINDS:
        raise ValueError(f"bad trap row: {row!r}")
    return Trap(str(row["firm"]), str(row["item"]), row["kind"], row["trap"])


def load_devset(directory: Path = DEVSET_DIR) -> DevSet:
    """Load the set, parsing each import file through the catalogue's import rules."""

    def records(kind: Literal["enterprises", "buildings", "scenarios"]) -> list[Any]:
        """The validated records of one import file."""
        path = directory / f"{kind}.jsonl"
        return parse_file(kind, path.read_bytes(), path.name)

    hidden: dict[tuple[str, str], dict[str, Any]] = {}
    for row in _read_jsonl(directory / "hidden.jsonl"):
        key = (str(row["kind"]), str(row["id"]))
        if key in hidden:
            raise ValueError(f"hidden entry repeated: {key}")
        hidden[key] = {name: value for name, value in row.items() if name not in ("kind", "id")}
    return DevSet(
        enterprises=cast(list[EnterpriseRecord], records("enterprises")),
        buildings=cast(list[BuildingRecord], records("buildings")),
        scenarios=cast(list[ScenarioRecord], records("scenarios")),
        hidden=hidden,
        traps=[_parse_trap(row) for row in _read_jsonl(directory / "traps.jsonl")],
    )


def broken_constraints(
    firm: EnterpriseRecord, item: BuildingRecord | ScenarioRecord, today: date
) -> list[TrapKind]:
    """Which hard constraints of SPEC section 4 the item breaks for the firm, named as trap kinds."""
    broken: list[TrapKind] = []
    if isinstance(item, BuildingRecord):
        if firm.required_area_m2 is not None and item.vacant_area_m2 < firm.required_area_m2:
            broken.append("too_small")
        if firm.max_rent_yuan_m2_month is not None and item.rent_yuan_m2_month > firm.max_rent_yuan_m2_month:
            broken.append("too_dear")
        if firm.needs_move_in_ready and item.fit_out != FitOut.move_in_ready:
            broken.append("not_move_in_ready")
        return broken
    if item.status != ScenarioStatus.open:
        broken.append(_STATUS_TRAPS[item.status])
    if item.deadline is not None and item.deadline < today:
        broken.append("expired")
    return broken


def violates_hard_constraints(
    firm: EnterpriseRecord, item: BuildingRecord | ScenarioRecord, today: date
) -> bool:
    """Whether the item may never be shown to the firm (SPEC section 4 hard constraints)."""
    return bool(broken_constraints(firm, item, today))


def semantic_grade(devset: DevSet, firm_id: str, kind: ItemKind, item_id: str) -> int:
    """The hidden-label grade before hard constraints: 3 specialty, 2 industry, 1 generalist building, 0."""
    firm = devset.hidden[("enterprise", firm_id)]
    item = devset.hidden[(_HIDDEN_KIND[kind], item_id)]
    item_industries = set(item["focus"] if kind == "buildings" else item["industries"])
    if set(firm["specialties"]) & set(item["specialties"]):
        return 3
    if firm["industry"] in item_industries:
        return 2
    if kind == "buildings" and not item_industries:
        return 1
    return 0


def relevance(devset: DevSet, firm_id: str, kind: ItemKind, item_id: str) -> int:
    """The graded relevance of an item for a firm, zero when it breaks a hard constraint."""
    firm = devset.enterprise(firm_id)
    if violates_hard_constraints(firm, devset.item(kind, item_id), REFERENCE_DATE):
        return 0
    return semantic_grade(devset, firm_id, kind, item_id)


def relevance_judgements(devset: DevSet, firm_id: str, kind: ItemKind) -> dict[str, int]:
    """Every item with a non-zero relevance for the firm, by id: the ideal ranking for nDCG."""
    grades = {item.id: relevance(devset, firm_id, kind, item.id) for item in devset.items(kind)}
    return {item_id: grade for item_id, grade in grades.items() if grade > 0}
