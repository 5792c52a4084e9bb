"""`xingpei users add`: users and their API tokens on the configured database."""

from __future__ import annotations

import sys
from enum import StrEnum
from typing import Annotated

import typer

from api.cli_common import err, sessions
from api.config import get_settings

users_app = typer.Typer(help="用户与 API 令牌。", no_args_is_help=True)


class RoleChoice(StrEnum):
    """Roles a user may be given."""

    admin = "admin"
    staff = "staff"


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="用户名")],
    role: Annotated[RoleChoice, typer.Option(help="角色：admin 管理员 / staff 招商人员")],
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="从标准输入读取登录密码")] = False,
    district: Annotated[
        str | None, typer.Option(help="所属区（仅招商人员）：只能变更本区楼宇的跟进和本人创建的跟进")
    ] = None,
) -> None:
    """Create a user and print a new API token as the last line (shown once, stored only as a hash)."""
    from api.services import users
    from api.services.write import Operator, ServiceError
    from models.enums import District
    from models.records import enum_parser
    from models.user import Role

    try:
        member: District | None = None if district is None else enum_parser(District, "区")(district)
    except ValueError as exc:
        err.print(f"--district：{exc}", markup=False)
        raise typer.Exit(2) from None
    password = sys.stdin.readline().rstrip("\n") if password_stdin else None
    if password_stdin and not password:
        err.print("标准输入中没有密码", markup=False)
        raise typer.Exit(2)
    try:
        with sessions(get_settings())() as session:
            user, token = users.add(
                session=session,
                actor=Operator.current(),
                name=name,
                role=Role.parse(role.value),
                password=password,
                district=member,
            )
            where = f"，{user.district.value}" if user.district else ""
            typer.echo(f"已创建用户 {user.name}（{user.role.label}{where}）。API 令牌只显示这一次：")
    except ServiceError as exc:
        err.print(str(exc), markup=False)
        raise typer.Exit(1) from None
    typer.echo(token)
