"""Record schemas of the interchange formats (SPEC section 3): one validated row per record."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    model_validator,
)
from pydantic_core import PydanticCustomError

from models.credit_code import credit_code_problem
from models.enums import (
    District,
    EnterpriseTag,
    FitOut,
    Grade,
    Industry,
    LabelledEnum,
    Origin,
    OwnerType,
    ScenarioBatch,
    ScenarioDomain,
    ScenarioLevel,
    ScenarioStatus,
)

LIST_SEPARATOR = "|"
CHONGQING_LAT = (28.1, 32.3)
CHONGQING_LON = (105.2, 110.2)
MAX_AREA_M2 = 10_000_000.0
MAX_RENT = 100_000.0
MAX_TEXT = 10_000
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_TRUE = {"true", "1", "yes", "y", "是", "需要", "t"}
_FALSE = {"false", "0", "no", "n", "否", "不需要", "f"}
RecordKind = Literal["buildings", "enterprises", "scenarios"]


def clean_text(value: str) -> str:
    """Reject control characters (NUL and friends) that no ledger text contains."""
    if _CONTROL.search(value):
        raise ValueError("含有不可见的控制字符（如 NUL），请删除后重试")
    return value


def _no_path_separators(value: str) -> str:
    """Reject ids that would break a web address."""
    if "/" in value or "\\" in value:
        raise ValueError("编号不能包含 / 或 \\")
    return value


def enum_parser(enum_class: type[LabelledEnum], noun: str) -> Callable[[Any], Any]:
    """Return a validator that accepts an enum member by its code or its Chinese label."""
    choices = "、".join(
        member.value if member.value == member.label else f"{member.value}（{member.label}）"
        for member in enum_class
    )

    def parse(value: Any) -> Any:
        if value is None or isinstance(value, enum_class):
            return value
        if not isinstance(value, str):
            raise ValueError(f"应为{noun}，实际为 {value!r}")
        try:
            return enum_class.parse(value)
        except ValueError:
            raise ValueError(f"未知的{noun}「{value}」，可选：{choices}") from None

    return parse


def _split_list(value: Any) -> Any:
    """Accept a list, or a `|`-separated string as CSV and Excel cells carry it."""
    if value is None:
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.split(LIST_SEPARATOR) if part.strip()]
    return value


def _unique(values: list[Any]) -> list[Any]:
    """Drop repeated list entries, keeping the first occurrence."""
    return list(dict.fromkeys(values))


def _parse_bool(value: Any) -> Any:
    """Accept true/false, 1/0 and 是/否."""
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise ValueError(f"应为 是/否（true/false），实际为「{value}」")
    return value


def _datetime_to_date(value: Any) -> Any:
    """Excel cells carry dates as datetimes at midnight."""
    if isinstance(value, datetime):
        return value.date()
    return value


def _upper(value: Any) -> Any:
    """Credit codes are upper case; accept what a person typed in lower case."""
    return value.strip().upper() if isinstance(value, str) else value


def _valid_credit_code(value: str) -> str:
    """Check the length, alphabet and check character of a GB 32100-2015 code."""
    problem = credit_code_problem(value)
    if problem:
        raise ValueError(f"统一社会信用代码{problem}")
    return value


Text = Annotated[str, Field(min_length=1, max_length=MAX_TEXT), AfterValidator(clean_text)]
Name = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(clean_text)]
RecordId = Annotated[
    str, Field(min_length=1, max_length=64), AfterValidator(clean_text), AfterValidator(_no_path_separators)
]
Area = Annotated[float, Field(gt=0, le=MAX_AREA_M2)]
Rent = Annotated[float, Field(ge=0, le=MAX_RENT)]
Flag = Annotated[bool, BeforeValidator(_parse_bool)]
Day = Annotated[date, BeforeValidator(_datetime_to_date)]
Strings = Annotated[
    list[Annotated[str, Field(min_length=1, max_length=100), AfterValidator(clean_text)]],
    BeforeValidator(_split_list),
    AfterValidator(_unique),
]


IndustryCode = Annotated[Industry, BeforeValidator(enum_parser(Industry, "产业代码"))]
DistrictName = Annotated[District, BeforeValidator(enum_parser(District, "区"))]
TagName = Annotated[EnterpriseTag, BeforeValidator(enum_parser(EnterpriseTag, "企业标签"))]
FitOutValue = Annotated[FitOut, BeforeValidator(enum_parser(FitOut, "装修状态"))]
GradeValue = Annotated[Grade, BeforeValidator(enum_parser(Grade, "等级"))]
OriginValue = Annotated[Origin, BeforeValidator(enum_parser(Origin, "来源"))]
OwnerTypeValue = Annotated[OwnerType, BeforeValidator(enum_parser(OwnerType, "业主类型"))]
LevelValue = Annotated[ScenarioLevel, BeforeValidator(enum_parser(ScenarioLevel, "发布层级"))]
DomainValue = Annotated[ScenarioDomain, BeforeValidator(enum_parser(ScenarioDomain, "场景方向"))]
BatchValue = Annotated[ScenarioBatch, BeforeValidator(enum_parser(ScenarioBatch, "批次"))]
StatusValue = Annotated[ScenarioStatus, BeforeValidator(enum_parser(ScenarioStatus, "状态"))]
Industries = Annotated[list[IndustryCode], BeforeValidator(_split_list), AfterValidator(_unique)]
Districts = Annotated[list[DistrictName], BeforeValidator(_split_list), AfterValidator(_unique)]
Tags = Annotated[list[TagName], BeforeValidator(_split_list), AfterValidator(_unique)]


def cross_field_error(field: str, message: str) -> PydanticCustomError:
    """An error that involves two fields, reported against `field`."""
    return PydanticCustomError("cross_field", "{message}", {"field": field, "message": message})


class FileRow(BaseModel):
    """A row of an interchange file: unknown keys are errors, strings are stripped, blanks are absent."""

    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        allow_inf_nan=False,
        use_enum_values=False,
        validate_default=False,
        coerce_numbers_to_str=True,
    )

    LABELS: ClassVar[dict[str, str]]
    """Each field's Chinese column header."""
    KIND: ClassVar[str]
    """What the rows are (an Excel export names its sheet so)."""

    @model_validator(mode="before")
    @classmethod
    def _blanks_are_absent(cls, data: Any) -> Any:
        """Treat empty and whitespace-only values as absent, as an empty spreadsheet cell is."""
        if isinstance(data, dict):
            return {
                key: value
                for key, value in data.items()
                if not (value is None or (isinstance(value, str) and not value.strip()))
            }
        return data


