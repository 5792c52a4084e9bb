"""`xingpei weights show|set|history|rollback`: weight governance on the configured database."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from pydantic import TypeAdapter, ValidationError
from sqlalchemy.orm import Session

from api.config import get_settings
from api.database import open_database
from api.services import weight_learning
from api.services import weights as weights_service
from api.services.write import Operator, ServiceError
from matcher.replay import KIND_NAMES, Figure, Proposal
from matcher.weights import Weights
from models.database import make_session_factory
from models.lead import OutcomeStage
from models.row_errors import describe
from models.weights_version import WeightsVersion

weights_app = typer.Typer(
    help="权重治理：查看、修改（生成新版本）、历史、回滚与从跟进结果学习。", no_args_is_help=True
)
_reason = TypeAdapter(weights_service.Reason)


@contextmanager
def _database() -> Iterator[Session]:
    """A session on the configured (migrated) database; the weights service commits what it writes."""
    engine = open_database(get_settings())
    try:
        with make_session_factory(engine)() as session:
            yield session
    finally:
        engine.dispose()


def _fail(message: str) -> NoReturn:
    """Print a message on standard error and exit with status 1."""
    typer.echo(message, err=True)
    raise typer.Exit(1)


def _invalid(what: str, exc: ValidationError) -> NoReturn:
    """Exit with every bad field of a validation error, named."""
    lines = [f"{what}有误，未保存："]
    for error in exc.errors(include_url=False):
        field, message = describe(error)
        lines.append(f"  {field or what}：{message}")
    _fail("\n".join(lines))


def _check_reason(reason: str) -> str:
    """The validated reason, or exit naming `--reason`."""
    try:
        return _reason.validate_python(reason)
    except ValidationError as exc:
        _invalid("--reason", exc)


def _read_weights(source: str) -> Weights:
    """A complete weights object from inline JSON or from a JSON file."""
    text = source
    if not source.lstrip().startswith(("{", "[")):
        path = Path(source)
        if not path.is_file():
            _fail(f"找不到权重文件「{source}」（参数应为 JSON 文件路径或 JSON 对象）")
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            _fail(f"无法读取权重文件「{source}」：{exc}")
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        _fail(f"权重不是有效的 JSON（第 {exc.lineno} 行第 {exc.colno} 列）：{exc.msg}")
    if not isinstance(data, dict):
        _fail('权重应为 JSON 对象，例如 {"semantic": 0.3, …}')
    try:
        return weights_service.WholeWeights.model_validate(data)
    except ValidationError as exc:
        _invalid("权重", exc)


def _when(moment: datetime) -> str:
    """A stored time in UTC, to the second."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _changes(changes: dict[str, list[Any]]) -> list[str]:
    """Diff lines: `name：old → new`."""
    return [f"    {name}：{old} → {new}" for name, (old, new) in changes.items()]


def _new_version(write: Callable[[Session, int], WeightsVersion]) -> None:
    """Make a new version (`write` gets the current version's number); report what it changed, or why not."""
    with _database() as session:
        before = weights_service.current(session)
        try:
            row = write(session, before.version)
        except ServiceError as exc:
            _fail(str(exc))
    typer.echo(f"已保存权重版本 {row.version}（{row.reason}）")
    for line in _changes(weights_service.diff(before.weights, row.weights)) or ["    权重与上一版本相同"]:
        typer.echo(line)


@weights_app.command("show", help="查看当前权重版本及每个权重的含义。")
def show_command(
    as_json: Annotated[bool, typer.Option("--json", help="只输出权重 JSON（可编辑后交给 set）")] = False,
) -> None:
    """Show the current weights version and the meaning of every weight."""
    with _database() as session:
        row = weights_service.current(session)
    if as_json:
        typer.echo(json.dumps(row.weights, ensure_ascii=False, indent=2))
        return
    typer.echo(f"当前权重：版本 {row.version}（{row.author}，{_when(row.created_at)}）")
    typer.echo(f"原因：{row.reason}")
    meanings = weights_service.meanings()
    for name, value in row.weights.items():
        typer.echo(f"  {name:<14}{value:>6.2f}  {meanings.get(name, '')}")


