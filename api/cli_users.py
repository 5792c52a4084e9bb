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
) -> None:
    """Create a user and print a new API token as the last line (shown once, stored only as a hash)."""
    from api.services import users
    from api.services.write import Conflict, Operator
    from models.user import Role

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
            )
            typer.echo(f"已创建用户 {user.name}（{user.role.label}）。API 令牌只显示这一次：")
    except Conflict as exc:
        err.print(str(exc), markup=False)
        raise typer.Exit(1) from None
    typer.echo(token)
