"""Shared by the admin pages: the posted form, Chongqing time, and records as web forms."""

from __future__ import annotations

import types
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from enum import Enum
from functools import cache
from typing import Annotated, Any, Union, get_args, get_origin

from fastapi import Depends, Request
from pydantic import ValidationError
from starlette.datastructures import FormData

from models.enums import LabelledEnum
from models.records import LIST_SEPARATOR, RECORD_TYPES, CatalogueRecord, RecordKind
from models.row_errors import row_errors

LONG_TEXTS = frozenset({"description", "incentives", "scope"})
FormValue = str | list[str]
CHINA_TIME = timezone(timedelta(hours=8))


def china_time(moment: datetime) -> str:
    """A stored UTC time as Chongqing's wall-clock time."""
    return moment.astimezone(CHINA_TIME).strftime("%Y-%m-%d %H:%M")


async def posted_form(request: Request) -> FormData:
    """The submitted form (already parsed once for the CSRF check, so this is cheap)."""
    return await request.form()


PostedForm = Annotated[FormData, Depends(posted_form)]


@dataclass(frozen=True)
class FieldSpec:
    """How one record field is edited: its label, widget and (for choices) the options."""

    name: str
    label: str
    widget: str
    """One of text, textarea, number, integer, date, select, checks, flag, list."""
    required: bool
    blank: bool
    """Whether a select offers an empty choice (the field may be absent)."""
    choices: tuple[tuple[str, str], ...] = ()


def _leaf(annotation: Any) -> tuple[Any, bool]:
    """The plain type inside Optional / Annotated / list, and whether it is a list."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _leaf(get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        inner = [arg for arg in get_args(annotation) if arg is not type(None)]
        return _leaf(inner[0])
    if origin is list:
        return _leaf(get_args(annotation)[0])[0], True
    return annotation, False


def _widget(name: str, leaf: Any, many: bool) -> str:
    """The widget for a field's type."""
    if isinstance(leaf, type) and issubclass(leaf, LabelledEnum):
        return "checks" if many else "select"
    if many:
        return "list"
    widgets = {bool: "flag", int: "integer", float: "number", date: "date"}
    return widgets.get(leaf, "textarea" if name in LONG_TEXTS else "text")


@cache
def field_specs(kind: RecordKind) -> tuple[FieldSpec, ...]:
    """The editable fields of a kind (every field but the id), in ledger order."""
    record_type = RECORD_TYPES[kind]
    specs = []
    for name, info in record_type.model_fields.items():
        if name == "id":
            continue
        leaf, many = _leaf(info.annotation)
        widget = _widget(name, leaf, many)
        choices = (
            tuple((member.value, member.label) for member in leaf) if widget in ("select", "checks") else ()
        )
        specs.append(
            FieldSpec(
                name=name,
                label=record_type.LABELS[name],
                widget=widget,
                required=info.is_required(),
                blank=info.default is None,
                choices=choices,
            )
        )
    return tuple(specs)


def _shown(value: Any) -> str:
    """One stored value as a form control holds it."""
    if value is None:
        return ""
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, bool):
        return "true" if value else ""
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def record_values(kind: RecordKind, record: CatalogueRecord) -> dict[str, FormValue]:
    """A stored record as the edit form's values."""
    values: dict[str, FormValue] = {}
    for spec in field_specs(kind):
        value = getattr(record, spec.name)
        if spec.widget == "checks":
            values[spec.name] = [_shown(item) for item in value]
        elif spec.widget == "list":
            values[spec.name] = LIST_SEPARATOR.join(_shown(item) for item in value)
        else:
            values[spec.name] = _shown(value)
    return values


def posted_values(kind: RecordKind, form: FormData) -> dict[str, FormValue]:
    """What the admin typed, field by field (kept as typed, for showing the form again)."""
    values: dict[str, FormValue] = {}
    for spec in field_specs(kind):
        if spec.widget == "checks":
            values[spec.name] = [item for item in form.getlist(spec.name) if isinstance(item, str)]
        else:
            value = form.get(spec.name)
            values[spec.name] = value if isinstance(value, str) else ""
    return values


def validate(
    kind: RecordKind, record_id: str, values: dict[str, FormValue]
) -> tuple[CatalogueRecord | None, dict[str, list[str]]]:
    """The whole record validated again as a ledger row is, or the reasons per field (key "" for others)."""
    row: dict[str, Any] = {"id": record_id, **values}
    for spec in field_specs(kind):
        if spec.widget == "flag":
            row[spec.name] = "true" if values.get(spec.name) else "false"
    try:
        return RECORD_TYPES[kind].model_validate(row), {}
    except ValidationError as exc:
        errors: dict[str, list[str]] = {}
        for error in row_errors(0, exc, RECORD_TYPES[kind].LABELS):
            errors.setdefault(error.field or "", []).append(error.message)
        return None, errors