class CatalogueRecord(FileRow):
    """A catalogue record, upserted by its id."""

    KIND: ClassVar[RecordKind]

    id: RecordId


class BuildingRecord(CatalogueRecord):
    """A building row as it appears in a ledger file."""

    KIND = "buildings"
    LABELS = {
        "id": "编号",
        "name": "楼宇名称",
        "district": "所在区",
        "address": "地址",
        "lat": "纬度",
        "lon": "经度",
        "vacant_area_m2": "可用面积",
        "min_unit_m2": "最小分割面积",
        "rent_yuan_m2_month": "租金",
        "fit_out": "装修状态",
        "grade": "等级",
        "focus_industries": "重点产业",
        "amenities": "配套",
        "incentives": "入驻政策",
        "description": "楼宇介绍",
        "available_from": "可入驻日期",
    }

    name: Name
    district: DistrictName
    address: Annotated[str, Field(max_length=300), AfterValidator(clean_text)] | None = None
    lat: Annotated[float, Field(ge=CHONGQING_LAT[0], le=CHONGQING_LAT[1])] | None = None
    lon: Annotated[float, Field(ge=CHONGQING_LON[0], le=CHONGQING_LON[1])] | None = None
    vacant_area_m2: Area
    min_unit_m2: Area | None = None
    rent_yuan_m2_month: Rent
    fit_out: FitOutValue
    grade: GradeValue | None = None
    focus_industries: Industries = []
    amenities: Strings = []
    incentives: Text | None = None
    description: Text | None = None
    available_from: Day | None = None

    @model_validator(mode="after")
    def _consistent(self) -> BuildingRecord:
        """Coordinates come in pairs; the smallest unit fits inside the vacant area."""
        if (self.lat is None) != (self.lon is None):
            missing = "lon" if self.lon is None else "lat"
            raise cross_field_error(missing, "纬度和经度须同时填写或同时不填")
        if self.min_unit_m2 is not None and self.min_unit_m2 > self.vacant_area_m2:
            raise cross_field_error(
                "min_unit_m2", f"最小分割面积 {self.min_unit_m2:g} 大于可用面积 {self.vacant_area_m2:g}"
            )
        return self


