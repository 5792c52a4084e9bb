"""Who may call what (SPEC section 7): every operation of the OpenAPI document against every role."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from httpx2 import Response

from api.app import create_app
from api.config import Settings
from api.services import users
from api.services.write import Operator
from matcher.hashing import HashingEncoder
from models.clock import china_today
from models.enums import District
from models.user import Role
from tests.api.conftest import Api
from tests.files import building, enterprise, jsonl, scenario

ANONYMOUS, STAFF, ADMIN = 0, 1, 2
ROLE_NAMES = {ANONYMOUS: "anonymous", STAFF: "staff", ADMIN: "admin"}
V1 = "/api/v1"

RULES: dict[tuple[str, str], int] = {
    # Anyone: open scenarios, an ad-hoc profile's scenarios, signing in and the health check.
    ("GET", "/healthz"): ANONYMOUS,
    ("POST", f"{V1}/auth/login"): ANONYMOUS,
    ("GET", f"{V1}/scenarios"): ANONYMOUS,
    ("GET", f"{V1}/scenarios/{{record_id}}"): ANONYMOUS,
    ("POST", f"{V1}/match/scenarios"): ANONYMOUS,
    # Staff: buildings and enterprises (leads, never public), every match, reading the weights.
    ("GET", f"{V1}/buildings"): STAFF,
    ("POST", f"{V1}/buildings"): STAFF,
    ("GET", f"{V1}/buildings/{{record_id}}"): STAFF,
    ("PATCH", f"{V1}/buildings/{{record_id}}"): STAFF,
    ("DELETE", f"{V1}/buildings/{{record_id}}"): STAFF,
    ("GET", f"{V1}/enterprises"): STAFF,
    ("POST", f"{V1}/enterprises"): STAFF,
    ("GET", f"{V1}/enterprises/{{record_id}}"): STAFF,
    ("PATCH", f"{V1}/enterprises/{{record_id}}"): STAFF,
    ("DELETE", f"{V1}/enterprises/{{record_id}}"): STAFF,
    ("GET", f"{V1}/enterprises/{{record_id}}/matches/buildings"): STAFF,
    ("GET", f"{V1}/enterprises/{{record_id}}/matches/scenarios"): STAFF,
    ("GET", f"{V1}/buildings/{{record_id}}/matches/enterprises"): STAFF,
    ("GET", f"{V1}/scenarios/{{record_id}}/matches/enterprises"): STAFF,
    ("POST", f"{V1}/match/buildings"): STAFF,
    ("GET", f"{V1}/weights"): STAFF,
    ("GET", f"{V1}/weights/history"): STAFF,
    # Staff: leads (any staff reads all; a district's staff changes only some: see the district test).
    ("GET", f"{V1}/leads"): STAFF,
    ("POST", f"{V1}/leads"): STAFF,
    ("GET", f"{V1}/leads/{{lead_id}}"): STAFF,
    ("POST", f"{V1}/leads/{{lead_id}}/stage"): STAFF,
    ("GET", f"{V1}/indicators"): STAFF,
    ("GET", f"{V1}/allocation"): STAFF,
    # Admin: scenario writes, imports, weight changes, indicator targets and the audit log.
    ("POST", f"{V1}/scenarios"): ADMIN,
    ("PATCH", f"{V1}/scenarios/{{record_id}}"): ADMIN,
    ("DELETE", f"{V1}/scenarios/{{record_id}}"): ADMIN,
    ("POST", f"{V1}/import/{{kind}}"): ADMIN,
    ("POST", f"{V1}/import/leads"): ADMIN,
    ("PUT", f"{V1}/indicators/targets/{{scope}}"): ADMIN,
    ("PUT", f"{V1}/weights"): ADMIN,
    ("POST", f"{V1}/weights/preview"): ADMIN,
    ("POST", f"{V1}/weights/rollback/{{version}}"): ADMIN,
    ("POST", f"{V1}/weights/learn"): ADMIN,
    ("GET", f"{V1}/audit"): ADMIN,
}
"""The least role each operation needs; an operation missing here fails the tests."""


def _operations() -> list[tuple[str, str]]:
    """Every operation of the app's OpenAPI document, writes that delete last."""
    document = create_app(Settings(database_url="sqlite://"), encoder=HashingEncoder()).openapi()
    found = [(method.upper(), path) for path, methods in document["paths"].items() for method in methods]
    return sorted(found, key=lambda operation: (operation[0] == "DELETE", operation))


