"""Reports, rectification items, their categories, evidence, extension requests and history."""

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    select,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.extensions import db
from tracker.org.models import Unit, User
from tracker.types import TitledEnum, UTCDateTime, enum_column, utcnow

# CONTRACT.md: yellow when due within 7 days.
YELLOW_WITHIN_DAYS = 7


class Light(TitledEnum):
    """An item's traffic light (CONTRACT.md), with every word and colour it is shown in: ``title``
    on a page's dot, ``meaning`` in the legend, ``tag`` before a line of a digest, ``colour`` in
    mail (which has no style sheet), ``css`` the dot's class in tracker.css."""

    __titles__ = {"red": "红灯：已逾期", "yellow": "黄灯：7天内到期", "green": "绿灯", "none": "无"}
    __meanings__ = {"red": "已逾期", "yellow": f"{YELLOW_WITHIN_DAYS}天内到期", "green": "正常", "none": "已销号或未设期限"}
    __tags__ = {"red": "【逾期】", "yellow": "【临期】", "green": "【正常】", "none": ""}
    __colours__ = {"red": "#dc3545", "yellow": "#e0a800", "green": "#198754", "none": "#adb5bd"}
    __days_css__ = {"red": "text-danger fw-bold", "yellow": "text-warning-emphasis"}
    red = "red"
    yellow = "yellow"
    green = "green"
    none = "none"

    @property
    def css(self) -> str:
        return f"light-{self.value}"

    @property
    def meaning(self) -> str:
        return self.__meanings__[self.value]

    @property
    def tag(self) -> str:
        return self.__tags__[self.value]

    @property
    def colour(self) -> str:
        return self.__colours__[self.value]

    @property
    def days_css(self) -> str:
        """How the days left are written beside it: red and bold when overdue, amber when near."""
        return self.__days_css__.get(self.value, "")


def traffic_light(closed: bool, deadline: date | None, today: date) -> Light:
    """Red overdue, yellow due within YELLOW_WITHIN_DAYS days, green, or none (closed, no deadline)."""
    if closed or deadline is None:
        return Light.none
    left = (deadline - today).days
    if left < 0:
        return Light.red
    return Light.yellow if left <= YELLOW_WITHIN_DAYS else Light.green


def carried_label(carry_count: int, closed: bool) -> str:
    """The badge of a carried-over item: 连续N年未完成 from the second year while not closed,
    上年度遗留 otherwise once carried, "" for an item of its own year."""
    if carry_count >= 2 and not closed:
        return f"连续{carry_count}年未完成"
    return "上年度遗留" if carry_count >= 1 else ""


class Status(TitledEnum):
    """An item's status (CONTRACT.md). Only ``tracker.items.workflow`` changes it."""

    __titles__ = {"open": "待整改", "in_progress": "整改中", "pending_review": "待审核", "closed": "已销号"}
    __css_classes__ = {"open": "secondary", "in_progress": "primary", "pending_review": "warning", "closed": "success"}
    open = "open"
    in_progress = "in_progress"
    pending_review = "pending_review"
    closed = "closed"


# Being worked on: the owner may still change measures and evidence, and reminders go out.
WORKING = frozenset({Status.open, Status.in_progress})


class ReviewStage(enum.IntEnum):
    """Which review a close-out waits for: the only one, or under 两级审核 the first (初审, the
    unit's own check) and then the second (复审, by the unit above the first reviewer's)."""

    single = 0
    first = 1
    second = 2

    @property
    def title(self) -> str:
        return {0: "", 1: "待初审", 2: "待复审"}[self.value]


class UrgeLevel(TitledEnum):
    """A 督办单's grade (CONTRACT.md): 催办, then the 三色督办 practice's 黄牌 and 红牌."""

    __titles__ = {"notice": "催办", "yellow": "黄牌督办", "red": "红牌督办"}
    __css_classes__ = {"notice": "text-bg-info", "yellow": "text-bg-warning", "red": "text-bg-danger"}
    notice = "notice"
    yellow = "yellow"
    red = "red"

    @property
    def rank(self) -> int:
        return ("notice", "yellow", "red").index(self.value)


