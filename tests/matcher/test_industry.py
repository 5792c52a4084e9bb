"""Industry inference from Chinese prose: synonyms, traps, declared codes, vectors and accuracy."""

from __future__ import annotations

import numpy as np
import pytest

from matcher.industry import (
    EVIDENCE_CACHE,
    INDUSTRY_CODES,
    MIN_CONFIDENCE,
    IndustryGuess,
    industry_matrix,
    industry_vector,
    infer_industries,
    term_counts,
    term_evidence,
)
from models.enums import Industry


def top(text: str) -> str | None:
    """The best inferred industry code of a text, or None when nothing is inferred."""
    guesses = infer_industries(text)
    return guesses[0].code if guesses else None


def codes(text: str, limit: int = 3) -> list[str]:
    """All inferred codes of a text, best first."""
    return [guess.code for guess in infer_industries(text, limit=limit)]


# Each industry by its jargon, in sentences like those of firm profiles, building ledgers and tenders.
SYNONYM_CASES: list[tuple[str, str]] = [
    # software_dev
    ("为制造企业提供 ERP、CRM 与进销存等管理软件的定制开发服务", "software_dev"),
    ("基于低代码平台为政府部门快速搭建 OA 协同办公系统", "software_dev"),
    ("承接微信小程序、APP 开发及网站建设业务，拥有 30 余项软件著作权", "software_dev"),
    ("公司是一家行业软件研发企业，主营医院信息系统与 PACS 影像系统", "software_dev"),
    ("Java 全栈开发团队，专注中间件与微服务架构的应用软件", "software_dev"),
    # ic_design
    ("公司专注模拟芯片与射频前端设计，已完成 28nm 流片", "ic_design"),
    ("Fabless 模式的 SoC 设计企业，自研 IP 核并使用国产 EDA 工具", "ic_design"),
    ("提供数字 IC 前端 RTL 设计、Verilog 验证和版图设计外包服务", "ic_design"),
    ("研发车规级芯片和电源管理芯片，面向新能源汽车客户", "ic_design"),
    ("集成电路设计企业，主要产品为 MEMS 传感器芯片与 ASIC", "ic_design"),
    # industrial_design
    ("为摩托车和家电企业提供产品外观、结构设计与 CMF 方案", "industrial_design"),
    ("工业设计公司，服务涵盖造型设计、人机工程分析和手板模型制作", "industrial_design"),
    ("作品曾获红点奖和 iF 设计奖，擅长医疗器械设计", "industrial_design"),
    ("专注智能硬件的工业产品设计，使用 SolidWorks 与 KeyShot 完成建模渲染", "industrial_design"),
    ("市级工业设计中心，为装备制造企业提供汽车造型与人机交互设计", "industrial_design"),
    # info_security
    ("提供等保测评、渗透测试和安全运营服务的网络安全企业", "info_security"),
    ("零信任访问控制与态势感知平台厂商，服务金融和能源客户", "info_security"),
    ("商用密码应用安全性评估（密评）机构，具备国密产品研发能力", "info_security"),
    ("组织攻防演练和护网行动，开展漏洞挖掘与威胁情报分析", "info_security"),
    ("研发防火墙、堡垒机和日志审计等安全产品", "info_security"),
    # ai
    ("基于大模型的智能客服与知识图谱问答系统开发商", "ai"),
    ("机器视觉缺陷检测算法公司，核心团队深耕深度学习多年", "ai"),
    ("提供语音识别、语音合成及自然语言处理（NLP）能力开放平台", "ai"),
    ("人脸识别与行为识别等计算机视觉算法在智慧安防中的应用", "ai"),
    ("AIGC 多模态生成模型的预训练与推理服务", "ai"),
    # industrial_internet
    ("为离散制造企业建设 MES 制造执行系统和数字化车间", "industrial_internet"),
    ("设备上云与预测性维护平台，服务重庆汽摩企业智改数转", "industrial_internet"),
    ("工业互联网标识解析二级节点建设和工业 APP 开发", "industrial_internet"),
    ("基于数字孪生和边缘计算的智能工厂解决方案，接入 SCADA 与 PLC 数据", "industrial_internet"),
    ("提供 PLM、APS 高级排产等工业软件，助力两化融合", "industrial_internet"),
    # iot_embedded
    ("车载终端与 T-Box 嵌入式软件开发，基于 RTOS 与 MCU 平台", "iot_embedded"),
    ("智能网关和各类传感器的固件开发，支持 NB-IoT、LoRa 通信", "iot_embedded"),
    ("智能家居与可穿戴设备的单片机程序和底层驱动开发", "iot_embedded"),
    ("智能电表、智能水表等物联网终端的研发与 OTA 升级服务", "iot_embedded"),
    ("基于 STM32 与 FreeRTOS 的工业控制器嵌入式系统研发", "iot_embedded"),
    # it_services
    ("承接政企客户系统集成、IT 运维和机房建设项目", "it_services"),
    ("提供云迁移、私有云部署和灾备服务的信息技术服务商", "it_services"),
    ("信创适配与国产化替代服务，开展驻场技术支持", "it_services"),
    ("IT 外包与呼叫中心运营，拥有 ITSS 运维资质", "it_services"),
    ("综合布线、弱电工程与网络运维一体化服务", "it_services"),
    # digital_content
    ("原创动漫 IP 孵化与三维动画制作工作室", "digital_content"),
    ("手游研发与发行，旗下多款游戏上线运营", "digital_content"),
    ("虚拟人直播与短视频内容创作的 MCN 机构", "digital_content"),
    ("数字出版与网络文学平台，提供有声书制作服务", "digital_content"),
    ("影视特效和 VFX 后期制作公司，参与多部电影 CG 制作", "digital_content"),
    # data_services
    ("为自动驾驶和大模型客户提供数据标注与数据清洗服务", "data_services"),
    ("数据治理、数据中台与数据资产入表咨询服务商", "data_services"),
    ("在重庆数据交易所挂牌数据产品，参与公共数据授权运营", "data_services"),
    ("基于 Hadoop 与 Spark 的数据仓库建设及 BI 商业智能报表", "data_services"),
    ("舆情监测与大数据分析服务，提供行业数据报告", "data_services"),
    # internet_platform
    ("跨境电商平台运营，主营东南亚 B2C 网络零售", "internet_platform"),
    ("本地生活服务平台，提供外卖和团购业务", "internet_platform"),
    ("网络货运平台，为中小物流企业撮合车货匹配", "internet_platform"),
    ("面向餐饮门店的 SaaS 平台，入驻商家超过一万家", "internet_platform"),
    ("大宗商品供应链平台，提供在线交易与供应链金融服务", "internet_platform"),
    # emerging_tech
    ("区块链存证与智能合约平台，基于联盟链技术", "emerging_tech"),
    ("元宇宙与 Web3 应用开发，发行数字藏品", "emerging_tech"),
    ("量子通信与量子计算软件研发", "emerging_tech"),
    ("卫星互联网地面终端与北斗高精度定位服务", "emerging_tech"),
    ("脑机接口与低空经济无人机应用的前沿技术研发", "emerging_tech"),
]


