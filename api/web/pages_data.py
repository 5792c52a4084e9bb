"""数据管理 (admin): import ledgers (every row error shown when rejected), browse, search and edit records."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date
from enum import Enum
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Form, Query, Request, UploadFile, status
from fastapi.responses import RedirectResponse, Response
from pydantic import AfterValidator
from sqlalchemy.orm import Session

from api.deps import SessionDep, StateDep
from api.schemas import RecordIdPath, printable
from api.services import catalogue, imports, leads, listings
from api.web.admin_forms import (
    FormValue,
    PostedForm,
    china_time,
    field_specs,
    posted_values,
    record_values,
    validate,
)
from api.web.error_pages import error_page
from api.web.session import AdminPage, CsrfChecked
from api.web.templating import render
from models.catalogue import KIND_LABELS, TABLES, ImportReport, count, get_record
from models.enums import District, LabelledEnum
from models.records import RECORD_TYPES, RecordKind, ScenarioRecord
from models.row_errors import ImportRejected, RowError

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 20
MAX_PAGE_NUMBER = 100_000
COLUMNS: dict[RecordKind, tuple[str, ...]] = {
    "buildings": ("name", "district", "vacant_area_m2", "rent_yuan_m2_month", "fit_out"),
    "enterprises": ("name", "industries", "required_area_m2", "preferred_districts", "origin"),
    "scenarios": ("title", "owner", "district", "budget_wan_yuan", "deadline", "status"),
}
"""The columns of each kind's listing after the id (the first one links to the edit form)."""
LISTINGS: dict[RecordKind, Callable[..., dict[str, Any]]] = {
    "buildings": listings.buildings,
    "enterprises": listings.enterprises,
    "scenarios": listings.scenarios,
}
SearchText = Annotated[str, Query(max_length=100), AfterValidator(printable)]
LEADS_SHOWN = 20
LEAD_FILTER: dict[RecordKind, str] = {
    "buildings": "building",
    "enterprises": "enterprise",
    "scenarios": "scenario",
}
"""The lead filter that picks a record's leads."""


def cell(value: Any) -> str:
    """A stored value as a listing shows it: labels for codes, lists joined, numbers grouped."""
    if value is None or value == []:
        return "—"
    if isinstance(value, LabelledEnum):
        return value.label
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, list):
        return "、".join(cell(item) for item in value)
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float | int):
        return f"{value:,.2f}".rstrip("0").rstrip(".")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


