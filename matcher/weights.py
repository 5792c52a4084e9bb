"""The administrator's weights: one validated object holding every tunable number of the matcher."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from matcher.registry import factor_names

BUILDING_FACTORS = factor_names("buildings")
SCENARIO_FACTORS = factor_names("scenarios")


def _weight(default: float, meaning: str) -> float:
    """A factor weight between 0 and 1 with its meaning in Chinese."""
    return Field(default=default, ge=0.0, le=1.0, description=meaning)


class Weights(BaseModel):
    """Every weight of the matcher, with documented defaults; unknown keys and out-of-range values fail."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    semantic: float = _weight(0.30, "语义匹配：企业简介与楼宇介绍或场景描述的文本相似度")
    industry: float = _weight(
        0.30, "产业契合：企业所属产业（申报或推断）与楼宇重点产业、场景所需产业是否一致"
    )
    district: float = _weight(0.10, "意向区域：楼宇或场景是否位于企业的意向区域")
    area: float = _weight(0.08, "面积匹配：可租面积与需求面积越接近越好，远大于需求的得分降低")
    rent: float = _weight(0.06, "租金余量：租金低于企业租金上限越多越好")
    fit_out: float = _weight(0.04, "装修状态：拎包入住优先，其次简装")
    amenities: float = _weight(0.03, "配套：地铁、食堂、人才公寓、孵化器等配套的丰富程度")
    cluster: float = _weight(0.05, "产业集聚：所在区已有同产业楼宇（一楼一策）集聚的程度")
    incentives: float = _weight(0.04, "入驻政策：楼宇有新入驻支持政策且企业有资格享受（市内迁移不享受）")
    budget: float = _weight(0.10, "预算规模：场景预算与企业体量是否相称")
    urgency: float = _weight(0.04, "截止紧迫度：越临近截止日期越需要优先关注（已截止的不推荐）")
    lexical_blend: float = Field(
        default=0.35,
        ge=0.0,
        le=1.0,
        description="词面权重：语义匹配中字符 n-gram（TF-IDF）通道所占比例，其余为向量语义通道",
    )
    spread: float = Field(
        default=0.5,
        ge=0.0,
        le=1.0,
        description="满天星分散度：同一区已入选的结果越多，后续同区结果扣分越多（0 为不分散）",
    )

    @classmethod
    def label(cls, name: str) -> str:
        """A weight's short Chinese name: its description up to the colon."""
        return (cls.model_fields[name].description or name).split("：")[0]

    def factor_weights(self, factors: tuple[str, ...]) -> dict[str, float]:
        """The weights of the named factors."""
        return {name: float(getattr(self, name)) for name in factors}
