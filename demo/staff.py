"""The demo's follow-up staff: a handful of names per district, and the notes they write at each stage."""

from __future__ import annotations

import zlib

import numpy as np

from models.enums import District
from models.lead import LeadKind, LostReason, Stage

STAFF_PER_DISTRICT = 3
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐"
GIVEN_NAMES = (
    "敏", "静", "磊", "洋", "婷", "杰", "丽", "军", "霞", "鹏", "晓东", "雪梅", "志强",
    "海燕", "建华", "红梅", "文静", "俊杰", "思远", "佳怡", "宇航", "欣然", "子涵",
)  # fmt: skip
CITY_LEVEL = "市级"
"""Where a city-level scenario's leads are followed up (they belong to no district)."""


def _names(place: int) -> tuple[str, ...]:
    """The staff of the `place`-th district (every name different from every other district's)."""
    return tuple(
        SURNAMES[(place * STAFF_PER_DISTRICT + seat) % len(SURNAMES)]
        + GIVEN_NAMES[(place * 5 + seat * 7) % len(GIVEN_NAMES)]
        for seat in range(STAFF_PER_DISTRICT)
    )


STAFF: dict[str, tuple[str, ...]] = {
    district: _names(place) for place, district in enumerate([*(d.value for d in District), CITY_LEVEL])
}
"""Per district (and `CITY_LEVEL`), the names of its follow-up staff; owners are plain names, not users."""


def owner(district: str | None, enterprise_id: str) -> str:
    """Who follows up a firm's leads in a district: always the same person for the same firm."""
    names = STAFF[district or CITY_LEVEL]
    return names[zlib.crc32(enterprise_id.encode()) % len(names)]


NOTES: dict[Stage, tuple[str, ...]] = {
    Stage.recommended: ("系统推介第 {rank} 名，加入跟进", "按匹配结果第 {rank} 名推介给企业"),
    Stage.contacted: (
        "已电话联系企业负责人，介绍楼宇情况",
        "企业回复有兴趣，约定看房时间",
        "上门拜访企业，了解用房需求",
    ),
    Stage.visited: ("陪同企业实地看房", "企业负责人带队看房，关注通勤与配套"),
    Stage.intent: ("企业提交入驻意向，商谈面积与租金", "企业确认意向，等待内部决策"),
    Stage.signed: ("签订租赁合同", "完成签约，约定装修进场时间"),
    Stage.moved_in: ("企业已入驻办公", "企业完成搬迁，员工到岗"),
    Stage.applied: ("企业已报名揭榜", "协助企业准备揭榜方案"),
    Stage.shortlisted: ("方案评审入围", "企业进入答辩环节"),
    Stage.won: ("企业中标，签订项目合同",),
    Stage.not_won: ("评审未中标", "未进入最终名单"),
}  # fmt: skip
"""What staff write at each stage (a lost lead's note comes from its reason)."""
COMPETITOR_SIGNED = "企业已与其他楼宇签约"
NO_SPACE = "楼宇可用面积不足，无法满足企业需求"
OTHER_WINNER = "该场景已由其他企业中标"


def stage_note(stage: Stage, rank: int, rng: np.random.Generator) -> str:
    """A plausible note for reaching a stage other than `lost`."""
    options = NOTES[stage]
    return options[int(rng.integers(len(options)))].format(rank=rank)


def loss_note(kind: LeadKind, reason: LostReason) -> str:
    """The note of a lead lost for `reason`."""
    return f"{'楼宇' if kind == LeadKind.building else '场景'}跟进流失：{reason.label}"