# ---- listing -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Listing:
    """One page of a kind's records with the search that found them."""

    kind: RecordKind
    rows: list[dict[str, Any]]
    total: int
    page: int
    q: str
    district: District | None

    @property
    def pages(self) -> int:
        """How many pages the search has (at least one)."""
        return max(1, -(-self.total // PAGE_SIZE))

    @property
    def headers(self) -> list[tuple[str, bool]]:
        """The column titles (Chinese labels), and whether each column holds numbers."""
        labels = RECORD_TYPES[self.kind].LABELS
        numeric = {"vacant_area_m2", "rent_yuan_m2_month", "required_area_m2", "budget_wan_yuan"}
        return [(labels[name], name in numeric) for name in COLUMNS[self.kind]]

    @property
    def cells(self) -> list[tuple[str, list[str], str]]:
        """Per row: the id, the shown cells, and when it was last changed."""
        return [
            (row["id"], [cell(row[name]) for name in COLUMNS[self.kind]], china_time(row["updated_at"]))
            for row in self.rows
        ]

    def link(self, page: int) -> str:
        """The address of another page of the same search."""
        query = {"kind": self.kind, "q": self.q, "district": self.district or "", "page": page}
        return "/admin/data?" + urlencode({key: value for key, value in query.items() if value})


def listing(session: Session, kind: RecordKind, q: str, district: str, page: int) -> Listing:
    """One page of records of a kind, searched in names and texts and narrowed to a district."""
    try:
        where = District.parse(district) if district else None
    except ValueError:
        where = None
    found = LISTINGS[kind](
        session, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE, district=where, q=q or None
    )
    return Listing(kind, found["items"], found["total"], page, q, where)


# ---- the page ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Upload:
    """What became of an uploaded ledger: the import report, or every row error, or a file problem."""

    filename: str
    kind: RecordKind
    report: ImportReport | None = None
    errors: list[RowError] = field(default_factory=list)
    problem: str | None = None

    @property
    def noun(self) -> str:
        """The kind in Chinese."""
        return KIND_LABELS[self.kind]


def data_page(
    request: Request,
    session: Session,
    found: Listing,
    upload: Upload | None = None,
    status_code: int = 200,
) -> Response:
    """Render the data page: kind tabs, the upload form (and its outcome), and the listing."""
    tabs = [(kind, label, count(session, kind)) for kind, label in KIND_LABELS.items()]
    context = {"tabs": tabs, "listing": found, "upload": upload, "noun": KIND_LABELS[found.kind]}
    return render(request, "data.html", context, status_code=status_code)


@router.get("/admin/data")
def show_data(
    request: Request,
    session: SessionDep,
    user: AdminPage,
    kind: RecordKind = "buildings",
    q: SearchText = "",
    district: Annotated[str, Query(max_length=20)] = "",
    page: Annotated[int, Query(ge=1, le=MAX_PAGE_NUMBER)] = 1,
) -> Response:
    """The data page for one kind of record."""
    return data_page(request, session, listing(session, kind, q.strip(), district, page))


@router.post("/admin/data/import", dependencies=[CsrfChecked])
def upload_ledger(
    request: Request,
    session: SessionDep,
    state: StateDep,
    user: AdminPage,
    kind: Annotated[RecordKind, Form()],
    file: UploadFile,
) -> Response:
    """Import an uploaded ledger; a rejected file shows every row error, and nothing is written."""
    filename = file.filename or "upload"
    data = file.file.read(imports.MAX_UPLOAD_BYTES + 1)
    upload = Upload(filename, kind)
    code = status.HTTP_200_OK
    if len(data) > imports.MAX_UPLOAD_BYTES:
        upload = replace(upload, problem="文件超过 50 MiB，请拆分后分批导入。")
        code = status.HTTP_413_CONTENT_TOO_LARGE
    else:
        try:
            report = imports.import_ledger(
                session=session, actor=user, live=state, kind=kind, data=data, filename=filename
            )
            upload = replace(upload, report=report)
        except ImportRejected as exc:
            upload = replace(upload, errors=exc.errors)
            code = status.HTTP_422_UNPROCESSABLE_CONTENT
    return data_page(request, session, listing(session, kind, "", "", 1), upload, code)


# ---- editing -----------------------------------------------------------------------------------


def edit_page(
    request: Request,
    session: Session,
    kind: RecordKind,
    record_id: str,
    values: dict[str, FormValue],
    *,
    errors: dict[str, list[str]] | None = None,
    message: str | None = None,
    problem: str | None = None,
    based_on: str | None = None,
    status_code: int = 200,
) -> Response:
    """Render a record's edit form with the given values, the reasons per field, and what it is based on.

    `based_on` is the version the values were edited from; by default the record as stored now.
    """
    row = session.get(TABLES[kind], record_id)
    stored = listings.read(kind, row) if row is not None else {}
    context = {
        "kind": kind,
        "noun": KIND_LABELS[kind],
        "record_id": record_id,
        "title": stored.get("name") or stored.get("title") or record_id,
        "created": china_time(stored["created_at"]) if stored else "",
        "updated": china_time(stored["updated_at"]) if stored else "",
        "specs": field_specs(kind),
        "values": values,
        "errors": errors or {},
        "message": message,
        "problem": problem,
        "based_on": based_on or catalogue.version_of(session, kind, record_id) or "",
        **record_leads(session, kind, record_id),
    }
    return render(request, "data_edit.html", context, status_code=status_code)


def record_leads(session: Session, kind: RecordKind, record_id: str) -> dict[str, Any]:
    """The record's most recently moved leads, how many it has, and its leads on the 跟进 board."""
    filters = leads.LeadFilters(
        building=record_id if kind == "buildings" else None,
        enterprise=record_id if kind == "enterprises" else None,
        scenario=record_id if kind == "scenarios" else None,
    )
    found, total = leads.find(session, filters, limit=LEADS_SHOWN)
    link = "/leads?" + urlencode({LEAD_FILTER[kind]: record_id})
    return {"leads": found, "lead_total": total, "leads_link": link, "china_time": china_time}


def _not_found(request: Request, kind: RecordKind, record_id: str) -> Response:
    """The 404 page naming the record."""
    return error_page(
        request, status.HTTP_404_NOT_FOUND, f"{KIND_LABELS[kind]}「{record_id}」不存在或已被删除。"
    )


def _saved_message(saved: str | None) -> str | None:
    """The message after a save redirected to the form."""
    return {
        "1": "已保存，新的推荐结果立即生效。",
        "draft": "已保存。该场景缺少业主单位、建设边界或预算，已存为草稿（draft），补全后才会被推荐。",
        "same": "没有任何修改，未保存。",
    }.get(saved or "")


@router.get("/admin/data/{kind}/{record_id}")
def edit_record(
    request: Request,
    session: SessionDep,
    user: AdminPage,
    kind: RecordKind,
    record_id: RecordIdPath,
    saved: Annotated[str | None, Query(max_length=10)] = None,
) -> Response:
    """A record's edit form with every field."""
    record = get_record(session, kind, record_id)
    if record is None:
        return _not_found(request, kind, record_id)
    values = record_values(kind, record)
    return edit_page(request, session, kind, record_id, values, message=_saved_message(saved))


@router.post("/admin/data/{kind}/{record_id}", dependencies=[CsrfChecked])
def save_record(
    request: Request,
    session: SessionDep,
    state: StateDep,
    user: AdminPage,
    kind: RecordKind,
    record_id: RecordIdPath,
    form: PostedForm,
) -> Response:
    """Validate the whole record again and save it; a bad field, or a record someone saved meanwhile,
    keeps everything typed and says why."""
    values = posted_values(kind, form)
    based_on = form.get("based_on")
    based_on = based_on if isinstance(based_on, str) and based_on else None
    record, errors = validate(kind, record_id, values)
    if record is None:
        code = status.HTTP_422_UNPROCESSABLE_CONTENT
        return edit_page(
            request, session, kind, record_id, values, errors=errors, based_on=based_on, status_code=code
        )
    try:
        changed = catalogue.replace(
            session=session, actor=user, live=state, kind=kind, record=record, based_on=based_on
        )
    except catalogue.EditedMeanwhile as exc:
        problem = (
            f"{exc}。您填写的内容都已保留，页面顶部的“最近更新”已换成最新时间；"
            "请核对后再次保存，或放弃修改查看最新内容。"
        )
        return edit_page(
            request, session, kind, record_id, values, problem=problem, status_code=status.HTTP_409_CONFLICT
        )
    outcome = "same"
    if changed:
        outcome = "draft" if isinstance(record, ScenarioRecord) and record.drafted else "1"
    target = f"/admin/data/{kind}/{quote(record_id)}?saved={outcome}"
    return RedirectResponse(target, status.HTTP_303_SEE_OTHER)
