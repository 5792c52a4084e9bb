"""Admin journeys in the browser: tune a weight with a live preview, save, roll back; import ledgers; edit."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from api.services import weights as weights_service
from api.services.write import Operator
from matcher.weights import Weights
from models.database import make_engine, make_session_factory
from tests.files import building, csv_bytes, jsonl
from tests.web.conftest import LiveServer, login, no_overflow, shot

PREVIEW_TIMEOUT_MS = 60_000
"""The preview reranks the sampled firms and the dev set twice; a loaded test machine is slow."""


@pytest.fixture
def default_weights_after(live_server: LiveServer) -> Iterator[None]:
    """Whatever the test does, leave the default weights current for the other browser tests."""
    yield
    engine = make_engine(live_server.database_url)
    with make_session_factory(engine)() as session:
        latest = weights_service.current(session)
        if latest.weights != Weights().model_dump():
            weights_service.save(
                session=session,
                actor=Operator("test"),
                live=None,
                weights=Weights(),
                reason="浏览器测试结束：恢复默认权重",
                expected_version=latest.version,
            )
    engine.dispose()


def open_page(page: Page, path: str) -> None:
    """Go to a page and fail at once, naming the status, when the server did not answer 200."""
    response = page.goto(path)
    assert response is not None
    assert response.status == 200, f"{path} 返回 {response.status}：{page.locator('main').inner_text()[:300]}"


def slider_values(page: Page) -> dict[str, float]:
    """Every weight slider's value on the page."""
    values: dict[str, str] = page.eval_on_selector_all(
        "#weights-form input[type=range]", "inputs => Object.fromEntries(inputs.map(i => [i.name, i.value]))"
    )
    return {name: float(value) for name, value in values.items()}


def current_version(page: Page) -> int:
    """The version the weights page says is current."""
    found = re.search(r"当前生效：版本 (\d+)", page.locator("main").inner_text())
    assert found is not None
    return int(found.group(1))


@pytest.mark.usefixtures("default_weights_after")
def test_change_a_weight_preview_save_and_roll_back(page: Page) -> None:
    login(page, "admin")
    open_page(page, "/admin/weights")
    expect(page.get_by_role("heading", name="权重调优")).to_be_visible()
    before = current_version(page)
    assert slider_values(page) == Weights().model_dump()
    shot(page, "admin-weights")

    started = time.perf_counter()
    page.get_by_label("语义匹配", exact=True).fill("0.8")
    expect(page.locator("#w-semantic-out")).to_have_text("0.80")
    preview = page.locator("#preview")
    expect(preview).to_contain_text("语义匹配 0.30 → 0.80", timeout=PREVIEW_TIMEOUT_MS)
    elapsed = time.perf_counter() - started
    print(f"preview shown {elapsed * 1000:.0f} ms after the slider moved")
    for words in ("开发集 nDCG@10", "开发集 MRR", "目录覆盖率", "区域集中度"):
        expect(preview).to_contain_text(words)
    expect(preview.locator(".firm-changes li").first).to_be_visible()
    expect(preview).to_contain_text(re.compile(r"新进入|跌出|\d+ → \d+"))
    assert current_version(page) == before  # a preview saves nothing
    shot(page, "admin-weights-preview")

    page.get_by_label("修改原因").fill("浏览器测试：加强语义匹配")
    page.get_by_role("button", name="保存为新版本").click()
    expect(page.locator("p.success")).to_contain_text(f"已保存为版本 {before + 1}")
    assert current_version(page) == before + 1
    assert slider_values(page)["semantic"] == 0.8
    newest = page.locator(f"#version-{before + 1}")
    expect(newest).to_contain_text("语义匹配 0.30 → 0.80")
    expect(newest).to_contain_text("浏览器测试：加强语义匹配")
    shot(page, "admin-weights-saved")

    page.get_by_role("button", name=f"回滚到版本 {before}").click()
    expect(page.locator("p.success")).to_contain_text(f"已回滚：版本 {before} 的权重已恢复")
    assert current_version(page) == before + 2
    expect(page.locator(f"#version-{before + 2}")).to_contain_text(f"回滚自版本 {before}")
    assert slider_values(page) == Weights().model_dump()
    shot(page, "admin-weights-rolled-back")


def test_weights_page_fits_a_phone(phone: Page) -> None:
    login(phone, "admin")
    open_page(phone, "/admin/weights")
    expect(phone.get_by_label("满天星分散度")).to_be_visible()
    no_overflow(phone)
    shot(phone, "admin-weights-phone")


def upload(page: Page, kind_label: str, path: Path) -> None:
    """Choose a ledger on the data page and import it."""
    open_page(page, "/admin/data")
    page.get_by_label("记录类型").select_option(label=kind_label)
    page.get_by_label("台账文件").set_input_files(path)
    page.get_by_role("button", name="导入").click()


