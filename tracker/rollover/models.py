"""The record of year-end carry-overs: which item left which report for which, and each run."""

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.extensions import db
from tracker.items.models import Item, Report
from tracker.org.models import Unit, User
from tracker.types import TitledEnum, UTCDateTime, enum_column, utcnow


class CarryOver(db.Model):
    """One item carried from year ``from_year`` into the year of ``to_report`` (the next year, or
    later for an item reopened after its own year's rollover).

    The item itself moves (it keeps its id, history, owner, evidence and deadline); this row
    remembers the report it left, so year Y's report still lists every problem it had."""

    __tablename__ = "carry_overs"
    __table_args__ = (UniqueConstraint("item_id", "from_year", name="uq_carry_overs_item_id_from_year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))  # indexed by the unique key
    from_year: Mapped[int] = mapped_column(Integer)
    from_report_id: Mapped[int | None] = mapped_column(ForeignKey("reports.id"), index=True)
    to_report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"), index=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("rollover_runs.id"), index=True)
    carried_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    item: Mapped[Item] = relationship()
    from_report: Mapped[Report | None] = relationship(foreign_keys=[from_report_id])
    to_report: Mapped[Report] = relationship(foreign_keys=[to_report_id])


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
