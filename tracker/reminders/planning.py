"""Deciding who must hear about what: the reminder pass's rules, in one place.

A pass for day T owes every reminder of the days in its window (see ``ReminderPass``):
- the owner, on each configured day before the deadline and on the day itself;
- the owner, while overdue, on overdue day 1 and every N days after (N = overdue_repeat_days);
- the supervisors of the item's unit (the nearest unit upward that has any), once the item has
  been overdue for escalate_after_days, and every N days after; also for items without an owner,
  on the days their owner would have been reminded;
- the reviewers of a close-out or extension request that has waited review_wait_days, and every
  N days after.
Each recipient gets one digest per pass listing all of their items, in sections.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import func, literal, select

from tracker.extensions import db
from tracker.formats import NO_DEADLINE
from tracker.items.models import (
    WORKING,
    EventAction,
    ExtensionRequest,
    ExtensionStatus,
    Item,
    ItemEvent,
    Light,
    MeasureType,
    ReviewStage,
    Status,
    carried_label,
    live,
    traffic_light,
)
from tracker.org.models import Role, Unit, User, path_ids
from tracker.reminders.rules import ReminderRule

BATCH = 2000

SECTIONS = {
    "mine": "您负责的整改事项",
    "escalated": "所辖单位需督办的事项",
    "review": "等待您审核或决定的事项",
}


@dataclass
class Entry:
    """One line of a digest: an item, as of the pass's day."""

    item_id: int
    title: str
    unit: str
    owner: str | None
    deadline: date | None
    light: Light
    days_left: int | None
    reason: str
    carried: str = ""  # 上年度遗留 / 连续N年未完成, as the item lists show it

    def to_json(self) -> dict:
        return {
            "id": self.item_id, "title": self.title, "unit": self.unit, "owner": self.owner,
            "deadline": self.deadline.isoformat() if self.deadline else None, "light": self.light.value,
            "days_left": self.days_left, "reason": self.reason, "carried": self.carried,
        }


@dataclass
class Digest:
    recipient: User
    sections: dict[str, list[Entry]] = field(default_factory=lambda: defaultdict(list))

    @property
    def item_count(self) -> int:
        return sum(len(entries) for entries in self.sections.values())

    def to_json(self) -> dict:
        return {
            "recipient": self.recipient.display_name,
            "sections": [
                {"key": key, "title": SECTIONS[key], "items": [e.to_json() for e in self.sections[key]]}
                for key in SECTIONS if self.sections.get(key)
            ],
        }


def _first_hit(first: int, last: int, base: int, every: int) -> bool:
    """Is there a k in [first, last] with k >= base and (k - base) divisible by ``every``?"""
    start = max(first, base)
    if start > last:
        return False
    hit = start + (-(start - base)) % every
    return hit <= last


def owner_days(rule: ReminderRule) -> set[int]:
    """The days before the deadline the owner hears: the configured ones, and always the day itself."""
    return set(rule.days_before) | {0}


def owner_due(deadline: date, start: date, end: date, rule: ReminderRule) -> bool:
    """Is the owner owed a reminder in the window [start, end]?"""
    if any(start <= deadline - timedelta(days=before) <= end for before in owner_days(rule)):
        return True
    return _first_hit((start - deadline).days, (end - deadline).days, 1, rule.overdue_repeat_days)


def when(deadline: date | None, day: date) -> str:
    """The deadline as of ``day``, in words."""
    if deadline is None:
        return NO_DEADLINE
    left = (deadline - day).days
    if left < 0:
        return f"逾期{-left}天"
    return "今天到期" if left == 0 else f"剩余{left}天"


def escalation_due(deadline: date, start: date, end: date, rule: ReminderRule) -> bool:
    base = max(rule.escalate_after_days, 1)
    return _first_hit((start - deadline).days, (end - deadline).days, base, rule.overdue_repeat_days)


def waiting_due(since: date, start: date, end: date, rule: ReminderRule) -> bool:
    return _first_hit((start - since).days, (end - since).days, rule.review_wait_days, rule.overdue_repeat_days)


class Reviewers:
    """The supervisors who hear about a unit's items: those of the nearest unit upward that has
    any active supervisor; admins where no unit up the tree has one."""

    def __init__(self):
        self.units = {uid: (name, path) for uid, name, path in db.session.execute(select(Unit.id, Unit.name, Unit.path))}
        self.by_unit: dict[int, list[int]] = defaultdict(list)
        self.admins: list[int] = []
        rows = db.session.execute(
            select(User.id, User.role, User.unit_id).where(User.active, User.role.in_([Role.supervisor, Role.admin]))
        )
        for uid, role, unit_id in rows:
            if role is Role.supervisor:
                self.by_unit[unit_id].append(uid)
            else:
                self.admins.append(uid)

    def unit_name(self, unit_id: int) -> str:
        return self.units[unit_id][0]

    def of(self, unit_id: int, exclude: int | None, *, above: bool = False) -> list[int]:
        """``above``: from the unit's parent up (复审 under 两级审核, above the first reviewer's unit)."""
        lineage = path_ids(self.units[unit_id][1])
        for ancestor in reversed(lineage[:-1] if above else lineage):
            found = [uid for uid in self.by_unit.get(ancestor, ()) if uid != exclude]
            if found:
                return found
        return [uid for uid in self.admins if uid != exclude]


