"""Issuing 督办单 and telling the people they concern (CONTRACT.md: POST /items/<id>/urge).

A notice gets the next number of its issuing unit's year, is kept in the item's history, marks
the item (the badge in every list), and reaches the owner at once: the bell in the same
transaction, their other chosen channels through the outbox. With no owner it reaches the
supervisors of the item's unit (or of the nearest unit above it that has any).
"""

from datetime import date, datetime, timedelta

from sqlalchemy import select, update

from tracker.errors import Conflict, Forbidden, Invalid, NotFound
from tracker.extensions import db, insert_ignore
from tracker.formats import chinese_date
from tracker.items import permissions
from tracker.items.history import record
from tracker.items.models import EventAction, Item, Status, UrgeLevel, live, lock_item
from tracker.items.queries import load_item
from tracker.org.models import Unit, User
from tracker.org.queries import nearest_supervisors
from tracker.reminders import events
from tracker.reminders.models import MessageKind, Notification
from tracker.urging.models import Urge, UrgeCounter, UrgeRule

COMMENT_MAX = 2000
# Days the unit has to answer, by grade, when the issuer names no date.
REPLY_DAYS = {UrgeLevel.notice: 7, UrgeLevel.yellow: 5, UrgeLevel.red: 3}
REQUIREMENTS = {
    UrgeLevel.notice: "请抓紧推进整改，按期完成。",
    UrgeLevel.yellow: "该事项整改进度滞后，请主要负责同志亲自督促，制定补救措施，加快整改。",
    UrgeLevel.red: "该事项整改严重滞后，请单位主要负责同志亲自研究部署，限期完成整改，并书面说明逾期原因。",
}


def parse_level(value) -> UrgeLevel:
    try:
        return UrgeLevel(value)
    except ValueError:
        raise Invalid("督办级别应为 notice（催办）、yellow（黄牌督办）或 red（红牌督办）。", field="level") from None


def urge_number(unit: Unit, year: int, serial: int) -> str:
    """南岸交督〔2024〕第7号."""
    return f"{unit.urge_prefix}督〔{year}〕第{serial}号"


def _next_serial(unit_id: int, year: int) -> int:
    """The next number of ``unit_id``'s notices in ``year``. The UPDATE locks the counter row to
    the end of the transaction, so a second issuer waits and then takes the number after."""
    db.session.execute(insert_ignore(UrgeCounter).values(unit_id=unit_id, year=year, last=0))
    return db.session.scalar(
        update(UrgeCounter).where(UrgeCounter.unit_id == unit_id, UrgeCounter.year == year)
        .values(last=UrgeCounter.last + 1).returning(UrgeCounter.last)
    )


def issue(item: Item, actor: User | None, level: UrgeLevel, *, comment: str = "", reply_by: date | None = None,
          now: datetime, today: date, unit: Unit | None = None) -> Urge:
    """Issue a notice about ``item`` from ``actor``'s unit (``actor`` None: the scheduler, from
    ``unit``); Forbidden, Conflict (closed) or Invalid. Flushes."""
    lock_item(item)
    if actor is not None and not permissions.can_urge_item(actor, item):
        if permissions.is_owner(actor, item):
            raise Forbidden(f"不能督办自己负责的事项（{item.title}）。")
        raise Forbidden(f"只有该事项所属单位的上级督办人才能督办（{item.title}）。")
    if item.status is Status.closed:
        raise Conflict(f"事项“{item.title}”已销号，不能再督办。")
    comment = (comment or "").strip() or REQUIREMENTS[level]
    if len(comment) > COMMENT_MAX:
        raise Invalid(f"督办要求不能超过{COMMENT_MAX}字。", field="comment")
    reply_by = reply_by or today + timedelta(days=REPLY_DAYS[level])
    if reply_by < today:
        raise Invalid("反馈期限不能早于今天。", field="reply_by")
    unit = actor.unit if actor is not None else unit
    serial = _next_serial(unit.id, today.year)
    days_overdue = max((today - item.deadline).days, 0) if item.deadline else 0
    urge = Urge(item=item, level=level, issuing_unit_id=unit.id, year=today.year, serial=serial,
                number=urge_number(unit, today.year, serial), comment=comment, reply_by=reply_by,
                deadline=item.deadline, days_overdue=days_overdue, issued_by_id=actor.id if actor else None,
                issued_at=now)
    db.session.add(urge)
    item.urge_level, item.urge_count = level, (item.urge_count or 0) + 1
    if level is UrgeLevel.yellow:
        item.urge_yellows = (item.urge_yellows or 0) + 1
    record(item, actor, EventAction.urge, now=now, comment=comment,
           details={"level": level.value, "number": urge.number, "reply_by": reply_by.isoformat()})
    db.session.flush()
    _tell(urge, item, today, now)
    db.session.flush()
    return urge


BATCH_MAX = 200  # items in one batch of notices


