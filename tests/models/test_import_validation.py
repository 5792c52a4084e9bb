"""Every SPEC rule rejects a violating value with a message naming the row and the field."""

from __future__ import annotations

from typing import Any

import pytest

from models.catalogue import parse_file
from models.records import BuildingRecord, EnterpriseRecord, RecordKind, ScenarioRecord
from models.row_errors import ImportRejected, RowError
from tests.files import building, csv_bytes, enterprise, jsonl, scenario, xlsx_bytes


def rejection(kind: RecordKind, data: bytes, filename: str = "ledger.jsonl") -> list[RowError]:
    """The errors of a file that must be rejected."""
    with pytest.raises(ImportRejected) as caught:
        parse_file(kind, data, filename)
    return caught.value.errors


def only_error(kind: RecordKind, data: bytes, filename: str = "ledger.jsonl") -> RowError:
    """The single error of a file with one bad value."""
    errors = rejection(kind, data, filename)
    assert len(errors) == 1, [str(error) for error in errors]
    return errors[0]


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        ({"vacant_area_m2": -50}, "vacant_area_m2", "应大于 0"),
        ({"vacant_area_m2": 0}, "vacant_area_m2", "应大于 0"),
        ({"min_unit_m2": -1}, "min_unit_m2", "应大于 0"),
        ({"rent_yuan_m2_month": "50元/月"}, "rent_yuan_m2_month", "应为数字"),
        ({"rent_yuan_m2_month": -3}, "rent_yuan_m2_month", "应不小于 0"),
        ({"district": "江南区"}, "district", "未知的区「江南区」"),
        ({"focus_industries": ["ai", "blockchain"]}, "focus_industries", "未知的产业代码「blockchain」"),
        ({"lon": None}, "lon", "同时填写"),
        ({"lat": None}, "lat", "同时填写"),
        ({"lat": 39.9}, "lat", "应不大于 32.3"),
        ({"lon": 104.06}, "lon", "应不小于 105.2"),
        ({"fit_out": "豪装"}, "fit_out", "未知的装修状态"),
        ({"min_unit_m2": 5000}, "min_unit_m2", "大于可用面积"),
        ({"available_from": "明年"}, "available_from", "应为日期"),
        ({"name": None}, "name", "必填"),
        ({"name": "   "}, "name", "必填"),
        ({"description": "含有\x00空字符"}, "description", "控制字符"),
        ({"id": "a/b"}, "id", "不能包含"),
        ({"id": "x" * 65}, "id", "64"),
    ],
)
def test_building_rules(overrides: dict[str, Any], field: str, words: str) -> None:
    error = only_error("buildings", jsonl(building(), building(**{"id": "B2", **overrides})))
    assert (error.row, error.field) == (2, field)
    assert words in error.message
    assert f"第 2 行，{field}（{BuildingRecord.LABELS[field]}）" in str(error)


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        ({"credit_code": "91350100M000100Y44"}, "credit_code", "校验码错误"),
        ({"credit_code": "91350100M000100Y430"}, "credit_code", "应为 18 位，实际 19 位"),
        ({"credit_code": "91350100M0001O0Y43"}, "credit_code", "不允许的字符 O"),
        ({"industries": "ai|量子计算"}, "industries", "未知的产业代码「量子计算」"),
        ({"preferred_districts": ["渝中区", "成都高新区"]}, "preferred_districts", "未知的区"),
        ({"headcount": -1}, "headcount", "应不小于 0"),
        ({"headcount": 12.5}, "headcount", "应为整数"),
        ({"headcount": 10**30}, "headcount", "应不大于"),
        ({"required_area_m2": -100}, "required_area_m2", "应大于 0"),
        ({"max_rent_yuan_m2_month": "面议"}, "max_rent_yuan_m2_month", "应为数字"),
        ({"needs_move_in_ready": "也许"}, "needs_move_in_ready", "是/否"),
        ({"origin": "abroad"}, "origin", "未知的来源"),
        ({"tags": ["unicorn"]}, "tags", "未知的企业标签"),
        ({"description": None}, "description", "必填"),
        ({"website": "https://example.cn"}, "website", "未知的字段"),
    ],
)
def test_enterprise_rules(overrides: dict[str, Any], field: str, words: str) -> None:
    error = only_error("enterprises", jsonl(enterprise(), enterprise(id="E2", **overrides)))
    assert (error.row, error.field) == (2, field)
    assert words in error.message


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        ({"budget_wan_yuan": 0}, "budget_wan_yuan", "应大于 0"),
        ({"status": "pending"}, "status", "未知的状态"),
        ({"domain": "smart_farm"}, "domain", "未知的场景方向"),
        ({"batch": "第一批"}, "batch", "未知的批次"),
        ({"deadline": "2027-02-30"}, "deadline", "应为日期"),
        ({"title": None}, "title", "必填"),
    ],
)
def test_scenario_rules(overrides: dict[str, Any], field: str, words: str) -> None:
    error = only_error("scenarios", jsonl(scenario(), scenario(id="S2", **overrides)))
    assert (error.row, error.field) == (2, field)
    assert words in error.message


@pytest.mark.parametrize("missing", ["owner", "scope", "budget_wan_yuan"])
def test_open_scenario_without_owner_scope_or_budget_becomes_a_draft(missing: str) -> None:
    records = parse_file("scenarios", jsonl(scenario(**{missing: None})), "s.jsonl")
    record = records[0]
    assert isinstance(record, ScenarioRecord)
    assert record.status == "draft"
    assert record.drafted
    assert record.missing_for_publication() == [missing]


