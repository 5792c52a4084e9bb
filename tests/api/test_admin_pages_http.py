"""The admin pages 权重调优 and 数据管理 over HTTP: roles, CSRF, save/stale/rollback, uploads and edits."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

import pytest

from matcher.weights import Weights
from tests.api.conftest import Api
from tests.files import building, csv_bytes, jsonl, scenario, xlsx_bytes

ADMIN = ("admin", "管理员密码")
STAFF = ("staff", "招商密码")
PAGES = ("/admin/weights", "/admin/data", "/admin/data?kind=enterprises", "/admin/data/buildings/B00001")


def sign_in(api: Api, who: tuple[str, str] = ADMIN) -> str:
    """Start a browser-like session for a user; return the page's CSRF token."""
    answer = api.client.post("/api/v1/auth/login", json={"name": who[0], "password": who[1]})
    assert answer.status_code == 200, answer.text
    api.client.cookies.set("xingpei_session", answer.json()["token"])
    page = api.client.get("/")
    found = re.search(r'name="csrf-token" content="([^"]+)"', page.text)
    assert found is not None
    return found.group(1)


def weights_form(csrf: str, reason: str = "", **changes: float) -> dict[str, str]:
    """A weights form with the defaults, some weights changed, the current version and a reason."""
    values = {**Weights().model_dump(), **changes}
    form = {name: f"{value:g}" for name, value in values.items()}
    return {**form, "reason": reason, "csrf_token": csrf}


def current_version(api: Api) -> dict[str, Any]:
    """The current weights version as the API reports it."""
    answer: dict[str, Any] = api.client.get("/api/v1/weights", headers=api.admin).json()
    return answer


def slider(html: str, name: str) -> str:
    """The value a weight's slider holds on a page."""
    found = re.search(rf'<input type="range"[^>]*name="{name}"[^>]*value="([^"]*)"', html)
    assert found is not None, name
    return found.group(1)


def text_of(html: str) -> str:
    """A page's visible text, tags dropped and entities decoded, blanks collapsed."""
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


# ---- who may open the pages ------------------------------------------------------------------