def issue_many(items: list[Item], actor: User, level: UrgeLevel | None, *, comment: str = "",
               reply_by: date | None = None, now: datetime, today: date) -> list[Urge]:
    """A notice for each item, all or none (the first refusal names its item). ``level`` None:
    each item's suggested level."""
    if not items:
        raise Invalid("请先勾选要督办的事项。", field="items")
    if len(items) > BATCH_MAX:
        raise Invalid(f"一次最多督办{BATCH_MAX}项。", field="items")
    rule = current_rule()
    return [issue(item, actor, level or suggested_level(item, today, rule), comment=comment,
                  reply_by=reply_by, now=now, today=today) for item in items]


def current_rule() -> UrgeRule:
    """The rule in force: the admin's row, else the defaults (not stored until saved)."""
    return db.session.get(UrgeRule, 1) or UrgeRule(id=1, yellow_after_days=1, red_after_days=16,
                                                   red_after_yellows=2, auto_issue=False, monthly_bulletin=False)


def update_rule(actor: User, *, yellow_after_days: int, red_after_days: int, red_after_yellows: int,
                auto_issue: bool, monthly_bulletin: bool) -> UrgeRule:
    if not 1 <= yellow_after_days <= 365:
        raise Invalid("黄牌的逾期天数应在1至365之间。", field="yellow_after_days")
    if not yellow_after_days < red_after_days <= 730:
        raise Invalid("红牌的逾期天数应大于黄牌的天数，且不超过730。", field="red_after_days")
    if not 1 <= red_after_yellows <= 10:
        raise Invalid("升为红牌前的黄牌次数应在1至10之间。", field="red_after_yellows")
    rule = db.session.get(UrgeRule, 1) or UrgeRule(id=1)
    rule.yellow_after_days, rule.red_after_days, rule.red_after_yellows = yellow_after_days, red_after_days, red_after_yellows
    rule.auto_issue, rule.monthly_bulletin, rule.updated_by_id = auto_issue, monthly_bulletin, actor.id
    db.session.add(rule)
    db.session.flush()
    return rule


def suggested_level(item: Item, today: date, rule: UrgeRule) -> UrgeLevel:
    """The grade ``rule`` suggests for ``item`` now: overdue ``yellow_after_days`` or more 黄牌;
    ``red_after_days`` or more, or ``red_after_yellows`` 黄牌 already, 红牌; else 催办."""
    overdue = max((today - item.deadline).days, 0) if item.deadline and item.status is not Status.closed else 0
    if overdue >= rule.red_after_days or (item.urge_yellows or 0) >= rule.red_after_yellows:
        return UrgeLevel.red
    if overdue >= rule.yellow_after_days:
        return UrgeLevel.yellow
    return UrgeLevel.notice


def suggested_clause(rule: UrgeRule, today: date):
    """SQL twin of :func:`suggested_level` being above the item's last notice: the items a
    supervisor should press now (not closed; overdue enough, or yellowed enough)."""
    red_due = (Item.deadline <= today - timedelta(days=rule.red_after_days)) | (Item.urge_yellows >= rule.red_after_yellows)
    yellow_due = Item.deadline <= today - timedelta(days=rule.yellow_after_days)
    below_red = Item.urge_level.is_(None) | (Item.urge_level != UrgeLevel.red)
    below_yellow = Item.urge_level.is_(None) | (Item.urge_level == UrgeLevel.notice)
    return (Item.status != Status.closed) & live() & ((red_due & below_red) | (yellow_due & below_yellow))


def recipients(item: Item) -> list[User]:
    """Who a notice about ``item`` reaches: its owner, else the supervisors of its unit or of the
    nearest unit above it that has any."""
    if item.owner is not None and item.owner.active:
        return [item.owner]
    return nearest_supervisors(item.unit)


def _tell(urge: Urge, item: Item, today: date, now: datetime) -> None:
    subject = f"【{urge.level.title}】{urge.number}：{item.title}"
    overdue = f"，已逾期{urge.days_overdue}天" if urge.days_overdue else ""
    reason = f"{urge.comment}请于{chinese_date(urge.reply_by)}前反馈整改情况{overdue}。"
    payload = {"kind": "urged", "key": f"urge-{urge.id}", "urge_id": urge.id, "item_id": item.id, "sections": [{
        "title": f"{urge.issuing_unit.name}{urge.level.title}", "items": [{
            "id": item.id, "title": item.title, "unit": item.unit.name,
            "owner": item.owner.display_name if item.owner else None,
            "deadline": item.deadline.isoformat() if item.deadline else None,
            "light": item.light(today).value, "days_left": item.days_left(today), "reason": reason,
            "carried": item.carried_label,
        }]}]}
    for user in recipients(item):
        db.session.add(Notification(user_id=user.id, kind="urged", item_id=item.id, title=subject, body=reason,
                                    payload=payload, created_at=now))
        events.send_at_once(user, "urged", MessageKind.urge, payload["key"], subject, payload, now)


def item_urges(item: Item) -> list[Urge]:
    return list(db.session.scalars(select(Urge).where(Urge.item_id == item.id).order_by(Urge.id)))


def load_urge(urge_id: int, user: User) -> Urge:
    """A notice whose item ``user`` may see (NotFound otherwise, as for the item)."""
    urge = db.session.get(Urge, urge_id)
    if urge is None:
        raise NotFound("督办单不存在，或您无权查看。")
    load_item(urge.item_id, user)
    return urge
