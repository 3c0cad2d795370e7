"""The bell (in-app notifications) and the send log."""

from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import update

from tracker import clock
from tracker.auth import permissions
from tracker.extensions import db
from tracker.forms import ButtonForm
from tracker.reminders import queries
from tracker.reminders.models import Channel, MessageStatus, Notification

bp = Blueprint("reminders", __name__)


@bp.get("/notifications")
@login_required
def notifications():
    return render_template("reminders/notifications.html", notifications=queries.notifications(current_user))


@bp.post("/notifications/read")
@login_required
def mark_read():
    if not ButtonForm().validate_on_submit():
        abort(400)
    db.session.execute(
        update(Notification)
        .where(Notification.user_id == current_user.id, Notification.read_at.is_(None))
        .values(read_at=clock.utcnow())
    )
    db.session.commit()
    flash("通知已全部标为已读。", "success")
    return redirect(url_for("reminders.notifications"))


def _choice(enum, value: str | None):
    try:
        return enum(value) if value else None
    except ValueError:
        return None


@bp.get("/reminders/log")
@login_required
def send_log():
    if not permissions.is_supervisor(current_user):
        abort(403)
    args = request.args
    try:
        day = date.fromisoformat(args["day"]) if args.get("day") else None
    except ValueError:
        day = None
    before = args.get("before", "")
    flt = queries.LogFilter(
        status=_choice(MessageStatus, args.get("status")), channel=_choice(Channel, args.get("channel")),
        day=day, recipient=args.get("recipient", "").strip()[:64],
    )
    page = queries.send_log(
        current_user, flt, before=int(before) if before.isascii() and before.isdecimal() and len(before) < 10 else None,
    )
    return render_template(
        "reminders/log.html", page=page, flt=flt, totals=queries.status_totals(current_user, day),
        passes=queries.recent_passes(), statuses=MessageStatus, channels=Channel,
    )