class ExtensionStatus(TitledEnum):
    __titles__ = {"pending": "待审批", "approved": "已批准", "rejected": "未批准", "withdrawn": "已撤销"}
    pending = "pending"
    approved = "approved"
    rejected = "rejected"
    withdrawn = "withdrawn"  # the item was closed while the request waited


class Category(db.Model):
    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(50), unique=True)
    name: Mapped[str] = mapped_column(String(50))
    position: Mapped[int] = mapped_column(default=0)

    def __repr__(self) -> str:
        return f"<Category {self.code}>"


REPORT_KINDS = {"rule_of_law": "法治政府建设报告", "inspection": "巡察/巡视/督察整改报告", "audit": "审计整改报告",
                "self_check": "自查报告", "other": "其他报告"}  # CONTRACT.md's kinds


class Report(db.Model):
    """A unit's annual rule-of-law report, the source of its items."""

    __tablename__ = "reports"
    __table_args__ = (
        Index("ix_reports_unit_id_year", "unit_id", "year"),
        # At most one draft per unit and year, so two rollovers at once create one draft.
        Index("ux_reports_draft_unit_id_year", "unit_id", "year", unique=True,
              sqlite_where=text("is_draft"), postgresql_where=text("is_draft")),
        # One import per file, unless the user confirmed a second one (which names the first): two
        # identical imports sent at once cannot both pass a check made before either was stored.
        Index("ux_reports_sha256_first", "sha256", unique=True,
              sqlite_where=text("sha256 IS NOT NULL AND duplicate_of_id IS NULL AND withdrawn_at IS NULL"),
              postgresql_where=text("sha256 IS NOT NULL AND duplicate_of_id IS NULL AND withdrawn_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))  # indexed with year below
    year: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(300))
    source_filename: Mapped[str | None] = mapped_column(String(255))
    sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    # SHA-256 of its words (ParsedReport.fingerprint): the same report imported from another file.
    text_sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    # A deliberate second import of the same file (the user confirmed it) names the first.
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("reports.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Created by the rollover to receive last year's open items, until the year's own report is
    # imported into it.
    is_draft: Mapped[bool] = mapped_column(default=False, server_default=false())
    # What kind of report (REPORT_KINDS): a 法治政府建设 report, a 巡察/审计 rectification report, a 自查.
    kind: Mapped[str] = mapped_column(String(20), default="rule_of_law", server_default="rule_of_law")
    # An import undone (tracker.importing.withdraw_report): the report and its items stay, marked,
    # out of every list and figure; the same file may be imported again.
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    withdrawn_reason: Mapped[str] = mapped_column(Text, default="", server_default="")

    unit: Mapped[Unit] = relationship()
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    withdrawn_by: Mapped[User | None] = relationship(foreign_keys=[withdrawn_by_id])
    items: Mapped[list["Item"]] = relationship(back_populates="report", order_by="Item.id")


class MeasureType(TitledEnum):
    """整改类型 (CONTRACT.md's ``measure_type``): how an item is to be rectified."""

    __titles__ = {"immediate": "立行立改", "deadline": "限期整改", "long_term": "长期坚持"}
    immediate = "immediate"  # at once: a short default deadline
    deadline = "deadline"  # by a deadline: the usual
    long_term = "long_term"  # kept up: a progress note every review_every_days, reminders by that cadence


# 配合单位: the units that take part in an item besides the responsible one.
item_co_units = Table(
    "item_co_units", db.metadata,
    Column("item_id", ForeignKey("items.id", ondelete="CASCADE"), primary_key=True),
    Column("unit_id", ForeignKey("units.id"), primary_key=True, index=True),
)


class ItemCategory(db.Model):
    """An item's categories in order: the first is the primary one."""

    __tablename__ = "item_categories"

    item_id: Mapped[int] = mapped_column(
        ForeignKey("items.id", ondelete="CASCADE"), primary_key=True
    )
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"), primary_key=True)
    position: Mapped[int] = mapped_column(default=0)

    __table_args__ = (
        # A category's items as ids alone (read from the index): the lists' category filter.
        Index("ix_item_categories_category_id_item_id", "category_id", "item_id"),
    )

    item: Mapped["Item"] = relationship(back_populates="category_links")
    category: Mapped[Category] = relationship(lazy="joined")


class Item(db.Model):
    """A rectification item (整改事项): one problem a report lists, followed until closed."""

    __tablename__ = "items"
    __table_args__ = (
        Index("ix_items_status_deadline", "status", "deadline"),
        Index("ix_items_owner_id_status", "owner_id", "status"),
        # A unit's (or a tree's) items by year, and their counts by deadline and status read from
        # the index alone.
        Index("ix_items_unit_cover", "unit_id", "year", "deadline", "status", "withdrawn_at", "id"),
        # Open items by deadline: the 建议督办 list (most overdue first) walks it and stops at its page.
        Index("ix_items_working_deadline", "deadline", "id", postgresql_where=text("status <> 'closed'"),
              sqlite_where=text("status <> 'closed'")),
        # The lists by deadline (the default order, and the overdue list) for a supervisor of much
        # of the tree: walked in order and read from the index alone, with what visibility and the
        # usual filters look at, until the page (and the capped count) is found. A plain
        # (deadline, id) index made a team's list three times slower: the walk fetched each row.
        Index("ix_items_deadline_cover", "deadline", "id", "unit_id", "owner_id", "status", "year", "withdrawn_at"),
        # The review queue (oldest request first), from the index alone.
        Index("ix_items_review_queue", "updated_at", "id", "unit_id", "withdrawn_at",
              postgresql_where=text("status = 'pending_review'"), sqlite_where=text("status = 'pending_review'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int | None] = mapped_column(ForeignKey("reports.id"), index=True)
    year: Mapped[int] = mapped_column(Integer, index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))  # indexes in __table_args__
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    title: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text, default="")
    measures: Mapped[str] = mapped_column(Text, default="")
    # What the owner says was done, given when submitting for close-out.
    summary: Mapped[str] = mapped_column(Text, default="")
    # 责任领导: the leader in charge, as a name (often no user of the system).
    leader: Mapped[str] = mapped_column(String(64), default="", server_default="")
    measure_type: Mapped[MeasureType] = mapped_column(enum_column(MeasureType), default=MeasureType.deadline,
                                                      server_default="deadline")
    # 长期坚持: a progress note is owed this often (days); None: LONG_TERM_REVIEW_DAYS (90).
    review_every_days: Mapped[int | None] = mapped_column(Integer)
    deadline: Mapped[date | None] = mapped_column(Date)
    status: Mapped[Status] = mapped_column(enum_column(Status), default=Status.open)
    carried_over_from_year: Mapped[int | None] = mapped_column(Integer)
    carry_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When it was closed (the local day) and the deadline in force then: whether it was closed on
    # time stays answerable however the deadline changes after a reopening. None while not closed.
    closed_on: Mapped[date | None] = mapped_column(Date)
    closed_deadline: Mapped[date | None] = mapped_column(Date)
    # While a close-out returned by its reviewer waits to be resubmitted: the reviewer's comment
    # (the 已退回 badge and banner) and when. Cleared by the next submission.
    returned_comment: Mapped[str | None] = mapped_column(Text)
    returned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set when its report's import was withdrawn: kept, but out of every list, figure and job.
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Two-level review (两级审核, set on units): which review a pending close-out waits for
    # (ReviewStage), who passed it at the first level (he may not pass it at the second) and from
    # which unit (the second is a unit above that one, wherever he works later).
    review_stage: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    first_approver_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    first_review_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    # The last 督办单 the item got, and how many (tracker.urging): the badge in every list, and what
    # the 督办规则 reads to suggest the next level.
    urge_level: Mapped[UrgeLevel | None] = mapped_column(enum_column(UrgeLevel))
    urge_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    urge_yellows: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # 黄牌 among them
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # Optimistic locking: a write based on a stale read fails instead of overwriting.
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version}

    report: Mapped[Report | None] = relationship(back_populates="items")
    unit: Mapped[Unit] = relationship(foreign_keys=[unit_id])
    first_review_unit: Mapped[Unit | None] = relationship(foreign_keys=[first_review_unit_id])
    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id])
    first_approver: Mapped[User | None] = relationship(foreign_keys=[first_approver_id])
    category_links: Mapped[list[ItemCategory]] = relationship(
        back_populates="item",
        order_by=ItemCategory.position,
        cascade="all, delete-orphan",
    )
    co_units: Mapped[list[Unit]] = relationship(secondary=item_co_units, order_by=Unit.path)
    # Only evidence that has not been removed; removed files stay in the table for the record.
    evidence: Mapped[list["Evidence"]] = relationship(
        order_by="Evidence.id",
        primaryjoin="and_(Evidence.item_id == Item.id, Evidence.removed_at.is_(None))",
        viewonly=True,
    )
    events: Mapped[list["ItemEvent"]] = relationship(
        back_populates="item", order_by="ItemEvent.id"
    )
    extension_requests: Mapped[list["ExtensionRequest"]] = relationship(
        back_populates="item", order_by="ExtensionRequest.id"
    )

    @property
    def review_waiting(self) -> ReviewStage | None:
        """The review a close-out waits for under 两级审核 (None: not waiting, or one review only)."""
        if self.status is Status.pending_review and self.review_stage:
            return ReviewStage(self.review_stage)
        return None

    @property
    def categories(self) -> list[Category]:
        return [link.category for link in self.category_links]

    @property
    def carried_label(self) -> str:
        return carried_label(self.carry_count or 0, self.status is Status.closed)  # 0 before its first flush

    @property
    def origin_year(self) -> int:
        """The year whose report first listed the item: each carry-over moves it on a year."""
        return self.year - self.carry_count

    def is_overdue(self, today: date) -> bool:
        return self.status is not Status.closed and self.deadline is not None and self.deadline < today

    def days_left(self, today: date) -> int | None:
        """Days until the deadline; negative once overdue. None when there is no deadline."""
        return None if self.deadline is None else (self.deadline - today).days

    @property
    def closed_on_time(self) -> bool | None:
        """Closed on or before the deadline in force when it was closed (CONTRACT.md); None while
        it is not closed, or when it was closed without a deadline."""
        if self.status is not Status.closed or self.closed_on is None or self.closed_deadline is None:
            return None
        return self.closed_on <= self.closed_deadline

    def light(self, today: date) -> Light:
        """Traffic light: red overdue, yellow due within YELLOW_WITHIN_DAYS days, green, or none."""
        return traffic_light(self.status is Status.closed, self.deadline, today)

    def __repr__(self) -> str:
        return f"<Item {self.id} {self.status.value}>"


class ItemState(db.Model):
    """What an item was at the end of each day from ``valid_from`` up to, not including,
    ``valid_to`` (None: still so): its unit, year, status, deadline and close record. The
    dashboard and ``GET /stats`` read any day's figures from here with one condition,
    :func:`tracker.items.states.as_of`. ``tracker.items.states`` keeps it in the same transaction
    as every change of the item, and rebuilds it from the history (``refresh-stats``)."""

    __tablename__ = "item_states"
    __table_args__ = (
        UniqueConstraint("item_id", "valid_from", name="uq_item_states_item_id_valid_from"),
        Index("ix_item_states_unit_id_valid_to", "unit_id", "valid_to"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"))  # the unique key
    # The item's unit now (a move to another unit rewrites every row): figures follow today's tree.
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    # Its primary category now (the first), so that each item counts once in the category table.
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"))
    year: Mapped[int] = mapped_column(Integer)
    status: Mapped[Status] = mapped_column(enum_column(Status))
    deadline: Mapped[date | None] = mapped_column(Date)
    closed_on: Mapped[date | None] = mapped_column(Date)
    closed_deadline: Mapped[date | None] = mapped_column(Date)
    created_on: Mapped[date] = mapped_column(Date)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)


def live():
    """SQL condition on ``Item``: not withdrawn with its report. Every list, figure and job has it."""
    return Item.withdrawn_at.is_(None)


def lock_item(item: "Item") -> "Item":
    """Read ``item`` again under a lock held to the end of the transaction, so that two changes
    that each check something of the item (its status, its evidence) run one after the other,
    the second seeing what the first did. PostgreSQL locks the row (SELECT … FOR UPDATE); SQLite
    has no row locks and reads outside any transaction, so a write that changes nothing takes
    its database-wide write lock first."""
    if db.session.get_bind().dialect.name == "sqlite":
        db.session.execute(text("UPDATE items SET id = id WHERE id = :id"), {"id": item.id})
    else:  # the row alone: the item may have been loaded with outer joins, which FOR UPDATE refuses
        db.session.execute(select(Item.id).where(Item.id == item.id).with_for_update())
    db.session.refresh(item)
    return item


class Evidence(db.Model):
    """An evidence file (佐证材料), stored under a generated name outside static/."""

    __tablename__ = "evidence"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    stored_name: Mapped[str] = mapped_column(String(80), unique=True)
    filename: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    content_type: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(String(500), default="")
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Removal is recorded, never a deletion: the file and its row stay for the record.
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    removed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)

    item: Mapped[Item] = relationship()
    uploaded_by: Mapped[User] = relationship(foreign_keys=[uploaded_by_id])


class ExtensionRequest(db.Model):
    """An owner's request for a later deadline; every earlier deadline stays on record here."""

    __tablename__ = "extension_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    old_deadline: Mapped[date | None] = mapped_column(Date)
    new_deadline: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[ExtensionStatus] = mapped_column(
        enum_column(ExtensionStatus), default=ExtensionStatus.pending, index=True
    )
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_comment: Mapped[str] = mapped_column(Text, default="")

    item: Mapped[Item] = relationship(back_populates="extension_requests")
    requested_by: Mapped[User] = relationship(foreign_keys=[requested_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])


class EventAction(TitledEnum):
    """What a history row records. The workflow's actions share their values (and titles)."""

    __titles__ = {
        "create": "创建事项", "start": "开始整改", "submit": "提交销号申请", "approve": "审核通过并销号",
        "return": "退回整改", "reopen": "重新打开", "request_extension": "申请延期", "approve_extension": "批准延期",
        "reject_extension": "不批准延期", "edit": "修改事项", "progress": "进展情况", "withdraw": "撤回销号申请",
        "evidence_added": "上传佐证材料", "evidence_removed": "撤回佐证材料", "carry_over": "年度结转",
        "urge": "督办", "approve_first": "初审通过",
    }
    create = "create"
    start = "start"
    submit = "submit"
    approve = "approve"
    approve_first = "approve_first"
    return_ = "return"
    reopen = "reopen"
    withdraw = "withdraw"
    request_extension = "request_extension"
    approve_extension = "approve_extension"
    reject_extension = "reject_extension"
    edit = "edit"
    progress = "progress"
    evidence_added = "evidence_added"
    evidence_removed = "evidence_removed"
    carry_over = "carry_over"
    urge = "urge"


class ItemEvent(db.Model):
    """One row of an item's history: who did what, when, with what details."""

    __tablename__ = "item_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    action: Mapped[EventAction] = mapped_column(enum_column(EventAction, length=40))
    comment: Mapped[str] = mapped_column(Text, default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    item: Mapped[Item] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship()


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
    run_id: Mapped[int | None] = mapped_column(ForeignKey("rollover_runs.id"), index=True)  # rollover.models
    carried_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    item: Mapped[Item] = relationship()
    from_report: Mapped[Report | None] = relationship(foreign_keys=[from_report_id])
    to_report: Mapped[Report] = relationship(foreign_keys=[to_report_id])


class SavedList(enum.Enum):
    """The lists a view can be saved from."""

    items = "items"  # 事项清单
    overdue = "overdue"  # 逾期清单


class SavedView(db.Model):
    """我的视图: a list's filters and search kept under a name, optionally shared with the
    supervisors of its owner's unit, optionally sent to its owner every Monday as a digest."""

    __tablename__ = "saved_views"
    __table_args__ = (UniqueConstraint("user_id", "name", name="uq_saved_views_user_id_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))  # indexed by the unique key
    name: Mapped[str] = mapped_column(String(40))
    list: Mapped[SavedList] = mapped_column(enum_column(SavedList), default=SavedList.items)
    args: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # the list's filters, as in its address
    # Shared with the supervisors of this unit (the owner's when saved); None: private.
    shared_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    weekly: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship()
    shared_unit: Mapped[Unit | None] = relationship()
