"""Reminders: the admin's rule overrides, the working-day calendar, chat robots, the passes that
ran, the outbox with every delivery attempt, and in-app notifications."""

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.extensions import db
from tracker.org.models import Unit, User
from tracker.types import TitledEnum, UTCDateTime, enum_column, utcnow


class Channel(TitledEnum):
    """Where a reminder goes. A user picks theirs on the profile page; robots are per unit."""

    __titles__ = {
        "inapp": "站内通知", "email": "电子邮件", "wecom": "企业微信", "dingtalk": "钉钉",
        "feishu": "飞书", "webhook": "通用 Webhook",
    }
    inapp = "inapp"
    email = "email"
    wecom = "wecom"
    dingtalk = "dingtalk"
    feishu = "feishu"
    webhook = "webhook"

    @property
    def is_robot(self) -> bool:
        return self in ROBOT_CHANNELS


ROBOT_CHANNELS = (Channel.wecom, Channel.dingtalk, Channel.feishu, Channel.webhook)
DEFAULT_CHANNELS = "inapp,email"


class MessageKind(enum.Enum):
    """What a message is. The daily pass writes one digest per recipient and channel."""

    digest = "digest"
    urge = "urge"  # a 督办单, sent at once (tracker.urging)
    event = "event"  # something happened to an item (tracker.reminders.events), sent at once


class MessageStatus(TitledEnum):
    __titles__ = {"pending": "待发送", "sent": "已发送", "failed": "失败", "skipped": "未发送"}
    __css_classes__ = {"pending": "secondary", "sent": "success", "failed": "danger", "skipped": "warning"}
    pending = "pending"
    sent = "sent"
    failed = "failed"
    skipped = "skipped"


class AttemptOutcome(TitledEnum):
    """What one delivery came to. ``deferred`` (the server was unreachable this round, or a robot's
    rate was reached) is not an attempt and is never stored; the others are, in the send log."""

    __titles__ = {"sent": "成功", "retry": "稍后重试", "failed": "失败", "skipped": "未发送", "unknown": "结果未知",
                  "deferred": "推迟"}
    sent = "sent"
    retry = "retry"  # not delivered; tried again after a backoff
    failed = "failed"
    skipped = "skipped"  # nothing to send with (no mail server, no address, no robot)
    unknown = "unknown"  # the body reached the mail server, which never confirmed it
    deferred = "deferred"


class DayKind(TitledEnum):
    __titles__ = {"holiday": "放假", "workday": "调休上班"}
    holiday = "holiday"  # 放假: a weekday off
    workday = "workday"  # 调休上班: a weekend day worked


class ReminderSettings(db.Model):
    """The admin's overrides of the TRACKER_REMIND_* configuration: one row, id 1. A NULL
    column means "as configured"."""

    __tablename__ = "reminder_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    days_before: Mapped[str | None] = mapped_column(String(100))
    overdue_repeat_days: Mapped[int | None] = mapped_column(Integer)
    escalate_after_days: Mapped[int | None] = mapped_column(Integer)
    review_wait_days: Mapped[int | None] = mapped_column(Integer)
    remind_at: Mapped[str | None] = mapped_column(String(5))
    working_days_only: Mapped[bool | None] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)


class CalendarDay(db.Model):
    """A public holiday on a weekday, or a make-up working day (调休) on a weekend."""

    __tablename__ = "calendar_days"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date, unique=True)
    kind: Mapped[DayKind] = mapped_column(enum_column(DayKind))
    name: Mapped[str] = mapped_column(String(50), default="")


class ChatRobot(db.Model):
    """A work-chat group robot of a unit. Its whole webhook address is stored, so each robot's
    base URL is whatever the deployment's chat server is (intranet deployments differ)."""

    __tablename__ = "chat_robots"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    kind: Mapped[Channel] = mapped_column(enum_column(Channel))
    name: Mapped[str] = mapped_column(String(100), default="")
    url: Mapped[str] = mapped_column(String(1000))
    # DingTalk's and Feishu's signing secret ("加签"); empty when the robot does not sign.
    secret: Mapped[str] = mapped_column(String(200), default="")
    active: Mapped[bool] = mapped_column(default=True, server_default=true())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    unit: Mapped[Unit] = relationship()


class ReminderPass(db.Model):
    """One daily pass. Its window is the run of days whose reminders it owes: from the day after
    the previous pass's window up to its own date (or, with working days only, up to the day
    before the next working day), so a missed day is caught up once and never twice."""

    __tablename__ = "reminder_passes"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date, unique=True)
    window_start: Mapped[date] = mapped_column(Date)
    window_end: Mapped[date] = mapped_column(Date)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    messages: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class OutboxMessage(db.Model):
    """A message decided by a pass and waiting for, or done with, delivery. The unique key makes
    a second pass, a second scheduler or a restart unable to write the same reminder twice."""

    __tablename__ = "outbox_messages"
    __table_args__ = (
        UniqueConstraint("recipient_id", "channel", "day", "kind", "key"),
        Index("ix_outbox_messages_status_next_attempt_at", "status", "next_attempt_at"),
        Index("ix_outbox_messages_day", "day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("users.id"))  # indexed by the unique key
    channel: Mapped[Channel] = mapped_column(enum_column(Channel))
    day: Mapped[date] = mapped_column(Date)
    kind: Mapped[MessageKind] = mapped_column(enum_column(MessageKind), default=MessageKind.digest)
    # What makes a message of an event unique within its day and kind ("" for the daily digest).
    key: Mapped[str] = mapped_column(String(64), default="", server_default="")
    subject: Mapped[str] = mapped_column(String(200))
    # The digest's sections and items, rendered per channel when sent.
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    item_count: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[MessageStatus] = mapped_column(enum_column(MessageStatus), default=MessageStatus.pending)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # A sender claims a batch until this moment; another sender leaves it alone until then.
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claim: Mapped[str | None] = mapped_column(String(32))
    last_error: Mapped[str] = mapped_column(Text, default="")
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    recipient: Mapped[User] = relationship()
    attempt_log: Mapped[list["DeliveryAttempt"]] = relationship(
        back_populates="message", order_by="DeliveryAttempt.id", cascade="all, delete-orphan"
    )


class DeliveryAttempt(db.Model):
    """Every try at delivering a message, and how it ended."""

    __tablename__ = "delivery_attempts"
    __table_args__ = (Index("ix_delivery_attempts_robot_id_at", "robot_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("outbox_messages.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    outcome: Mapped[AttemptOutcome] = mapped_column(enum_column(AttemptOutcome))
    detail: Mapped[str] = mapped_column(Text, default="")
    robot_id: Mapped[int | None] = mapped_column(ForeignKey("chat_robots.id", ondelete="SET NULL"))

    message: Mapped[OutboxMessage] = relationship(back_populates="attempt_log")


class Notification(db.Model):
    """An in-app message under the bell."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user_id_read_at", "user_id", "read_at"),
                      Index("ix_notifications_created_at", "created_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    message_id: Mapped[int | None] = mapped_column(
        ForeignKey("outbox_messages.id", ondelete="SET NULL"), unique=True
    )
    # CONTRACT.md's kinds: reminder (the daily digest), assigned, submitted, returned, approved,
    # reopened, extension_requested, extension_approved, extension_rejected, urged; and bulletin.
    kind: Mapped[str] = mapped_column(String(30), default="reminder", server_default="reminder")
    item_id: Mapped[int | None] = mapped_column(ForeignKey("items.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
