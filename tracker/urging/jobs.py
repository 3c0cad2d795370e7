"""What the scheduler runs for 督办, when the admin's rule turns it on: each morning the suggested
notices; on the 1st of each month last month's 情况通报 for each unit with supervisors."""

import logging
from datetime import date, datetime, timedelta
from urllib.parse import urlencode

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from tracker.extensions import db
from tracker.items.models import Item
from tracker.org.models import Role, Unit, User
from tracker.reminders.models import Notification
from tracker.urging import services

log = logging.getLogger(__name__)
BATCH = 500


def auto_issue(today: date, now: datetime) -> int:
    """Issue each due item its suggested notice, from the unit above the item's (its own at the
    top). A second run the same day finds nothing due. Commits per batch; returns how many."""
    rule = services.current_rule()
    if not rule.auto_issue:
        return 0
    issued, last = 0, 0
    while True:
        items = list(db.session.scalars(
            select(Item).where(services.suggested_clause(rule, today), Item.id > last)
            .options(joinedload(Item.unit), joinedload(Item.owner)).order_by(Item.id).limit(BATCH)))
        if not items:
            return issued
        for item in items:
            level = services.suggested_level(item, today, rule)
            services.issue(item, None, level, unit=item.unit.parent or item.unit, now=now, today=today)
            issued += 1
        last = items[-1].id
        db.session.commit()


def last_month(today: date) -> tuple[date, date]:
    end = today.replace(day=1) - timedelta(days=1)
    return end.replace(day=1), end


def monthly_bulletins(today: date, now: datetime) -> int:
    """On the 1st: last month's 情况通报 on the bell of each active supervisor, for their own unit
    (a download link: the document is made when opened). Once per supervisor and month."""
    rule = services.current_rule()
    if not rule.monthly_bulletin or today.day != 1:
        return 0
    start, end = last_month(today)
    sent = 0
    supervisors = db.session.scalars(
        select(User).join(Unit, Unit.id == User.unit_id)
        .where(User.active.is_(True), User.role == Role.supervisor).order_by(Unit.path, User.id)
        .options(joinedload(User.unit)))
    for user in supervisors:
        title = f"【情况通报】{user.unit.name}{start.year}年{start.month}月整改情况通报"
        if db.session.scalar(select(Notification.id).where(Notification.user_id == user.id, Notification.title == title)):
            continue
        query = urlencode({"unit": user.unit.id, "from": start.isoformat(), "to": end.isoformat()})
        db.session.add(Notification(
            user_id=user.id, kind="bulletin", title=title,
            body=f"{start.isoformat()}至{end.isoformat()}的情况通报已生成，请下载查看。",
            payload={"kind": "bulletin", "download": f"/bulletin.docx?{query}", "download_title": "下载情况通报（Word）"},
            created_at=now))
        sent += 1
    db.session.commit()
    return sent