@dataclass(frozen=True)
class Call:
    """One request: method, address, and a JSON body or an upload."""

    method: str
    url: str
    body: Any = None
    upload: bytes | None = None


@dataclass(frozen=True)
class Catalogue:
    """Stored ids: the ones to read, spares to delete, and free buildings and a lead to move (per role)."""

    building: str
    enterprise: str
    scenario: str
    draft: str
    spares: dict[str, list[str]]
    weights: dict[str, Any]
    version: int
    offers: list[str]
    """Per role, a building with no lead yet: `POST /leads` and `POST /import/leads` pair it with a firm."""
    leads: list[int]
    """Per role, a lead at 推介 (version 1) to move on."""


def _catalogue(api: Api) -> Catalogue:
    """Ids from the loaded catalogue, read as the admin, and a lead per role started by the admin."""

    def ids(kind: str, **params: Any) -> list[str]:
        page = api.client.get(f"{V1}/{kind}", params={"limit": 100, **params}, headers=api.admin).json()
        return [item["id"] for item in page["items"]]

    buildings, firms, open_ = ids("buildings"), ids("enterprises"), ids("scenarios", status="open")
    weights = api.client.get(f"{V1}/weights", headers=api.admin).json()
    leads = []
    for building_id in buildings[1:4]:
        body = {"enterprise_id": firms[0], "building_id": building_id, "note": "角色测试"}
        created = api.client.post(f"{V1}/leads", json=body, headers=api.admin)
        assert created.status_code == 201, created.text
        leads.append(created.json()["id"])
    return Catalogue(
        building=buildings[0],
        enterprise=firms[0],
        scenario=open_[0],
        draft=ids("scenarios", status="draft")[0],
        spares={"buildings": buildings[-3:], "enterprises": firms[-3:], "scenarios": open_[-3:]},
        weights=weights["weights"],
        version=weights["version"],
        offers=buildings[4:10],
        leads=leads,
    )


def _call(method: str, path: str, role: int, stored: Catalogue) -> Call:
    """A valid-looking request for an operation, made by `role` (new records get ids of their own)."""
    kind = path.split("/")[3] if path.startswith(V1) else ""
    record_id = {"buildings": stored.building, "enterprises": stored.enterprise, "scenarios": stored.scenario}
    target = stored.spares[kind][role] if method == "DELETE" else record_id.get(kind, "")
    url = path.format(
        record_id=target, kind="buildings", version=1, lead_id=stored.leads[role], scope="渝北区"
    )
    fresh = f"ROLE{role}"
    today = china_today().isoformat()
    lead_row = {"enterprise_id": stored.enterprise, "building_id": stored.offers[3 + role], "stage": "接洽"}
    bodies: dict[tuple[str, str], Any] = {
        ("POST", f"{V1}/buildings"): building(id=fresh),
        ("POST", f"{V1}/enterprises"): enterprise(id=fresh),
        ("POST", f"{V1}/scenarios"): scenario(id=fresh),
        ("POST", f"{V1}/match/buildings"): enterprise(id=fresh),
        ("POST", f"{V1}/match/scenarios"): enterprise(id=fresh),
        ("POST", f"{V1}/auth/login"): {"name": "staff", "password": "招商密码"},
        ("PUT", f"{V1}/weights"): {"weights": stored.weights, "reason": "角色测试", "expected_version": None},
        ("POST", f"{V1}/weights/preview"): {"weights": stored.weights, "sample": 2},
        ("POST", f"{V1}/weights/rollback/{{version}}"): {"reason": "角色测试"},
        ("POST", f"{V1}/leads"): {"enterprise_id": stored.enterprise, "building_id": stored.offers[role]},
        ("POST", f"{V1}/leads/{{lead_id}}/stage"): {"stage": "contacted", "expected_version": 1},
        ("PUT", f"{V1}/indicators/targets/{{scope}}"): {
            "area_used_m2": 100_000,
            "firms_landed": 500,
            "jobs": 9000,
        },
    }
    if (method, path) == ("POST", f"{V1}/import/{{kind}}"):
        return Call(method, url, upload=jsonl(building(id=fresh)))
    if (method, path) == ("POST", f"{V1}/import/leads"):
        return Call(method, url, upload=jsonl({**lead_row, "created_on": today, "stage_on": today}))
    body = {} if method == "PATCH" else bodies.get((method, path))
    return Call(method, url, body)


