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
from tracker.items.models import EventAction, Item, Status, UrgeLevel, lock_item
from tracker.items.queries import load_item
from tracker.org.models import Role, Unit, User
from tracker.reminders.models import Channel, MessageKind, Notification, OutboxMessage
from tracker.reminders.services import user_channels
from tracker.urging.models import Urge, UrgeCounter

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


def issue(item: Item, actor: User, level: UrgeLevel, *, comment: str = "", reply_by: date | None = None,
          now: datetime, today: date) -> Urge:
    """Issue a notice about ``item``; Forbidden, Conflict (closed) or Invalid. Flushes."""
    lock_item(item)
    if not permissions.can_urge_item(actor, item):
        if permissions.is_owner(actor, item):
            raise Forbidden("不能督办自己负责的事项。")
        raise Forbidden("只有该事项所属单位的上级督办人才能督办。")
    if item.status is Status.closed:
        raise Conflict("事项已销号，不能再督办。")
    comment = (comment or "").strip() or REQUIREMENTS[level]
    if len(comment) > COMMENT_MAX:
        raise Invalid(f"督办要求不能超过{COMMENT_MAX}字。", field="comment")
    reply_by = reply_by or today + timedelta(days=REPLY_DAYS[level])
    if reply_by < today:
        raise Invalid("反馈期限不能早于今天。", field="reply_by")
    unit = actor.unit
    serial = _next_serial(unit.id, today.year)
    days_overdue = max((today - item.deadline).days, 0) if item.deadline else 0
    urge = Urge(item=item, level=level, issuing_unit_id=unit.id, year=today.year, serial=serial,
                number=urge_number(unit, today.year, serial), comment=comment, reply_by=reply_by,
                deadline=item.deadline, days_overdue=days_overdue, issued_by_id=actor.id, issued_at=now)
    db.session.add(urge)
    item.urge_level, item.urge_count = level, (item.urge_count or 0) + 1
    record(item, actor, EventAction.urge, now=now, comment=comment,
           details={"level": level.value, "number": urge.number, "reply_by": reply_by.isoformat()})
    db.session.flush()
    _tell(urge, item, today, now)
    db.session.flush()
    return urge


def suggested_level(item: Item, urges: list[Urge], today: date) -> UrgeLevel:
    """The grade the rule suggests for ``item`` now (config URGE_YELLOW_AFTER_DAYS, default 1;
    URGE_RED_AFTER_DAYS, 16; URGE_RED_AFTER_YELLOWS, 2): overdue 1–15 days 黄牌, longer or after
    two 黄牌 红牌, else 催办."""
    from flask import current_app

    config = current_app.config
    overdue = max((today - item.deadline).days, 0) if item.deadline and item.status is not Status.closed else 0
    yellows = sum(1 for urge in urges if urge.level is UrgeLevel.yellow)
    if overdue >= int(config.get("URGE_RED_AFTER_DAYS", 16)) or yellows >= int(config.get("URGE_RED_AFTER_YELLOWS", 2)):
        return UrgeLevel.red
    if overdue >= int(config.get("URGE_YELLOW_AFTER_DAYS", 1)):
        return UrgeLevel.yellow
    return UrgeLevel.notice


def recipients(item: Item) -> list[User]:
    """Who a notice about ``item`` reaches: its owner, else the supervisors of its unit or of the
    nearest unit above it that has any."""
    if item.owner is not None and item.owner.active:
        return [item.owner]
    lineage = item.unit.lineage
    found = list(db.session.scalars(
        select(User).where(User.active.is_(True), User.role == Role.supervisor, User.unit_id.in_(lineage))))
    for unit_id in reversed(lineage):
        nearest = [user for user in found if user.unit_id == unit_id]
        if nearest:
            return nearest
    return []


def _tell(urge: Urge, item: Item, today: date, now: datetime) -> None:
    subject = f"【{urge.level.title}】{urge.number}：{item.title}"
    overdue = f"，已逾期{urge.days_overdue}天" if urge.days_overdue else ""
    reason = f"{urge.comment}请于{chinese_date(urge.reply_by)}前反馈整改情况{overdue}。"
    payload = {"kind": "urged", "urge_id": urge.id, "item_id": item.id, "sections": [{
        "title": f"{urge.issuing_unit.name}{urge.level.title}", "items": [{
            "id": item.id, "title": item.title, "unit": item.unit.name,
            "owner": item.owner.display_name if item.owner else None,
            "deadline": item.deadline.isoformat() if item.deadline else None,
            "light": item.light(today).value, "days_left": item.days_left(today), "reason": reason,
            "carried": item.carried_label,
        }]}]}
    for user in recipients(item):
        db.session.add(Notification(user_id=user.id, title=subject, body=reason, payload=payload, created_at=now))
        for channel in user_channels(user):
            if channel is Channel.inapp:
                continue
            db.session.add(OutboxMessage(
                recipient_id=user.id, channel=channel, day=today, kind=MessageKind.urge, key=f"urge-{urge.id}",
                subject=subject[:200], payload=payload, item_count=1, next_attempt_at=now, created_at=now,
            ))


def item_urges(item: Item) -> list[Urge]:
    return list(db.session.scalars(select(Urge).where(Urge.item_id == item.id).order_by(Urge.id)))


def load_urge(urge_id: int, user: User) -> Urge:
    """A notice whose item ``user`` may see (NotFound otherwise, as for the item)."""
    urge = db.session.get(Urge, urge_id)
    if urge is None:
        raise NotFound("督办单不存在，或您无权查看。")
    load_item(urge.item_id, user)
    return urge
