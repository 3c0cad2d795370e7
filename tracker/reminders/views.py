"""The bell (in-app notifications) and the send log."""


from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from tracker import clock
from tracker.forms import ButtonForm
from tracker.org import permissions
from tracker.reminders import events, queries, services
from tracker.reminders.models import Channel, MessageStatus
from tracker.web.pages import done, signed_in
from tracker.web.params import Params
from tracker.web.work import run

bp = Blueprint("reminders", __name__)


@bp.app_context_processor
def bell() -> dict:
    """The unread count beside the bell in the navigation bar; the channels for 个人设置."""
    return {"unread_notifications": queries.unread_count(current_user) if signed_in() else 0, "Channel": Channel}


bp.add_app_template_global(services.user_channels, "chosen_channels")
bp.add_app_template_global(services.at_once, "sent_at_once")
bp.add_app_template_global(events.KIND_TITLES, "event_kinds")


@bp.post("/profile/channels")
@login_required
def save_channels():
    """个人设置 → 提醒方式."""
    if not ButtonForm().validate_on_submit():
        abort(400)
    run(lambda: services.set_user_channels(current_user, request.form.getlist("channel")))
    chosen = services.user_channels(current_user)
    if not chosen:
        flash("已保存：您不会收到任何提醒。", "warning")
    else:
        flash("提醒方式已保存：" + "、".join(c.title for c in chosen) + "。", "success")
    return redirect(url_for("auth.profile") + "#channels")


@bp.post("/profile/at-once")
@login_required
def save_at_once():
    """个人设置 → 通知时机: per channel, which events are sent at once."""
    if not ButtonForm().validate_on_submit():
        abort(400)
    run(lambda: services.set_at_once(current_user, request.form.getlist("at_once")))
    flash("通知时机已保存：未勾选的动态将在次日的每日汇总提醒中一并告知。", "success")
    return redirect(url_for("auth.profile") + "#at-once")


@bp.get("/notifications")
@login_required
def notifications():
    args = Params(request.args, strict=False)
    page, _ = args.page(per_page=20, max_per_page=20)
    listed = queries.notifications(current_user, unread_only=args.flag("unread"), page=page)
    return render_template("reminders/notifications.html", notifications=listed.items, page=listed,
                           unread_only=args.flag("unread"))


@bp.post("/notifications/read")
@login_required
def mark_read():
    if not ButtonForm().validate_on_submit():
        abort(400)
    run(lambda: services.mark_all_read(current_user, clock.utcnow()))
    return done("通知已全部标为已读。", url_for("reminders.notifications"))


@bp.get("/reminders/log")
@login_required
def send_log():
    if not permissions.is_supervisor(current_user):
        abort(403)
    args = Params(request.args, strict=False)
    day = args.day("day")
    flt = queries.LogFilter(
        status=args.member("status", MessageStatus), channel=args.member("channel", Channel),
        day=day, recipient=args.text("recipient", "", max_length=64),
    )
    page = queries.send_log(current_user, flt, before=args.record_id("before"))
    return render_template(
        "reminders/log.html", page=page, flt=flt, totals=queries.status_totals(current_user, flt, clock.local_today()),
        totals_days=queries.TOTALS_DAYS,
        passes=queries.recent_passes(), statuses=MessageStatus, channels=Channel,
    )
