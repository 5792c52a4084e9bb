"""Leads as file rows (SPEC §8): one row per lead, its columns and headers, and the rules a file obeys.

A row is a lead as it stands: the pair, its current stage with that stage's facts (a moved-in row also
carries its signing), who owns it and when it was created and reached its stage. A lead is identified
by its enterprise, its building or scenario and its creation date: `read_leads` refuses two rows of
one lead, and the import service (`api.services.lead_files`) a row that contradicts the stored lead.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, BeforeValidator, Field, ValidationError

from models.interchange import read_rows
from models.lead import (
    FACT_LABELS,
    FACTS,
    FINAL,
    ONE_OFFER,
    PLACING,
    SCENARIO_LABELS,
    Lead,
    LeadKind,
    OfferChoice,
    Stage,
    stage_label,
    stages_of,
)
from models.lead_facts import Note, StageFacts, StageValue, moved_in_refusal
from models.records import Day, FileRow, RecordId, clean_text
from models.row_errors import RowError, row_errors

_SCENARIO_NAMES = {label: stage for stage, label in SCENARIO_LABELS.items()}


def _scenario_name(value: Any) -> Any:
    """Accept a stage by the name scenario leads give it (推荐) as well as by its code or label."""
    return _SCENARIO_NAMES.get(value.strip(), value) if isinstance(value, str) else value


FileStage = Annotated[StageValue, BeforeValidator(_scenario_name)]
Owner = Annotated[str, Field(min_length=1, max_length=64), AfterValidator(clean_text)]
ExternalId = Annotated[str, Field(min_length=1, max_length=64), AfterValidator(clean_text)]
SIGNED_ON_LABEL = "签约日期"


class _LeadPair(FileRow):
    """The first columns: the row's number, the pair and the stage."""

    id: ExternalId | None = None
    """The platform's lead number on export; on import only a label (refused when repeated in a file)."""
    enterprise_id: RecordId
    building_id: RecordId | None = None
    scenario_id: RecordId | None = None
    stage: FileStage


class _LeadDates(FileRow):
    """The last columns, after the stage's facts: the signing date, owner, dates and note."""

    signed_on: Day | None = None
    """When a signed or moved-in lead signed (a signed row without it signed on its stage date)."""
    owner: Owner | None = None
    """Who created the lead (default: whoever imports the file)."""
    created_on: Day
    stage_on: Day
    """When the lead reached its current stage."""
    note: Note = ""
    """The note of the lead's latest entry."""


class LeadRow(_LeadDates, StageFacts, _LeadPair, OfferChoice):
    """One lead in a file; columns in order: the pair and stage, the stage's facts, then dates and note."""

    KIND = "leads"
    LABELS: ClassVar[dict[str, str]] = {
        "id": "编号",
        "enterprise_id": "企业编号",
        "building_id": "楼宇编号",
        "scenario_id": "场景编号",
        "stage": "阶段",
        **FACT_LABELS,
        "signed_on": SIGNED_ON_LABEL,
        "owner": "负责人",
        "created_on": "创建日期",
        "stage_on": "阶段日期",
        "note": "备注",
    }

    @property
    def pair(self) -> tuple[LeadKind, str, str]:
        """The enterprise and what it is paired with: one pair has at most one open lead."""
        return self.kind, self.enterprise_id, self.offer_id

    @property
    def key(self) -> tuple[LeadKind, str, str, date]:
        """What identifies the lead: its pair and its creation date."""
        return (*self.pair, self.created_on)


def row_facts(stage: Stage) -> tuple[str, ...]:
    """The facts a row at `stage` carries: the stage's own (`FACTS`), a moved-in row's signing first."""
    stages = (Stage.signed, stage) if stage == Stage.moved_in else (stage,)
    return tuple(name for each in stages for name in FACTS.get(each, ()))


def state_of(lead: LeadRow | Lead) -> tuple[Any, ...]:
    """A row's or a stored lead's stage and the facts a row at that stage carries (equal: the same lead)."""
    return (lead.stage, *(getattr(lead, name) for name in row_facts(lead.stage)))


@dataclass(frozen=True)
class FileLead:
    """A valid row and its number in the file (as error messages name it)."""

    number: int
    row: LeadRow


def row_error(number: int, field: str, message: str) -> RowError:
    """A row error naming the field by its English key and its Chinese header."""
    return RowError(number, field, message, LeadRow.LABELS[field])


def _offer_problems(number: int, row: LeadRow) -> list[RowError]:
    """A building or a scenario (not both), and a stage of that kind of lead."""
    if not row.names_one_offer:
        return [row_error(number, "building_id", ONE_OFFER)]
    stages = stages_of(row.kind)
    if row.stage not in stages:
        choices = "、".join(stage_label(row.kind, stage) for stage in stages)
        message = f"{row.kind.label}跟进没有「{stage_label(row.kind, row.stage)}」阶段，可选：{choices}"
        return [row_error(number, "stage", message)]
    return []


