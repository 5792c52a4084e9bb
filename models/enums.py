"""The closed vocabularies of the catalogue: industries, districts, record enums and amenities."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from functools import cache
from typing import Self


class LabelledEnum(StrEnum):
    """A string enum whose members also carry a Chinese label."""

    label: str

    def __new__(cls, value: str, label: str) -> LabelledEnum:
        """Create a member whose value is the code and whose `label` is its Chinese name."""
        member = str.__new__(cls, value)
        member._value_ = value
        member.label = label
        return member

    @classmethod
    def parse(cls, text: str) -> Self:
        """Return the member named by its code or its Chinese label; raise ValueError otherwise."""
        cleaned = text.strip()
        member = cls._value2member_map_.get(cleaned) or _labels(cls).get(cleaned)
        if member is None:
            raise ValueError(cleaned)
        return member  # type: ignore[return-value]

    @classmethod
    def among(cls, codes: Iterable[str]) -> list[Self]:
        """The members named by code among free strings, in the order given; other strings are left out."""
        return [cls.parse(code) for code in codes if code in cls._value2member_map_]

    @classmethod
    def label_of(cls, code: str) -> str:
        """The Chinese label of the member with this code, or the string as written when none has it."""
        return cls.parse(code).label if code in cls._value2member_map_ else code


@cache
def _labels(enum_class: type[LabelledEnum]) -> dict[str, LabelledEnum]:
    """Members of an enum by their Chinese label."""
    return {member.label: member for member in enum_class}


class Industry(LabelledEnum):
    """The twelve industries of the action plan."""

    software_dev = "software_dev", "软件开发"
    ic_design = "ic_design", "集成电路设计"
    industrial_design = "industrial_design", "工业设计"
    info_security = "info_security", "信息安全"
    ai = "ai", "人工智能"
    industrial_internet = "industrial_internet", "工业互联网"
    iot_embedded = "iot_embedded", "物联网和嵌入式软件"
    it_services = "it_services", "信息技术服务"
    digital_content = "digital_content", "数字内容服务"
    data_services = "data_services", "数据服务"
    internet_platform = "internet_platform", "互联网平台服务"
    emerging_tech = "emerging_tech", "新兴技术服务"


class District(LabelledEnum):
    """The central districts and development zones; code and label are the same string."""

    yuzhong = "渝中区", "渝中区"
    dadukou = "大渡口区", "大渡口区"
    jiangbei = "江北区", "江北区"
    shapingba = "沙坪坝区", "沙坪坝区"
    jiulongpo = "九龙坡区", "九龙坡区"
    nanan = "南岸区", "南岸区"
    beibei = "北碚区", "北碚区"
    yubei = "渝北区", "渝北区"
    banan = "巴南区", "巴南区"
    liangjiang = "两江新区", "两江新区"
    gaoxin = "重庆高新区", "重庆高新区"
    jingkai = "重庆经开区", "重庆经开区"


class FitOut(LabelledEnum):
    """How far a building's space is fitted out."""

    move_in_ready = "move_in_ready", "拎包入住"
    basic = "basic", "简装"
    shell = "shell", "毛坯"


class Grade(LabelledEnum):
    """Office building grade."""

    A = "A", "A"
    B = "B", "B"
    C = "C", "C"


class Origin(LabelledEnum):
    """Where a firm comes from; in-city relocations get no new-entrant incentives."""

    outside_city = "outside_city", "市外引进"
    in_city_relocation = "in_city_relocation", "市内迁移"
    new_startup = "new_startup", "新设立"


class EnterpriseTag(LabelledEnum):
    """Recognitions a firm may hold."""

    leading = "leading", "领军企业"
    specialized_sme = "specialized_sme", "专精特新"
    little_giant = "little_giant", "小巨人"
    hidden_champion = "hidden_champion", "隐形冠军"


class OwnerType(LabelledEnum):
    """Who publishes a scenario."""

    government = "government", "政府部门"
    soe = "soe", "国有企业"
    enterprise = "enterprise", "重点企业"


class ScenarioLevel(LabelledEnum):
    """The level at which a scenario is published."""

    city = "city", "市级"
    district = "district", "区级"


class ScenarioDomain(LabelledEnum):
    """The plan's two scenario directions."""

    smart_manufacturing = "smart_manufacturing", "智造重镇"
    smart_city = "smart_city", "智慧名城"
    other = "other", "其他"


class ScenarioBatch(LabelledEnum):
    """The plan's rolling batches: collect, develop, expand."""

    collect = "collect", "征集一批"
    develop = "develop", "开发一批"
    expand = "expand", "拓展一批"


class ScenarioStatus(LabelledEnum):
    """A scenario's life cycle; only `open` scenarios are recommended."""

    draft = "draft", "草稿"
    open = "open", "征集中"
    closed = "closed", "已截止"
    awarded = "awarded", "已揭榜"


class Amenity(LabelledEnum):
    """The amenities the matcher knows; records list them as free strings, and others count for nothing."""

    incubator = "incubator", "孵化器"
    canteen = "canteen", "食堂"
    talent_apartment = "talent_apartment", "人才公寓"
    metro = "metro", "地铁"
    parking = "parking", "停车场"
    gym = "gym", "健身房"
    meeting_center = "meeting_center", "会议中心"
    data_center = "data_center", "数据机房"
    shuttle_bus = "shuttle_bus", "通勤班车"
