"""API schemas: create (the records, as sent), update (partial), read, pages, match answers and errors."""

from __future__ import annotations

import json
from dataclasses import fields
from datetime import datetime
from functools import cache
from typing import Annotated, Any, Generic, TypeVar, get_type_hints

from fastapi import Path
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, TypeAdapter, create_model, model_validator
from pydantic_core import PydanticCustomError

from matcher.ranking import Match
from models.enums import Industry
from models.records import (
    RECORD_TYPES,
    BuildingRecord,
    CatalogueRecord,
    EnterpriseRecord,
    RecordKind,
    ScenarioRecord,
    clean_text,
)

T = TypeVar("T")
MAX_PAGE = 100


def printable(value: Any) -> Any:
    """Refuse control characters (NUL and friends) in ids and search text, as the records do."""
    return clean_text(value) if isinstance(value, str) else value


RecordIdPath = Annotated[
    str, Path(min_length=1, max_length=64, description="记录编号"), AfterValidator(printable)
]


_JSON_TYPE_NAMES = {
    "string": "文本",
    "number": "数字",
    "integer": "整数",
    "boolean": "true 或 false",
    "array": "列表",
    "object": "对象",
    "null": "null",
}


def _json_type(value: Any) -> str:
    """The JSON type of a decoded JSON value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _types(schema: dict[str, Any], definitions: dict[str, Any]) -> tuple[set[str], set[str] | None]:
    """The JSON types a property allows and, for arrays, the types its items allow (empty: not checked)."""
    if "$ref" in schema:
        schema = definitions.get(schema["$ref"].rsplit("/", 1)[-1], {})
    if "anyOf" in schema:
        allowed: set[str] = set()
        items: set[str] | None = None
        for option in schema["anyOf"]:
            option_types, option_items = _types(option, definitions)
            allowed |= option_types
            items = option_items if option_items is not None else items
        return allowed, items
    allowed = {schema["type"]} if isinstance(schema.get("type"), str) else set()
    if "number" in allowed:
        allowed.add("integer")
    items = _types(schema.get("items", {}), definitions)[0] if "array" in allowed else None
    return allowed, items


@cache
def _field_types(model: type[BaseModel]) -> dict[str, tuple[set[str], set[str] | None]]:
    """The JSON types each field of a model allows, from the model's own JSON schema."""
    schema = model.model_json_schema()
    definitions = schema.get("$defs", {})
    return {name: _types(field, definitions) for name, field in schema["properties"].items()}


class AsSent(BaseModel):
    """Base of the API's bodies: a JSON value must already have a type its field allows."""

    # Ledger files are read leniently (a blank cell is absent, `a|b` is a list, `是` is true, a number may be
    # a text); a JSON body says what it means, so null for a list or a number for a text is a 422.
    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _blanks_are_absent(cls, data: Any) -> Any:
        """Refuse a value of a JSON type its field does not allow (replaces the records' blank rule)."""
        if not isinstance(data, dict):
            return data
        for name, value in data.items():
            allowed, items = _field_types(cls).get(name, (set(), None))
            if allowed and _json_type(value) not in allowed:
                raise _wrong_type(name, _expected(allowed), value)
            if items and isinstance(value, list) and any(_json_type(item) not in items for item in value):
                raise _wrong_type(name, f"{_expected(items)}的列表", value)
        return data


def _expected(allowed: set[str]) -> str:
    """The allowed JSON types in words (an integer is a number)."""
    shown = allowed - {"integer"} if "number" in allowed else allowed
    return "或".join(_JSON_TYPE_NAMES[kind] for kind in _JSON_TYPE_NAMES if kind in shown)


def _wrong_type(field: str, expected: str, value: Any) -> PydanticCustomError:
    """A value of the wrong JSON type, reported against its field like the records' cross-field errors."""
    shown = json.dumps(value, ensure_ascii=False)
    message = f"应为{expected}，实际为 {shown if len(shown) <= 60 else shown[:60] + '…'}"
    return PydanticCustomError("cross_field", "{message}", {"field": field, "message": message})


class BuildingCreate(AsSent, BuildingRecord):
    """A building as a request body."""


class EnterpriseCreate(AsSent, EnterpriseRecord):
    """An enterprise as a request body (stored, or an ad-hoc profile to match)."""


class ScenarioCreate(AsSent, ScenarioRecord):
    """A scenario as a request body."""


def _without_default(schema: dict[str, Any]) -> None:
    """An omitted field of a partial update keeps its value: it has no default to document."""
    schema.pop("default", None)


def _partial(record_type: type[CatalogueRecord]) -> type[BaseModel]:
    """An update schema: every field but `id` optional, null only where the record allows it, none unknown."""
    # The fields keep their constraints and validators, so a bad value is refused before the record is merged.
    fields: dict[str, Any] = {
        name: (info.rebuild_annotation(), Field(default=None, json_schema_extra=_without_default))
        for name, info in record_type.model_fields.items()
        if name != "id"
    }
    return create_model(f"{record_type.__name__.removesuffix('Record')}Update", __base__=AsSent, **fields)


