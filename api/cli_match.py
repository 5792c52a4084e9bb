"""`xingpei match`: recommendations from the command line, as readable lines or the API's JSON."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import typer

from api.cli_common import err, loaded_state

if TYPE_CHECKING:  # the matcher is imported by the commands, not by `import api.cli` (a quick CLI)
    from api.services.matching import Answer
    from matcher.directions import DirectionName

match_app = typer.Typer(help="推荐：为企业找楼、为企业推荐场景、为楼宇或场景找企业。", no_args_is_help=True)
K_OPTION = typer.Option("-k", min=1, max=50, help="返回条数")
JSON_OPTION = typer.Option("--json", help="输出与 HTTP API 相同的 JSON")


def _print_matches(answer: Answer, as_json: bool) -> None:
    """Print a match answer as the API's JSON or as readable lines."""
    if as_json:
        typer.echo(json.dumps(answer.json(), ensure_ascii=False, indent=2))
        return
    result = answer.result
    for match in result.results:
        typer.echo(
            f"{match.rank:>2}. {match.name}（{match.id}，{match.district or '市级'}）得分 {match.score:.3f}"
        )
        for reason in match.reasons:
            typer.echo(f"      · {reason}")
    if result.note:
        typer.echo(result.note)


def _match(direction: DirectionName, record_id: str, k: int, as_json: bool) -> None:
    """Print the best matches for a stored record, or exit with a message naming an unknown id."""
    from api.services import matching
    from api.services.catalogue import RecordNotFound
    from matcher.directions import DIRECTIONS

    state = loaded_state()
    with state.sessions() as session:
        try:
            answer = matching.match(
                state=state, session=session, direction=DIRECTIONS[direction], record=record_id, k=k
            )
        except RecordNotFound as exc:
            err.print(str(exc), markup=False)
            raise typer.Exit(1) from None
    _print_matches(answer, as_json)


def _for_firm(direction: DirectionName, summary: str) -> Callable[..., None]:
    """The command that prints a direction's matches for a stored firm; `summary` is its help."""

    def command(
        enterprise: Annotated[str, typer.Option(help="企业编号")],
        k: Annotated[int, K_OPTION] = 10,
        as_json: Annotated[bool, JSON_OPTION] = False,
    ) -> None:
        _match(direction, enterprise, k, as_json)

    command.__doc__ = summary
    return command


match_app.command("buildings")(_for_firm("firm_buildings", "The best buildings for a stored firm."))
match_app.command("scenarios")(_for_firm("firm_scenarios", "The best open scenarios for a stored firm."))


@match_app.command("enterprises")
def match_enterprises_command(
    building: Annotated[str | None, typer.Option(help="楼宇编号")] = None,
    scenario: Annotated[str | None, typer.Option(help="场景编号")] = None,
    k: Annotated[int, K_OPTION] = 10,
    as_json: Annotated[bool, JSON_OPTION] = False,
) -> None:
    """The firms that fit a stored building or could take on a stored scenario."""
    if building is not None and scenario is None:
        _match("building_firms", building, k, as_json)
    elif scenario is not None and building is None:
        _match("scenario_firms", scenario, k, as_json)
    else:
        err.print("请指定 --building 或 --scenario 之一", markup=False)
        raise typer.Exit(2)