def test_a_bad_ledger_shows_every_row_error(page: Page, tmp_path: Path) -> None:
    tag = uuid.uuid4().hex[:8]
    ledger = tmp_path / "坏台账.csv"
    header = ["编号", "楼宇名称", "所在区", "可用面积", "租金", "装修状态"]
    ledger.write_bytes(
        csv_bytes(
            header,
            [f"WEB-OK-{tag}", f"好楼{tag}", "渝中区", "800", "70", "拎包入住"],
            [f"WEB-NEG-{tag}", "负面积楼", "渝中区", "-50", "70", "简装"],
            [f"WEB-MARS-{tag}", "火星楼", "火星区", "300", "70", "简装"],
            [f"WEB-TEXT-{tag}", "文字租金楼", "江北区", "300", "面议", "毛坯"],
            [f"WEB-FIT-{tag}", "装修未知楼", "江北区", "300", "50", "豪华"],
        )
    )
    login(page, "admin")
    upload(page, "楼宇", ledger)
    expect(page.get_by_role("alert")).to_contain_text("共有 4 处错误，未写入任何数据")
    rows = page.locator("table.row-errors tbody tr")
    expect(rows).to_have_count(4)
    expect(rows.nth(0)).to_contain_text("第 3 行")
    expect(rows.nth(0)).to_contain_text("vacant_area_m2（可用面积）")
    expect(rows.nth(0)).to_contain_text("应大于 0，实际为 -50")
    expect(rows.nth(1)).to_contain_text("未知的区「火星区」")
    expect(rows.nth(2)).to_contain_text("rent_yuan_m2_month（租金）")
    expect(rows.nth(2)).to_contain_text("应为数字，实际为「面议」")
    expect(rows.nth(3)).to_contain_text("未知的装修状态「豪华」")
    shot(page, "admin-data-rejected")
    open_page(page, f"/admin/data?q=好楼{tag}")
    expect(page.locator("main")).to_contain_text("没有找到符合条件的楼宇")


def test_a_good_ledger_is_imported_and_a_record_edited(page: Page, tmp_path: Path) -> None:
    tag = uuid.uuid4().hex[:8]
    name = f"网页测试楼{tag}"
    ledger = tmp_path / "ledger.jsonl"
    ledger.write_bytes(
        jsonl(
            building(id=f"WEB-B1-{tag}", name=name, rent_yuan_m2_month=58),
            building(id=f"WEB-B2-{tag}", name=f"网页测试二号楼{tag}"),
        )
    )
    login(page, "admin")
    upload(page, "楼宇", ledger)
    report = page.get_by_role("status")
    expect(report).to_contain_text("导入成功：ledger.jsonl（楼宇）")
    expect(report).to_contain_text("新增 2")
    expect(report).to_contain_text("未变 0")
    shot(page, "admin-data-imported")

    page.get_by_label("搜索").fill(name)
    page.get_by_role("button", name="查找").click()
    page.get_by_role("link", name=name).click()
    expect(page.get_by_role("heading", name=f"修改楼宇：{name}")).to_be_visible()
    expect(page.get_by_label("租金")).to_have_value("58")
    shot(page, "admin-data-edit")

    page.get_by_label("可用面积").fill("-1")
    page.get_by_label("租金").fill("很贵")
    page.get_by_role("button", name="保存修改").click()
    expect(page.get_by_role("alert")).to_contain_text("有 2 个字段需要修改")
    expect(page.locator("#f-vacant_area_m2-error")).to_have_text("应大于 0，实际为 -1")
    expect(page.locator("#f-rent_yuan_m2_month-error")).to_have_text("应为数字，实际为「很贵」")
    expect(page.get_by_label("租金")).to_have_value("很贵")
    shot(page, "admin-data-edit-errors")

    page.get_by_label("可用面积").fill("900")
    page.get_by_label("租金").fill("66.5")
    page.get_by_label("人工智能").uncheck()
    page.get_by_role("button", name="保存修改").click()
    expect(page.get_by_role("status")).to_contain_text("已保存")
    expect(page.get_by_label("可用面积")).to_have_value("900")
    expect(page.get_by_label("租金")).to_have_value("66.5")
    expect(page.get_by_label("人工智能")).not_to_be_checked()
    expect(page.get_by_label("软件开发")).to_be_checked()


def test_data_pages_fit_a_phone(phone: Page) -> None:
    login(phone, "admin")
    open_page(phone, "/admin/data?kind=enterprises")
    expect(phone.get_by_role("heading", name="企业列表")).to_be_visible()
    no_overflow(phone)
    shot(phone, "admin-data-phone")
    phone.get_by_role("table").get_by_role("link").first.click()
    expect(phone.get_by_role("heading", name=re.compile("修改企业"))).to_be_visible()
    no_overflow(phone)
    shot(phone, "admin-data-edit-phone")
