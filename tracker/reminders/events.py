"""Event notifications (CONTRACT.md's kinds): whoever an item's change concerns hears of it.

Every history row is announced by ``items.history.recorded``; for the actions below this writes,
in the same transaction, a notification on the bell of each person concerned, and for the kinds
sent at once (退回, decided extensions) a message to each of their other chosen channels through
the outbox, keyed by the event so that it is never sent twice. 督办单 (``urged``) are told by
``tracker.urging`` through :func:`send_at_once`.

Each person chooses, per channel, which kinds go out at once (``User.notify_at_once``; by default
returned, urged and decided extensions, as CONTRACT.md says); the others wait for the next daily
digest, which lists them under 近期动态 (:func:`since`). Robot messages wait for the end of their
minute, so that the sender posts a minute's events into a group as one message.
"""

import uuid
from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import or_, select

from tracker import clock
from tracker.extensions import db
from tracker.items.history import recorded
from tracker.items.models import EventAction, Item, ItemEvent, live
from tracker.org.models import User
from tracker.org.queries import active_admins, nearest_supervisors
from tracker.reminders.models import Channel, MessageKind, Notification, OutboxMessage

KINDS = {
    EventAction.submit: "submitted", EventAction.approve_first: "submitted", EventAction.return_: "returned",
    EventAction.approve: "approved",
    EventAction.reopen: "reopened", EventAction.request_extension: "extension_requested",
    EventAction.approve_extension: "extension_approved", EventAction.reject_extension: "extension_rejected",
}
TITLES = {
    "assigned": "分派给您", "submitted": "待您审核", "returned": "销号申请被退回", "approved": "已审核销号",
    "reopened": "已重新打开", "extension_requested": "延期申请待您审批", "extension_approved": "延期申请已批准",
    "extension_rejected": "延期申请未获批准",
}
# Every event kind, as the profile page names them.
KIND_TITLES = {
    "assigned": "事项分派给我", "submitted": "有销号申请待我审核", "returned": "销号申请被退回",
    "approved": "事项审核销号", "reopened": "事项被重新打开", "extension_requested": "有延期申请待我审批",
    "extension_approved": "延期申请获批", "extension_rejected": "延期申请未获批准", "urged": "收到督办单",
}
TO_REVIEWERS = frozenset({"submitted", "extension_requested"})
AT_ONCE = frozenset({"returned", "urged", "extension_approved", "extension_rejected"})  # CONTRACT.md's defaults
DIGEST_SECTION = "近期动态"


def kind_of(event: ItemEvent) -> str | None:
    if event.details.get("imported"):  # what a report or a ledger brought in already happened: nobody is told
        return None
    if event.action is EventAction.edit and isinstance(event.details.get("owner"), dict):
        return "assigned" if event.details["owner"].get("new") else None
    if event.action is EventAction.create and event.details.get("owner"):
        return "assigned"
    return KINDS.get(event.action)


def concerned(kind: str, item: Item, actor: User | None, event: ItemEvent) -> list[User]:
    """Who hears of it: the reviewers for a request (after a 初审, those above its reviewer's
    unit), else the (new) owner; never the actor."""
    besides = {actor.id} if actor is not None else set()
    if kind in TO_REVIEWERS:
        besides |= {item.owner_id} if item.owner_id else set()
        if event.action is EventAction.approve_first:  # the level above; admins when there is none
            above = actor.unit.parent if actor is not None else None
            found = nearest_supervisors(above, besides=besides) if above is not None else []
            return found or [user for user in active_admins() if user.id not in besides]
        return nearest_supervisors(item.unit, besides=besides)
    owner = item.owner
    return [owner] if owner is not None and owner.active and owner.id not in besides else []


@recorded.connect
def tell(event: ItemEvent, *, item: Item, actor: User | None) -> None:
    kind = kind_of(event)
    if kind is None:
        return
    people = concerned(kind, item, actor, event)
    if not people:
        return
    if item.id is None:  # a new item (assigned at creation): its id, for the links
        db.session.flush()
    who = actor.display_name if actor is not None else "系统"
    text = event.comment or event.details.get("summary") or ""
    title = "初审已通过，待您复审" if event.action is EventAction.approve_first else TITLES[kind]
    subject = f"【{title}】{item.title}"
    line = f"{who}：{text}" if text else f"由{who}操作"
    key = f"event-{uuid.uuid4().hex}"  # its messages' key; the digest leaves out the channels it went to
    payload = {"kind": kind, "key": key, "item_id": item.id, "sections": [{"title": title, "items": [{
        "id": item.id, "title": item.title, "unit": item.unit.name,
        "owner": item.owner.display_name if item.owner else None,
        "deadline": item.deadline.isoformat() if item.deadline else None, "light": "none",
        "days_left": None, "reason": line, "carried": item.carried_label,
    }]}]}
    for user in people:
        db.session.add(Notification(user_id=user.id, kind=kind, item_id=item.id, title=subject[:200], body=line,
                                    payload=payload, created_at=event.at))
        send_at_once(user, kind, MessageKind.event, key, subject, payload, event.at)


def send_at_once(user: User, kind: str, message_kind: MessageKind, key: str, subject: str, payload: dict,
                 at: datetime) -> None:
    """Write the outbox messages of an event to those of ``user``'s channels that hear ``kind``
    at once. A robot's waits for the end of its minute (the sender joins a minute's events)."""
    from tracker.reminders.services import at_once_channels  # services imports this module

    next_minute = at.replace(second=0, microsecond=0) + timedelta(minutes=1)
    for channel in at_once_channels(user, kind):
        db.session.add(OutboxMessage(
            recipient_id=user.id, channel=channel, day=clock.to_local(at).date(), kind=message_kind, key=key,
            subject=subject[:200], payload=payload, item_count=1,
            next_attempt_at=next_minute if channel.is_robot else at, created_at=at))


def since(start: datetime, end: datetime) -> dict[int, list[Notification]]:
    """The events told on the bell in [start, end), by person, oldest first: the daily digest
    lists those a person's channel did not hear at once."""
    found: dict[int, list[Notification]] = defaultdict(list)
    query = (select(Notification).outerjoin(Item, Item.id == Notification.item_id)
             .where(Notification.kind.in_(list(KIND_TITLES)), Notification.created_at >= start,
                    Notification.created_at < end, or_(Notification.item_id.is_(None), live()))
             .order_by(Notification.id).execution_options(yield_per=2000))
    for note in db.session.scalars(query):
        found[note.user_id].append(note)
    return found


def sent_at_once(start: datetime, end: datetime) -> set[tuple[int, Channel, str]]:
    """(recipient, channel, key) of the event and 督办单 messages written in [start, end): the
    channels an event already went to, whatever the person's choices are by the time of the digest."""
    days = [clock.to_local(start).date() + timedelta(days=n)
            for n in range((clock.to_local(end).date() - clock.to_local(start).date()).days + 1)]
    return set(db.session.execute(select(OutboxMessage.recipient_id, OutboxMessage.channel, OutboxMessage.key).where(
        OutboxMessage.day.in_(days), OutboxMessage.kind.in_([MessageKind.event, MessageKind.urge]))).all())


def digest_section(notes: list[Notification]) -> dict:
    """The 近期动态 section of a digest: one line per event, as its message would have said."""
    items = []
    for note in notes:
        for section in note.payload.get("sections", ()):
            for entry in section.get("items", ()):
                items.append(entry | {"reason": f"{section['title']}：{entry.get('reason') or ''}".rstrip("：")})
    return {"key": "events", "title": DIGEST_SECTION, "items": items}
