"""Matching over HTTP: four directions, ad-hoc profiles, k and district filters, fresh data."""

from __future__ import annotations

from api.freshness import CHECK_SECONDS
from tests.api.conftest import Api
from tests.files import building, enterprise


def _a_check_period_later(api: Api) -> None:
    """Move the app's check clock past `CHECK_SECONDS`: another process's writes show from then on."""
    checks = api.client.app.state.xingpei.checks  # type: ignore[attr-defined]
    clock = checks.clock
    checks.clock = lambda: clock() + CHECK_SECONDS


def _check(answer: dict, k: int) -> None:  # type: ignore[type-arg]
    """The SPEC answer shape: results best first with components adding up to the score."""
    assert set(answer) >= {"results", "weights_version", "note", "eligible", "industries"}
    assert len(answer["results"]) <= k
    for rank, result in enumerate(answer["results"], start=1):
        assert set(result) == {"id", "name", "rank", "score", "components", "reasons", "district"}
        assert result["rank"] == rank
        assert abs(sum(result["components"].values()) - result["score"]) < 1e-6
        assert 2 <= len(result["reasons"]) <= 5


def _chip_firm(firm_id: str) -> dict:  # type: ignore[type-arg]
    """A prospective chip-design firm that needs a move-in-ready floor in 巴南区."""
    return enterprise(
        id=firm_id,
        description="专注芯片设计与流片验证的企业",
        required_area_m2=500,
        max_rent_yuan_m2_month=150,
        needs_move_in_ready=True,
        preferred_districts=["巴南区"],
    )


def _chip_building(building_id: str) -> dict:  # type: ignore[type-arg]
    """A cheap, move-in-ready 巴南区 building built for exactly that firm."""
    return building(
        id=building_id,
        district="巴南区",
        name="芯片设计大厦",
        description="专为芯片设计、流片验证企业打造",
        fit_out="move_in_ready",
        focus_industries=["ic_design"],
        vacant_area_m2=600,
        min_unit_m2=None,
        rent_yuan_m2_month=40,
    )


def test_four_directions_for_stored_records(api: Api) -> None:
    firm = api.client.get("/api/v1/enterprises", params={"limit": 1}, headers=api.staff).json()["items"][0][
        "id"
    ]
    for path in (
        f"/api/v1/enterprises/{firm}/matches/buildings",
        f"/api/v1/enterprises/{firm}/matches/scenarios",
        "/api/v1/buildings/B00001/matches/enterprises",
    ):
        answer = api.client.get(path, params={"k": 5}, headers=api.staff)
        assert answer.status_code == 200, (path, answer.text)
        _check(answer.json(), 5)
    scenario = api.client.get("/api/v1/scenarios", params={"limit": 1}).json()["items"][0]["id"]
    answer = api.client.get(f"/api/v1/scenarios/{scenario}/matches/enterprises", headers=api.staff)
    _check(answer.json(), 10)
    assert answer.json()["results"]


def test_unknown_ids_are_404_and_k_is_capped(api: Api) -> None:
    assert api.client.get("/api/v1/enterprises/NOPE/matches/buildings", headers=api.staff).status_code == 404
    assert api.client.get("/api/v1/buildings/NOPE/matches/enterprises", headers=api.staff).status_code == 404
    too_many = api.client.get(
        "/api/v1/buildings/B00001/matches/enterprises", params={"k": 500}, headers=api.staff
    )
    assert too_many.status_code == 422
    assert too_many.json()["errors"][0]["field"] == "k"


