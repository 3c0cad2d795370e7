"""我的视图 every Monday: each view its owner asked for weekly is sent to him, with its items as
they stand, through the outbox and his reminder channels (the daily pass of a Monday writes them;
their key, ``view-<id>``, keeps a second pass from writing them twice)."""

from datetime import date, datetime

from sqlalchemy import select

from tracker.extensions import db
from tracker.items import queries
from tracker.items.models import SavedList, SavedView
from tracker.org.models import User
from tracker.reminders.models import Channel, MessageKind, MessageStatus

LISTED = 20  # items a digest lists; the subject says how many there are in all
BATCH = 200


def due(day: date) -> bool:
    return day.weekday() == 0  # 每周一


def digests(day: date, now: datetime, channels_of) -> list[dict]:
    """The outbox rows of the weekly views of ``day`` (a Monday), one per view and channel
    (``channels_of(user)``, the in-app bell left out: the list is a link away)."""
    rows, last = [], 0
    while views := list(db.session.scalars(
            select(SavedView).join(User, User.id == SavedView.user_id)
            .where(SavedView.weekly, User.active, SavedView.id > last).order_by(SavedView.id).limit(BATCH))):
        for view in views:
            rows += _rows(view, day, now, channels_of)
        last = views[-1].id
    return rows


def _rows(view: SavedView, day: date, now: datetime, channels_of) -> list[dict]:
    user = view.user
    flt = queries.ItemFilter.from_args(view.args, strict=False, user=user)
    if view.list is SavedList.overdue:
        page = queries.overdue_items(user, today=day, per_page=LISTED, flt=flt)
    else:
        page = queries.list_items(user, flt, today=day, sort=view.args.get("sort", "deadline"), per_page=LISTED)
    counted = f"{page.total}项" if page.exact else f"超过{page.total:,}项"
    title = f"我的视图“{view.name}”：共{counted}" + (f"，以下为前{len(page.items)}项" if page.has_next else "")
    items = [{"id": item.id, "title": item.title, "unit": item.unit.name,
              "owner": item.owner.display_name if item.owner else None,
              "deadline": item.deadline.isoformat() if item.deadline else None, "light": item.light(day).value,
              "days_left": item.days_left(day), "reason": "", "carried": item.carried_label} for item in page.items]
    payload = {"recipient": user.display_name, "view_id": view.id,
               "sections": [{"key": "view", "title": title, "items": items}]}
    subject = f"【我的视图】{day.month}月{day.day}日：{view.name}，共{counted}"
    return [{"recipient_id": user.id, "channel": channel, "day": day, "kind": MessageKind.digest, "key": f"view-{view.id}",
             "subject": subject[:200], "payload": payload, "item_count": len(items), "status": MessageStatus.pending,
             "attempts": 0, "next_attempt_at": now, "last_error": "", "created_at": now}
            for channel in channels_of(user) if channel is not Channel.inapp]