def _send(api: Api, call: Call, role: int) -> Response:
    """Send a call as `role`; PUT /weights is based on the version current at that moment."""
    headers = {ANONYMOUS: {}, STAFF: api.staff, ADMIN: api.admin}[role]
    body = call.body
    if isinstance(body, dict) and "weights" in body and "expected_version" in body:
        current = api.client.get(f"{V1}/weights", headers=api.admin).json()["version"]
        body = {**body, "expected_version": current}
    if call.upload is not None:
        files = {"file": ("roles.jsonl", call.upload)}
        return api.client.request(call.method, call.url, files=files, headers=headers)
    return api.client.request(call.method, call.url, json=body, headers=headers)


def test_every_operation_has_a_rule() -> None:
    operations = set(_operations())
    missing = sorted(operations - set(RULES))
    stale = sorted(set(RULES) - operations)
    assert not missing, f"operations without a role rule in RULES: {missing}"
    assert not stale, f"rules for operations the app no longer has: {stale}"


DATA_NEEDED = {("POST", f"{V1}/weights/learn"): "还没有可学习的跟进记录"}
"""Operations whose success needs data this catalogue lacks: the roles allowed get this 422 instead."""


def test_every_operation_against_every_role(api: Api) -> None:
    stored = _catalogue(api)
    firms = api.client.get(f"{V1}/enterprises", params={"limit": 100}, headers=api.admin).json()["items"]
    problems: list[str] = []
    anonymous_answers: list[str] = []
    for method, path in _operations():
        needed = RULES[method, path]
        for role in (ANONYMOUS, STAFF, ADMIN):
            answer = _send(api, _call(method, path, role, stored), role)
            where = f"{method} {path} as {ROLE_NAMES[role]}: {answer.status_code} {answer.text[:160]}"
            if role == ANONYMOUS:
                anonymous_answers.append(answer.text)
            if role < needed:
                expected = 401 if role == ANONYMOUS else 403
                if answer.status_code != expected:
                    problems.append(f"{where} (expected {expected})")
                elif set(answer.json()) != {"detail"}:
                    problems.append(f"{where} (a refusal carries data)")
            elif (method, path) in DATA_NEEDED:
                if answer.status_code != 422 or DATA_NEEDED[method, path] not in answer.text:
                    problems.append(f"{where} (expected 422: {DATA_NEEDED[method, path]})")
            elif not 200 <= answer.status_code < 300:
                problems.append(f"{where} (expected success)")
    assert not problems, "\n".join(problems)
    for firm in firms:
        leaked = [text[:160] for text in anonymous_answers if firm["id"] in text or firm["name"] in text]
        assert not leaked, f"enterprise {firm['id']} visible anonymously: {leaked}"