def test_ad_hoc_profiles_are_not_stored(api: Api) -> None:
    profile = enterprise(
        id="PHONE", required_area_m2=300, max_rent_yuan_m2_month=150, needs_move_in_ready=False
    )
    answer = api.client.post(
        "/api/v1/match/buildings", json=profile, params={"district": ["渝中区"]}, headers=api.staff
    )
    assert answer.status_code == 200, answer.text
    _check(answer.json(), 10)
    assert {r["district"] for r in answer.json()["results"]} <= {"渝中区"}
    declared, *inferred = answer.json()["industries"]
    assert declared == {
        "code": "ic_design",
        "label": "集成电路设计",
        "probability": 1.0,
        "declared": True,
        "certainty": "",
        "evidence": ["集成电路设计", "流片", "模拟芯片", "射频前端", "微电子"],
    }
    assert all(not guess["declared"] and 0.2 <= guess["probability"] < 1 for guess in inferred)
    assert api.client.get("/api/v1/enterprises/PHONE", headers=api.staff).status_code == 404
    anonymous = api.client.post("/api/v1/match/scenarios", json=profile)
    assert anonymous.status_code == 200
    assert api.client.post("/api/v1/match/buildings", json=profile).status_code == 401


def test_a_new_building_is_matched_by_the_next_query(api: Api) -> None:
    firm = _chip_firm("P2")
    api.client.post(
        "/api/v1/buildings",
        headers=api.staff,
        json=_chip_building("CHIP1"),
    )
    answer = api.client.post("/api/v1/match/buildings", json=firm, params={"k": 3}, headers=api.staff).json()
    assert answer["results"][0]["id"] == "CHIP1"
    api.client.delete("/api/v1/buildings/CHIP1", headers=api.staff)
    answer = api.client.post("/api/v1/match/buildings", json=firm, params={"k": 3}, headers=api.staff).json()
    assert "CHIP1" not in [r["id"] for r in answer["results"]]


def test_weights_saved_by_another_process_take_effect_within_a_check_period(
    api: Api, fresh_database_url: str
) -> None:
    from api.services import weights as weights_service
    from api.services.write import Operator
    from matcher.weights import Weights
    from models.database import make_engine, make_session_factory

    path = "/api/v1/buildings/B00001/matches/enterprises"
    assert api.client.get(path, headers=api.staff).json()["weights_version"] == 1
    engine = make_engine(fresh_database_url)
    with make_session_factory(engine)() as session:
        weights_service.save(
            session=session,
            actor=Operator("cli:test"),
            live=None,
            weights=Weights(industry=1.0, semantic=0.0),
            reason="命令行调整",
            expected_version=1,
        )
    engine.dispose()
    _a_check_period_later(api)
    answer = api.client.get(path, headers=api.staff).json()
    assert answer["weights_version"] == 2
    assert all(result["components"]["semantic"] == 0.0 for result in answer["results"])


def test_catalogue_written_by_another_process_is_matched_within_a_check_period(
    api: Api, fresh_database_url: str
) -> None:
    from models.catalogue import delete_record, import_file
    from models.database import make_engine, make_session_factory
    from tests.files import jsonl

    firm = _chip_firm("P3")
    engine = make_engine(fresh_database_url)
    sessions = make_session_factory(engine)
    with sessions.begin() as session:
        import_file(
            session,
            "buildings",
            jsonl(_chip_building("CLI1")),
            "b.jsonl",
        )
    _a_check_period_later(api)
    answer = api.client.post("/api/v1/match/buildings", json=firm, params={"k": 3}, headers=api.staff).json()
    assert answer["results"][0]["id"] == "CLI1"
    with sessions.begin() as session:
        assert delete_record(session, "buildings", "CLI1")
    engine.dispose()
    _a_check_period_later(api)
    answer = api.client.post("/api/v1/match/buildings", json=firm, params={"k": 3}, headers=api.staff).json()
    assert "CLI1" not in [r["id"] for r in answer["results"]]


def test_own_writes_do_not_force_a_reload(api: Api) -> None:
    from api.state import AppState

    state: AppState = api.client.app.state.xingpei  # type: ignore[attr-defined]
    api.client.post("/api/v1/buildings", json=building(id="OWN1"), headers=api.staff)
    table = state.recommender.tables["buildings"]
    api.client.get("/api/v1/buildings/OWN1/matches/enterprises", headers=api.staff)
    assert state.recommender.tables["buildings"] is table
