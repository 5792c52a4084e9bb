"""What the weights page shows: labelled sliders, a preview's changes and figures, and the history."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from api import weights_preview
from api.services import weights as weights_service
from api.web.admin_forms import china_time
from matcher.devset import ItemKind
from matcher.recommender import Recommender
from matcher.replay import Proposal, Replay
from matcher.weights import BUILDING_FACTORS, SCENARIO_FACTORS, Weights
from models.lead import OUTCOME_TARGETS, LeadKind, OutcomeStage

KIND_NOUNS: dict[ItemKind, str] = {"buildings": "楼宇", "scenarios": "应用场景"}
FIELDS = tuple(Weights.model_fields)


def meaning(name: str) -> str:
    """What a weight does, in Chinese (the part of its description after the colon)."""
    return (Weights.model_fields[name].description or "").partition("：")[2]


def shown(value: float) -> str:
    """A weight as people read it: two decimals, more only when the value has them."""
    text = f"{value:.2f}"
    return text if math.isclose(float(text), value, abs_tol=1e-9) else f"{value:.4f}".rstrip("0")


# ---- sliders ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Slider:
    """One weight as a labelled slider: its value on the form, the current version's and the default."""

    name: str
    value: float
    current: float

    @property
    def label(self) -> str:
        """The short Chinese name."""
        return Weights.label(self.name)

    @property
    def meaning(self) -> str:
        """What the weight does."""
        return meaning(self.name)

    @property
    def default(self) -> float:
        """The system default."""
        default: float = Weights.model_fields[self.name].default
        return default

    @property
    def step(self) -> str:
        """Hundredths, unless a value has finer digits that a coarser slider would round away."""
        fine = any(shown(value) != f"{value:.2f}" for value in (self.value, self.current))
        return "any" if fine else "0.01"

    @property
    def text(self) -> str:
        """The value as shown beside the slider."""
        return shown(self.value)

    @property
    def current_text(self) -> str:
        """The current version's value as shown."""
        return shown(self.current)


def _groups() -> list[tuple[str, tuple[str, ...]]]:
    """The weights in groups: shared factors, building-only, scenario-only, and tuning parameters."""
    shared = tuple(name for name in BUILDING_FACTORS if name in SCENARIO_FACTORS)
    buildings = tuple(name for name in BUILDING_FACTORS if name not in shared)
    scenarios = tuple(name for name in SCENARIO_FACTORS if name not in shared)
    factors = {*BUILDING_FACTORS, *SCENARIO_FACTORS}
    rest = tuple(name for name in FIELDS if name not in factors)
    return [
        ("楼宇与场景共用的因素", shared),
        ("仅用于楼宇匹配", buildings),
        ("仅用于场景匹配", scenarios),
        ("调节参数", rest),
    ]


GROUPS = _groups()


def slider_groups(values: Weights, current: Weights) -> list[tuple[str, list[Slider]]]:
    """Every weight's slider, grouped, with the form's values and the current version's."""
    return [
        (title, [Slider(name, getattr(values, name), getattr(current, name)) for name in names])
        for title, names in GROUPS
    ]


# ---- preview ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figure:
    """One evaluation figure before (None: not compared) and after, and which way is better."""

    name: str
    old: float | None
    new: float
    percent: bool = False
    better: str = "higher"
    """Which way is better: "higher", "lower", or "" for neither."""

    def _format(self, value: float) -> str:
        """A value as shown."""
        return f"{value:.1%}" if self.percent else f"{value:.3f}"

    @property
    def old_text(self) -> str:
        """The figure under the current weights."""
        return "—" if self.old is None else self._format(self.old)

    @property
    def new_text(self) -> str:
        """The figure under the proposed weights."""
        return self._format(self.new)

    @property
    def delta(self) -> float | None:
        """The change, rounded to what is shown (None when not compared)."""
        if self.old is None:
            return None
        return round(self.new - self.old, 3)

    @property
    def delta_text(self) -> str:
        """The change, signed."""
        if self.delta is None:
            return "—"
        if self.delta == 0:
            return "±0"
        return f"{self.delta:+.1%}" if self.percent else f"{self.delta:+.3f}"

    @property
    def tone(self) -> str:
        """`good`, `bad` or empty: whether the change goes the way this figure should."""
        if not self.better or not self.delta:
            return ""
        return "good" if (self.delta > 0) == (self.better == "higher") else "bad"


@dataclass(frozen=True)
class ItemChange:
    """One item that entered, left or moved in a firm's top 10."""

    id: str
    name: str
    old_rank: int | None
    new_rank: int | None