def test_enterprise_records_are_never_visible_anonymously(api: Api) -> None:
    stored = _catalogue(api)
    for url in (
        f"{V1}/enterprises",
        f"{V1}/enterprises/{stored.enterprise}",
        f"{V1}/enterprises/{stored.enterprise}/matches/buildings",
        f"{V1}/enterprises/{stored.enterprise}/matches/scenarios",
        f"{V1}/buildings/{stored.building}/matches/enterprises",
        f"{V1}/scenarios/{stored.scenario}/matches/enterprises",
    ):
        answer = api.client.get(url)
        assert answer.status_code == 401, url
        assert answer.json() == {"detail": "需要登录"}, url
        assert answer.headers["www-authenticate"] == "Bearer", url
    firm = api.client.post(f"{V1}/enterprises", json=enterprise(id="ANON"))
    assert firm.status_code == 401
    assert api.client.get(f"{V1}/enterprises/ANON", headers=api.staff).status_code == 404


def test_anonymous_visitors_see_only_open_scenarios(api: Api) -> None:
    stored = _catalogue(api)
    public = api.client.get(f"{V1}/scenarios", params={"limit": 100}).json()
    open_ = api.client.get(f"{V1}/scenarios", params={"limit": 100, "status": "open"}, headers=api.staff)
    today = china_today().isoformat()
    current = [item for item in open_.json()["items"] if (item["deadline"] or "9999") >= today]
    assert public["items"]
    assert {item["status"] for item in public["items"]} == {"open"}
    assert public["total"] == len(current) < open_.json()["total"]
    drafts = api.client.get(f"{V1}/scenarios", params={"status": "draft"}).json()
    assert drafts["items"] == []
    assert drafts["total"] == 0
    hidden = api.client.get(f"{V1}/scenarios/{stored.draft}")
    assert hidden.status_code == 404
    assert set(hidden.json()) == {"detail"}
    assert api.client.get(f"{V1}/scenarios/{stored.draft}", headers=api.staff).json()["status"] == "draft"
    assert api.client.get(f"{V1}/scenarios/{stored.scenario}").json()["status"] == "open"
    matched = api.client.post(f"{V1}/match/scenarios", json=enterprise(id="VISITOR")).json()["results"]
    assert matched
    statuses = {
        api.client.get(f"{V1}/scenarios/{item['id']}", headers=api.staff).json()["status"] for item in matched
    }
    assert statuses == {"open"}


def test_a_bad_token_is_401_everywhere(api: Api) -> None:
    bad = {"Authorization": "Bearer not-a-token"}
    for method, url in (
        ("GET", f"{V1}/scenarios"),
        ("GET", f"{V1}/buildings"),
        ("GET", f"{V1}/audit"),
        ("GET", f"{V1}/weights"),
    ):
        answer = api.client.request(method, url, headers=bad)
        assert answer.status_code == 401, url
        assert set(answer.json()) == {"detail"}, url
        assert answer.headers["www-authenticate"] == "Bearer", url


def test_login_is_rate_limited_after_repeated_failures(api: Api) -> None:
    login = f"{V1}/auth/login"
    wrong = {"name": "admin", "password": "猜错的密码"}
    right = {"name": "admin", "password": "管理员密码"}
    for _ in range(2):
        assert api.client.post(login, json=wrong).status_code == 401
    signed_in = api.client.post(login, json=right)
    assert signed_in.status_code == 200
    assert signed_in.json()["role"] == "admin"
    token = {"Authorization": f"Bearer {signed_in.json()['token']}"}
    assert api.client.get(f"{V1}/audit", headers=token).status_code == 200
    for _ in range(5):
        refused = api.client.post(login, json=wrong)
        assert refused.status_code == 401
        assert refused.json() == {"detail": "用户名或密码错误"}
    blocked = api.client.post(login, json=right)
    assert blocked.status_code == 429
    assert set(blocked.json()) == {"detail"}
    assert api.client.post(login, json=wrong).status_code == 429
    assert api.client.post(login, json={"name": "staff", "password": "招商密码"}).status_code == 200


