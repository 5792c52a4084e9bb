"""Helpers that build catalogue files (JSON Lines, CSV, Excel) in memory for tests."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from openpyxl import Workbook


def jsonl(*rows: dict[str, Any]) -> bytes:
    """JSON Lines bytes, one object a line."""
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows).encode()


def csv_bytes(header: list[str], *rows: list[Any], encoding: str = "utf-8") -> bytes:
    """CSV bytes with a header row."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def xlsx_bytes(header: list[str], *rows: list[Any]) -> bytes:
    """An Excel workbook whose first sheet has a header row and the rows."""
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def building(**overrides: Any) -> dict[str, Any]:
    """A valid building row, with fields replaced or removed (value None) as given."""
    row: dict[str, Any] = {
        "id": "B1",
        "name": "解放碑环球金融中心",
        "district": "渝中区",
        "address": "民族路 188 号",
        "lat": 29.557,
        "lon": 106.577,
        "vacant_area_m2": 1200,
        "min_unit_m2": 200,
        "rent_yuan_m2_month": 85,
        "fit_out": "move_in_ready",
        "grade": "A",
        "focus_industries": ["ai", "software_dev"],
        "amenities": ["metro", "canteen"],
        "incentives": "新入驻企业前两年租金全免",
        "description": "紧邻较场口地铁站，重点引进软件研发企业。",
        "available_from": "2027-01-01",
    }
    return {key: value for key, value in {**row, **overrides}.items() if value is not None}


def enterprise(**overrides: Any) -> dict[str, Any]:
    """A valid enterprise row."""
    row: dict[str, Any] = {
        "id": "E1",
        "name": "重庆星河芯微电子科技有限公司",
        "credit_code": "91350100M000100Y43",
        "description": "专注模拟芯片与射频前端设计，计划在重庆设立流片验证中心。",
        "industries": ["ic_design"],
        "headcount": 80,
        "required_area_m2": 900,
        "max_rent_yuan_m2_month": 90,
        "preferred_districts": ["重庆高新区", "两江新区"],
        "needs_move_in_ready": True,
        "origin": "outside_city",
        "tags": ["specialized_sme"],
    }
    return {key: value for key, value in {**row, **overrides}.items() if value is not None}


def scenario(**overrides: Any) -> dict[str, Any]:
    """A valid, publishable scenario row."""
    row: dict[str, Any] = {
        "id": "S1",
        "title": "城市轨道交通客流预测与调度优化",
        "owner": "重庆轨道交通（集团）有限公司",
        "owner_type": "soe",
        "level": "city",
        "district": "渝北区",
        "domain": "smart_city",
        "description": "基于闸机与手机信令数据预测客流，辅助行车调度。",
        "scope": "覆盖 1、3、6 号线的客流预测模型与调度看板。",
        "industries": ["ai", "data_services"],
        "budget_wan_yuan": 380,
        "deadline": "2027-06-30",
        "batch": "develop",
        "status": "open",
    }
    return {key: value for key, value in {**row, **overrides}.items() if value is not None}
