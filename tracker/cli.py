"""``flask --app wsgi tracker …``: thin commands over the domain services (CONTRACT.md).

Errors go to stderr as one plain sentence with exit status 1; click answers bad usage with 2.
"""

import json
import secrets
import sys

import click
from flask.cli import AppGroup

from tracker.errors import DomainError
from tracker.extensions import db
from tracker.items.models import Status
from tracker.org import services
from tracker.org.models import Role
from tracker.storable import MESSAGE as UNSTORABLE
from tracker.storable import is_storable
from tracker.web import params
from tracker.web.work import run


class Command(click.Command):
    """A tracker command: arguments no database can store are refused before anything runs.
    (Python decodes undecodable bytes of the command line to lone surrogates.)"""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not all(is_storable(arg) for arg in args):
            click.echo(UNSTORABLE.replace("提交的内容", "命令参数"), err=True)
            ctx.exit(1)
        return super().parse_args(ctx, args)


tracker_cli = AppGroup("tracker", help="tracker 的管理命令。")
tracker_cli.command_class = Command


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
        unit = run(lambda: services.create_unit(name, services.find_unit(parent) if parent else None))
    except DomainError as error:
        _fail(error.message)
    _emit(services.unit_to_json(unit))


@tracker_cli.command("create-user")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice([role.value for role in Role]))
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
        user = run(lambda: services.create_user(
            username, role=services.parse_role(role), unit=services.find_unit(unit_name),
            password=password, name=name, email=email,
        ))
    except DomainError as error:
        _fail(error.message)
    data = services.user_to_json(user)
    if generated:
        data["password"] = generated
    _emit(data)


@tracker_cli.command("create-token")
@click.argument("username")
@click.option("--name", default="命令行创建", help="令牌名称，便于日后辨认")
def create_token(username: str, name: str) -> None:
    """Create an API token for USERNAME and print it, alone on one line, this once."""
    from tracker import clock
    from tracker.items.services import find_user
    from tracker.org.tokens import create_token as new_token

    user = find_user(username)
    if user is None:
        _fail(f"找不到用户“{username}”。")
    try:
        _, secret = run(lambda: new_token(user, name=name, now=clock.utcnow()))
    except DomainError as error:
        _fail(error.message)
    click.echo(secret)


@tracker_cli.command("unlock")
@click.argument("username")
def unlock(username: str) -> None:
    """Lift the sign-in lock of USERNAME (after too many wrong passwords)."""
    from tracker import clock
    from tracker.org import signin

    lifted = run(lambda: signin.unlock_account(username, actor=None, now=clock.utcnow()))
    click.echo(f"已解除“{username}”的登录锁定。" if lifted else f"“{username}”没有被锁定。")


@tracker_cli.command("reset-password")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="从标准输入读取临时密码（一行）")
def reset_password(username: str, password_stdin: bool) -> None:
    """Give USERNAME a temporary password (printed once unless read from stdin): it must be changed
    at the next sign-in, and every session of the user ends now."""
    from tracker import clock
    from tracker.items.services import find_user

    user = find_user(username)
    if user is None:
        _fail(f"找不到用户“{username}”。")
    password = sys.stdin.readline().rstrip("\r\n") if password_stdin else secrets.token_urlsafe(12)
    try:
        run(lambda: services.reset_password(user, password, actor=None, now=clock.utcnow()))
    except DomainError as error:
        _fail(error.message)
    click.echo(f"已为“{user.username}”设置临时密码，下次登录时须修改。" + ("" if password_stdin else f"临时密码：{password}"))


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
            summary = run(lambda: load_demo(today=clock.local_today(), now=clock.utcnow()))
        except DomainError as error:
            _fail(error.message)
        click.echo(f"已加载演示数据：{summary['units']} 个单位，{summary['items']} 个整改事项。")
    click.echo("演示账号（用户名 / 密码 / 角色 / 单位）：")
    for username, password, role, unit, _name in ACCOUNTS:
        click.echo(f"  {username:<12} {password:<10} {role:<11} {unit}")