def decide(day: date, start: date, end: date, rule: ReminderRule, zone) -> list[Digest]:
    """The digests owed for the window [start, end] of the pass on ``day``, one per recipient.

    A fixed number of statements whatever the number of items: units, supervisors, users, and
    three streamed item queries."""
    reviewers = Reviewers()
    users = {
        u.id: u for u in db.session.scalars(select(User).where(User.active))
    }
    digests: dict[int, Digest] = {}

    def add(user_id: int, section: str, entry: Entry) -> None:
        user = users.get(user_id)
        if user is None:
            return
        digests.setdefault(user_id, Digest(user)).sections[section].append(entry)

    def entry(item_id, title, unit_id, owner_id, deadline, status, carries, reason: str = "") -> Entry:
        owner = users.get(owner_id)
        return Entry(
            item_id, title, reviewers.unit_name(unit_id), owner.display_name if owner else None, deadline,
            traffic_light(status is Status.closed, deadline, day),
            None if deadline is None else (deadline - day).days, reason or when(deadline, day),
            carried_label(carries, status is Status.closed),
        )

    # Deadlines: the few dates whose before-days fall in the window, and everything overdue by its end.
    before_dates = {start + timedelta(days=n + b) for b in owner_days(rule) for n in range((end - start).days + 1)}
    due = (
        select(Item.id, Item.title, Item.unit_id, Item.owner_id, Item.deadline, Item.status, Item.carry_count)
        .where(Item.status.in_(WORKING), live(), Item.measure_type != MeasureType.long_term,
               (Item.deadline < end) | Item.deadline.in_(sorted(before_dates)))
        .order_by(Item.deadline, Item.id)
        .execution_options(yield_per=BATCH)
    )
    for item_id, title, unit_id, owner_id, deadline, status, carries in db.session.execute(due):
        owner_known = owner_id in users
        owed = owner_due(deadline, start, end, rule)
        if owed and owner_known:
            add(owner_id, "mine", entry(item_id, title, unit_id, owner_id, deadline, status, carries))
        if escalation_due(deadline, start, end, rule) or (owed and not owner_known):
            reason = when(deadline, day) if owner_known else "无责任人，" + when(deadline, day)
            for uid in reviewers.of(unit_id, owner_id):
                add(uid, "escalated", entry(item_id, title, unit_id, owner_id, deadline, status, carries, reason))

    # 长期坚持: no deadline to remind of, but a progress note owed every long_term_days, from the
    # last one (or the item's creation).
    noted = (
        select(ItemEvent.item_id, func.max(ItemEvent.at).label("at"))
        .where(ItemEvent.action == EventAction.progress).group_by(ItemEvent.item_id).subquery()
    )
    kept_up = (
        select(Item.id, Item.title, Item.unit_id, Item.owner_id, Item.deadline, Item.status, Item.carry_count,
               func.coalesce(noted.c.at, Item.created_at), Item.review_every_days)
        .outerjoin(noted, noted.c.item_id == Item.id)
        .where(Item.status.in_(WORKING), live(), Item.measure_type == MeasureType.long_term)
        .execution_options(yield_per=BATCH)
    )
    for item_id, title, unit_id, owner_id, deadline, status, carries, since, every in db.session.execute(kept_up):
        last = _local_date(since, zone)
        every = every or rule.long_term_days  # the item's own cadence, else the configured one
        if owner_id in users and _first_hit((start - last).days, (end - last).days, every, rule.overdue_repeat_days):
            why = f"长期坚持事项，已{(day - last).days}天未报送进展（每{every}天至少一次）"
            add(owner_id, "mine", entry(item_id, title, unit_id, owner_id, deadline, status, carries, why))

    # Close-out requests waiting for review, since their latest submission.
    submitted = (
        select(ItemEvent.item_id, func.max(ItemEvent.at).label("at"))
        .where(ItemEvent.action == EventAction.submit)
        .group_by(ItemEvent.item_id)
        .subquery()
    )
    columns = (Item.id, Item.title, Item.unit_id, Item.owner_id, Item.deadline, Item.status, Item.carry_count)
    waiting = (
        select(*columns, submitted.c.at, Item.review_stage, Item.first_review_unit_id)
        .join(submitted, submitted.c.item_id == Item.id)
        .where(Item.status == Status.pending_review, live())
    )
    extensions = (
        select(*columns, ExtensionRequest.requested_at, literal(0), literal(None))
        .join(ExtensionRequest, ExtensionRequest.item_id == Item.id)
        .where(ExtensionRequest.status == ExtensionStatus.pending, live())
    )
    for query, what in ((waiting, "提交销号"), (extensions, "延期申请")):
        for item_id, title, unit_id, owner_id, deadline, status, carries, at, stage, first in db.session.execute(
                query.execution_options(yield_per=BATCH)):
            since = _local_date(at, zone)
            if waiting_due(since, start, end, rule):
                why = f"{what}已等待{(day - since).days}天"
                second = stage == ReviewStage.second and first is not None  # 复审: above the 初审's unit
                found = reviewers.of(first, owner_id, above=True) if second else reviewers.of(unit_id, owner_id)
                for uid in found:
                    add(uid, "review", entry(item_id, title, unit_id, owner_id, deadline, status, carries, why))

    return sorted(digests.values(), key=lambda d: d.recipient.id)


def _local_date(moment: datetime, zone) -> date:
    return moment.astimezone(zone).date()
