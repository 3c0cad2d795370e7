"""``flask --app wsgi tracker …``: JSON on stdout, one plain sentence and exit 1 on bad input."""

import json

from sqlalchemy import func, select

from tracker.extensions import db
from tracker.items.models import Item, Status
from tracker.org.models import Unit, User


def _run(app, *args, input=None):
    return app.test_cli_runner().invoke(args=["tracker", *args], input=input)


def test_create_unit_and_user(app):
    city = _run(app, "create-unit", "市局")
    assert city.exit_code == 0 and json.loads(city.stdout)["name"] == "市局"
    county = _run(app, "create-unit", "某县局", "--parent", "市局")
    assert json.loads(county.stdout) == {**json.loads(county.stdout), "parent": "市局", "path": "市局/某县局"}
    user = _run(app, "create-user", "li", "--role", "supervisor", "--unit", "某县局", "--email", "li@example.gov.cn",
                "--password-stdin", input="a-long-password\n")
    assert user.exit_code == 0, user.output
    data = json.loads(user.stdout)
    assert (data["username"], data["role"], data["unit"], "password" in data) == ("li", "supervisor", "某县局", False)
    assert db.session.scalar(select(User).where(User.username == "li")).check_password("a-long-password")


def test_create_user_without_password_prints_a_generated_one_once(app):
    _run(app, "create-unit", "市局")
    result = _run(app, "create-user", "wang", "--role", "official", "--unit", "市局")
    password = json.loads(result.stdout)["password"]
    assert len(password) >= 12
    assert db.session.scalar(select(User).where(User.username == "wang")).check_password(password)


def test_errors_are_one_sentence_with_exit_1_and_nothing_written(app):
    _run(app, "create-unit", "市局")
    for args, message in [
        (("create-unit", "某县局", "--parent", "不存在的局"), "找不到单位“不存在的局”。"),
        (("create-unit", "市局"), "同一上级下已有名为“市局”的单位。"),
        (("create-user", "x", "--role", "official", "--unit", "市局"), "用户名应为2至64位"),
        (("create-user", "zhao", "--role", "official", "--unit", "无此单位"), "找不到单位"),
    ]:
        result = _run(app, *args)
        assert result.exit_code == 1, args
        assert message in result.stderr and result.stderr.count("\n") == 1
    assert db.session.scalar(select(func.count(Unit.id))) == 1
    assert db.session.scalar(select(func.count(User.id))) == 0


def test_bad_usage_exits_2(app):
    assert _run(app, "create-user", "zhao", "--role", "emperor", "--unit", "市局").exit_code == 2


def test_same_name_under_two_parents_needs_a_path(app):
    for args in (("市局",), ("甲县局", "--parent", "市局"), ("乙县局", "--parent", "市局"),
                 ("执法大队", "--parent", "甲县局"), ("执法大队", "--parent", "乙县局")):
        assert _run(app, "create-unit", *args).exit_code == 0
    ambiguous = _run(app, "create-user", "zhou", "--role", "official", "--unit", "执法大队")
    assert ambiguous.exit_code == 1 and "请用完整路径指明" in ambiguous.stderr
    ok = _run(app, "create-user", "zhou", "--role", "official", "--unit", "乙县局/执法大队")
    assert ok.exit_code == 0 and json.loads(ok.stdout)["unit"] == "执法大队"


def test_demo_loads_once_with_items_in_every_state(app):
    first = _run(app, "demo")
    assert first.exit_code == 0, first.output
    assert "suixian_off" in first.stdout and "demo1234" in first.stdout
    statuses = set(db.session.scalars(select(Item.status)))
    assert statuses == set(Status)
    titles = set(db.session.scalars(select(Item.title)))
    assert {"普法宣传方式比较单一", "执法案卷质量有待提升", "执法队伍力量不足"} <= titles
    items = db.session.scalar(select(func.count(Item.id)))

    again = _run(app, "demo")
    assert again.exit_code == 1 and "已有数据" in again.stderr
    quiet = _run(app, "demo", "--if-empty")
    assert quiet.exit_code == 0 and "未重新加载" in quiet.stdout
    assert db.session.scalar(select(func.count(Item.id))) == items
