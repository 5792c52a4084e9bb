"""Schemathesis against the app's own OpenAPI document: no input gives a 5xx or breaks its schema.

The generated run is what an outside client does: the `st` command with several workers, over HTTP,
against the app served on loopback, so that writes arrive at the same time as they do in use. The
explicit bad-input tests below call the app in process.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response

from api.app import create_app
from api.auth import create_user, token_digest
from api.config import Settings
from demo.generate import generate_buildings, generate_enterprises, generate_scenarios
from matcher.hashing import HashingEncoder
from migrations import migrate
from models.catalogue import import_file
from models.clock import china_today
from models.database import make_engine, make_session_factory
from models.indicator_target import CITY
from models.lead_interchange import LeadRow
from models.user import ApiToken, Role
from tests.conftest import TEST_DATABASE_URL, create_postgres_database, drop_postgres_database
from tests.files import building, enterprise, jsonl, scenario
from tests.live import serving

DEFAULT_EXAMPLES = 25
"""Examples per operation in the fuzzing phase of `make test` (the coverage phase adds its own)."""
WORKERS = 2
"""Schemathesis workers sending requests at once in `make test`."""
FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES") or 200)
"""Examples per operation of the long run (`make fuzz`)."""
FUZZ_WORKERS = 4
SEED = 2022
ST = Path(sys.executable).with_name("st")
"""The schemathesis command installed beside this interpreter."""

TOKEN = secrets.token_urlsafe(32)
"""The admin's API token, sent with every generated request."""
SETTINGS = Settings(database_url="sqlite://")
"""The in-process app's settings; the fixture points them at a fresh database before the app starts."""
APP = create_app(SETTINGS, encoder=HashingEncoder())


@dataclass
class Tally:
    """What a run did: operations, requests, status classes and failed checks."""

    title: str
    operations: set[str] = field(default_factory=set)
    examples: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)
    failed_operations: set[str] = field(default_factory=set)

    def summary(self) -> str:
        """One line to quote."""
        statuses = ", ".join(f"{key} {value}" for key, value in sorted(self.statuses.items()))
        failed = ", ".join(f"{key} {value}" for key, value in sorted(self.failures.items()))
        where = f" in {len(self.failed_operations)} operations ({failed})" if failed else ""
        return (
            f"{self.title}: {len(self.operations)} operations, {self.examples} examples "
            f"(responses {statuses}), {sum(self.failures.values())} failures{where}"
        )


def _module_database(factory: pytest.TempPathFactory) -> Iterator[str]:
    """A new, empty database of the backend under test, dropped afterwards."""
    if not TEST_DATABASE_URL:
        yield f"sqlite:///{factory.mktemp('schemathesis') / 'xingpei.db'}"
        return
    url, name = create_postgres_database(TEST_DATABASE_URL)
    try:
        yield url
    finally:
        drop_postgres_database(TEST_DATABASE_URL, name)