@pytest.mark.parametrize("path", PAGES)
def test_anonymous_visitor_is_sent_to_login(api: Api, path: str) -> None:
    answer = api.client.get(path, follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/login?next=")


@pytest.mark.parametrize("path", PAGES)
def test_staff_get_the_403_page(api: Api, path: str) -> None:
    sign_in(api, STAFF)
    answer = api.client.get(path)
    assert answer.status_code == 403
    assert "没有权限" in answer.text


def test_staff_cannot_save_weights_or_upload(api: Api) -> None:
    csrf = sign_in(api, STAFF)
    version = current_version(api)["version"]
    form = weights_form(csrf, "员工尝试", semantic=0.9)
    assert (
        api.client.post("/admin/weights", data={**form, "expected_version": str(version)}).status_code == 403
    )
    files = {"file": ("b.jsonl", jsonl(building(id="STAFF-1")), "application/octet-stream")}
    upload = api.client.post(
        "/admin/data/import", data={"kind": "buildings", "csrf_token": csrf}, files=files
    )
    assert upload.status_code == 403
    assert current_version(api)["version"] == version
    assert api.client.get("/api/v1/buildings/STAFF-1", headers=api.admin).status_code == 404


def test_posts_without_the_csrf_token_are_refused_and_change_nothing(api: Api) -> None:
    sign_in(api)
    version = current_version(api)["version"]
    form = weights_form("", "没有令牌", semantic=0.9)
    del form["csrf_token"]
    posts = [
        ("/admin/weights", {**form, "expected_version": str(version)}, None),
        ("/admin/weights/preview", form, None),
        (f"/admin/weights/rollback/{version}", {"expected_version": str(version)}, None),
        ("/admin/data/buildings/B00001", {"name": "改名", "district": "渝中区"}, None),
        ("/admin/data/import", {"kind": "buildings"}, {"file": ("b.jsonl", jsonl(building(id="NOCSRF-1")))}),
    ]
    for path, data, files in posts:
        answer = api.client.post(path, data=data, files=files)
        assert answer.status_code == 403, path
        assert "CSRF" in answer.text
    wrong = api.client.post("/admin/weights/preview", data=form, headers={"X-CSRF-Token": "not-the-token"})
    assert wrong.status_code == 403
    assert current_version(api)["version"] == version
    assert api.client.get("/api/v1/buildings/NOCSRF-1", headers=api.admin).status_code == 404
    assert api.client.get("/api/v1/buildings/B00001", headers=api.admin).json()["name"] != "改名"


# ---- 权重调优 --------------------------------------------------------------------------------


def test_weights_page_shows_every_weight_with_its_meaning(api: Api) -> None:
    csrf = sign_in(api)
    page = api.client.get("/admin/weights")
    assert page.status_code == 200
    text = text_of(page.text)
    for name, info in Weights.model_fields.items():
        label, _, meaning = (info.description or "").partition("：")
        assert f'type="range" id="w-{name}" name="{name}"' in page.text
        assert label in text
        assert meaning in text
    assert f'name="csrf_token" value="{csrf}"' in page.text
    assert "修改历史" in text
    assert "版本 1" in text


def test_preview_shows_changes_and_figures_and_saves_nothing(api: Api) -> None:
    csrf = sign_in(api)
    before = current_version(api)
    form = weights_form(csrf, semantic=0.9, industry=0.05, spread=0.0)
    answer = api.client.post("/admin/weights/preview", data=form, headers={"X-CSRF-Token": csrf})
    assert answer.status_code == 200
    assert "<html" not in answer.text  # a fragment for the script
    text = text_of(answer.text)
    for words in ("开发集 nDCG@10", "开发集 MRR", "目录覆盖率", "区域集中度", "调整前", "调整后"):
        assert words in text
    assert "语义匹配 0.30 → 0.90" in text
    assert re.search(r"新进入|跌出|\d+ → \d+", text)
    assert current_version(api) == before
    without_script = api.client.post("/admin/weights/preview", data=form)
    assert without_script.status_code == 200
    assert "<html" in without_script.text
    assert "开发集 nDCG@10" in without_script.text
    assert slider(without_script.text, "semantic") == "0.9"


def test_preview_of_a_bad_value_says_which_weight(api: Api) -> None:
    csrf = sign_in(api)
    form = {**weights_form(csrf), "rent": "很多", "spread": "1.5"}
    answer = api.client.post("/admin/weights/preview", data=form, headers={"X-CSRF-Token": csrf})
    assert answer.status_code == 422
    assert "租金余量：应为 0–1 之间的数字，实际为「很多」" in answer.text
    assert "满天星分散度：应在 0–1 之间" in answer.text


def test_save_with_a_reason_makes_a_version_the_matcher_uses(api: Api) -> None:
    csrf = sign_in(api)
    version = current_version(api)["version"]
    form = {**weights_form(csrf, "加强语义匹配", semantic=0.55), "expected_version": str(version)}
    answer = api.client.post("/admin/weights", data=form, follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/admin/weights?saved={version + 1}"
    saved = current_version(api)
    assert saved["version"] == version + 1
    assert saved["weights"]["semantic"] == 0.55
    assert saved["reason"] == "加强语义匹配"
    assert saved["author"] == "admin"
    state = api.client.app.state.xingpei  # type: ignore[attr-defined]
    assert state.recommender.weights.semantic == 0.55
    assert state.weights_version == version + 1
    match = api.client.get("/api/v1/enterprises/E000001/matches/buildings", headers=api.staff).json()
    assert match["weights_version"] == version + 1
    page = text_of(api.client.get(answer.headers["location"]).text)
    assert f"已保存为版本 {version + 1}" in page
    assert "语义匹配 0.30 → 0.55" in page
    assert "加强语义匹配" in page


def test_save_without_a_reason_keeps_the_values_and_saves_nothing(api: Api) -> None:
    csrf = sign_in(api)
    version = current_version(api)["version"]
    form = {**weights_form(csrf, "   ", rent=0.2), "expected_version": str(version)}
    answer = api.client.post("/admin/weights", data=form)
    assert answer.status_code == 422
    assert "修改原因：不能为空或只有空白" in answer.text
    assert slider(answer.text, "rent") == "0.2"
    assert current_version(api)["version"] == version


def test_saving_the_current_weights_again_is_refused(api: Api) -> None:
    csrf = sign_in(api)
    version = current_version(api)["version"]
    answer = api.client.post(
        "/admin/weights", data={**weights_form(csrf, "无变化"), "expected_version": str(version)}
    )
    assert answer.status_code == 422
    assert "与当前版本完全相同" in answer.text
    assert current_version(api)["version"] == version


def test_stale_save_says_so_keeps_the_values_and_saves_nothing(api: Api) -> None:
    csrf = sign_in(api)
    version = current_version(api)["version"]
    elsewhere = {
        "weights": {**Weights().model_dump(), "industry": 0.5},
        "reason": "另一位管理员的修改",
        "expected_version": version,
    }
    assert api.client.put("/api/v1/weights", json=elsewhere, headers=api.admin).status_code == 200
    form = {**weights_form(csrf, "基于旧版本的修改", rent=0.2), "expected_version": str(version)}
    answer = api.client.post("/admin/weights", data=form)
    assert answer.status_code == 409
    text = text_of(answer.text)
    assert f"权重已被更新为版本 {version + 1}（您的修改基于版本 {version}）" in text
    assert "基于旧版本的修改" in answer.text  # the reason is kept
    assert slider(answer.text, "rent") == "0.2"
    assert slider(answer.text, "industry") == "0.3"  # the admin's value, not the newer version's
    assert "当前值 0.50" in answer.text  # beside it, the newer version's value
    assert f'name="expected_version" value="{version + 1}"' in answer.text
    latest = current_version(api)
    assert latest["version"] == version + 1
    assert latest["weights"]["rent"] == Weights().rent
    retry = api.client.post("/admin/weights", data={**form, "expected_version": str(version + 1)})
    assert retry.status_code == 200  # followed the redirect
    assert current_version(api)["weights"]["rent"] == 0.2


def test_rollback_restores_an_old_version_as_a_new_one(api: Api) -> None:
    csrf = sign_in(api)
    first = current_version(api)
    form = {**weights_form(csrf, "试验", spread=0.9), "expected_version": str(first["version"])}
    api.client.post("/admin/weights", data=form)
    changed = first["version"] + 1
    page = api.client.get("/admin/weights").text
    assert f'action="/admin/weights/rollback/{first["version"]}"' in page
    answer = api.client.post(
        f"/admin/weights/rollback/{first['version']}",
        data={"csrf_token": csrf, "expected_version": str(changed)},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    restored = current_version(api)
    assert restored["version"] == changed + 1
    assert restored["weights"] == first["weights"]
    assert restored["restored_from"] == first["version"]
    state = api.client.app.state.xingpei  # type: ignore[attr-defined]
    assert state.recommender.weights == Weights.model_validate(first["weights"])
    text = text_of(api.client.get(answer.headers["location"]).text)
    assert f"已回滚：版本 {first['version']} 的权重已恢复" in text
    assert f"回滚自版本 {first['version']}" in text
    assert "满天星分散度 0.90 → 0.50" in text


def test_stale_or_unknown_rollback_changes_nothing(api: Api) -> None:
    csrf = sign_in(api)
    version = current_version(api)["version"]
    stale = api.client.post(
        f"/admin/weights/rollback/{version}", data={"csrf_token": csrf, "expected_version": str(version + 5)}
    )
    assert stale.status_code == 409
    assert "未回滚" in stale.text
    unknown = api.client.post("/admin/weights/rollback/999", data={"csrf_token": csrf})
    assert unknown.status_code == 404
    assert "权重版本 999 不存在" in unknown.text
    assert current_version(api)["version"] == version


# ---- 数据管理 --------------------------------------------------------------------------------


def upload(api: Api, csrf: str, kind: str, filename: str, data: bytes) -> Any:
    """Post a ledger through the page's upload form."""
    files = {"file": (filename, data, "application/octet-stream")}
    return api.client.post("/admin/data/import", data={"kind": kind, "csrf_token": csrf}, files=files)


def count(api: Api, kind: str) -> int:
    """How many records of a kind the API lists."""
    total: int = api.client.get(f"/api/v1/{kind}?limit=1", headers=api.admin).json()["total"]
    return total


def test_data_page_lists_searches_and_pages(api: Api) -> None:
    sign_in(api)
    first = api.client.get("/admin/data")
    assert first.status_code == 200
    text = text_of(first.text)
    assert "楼宇 60" in text
    assert "企业 40" in text
    assert "应用场景 60" in text
    assert "共 60 条，第 1 / 3 页" in text
    assert 'href="/admin/data/buildings/B00001"' in first.text
    second = api.client.get("/admin/data?kind=buildings&page=3")
    assert 'href="/admin/data/buildings/B00060"' in second.text
    assert "B00001" not in second.text
    name = api.client.get("/api/v1/buildings/B00007", headers=api.admin).json()["name"]
    found = api.client.get("/admin/data", params={"kind": "buildings", "q": name})
    assert 'href="/admin/data/buildings/B00007"' in found.text
    scenarios = text_of(api.client.get("/admin/data?kind=scenarios&district=渝中区").text)
    assert "全部区域" in scenarios
    assert api.client.get("/admin/data?kind=users").status_code == 422


def test_good_uploads_report_what_they_did(api: Api, tmp_path: Any) -> None:
    csrf = sign_in(api)
    rows = [building(id="UP-1", name="上传楼一"), building(id="UP-2", name="上传楼二")]
    answer = upload(api, csrf, "buildings", "ledger.jsonl", jsonl(*rows))
    assert answer.status_code == 200
    text = text_of(answer.text)
    assert "导入成功：ledger.jsonl（楼宇）" in text
    assert "新增 2" in text
    assert "更新 0" in text
    assert "未变 0" in text
    again = text_of(upload(api, csrf, "buildings", "ledger.jsonl", jsonl(*rows)).text)
    assert "新增 0" in again
    assert "未变 2" in again
    header = ["编号", "企业名称", "企业简介", "意向区域"]
    excel = xlsx_bytes(header, ["UP-E1", "上传企业", "做工业软件", "渝中区|江北区"])
    assert "新增 1" in text_of(upload(api, csrf, "enterprises", "firms.xlsx", excel).text)
    assert api.client.get("/api/v1/enterprises/UP-E1", headers=api.admin).json()["preferred_districts"] == [
        "渝中区",
        "江北区",
    ]
    matches = api.client.get("/api/v1/enterprises/UP-E1/matches/buildings?k=50", headers=api.staff)
    assert matches.status_code == 200  # the recommender holds the new firm
    draft = text_of(upload(api, csrf, "scenarios", "s.jsonl", jsonl(scenario(id="UP-S1", owner=None))).text)
    assert "存为草稿 1" in draft
    assert "1 个场景缺少业主单位、建设边界或预算，已存为草稿" in draft


def test_a_rejected_upload_lists_every_row_error_and_changes_nothing(api: Api) -> None:
    csrf = sign_in(api)
    before = count(api, "buildings")
    header = ["id", "name", "district", "vacant_area_m2", "rent_yuan_m2_month", "fit_out"]
    data = csv_bytes(
        header,
        ["BAD-OK", "完好的一行", "渝中区", "500", "60", "move_in_ready"],
        ["BAD-1", "负面积", "渝中区", "-20", "60", "basic"],
        ["BAD-2", "未知区", "火星区", "300", "60", "basic"],
        ["BAD-3", "文字租金", "江北区", "300", "很便宜", "shell"],
    )
    answer = upload(api, csrf, "buildings", "bad.csv", data)
    assert answer.status_code == 422
    text = text_of(answer.text)
    assert "导入被拒绝：bad.csv 共有 3 处错误，未写入任何数据" in text
    assert "第 3 行 vacant_area_m2（可用面积） 应大于 0，实际为 -20" in text
    assert "第 4 行 district（所在区） 未知的区「火星区」" in text
    assert "第 5 行 rent_yuan_m2_month（租金） 应为数字，实际为「很便宜」" in text
    assert count(api, "buildings") == before
    assert api.client.get("/api/v1/buildings/BAD-OK", headers=api.admin).status_code == 404


def test_upload_of_an_unsupported_file_says_why(api: Api) -> None:
    csrf = sign_in(api)
    answer = upload(api, csrf, "scenarios", "notes.txt", b"hello")
    assert answer.status_code == 422
    assert "整个文件" in answer.text
    assert "不支持的文件格式" in answer.text


def test_text_is_escaped(api: Api) -> None:
    csrf = sign_in(api)
    upload(api, csrf, "buildings", "x.jsonl", jsonl(building(id="XSS-1", name="<script>alert(1)</script>")))
    page = api.client.get("/admin/data", params={"q": "alert"})
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    edit = api.client.get("/admin/data/buildings/XSS-1")
    assert "<script>alert" not in edit.text


def test_edit_form_has_every_field(api: Api) -> None:
    sign_in(api)
    for path, kind in (
        ("/admin/data/buildings/B00001", "buildings"),
        ("/admin/data/enterprises/E000001", "enterprises"),
        ("/admin/data/scenarios/S00001", "scenarios"),
    ):
        page = api.client.get(path)
        assert page.status_code == 200
        record = api.client.get(f"/api/v1/{kind}/{path.rsplit('/', 1)[1]}", headers=api.admin).json()
        for name in record:
            if name not in ("id", "created_at", "updated_at"):
                assert f'name="{name}"' in page.text, (kind, name)
    assert api.client.get("/admin/data/buildings/NOPE").status_code == 404


def field_errors(html: str) -> dict[str, str]:
    """The reason shown under each field of an edit form."""
    return dict(re.findall(r'<p class="field-error" id="f-(\w+)-error">([^<]*)</p>', html))


def test_a_bad_edit_keeps_what_was_typed_and_names_each_field(api: Api) -> None:
    csrf = sign_in(api)
    before = api.client.get("/api/v1/buildings/B00002", headers=api.admin).json()
    form = {
        "csrf_token": csrf,
        "name": "改过的名字",
        "district": "渝中区",
        "vacant_area_m2": "-5",
        "rent_yuan_m2_month": "很贵",
        "fit_out": "basic",
    }
    answer = api.client.post("/admin/data/buildings/B00002", data=form)
    assert answer.status_code == 422
    assert "未保存：有 2 个字段需要修改，您填写的内容都已保留。" in text_of(answer.text)
    assert field_errors(answer.text) == {
        "vacant_area_m2": "应大于 0，实际为 -5",
        "rent_yuan_m2_month": "应为数字，实际为「很贵」",
    }
    assert 'value="改过的名字"' in answer.text
    assert 'value="很贵"' in answer.text
    assert api.client.get("/api/v1/buildings/B00002", headers=api.admin).json() == before
    pair = {**form, "vacant_area_m2": "500", "rent_yuan_m2_month": "60", "lat": "29.5"}
    one_coordinate = api.client.post("/admin/data/buildings/B00002", data=pair)
    assert one_coordinate.status_code == 422
    assert field_errors(one_coordinate.text) == {"lon": "纬度和经度须同时填写或同时不填"}
    assert api.client.get("/api/v1/buildings/B00002", headers=api.admin).json() == before


def browser_form(record: dict[str, Any]) -> dict[str, Any]:
    """The fields a browser sends for a record's edit form (lists repeat, a false flag is absent)."""
    form: dict[str, Any] = {}
    for name, value in record.items():
        if name in ("id", "created_at", "updated_at") or value is None or value is False:
            continue
        form[name] = "true" if value is True else value if isinstance(value, list) else str(value)
    return form


def test_a_good_edit_is_saved_and_matched(api: Api) -> None:
    csrf = sign_in(api)
    record = api.client.get("/api/v1/enterprises/E000002", headers=api.admin).json()
    form = {**browser_form(record), "csrf_token": csrf, "required_area_m2": "750"}
    form["preferred_districts"] = ["两江新区", "渝北区"]
    form["description"] = "改写后的简介：专注工业互联网平台开发。"
    answer = api.client.post("/admin/data/enterprises/E000002", data=form, follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/admin/data/enterprises/E000002?saved=1"
    stored = api.client.get("/api/v1/enterprises/E000002", headers=api.admin).json()
    assert stored["required_area_m2"] == 750
    assert stored["preferred_districts"] == ["两江新区", "渝北区"]
    assert stored["description"] == "改写后的简介：专注工业互联网平台开发。"
    unchanged = {key: value for key, value in record.items() if key not in ("updated_at",)}
    for key in ("required_area_m2", "preferred_districts", "description"):
        del unchanged[key]
    assert {key: stored[key] for key in unchanged} == unchanged
    state = api.client.app.state.xingpei  # type: ignore[attr-defined]
    assert state.recommender.stored("enterprises", "E000002").required_area_m2 == 750
    assert "已保存" in api.client.get(answer.headers["location"]).text
    same = api.client.post("/admin/data/enterprises/E000002", data=form)
    assert "没有任何修改，未保存" in same.text


def test_a_scenario_without_an_owner_is_saved_as_a_draft(api: Api) -> None:
    csrf = sign_in(api)
    record = api.client.get("/api/v1/scenarios/S00003", headers=api.admin).json()
    form = {**browser_form(record), "csrf_token": csrf, "status": "open"}
    form.pop("owner", None)
    answer = api.client.post("/admin/data/scenarios/S00003", data=form)
    assert answer.status_code == 200
    assert "已存为草稿" in answer.text
    assert api.client.get("/api/v1/scenarios/S00003", headers=api.admin).json()["status"] == "draft"


def based_on(html: str) -> str:
    """The version an edit form was opened on (its hidden `based_on` field)."""
    found = re.search(r'name="based_on" value="([^"]*)"', html)
    assert found is not None
    return found.group(1)


def test_an_edit_of_a_record_saved_meanwhile_is_refused_and_keeps_both(api: Api) -> None:
    csrf = sign_in(api)
    opened = based_on(api.client.get("/admin/data/buildings/B00003").text)
    record = api.client.get("/api/v1/buildings/B00003", headers=api.admin).json()
    meanwhile = api.client.patch("/api/v1/buildings/B00003", json={"name": "同事改的名字"}, headers=api.staff)
    assert meanwhile.status_code == 200
    form = {**browser_form(record), "csrf_token": csrf, "based_on": opened, "rent_yuan_m2_month": "66"}
    refused = api.client.post("/admin/data/buildings/B00003", data=form)
    assert refused.status_code == 409
    assert "在您编辑期间已被他人修改，本次未保存" in text_of(refused.text)
    assert 'value="66"' in refused.text
    stored = api.client.get("/api/v1/buildings/B00003", headers=api.admin).json()
    assert (stored["name"], stored["rent_yuan_m2_month"]) == ("同事改的名字", record["rent_yuan_m2_month"])
    again = {**form, "based_on": based_on(refused.text)}
    saved = api.client.post("/admin/data/buildings/B00003", data=again, follow_redirects=False)
    assert saved.status_code == 303
    assert api.client.get("/api/v1/buildings/B00003", headers=api.admin).json()["rent_yuan_m2_month"] == 66