@tracker_cli.command("import-report")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--unit", "unit_name", help="报告单位（默认按报告识别）")
@click.option("--year", type=int, help="报告年度（默认按报告识别）")
@click.option("--dry-run", is_flag=True, help="只识别并打印，不保存")
@click.option("--allow-duplicate", is_flag=True, help="同一文件已导入过时仍然导入")
def import_report(file, unit_name, year, dry_run, allow_duplicate) -> None:
    """Read a report (.txt, .docx, .pdf) and store it with one item per problem."""
    from pathlib import Path

    from flask import current_app

    from tracker import clock
    from tracker.importing import services as importing

    try:
        data = Path(file).read_bytes()
    except OSError:
        _fail(f"无法读取文件“{file}”。")
    try:
        preview = importing.preview_report(data=data, filename=Path(file).name)
        if dry_run:
            _emit(importing.preview_to_json(preview, unit_name=unit_name, year=year))
            return
        report, items = run(lambda: importing.import_preview(
            preview, actor=None, now=clock.utcnow(), filename=Path(file).name, allow_duplicate=allow_duplicate,
            deadlines=importing.DeadlineRule.from_config(current_app.config), unit_name=unit_name, year=year,
        ))
    except DomainError as error:
        message = error.message
        if error.field == "unit" and unit_name is None:
            message += "可用 --unit 指定系统中的单位。"
        if error.field == "allow_duplicate":
            message = message.replace("请确认后重试。", "请加 --allow-duplicate。")
        _fail(message)
    _emit(importing.preview_to_json(preview, report, [item.id for item in items]))


@tracker_cli.command("import-ledger")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--unit", "unit_name", required=True, help="台账所属单位（责任单位空白的行属于它）")
@click.option("--year", type=int, help="问题的年度（默认按台账标题识别，否则为上一年）")
@click.option("--dry-run", is_flag=True, help="只识别并打印，不保存")
@click.option("--allow-duplicate", is_flag=True, help="同一台账已导入过时仍然导入")
def import_ledger(file, unit_name, year, dry_run, allow_duplicate) -> None:
    """Read an existing rectification ledger (.xlsx) and store one item per row, all or none."""
    from pathlib import Path

    from tracker import clock
    from tracker.importing import ledger
    from tracker.importing.services import named_unit

    try:
        data = Path(file).read_bytes()
    except OSError:
        _fail(f"无法读取文件“{file}”。")
    try:
        unit = named_unit(unit_name)
        sheet = ledger.read_ledger(data, Path(file).name)
        preview = ledger.preview_ledger(sheet, unit=unit, year=year, sha256=ledger.digest(data),
                                        filename=Path(file).name, today=clock.local_today(),
                                        choices=ledger.Choices(allow_duplicate=allow_duplicate))
        if dry_run:
            _emit(ledger.preview_to_json(preview))
            return
        _, items = run(lambda: ledger.import_ledger(preview, actor=None, now=clock.utcnow()))
    except DomainError as error:
        _fail(error.message.replace("请确认后重试。", "请加 --allow-duplicate。"))  # as import-report says it
    _emit(ledger.preview_to_json(preview, items))


@tracker_cli.command("remind")
@click.option("--date", "day", help="按哪一天提醒（YYYY-MM-DD，默认今天）")
@click.option("--dry-run", is_flag=True, help="只判断要提醒谁，打印而不写入、不发送")
def remind(day: str | None, dry_run: bool) -> None:
    """One reminder pass as of a date: decides, writes the outbox, sends what it holds."""
    from tracker.reminders import jobs

    try:
        when = params.day(day, "date") if day else None
    except DomainError:
        _fail(f"日期“{day}”无效，请按 YYYY-MM-DD 填写一个真实存在的日期。")
    try:
        if dry_run:
            result = jobs.plan(when)
            _emit({
                "date": result.day.isoformat(),
                "window": None if result.window is None else [d.isoformat() for d in result.window],
                "recipients": len(result.digests),
                "messages": 0, "sent": 0, "skipped": 0, "failed": 0,
                "digests": [
                    {"username": d.recipient.username, "item_count": d.item_count, **d.to_json()} for d in result.digests
                ],
            })
            return
        run = jobs.remind(when)
    except DomainError as error:
        _fail(error.message)
    _emit(run.to_json())


@tracker_cli.command("rollover")
@click.option("--year", type=int, required=True, help="结转哪一年度（该年度未销号的事项转入下一年度）")
def rollover(year: int) -> None:
    """Carry every item of a year that is not closed into the next year's report."""
    from tracker import clock
    from tracker.rollover import services as rollover_services
    from tracker.rollover.models import RolloverSource

    try:
        result = run(lambda: rollover_services.carry_over_year(year, today=clock.local_today(), now=clock.utcnow(),
                                                               source=RolloverSource.cli))
    except DomainError as error:
        _fail(error.message)
    _emit(result.to_json())


@tracker_cli.command("export")
@click.option("--out", "out", required=True, help="输出文件（.xlsx）")
@click.option("--year", type=int, help="只导出该年度的事项")
@click.option("--unit", "unit_name", help="只导出该单位及其下级单位的事项")
@click.option("--status", type=click.Choice([status.value for status in Status]), help="只导出该状态的事项")
@click.option("--category", help="只导出该类别（代码，如 legal_publicity）的事项")
@click.option("--overdue", is_flag=True, help="只导出逾期事项")
def export(out, year, unit_name, status, category, overdue) -> None:
    """Write the rectification ledger (整改台账) of every item, with filters, to an .xlsx file."""
    from tracker import clock
    from tracker.exports import ledger
    from tracker.items import queries

    today = clock.local_today()
    try:
        flt = ledger.ledger_filter(year=year, unit_name=unit_name, status=status, category=category, overdue=overdue)
        path = ledger.save_ledger(out, queries.filtered_items(None, flt, today), today=today,
                                  scope=ledger.ledger_scope(flt, None, today))
    except DomainError as error:
        _fail(error.message)
    click.echo(str(path))


