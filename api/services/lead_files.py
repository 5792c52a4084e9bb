"""Lead files (SPEC §8): a district's follow-up ledger imported all or nothing, and every lead exported.

A row is identified by its enterprise, its building or scenario and its creation date. A row equal to
the stored lead it identifies (the same stage and facts) is left as it is, so re-importing a file or an
export changes nothing; a row that contradicts that lead is refused (an import never rewrites a lead's
history: move it on in the platform). Any other row is a new lead whose history is reconstructed as its
creation and, past the first stage, one entry to its current stage.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from api.services.imports import audit_name
from api.services.leads import main_industry
from api.services.write import Actor, Live, capacity_change, commit
from models.audit import record as audit
from models.capacity import load_capacity
from models.catalogue import CHUNK, TABLES, to_record
from models.clock import CHINA, china_date, china_today
from models.database import begin_write
from models.enums import ScenarioStatus
from models.lead import FINAL, PLACING, Lead, LeadEvent, LeadKind, Stage, stage_label, stages_of
from models.lead_interchange import FileLead, LeadRow, read_leads, row_error, row_facts, state_of
from models.records import BuildingRecord, CatalogueRecord, EnterpriseRecord, RecordKind, ScenarioRecord
from models.row_errors import ImportRejected, RowError

IMPORTED = "由文件导入"
"""The note of a reconstructed history's entries (the latest one keeps the row's note when it has one)."""
OFFER_KINDS: dict[LeadKind, RecordKind] = {LeadKind.building: "buildings", LeadKind.scenario: "scenarios"}


@dataclass(frozen=True)
class LeadImportReport:
    """What a lead import did: rows read, leads created, rows equal to a stored lead."""

    rows: int
    created: int
    unchanged: int

    def summary(self) -> str:
        """One line in Chinese for people."""
        return f"跟进：共 {self.rows} 行，新增 {self.created}，未变化 {self.unchanged}"


@dataclass(frozen=True)
class _Store:
    """What the rows are checked against: the catalogue records they name and the leads of their firms."""

    firms: dict[str, EnterpriseRecord]
    offers: dict[tuple[LeadKind, str], BuildingRecord | ScenarioRecord]
    leads: dict[tuple[LeadKind, str, str, date], list[Lead]]
    open_pairs: dict[tuple[LeadKind, str, str], Lead]


def _records(session: Session, kind: RecordKind, ids: set[str]) -> dict[str, CatalogueRecord]:
    """The stored records of a kind among `ids`, by id."""
    table = TABLES[kind]
    column = table.__table__.c.id
    wanted = sorted(ids)
    found: dict[str, CatalogueRecord] = {}
    for start in range(0, len(wanted), CHUNK):
        for row in session.scalars(select(table).where(column.in_(wanted[start : start + CHUNK]))):
            record = to_record(kind, row)
            found[record.id] = record
    return found


def _pair(lead: Lead) -> tuple[LeadKind, str, str]:
    """A stored lead's enterprise and what it is paired with."""
    return lead.kind, lead.enterprise_id, lead.offer_id


def _store(session: Session, rows: Sequence[LeadRow]) -> _Store:
    """Load the records the rows name and the stored leads of their firms."""
    firm_ids = {row.enterprise_id for row in rows}
    firms = _records(session, "enterprises", firm_ids)
    offers: dict[tuple[LeadKind, str], BuildingRecord | ScenarioRecord] = {}
    for kind, record_kind in OFFER_KINDS.items():
        ids = {row.offer_id for row in rows if row.kind == kind}
        for key, record in _records(session, record_kind, ids).items():
            if isinstance(record, BuildingRecord | ScenarioRecord):
                offers[kind, key] = record
    leads: dict[tuple[LeadKind, str, str, date], list[Lead]] = defaultdict(list)
    open_pairs: dict[tuple[LeadKind, str, str], Lead] = {}
    wanted = sorted(firm_ids)
    for start in range(0, len(wanted), CHUNK):
        query = select(Lead).where(Lead.enterprise_id.in_(wanted[start : start + CHUNK]))
        for lead in session.scalars(query):
            leads[(*_pair(lead), china_date(lead.created_at))].append(lead)
            if lead.stage not in FINAL:
                open_pairs[_pair(lead)] = lead
    return _Store(
        {key: firm for key, firm in firms.items() if isinstance(firm, EnterpriseRecord)},
        offers,
        leads,
        open_pairs,
    )


