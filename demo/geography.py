# ruff: noqa: RUF001, RUF100
"""Chongqing places for the demo data: neighbourhoods, roads, metro stations, rents and region codes."""

from __future__ import annotations

from dataclasses import dataclass

from models.enums import District, Industry


@dataclass(frozen=True)
class Place:
    """A neighbourhood or business area inside a district, with its real approximate centre."""

    names: tuple[str, ...]
    lat: float
    lon: float
    roads: tuple[str, ...]
    metro: tuple[tuple[str, str], ...] = ()

    @property
    def name(self) -> str:
        """The place's usual name."""
        return self.names[0]


@dataclass(frozen=True)
class DistrictInfo:
    """What the generator knows about one district or development zone."""

    district: District
    weight: int
    rent: tuple[float, float]
    places: tuple[Place, ...]
    hubs: tuple[str, ...]
    streets: tuple[str, ...]
    region_codes: tuple[str, ...]
    favoured: tuple[Industry, ...]


DISTRICTS: tuple[DistrictInfo, ...] = (
    DistrictInfo(
        District.yuzhong,
        12,
        (70.0, 150.0),
        (
            Place(
                ("解放碑", "解放碑中央商务区"),
                29.5575,
                106.5770,
                ("民族路", "邹容路", "民权路", "五一路", "新华路"),
                (("1 号线", "小什字"), ("2 号线", "临江门"), ("2 号线", "较场口")),
            ),
            Place(
                ("朝天门", "朝天门来福士片区"),
                29.5650,
                106.5850,
                ("陕西路", "朝东路", "信义街", "新华路"),
                (("1 号线", "朝天门"), ("6 号线", "小什字")),
            ),
            Place(
                ("化龙桥", "化龙桥片区"),
                29.5640,
                106.5300,
                ("瑞天路", "虎头岩路", "化龙桥正街"),
                (("9 号线", "化龙桥"),),
            ),
            Place(
                ("大坪", "大坪商圈"),
                29.5400,
                106.5200,
                ("大坪正街", "长江二路", "石油路"),
                (("1 号线", "大坪"), ("2 号线", "大坪")),
            ),
            Place(
                ("上清寺", "上清寺片区"),
                29.5620,
                106.5520,
                ("中山四路", "中山三路", "人民路"),
                (("2 号线", "曾家岩"), ("2 号线", "牛角沱")),
            ),
        ),
        ("重庆站", "朝天门码头", "内环快速路"),
        ("解放碑街道办事处", "朝天门街道办事处", "化龙桥街道办事处", "大坪街道办事处"),
        ("500103",),
        (
            Industry.software_dev,
            Industry.digital_content,
            Industry.internet_platform,
            Industry.data_services,
            Industry.it_services,
        ),
    ),
    DistrictInfo(
        District.dadukou,
        4,
        (30.0, 70.0),
        (
            Place(
                ("建桥", "建桥工业园"),
                29.4620,
                106.4700,
                ("建桥大道", "建桥二路", "伏牛溪路"),
                (("2 号线", "建桥"),),
            ),
            Place(
                ("义渡", "义渡古镇片区"),
                29.4850,
                106.4800,
                ("文体路", "松青路", "翠柏路"),
                (("2 号线", "大渡口"),),
            ),
            Place(
                ("春晖路", "大渡口商圈"),
                29.4820,
                106.4840,
                ("春晖路", "新城路", "双山路"),
                (("2 号线", "新山村"),),
            ),
        ),
        ("重庆西站", "内环快速路"),
        ("春晖路街道办事处", "新山村街道办事处", "跃进村街道办事处"),
        ("500104",),
        (Industry.industrial_internet, Industry.data_services, Industry.digital_content),
    ),
    DistrictInfo(
        District.jiangbei,
        11,
        (65.0, 145.0),
        (
            Place(
                ("观音桥", "观音桥商圈"),
                29.5750,
                106.5330,
                ("建新北路", "建新东路", "洋河一路", "北城天街"),
                (("3 号线", "观音桥"), ("9 号线", "观音桥")),
            ),
            Place(
                ("江北嘴", "江北嘴中央商务区"),
                29.5720,
                106.5750,
                ("江北城西大街", "东升门路", "聚贤街"),
                (("6 号线", "大剧院"), ("6 号线", "江北城")),
            ),
            Place(
                ("五里店", "五里店片区"),
                29.5870,
                106.5740,
                ("五黄路", "港城东路", "建新东路"),
                (("6 号线", "五里店"), ("环线", "五里店")),
            ),
            Place(
                ("大石坝", "鸿恩寺片区"),
                29.5940,
                106.5260,
                ("石马河路", "大石支路", "鸿恩路"),
                (("9 号线", "鲤鱼池"),),
            ),
        ),
        ("重庆北站", "江北国际机场", "内环快速路"),
        ("观音桥街道办事处", "五里店街道办事处", "石马河街道办事处"),
        ("500105",),
        (Industry.internet_platform, Industry.data_services, Industry.software_dev, Industry.digital_content),
    ),
    DistrictInfo(
        District.shapingba,
        7,
        (40.0, 100.0),
        (
            Place(
                ("三峡广场", "沙坪坝商圈"),
                29.5560,
                106.4580,
                ("小龙坎正街", "汉渝路", "沙坪坝正街", "天陈路"),
                (("1 号线", "沙坪坝"), ("9 号线", "沙坪坝"), ("环线", "沙坪坝")),
            ),
            Place(
                ("大学城", "大学城片区"),
                29.6080,
                106.3070,
                ("大学城中路", "大学城南路", "景阳路"),
                (("1 号线", "大学城"),),
            ),
            Place(
                ("小龙坎", "小龙坎片区"),
                29.5510,
                106.4690,
                ("小龙坎新街", "土湾路", "新桥正街"),
                (("1 号线", "小龙坎"), ("环线", "小龙坎")),
            ),
        ),
        ("沙坪坝站", "重庆西站"),
        ("小龙坎街道办事处", "覃家岗街道办事处", "井口街道办事处"),
        ("500106",),
        (Industry.software_dev, Industry.industrial_design, Industry.info_security, Industry.it_services),
    ),
    DistrictInfo(
        District.jiulongpo,
        9,
        (45.0, 110.0),
        (
            Place(
                ("杨家坪", "杨家坪商圈"),
                29.5040,
                106.5130,
                ("杨家坪正街", "西郊路", "兴胜路"),
                (("2 号线", "杨家坪"),),
            ),
            Place(
                ("谢家湾", "谢家湾片区"),
                29.5120,
                106.5190,
                ("谢家湾正街", "黄杨路", "鹤兴路"),
                (("2 号线", "谢家湾"), ("环线", "谢家湾")),
            ),
            Place(
                ("九龙半岛", "九龙滨江片区"),
                29.4950,
                106.5330,
                ("黄桷坪正街", "九龙滨江路", "铁路四村"),
                (("2 号线", "动物园"),),
            ),
            Place(
                ("石桥铺", "石桥铺科技园"),
                29.5320,
                106.4890,
                ("石杨路", "科园一路", "渝州路"),
                (("1 号线", "石桥铺"), ("5 号线", "石桥铺")),
            ),
        ),
        ("重庆西站", "内环快速路"),
        ("杨家坪街道办事处", "谢家湾街道办事处", "石桥铺街道办事处"),
        ("500107",),
        (
            Industry.industrial_internet,
            Industry.industrial_design,
            Industry.software_dev,
            Industry.it_services,
        ),
    ),
    DistrictInfo(
        District.nanan,
        9,
        (45.0, 110.0),
        (
            Place(
                ("南坪", "南坪商圈"),
                29.5240,
                106.5620,
                ("南坪西路", "江南大道", "南城大道", "福红路"),
                (("3 号线", "南坪"),),
            ),
            Place(
                ("弹子石", "弹子石中央商务区"),
                29.5770,
                106.5990,
                ("腾龙大道", "泰昌路", "弹子石老街"),
                (("环线", "弹子石"),),
            ),
            Place(
                ("茶园", "茶园新城"),
                29.5060,
                106.6460,
                ("通江大道", "迎宾大道", "茶园路"),
                (("6 号线", "茶园"),),
            ),
            Place(
                ("南滨路", "南滨路片区"),
                29.5480,
                106.5800,
                ("南滨路", "烟雨路", "上新街正街"),
                (("6 号线", "上新街"),),
            ),
        ),
        ("重庆东站", "朝天门码头", "内环快速路"),
        ("南坪街道办事处", "弹子石街道办事处", "铜元局街道办事处"),
        ("500108",),
        (Industry.it_services, Industry.emerging_tech, Industry.ai, Industry.internet_platform),
    ),
    DistrictInfo(
        District.beibei,
        4,
        (30.0, 70.0),
        (
            Place(
                ("蔡家", "蔡家组团"),
                29.7250,
                106.4680,
                ("蔡家大道", "同兴北路", "嘉德大道"),
                (("6 号线", "蔡家"),),
            ),
            Place(("水土", "水土高新技术产业园"), 29.7820, 106.5170, ("云汉大道", "方正大道", "水土大道")),
            Place(
                ("北碚城区", "天生片区"),
                29.8260,
                106.4370,
                ("天生路", "云华路", "碚峡路"),
                (("6 号线", "天生"), ("6 号线", "北碚")),
            ),
        ),
        ("重庆北站", "蔡家嘉陵江大桥", "绕城高速"),
        ("天生街道办事处", "北温泉街道办事处", "蔡家岗街道办事处"),
        ("500109",),
        (Industry.emerging_tech, Industry.iot_embedded, Industry.industrial_design, Industry.data_services),
    ),
    DistrictInfo(
        District.yubei,
        11,
        (58.0, 135.0),
        (
            Place(("照母山", "照母山片区"), 29.6350, 106.4950, ("星光大道", "杨柳路", "金开大道")),
            Place(
                ("仙桃数据谷", "仙桃国际大数据谷"),
                29.7010,
                106.5530,
                ("数据谷中路", "数据谷东路", "仙桃大道"),
            ),
            Place(
                ("光电园", "光电园片区"),
                29.6200,
                106.5040,
                ("黄山大道", "杨柳北路", "高新园路"),
                (("6 号线", "光电园"),),
            ),
            Place(
                ("空港", "两路空港片区"),
                29.7180,
                106.6310,
                ("双龙大道", "空港大道", "双凤路"),
                (("3 号线", "双龙"), ("3 号线", "空港广场")),
            ),
            Place(
                ("新牌坊", "新牌坊商圈"),
                29.6050,
                106.5300,
                ("新南路", "红锦大道", "松石大道"),
                (("3 号线", "龙头寺"),),
            ),
        ),
        ("江北国际机场", "重庆北站"),
        ("双龙湖街道办事处", "龙山街道办事处", "回兴街道办事处"),
        ("500112",),
        (Industry.data_services, Industry.ai, Industry.it_services, Industry.iot_embedded),
    ),
    DistrictInfo(
        District.banan,
        5,
        (30.0, 75.0),
        (
            Place(("李家沱", "李家沱片区"), 29.4720, 106.5300, ("李家沱正街", "渝南大道", "马王坪正街")),
            Place(
                ("龙洲湾", "龙洲湾新区"),
                29.3900,
                106.5320,
                ("龙洲大道", "巴滨路", "渝南大道"),
                (("3 号线", "龙洲湾"),),
            ),
            Place(
                ("鱼洞", "鱼洞老城"),
                29.3880,
                106.5230,
                ("巴县大道", "鱼轻路", "新市街"),
                (("2 号线", "鱼洞"), ("3 号线", "鱼洞")),
            ),
        ),
        ("重庆东站", "绕城高速"),
        ("李家沱街道办事处", "龙洲湾街道办事处", "鱼洞街道办事处"),
        ("500113",),
        (Industry.iot_embedded, Industry.industrial_internet, Industry.data_services),
    ),
    DistrictInfo(
        District.liangjiang,
        12,
        (50.0, 120.0),
        (
            Place(
                ("礼嘉", "礼嘉智慧公园", "礼嘉商务区"),
                29.6610,
                106.5050,
                ("金渝大道", "礼慈路", "白云湖路"),
                (("6 号线", "礼嘉"),),
            ),
            Place(
                ("悦来", "悦来会展城"),
                29.7120,
                106.4800,
                ("悦来大道", "会展路", "悦港北路"),
                (("6 号线", "悦来"), ("10 号线", "悦来")),
            ),
            Place(
                ("鱼复", "鱼复新城"),
                29.6790,
                106.7880,
                ("鱼复大道", "复兴路", "龙兴大道"),
                (("4 号线", "鱼复"),),
            ),
            Place(
                ("两江数字经济产业园", "两江互联网产业园"),
                29.6330,
                106.5100,
                ("星光大道", "杨柳北路", "高新园路"),
                (("6 号线", "大竹林"),),
            ),
            Place(
                ("人和", "人和片区"),
                29.6450,
                106.5280,
                ("人和大道", "金童路", "青枫北路"),
                (("3 号线", "金童路"),),
            ),
        ),
        ("江北国际机场", "重庆北站", "果园港"),
        ("礼嘉街道办事处", "人和街道办事处", "鸳鸯街道办事处"),
        ("500112", "500105", "500000"),
        (
            Industry.ai,
            Industry.digital_content,
            Industry.iot_embedded,
            Industry.industrial_internet,
            Industry.software_dev,
        ),
    ),
    DistrictInfo(
        District.gaoxin,
        10,
        (38.0, 95.0),
        (
            Place(
                ("西永", "西永微电园", "西永综保区"),
                29.5870,
                106.2980,
                ("西永大道", "西园一路", "西园二路"),
                (("1 号线", "微电园"),),
            ),
            Place(("金凤", "金凤电子信息产业园"), 29.4920, 106.3270, ("凤栖路", "高新大道", "金凤大道")),
            Place(
                ("科学城", "科学谷", "西部（重庆）科学城"),
                29.6000,
                106.3180,
                ("科学大道", "科学谷路", "景阳路"),
                (("1 号线", "陈家桥"),),
            ),
            Place(
                ("二郎", "二郎科技新城"),
                29.5180,
                106.4460,
                ("科城路", "创业大道", "石小路"),
                (("环线", "二郎"),),
            ),
        ),
        ("重庆西站", "成渝高速"),
        ("西永街道办事处", "香炉山街道办事处", "虎溪街道办事处"),
        ("500106", "500107", "500000"),
        (Industry.ic_design, Industry.iot_embedded, Industry.ai, Industry.emerging_tech),
    ),
    DistrictInfo(
        District.jingkai,
        6,
        (35.0, 85.0),
        (
            Place(
                ("茶园", "茶园工业园"),
                29.5150,
                106.6550,
                ("通江大道", "经开大道", "迎宾大道"),
                (("6 号线", "刘家坪"),),
            ),
            Place(("长生桥", "长生桥片区"), 29.4830, 106.6700, ("长生大道", "果塘路", "广福大道")),
            Place(("迎龙", "迎龙创新港"), 29.4850, 106.6960, ("迎龙大道", "迎龙北路", "兴塘路")),
        ),
        ("重庆东站", "绕城高速"),
        ("长生桥镇人民政府", "迎龙镇人民政府", "峡口镇人民政府"),
        ("500108", "500000"),
        (Industry.industrial_internet, Industry.iot_embedded, Industry.it_services),
    ),
)

DISTRICT_INFO: dict[District, DistrictInfo] = {info.district: info for info in DISTRICTS}

# Registration regions of firms that are registered elsewhere in the municipality.
OTHER_REGION_CODES: tuple[str, ...] = (
    "500101",
    "500110",
    "500115",
    "500117",
    "500118",
    "500120",
    "500222",
    "500227",
    "500228",
)

# Cities that firms courted from outside Chongqing usually come from.
HOME_CITIES: tuple[str, ...] = (
    "北京",
    "上海",
    "深圳",
    "杭州",
    "成都",
    "广州",
    "南京",
    "武汉",
    "西安",
    "苏州",
    "合肥",
    "厦门",
    "长沙",
)
