"""Administration: units, users and categories (admins only)."""

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from tracker import clock
from tracker.admin.forms import (
    CalendarDayForm,
    CategoryForm,
    ReminderSettingsForm,
    RobotForm,
    RuleForm,
    UnitForm,
    UserForm,
)
from tracker.errors import NotFound
from tracker.extensions import db
from tracker.forms import ButtonForm
from tracker.importing import classify
from tracker.importing.models import CategoryRule
from tracker.items import categories as category_service
from tracker.items.models import Category
from tracker.items.queries import all_categories, items_owned_outside_reach
from tracker.org import permissions, services, signin
from tracker.org.models import Unit, User
from tracker.reminders import outbound
from tracker.reminders import robots as robot_service
from tracker.reminders import rules as reminder_rules
from tracker.reminders.models import CalendarDay, ChatRobot
from tracker.web.pages import done, guard
from tracker.web.params import Params
from tracker.web.work import run, submitted

bp = Blueprint("admin", __name__, url_prefix="/admin")


guard(bp, permissions.can_manage)


def _units() -> list[Unit]:
    return list(db.session.scalars(select(Unit).order_by(Unit.path)))


def _unit_choices(units, blank: str | None = None):
    choices = [(0, blank)] if blank else []
    return choices + [(u.id, u.indented_name) for u in units]


def _get(model, object_id: int):
    found = db.session.get(model, object_id)
    if found is None:
        raise NotFound("要找的记录不存在。")
    return found


@bp.route("/units", methods=["GET", "POST"])
def units():
    all_units = _units()
    form = UnitForm()
    form.parent.choices = _unit_choices(all_units, "（无，顶级单位）")
    status = 200
    if request.method == "POST":
        outcome = submitted(
            form, lambda: services.create_unit(form.name.data, _get(Unit, form.parent.data) if form.parent.data else None)
        )
        if outcome.ok:
            return done(f"已创建单位“{outcome.result.name}”。", url_for("admin.units"))
        status = outcome.status
    return render_template("admin/units.html", units=all_units, form=form), status


@bp.route("/units/<id:unit_id>", methods=["GET", "POST"])
def edit_unit(unit_id: int):
    unit = _get(Unit, unit_id)
    form = UnitForm(obj=unit if request.method == "GET" else None)
    form.parent.choices = _unit_choices([u for u in _units() if not u.is_within(unit)], "（无，顶级单位）")
    if request.method == "GET":
        form.parent.data = unit.parent_id or 0
    status = 200
    if request.method == "POST":
        outcome = submitted(form, lambda: services.update_unit(
            unit, name=form.name.data, parent=_get(Unit, form.parent.data) if form.parent.data else None
        ))
        if outcome.ok:
            return done("已保存。", url_for("admin.units"))
        status = outcome.status
    return render_template("admin/unit_edit.html", unit=unit, form=form), status


@bp.get("/users")
def users():
    rows = db.session.scalars(
        select(User).join(User.unit).options(joinedload(User.unit)).order_by(Unit.path, User.username)
    ).all()
    locked = {row.subject for row in signin.current_locks(clock.utcnow()) if row.kind == "user"}
    return render_template("admin/users.html", users=rows, locked=locked)


@bp.get("/sign-ins")
def sign_ins():
    """Accounts and addresses locked now (with 解锁), and the sign-in log, newest first."""
    args = Params(request.args, strict=False)
    username = args.text("username", "", max_length=64)
    events, next_before = signin.sign_in_log(username=username, before=args.record_id("before"))
    return render_template("admin/sign_ins.html", events=events, next_before=next_before, username=username,
                           locks=signin.current_locks(clock.utcnow()), unlock_form=ButtonForm())


@bp.post("/sign-ins/unlock")
def unlock():
    if not ButtonForm().validate_on_submit():
        abort(400)
    row = run(lambda: signin.unlock(request.form.get("key", "")[:120], actor=current_user, now=clock.utcnow()))
    if row is None:
        flash("该锁定已不存在（可能已到期或已被解除）。", "info")
    else:
        flash(f"已解除{'账号' if row.kind == 'user' else '地址'} {row.subject} 的锁定。", "success")
    return redirect(url_for("admin.sign_ins"))