def test_closed_scenario_without_budget_stays_closed() -> None:
    record = parse_file("scenarios", jsonl(scenario(budget_wan_yuan=None, status="closed")), "s.jsonl")[0]
    assert isinstance(record, ScenarioRecord)
    assert (record.status, record.drafted) == ("closed", False)


def test_every_bad_row_is_reported_not_only_the_first() -> None:
    rows = [building(id=f"B{n}") for n in range(1, 10_001)]
    rows[10] = building(id="B11", district="火星区")
    rows[5000] = building(id="B5001", vacant_area_m2=-1)
    rows[9998] = building(id="B9999", rent_yuan_m2_month="便宜")
    errors = rejection("buildings", jsonl(*rows))
    assert [(error.row, error.field) for error in errors] == [
        (11, "district"),
        (5001, "vacant_area_m2"),
        (9999, "rent_yuan_m2_month"),
    ]


def test_duplicate_ids_name_both_rows() -> None:
    error = only_error(
        "buildings", jsonl(building(id="B7"), building(id="B8"), building(id="B7", name="另一栋"))
    )
    assert (error.row, error.field) == (3, "id")
    assert "与第 1 行重复" in error.message


def test_duplicate_ids_are_found_even_when_the_first_row_is_bad() -> None:
    errors = rejection("buildings", jsonl(building(id="B7", district="x"), building(id="B7")))
    assert {(error.row, error.field) for error in errors} == {(1, "district"), (2, "id")}


@pytest.mark.parametrize("filename", ["empty.jsonl", "empty.csv", "empty.xlsx"])
def test_empty_file(filename: str) -> None:
    error = only_error("buildings", b"", filename)
    assert (error.row, error.field) == (0, None)
    assert "文件为空" in str(error)


def test_header_only_csv_has_no_records() -> None:
    error = only_error("buildings", csv_bytes(list(building())), "ledger.csv")
    assert "没有任何记录" in error.message


def test_gbk_file_gets_a_clear_message() -> None:
    data = csv_bytes(["编号", "楼宇名称"], ["B1", "解放碑大厦"], encoding="gbk")
    error = only_error("buildings", data, "ledger.csv")
    assert "不是 UTF-8 编码" in error.message
    assert "GBK" in error.message


def test_utf8_bom_from_excel_is_accepted() -> None:
    row = building()
    data = b"\xef\xbb\xbf" + csv_bytes(
        list(row), [str(value) if not isinstance(value, list) else "|".join(value) for value in row.values()]
    )
    assert parse_file("buildings", data, "ledger.csv")[0].id == "B1"


def test_xlsx_with_an_extra_column_is_rejected_naming_it() -> None:
    row = building(focus_industries="ai|software_dev", amenities="metro")
    data = xlsx_bytes([*row, "联系人"], [*row.values(), "张三"])
    error = only_error("buildings", data, "ledger.xlsx")
    assert (error.row, error.field) == (1, "联系人")
    assert "未知的列" in error.message


def test_csv_row_longer_than_header() -> None:
    row = building(focus_industries="ai", amenities="metro")
    data = csv_bytes(
        list(row), [*row.values()], [*building(id="B2", focus_industries="ai", amenities="").values(), "多"]
    )
    error = only_error("buildings", data, "ledger.csv")
    assert error.row == 3
    assert "多于表头" in error.message


def test_unsupported_format() -> None:
    error = only_error("buildings", b"id\nB1\n", "ledger.txt")
    assert "不支持的文件格式" in error.message


def test_not_an_xlsx() -> None:
    error = only_error("buildings", b"PK\x03\x04 not really a zip", "ledger.xlsx")
    assert "不是有效的 .xlsx 文件" in error.message


def test_broken_json_line_is_reported_with_its_line() -> None:
    data = jsonl(building()) + b'{"id": "B2", \n' + jsonl(building(id="B3"))
    error = only_error("buildings", data)
    assert (error.row, error.field) == (2, None)
    assert "不是合法的 JSON" in error.message


def test_chinese_headers_and_values_are_accepted() -> None:
    header = [
        EnterpriseRecord.LABELS[key]
        for key in (
            "id",
            "name",
            "description",
            "industries",
            "origin",
            "needs_move_in_ready",
            "tags",
            "preferred_districts",
        )
    ]
    data = csv_bytes(
        header,
        ["E9", "渝新数智", "做工业视觉质检", "人工智能|工业互联网", "市内迁移", "是", "专精特新", "渝北区"],
    )
    record = parse_file("enterprises", data, "线索.csv")[0]
    assert isinstance(record, EnterpriseRecord)
    assert record.industries == ["ai", "industrial_internet"]
    assert (record.origin, record.needs_move_in_ready, record.tags) == (
        "in_city_relocation",
        True,
        ["specialized_sme"],
    )


def test_lower_case_credit_code_is_normalised() -> None:
    record = parse_file("enterprises", jsonl(enterprise(credit_code="91350100m000100y43")), "e.jsonl")[0]
    assert isinstance(record, EnterpriseRecord)
    assert record.credit_code == "91350100M000100Y43"


def test_excel_dates_and_numbers_are_read_natively() -> None:
    import datetime as dt

    row = building(id=1001, available_from=dt.datetime(2027, 3, 1), focus_industries="ai", amenities="metro")
    record = parse_file("buildings", xlsx_bytes(list(row), list(row.values())), "ledger.xlsx")[0]
    assert isinstance(record, BuildingRecord)
    assert (record.id, record.available_from) == ("1001", dt.date(2027, 3, 1))