@pytest.mark.parametrize(
    ("text", "expected"),
    SYNONYM_CASES,
    ids=[f"{code}-{index}" for index, (_, code) in enumerate(SYNONYM_CASES)],
)
def test_synonyms_give_the_industry_first(text: str, expected: str) -> None:
    """A sentence written in one industry's jargon puts that industry first."""
    assert top(text) == expected


@pytest.mark.parametrize("member", list(Industry), ids=lambda member: member.value)
def test_the_industry_name_itself_is_strong_evidence(member: Industry) -> None:
    """The Chinese name of an industry alone gives it first, with high confidence."""
    guesses = infer_industries(f"本公司属于{member.label}行业。")
    assert guesses[0].code == member.value
    assert guesses[0].confidence > 0.9
    assert member.label in guesses[0].evidence


@pytest.mark.parametrize(
    ("text", "absent"),
    [
        ("专注室内设计的 SaaS 工具", "industrial_design"),
        ("服装设计工作室，承接品牌服饰定制", "industrial_design"),
        ("建筑设计院，提供施工图设计与建筑结构设计", "industrial_design"),
        ("景观设计与园林设计公司", "industrial_design"),
        ("安全生产监管平台建设项目", "info_security"),
        ("食品安全追溯与交通安全宣传", "info_security"),
        ("校园安全培训与消防安全检查服务", "info_security"),
        ("面向小学数学的游戏化教学课程", "digital_content"),
        ("公司近年不断拓展业务版图", "ic_design"),
        ("楼宇物业运维团队 24 小时值守", "it_services"),
        ("推动软件和信息服务业高质量发展", "it_services"),
        ("坐落于软件园内的甲级写字楼", "software_dev"),
        ("email us to maintain the chain", "ai"),
    ],
)
def test_traps_do_not_give_the_lookalike_industry(text: str, absent: str) -> None:
    """Phrases that only look like an industry's jargon do not infer it at all."""
    assert absent not in codes(text, limit=12)


