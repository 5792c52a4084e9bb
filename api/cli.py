"""The `xingpei` command: import, export, demo data, synthetic catalogues and the web server."""

from __future__ import annotations

import multiprocessing
import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from api.cli_allocate import allocate_command
from api.cli_common import err, sessions
from api.cli_match import match_app
from api.cli_users import users_app
from api.cli_weights import weights_app
from api.config import ENV_PREFIX, Settings, get_settings
from api.database import migrated
from api.embedding import cached_encoder, uncached
from api.services.write import Operator
from matcher.encoder import EncoderUnavailable
from matcher.text import record_text
from models.catalogue import KIND_LABELS, check_rows, iter_records
from models.interchange import file_format, read_rows, write_records
from models.lead_interchange import LeadRow
from models.records import (
    RECORD_TYPES,
    RecordKind,
)
from models.row_errors import ImportRejected

app = typer.Typer(help="星配：楼宇、企业与应用场景的供需匹配。", no_args_is_help=True, add_completion=False)
PROGRESS_THRESHOLD = 2000
"""Files with at least this many rows show a progress bar."""
ENCODE_CHUNK = 512
"""Texts encoded and stored per step of `import --encode` (progress, and a crash keeps what was done)."""


ENCODE_OPTION = typer.Option("--encode/--no-encode", help="写入后为向量缓存中没有的文本编码")


class Kind(StrEnum):
    """The catalogue's record kinds."""

    buildings = "buildings"
    enterprises = "enterprises"
    scenarios = "scenarios"


class FileKind(StrEnum):
    """What a file may hold: a catalogue kind, or leads (跟进记录)."""

    buildings = "buildings"
    enterprises = "enterprises"
    scenarios = "scenarios"
    leads = "leads"


def _progress(enabled: bool) -> Progress:
    """A progress display on standard error, shown only for large files."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        disable=not enabled,
        transient=True,
    )


@app.command("import")
def import_command(
    kind: Annotated[FileKind, typer.Argument(help="记录类型（leads：跟进记录）")],
    file: Annotated[Path, typer.Argument(help=".jsonl、.csv 或 .xlsx 文件", exists=True, dir_okay=False)],
    encode: Annotated[
        bool,
        typer.Option("--encode/--no-encode", help="写入后为新文本编码，存入向量缓存（服务无需在请求时编码）"),
    ] = True,
) -> None:
    """Import a file all-or-nothing: any bad row rejects the file and every bad row is listed.

    Then, unless `--no-encode`, the texts not yet in the vector cache are encoded, so that a running
    server (or the next start) finds every vector ready: re-importing a file encodes nothing.
    """
    from api.services import imports

    if kind is FileKind.leads:
        _import_leads(file)
        return
    record_kind: RecordKind = Kind(kind).value
    rows, read_errors = read_rows(file.read_bytes(), file.name, RECORD_TYPES[record_kind])
    with _progress(len(rows) >= PROGRESS_THRESHOLD) as progress:
        checking = progress.add_task("校验", total=len(rows))
        try:
            records = check_rows(record_kind, rows, read_errors, lambda n: progress.advance(checking, n))
        except ImportRejected as rejected:
            _rejected(file, rejected)
        writing = progress.add_task("写入", total=len(records))
        database = sessions(get_settings())
        with database() as session:
            report = imports.import_records(
                session=session,
                actor=Operator.current(),
                live=None,
                kind=record_kind,
                records=records,
                filename=file.name,
                progress=lambda n: progress.advance(writing, n),
            )
        typer.echo(report.summary())
        if encode:
            _encode_into_cache(database, [record_text(record) for record in records], progress)


def _rejected(file: Path, rejected: ImportRejected) -> NoReturn:
    """Print every row error of a rejected file and exit 1."""
    typer.echo(f"{rejected}（{file.name}）", err=True)
    for error in rejected.errors:
        typer.echo(f"  {error}", err=True)
    raise typer.Exit(1)


def _import_leads(file: Path) -> None:
    """Import a follow-up ledger all-or-nothing (`api.services.lead_files`)."""
    from api.services import lead_files

    try:
        with sessions(get_settings())() as session:
            report = lead_files.import_lead_file(
                session=session,
                actor=Operator.current(),
                live=None,
                data=file.read_bytes(),
                filename=file.name,
            )
    except ImportRejected as rejected:
        _rejected(file, rejected)
    typer.echo(report.summary())


def _encode_into_cache(sessions: sessionmaker[Session], texts: list[str], progress: Progress) -> None:
    """Encode the texts the vector cache lacks (in chunks, with progress) and say how many there were.

    The cache is asked once, for keys only; only the missing texts are passed on, and the model is
    loaded only when there are some: re-importing a file starts no model.
    """
    settings = get_settings()
    texts = uncached(settings, sessions, texts)
    if not texts:
        typer.echo("向量缓存：新编码 0 条文本（全部已在缓存中）")
        return
    try:
        encoder = cached_encoder(settings, sessions)
    except EncoderUnavailable as error:
        err.print(f"未编码（数据已导入，服务启动时再编码）：{error}", markup=False)
        return
    encoding = progress.add_task("编码", total=len(texts))
    for start in range(0, len(texts), ENCODE_CHUNK):
        chunk = texts[start : start + ENCODE_CHUNK]
        encoder.encode(chunk)
        progress.advance(encoding, len(chunk))
    typer.echo(f"向量缓存：新编码 {encoder.encoded} 条文本")


@app.command("export")
def export_command(
    kind: Annotated[FileKind, typer.Argument(help="记录类型（leads：跟进记录）")],
    file: Annotated[Path, typer.Argument(help="目标文件：.jsonl、.csv 或 .xlsx", dir_okay=False)],
    chinese: Annotated[bool, typer.Option("--chinese", help="CSV/Excel 使用中文表头和中文取值")] = False,
) -> None:
    """Export every record of a kind, in the format the file name's suffix names."""
    from api.services.lead_files import export_leads

    try:
        file_format(file.name)
    except ValueError as exc:
        err.print(str(exc), markup=False)
        raise typer.Exit(2) from None
    with sessions(get_settings())() as session:
        if kind is FileKind.leads:
            written = write_records(export_leads(session), file, LeadRow, chinese=chinese)
            typer.echo(f"已导出跟进记录 {written} 条到 {file}")
            return
        record_kind: RecordKind = Kind(kind).value
        records = iter_records(session, record_kind)
        written = write_records(records, file, RECORD_TYPES[record_kind], chinese=chinese)
    typer.echo(f"已导出{KIND_LABELS[record_kind]} {written} 条到 {file}")