def _problems(line: FileLead, store: _Store) -> list[RowError]:
    """What a row contradicts in the store: unknown ids, a draft or finished scenario, another open lead."""
    row, number = line.row, line.number
    offer_field = "building_id" if row.kind == LeadKind.building else "scenario_id"
    errors = []
    if row.enterprise_id not in store.firms:
        errors.append(row_error(number, "enterprise_id", f"企业「{row.enterprise_id}」不存在"))
    offer = store.offers.get((row.kind, row.offer_id))
    if offer is None:
        errors.append(row_error(number, offer_field, f"{row.kind.label}「{row.offer_id}」不存在"))
    elif isinstance(offer, ScenarioRecord) and offer.status == ScenarioStatus.draft:
        errors.append(row_error(number, offer_field, f"场景「{offer.title}」是草稿，尚未发布，不能有跟进"))
    elif isinstance(offer, ScenarioRecord) and offer.status != ScenarioStatus.open and row.stage not in FINAL:
        finished = "、".join(stage_label(row.kind, stage) for stage in stages_of(row.kind) if stage in FINAL)
        message = (
            f"场景「{offer.title}」当前为「{offer.status.label}」：只能导入已结束的跟进"
            f"（{finished}），不能导入「{stage_label(row.kind, row.stage)}」"
        )
        errors.append(row_error(number, "stage", message))
    stored = store.leads.get(row.key, [])
    if stored and not any(state_of(lead) == state_of(row) for lead in stored):
        lead = stored[0]
        message = (
            f"系统中已有这条跟进（编号 {lead.id}，同一企业、{row.kind.label}和创建日期），"
            f"当前为「{lead.stage_name}」，与文件不一致；导入不改写已有跟进，请在系统中推进它"
        )
        errors.append(row_error(number, "stage", message))
    elif not stored and row.stage not in FINAL and row.pair in store.open_pairs:
        lead = store.open_pairs[row.pair]
        message = (
            f"企业「{lead.enterprise_name}」与{row.kind.label}「{lead.offer_name}」"
            f"已有进行中的跟进（编号 {lead.id}），同一对只能有一条进行中的跟进"
        )
        errors.append(row_error(number, "enterprise_id", message))
    return errors


def _moment(day: date) -> datetime:
    """The start of a day in Chongqing: when an imported lead was created or reached its stage."""
    return datetime.combine(day, time(), CHINA)


def _lead(row: LeadRow, store: _Store, actor: Actor, industry: str | None) -> Lead:
    """A new lead as the row describes it, with its history reconstructed."""
    firm, offer = store.firms[row.enterprise_id], store.offers[(row.kind, row.offer_id)]
    created_at, stage_at = _moment(row.created_on), _moment(row.stage_on)
    lead = Lead(
        kind=row.kind,
        enterprise_id=firm.id,
        building_id=row.building_id,
        scenario_id=row.scenario_id,
        enterprise_name=firm.name,
        offer_name=offer.title if isinstance(offer, ScenarioRecord) else offer.name,
        district=offer.district.value if offer.district else None,
        industry=industry,
        origin=firm.origin.value if firm.origin else None,
        stage=row.stage,
        version=1 if row.stage == Stage.recommended else 2,
        owner=row.owner or actor.name,
        created_at=created_at,
        stage_at=stage_at,
        signed_on=row.signed_on or (row.stage_on if row.stage == Stage.signed else None),
        **{name: getattr(row, name) for name in row_facts(row.stage)},
    )
    note, by = row.note or IMPORTED, actor.name
    if row.stage == Stage.recommended:
        lead.history.append(LeadEvent(at=created_at, actor=by, stage=row.stage, note=note, facts={}))
        return lead
    facts = row.model_dump(mode="json", include=set(row_facts(row.stage)))
    lead.history += [
        LeadEvent(at=created_at, actor=by, stage=Stage.recommended, note=IMPORTED, facts={}),
        LeadEvent(
            at=stage_at, actor=by, from_stage=Stage.recommended, stage=row.stage, note=note, facts=facts
        ),
    ]
    return lead