@bp.route("/users/new", methods=["GET", "POST"])
@bp.route("/users/<id:user_id>", methods=["GET", "POST"])
def edit_user(user_id: int | None = None):
    user = _get(User, user_id) if user_id else None
    form = UserForm(obj=user if request.method == "GET" else None)
    form.unit.choices = _unit_choices(_units())
    if request.method == "GET" and user is not None:
        form.role.data = user.role.value
        form.unit.data = user.unit_id
    status = 200
    if request.method == "POST":
        def save() -> User:
            unit = _get(Unit, form.unit.data or 0)
            role = services.parse_role(form.role.data)
            if user is None:
                return services.create_user(
                    form.username.data, role=role, unit=unit, password=form.password.data,
                    name=form.name.data, email=form.email.data, temporary=True,
                )
            return services.update_user(
                user, name=form.name.data, role=role, unit=unit, email=form.email.data,
                active=form.active.data, password=form.password.data or None, actor=current_user, now=clock.utcnow(),
            )

        outcome = submitted(form, save)
        if outcome.ok:
            saved = outcome.result
            stranded = items_owned_outside_reach(user) if user is not None else 0
            if stranded:
                flash(f"{user.display_name}仍是{stranded}个未销号事项的责任人，但已不在这些事项的单位，"
                      "请在事项清单中重新分派。", "warning")
            if form.password.data:
                return done(f"已保存用户“{saved.username}”。临时密码已生效：其已有的登录均已退出，下次登录时须修改密码。",
                            url_for("admin.users"))
            return done(f"已保存用户“{saved.username}”。", url_for("admin.users"))
        status = outcome.status
        user = _get(User, user_id) if user_id else None
    return render_template("admin/user_edit.html", user=user, form=form), status


@bp.route("/categories", methods=["GET", "POST"])
def categories():
    form = CategoryForm()
    status = 200
    if request.method == "POST":
        outcome = submitted(form, lambda: category_service.create_category(form.code.data, form.name.data, form.position.data))
        if outcome.ok:
            return done(f"已添加类别“{outcome.result.name}”。", url_for("admin.categories"))
        status = outcome.status
    return render_template("admin/categories.html", categories=all_categories(), form=form), status


@bp.route("/categories/<id:category_id>", methods=["GET", "POST"])
def edit_category(category_id: int):
    category = _get(Category, category_id)
    form = CategoryForm(obj=category if request.method == "GET" else None)
    status = 200
    if request.method == "POST":
        form.code.data = category.code  # the code is fixed once data refers to it
        outcome = submitted(form, lambda: category_service.update_category(category, form.name.data, form.position.data))
        if outcome.ok:
            return done("已保存。", url_for("admin.categories"))
        status = outcome.status
    return render_template("admin/category_edit.html", category=category, form=form), status


@bp.route("/rules", methods=["GET", "POST"])
def rules():
    """The keywords (and their weights) that assign categories to imported problems."""
    categories = all_categories()
    form = RuleForm()
    form.category.choices = [(c.id, c.name) for c in categories]
    status = 200
    if request.method == "POST":
        outcome = submitted(
            form, lambda: classify.add_rule(_get(Category, form.category.data or 0), form.keyword.data, form.weight.data)
        )
        if outcome.ok:
            rule = outcome.result
            return done(f"已为“{rule.category.name}”添加关键词“{rule.keyword}”。", url_for("admin.rules"))
        status = outcome.status
    by_category: dict[int, list[CategoryRule]] = {}
    for rule in db.session.scalars(select(CategoryRule).order_by(CategoryRule.weight.desc(), CategoryRule.keyword)):
        by_category.setdefault(rule.category_id, []).append(rule)
    return render_template(
        "admin/rules.html", categories=categories, by_category=by_category, form=form, remove_form=ButtonForm()
    ), status


@bp.post("/rules/<id:rule_id>/remove")
def remove_rule(rule_id: int):
    rule = _get(CategoryRule, rule_id)
    if not ButtonForm().validate_on_submit():
        abort(400)
    keyword = rule.keyword
    run(lambda: classify.remove_rule(rule))
    flash(f"已删除关键词“{keyword}”。", "success")
    return redirect(url_for("admin.rules"))


def _reminder_page(form: ReminderSettingsForm, day_form: CalendarDayForm, status: int = 200):
    rule = reminder_rules.current_rule(current_app.config)
    configured = reminder_rules.configured_rule(current_app.config)
    return render_template(
        "admin/reminders.html", form=form, day_form=day_form, rule=rule, configured=configured,
        days=reminder_rules.calendar_days(), scheduler=current_app.config.get("SCHEDULER"),
    ), status