def test_interior_design_saas_is_not_industrial_design_first() -> None:
    """室内设计 SaaS is a platform or software, never industrial design."""
    assert top("室内设计 SaaS 平台") not in (None, "industrial_design")


def test_fire_safety_iot_is_iot_not_security() -> None:
    """消防安全物联网监测 is IoT; 消防安全 is not information security."""
    found = codes("消防安全物联网监测系统")
    assert found[0] == "iot_embedded"
    assert "info_security" not in found


def test_chip_trading_is_weak_for_ic_design() -> None:
    """Selling chips is at most weak evidence of designing them."""
    guesses = {guess.code: guess for guess in infer_industries("电子元器件贸易公司，从事芯片经销与分销")}
    assert "ic_design" not in guesses or guesses["ic_design"].confidence < 0.3
    designer = infer_industries("芯片设计公司，已完成多次流片")[0]
    assert designer.code == "ic_design"
    assert designer.confidence > 0.9


def test_gamified_teaching_is_not_games_but_games_are() -> None:
    """游戏化教学 hides 游戏, while a game studio is digital content."""
    assert "digital_content" not in codes("游戏化教学")
    assert top("游戏开发工作室") == "digital_content"


def test_sensor_data_platform_supports_iot_and_data() -> None:
    """传感器数据分析平台 supports both IoT and data services."""
    found = codes("传感器数据分析平台")
    assert set(found[:2]) == {"iot_embedded", "data_services"}


def test_overlapping_terms_both_count() -> None:
    """大数据 and 数据分析 overlap in 大数据分析; both are evidence."""
    guess = infer_industries("大数据分析")[0]
    assert guess.code == "data_services"
    assert set(guess.evidence) == {"大数据", "数据分析"}


def test_terms_inside_longer_terms_do_not_count_twice() -> None:
    """工业互联网 does not also count as 互联网 (internet platforms)."""
    assert codes("工业互联网") == ["industrial_internet"]


def test_declared_code_wins_and_comes_first() -> None:
    """A declared industry comes first at confidence 1.0; the inferred one follows."""
    guesses = infer_industries("公司从事芯片设计与流片验证", declared=["ai"])
    assert guesses[0] == IndustryGuess("ai", 1.0, (), declared=True)
    assert guesses[1].code == "ic_design"
    assert not guesses[1].declared
    assert guesses[1].confidence < 1.0


def test_declared_and_inferred_same_code_merge() -> None:
    """An inferred code equal to a declared one appears once, as declared, with its evidence."""
    guesses = infer_industries("芯片设计与流片", declared=["ic_design"])
    assert [guess.code for guess in guesses] == ["ic_design"]
    assert guesses[0].declared
    assert guesses[0].confidence == 1.0
    assert set(guesses[0].evidence) == {"芯片设计", "流片"}


def test_declared_accepts_chinese_labels_and_rejects_unknown() -> None:
    """Declared industries may be codes or Chinese labels; anything else is an error."""
    assert infer_industries("", declared=["人工智能", "ai"]) == [IndustryGuess("ai", 1.0, (), declared=True)]
    with pytest.raises(ValueError, match="unknown industry"):
        infer_industries("", declared=["房地产"])


def test_declared_are_kept_beyond_the_limit() -> None:
    """All declared codes are kept; inferred ones only fill what the limit leaves."""
    guesses = infer_industries("区块链", declared=["ai", "ic_design", "data_services"], limit=3)
    assert [guess.code for guess in guesses] == ["ai", "ic_design", "data_services"]
    assert [guess.code for guess in infer_industries("区块链", declared=["ai"], limit=3)] == [
        "ai",
        "emerging_tech",
    ]


@pytest.mark.parametrize("text", ["", "   ", "公司位于重庆市渝中区解放碑", "hello world"])
def test_texts_without_evidence_give_nothing(text: str) -> None:
    """Empty or unrelated texts infer no industry."""
    assert infer_industries(text) == []


