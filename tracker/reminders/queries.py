"""Read-only queries for the reminder pages: the bell, the notifications list, the send log."""

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import contains_eager, joinedload, selectinload

from tracker.extensions import db
from tracker.org import permissions
from tracker.org.models import Unit, User
from tracker.pagination import Page, paginate
from tracker.reminders.models import Channel, ChatRobot, MessageStatus, Notification, OutboxMessage, ReminderPass


def unread_count(user: User) -> int:
    return db.session.scalar(
        select(func.count(Notification.id)).where(Notification.user_id == user.id, Notification.read_at.is_(None))
    ) or 0


def notifications(user: User, *, unread_only: bool = False, page: int = 1, per_page: int = 20,
                  clamp: bool = True) -> Page:
    """A page of ``user``'s notifications, newest first (the bell, GET /notifications)."""
    query = select(Notification).where(Notification.user_id == user.id)
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    return paginate(query, Notification.id, (Notification.id.desc(),), page, per_page, clamp=clamp)


@dataclass
class LogFilter:
    status: MessageStatus | None = None
    channel: Channel | None = None
    day: date | None = None
    recipient: str = ""


@dataclass
class LogPage:
    messages: list[OutboxMessage]
    next_before: int | None  # keyset: the id to continue below, or None at the end


def send_log(viewer: User, flt: LogFilter, *, before: int | None = None, per_page: int = 50) -> LogPage:
    """Outbox messages to the people in the viewer's units, newest first, a page at a time by
    id (keyset, so page 1,000 costs what page 1 does). A fixed number of statements."""
    query = (
        select(OutboxMessage)
        .join(OutboxMessage.recipient)
        .join(User.unit)
        .where(permissions.supervised_units_clause(viewer))
        .options(contains_eager(OutboxMessage.recipient).contains_eager(User.unit),
                 selectinload(OutboxMessage.attempt_log))
    )
    if flt.status is not None:
        query = query.where(OutboxMessage.status == flt.status)
    if flt.channel is not None:
        query = query.where(OutboxMessage.channel == flt.channel)
    if flt.day is not None:
        query = query.where(OutboxMessage.day == flt.day)
    if flt.recipient:
        query = query.where((User.username == flt.recipient) | User.name.contains(flt.recipient, autoescape=True))
    if before is not None:
        query = query.where(OutboxMessage.id < before)
    rows = list(db.session.scalars(query.order_by(OutboxMessage.id.desc()).limit(per_page + 1)).unique())
    more = len(rows) > per_page
    rows = rows[:per_page]
    return LogPage(rows, rows[-1].id if more else None)


def recent_passes(limit: int = 10) -> list[ReminderPass]:
    return list(db.session.scalars(select(ReminderPass).order_by(ReminderPass.day.desc()).limit(limit)))


TOTALS_DAYS = 7  # without a day chosen, the totals are of the last week's messages


def status_totals(viewer: User, flt: LogFilter, today: date) -> dict[MessageStatus, int]:
    """The messages by status, as the log's filters choose them (the status aside: these are its
    counts), of the day chosen or else of the last TOTALS_DAYS days: an indexed range of the
    outbox, not all of it (520 ms after a year, issue 17)."""
    query = (
        select(OutboxMessage.status, func.count(OutboxMessage.id))
        .join(OutboxMessage.recipient).join(User.unit)
        .where(permissions.supervised_units_clause(viewer))
        .group_by(OutboxMessage.status)
    )
    if flt.day is not None:
        query = query.where(OutboxMessage.day == flt.day)
    else:
        query = query.where(OutboxMessage.day > today - timedelta(days=TOTALS_DAYS))
    if flt.channel is not None:
        query = query.where(OutboxMessage.channel == flt.channel)
    if flt.recipient:
        query = query.where((User.username == flt.recipient) | User.name.contains(flt.recipient, autoescape=True))
    return dict(db.session.execute(query).all())


def all_robots() -> list[ChatRobot]:
    """Every chat robot with its unit, in unit tree order: one statement."""
    return list(db.session.scalars(
        select(ChatRobot).join(ChatRobot.unit).options(joinedload(ChatRobot.unit)).order_by(Unit.path, ChatRobot.id)
    ))