@app.command("gen")
def gen_command(
    kind: Annotated[Kind, typer.Argument(help="记录类型")],
    count: Annotated[int, typer.Argument(min=1, help="生成多少条")],
    file: Annotated[Path, typer.Argument(help="目标文件：.jsonl、.csv 或 .xlsx", dir_okay=False)],
    seed: Annotated[int, typer.Option(help="随机种子：相同种子生成相同数据")] = 1,
) -> None:
    """Write a synthetic catalogue of any size in the interchange formats (for scale tests)."""
    from demo.generate import GENERATORS

    record_kind: RecordKind = kind.value
    record_type = RECORD_TYPES[record_kind]
    records = (record_type.model_validate(values) for values in GENERATORS[record_kind](count, seed))
    written = write_records(records, file, record_type)
    typer.echo(f"已生成{KIND_LABELS[record_kind]} {written} 条到 {file}")


WORKERS_OPTION = typer.Option(
    "--workers",
    min=1,
    help="工作进程数：大于 1 时多个进程共用同一数据库，任一进程（或命令行）保存的修改在下一次请求时处处生效",
)
WORKER_HEALTHCHECK_SECONDS = 60
"""How long uvicorn's supervisor waits for a busy worker to answer its ping before replacing it."""


def _export_settings(settings: Settings) -> None:
    """Put the settings into this process's environment, so that every spawned worker reads the same ones."""
    for name in Settings.model_fields:
        os.environ[f"{ENV_PREFIX}{name.upper()}"] = str(getattr(settings, name))


