"""`xingpei match`: recommendations from the command line, as readable lines or the API's JSON."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer

from api.cli_common import err, sessions
from api.config import get_settings
from api.embedding import cached_encoder
from models.catalogue import KIND_LABELS
from models.records import BuildingRecord, CatalogueRecord, EnterpriseRecord, RecordKind, ScenarioRecord

if TYPE_CHECKING:  # the matcher is imported by the commands, not by `import api.cli` (a quick CLI)
    from api.state import AppState
    from matcher.recommender import MatchResult

match_app = typer.Typer(help="推荐：为企业找楼、为企业推荐场景、为楼宇或场景找企业。", no_args_is_help=True)
K_OPTION = typer.Option("-k", min=1, max=50, help="返回条数")
JSON_OPTION = typer.Option("--json", help="输出与 HTTP API 相同的 JSON")


def _print_matches(result: MatchResult, weights_version: int, as_json: bool) -> None:
    """Print a match answer as the API's JSON or as readable lines."""
    from api.routes.matches import match_answer

    if as_json:
        typer.echo(json.dumps(match_answer(result, weights_version), ensure_ascii=False, indent=2))
        return
    for match in result.results:
        typer.echo(
            f"{match.rank:>2}. {match.name}（{match.id}，{match.district or '市级'}）得分 {match.score:.3f}"
        )
        for reason in match.reasons:
            typer.echo(f"      · {reason}")
    if result.note:
        typer.echo(result.note)


def _loaded() -> AppState:
    """The configured catalogue loaded into a recommender, as the web app does at start-up."""
    from api.state import load_state

    settings = get_settings()
    database = sessions(settings)
    return load_state(settings, database, cached_encoder(settings, database))


def _record(state: AppState, kind: RecordKind, record_id: str) -> CatalogueRecord:
    """A stored record, or exit with a message naming the id."""
    try:
        return state.recommender.stored(kind, record_id)
    except KeyError:
        err.print(f"{KIND_LABELS[kind]}「{record_id}」不存在", markup=False)
        raise typer.Exit(1) from None


def _for_firm(enterprise: str, target: RecordKind, k: int, as_json: bool) -> None:
    """Print the best buildings or scenarios for a stored firm."""
    state = _loaded()
    firm = _record(state, "enterprises", enterprise)
    assert isinstance(firm, EnterpriseRecord)
    match = state.recommender.match_buildings if target == "buildings" else state.recommender.match_scenarios
    _print_matches(match(firm, k), state.weights_version, as_json)


@match_app.command("buildings")
def match_buildings_command(
    enterprise: Annotated[str, typer.Option(help="企业编号")],
    k: Annotated[int, K_OPTION] = 10,
    as_json: Annotated[bool, JSON_OPTION] = False,
) -> None:
    """The best buildings for a stored firm."""
    _for_firm(enterprise, "buildings", k, as_json)


@match_app.command("scenarios")
def match_scenarios_command(
    enterprise: Annotated[str, typer.Option(help="企业编号")],
    k: Annotated[int, K_OPTION] = 10,
    as_json: Annotated[bool, JSON_OPTION] = False,
) -> None:
    """The best open scenarios for a stored firm."""
    _for_firm(enterprise, "scenarios", k, as_json)


@match_app.command("enterprises")
def match_enterprises_command(
    building: Annotated[str | None, typer.Option(help="楼宇编号")] = None,
    scenario: Annotated[str | None, typer.Option(help="场景编号")] = None,
    k: Annotated[int, K_OPTION] = 10,
    as_json: Annotated[bool, JSON_OPTION] = False,
) -> None:
    """The firms that fit a stored building or could take on a stored scenario."""
    if (building is None) == (scenario is None):
        err.print("请指定 --building 或 --scenario 之一", markup=False)
        raise typer.Exit(2)
    state = _loaded()
    if building is not None:
        target = _record(state, "buildings", building)
        assert isinstance(target, BuildingRecord)
        result = state.recommender.match_enterprises_for_building(target, k)
    else:
        item = _record(state, "scenarios", scenario or "")
        assert isinstance(item, ScenarioRecord)
        result = state.recommender.match_enterprises_for_scenario(item, k)
    _print_matches(result, state.weights_version, as_json)