@dataclass(frozen=True)
class KindChange:
    """How one firm's top 10 of one kind changed."""

    kind: ItemKind
    entered: list[ItemChange]
    left: list[ItemChange]
    moved: list[ItemChange]

    @property
    def noun(self) -> str:
        """The kind in Chinese."""
        return KIND_NOUNS[self.kind]

    @property
    def changed(self) -> bool:
        """Whether anything changed."""
        return bool(self.entered or self.left or self.moved)


@dataclass(frozen=True)
class FirmChange:
    """One sampled firm and the changes of its top 10 buildings and scenarios."""

    id: str
    name: str
    kinds: list[KindChange]

    @property
    def changed(self) -> bool:
        """Whether either list changed."""
        return any(kind.changed for kind in self.kinds)


@dataclass(frozen=True)
class PreviewView:
    """A preview as the page shows it."""

    based_on: int
    sample: int
    elapsed_ms: float
    changed_weights: list[tuple[str, str, str]]
    figures: list[tuple[str, list[Figure]]]
    firms: list[FirmChange]

    @property
    def changed_firms(self) -> list[FirmChange]:
        """The sampled firms whose top 10 changed."""
        return [firm for firm in self.firms if firm.changed]


def _item_name(recommender: Recommender, kind: ItemKind, item_id: str) -> str:
    """An item's name or title (its id when it has just been removed)."""
    try:
        record = recommender.stored(kind, item_id)
    except KeyError:
        return item_id
    return str(getattr(record, "name", None) or getattr(record, "title", item_id))


def _kind_change(recommender: Recommender, kind: ItemKind, change: dict[str, Any]) -> KindChange:
    """One top-10 change with the items' names and ranks."""
    old_rank = {item: rank for rank, item in enumerate(change["old"], start=1)}
    new_rank = {item: rank for rank, item in enumerate(change["new"], start=1)}

    def item(item_id: str) -> ItemChange:
        """One item with its name and both ranks."""
        return ItemChange(
            item_id, _item_name(recommender, kind, item_id), old_rank.get(item_id), new_rank.get(item_id)
        )

    moved = sorted(change["moved"], key=lambda item_id: new_rank[item_id])
    return KindChange(
        kind,
        entered=[item(item_id) for item_id in change["entered"]],
        left=[item(item_id) for item_id in change["left"]],
        moved=[item(item_id) for item_id in moved],
    )


def _figures(result: dict[str, Any]) -> list[tuple[str, list[Figure]]]:
    """The evaluation figures per kind: dev-set quality first, then the sampled lists' aggregates."""
    sections = []
    for kind, noun in KIND_NOUNS.items():
        figures = []
        dev = (result["devset"] or {}).get(kind)
        if dev:
            figures.append(Figure("开发集 nDCG@10", dev["old"]["ndcg_at_10"], dev["new"]["ndcg_at_10"]))
            figures.append(Figure("开发集 MRR", dev["old"]["mrr"], dev["new"]["mrr"]))
        sampled = result["figures"][kind]
        old, new = sampled["old"], sampled["new"]
        figures.append(Figure("抽样前 10 名平均得分", old["mean_score"], new["mean_score"], better=""))
        figures.append(Figure("目录覆盖率", old["coverage"], new["coverage"], percent=True))
        figures.append(
            Figure(
                "区域集中度（越低越分散）",
                old["district_concentration"],
                new["district_concentration"],
                better="lower",
            )
        )
        figures.append(
            Figure("前 10 名有变化的企业", None, sampled["changed_share"], percent=True, better="")
        )
        sections.append((noun, figures))
    return sections


def preview_view(
    recommender: Recommender, old: Weights, new: Weights, based_on: int, sample: int
) -> PreviewView:
    """Run a preview (nothing is saved) and shape it for the page, timing it."""
    started = time.perf_counter()
    result = weights_preview.preview(recommender, old, new, None, sample)
    firms = [
        FirmChange(
            entry["id"],
            entry["name"],
            [_kind_change(recommender, kind, entry[kind]) for kind in KIND_NOUNS],
        )
        for entry in result["firms"]
    ]
    changed = [
        (Weights.label(name), shown(before), shown(after))
        for name, (before, after) in result["changed_weights"].items()
    ]
    elapsed = (time.perf_counter() - started) * 1000
    return PreviewView(based_on, len(firms), elapsed, changed, _figures(result), firms)


# ---- history ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class HistoryView:
    """One version in the history list, with its changes in words."""

    version: int
    when: str
    author: str
    reason: str
    restored_from: int | None
    changes: list[tuple[str, str, str, str]]
    """(label, old, new, "up"/"down") per changed weight."""
    same_as_current: bool
    initial: bool


