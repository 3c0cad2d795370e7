"""系统管理 of reminders: the rules, the working-day calendar, and the units' chat robots."""

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from tracker.admin import bp, get_or_404, unit_choices
from tracker.extensions import db
from tracker.forms import ButtonForm
from tracker.org import queries as org_queries
from tracker.org.models import Unit
from tracker.reminders import outbound, queries
from tracker.reminders import robots as robot_service
from tracker.reminders import rules as reminder_rules
from tracker.reminders.forms import CalendarDayForm, ReminderSettingsForm, RobotForm
from tracker.reminders.models import CalendarDay, ChatRobot
from tracker.web.pages import done
from tracker.web.work import run, submitted


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
    row = get_or_404(CalendarDay, day_id)
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
    robot = get_or_404(ChatRobot, robot_id) if robot_id else None
    all_units = org_queries.all_units()
    form = RobotForm(obj=robot if request.method == "GET" else None)
    form.unit.choices = unit_choices(all_units)
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
    listed = queries.all_robots()
    return render_template("admin/robots.html", robots=listed, form=form, robot=robot), status


@bp.post("/robots/<id:robot_id>/remove")
def remove_robot(robot_id: int):
    robot = get_or_404(ChatRobot, robot_id)
    if not ButtonForm().validate_on_submit():
        abort(400)
    run(lambda: robot_service.remove_robot(robot))
    flash("机器人已删除。", "success")
    return redirect(url_for("admin.robots"))
