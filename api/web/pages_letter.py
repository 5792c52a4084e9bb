"""The 推介函 of a stored firm: its best buildings now, with reasons, monthly cost, incentives, contacts."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.deps import SessionDep, StateDep
from api.services import matching
from api.web.pages_find import Cost, Incentive, amenity_labels, incentive, monthly_cost
from api.web.session import StaffPage
from api.web.templating import render
from matcher.directions import DIRECTIONS
from models.clock import china_today
from models.enums import District
from models.incentives import IncentiveStanding, incentive_standing
from models.records import BuildingRecord, EnterpriseRecord

router = APIRouter(include_in_schema=False)

LETTER_COUNTS = (5, 10)
"""How many buildings a letter may list: the current match's best five, or ten."""
STANDING_WORDS = {
    IncentiveStanding.eligible: "贵企业属{origin}企业，可按各楼宇入驻政策申请新引进企业支持。",
    IncentiveStanding.ineligible: "贵企业属市内迁移企业，按“满天星”行动计划不享受新引进企业入驻政策。",
    IncentiveStanding.unknown: (
        "贵企业来源尚待核实：确认不属于市内迁移后，可按各楼宇入驻政策申请新引进企业支持。"
    ),
}
"""What the letter says about the firm's standing for new-entrant incentives."""
CONTACT_PHONE = "联系电话待区招商部门提供"
"""The districts' numbers are not in the catalogue yet: the letter says so rather than invent one."""


@dataclass(frozen=True)
class Contact:
    """A district's investment-promotion office as the letter names it (a placeholder per district)."""

    district: str
    office: str
    phone: str


def contact(district: District) -> Contact:
    """The placeholder contact of a district's investment-promotion office."""
    return Contact(district.value, f"{district.value}投资促进（招商）服务窗口", CONTACT_PHONE)


@dataclass(frozen=True)
class Recommended:
    """One building of the letter: where it ranks now, why, what it costs a month and its incentives."""

    rank: int
    building: BuildingRecord
    reasons: list[str]
    cost: Cost
    incentive: Incentive | None
    amenities: list[str]
    contact: Contact


@router.get("/letter/{enterprise_id}")
def letter(
    enterprise_id: str, request: Request, user: StaffPage, state: StateDep, session: SessionDep
) -> Response:
    """The printable 推介函 (A4): the firm's best buildings in the current match (`?k=5` or 10)."""
    used = matching.catch_up(state=state, session=session)
    firm = matching.stored(state=state, kind="enterprises", record_id=enterprise_id)
    assert isinstance(firm, EnterpriseRecord)
    raw = request.query_params.get("k", "")
    k = int(raw) if raw.isdigit() and int(raw) in LETTER_COUNTS else LETTER_COUNTS[0]
    answer = matching.rank(state=state, used=used, direction=DIRECTIONS["firm_buildings"], record=firm, k=k)
    buildings = []
    for match in answer.result.results:
        building = match.record
        assert isinstance(building, BuildingRecord)
        buildings.append(
            Recommended(
                match.rank,
                building,
                list(match.reasons),
                monthly_cost(building, firm),
                incentive(building, firm),
                amenity_labels(building.amenities),
                contact(building.district),
            )
        )
    standing = incentive_standing(firm.origin)
    context = {
        "firm": firm,
        "buildings": buildings,
        "k": k,
        "counts": LETTER_COUNTS,
        "standing": standing,
        "standing_text": STANDING_WORDS[standing].format(origin=firm.origin.label if firm.origin else ""),
        "today": china_today(),
        "weights_version": answer.weights_version,
    }
    return render(request, "letter.html", context)