def _fill(url: str) -> None:
    """Migrate a database and store a small generated catalogue and an admin holding TOKEN."""
    engine = make_engine(url)
    migrate(engine)
    with make_session_factory(engine).begin() as session:
        import_file(session, "buildings", jsonl(*generate_buildings(30, seed=5)), "b.jsonl")
        import_file(session, "enterprises", jsonl(*generate_enterprises(30, seed=5)), "e.jsonl")
        scenarios = generate_scenarios(30, seed=5, reference_date=china_today())
        import_file(session, "scenarios", jsonl(*scenarios), "s.jsonl")
        user, _ = create_user(session, name="fuzz", role=Role.admin, password="模糊测试密码")
        session.add(ApiToken(user_id=user.id, token_hash=token_digest(TOKEN)))
    engine.dispose()


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The in-process app's database: a small catalogue and the admin."""
    for url in _module_database(tmp_path_factory):
        _fill(url)
        SETTINGS.database_url = url
        yield url


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app over a database of its own, served on loopback; yields its address."""
    for url in _module_database(tmp_path_factory):
        _fill(url)
        with serving(create_app(Settings(database_url=url), encoder=HashingEncoder())) as base:
            yield base


@pytest.fixture(scope="module")
def tallies(request: pytest.FixtureRequest) -> Iterator[dict[str, Tally]]:
    """The counts of each run in the module, printed as one summary line each at the end."""
    runs: dict[str, Tally] = {}
    yield runs
    capture = request.config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled():
        for tally in runs.values():
            print(f"\n{tally.summary()}")


def _st_run(base: str, examples: int, workers: int, report: Path) -> tuple[int, str]:
    """Run `st run` against the served app as the admin; its exit status and what it printed.

    Every check but `positive_data_acceptance`: that one wants every schema-valid body accepted, while
    the records have rules a JSON schema cannot state (smallest unit within the vacant area, coordinates
    in pairs, the credit code's check character, an import file's format by its name); those are
    answered with a 422 naming the field.
    """
    command = [
        str(ST),
        "run",
        f"{base}/openapi.json",
        "--checks=all",
        "--exclude-checks=positive_data_acceptance",
        f"--workers={workers}",
        f"--max-examples={examples}",
        f"--seed={SEED}",
        "--generation-allow-x00=true",
        f"--header=Authorization: Bearer {TOKEN}",
        "--no-color",
        "--report=junit",
        f"--report-junit-path={report}",
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=report.parent)
    return done.returncode, done.stdout + done.stderr


def _summary(output: str) -> str:
    """The lines of st's summary worth quoting: operations, phases and test cases."""
    summary = output[output.rfind("SUMMARY") :]
    wanted = re.compile(r"^\s*(Tested:|\d+ generated|✅|❌|🚫|⏭|⚠️)")
    return "\n".join(line.rstrip() for line in summary.splitlines() if wanted.match(line))


TOOL_BUG = "AST constructor recursion depth mismatch"
"""CPython 3.11's `ast` is not thread-safe: hypothesis, describing a strategy in one of st's worker threads,
sometimes stops with this SystemError, which st reports as its own runtime error (no request involved)."""


def _tool_bug_only(output: str) -> bool:
    """Whether st failed only through the thread-safety bug above, with no check failing."""
    return TOOL_BUG in output and "Failures:" not in output


