"""API schemas: create (the interchange records), update (partial), read, pages and match answers."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, create_model

from models.records import BuildingRecord, CatalogueRecord, EnterpriseRecord, RecordKind, ScenarioRecord

T = TypeVar("T")
MAX_PAGE = 100


def _partial(record_type: type[CatalogueRecord]) -> type[BaseModel]:
    """An update schema: every field but `id` optional, unknown fields forbidden."""
    fields: dict[str, Any] = {
        name: (info.annotation | None, None)  # type: ignore[operator]
        for name, info in record_type.model_fields.items()
        if name != "id"
    }
    return create_model(
        f"{record_type.__name__.removesuffix('Record')}Update",
        __config__=ConfigDict(extra="forbid"),
        **fields,
    )


def _read(record_type: type[CatalogueRecord]) -> type[BaseModel]:
    """A read schema: the record plus its timestamps."""
    return create_model(
        f"{record_type.__name__.removesuffix('Record')}Read",
        __base__=record_type,
        created_at=(datetime, ...),
        updated_at=(datetime, ...),
    )


CREATE: dict[RecordKind, type[CatalogueRecord]] = {
    "buildings": BuildingRecord,
    "enterprises": EnterpriseRecord,
    "scenarios": ScenarioRecord,
}
UPDATE: dict[RecordKind, type[BaseModel]] = {kind: _partial(schema) for kind, schema in CREATE.items()}
READ: dict[RecordKind, type[BaseModel]] = {kind: _read(schema) for kind, schema in CREATE.items()}


class Page(BaseModel, Generic[T]):
    """One page of a listing."""

    items: list[T]
    total: int
    limit: int
    offset: int


class MatchOut(BaseModel):
    """One recommended item."""

    id: str
    name: str
    rank: int
    score: float
    components: dict[str, float]
    reasons: list[str]
    district: str | None


class MatchAnswer(BaseModel):
    """A match answer (SPEC section 6), naming the weights version it used."""

    results: list[MatchOut]
    requested: int
    eligible: int = Field(description="满足全部硬性条件的候选数")
    excluded: dict[str, int] = Field(description="因各硬性条件被排除的候选数")
    note: str | None
    weights_version: int


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

    name: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=200)


class TokenOut(BaseModel):
    """A new bearer token, shown once."""

    token: str
    role: str