@weights_app.command("set", help="保存完整的权重对象为新版本（需注明原因，记入审计日志）。")
def set_command(
    source: Annotated[
        str, typer.Argument(metavar="FILE_OR_JSON", help="完整权重对象：JSON 文件路径或 JSON 文本")
    ],
    reason: Annotated[str, typer.Option("--reason", help="修改原因（必填）")],
    expected_version: Annotated[
        int | None, typer.Option("--expected-version", help="修改所基于的版本号；已不是当前版本时拒绝")
    ] = None,
) -> None:
    """Save a whole weights object as a new version (audited)."""
    weights = _read_weights(source)
    checked = _check_reason(reason)
    _new_version(
        lambda session, current: weights_service.save(
            session=session,
            actor=Operator.current(),
            live=None,
            weights=weights,
            reason=checked,
            expected_version=current if expected_version is None else expected_version,
        )
    )


@weights_app.command("history", help="列出全部版本（最新在前）：修改人、时间、原因和变化。")
def history_command() -> None:
    """List every version, newest first, with who, when, why and what changed."""
    with _database() as session:
        entries = weights_service.history(session)
    for entry in entries:
        restored = f"（恢复自版本 {entry.restored_from}）" if entry.restored_from else ""
        typer.echo(
            f"版本 {entry.version} · {_when(entry.created_at)} · {entry.author} · {entry.reason}{restored}"
        )
        for line in _changes(entry.diff):
            typer.echo(line)


@weights_app.command("rollback", help="把旧版本恢复为当前权重（生成新版本，记入审计日志）。")
def rollback_command(
    version: Annotated[int, typer.Argument(min=1, max=weights_service.MAX_VERSION, help="要恢复的版本号")],
    reason: Annotated[str | None, typer.Option("--reason", help="回滚原因（默认「回滚到版本 N」）")] = None,
    expected_version: Annotated[
        int | None, typer.Option("--expected-version", help="回滚所基于的版本号；已不是当前版本时拒绝")
    ] = None,
) -> None:
    """Make an old version current again as a new version (audited)."""
    checked = None if reason is None else _check_reason(reason)
    _new_version(
        lambda session, _current: weights_service.rollback(
            session=session,
            actor=Operator.current(),
            live=None,
            version=version,
            reason=checked,
            expected_version=expected_version,
        )
    )


@weights_app.command("learn", help="从跟进结果学习权重并按时间切分回放比较（只给建议，不保存）。")
def learn_command(
    stage: Annotated[
        OutcomeStage,
        typer.Option("--stage", help="达到哪个阶段算成功：visited（带看/入围）或 signed（签约/中标）"),
    ] = OutcomeStage.visited,
    split: Annotated[
        datetime | None,
        typer.Option("--split", formats=["%Y-%m-%d"], help="切分日期：之前的跟进用于学习，之后的用于回放"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON")] = False,
) -> None:
    """Print weights learned from the leads' outcomes with their replay against the current version."""
    with _database() as session:
        try:
            proposal = weight_learning.propose(
                session, stage=stage, split=None if split is None else split.date()
            )
        except ServiceError as exc:
            _fail(str(exc))
    if as_json:
        typer.echo(json.dumps(proposal.json(), ensure_ascii=False, indent=2))
        return
    for line in proposal_lines(proposal):
        typer.echo(line)


def proposal_lines(proposal: Proposal) -> list[str]:
    """The proposal for people: each weight current → proposed, the replay with its intervals, the verdict."""
    replay = proposal.replay
    lines = [
        f"从跟进结果学习（目标阶段：{proposal.stage.label}；切分日期 {proposal.split.isoformat()}；"
        f"当前权重版本 {proposal.current_version}）",
        f"学习样本：达到 {proposal.positives} 条，未达到 {proposal.negatives} 条",
        "权重              当前    建议",
    ]
    current, proposed = proposal.current.model_dump(), proposal.proposed.model_dump()
    for name, value in current.items():
        mark = "" if proposed[name] == value else "  *"
        lines.append(f"  {name:<14}{value:>6.3f}  {proposed[name]:>6.3f}{mark}")
    for label, figures in (
        ("合计", replay),
        *((KIND_NAMES[kind], r) for kind, r in proposal.per_kind.items()),
    ):
        lines.append(
            f"回放（{label}，{figures.groups} 个列表）nDCG@10 当前 {_figure(figures.current)}，"
            f"建议 {_figure(figures.proposed)}，差值 95% 区间 "
            f"{figures.difference_ci95[0]:+.3f} ~ {figures.difference_ci95[1]:+.3f}"
        )
    lines.append(proposal.message)
    return lines


def _figure(figure: Figure) -> str:
    """nDCG@10 with its interval and recall@3."""
    return (
        f"{figure.ndcg10:.3f} [{figure.ci95[0]:.3f}, {figure.ci95[1]:.3f}]（recall@3 {figure.recall3:.3f}）"
    )