@tracker_cli.command("bulletin")
@click.option("--unit", "unit_name", required=True, help="单位名称（同名时用路径）")
@click.option("--from", "start", required=True, help="开始日期 YYYY-MM-DD")
@click.option("--to", "end", required=True, help="结束日期 YYYY-MM-DD")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="输出的 .docx 文件")
def bulletin(unit_name: str, start: str, end: str, out: str) -> None:
    """The 情况通报 of a unit's subtree for a period, as a .docx."""
    from pathlib import Path

    from tracker import clock
    from tracker.urging import bulletin as bulletins

    try:
        unit = services.find_unit(unit_name)
        today = clock.local_today()
        first, last = bulletins.check_period(params.day(start, "from"), params.day(end, "to"), today)
        data = bulletins.bulletin_document(bulletins.bulletin_for(None, unit, first, last, today))
    except DomainError as error:
        _fail(error.message)
    path = Path(out)
    partial = path.with_name(path.name + ".part")
    try:
        partial.write_bytes(data)
        partial.replace(path)  # whole or not at all
    except OSError as error:
        partial.unlink(missing_ok=True)
        _fail(f"无法写入 {path}：{error.strerror or error}。")
    click.echo(str(path))


@tracker_cli.command("refresh-stats")
def refresh_stats() -> None:
    """Rebuild what is derived from the items (the day-by-day states, then the roll-up the
    dashboard reads) from the items and their history, as after a restore or a bulk load by SQL.
    Safe to run at any time."""
    from tracker import clock
    from tracker.items import search, states
    from tracker.stats import cells

    def rebuild() -> dict:
        connection = db.session.connection()
        rebuilt = states.rebuild(connection, clock.local_zone())
        return {"item_states": rebuilt, "rollup": cells.refresh(connection, clock.local_today(), clock.utcnow()),
                "search": search.rebuild(connection)}

    _emit(run(rebuild))


@tracker_cli.command("storage-migrate")
@click.option("--from", "source_dir", type=click.Path(file_okay=False), help="本机上传目录（默认 TRACKER_UPLOAD_DIR）")
def storage_migrate(source_dir: str | None) -> None:
    """Copy the evidence and report files from this machine's upload folder to the object storage
    of TRACKER_STORAGE_URL, each checked by its SHA-256 before and after. Files already there with
    the same bytes are left; running it again copies only what is missing. Nothing is deleted from
    the disk."""
    from flask import current_app

    from tracker import storage
    from tracker.errors import Unavailable
    from tracker.importing import originals
    from tracker.items import evidence

    target = storage.current()
    if not isinstance(target, storage.S3Storage):
        _fail("TRACKER_STORAGE_URL 没有设为对象存储（s3://存储桶/前缀），文件本来就在本机目录中，无需迁移。")
    source = storage.LocalStorage(source_dir or current_app.config["UPLOAD_DIR"])
    try:
        done = {"from": str(source.root), "to": target.describe(),
                "evidence": storage.copy_all(source, target, evidence.stored_files()),
                "reports": storage.copy_all(source, target, originals.stored_files())}
    except Unavailable as error:
        _fail(f"无法访问对象存储 {target.describe()}：{error.message}")
    _emit(done)
    failed = sum(done[kind][outcome] for kind in ("evidence", "reports") for outcome in ("missing", "mismatch", "corrupted"))
    if failed:
        click.echo(f"有 {failed} 个文件没有迁移（见 problems：missing 本机没有该文件，mismatch 本机文件与记录的"
                   "校验值不符，corrupted 存入后校验不符、已删除），其余已迁移。", err=True)
        sys.exit(1)


@tracker_cli.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535))
def serve(host: str, port: int) -> None:
    """Serve the pages with Werkzeug's threaded server and run the scheduler in the same process
    (TRACKER_SCHEDULER=on): what scripts/run starts. For production, see gunicorn in the README."""
    from flask import current_app
    from werkzeug.serving import run_simple

    from tracker.scheduler.runner import run_in_process

    app = current_app._get_current_object()
    run_in_process(app)
    run_simple(host, port, app, threaded=True)


@tracker_cli.command("scheduler")
def scheduler() -> None:
    """Run the scheduler alone, in the foreground (set TRACKER_SCHEDULER=off in web workers)."""
    from flask import current_app

    from tracker.scheduler.runner import run_alone

    run_alone(current_app._get_current_object())