def _outside_client(
    base: str, examples: int, workers: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Run st with `workers` workers; fail unless every check passed (once more if only st itself broke)."""
    status, output = _st_run(base, examples, workers, tmp_path / "junit.xml")
    if status and _tool_bug_only(output):
        with capsys.disabled():
            print(f"\nst stopped on its own error ({TOOL_BUG}); running it again")
        status, output = _st_run(base, examples, workers, tmp_path / "junit.xml")
    with capsys.disabled():
        print(f"\nst run, {workers} workers, {examples} examples per operation:\n{_summary(output)}")
    assert status == 0, output[-6000:]
    assert re.search(r"Test cases:\s+\d+ generated, \d+ passed", output), output[-2000:]


def test_an_outside_client_with_two_workers_finds_no_failure(
    served: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Coverage, fuzzing and stateful phases, two workers at once: no 5xx, nothing outside the schema."""
    _outside_client(served, DEFAULT_EXAMPLES, WORKERS, tmp_path, capsys)


@pytest.mark.fuzz
def test_an_outside_client_with_four_workers_finds_no_failure_long(
    served: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The same with FUZZ_EXAMPLES examples per operation and four workers (`make fuzz`)."""
    _outside_client(served, FUZZ_EXAMPLES, FUZZ_WORKERS, tmp_path, capsys)


# Explicit bad input for every operation that takes any: NUL bytes, huge integers, very long strings,
# wrong types and unknown fields, each of which must be a 4xx JSON answer with a message (naming the field).

DOCUMENT: dict[str, Any] = APP.openapi()
COMPONENTS: dict[str, Any] = DOCUMENT["components"]["schemas"]
NUL = "甲\x00乙"
HUGE = 10**30
LONG = "长" * 100_000
LONG_PARAMETER = "x" * 10_000
"""Query and path values travel in the address, which HTTP clients and servers cap near 64 KiB."""
UNKNOWN = "x_unknown_field"
IMPORT_PATH = "/api/v1/import/{kind}"
LEAD_IMPORT_PATH = "/api/v1/import/leads"
LEAD_ROW = LeadRow.model_json_schema()
"""The schema of one row of a lead file (the upload's body is a file, so OpenAPI does not hold it)."""


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    """A schema with its `$ref` followed."""
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = COMPONENTS.get(name) or LEAD_ROW["$defs"][name]
    return schema


def _json_types(schema: dict[str, Any]) -> set[str]:
    """The JSON types a schema allows ("array:string" for an array of texts)."""
    schema = _resolve(schema)
    if "anyOf" in schema:
        return set().union(*(_json_types(option) for option in schema["anyOf"]))
    kind = schema.get("type")
    if kind == "array":
        return {"array", *(f"array:{item}" for item in _json_types(schema.get("items", {})))}
    return {kind} if isinstance(kind, str) else set()


def _bad_values(types: set[str], *, typed: bool = True) -> list[tuple[str, Any]]:
    """Bad values for a slot of the given JSON types: NUL, too long, too large, and (if typed) wrong types."""
    # Rows of an uploaded file are not `typed`: ledger cells are read leniently (a blank is absent, `a|b` is
    # a list, a number may be a text), a JSON body is not.
    values: list[tuple[str, Any]] = []
    if "string" in types:
        values += [("NUL", NUL), ("100k characters", LONG)]
    if "array:string" in types:
        values += [("NUL in a list", [NUL]), ("100k characters in a list", [LONG])]
    if types & {"integer", "number"}:
        values.append(("10**30", HUGE))
    wrong_types = {
        "object": {"un": "expected"},
        "string": "文本",
        "integer": 7,
        "boolean": True,
        "array": [7],
    }
    if not typed:
        return values
    allowed = types | ({"integer"} if "number" in types else set())
    values += [(f"{kind} instead", value) for kind, value in wrong_types.items() if kind not in allowed]
    if "null" not in types:
        values.append(("null instead", None))
    return values


def _query_values(types: set[str]) -> list[tuple[str, str | int]]:
    """Bad query or path values: everything is text on the wire."""
    values: list[tuple[str, str | int]] = [("NUL", NUL), ("10k characters", LONG_PARAMETER)]
    if types & {"integer", "number"}:
        values += [("10**30", HUGE), ("wrong type", "不是数字")]
    return values


@dataclass(frozen=True)
class Request:
    """One bad request and the field its answer must name."""

    label: str
    field: str | None
    path: str
    query: dict[str, Any]
    body: Any = None
    upload: bytes | None = None


def _operations_with_input() -> list[tuple[str, str]]:
    """Every operation of the document that takes a parameter or a body."""
    return [
        (method.upper(), path)
        for path, methods in DOCUMENT["paths"].items()
        for method, operation in methods.items()
        if operation.get("parameters") or operation.get("requestBody")
    ]


WITH_INPUT = _operations_with_input()


@dataclass(frozen=True)
class Ids:
    """Stored ids to put in paths, and the current weights."""

    buildings: str
    enterprises: str
    scenarios: str
    weights: dict[str, Any]
    weights_version: int
    lead: int


def _path_value(path: str, name: str, ids: Ids) -> str:
    """A real value for a path parameter."""
    if name == "record_id":
        kind = path.split("/")[3]
        return str(getattr(ids, kind))
    return {"kind": "buildings", "version": "1", "lead_id": str(ids.lead), "scope": CITY}[name]


def _base_body(method: str, path: str, ids: Ids) -> Any:
    """A valid body for an operation that takes one; an operation missing here fails the test."""
    fresh = f"X{secrets.token_hex(4)}"
    bodies: dict[tuple[str, str], Any] = {
        ("POST", "/api/v1/buildings"): building(id=fresh),
        ("POST", "/api/v1/enterprises"): enterprise(id=fresh),
        ("POST", "/api/v1/scenarios"): scenario(id=fresh),
        ("POST", "/api/v1/match/buildings"): enterprise(id=fresh),
        ("POST", "/api/v1/match/scenarios"): enterprise(id=fresh),
        ("POST", "/api/v1/auth/login"): {"name": "fuzz", "password": "模糊测试密码"},
        ("PUT", "/api/v1/weights"): {
            "weights": ids.weights,
            "reason": "模糊测试",
            "expected_version": ids.weights_version,
        },
        ("POST", "/api/v1/weights/preview"): {"weights": ids.weights},
        ("POST", "/api/v1/weights/rollback/{version}"): {"reason": "模糊测试"},
        ("POST", IMPORT_PATH): building(id=fresh),
        ("POST", "/api/v1/leads"): {
            "enterprise_id": ids.enterprises,
            "building_id": ids.buildings,
            "note": "",
        },
        ("POST", "/api/v1/leads/{lead_id}/stage"): {"stage": "contacted", "expected_version": 1, "note": ""},
        ("POST", "/api/v1/weights/learn"): {"stage": "visited", "split": "2026-06-01"},
        ("PUT", "/api/v1/indicators/targets/{scope}"): {
            "area_used_m2": 2e6,
            "firms_landed": 1e4,
            "jobs": 2e5,
        },
        ("POST", LEAD_IMPORT_PATH): {
            "enterprise_id": ids.enterprises,
            "building_id": ids.buildings,
            "stage": "contacted",
            "created_on": "2026-11-02",
            "stage_on": "2026-11-20",
        },
    }
    if method == "PATCH":
        return {}
    return bodies[method, path]


def _body_schema(method: str, path: str) -> dict[str, Any]:
    """The JSON schema of an operation's body (for the import, of one row of the uploaded file)."""
    if path == IMPORT_PATH:
        return _resolve({"$ref": "BuildingCreate"})
    if path == LEAD_IMPORT_PATH:
        return LEAD_ROW
    content = DOCUMENT["paths"][path][method.lower()]["requestBody"]["content"]
    schema = _resolve(content["application/json"]["schema"])
    if "anyOf" in schema:
        schema = next(_resolve(option) for option in schema["anyOf"] if "$ref" in option)
    return schema


def _bad_requests(method: str, path: str, ids: Ids) -> Iterator[Request]:
    """Every bad request of one operation: one bad value at a time, everything else valid."""
    operation = DOCUMENT["paths"][path][method.lower()]
    parameters = operation.get("parameters", [])
    values = {p["name"]: _path_value(path, p["name"], ids) for p in parameters if p["in"] == "path"}
    good_path = path.format(**values)
    for parameter in parameters:
        name, where = parameter["name"], parameter["in"]
        for label, value in _query_values(_json_types(parameter["schema"])):
            if where == "path":
                bad_path = path.format(**{**values, name: quote(str(value), safe="")})
                yield Request(f"{where} {name}: {label}", name, bad_path, {})
            else:
                yield Request(f"{where} {name}: {label}", name, good_path, {name: value})
    if "requestBody" not in operation:
        return
    schema = _body_schema(method, path)
    yield Request(
        f"body field {UNKNOWN}", UNKNOWN, good_path, {}, {**_base_body(method, path, ids), UNKNOWN: 1}
    )
    yield Request("body of the wrong type", None, good_path, {}, [_base_body(method, path, ids)])
    for name, field_schema in schema["properties"].items():
        for label, value in _bad_values(
            _json_types(field_schema), typed=path not in (IMPORT_PATH, LEAD_IMPORT_PATH)
        ):
            body = {**_base_body(method, path, ids), name: value}
            yield Request(f"body field {name}: {label}", name, good_path, {}, body)
        # One level down, for objects in the body (the weights): each of their fields in turn.
        base = _base_body(method, path, ids)
        for inner, inner_schema in _resolve(field_schema).get("properties", {}).items():
            for label, value in _bad_values(_json_types(inner_schema)):
                body = {**base, name: {**base.get(name, {}), inner: value}}
                yield Request(f"body field {name}.{inner}: {label}", inner, good_path, {}, body)


def _send(client: TestClient, method: str, request: Request) -> Response:
    """Send a bad request as the admin (an upload carries the bad row in a JSON Lines file)."""
    headers = {"Authorization": f"Bearer {TOKEN}"}
    if request.path.startswith("/api/v1/import/"):
        row = request.body if request.body is not None else building(id="OK1")
        files = {"file": ("bad.jsonl", (json.dumps(row, ensure_ascii=False) + "\n").encode())}
        return client.request(method, request.path, params=request.query, files=files, headers=headers)
    return client.request(method, request.path, params=request.query, json=request.body, headers=headers)


@pytest.fixture(scope="module")
def client(catalogue: str) -> Iterator[tuple[TestClient, Ids]]:
    """The app over the module's catalogue, and ids to use in requests."""
    with TestClient(APP) as running:
        admin = {"Authorization": f"Bearer {TOKEN}"}
        first = {
            kind: running.get(f"/api/v1/{kind}", params={"limit": 1}, headers=admin).json()["items"][0]["id"]
            for kind in ("buildings", "enterprises", "scenarios")
        }
        current = running.get("/api/v1/weights", headers=admin).json()
        pair = {"enterprise_id": first["enterprises"], "building_id": first["buildings"]}
        lead = running.post("/api/v1/leads", json=pair, headers=admin).json()["id"]
        yield running, Ids(**first, weights=current["weights"], weights_version=current["version"], lead=lead)


@pytest.mark.parametrize(
    ("method", "path"), WITH_INPUT, ids=[f"{method} {path}" for method, path in WITH_INPUT]
)
def test_bad_input_is_a_4xx_naming_the_field(
    method: str, path: str, client: tuple[TestClient, Ids], tallies: dict[str, Tally]
) -> None:
    """NUL bytes, 10**30, 100k-character texts, wrong types, unknown fields: a 4xx JSON with a message."""
    running, ids = client
    problems = []
    tally = tallies.setdefault("explicit", Tally("explicit bad input"))
    for request in _bad_requests(method, path, ids):
        answer = _send(running, method, request)
        tally.operations.add(f"{method} {path}")
        tally.examples += 1
        tally.statuses[f"{answer.status_code // 100}xx"] += 1
        try:
            detail = answer.json().get("detail")
        except (ValueError, AttributeError):
            detail = None
        if not 400 <= answer.status_code < 500 or not isinstance(detail, str) or not detail:
            problems.append(f"{request.label}: {answer.status_code} {answer.text[:200]}")
        elif answer.status_code == 422 and request.field and request.field not in answer.text:
            problems.append(f"{request.label}: the 422 does not name the field: {answer.text[:200]}")
    if problems:
        tally.failures["bad input accepted or answered badly"] += len(problems)
        tally.failed_operations.add(f"{method} {path}")
    assert not problems, "\n".join(problems)


def test_an_upload_with_an_odd_name_is_imported_and_audited(client: tuple[TestClient, Ids]) -> None:
    """A file name longer than the audit column, or with control characters, is no reason for a 5xx."""
    running, _ = client
    headers = {"Authorization": f"Bearer {TOKEN}"}
    for number, name in enumerate(("长" * 1000 + ".jsonl", "甲\x00\x1f乙.jsonl")):
        upload = {"file": (name, jsonl(building(id=f"ODD{number}")))}
        answer = running.post("/api/v1/import/buildings", files=upload, headers=headers)
        assert answer.status_code == 200, answer.text
        entry = running.get("/api/v1/audit", params={"limit": 1}, headers=headers).json()[0]
        assert entry["action"] == "import"
        assert len(entry["target_id"]) <= 64
        assert entry["target_id"].isprintable()