def _fact_problems(number: int, row: LeadRow) -> list[RowError]:
    """Exactly the facts the row's stage carries, and a signing date only for a signed or moved-in row."""
    name = stage_label(row.kind, row.stage)
    needed = row_facts(row.stage)
    own = FACTS.get(row.stage, ())
    errors = [
        row_error(number, fact, f"「{name}」须填写{FACT_LABELS[fact]}")
        if fact in own
        else row_error(number, fact, f"「{name}」须同时填写签约时的{FACT_LABELS[fact]}（入驻之前须先签约）")
        for fact in needed
        if getattr(row, fact) is None
    ]
    errors += [
        row_error(number, fact, f"{FACT_LABELS[fact]}不属于「{name}」阶段，请不要填写")
        for fact in row.given()
        if fact not in needed
    ]
    if row.signed_on is not None and row.stage not in PLACING:
        errors.append(row_error(number, "signed_on", f"{SIGNED_ON_LABEL}不属于「{name}」阶段，请不要填写"))
    return errors


def _outside(label: str, day: date, row: LeadRow) -> str:
    """Why a fact's date cannot be right: it lies outside the lead's life so far."""
    return (
        f"{label} {day.isoformat()} 应在创建日期 {row.created_on.isoformat()}"
        f" 与阶段日期 {row.stage_on.isoformat()} 之间"
    )


def _date_problems(number: int, row: LeadRow, today: date) -> list[RowError]:
    """No date in the future; creation ≤ signing ≤ move-in ≤ the stage date."""
    errors = [
        row_error(number, field, f"{day.isoformat()} 晚于今天（{today.isoformat()}）")
        for field, day in (("created_on", row.created_on), ("stage_on", row.stage_on))
        if day > today
    ]
    if row.stage_on < row.created_on:
        message = f"阶段日期 {row.stage_on.isoformat()} 早于创建日期 {row.created_on.isoformat()}"
        errors.append(row_error(number, "stage_on", message))
    if row.signed_on is not None and not row.created_on <= row.signed_on <= row.stage_on:
        errors.append(row_error(number, "signed_on", _outside(SIGNED_ON_LABEL, row.signed_on, row)))
    if row.moved_in_on is not None:
        why = moved_in_refusal(row.moved_in_on, row.signed_on, today)
        if why is None and not row.created_on <= row.moved_in_on <= row.stage_on:
            why = _outside(FACT_LABELS["moved_in_on"], row.moved_in_on, row)
        if why is not None:
            errors.append(row_error(number, "moved_in_on", why))
    return errors


def row_problems(number: int, row: LeadRow, today: date) -> list[RowError]:
    """Every rule one row breaks on its own (the catalogue and other rows aside)."""
    errors = _offer_problems(number, row)
    if errors:
        return errors
    return [*_fact_problems(number, row), *_date_problems(number, row, today)]


def repeated(leads: Iterable[FileLead]) -> list[RowError]:
    """Rows that repeat another: the same 编号, the same lead twice, or two open leads of one pair."""
    errors: list[RowError] = []
    numbers: dict[str, int] = {}
    states: dict[tuple[Any, ...], int] = {}
    open_pairs: dict[tuple[LeadKind, str, str], int] = {}
    for lead in leads:
        row = lead.row
        if row.id is not None:
            first = numbers.setdefault(row.id, lead.number)
            if first != lead.number:
                errors.append(row_error(lead.number, "id", f"编号「{row.id}」与第 {first} 行重复"))
        first = states.setdefault((*row.key, *state_of(row)), lead.number)
        if first != lead.number:
            message = f"与第 {first} 行是同一条跟进（同一企业、{row.kind.label}、创建日期和阶段）"
            errors.append(row_error(lead.number, "enterprise_id", message))
            continue
        if row.stage not in FINAL:
            first = open_pairs.setdefault(row.pair, lead.number)
            if first != lead.number:
                message = f"与第 {first} 行是同一企业和{row.kind.label}：同一对只能有一条进行中的跟进"
                errors.append(row_error(lead.number, "enterprise_id", message))
    return errors


def read_leads(data: bytes, filename: str, today: date) -> tuple[list[FileLead], list[RowError]]:
    """Read a whole lead file: the rows that are valid on their own, and every bad row's field and reason."""
    rows, errors = read_rows(data, filename, LeadRow)
    leads: list[FileLead] = []
    for raw in rows:
        try:
            row = LeadRow.model_validate(raw.values)
        except ValidationError as exc:
            errors.extend(row_errors(raw.number, exc, LeadRow.LABELS))
            continue
        problems = row_problems(raw.number, row, today)
        errors.extend(problems)
        if not problems:
            leads.append(FileLead(raw.number, row))
    repeats = repeated(leads)
    again = {error.row for error in repeats}
    return [lead for lead in leads if lead.number not in again], [*errors, *repeats]