class EnterpriseRecord(CatalogueRecord):
    """An enterprise row: a registered firm or a prospective one."""

    KIND = "enterprises"
    LABELS = {
        "id": "编号",
        "name": "企业名称",
        "credit_code": "统一社会信用代码",
        "description": "企业简介",
        "industries": "所属产业",
        "headcount": "现有人数",
        "required_area_m2": "需求面积",
        "max_rent_yuan_m2_month": "租金上限",
        "preferred_districts": "意向区域",
        "needs_move_in_ready": "需要拎包入住",
        "origin": "来源",
        "tags": "企业标签",
    }

    name: Name
    credit_code: Annotated[str, BeforeValidator(_upper), AfterValidator(_valid_credit_code)] | None = None
    description: Text
    industries: Industries = []
    headcount: Annotated[int, Field(ge=0, le=10_000_000)] | None = None
    required_area_m2: Area | None = None
    max_rent_yuan_m2_month: Rent | None = None
    preferred_districts: Districts = []
    needs_move_in_ready: Flag = False
    origin: OriginValue | None = None
    tags: Tags = []


class ScenarioRecord(CatalogueRecord):
    """An application-scenario row; one that cannot be published is kept as a draft."""

    KIND = "scenarios"
    LABELS = {
        "id": "编号",
        "title": "场景名称",
        "owner": "业主单位",
        "owner_type": "业主类型",
        "level": "发布层级",
        "district": "所在区",
        "domain": "场景方向",
        "description": "场景描述",
        "scope": "建设边界",
        "industries": "所需产业",
        "budget_wan_yuan": "预算(万元)",
        "deadline": "截止日期",
        "batch": "批次",
        "status": "状态",
    }

    title: Annotated[str, Field(min_length=1, max_length=300), AfterValidator(clean_text)]
    owner: Name | None = None
    owner_type: OwnerTypeValue | None = None
    level: LevelValue | None = None
    district: DistrictName | None = None
    domain: DomainValue | None = None
    description: Text
    scope: Text | None = None
    industries: Industries = []
    budget_wan_yuan: Annotated[float, Field(gt=0, le=100_000_000)] | None = None
    deadline: Day | None = None
    batch: BatchValue | None = None
    status: StatusValue = ScenarioStatus.open

    _drafted: bool = PrivateAttr(default=False)

    @model_validator(mode="after")
    def _publishable_or_draft(self) -> ScenarioRecord:
        """An `open` scenario needs an owner, a scope and a budget; otherwise it becomes a draft."""
        if self.status == ScenarioStatus.open and not self.missing_for_publication():
            return self
        if self.status == ScenarioStatus.open:
            self.status = ScenarioStatus.draft
            self._drafted = True
        return self

    def missing_for_publication(self) -> list[str]:
        """The fields a scenario lacks before it may be open (边界清晰、业主明确、资金落实)."""
        required = {"owner": self.owner, "scope": self.scope, "budget_wan_yuan": self.budget_wan_yuan}
        return [field for field, value in required.items() if value is None]

    @property
    def drafted(self) -> bool:
        """Whether this row asked to be open but was stored as a draft."""
        return self._drafted


RECORD_TYPES: dict[RecordKind, type[CatalogueRecord]] = {
    "buildings": BuildingRecord,
    "enterprises": EnterpriseRecord,
    "scenarios": ScenarioRecord,
}