def _over_capacity(
    session: Session, taken_before: dict[str, float], new: Sequence[tuple[FileLead, Lead]], store: _Store
) -> list[RowError]:
    """Rows signing more area than their building has left: each building's total named beside its vacancy."""
    taken_after = load_capacity(session).taken
    errors = []
    for line, lead in new:
        building = store.offers.get((LeadKind.building, lead.building_id or ""))
        if not isinstance(building, BuildingRecord) or lead.stage not in PLACING:
            continue
        before, after = taken_before.get(building.id, 0.0), taken_after.get(building.id, 0.0)
        if after > before and after > building.vacant_area_m2:
            left, excess = max(building.vacant_area_m2 - before, 0), after - building.vacant_area_m2
            message = (
                f"楼宇「{building.name}」可用面积 {left:,.0f}㎡，"
                f"本文件在该楼宇签约合计 {after - before:,.0f}㎡，超出 {excess:,.0f}㎡"
            )
            errors.append(row_error(line.number, "signed_area_m2", message))
    return errors


def import_leads(
    *,
    session: Session,
    actor: Actor,
    live: Live | None,
    leads: Sequence[FileLead],
    filename: str,
    bad_rows: Sequence[RowError] = (),
) -> LeadImportReport:
    """Check the rows against the store, write the new leads, audit and commit.

    ImportRejected writes nothing and names every bad row: `bad_rows` (found reading the file) and the
    rows the store refuses, so that one attempt shows every problem.
    """
    if bad_rows and not leads:  # nothing to check against the store: no need to wait for the write lock
        raise ImportRejected(list(bad_rows))
    begin_write(session)
    store = _store(session, [line.row for line in leads])
    taken_before = dict(load_capacity(session).taken)
    errors = list(bad_rows)
    new: list[tuple[FileLead, Lead]] = []
    industries: dict[str, str | None] = {}
    for line in leads:
        problems = _problems(line, store)
        errors.extend(problems)
        row = line.row
        if problems or row.key in store.leads:
            continue
        if row.enterprise_id not in industries:
            industries[row.enterprise_id] = main_industry(store.firms[row.enterprise_id])
        new.append((line, _lead(row, store, actor, industries[row.enterprise_id])))
    session.add_all(lead for _, lead in new)
    session.flush()
    errors.extend(_over_capacity(session, taken_before, new, store))
    if errors:
        session.rollback()
        raise ImportRejected(errors)
    report = LeadImportReport(len(leads), len(new), len(leads) - len(new))
    audit(
        session,
        actor=actor.name,
        action="lead.import",
        target_kind="lead",
        target_id=audit_name(filename),
        after={"rows": report.rows, "created": report.created, "unchanged": report.unchanged},
    )
    placing = any(lead.kind == LeadKind.building and lead.stage in PLACING for _, lead in new)
    commit(session, live, *((capacity_change(session),) if placing else ()))
    return report


def import_lead_file(
    *, session: Session, actor: Actor, live: Live | None, data: bytes, filename: str
) -> LeadImportReport:
    """Read and check a whole file before the write lock is taken, then import it (all or nothing)."""
    leads, bad_rows = read_leads(data, filename, china_today())
    return import_leads(
        session=session, actor=actor, live=live, leads=leads, filename=filename, bad_rows=bad_rows
    )


def export_leads(session: Session) -> Iterator[LeadRow]:
    """Every lead as a file row, by number: re-importing the file changes nothing."""
    query = select(Lead).options(selectinload(Lead.history)).order_by(Lead.id)
    for lead in session.scalars(query.execution_options(yield_per=CHUNK)):
        yield LeadRow.model_validate(
            {
                "id": str(lead.id),
                "enterprise_id": lead.enterprise_id,
                "building_id": lead.building_id,
                "scenario_id": lead.scenario_id,
                "stage": lead.stage,
                **{name: getattr(lead, name) for name in row_facts(lead.stage)},
                "signed_on": lead.signed_on if lead.stage in PLACING else None,
                "owner": lead.owner,
                "created_on": china_date(lead.created_at),
                "stage_on": china_date(lead.stage_at),
                "note": lead.history[-1].note,
            }
        )