def _warm_up(settings: Settings) -> None:
    """Encode every catalogue text not yet in the vector cache and keep the build's snapshot (runs in a
    child process, then exits).

    Workers then start from the snapshot (or the cache) alone: they never encode the catalogue, and so
    never race to insert the same vectors into the database or to write the snapshot.
    """
    from api.loading import load_state

    database = sessions(settings)
    encoder = cached_encoder(settings, database)
    load_state(settings, database, encoder)
    typer.echo(f"向量缓存已就绪：新编码 {encoder.encoded} 条文本")


def _warm_up_apart(settings: Settings, workers: int) -> None:
    """Run `_warm_up` in a child process (its memory is returned before the workers start)."""
    typer.echo(f"预热向量缓存与启动快照（{workers} 个工作进程启动前为尚未编码的文本编码一次）…")
    warm = multiprocessing.get_context("spawn").Process(
        target=_warm_up, args=(settings,), name="xingpei-warm-up"
    )
    warm.start()
    warm.join()
    if warm.exitcode != 0:
        err.print(f"预热失败（退出码 {warm.exitcode}），未启动工作进程", markup=False)
        raise typer.Exit(1)


def _serve(settings: Settings, host: str | None, port: int | None, workers: int = 1) -> None:
    """Run the web app with uvicorn: in this process, or in `workers` processes sharing one database."""
    import uvicorn

    host, port = host or settings.host, port or settings.port
    if workers == 1:
        from api.app import create_app

        uvicorn.run(create_app(settings), host=host, port=port)
        return
    # Migrate, fill the vector cache and write the snapshot once, before the workers start, so that they
    # do not race; a snapshot of the current catalogue (checked here, without loading a model) is enough.
    from api import supervisor
    from api.balance import connection_board
    from api.loading import snapshot_ready

    supervisor.install()
    with migrated(settings):
        if snapshot_ready(settings, sessions(settings)):
            typer.echo("启动快照与目录一致：工作进程直接从快照启动，无需预热")
        else:
            _warm_up_apart(settings, workers)
        if not settings.embedding_threads:  # N processes encoding with every core each would fight for them
            cores = os.cpu_count() or 1
            settings = settings.model_copy(update={"embedding_threads": max(1, cores // workers)})
        _export_settings(settings)
        shared = make_url(settings.database_url).render_as_string()
        typer.echo(f"启动 {workers} 个工作进程，共用数据库 {shared}")
        with connection_board(workers):
            uvicorn.run(
                "api.app:create_app",
                factory=True,
                host=host,
                port=port,
                workers=workers,
                http="api.balance:BalancedProtocol",
                timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
            )


@app.command("serve")
def serve_command(
    host: Annotated[str | None, typer.Option(help="监听地址")] = None,
    port: Annotated[int | None, typer.Option(help="监听端口")] = None,
    workers: Annotated[int, WORKERS_OPTION] = 1,
) -> None:
    """Serve whatever database is configured (`--workers N`: N processes sharing it)."""
    _serve(get_settings(), host, port, workers)


@app.command("demo")
def demo_command(
    host: Annotated[str | None, typer.Option(help="监听地址")] = None,
    port: Annotated[int | None, typer.Option(help="监听端口")] = None,
    serve: Annotated[bool, typer.Option(help="装载后启动网页服务")] = True,
    workers: Annotated[int, WORKERS_OPTION] = 1,
) -> None:
    """Load the demo catalogue and its follow-up history if the database is empty, then serve."""
    from api.embedding import configured_model
    from demo.bundle import catalogue_is_empty, load_demo

    settings = get_settings()
    with sessions(settings).begin() as session:
        if catalogue_is_empty(session):
            typer.echo("首次装载演示数据：编码目录文本并按服务器的模型生成 18 个月的跟进历史，需要一两分钟……")
            for report in load_demo(session, configured_model(settings)):
                typer.echo(report.summary())
        else:
            typer.echo("数据库中已有数据，跳过演示数据装载")
    if serve:
        _serve(settings, host, port, workers)


def main() -> None:
    """Entry point that turns configuration errors into a clear message."""
    try:
        app()
    except ValueError as exc:
        err.print(f"[red]配置错误[/]：{exc}", highlight=False)
        sys.exit(2)


app.add_typer(weights_app, name="weights")
app.add_typer(users_app, name="users")
app.add_typer(match_app, name="match")
app.command("allocate")(allocate_command)
