"""``flask --app wsgi tracker …``: thin commands over the domain services (CONTRACT.md).

Errors go to stderr as one plain sentence with exit status 1; click answers bad usage with 2.
"""

import json
import secrets
import sys

import click
from flask.cli import AppGroup

from tracker.auth import services
from tracker.errors import DomainError
from tracker.extensions import db

tracker_cli = AppGroup("tracker", help="tracker 的管理命令。")


def _emit(data) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


def _fail(message: str) -> None:
    db.session.rollback()
    click.echo(message, err=True)
    sys.exit(1)


@tracker_cli.command("create-unit")
@click.argument("name")
@click.option("--parent", help="上级单位的名称（同名时用路径，如 市局/某县局）")
def create_unit(name: str, parent: str | None) -> None:
    """Create a unit, optionally under a parent unit."""
    try:
        parent_unit = services.find_unit(parent) if parent else None
        unit = services.create_unit(name, parent_unit)
        db.session.commit()
    except DomainError as error:
        _fail(error.message)
    _emit(services.unit_to_json(unit))


@tracker_cli.command("create-user")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice(["official", "supervisor", "admin"]))
@click.option("--unit", "unit_name", required=True, help="所属单位的名称")
@click.option("--email")
@click.option("--name", default="", help="姓名")
@click.option("--password-stdin", is_flag=True, help="从标准输入读取密码（一行）")
def create_user(username, role, unit_name, email, name, password_stdin) -> None:
    """Create a user. Without --password-stdin a random password is generated and printed once."""
    generated = None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = generated = secrets.token_urlsafe(12)
    try:
        user = services.create_user(
            username, role=services.parse_role(role), unit=services.find_unit(unit_name),
            password=password, name=name, email=email,
        )
        db.session.commit()
    except DomainError as error:
        _fail(error.message)
    data = services.user_to_json(user)
    if generated:
        data["password"] = generated
    _emit(data)


@tracker_cli.command("demo")
@click.option("--if-empty", is_flag=True, help="数据库已有数据时不加载，只列出演示账号")
def demo(if_empty: bool) -> None:
    """Load the demo data: units, accounts, items from the sample reports."""
    from tracker import clock
    from tracker.demo import ACCOUNTS, database_is_empty, load_demo

    if not database_is_empty():
        if not if_empty:
            _fail("数据库中已有数据，未加载演示数据（演示数据只加载到空数据库）。")
        click.echo("数据库中已有数据，未重新加载演示数据。")
    else:
        try:
            summary = load_demo(today=clock.local_today(), now=clock.utcnow())
            db.session.commit()
        except DomainError as error:
            _fail(error.message)
        click.echo(f"已加载演示数据：{summary['units']} 个单位，{summary['items']} 个整改事项。")
    click.echo("演示账号（用户名 / 密码 / 角色 / 单位）：")
    for username, password, role, unit, _name in ACCOUNTS:
        click.echo(f"  {username:<12} {password:<10} {role:<11} {unit}")
