"""督办单: graded, numbered supervision notices about an item."""

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Integer, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.extensions import db
from tracker.items.models import Item, UrgeLevel
from tracker.org.models import Unit, User
from tracker.types import UTCDateTime, enum_column, utcnow


class Urge(db.Model):
    """One 督办单: numbered per issuing unit and year (南岸交督〔2024〕第7号)."""

    __tablename__ = "urges"
    __table_args__ = (UniqueConstraint("issuing_unit_id", "year", "serial", name="uq_urges_issuing_unit_id_year_serial"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    level: Mapped[UrgeLevel] = mapped_column(enum_column(UrgeLevel))
    issuing_unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))  # the unique key
    year: Mapped[int] = mapped_column(Integer)
    serial: Mapped[int] = mapped_column(Integer)
    number: Mapped[str] = mapped_column(String(60))
    comment: Mapped[str] = mapped_column(Text, default="")  # the requirement (督办要求)
    reply_by: Mapped[date] = mapped_column(Date)  # 请于…前反馈
    # What the item was when the notice went out, as the notice says it.
    deadline: Mapped[date | None] = mapped_column(Date)
    days_overdue: Mapped[int] = mapped_column(Integer, default=0)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)  # None: the scheduler
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    item: Mapped[Item] = relationship()
    issuing_unit: Mapped[Unit] = relationship()
    issued_by: Mapped[User | None] = relationship()


class UrgeCounter(db.Model):
    """The last number a unit gave its notices in a year. Taking the next one updates this row,
    which makes two issuers at once wait for each other instead of taking the same number."""

    __tablename__ = "urge_counters"

    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)


class UrgeRule(db.Model):
    """The admin's rule for suggested levels (one row, id 1): overdue ``yellow_after_days`` days or
    more → 黄牌; ``red_after_days`` or more, or ``red_after_yellows`` 黄牌 already → 红牌. With
    ``auto_issue`` the scheduler issues the suggested notices each morning (from the unit above the
    item's), with ``monthly_bulletin`` it hands each supervising unit last month's 情况通报."""

    __tablename__ = "urge_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    yellow_after_days: Mapped[int] = mapped_column(Integer, default=1)
    red_after_days: Mapped[int] = mapped_column(Integer, default=16)
    red_after_yellows: Mapped[int] = mapped_column(Integer, default=2)
    auto_issue: Mapped[bool] = mapped_column(default=False, server_default=false())
    # On the 1st of each month, last month's 情况通报 for each unit with supervisors, on their bell.
    monthly_bulletin: Mapped[bool] = mapped_column(default=False, server_default=false())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