def test_evidence_lists_the_matched_terms_strongest_first() -> None:
    """Evidence names the table's terms as matched, strongest first."""
    guess = infer_industries("我们做芯片，也做流片服务")[0]
    assert guess.code == "ic_design"
    assert guess.evidence == ("流片", "芯片")


def test_evidence_is_shared_read_only_between_calls() -> None:
    text = "工业互联网平台与机器视觉质检"
    evidence = term_evidence(text)
    assert term_evidence(text) is evidence
    assert evidence
    with pytest.raises(TypeError):
        evidence["X"] = ()  # type: ignore[index]


def test_evidence_is_cached_once_up_to_its_limit() -> None:
    """One cache of `EVIDENCE_CACHE` texts, not a smaller one in front of it."""
    assert term_evidence.cache_info().maxsize == EVIDENCE_CACHE
    assert not hasattr(term_evidence.__wrapped__, "cache_info")


def test_case_width_and_spacing_do_not_matter() -> None:
    """Full-width, lower-case and spaced forms match the same terms as the table's spelling."""
    for text in ("ＩＰ核授权", "ip 核授权", "IP核授权"):
        guess = infer_industries(text)[0]
        assert (guess.code, guess.evidence) == ("ic_design", ("IP核",))


def test_english_abbreviations_respect_word_edges() -> None:
    """AI, OA and BI match as words, not inside longer English words."""
    assert top("AI 赋能") == "ai"
    assert codes("Email Board Mobile") == []
    assert top("部署 OA") == "software_dev"


def test_limit_and_threshold() -> None:
    """No more inferred guesses than the limit, all above the threshold, best first."""
    text = "芯片设计、区块链、数据标注、游戏开发与网络安全"
    guesses = infer_industries(text, limit=2)
    assert len(guesses) == 2
    everything = infer_industries(text, limit=12)
    assert len(everything) == 5
    assert all(guess.confidence >= MIN_CONFIDENCE for guess in everything)
    assert [guess.confidence for guess in everything] == sorted(
        (g.confidence for g in everything), reverse=True
    )


def test_industry_codes_follow_the_enum() -> None:
    """INDUSTRY_CODES are the enum's codes, in order."""
    assert tuple(member.value for member in Industry) == INDUSTRY_CODES
    assert len(INDUSTRY_CODES) == 12


def test_industry_vector_shape_dtype_and_order() -> None:
    """The vector has one float32 entry per industry, in enum order, holding confidences."""
    guesses = infer_industries("区块链与芯片设计", declared=["ai"])
    vector = industry_vector(guesses)
    assert vector.shape == (12,)
    assert vector.dtype == np.float32
    assert vector[INDUSTRY_CODES.index("ai")] == 1.0
    for guess in guesses:
        assert vector[INDUSTRY_CODES.index(guess.code)] == pytest.approx(guess.confidence)
    assert np.count_nonzero(vector) == len(guesses)
    assert not industry_vector([]).any()


def test_industry_matrix_matches_the_single_record_path() -> None:
    """Each matrix row equals the vector of that record's guesses."""
    texts = [text for text, _ in SYNONYM_CASES] + ["", "室内设计", "芯片\x00流片", "区块链 ＡＩ"]
    declared: list[list[str]] = [["ai"] if index % 5 == 0 else [] for index in range(len(texts))]
    declared[-1] = ["数据服务", "ic_design", "software_dev", "ai"]
    matrix = industry_matrix(texts, declared)
    assert matrix.shape == (len(texts), 12)
    assert matrix.dtype == np.float32
    for row, (text, codes_given) in enumerate(zip(texts, declared, strict=True)):
        np.testing.assert_allclose(
            matrix[row], industry_vector(infer_industries(text, codes_given)), atol=1e-6
        )
    assert industry_matrix([], []).shape == (0, 12)
    with pytest.raises(ValueError, match="declared"):
        industry_matrix(["a"], [])


def test_every_industry_has_enough_terms() -> None:
    """Each industry is backed by a sizeable term table."""
    counts = term_counts()
    assert set(counts) == set(INDUSTRY_CODES)
    assert min(counts.values()) >= 25