def _change(name: str, old: float | None, new: float | None) -> tuple[str, str, str, str]:
    """One changed weight of a version: its label, both values and the direction."""
    before, after = old or 0.0, new or 0.0
    return Weights.label(name), shown(before), shown(after), "up" if after > before else "down"


def history_views(session: Session) -> list[HistoryView]:
    """Every version, newest first, with what it changed against the version before."""
    entries = weights_service.history(session)
    latest = entries[0].weights if entries else {}
    return [
        HistoryView(
            version=entry.version,
            when=china_time(entry.created_at),
            author=entry.author,
            reason=entry.reason,
            restored_from=entry.restored_from,
            changes=[_change(name, old, new) for name, (old, new) in entry.diff.items() if name in FIELDS],
            same_as_current=entry.weights == latest,
            initial=position == len(entries) - 1,
        )
        for position, entry in enumerate(entries)
    ]


# ---- learned from follow-up outcomes -----------------------------------------------------------


STAGE_CHOICES = [
    (stage, f"{stage.label}（场景：{OUTCOME_TARGETS[stage][LeadKind.scenario].label}）")
    for stage in OutcomeStage
]
"""The learning form's target stages, each with the stage a scenario lead must reach instead."""


def interval(bounds: tuple[float, float], signed: bool = False) -> str:
    """A 95 % interval as shown: both ends with three decimals (signed for a difference)."""
    spec = "+.3f" if signed else ".3f"
    return f"[{bounds[0]:{spec}}, {bounds[1]:{spec}}]"


@dataclass(frozen=True)
class LearnedWeight:
    """One weight of a proposal: the current version's value and the learned one."""

    name: str
    current: float
    proposed: float

    @property
    def label(self) -> str:
        """The short Chinese name."""
        return Weights.label(self.name)

    @property
    def current_text(self) -> str:
        """The current value as shown."""
        return shown(self.current)

    @property
    def proposed_text(self) -> str:
        """The proposed value as shown."""
        return shown(self.proposed)

    @property
    def direction(self) -> str:
        """`up`, `down`, or empty when the shown values are equal."""
        if self.proposed_text == self.current_text:
            return ""
        return "up" if self.proposed > self.current else "down"


@dataclass(frozen=True)
class ReplayView:
    """The replay of one group of leads under both weights, as the rows of a figures table."""

    title: str
    replay: Replay

    @property
    def tone(self) -> str:
        """`good` when the difference's interval lies above 0, `bad` below it, else empty."""
        low, high = self.replay.difference_ci95
        return "good" if low > 0 else "bad" if high < 0 else ""

    @property
    def rows(self) -> list[tuple[str, str, str, str]]:
        """(row, nDCG@10, its 95 % interval, recall@3): the current weights, the proposed, the change."""
        current, proposed = self.replay.current, self.replay.proposed
        return [
            ("当前权重", f"{current.ndcg10:.3f}", interval(current.ci95), f"{current.recall3:.1%}"),
            ("建议权重", f"{proposed.ndcg10:.3f}", interval(proposed.ci95), f"{proposed.recall3:.1%}"),
            (
                "变化",
                f"{proposed.ndcg10 - current.ndcg10:+.3f}",
                interval(self.replay.difference_ci95, signed=True),
                f"{proposed.recall3 - current.recall3:+.1%}",
            ),
        ]


@dataclass(frozen=True)
class LearnedView:
    """A proposal learned from the follow-up outcomes, as the page shows it beside the sliders."""

    proposal: Proposal
    weights: list[LearnedWeight]
    replays: list[ReplayView]
    bias: list[tuple[int, str]]
    """(rank, examination propensity relative to rank 1) per rank."""

    @property
    def changed(self) -> int:
        """How many weights the proposal changes (as shown)."""
        return sum(1 for weight in self.weights if weight.direction)


def learned_view(proposal: Proposal) -> LearnedView:
    """Shape a proposal for the page: every weight current → proposed, the replays pooled then per kind."""
    replays = [ReplayView("全部跟进记录", proposal.replay)]
    replays += [
        ReplayView(KIND_NOUNS[kind], proposal.per_kind[kind])
        for kind in KIND_NOUNS
        if kind in proposal.per_kind
    ]
    return LearnedView(
        proposal,
        [
            LearnedWeight(name, getattr(proposal.current, name), getattr(proposal.proposed, name))
            for _, names in GROUPS
            for name in names
        ],
        replays,
        [(rank, f"{propensity:.2f}") for rank, propensity in sorted(proposal.position_bias.items())],
    )