@bp.route("/reminders", methods=["GET", "POST"])
def reminders():
    """The reminder rules (over TRACKER_REMIND_*) and the working-day calendar."""
    form = ReminderSettingsForm()
    if request.method == "GET":
        rule = reminder_rules.current_rule(current_app.config)
        form.days_before.data = ",".join(str(d) for d in rule.days_before)
        form.overdue_repeat_days.data = str(rule.overdue_repeat_days)
        form.escalate_after_days.data = str(rule.escalate_after_days)
        form.review_wait_days.data = str(rule.review_wait_days)
        form.remind_at.data = rule.remind_at
        form.working_days_only.data = rule.working_days_only
        return _reminder_page(form, CalendarDayForm(formdata=None))
    outcome = submitted(form, lambda: reminder_rules.update_settings(
        current_user, days_before=form.days_before.data, overdue_repeat_days=form.overdue_repeat_days.data,
        escalate_after_days=form.escalate_after_days.data, review_wait_days=form.review_wait_days.data,
        remind_at=form.remind_at.data, working_days_only=form.working_days_only.data,
    ))
    if outcome.ok:
        return done(f"提醒设置已保存，每日 {outcome.result.remind_at} 提醒（调度程序一分钟内生效）。", url_for("admin.reminders"))
    return _reminder_page(form, CalendarDayForm(formdata=None), outcome.status)


@bp.post("/reminders/calendar")
def add_calendar_day():
    day_form = CalendarDayForm()
    outcome = submitted(
        day_form, lambda: reminder_rules.set_calendar_day(day_form.day.data, day_form.kind.data, day_form.name.data)
    )
    if outcome.ok:
        row = outcome.result
        return done(f"已登记 {row.day.isoformat()} {row.kind.title}。", url_for("admin.reminders") + "#calendar")
    return _reminder_page(ReminderSettingsForm(formdata=None), day_form, outcome.status)


@bp.post("/reminders/calendar/<id:day_id>/remove")
def remove_calendar_day(day_id: int):
    row = _get(CalendarDay, day_id)
    if not ButtonForm().validate_on_submit():
        abort(400)
    run(lambda: reminder_rules.remove_calendar_day(row))
    flash(f"已删除 {row.day.isoformat()} 的登记。", "success")
    return redirect(url_for("admin.reminders") + "#calendar")


@bp.route("/robots", methods=["GET", "POST"])
@bp.route("/robots/<id:robot_id>", methods=["GET", "POST"])
def robots(robot_id: int | None = None):
    """Work-chat group robots, per unit: a user who picks 企业微信 is reminded through the robot of
    their unit or of the nearest unit above it."""
    robot = _get(ChatRobot, robot_id) if robot_id else None
    all_units = _units()
    form = RobotForm(obj=robot if request.method == "GET" else None)
    form.unit.choices = _unit_choices(all_units)
    if request.method == "GET" and robot is not None:
        form.unit.data, form.kind.data = robot.unit_id, robot.kind.value
    status = 200
    if request.method == "POST":
        outcome = submitted(form, lambda: robot_service.save_robot(
            robot, unit=db.session.get(Unit, form.unit.data or 0), kind=form.kind.data, name=form.name.data,
            url=form.url.data, secret=form.secret.data, active=form.active.data,
            allow=outbound.AllowList.from_config(current_app.config),
        ))
        if outcome.ok:
            saved = outcome.result
            return done(f"已保存{saved.kind.title}机器人“{saved.name or saved.unit.name}”。", url_for("admin.robots"))
        status = outcome.status
    listed = db.session.scalars(
        select(ChatRobot).join(ChatRobot.unit).options(joinedload(ChatRobot.unit)).order_by(Unit.path, ChatRobot.id)
    ).all()
    return render_template("admin/robots.html", robots=listed, form=form, robot=robot), status


@bp.post("/robots/<id:robot_id>/remove")
def remove_robot(robot_id: int):
    robot = _get(ChatRobot, robot_id)
    if not ButtonForm().validate_on_submit():
        abort(400)
    run(lambda: robot_service.remove_robot(robot))
    flash("机器人已删除。", "success")
    return redirect(url_for("admin.robots"))
