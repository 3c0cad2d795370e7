"""Each year-end rollover run (the carry-over of each item is ``items.models.CarryOver``)."""

from datetime import datetime

from sqlalchemy import ForeignKey, Integer
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.extensions import db
from tracker.org.models import Unit, User
from tracker.types import TitledEnum, UTCDateTime, enum_column, utcnow


class RolloverSource(TitledEnum):
    """Who started a rollover: the reports page names the person, these the rest."""

    __titles__ = {"scheduler": "系统自动", "cli": "命令行", "web": "页面", "demo": "演示数据"}
    scheduler = "scheduler"
    cli = "cli"
    web = "web"
    demo = "demo"


class RolloverRun(db.Model):
    """One rollover of a year: by the scheduler or the CLI (all units, ``unit`` None) or by a
    supervisor's button (the units under ``unit``)."""

    __tablename__ = "rollover_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer, index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    source: Mapped[RolloverSource] = mapped_column(enum_column(RolloverSource))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    carried: Mapped[int] = mapped_column(Integer, default=0)
    reports: Mapped[int] = mapped_column(Integer, default=0)
    created_reports: Mapped[int] = mapped_column(Integer, default=0)

    unit: Mapped[Unit | None] = relationship()
    actor: Mapped[User | None] = relationship()