def _read(record_type: type[CatalogueRecord]) -> type[BaseModel]:
    """A read schema: the record plus its timestamps."""
    return create_model(
        f"{record_type.__name__.removesuffix('Record')}Read",
        __base__=record_type,
        created_at=(datetime, ...),
        updated_at=(datetime, ...),
    )


CREATE: dict[RecordKind, type[CatalogueRecord]] = {
    "buildings": BuildingCreate,
    "enterprises": EnterpriseCreate,
    "scenarios": ScenarioCreate,
}
UPDATE: dict[RecordKind, type[BaseModel]] = {kind: _partial(schema) for kind, schema in RECORD_TYPES.items()}
READ: dict[RecordKind, type[BaseModel]] = {kind: _read(schema) for kind, schema in RECORD_TYPES.items()}


class Page(BaseModel, Generic[T]):
    """One page of a listing."""

    items: list[T]
    total: int
    limit: int
    offset: int


def _shown(dataclass: type[Any], name: str, doc: str, hidden: frozenset[str]) -> type[BaseModel]:
    """A schema of a dataclass's fields, in their order, without the hidden ones."""
    hints = get_type_hints(dataclass)
    shown: dict[str, Any] = {
        item.name: (hints[item.name], ...) for item in fields(dataclass) if item.name not in hidden
    }
    return create_model(name, __doc__=doc, **shown)


MatchOut = _shown(Match, "MatchOut", "One recommended item.", frozenset({"record"}))
"""A result of the matcher as the API shows it: every field of `Match` but the record."""


class IndustryOut(BaseModel):
    """One industry of the record matched for: declared, or inferred with its probability."""

    code: Industry
    label: str
    probability: float = Field(description="声明的产业为 1；推断的为模型给出的概率（0–1）")
    declared: bool
    certainty: str = Field(description="推断的把握：把握较大（≥0.7）、把握一般（≥0.4）、把握较小；声明的为空")
    evidence: list[str] = Field(description="文本中指向该产业的词语")


class MatchAnswer(BaseModel):
    """A match answer (SPEC section 6), naming the weights version it used."""

    results: list[MatchOut]  # type: ignore[valid-type]  # built from `Match` at import time
    requested: int
    eligible: int = Field(description="满足全部硬性条件的候选数")
    excluded: dict[str, int] = Field(
        description="因各硬性条件被排除的候选数；一个候选只计一次，记在它违反的第一条条件下"
    )
    note: str | None
    industries: list[IndustryOut] = Field(description="查询方的产业：声明的在前，其后为推断的（按概率）")
    weights_version: int


_MATCH_ANSWER = TypeAdapter(MatchAnswer)


def match_answer_json(answer: dict[str, Any]) -> bytes:
    """A match answer as the API sends it: validated against `MatchAnswer` and dumped, as FastAPI would."""
    return _MATCH_ANSWER.dump_json(_MATCH_ANSWER.validate_python(answer))


class ImportAnswer(BaseModel):
    """What an import did."""

    kind: RecordKind
    rows: int
    created: int
    updated: int
    unchanged: int
    drafted: int
    summary: str


class LoginIn(BaseModel):
    """Credentials for a new API token."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=64), AfterValidator(printable)]
    password: str = Field(min_length=1, max_length=200)


class TokenOut(BaseModel):
    """A new bearer token, shown once."""

    token: str
    role: str


class ErrorOut(BaseModel):
    """An error answer: what went wrong, in Chinese."""

    detail: str = Field(description="错误说明")


class FieldErrorOut(BaseModel):
    """One bad field of a request, or of a row of an imported file."""

    field: str | None = Field(description="出错的字段")
    message: str = Field(description="错误原因")
    row: int | None = Field(default=None, description="导入文件中的行号（0 表示整个文件）")
    text: str | None = Field(default=None, description="导入错误的完整说明")


class InvalidOut(BaseModel):
    """A refused request or import file: a summary and every bad field (and row)."""

    detail: str = Field(description="错误摘要")
    errors: list[FieldErrorOut] = Field(description="逐个字段（导入时逐行）的错误")


_ERRORS: dict[int, tuple[type[BaseModel], str]] = {
    401: (ErrorOut, "未登录，或令牌无效"),
    403: (ErrorOut, "无权执行此操作：需要管理员权限，或该跟进不属于您所在的区"),
    404: (ErrorOut, "记录不存在（或匿名用户无权查看）"),
    409: (ErrorOut, "与已保存的数据冲突：编号已存在，或所基于的版本已被他人更新"),
    413: (ErrorOut, "上传的文件过大"),
    422: (InvalidOut, "请求有误：逐个列出出错的字段和原因"),
    429: (ErrorOut, "登录失败次数过多，请稍后再试"),
    503: (ErrorOut, "数据库正忙（其他修改尚未完成），未写入任何内容，请稍后重试"),
}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI declarations of the error answers an operation gives (all JSON with `detail`)."""
    return {code: {"model": _ERRORS[code][0], "description": _ERRORS[code][1]} for code in codes}
