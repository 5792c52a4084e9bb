"""What the recommender shows demo firms: each result as the server computes it, where leads start from."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from matcher.directions import for_firm
from matcher.recommender import Recommender
from models.lead import LeadKind
from models.records import BuildingRecord, EnterpriseRecord, ScenarioRecord

SHOWN: dict[LeadKind, int] = {LeadKind.building: 10, LeadKind.scenario: 5}
"""How many results a firm is shown of each kind (the top 10 buildings, the top 5 open scenarios)."""


@dataclass(frozen=True)
class ShownPair:
    """One result shown to a firm: the firm, the offer, and the match as `Recommender.match` gave it."""

    kind: LeadKind
    firm: EnterpriseRecord
    offer: BuildingRecord | ScenarioRecord
    rank: int
    score: float
    components: dict[str, float]
    """Each factor's contribution to the score (its value times its weight's share), and `spread` (≤ 0)."""


def show(recommender: Recommender, kind: LeadKind, firms: Sequence[EnterpriseRecord]) -> list[ShownPair]:
    """The top results of `kind` for each firm, in the firms' order, best first."""
    direction = for_firm(kind.offers)
    shown = []
    for firm in firms:
        for match in recommender.match(direction, firm, k=SHOWN[kind]).results:
            offer = match.record
            assert isinstance(offer, BuildingRecord | ScenarioRecord)
            shown.append(ShownPair(kind, firm, offer, match.rank, match.score, dict(match.components)))
    return shown