def _district_user(api: Api, name: str, district: District) -> dict[str, str]:
    """The headers of a new staff user of `district` (made as `xingpei users add --district` does)."""
    app = api.client.app
    assert isinstance(app, FastAPI)
    with app.state.xingpei.sessions() as session:
        _, token = users.add(
            session=session,
            actor=Operator("测试"),
            name=name,
            role=Role.staff,
            password=None,
            district=district,
        )
    return {"Authorization": f"Bearer {token}"}


def test_district_staff_change_their_districts_leads_and_their_own_and_read_all(api: Api) -> None:
    yubei = _district_user(api, "渝北招商", District.yubei)

    def building_in(district: str) -> str:
        page = api.client.get(f"{V1}/buildings", params={"district": district}, headers=api.staff).json()
        return str(page["items"][0]["id"])

    firms = [item["id"] for item in api.client.get(f"{V1}/enterprises", headers=api.staff).json()["items"]]

    def start(headers: dict[str, str], firm: str, building_id: str) -> dict[str, Any]:
        answer = api.client.post(
            f"{V1}/leads", json={"enterprise_id": firm, "building_id": building_id}, headers=headers
        )
        assert answer.status_code == 201, answer.text
        return dict(answer.json())

    def advance(headers: dict[str, str], lead_id: int) -> Response:
        body = {"stage": "contacted", "expected_version": 1, "note": "已电话联系"}
        return api.client.post(f"{V1}/leads/{lead_id}/stage", json=body, headers=headers)

    theirs = start(api.admin, firms[0], building_in("渝北区"))
    elsewhere = start(api.admin, firms[1], building_in("江北区"))
    own = start(yubei, firms[2], building_in("江北区"))
    assert (theirs["district"], elsewhere["district"], own["owner"]) == ("渝北区", "江北区", "渝北招商")
    assert advance(yubei, theirs["id"]).status_code == 200
    refused = advance(yubei, elsewhere["id"])
    assert refused.status_code == 403
    assert refused.json() == {"detail": "您只能变更渝北区的跟进或您本人创建的跟进（该跟进属于江北区）"}
    after = api.client.get(f"{V1}/leads/{elsewhere['id']}", headers=yubei)
    assert after.status_code == 200, "a district's staff read every lead"
    assert (after.json()["version"], after.json()["stage"], after.json()["history"]) == (
        1,
        "recommended",
        elsewhere["history"],
    )
    assert advance(yubei, own["id"]).status_code == 200
    assert advance(api.staff, elsewhere["id"]).status_code == 200, "staff without a district change any lead"


def test_anonymous_callers_get_401_and_no_lead_data_from_every_lead_endpoint(api: Api) -> None:
    stored = _catalogue(api)
    lead = api.client.get(f"{V1}/leads/{stored.leads[0]}", headers=api.staff).json()
    calls = [
        ("GET", f"{V1}/leads", None),
        ("GET", f"{V1}/leads?enterprise={stored.enterprise}", None),
        ("GET", f"{V1}/leads/{lead['id']}", None),
        ("POST", f"{V1}/leads", {"enterprise_id": stored.enterprise, "building_id": stored.offers[0]}),
        ("POST", f"{V1}/leads/{lead['id']}/stage", {"stage": "contacted", "expected_version": 1}),
        ("GET", f"{V1}/indicators", None),
    ]
    for method, url, body in calls:
        answer = api.client.request(method, url, json=body)
        assert answer.status_code == 401, url
        assert answer.json() == {"detail": "需要登录"}, url
    upload = api.client.post(f"{V1}/import/leads", files={"file": ("x.jsonl", b"{}\n")})
    assert (upload.status_code, upload.json()) == (401, {"detail": "需要登录"})
    assert api.client.get(f"{V1}/leads/{lead['id']}", headers=api.staff).json() == lead, "nothing written"
