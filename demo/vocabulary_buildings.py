# ruff: noqa: RUF001, RUF100
"""Words for demo buildings: name parts, amenities, 一楼一策 prose and incentive clauses."""

from __future__ import annotations

TOWER_BRANDS: tuple[str, ...] = (
    "环球",
    "未来",
    "时代",
    "财富",
    "汇金",
    "金源",
    "联合",
    "天地",
    "星光",
    "华宇",
    "恒信",
    "嘉陵",
    "长江",
    "渝商",
    "协和",
    "中环",
    "世纪",
    "银河",
    "国汇",
    "盛世",
    "两江",
    "朝晖",
    "融汇",
    "新城",
    "创富",
    "金鹰",
)
TOWER_KINDS: tuple[str, ...] = (
    "金融中心",
    "国际大厦",
    "商务大厦",
    "中心",
    "广场",
    "国际中心",
    "大厦",
    "商务中心",
    "总部大厦",
    "科技大厦",
    "国际广场",
    "写字楼",
)
PARK_KINDS: tuple[str, ...] = (
    "数字产业园",
    "软件园",
    "科创中心",
    "互联网产业园",
    "创新港",
    "智谷",
    "大数据产业园",
    "双创基地",
    "科技园",
    "数字经济产业园",
    "创意产业园",
    "软件和信息服务产业园",
)
OLD_USES: tuple[str, ...] = ("宾馆", "百货大楼", "商场", "办公楼", "招待所", "职工大楼", "电子市场")
NEW_USES: tuple[str, ...] = ("数字经济大楼", "软件产业楼", "信息服务产业大厦", "创新创业大楼", "数字产业楼")

# Building-name patterns: {p} place, {b} brand, {k} tower kind, {g} park kind, {o} old use, {u} new use,
# {x} a wing letter, {n} a building number.
NAME_PATTERNS: tuple[tuple[str, int], ...] = (
    ("{p}{b}{k}", 24),
    ("{p}{b}{k} {x} 座", 18),
    ("{p}{g} {n} 号楼", 14),
    ("{b}{g} {n} 栋", 8),
    ("{b}{k}", 10),
    ("{p}{u}（原{b}{o}）", 8),
    ("{p}{b}{g}", 12),
    ("{b}{k} {x} 座", 6),
)
WINGS: tuple[str, ...] = ("A", "B", "C", "D", "E")

AMENITY_LABELS: dict[str, str] = {
    "incubator": "孵化器",
    "canteen": "员工食堂",
    "talent_apartment": "人才公寓",
    "metro": "轨道交通",
    "parking": "地下停车场",
    "gym": "健身房",
    "meeting_center": "共享会议中心",
    "data_center": "数据机房",
    "shuttle_bus": "通勤班车",
}
AMENITY_WEIGHTS: dict[str, float] = {
    "incubator": 0.3,
    "canteen": 0.55,
    "talent_apartment": 0.3,
    "parking": 0.7,
    "gym": 0.25,
    "meeting_center": 0.45,
    "data_center": 0.15,
    "shuttle_bus": 0.2,
}

# Location sentences: {p} place, {r} road, {d} district, {o} old use, {q} grade words.
LOCATIONS: tuple[str, ...] = (
    "项目位于{p}核心区域，紧邻{r}。",
    "楼宇地处{p}，周边软件和信息服务企业集聚。",
    "项目位于{d}{p}，是区里首批纳入“满天星”行动计划的存量楼宇。",
    "楼宇由原{o}改造而成，位于{r}沿线，已按“拎包入住”标准完成公区改造。",
    "大楼坐落在{p}{r}旁，{q}。",
    "项目位于{p}片区，临{r}，视野开阔、采光良好。",
)
GRADE_WORDS: dict[str, str] = {"A": "为甲级写字楼", "B": "为乙级写字楼", "C": "楼龄较长但租金实惠"}
# Transport sentences: {l} metro line, {t} station, {n} minutes, {m} metres, {h} hub.
METRO_SENTENCES: tuple[str, ...] = (
    "步行约 {n} 分钟可达轨道交通{l}{t}站。",
    "距轨道交通{l}{t}站约 {m} 米，通勤便利。",
    "紧邻{l}{t}站，出站即到。",
)
ROAD_SENTENCES: tuple[str, ...] = (
    "周边公交线路密集，驾车约 {n} 分钟可达{h}。",
    "距{h}车程约 {n} 分钟。",
    "驾车 {n} 分钟可上{h}，另有公交线路直达。",
)
SERVICE_SENTENCES: tuple[str, ...] = (
    "楼内配套{a}。",
    "配有{a}等设施。",
    "楼宇提供{a}，并有专业运营团队驻场服务。",
)
INCUBATOR_SENTENCE = "楼内设有孵化器，可为初创团队提供工商注册、政策申报和投融资对接等一站式服务。"
# Focus sentences: {f} what the wanted firms do, {c} a cluster name, {n} a count.
FOCUS_SENTENCES: tuple[str, ...] = (
    "按照“一楼一策”，重点引进{f}企业。",
    "按照“一楼一策”，重点引进{f}企业，打造{c}产业集聚区。",
    "“一楼一策”定位为{c}主题楼宇，优先引进{f}企业。",
    "楼宇重点面向{f}企业招商，目前已入驻同类企业 {n} 家。",
    "主要面向从事{f}的企业招商，可按需定制装修。",
)
GENERIC_FOCUS_SENTENCES: tuple[str, ...] = (
    "面向软件和信息服务企业招商，可为初创团队灵活分割。",
    "重点引进软件和信息服务领域的总部型企业和成长型企业。",
    "“一楼一策”尚在制定中，目前对各类软件和信息服务企业开放。",
)

# Incentive clauses: {n} months, {a} apartments, {w} ten-thousand yuan, {s} subsidy per m², {c} percentage.
RENT_INCENTIVES: tuple[str, ...] = (
    "新入驻企业前两年租金全免，第三年减半",
    "免租 {n} 个月",
    "前三年租金按 {c}% 给予补贴",
    "租金“三免两减半”",
    "首年租金全免，次年减半",
    "按实际租金的 50% 给予补贴，最长 3 年",
    "年租金补贴最高 {w} 万元",
)
FIT_OUT_INCENTIVES: dict[str, tuple[str, ...]] = {
    "move_in_ready": ("已精装修，拎包入住", "家具和网络已配齐，拎包入住"),
    "basic": ("装修补贴 {s} 元/㎡", "二次装修给予一次性补贴，最高 {w} 万元"),
    "shell": ("装修补贴 {s} 元/㎡", "装修期 {n} 个月免租", "按装修投入的 30% 给予补贴，最高 {w} 万元"),
}
OTHER_INCENTIVES: tuple[str, ...] = (
    "提供人才公寓 {a} 套",
    "宽带接入费用首年全免",
    "免费使用共享会议室和路演厅",
    "协助申报软件首版次和“专精特新”认定",
    "年营收超过 1000 万元的企业给予一次性落户奖励 {w} 万元",
    "区级产业基金优先跟投",
    "协调员工子女入学",
    "物业费前两年减半",
    "新增从业人员每人给予 2000 元招聘补贴",
)
INCENTIVE_NOTES: tuple[str, ...] = (
    "（市内迁移企业不享受新入驻政策）",
    "（须承诺在本区纳税满 5 年）",
    "（以区政府最终认定为准）",
    "（企业市内迁移的除外）",
)
