"""A stage change as people send it: the new stage, a note, and exactly the facts that stage records."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Self

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from models.lead import FACT_LABELS, FACT_NAMES, FACTS, LostReason, Stage
from models.records import Day, clean_text, cross_field_error, enum_parser

MAX_SIGNED_AREA_M2 = 200_000.0
"""No single firm signs for more than this (the largest buildings on the ledgers are smaller)."""
MAX_HEADCOUNT = 100_000
MAX_LEAD_RENT = 1_000.0
"""Yuan per ㎡ a month; Chongqing office rents are far below."""
MAX_CONTRACT_WAN_YUAN = 1_000_000.0
MAX_NOTE = 2_000

Note = Annotated[str, Field(max_length=MAX_NOTE), AfterValidator(clean_text)]
StageValue = Annotated[Stage, BeforeValidator(enum_parser(Stage, "跟进阶段"))]
ReasonValue = Annotated[LostReason, BeforeValidator(enum_parser(LostReason, "流失原因"))]


class StageFacts(BaseModel):
    """The facts a stage records; each is required by its stage and refused by every other."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    signed_area_m2: Annotated[float, Field(gt=0, le=MAX_SIGNED_AREA_M2)] | None = None
    rent_yuan_m2_month: Annotated[float, Field(ge=0, le=MAX_LEAD_RENT)] | None = None
    expected_headcount: Annotated[int, Field(ge=1, le=MAX_HEADCOUNT)] | None = None
    moved_in_on: Day | None = None
    actual_headcount: Annotated[int, Field(ge=0, le=MAX_HEADCOUNT)] | None = None
    contract_wan_yuan: Annotated[float, Field(gt=0, le=MAX_CONTRACT_WAN_YUAN)] | None = None
    lost_reason: ReasonValue | None = None

    def given(self) -> dict[str, Any]:
        """The facts that are filled in."""
        return {name: value for name in FACT_NAMES if (value := getattr(self, name)) is not None}

    def check_for(self, stage: Stage) -> None:
        """Raise a cross-field error unless exactly the facts of `stage` are given (named in Chinese)."""
        needed = FACTS.get(stage, ())
        for name in needed:
            if getattr(self, name) is None:
                raise cross_field_error(name, f"「{stage.label}」须填写{FACT_LABELS[name]}")
        for name in self.given():
            if name not in needed:
                raise cross_field_error(name, f"{FACT_LABELS[name]}不属于「{stage.label}」阶段，请不要填写")


class StageChange(StageFacts):
    """`POST /leads/{id}/stage`: move a lead on, with a note and the stage's facts."""

    stage: StageValue
    note: Note = ""
    expected_version: Annotated[int, Field(ge=1)]
    """The version the change is based on: when the lead has moved on since, the change is refused."""

    @model_validator(mode="after")
    def _facts_of_the_stage(self) -> Self:
        """Exactly the stage's facts, all of them."""
        self.check_for(self.stage)
        return self


def moved_in_refusal(moved_in_on: date, signed_on: date | None, today: date) -> str | None:
    """Why a move-in date cannot be right (in Chinese), or None."""
    if moved_in_on > today:
        return f"入驻日期 {moved_in_on.isoformat()} 晚于今天（{today.isoformat()}）：请在实际入驻后登记"
    if signed_on is not None and moved_in_on < signed_on:
        return f"入驻日期 {moved_in_on.isoformat()} 早于签约日期 {signed_on.isoformat()}"
    return None
