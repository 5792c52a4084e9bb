"""`xingpei allocate`: 分配建议 from the command line, as readable lines or the API's JSON."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer

from api.cli_common import err, loaded_state

if TYPE_CHECKING:  # the matcher is imported by the command, not by `import api.cli` (a quick CLI)
    from api.services.allocation import AllocationOut

SHOWN = 20
"""Assignments and conflicts printed as lines (all of them with --json)."""


def allocate_command(
    district: Annotated[str | None, typer.Option(help="只分配该区的楼宇（及该区的场景），如 渝北区")] = None,
    max_district_share: Annotated[
        float | None, typer.Option(help="单区分配占比上限（0–1，如 0.3）：任一区分到的企业不超过这一比例")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="输出与 HTTP API 相同的 JSON")] = False,
) -> None:
    """Assign the pool's firms to buildings within their available area; scenario invitations beside it."""
    from api.services import allocation
    from api.services.write import Operator, ServiceError
    from models.enums import District
    from models.records import enum_parser

    try:
        chosen: District | None = None if district is None else enum_parser(District, "区")(district)
    except ValueError as exc:
        err.print(f"--district：{exc}", markup=False)
        raise typer.Exit(1) from None
    state = loaded_state()
    with state.sessions() as session:
        try:
            found = allocation.report(
                state=state,
                session=session,
                actor=Operator.current(),
                district=chosen,
                share=max_district_share,
            )
        except ServiceError as exc:
            err.print(f"--max-district-share：{exc}", markup=False)
            raise typer.Exit(1) from None
    if as_json:
        typer.echo(json.dumps(found.model_dump(mode="json"), ensure_ascii=False, indent=2))
        return
    _print(found)


def _print(found: AllocationOut) -> None:
    """The summary, the conflicts and the best assignments and invitations as lines."""
    greedy = found.greedy
    typer.echo(
        f"分配建议（{found.scope}）：{len(found.assignments)}/{found.pool_firms} 家企业分到楼宇，"
        f"匹配度合计 {found.total_score:.3f}"
        f"（最优差距 ≤ {found.optimality_gap:.2%}，求解 {found.solve_seconds:.1f} 秒）"
    )
    typer.echo(
        f"各取首选：合计 {greedy.total_score:.3f}，超订楼宇 {len(greedy.overbooked_buildings)} 栋；"
        f"放不下即放弃：合计 {greedy.feasible_total_score:.3f}"
    )
    for over in greedy.overbooked_buildings[:SHOWN]:
        typer.echo(
            f"  冲突 {over.building_name}（{over.building_id}，{over.district}）："
            f"可用 {over.available_m2:,.0f} ㎡，"
            f"{len(over.enterprise_ids)} 家企业共需 {over.wanted_m2:,.0f} ㎡"
        )
    for item in found.assignments[:SHOWN]:
        typer.echo(
            f"  {item.enterprise_name}（{item.enterprise_id}）→ {item.building_name}（{item.building_id}）"
            f" {item.area_m2:,.0f} ㎡ 匹配度 {item.score:.3f}，较首选损失 {item.loss:.3f}"
        )
    if len(found.assignments) > SHOWN:
        typer.echo(f"  ……另有 {len(found.assignments) - SHOWN} 条，--json 输出全部")
    short = [item for item in found.scenario_invitations if item.shortfall]
    typer.echo(f"场景邀请：{len(found.scenario_invitations)} 个征集中的场景，{len(short)} 个邀请不足")
