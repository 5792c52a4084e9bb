"""Catalogue resources over HTTP: CRUD, filters, pagination, imports with row errors, audit entries."""

from __future__ import annotations

import pytest

from models.database import WriteBusy
from tests.api.conftest import Api
from tests.files import building, csv_bytes, jsonl

B = "/api/v1/buildings"


def test_create_read_update_delete_a_building(api: Api) -> None:
    created = api.client.post(B, json=building(id="NEW1"), headers=api.staff)
    assert created.status_code == 201, created.text
    assert created.json()["name"] == "解放碑环球金融中心"
    again = api.client.post(B, json=building(id="NEW1"), headers=api.staff)
    assert again.status_code == 409
    changed = api.client.patch(f"{B}/NEW1", json={"rent_yuan_m2_month": 60}, headers=api.staff)
    assert changed.json()["rent_yuan_m2_month"] == 60
    assert api.client.get(f"{B}/NEW1", headers=api.staff).json()["rent_yuan_m2_month"] == 60
    assert api.client.delete(f"{B}/NEW1", headers=api.staff).status_code == 204
    assert api.client.get(f"{B}/NEW1", headers=api.staff).status_code == 404


def test_bad_input_is_422_naming_the_field_and_writes_nothing(api: Api) -> None:
    bad = api.client.post(B, json=building(id="BAD", vacant_area_m2=-5, owner="x"), headers=api.staff)
    assert bad.status_code == 422
    fields = {error["field"] for error in bad.json()["errors"]}
    assert fields == {"vacant_area_m2", "owner"}
    assert api.client.get(f"{B}/BAD", headers=api.staff).status_code == 404
    cross = api.client.patch(f"{B}/B00001", json={"lat": 30.0, "lon": None}, headers=api.staff)
    assert cross.status_code == 422
    assert "lon" in cross.text


def test_filters_and_capped_pagination(api: Api) -> None:
    page = api.client.get(B, params={"district": "渝中区", "limit": 5}, headers=api.staff).json()
    assert page["items"]
    assert all(item["district"] == "渝中区" for item in page["items"])
    cheap = api.client.get(B, params={"rent_max": 60}, headers=api.staff).json()
    assert all(item["rent_yuan_m2_month"] <= 60 for item in cheap["items"])
    ready = api.client.get(B, params={"fit_out": "move_in_ready"}, headers=api.staff).json()
    assert all(item["fit_out"] == "move_in_ready" for item in ready["items"])
    assert api.client.get(B, params={"limit": 1000}, headers=api.staff).status_code == 422
    first = api.client.get(B, params={"limit": 10}, headers=api.staff).json()
    second = api.client.get(B, params={"limit": 10, "offset": 10}, headers=api.staff).json()
    assert first["total"] == 60
    assert {i["id"] for i in first["items"]}.isdisjoint({i["id"] for i in second["items"]})
    firms = api.client.get("/api/v1/enterprises", params={"district": "渝北区"}, headers=api.staff).json()
    assert all("渝北区" in item["preferred_districts"] for item in firms["items"])


def test_anonymous_sees_only_open_scenarios(api: Api) -> None:
    page = api.client.get("/api/v1/scenarios", params={"limit": 100}).json()
    assert page["items"]
    assert {item["status"] for item in page["items"]} == {"open"}
    everything = api.client.get("/api/v1/scenarios", params={"limit": 100}, headers=api.staff).json()
    assert everything["total"] > page["total"]


def test_import_endpoint_reports_every_bad_row_and_writes_nothing(api: Api) -> None:
    header = ["id", "name", "district", "vacant_area_m2", "rent_yuan_m2_month", "fit_out"]
    data = csv_bytes(
        header,
        ["X1", "甲", "渝中区", "100", "50", "shell"],
        ["X2", "乙", "江南区", "100", "50", "shell"],
        ["X3", "丙", "渝北区", "-1", "五十", "shell"],
    )
    answer = api.client.post(
        "/api/v1/import/buildings", files={"file": ("台账.csv", data)}, headers=api.admin
    )
    assert answer.status_code == 422
    rows = {(error["row"], error["field"]) for error in answer.json()["errors"]}
    assert rows == {(3, "district"), (4, "vacant_area_m2"), (4, "rent_yuan_m2_month")}
    assert api.client.get(f"{B}/X1", headers=api.staff).status_code == 404


def test_import_endpoint_upserts_and_is_admin_only(api: Api) -> None:
    data = jsonl(building(id="IMP1"), building(id="IMP2"))
    files = {"file": ("b.jsonl", data)}
    assert api.client.post("/api/v1/import/buildings", files=files, headers=api.staff).status_code == 403
    answer = api.client.post("/api/v1/import/buildings", files=files, headers=api.admin)
    assert answer.status_code == 200, answer.text
    assert answer.json()["created"] == 2
    assert api.client.get(f"{B}/IMP2", headers=api.staff).status_code == 200


def test_oversized_upload_is_413(api: Api) -> None:
    from api.services import imports

    setattr(imports, "MAX_UPLOAD_BYTES", 100)  # noqa: B010
    try:
        big = jsonl(*(building(id=f"Z{n}") for n in range(5)))
        answer = api.client.post(
            "/api/v1/import/buildings", files={"file": ("b.jsonl", big)}, headers=api.admin
        )
    finally:
        setattr(imports, "MAX_UPLOAD_BYTES", 50 * 2**20)  # noqa: B010
    assert answer.status_code == 413


def test_every_write_is_audited_with_before_and_after(api: Api) -> None:
    api.client.post(B, json=building(id="AUD1"), headers=api.staff)
    api.client.patch(f"{B}/AUD1", json={"rent_yuan_m2_month": 70}, headers=api.staff)
    api.client.delete(f"{B}/AUD1", headers=api.staff)
    api.client.post(
        "/api/v1/import/buildings", files={"file": ("b.jsonl", jsonl(building(id="AUD2")))}, headers=api.admin
    )
    entries = api.client.get("/api/v1/audit", headers=api.admin).json()
    mine = [(e["action"], e["target_id"]) for e in entries if e["target_id"] in ("AUD1", "b.jsonl")]
    assert mine == [("import", "b.jsonl"), ("delete", "AUD1"), ("update", "AUD1"), ("create", "AUD1")]
    update = next(e for e in entries if e["action"] == "update")
    assert (update["before"]["rent_yuan_m2_month"], update["after"]["rent_yuan_m2_month"]) == (85, 70)
    assert all(e["actor"] in ("staff", "admin") for e in entries if e["target_id"] == "AUD1")
    assert api.client.get("/api/v1/audit", headers=api.staff).status_code == 403


def test_a_busy_database_is_a_503_in_chinese_and_writes_nothing(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    from api.services import catalogue

    def busy(_session: object) -> None:
        raise WriteBusy

    monkeypatch.setattr(catalogue, "begin_write", busy)
    answer = api.client.post(B, json=building(id="BUSY1"), headers=api.staff)
    assert answer.status_code == 503
    assert answer.headers["Retry-After"]
    assert "数据库正忙" in answer.json()["detail"]
    monkeypatch.undo()
    assert api.client.get(f"{B}/BUSY1", headers=api.staff).status_code == 404