# Short descriptions, different from the cases above, for an overall top-1 accuracy check.
ACCURACY_SET: list[tuple[str, str]] = [
    ("为连锁药店开发进销存管理系统和会员小程序", "software_dev"),
    ("专业从事政务软件开发，产品覆盖审批与电子政务系统", "software_dev"),
    ("财务软件与人力资源 HRM 系统的研发销售", "software_dev"),
    ("企业级 APP 开发与二次开发外包团队", "software_dev"),
    ("高性能 GPU 与 AI 芯片的架构设计公司", "ic_design"),
    ("专注功率半导体与模拟 IC 设计的初创企业", "ic_design"),
    ("提供 SerDes 接口 IP 授权与芯片后端服务", "ic_design"),
    ("微电子研发中心，开展存储芯片设计与验证", "ic_design"),
    ("为农机企业提供整机造型设计和样机开发", "industrial_design"),
    ("家具设计与电子产品设计双线发展的设计公司", "industrial_design"),
    ("交通工具设计团队，负责电动摩托车外观与结构设计", "industrial_design"),
    ("以设计创新驱动的工业设计服务平台，获多项设计奖", "industrial_design"),
    ("提供云安全和终端安全防护解决方案", "info_security"),
    ("数据安全与个人信息保护合规咨询", "info_security"),
    ("网络靶场与 CTF 竞赛平台开发", "info_security"),
    ("勒索病毒应急处置与恶意代码分析", "info_security"),
    ("智能驾驶感知算法与强化学习研究", "ai"),
    ("OCR 票据识别与智能问答机器人", "ai"),
    ("医学影像 AI 辅助诊断，基于神经网络模型", "ai"),
    ("机器翻译与语义理解引擎研发", "ai"),
    ("为钢铁企业搭建工业大数据平台和机理模型库", "industrial_internet"),
    ("5G 全连接工厂建设与设备联网改造", "industrial_internet"),
    ("云制造与协同制造平台，服务中小制造企业", "industrial_internet"),
    ("设备健康管理与故障诊断系统，基于工业物联网", "industrial_internet"),
    ("智能门锁与蓝牙模组的嵌入式开发", "iot_embedded"),
    ("基于 OpenHarmony 的智能终端设备研发", "iot_embedded"),
    ("车联网 ECU 软件与 AUTOSAR 开发服务", "iot_embedded"),
    ("环境在线监测终端与感知设备生产研发", "iot_embedded"),
    ("IDC 数据中心托管与服务器运维", "it_services"),
    ("信息化规划咨询与信息系统监理服务", "it_services"),
    ("IT 服务外包，提供桌面运维与网络运维", "it_services"),
    ("混合云部署与 IaaS 资源运维服务", "it_services"),
    ("漫画创作与二次元原画美术外包", "digital_content"),
    ("融媒体中心内容运营与视频制作", "digital_content"),
    ("电竞赛事内容与网游运营", "digital_content"),
    ("数字音乐与有声读物的制作发行", "digital_content"),
    ("企业主数据与元数据管理，DCMM 贯标咨询", "data_services"),
    ("征信数据与信用数据服务机构", "data_services"),
    ("数据要素流通与数据确权服务平台", "data_services"),
    ("ETL 数据集成与数据可视化大屏开发", "data_services"),
    ("社区团购与社交电商平台", "internet_platform"),
    ("网约车出行平台的区域运营", "internet_platform"),
    ("互联网医院与在线问诊服务", "internet_platform"),
    ("二手交易平台，月活用户超过百万", "internet_platform"),
    ("卫星通信与空天信息应用", "emerging_tech"),
    ("增强现实与混合现实眼镜的应用开发", "emerging_tech"),
    ("分布式账本与数字人民币应用试点", "emerging_tech"),
    ("商业航天测控软件与 6G 通信预研", "emerging_tech"),
]


def test_accuracy_set_covers_every_industry_evenly() -> None:
    """The accuracy set has four descriptions per industry, none reused from the unit cases."""
    counts = {code: sum(1 for _, expected in ACCURACY_SET if expected == code) for code in INDUSTRY_CODES}
    assert set(counts.values()) == {4}
    assert not {text for text, _ in ACCURACY_SET} & {text for text, _ in SYNONYM_CASES}


def test_top1_accuracy_on_short_descriptions() -> None:
    """The best inferred industry is right for at least 90% of short realistic descriptions."""
    hits = sum(1 for text, expected in ACCURACY_SET if top(text) == expected)
    assert hits / len(ACCURACY_SET) >= 0.9
