"""The reminder pass (decide, then write the outbox) and the sender (drain the outbox).

Deciding and sending are separate. The pass writes one row per (recipient, channel, day, kind),
under a unique key, with INSERT … ON CONFLICT DO NOTHING: a second pass for the same day, or two
at once, write nothing new. The sender claims a small batch with a lease (FOR UPDATE SKIP LOCKED
on PostgreSQL), re-checks its claim before each message, and commits each outcome at once: two
senders never send the same message, and a sender killed mid-drain leaves the rest pending for
the next drain once its lease runs out.
"""

import logging
import time
import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import joinedload

from tracker.extensions import db, insert_ignore
from tracker.org.models import User
from tracker.reminders import digest, events, planning, weekly
from tracker.reminders.channels import UNKNOWN_WAIT_HOURS, Deliverer, Outcome
from tracker.reminders.models import (
    AttemptOutcome,
    Channel,
    DeliveryAttempt,
    MessageKind,
    MessageStatus,
    Notification,
    OutboxMessage,
    ReminderPass,
)
from tracker.reminders.rules import CATCH_UP_DAYS, ReminderRule, WorkingDays
from tracker.types import utcnow

log = logging.getLogger(__name__)

INSERT_BATCH = 500
CLAIM_BATCH = 100
LEASE = timedelta(minutes=2)
# After the first failure: retry in 1, 5, 15 and 60 minutes; the fifth failure is final.
BACKOFF = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=15), timedelta(hours=1))
MAX_ATTEMPTS = len(BACKOFF) + 1
# A mail server that took the body and never answered may have the mail: wait long before resending.
UNKNOWN_WAIT = timedelta(hours=UNKNOWN_WAIT_HOURS)
# Drained apart, by separate jobs: a stalled mail server never holds the bell and the robots back.
EMAIL = frozenset({Channel.email})
NOT_EMAIL = frozenset(Channel) - EMAIL


@dataclass
class PassResult:
    day: date
    window: tuple[date, date] | None  # None: not a working day, nothing owed today
    digests: list[planning.Digest] = field(default_factory=list)
    messages: int = 0  # new outbox rows this pass wrote
    recipients: int = 0  # distinct recipients of those rows


@dataclass
class DrainResult:
    sent: int = 0
    skipped: int = 0
    failed: int = 0
    retry: int = 0
    deferred: int = 0

    unknown: int = 0

    def add(self, other: "DrainResult") -> None:
        for name in ("sent", "skipped", "failed", "retry", "deferred", "unknown"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def done(self) -> int:
        return self.sent + self.skipped + self.failed + self.retry + self.deferred + self.unknown


def user_channels(user: User) -> list[Channel]:
    chosen = set((user.notify_channels or "").split(","))
    return [channel for channel in Channel if channel.value in chosen]


def set_user_channels(user: User, channels: list[str]) -> None:
    """What a user chose on the profile page. Unknown names are ignored; none is allowed."""
    known = [c.value for c in Channel if c.value in set(channels)]
    user.notify_channels = ",".join(known)
    db.session.flush()


def at_once(user: User, channel: Channel, kind: str) -> bool:
    """Is an event of ``kind`` sent to ``user`` on ``channel`` as it happens (else in the next
    daily digest)? The bell always has it at once."""
    if channel is Channel.inapp:
        return True
    chosen = (user.notify_at_once or {}).get(channel.value)
    return kind in (events.AT_ONCE if chosen is None else chosen)


def at_once_channels(user: User, kind: str) -> list[Channel]:
    """The user's channels besides the bell that hear of an event of ``kind`` at once."""
    return [c for c in user_channels(user) if c is not Channel.inapp and at_once(user, c, kind)]


def set_at_once(user: User, chosen: Collection[str]) -> None:
    """个人设置 → 通知时机: ``chosen`` holds "channel:kind" for each event sent at once; every other
    kind of the listed channels waits for the daily digest. Unknown names are ignored."""
    picked = set(chosen)
    user.notify_at_once = {
        channel.value: [kind for kind in events.KIND_TITLES if f"{channel.value}:{kind}" in picked]
        for channel in Channel if channel is not Channel.inapp
    }
    db.session.flush()



def mark_read(user: User, ids: list[int], now: datetime) -> int:
    """Mark those of ``user``'s notifications read (others' ids are ignored); how many were unread."""
    return db.session.execute(
        update(Notification).where(Notification.user_id == user.id, Notification.id.in_(ids),
                                   Notification.read_at.is_(None)).values(read_at=now)
    ).rowcount


def mark_all_read(user: User, now: datetime) -> int:
    """Mark every unread notification of ``user`` read; how many were."""
    return db.session.execute(
        update(Notification).where(Notification.user_id == user.id, Notification.read_at.is_(None)).values(read_at=now)
    ).rowcount


def pass_window(day: date, rule: ReminderRule, now: datetime, *, record: bool = True) -> tuple[date, date] | None:
    """The days whose reminders the pass on ``day`` owes, recorded once per day so that a second
    pass for the same day owes the same. None on a day off when only working days remind."""
    existing = db.session.scalar(select(ReminderPass).where(ReminderPass.day == day))
    if existing is not None:
        return existing.window_start, existing.window_end
    calendar = WorkingDays.around(day - timedelta(days=CATCH_UP_DAYS), day + timedelta(days=60))
    end = day
    if rule.working_days_only:
        if not calendar.is_working(day):
            return None
        # Reminders owed on the days off that follow go out today, before the break, not after.
        end = calendar.next_working(day) - timedelta(days=1)
    previous = db.session.scalar(select(func.max(ReminderPass.window_end)).where(ReminderPass.day < day))
    start = day if previous is None else previous + timedelta(days=1)
    start = max(start, day - timedelta(days=CATCH_UP_DAYS))
    end = max(end, start - timedelta(days=1))  # an empty window when earlier passes already covered it
    if not record:
        return start, end
    db.session.execute(insert_ignore(ReminderPass).values(day=day, window_start=start, window_end=end, started_at=now))
    row = db.session.scalar(select(ReminderPass).where(ReminderPass.day == day))
    return row.window_start, row.window_end


def run_pass(day: date, now: datetime, rule: ReminderRule, zone, *, dry_run: bool = False) -> PassResult:
    """Decide who must hear about what on ``day`` and write it to the outbox (flushes; the caller
    commits). With ``dry_run`` nothing is written: the result holds the digests that would be."""
    window = pass_window(day, rule, now, record=not dry_run)
    result = PassResult(day, window)
    if window is None or window[0] > window[1]:
        if weekly.due(day) and not dry_run:  # a Monday without reminders still sends the weekly views
            _write(weekly.digests(day, now, user_channels))
            db.session.flush()
        return result
    result.digests = planning.decide(day, window[0], window[1], rule, zone)
    if dry_run:
        return result
    window_of_events = _events_window(day, now)
    told = events.since(*window_of_events)
    went = events.sent_at_once(*window_of_events) if told else set()
    owed = {found.recipient.id: (found.recipient, found.to_json(), found.item_count) for found in result.digests}
    for user in db.session.scalars(select(User).where(User.active, User.id.in_(set(told) - set(owed)))):
        owed[user.id] = (user, {"recipient": user.display_name, "sections": []}, 0)
    rows = []
    for user_id in sorted(owed):
        user, payload, count = owed[user_id]
        for channel in user_channels(user):
            waiting = [note for note in told.get(user_id, ()) if channel is not Channel.inapp and (
                (user_id, channel, note.payload["key"]) not in went if "key" in note.payload
                else not at_once(user, channel, note.kind))]
            sections = payload["sections"] + ([events.digest_section(waiting)] if waiting else [])
            if not sections:
                continue
            subject = digest.subject(user.display_name, day, sections)
            rows.append({
                "recipient_id": user_id, "channel": channel, "day": day, "kind": MessageKind.digest, "key": "",
                "subject": subject[:200], "payload": payload | {"sections": sections},
                "item_count": count + len(waiting),
                "status": MessageStatus.pending, "attempts": 0, "next_attempt_at": now, "last_error": "",
                "created_at": now,
            })
    if weekly.due(day):  # 每周一: the views their owners asked for weekly
        rows += weekly.digests(day, now, user_channels)
    before = _count_for(day)
    _write(rows)
    after = _count_for(day)
    result.messages = after - before
    if result.messages:
        result.recipients = db.session.scalar(
            select(func.count(func.distinct(OutboxMessage.recipient_id)))
            .where(OutboxMessage.day == day, OutboxMessage.created_at == now)
        ) or 0
    db.session.execute(update(ReminderPass).where(ReminderPass.day == day).values(messages=after))
    db.session.flush()
    return result


def _write(rows: list[dict]) -> None:
    """Outbox rows, a batch at a time; one already there (its unique key) is left as it is."""
    for start in range(0, len(rows), INSERT_BATCH):
        db.session.execute(insert_ignore(OutboxMessage), rows[start:start + INSERT_BATCH])


def _events_window(day: date, now: datetime) -> tuple[datetime, datetime]:
    """The moments whose events the pass on ``day`` lists: from the start of the pass before it
    (a day earlier for the first one) to its own start, so each event is in one digest."""
    started = db.session.scalar(select(ReminderPass.started_at).where(ReminderPass.day == day)) or now
    previous = db.session.scalar(  # a pass that owed nothing listed no events either
        select(ReminderPass.started_at).where(ReminderPass.day < day, ReminderPass.window_start <= ReminderPass.window_end)
        .order_by(ReminderPass.day.desc()).limit(1))
    return previous or started - timedelta(days=1), started


def _count_for(day: date) -> int:
    return db.session.scalar(select(func.count(OutboxMessage.id)).where(OutboxMessage.day == day)) or 0


# Sending ---------------------------------------------------------------------------------------

def _claim(now: datetime, limit: int, channels: Collection[Channel]) -> tuple[str, list[OutboxMessage]]:
    """Take up to ``limit`` due messages of ``channels`` for this sender, committed, so no other
    sender takes them."""
    token = uuid.uuid4().hex
    due = (OutboxMessage.status == MessageStatus.pending, OutboxMessage.next_attempt_at <= now,
           OutboxMessage.channel.in_(sorted(channels, key=lambda c: c.value)),
           or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now))
    ids = select(OutboxMessage.id).where(*due).order_by(OutboxMessage.id).limit(limit)
    if db.session.get_bind().dialect.name == "postgresql":
        ids = ids.with_for_update(skip_locked=True)
    db.session.execute(
        update(OutboxMessage).where(OutboxMessage.id.in_(ids.scalar_subquery()), *due)
        .values(claim=token, claimed_until=now + LEASE).execution_options(synchronize_session=False)
    )
    db.session.commit()
    messages = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.claim == token)
        .options(joinedload(OutboxMessage.recipient).joinedload(User.unit)).order_by(OutboxMessage.id)
    ).all()
    return token, list(messages)


def _still_mine(message: OutboxMessage, token: str, now: datetime) -> bool:
    """Renew the lease on one message just before sending it; False if another sender took it."""
    renewed = db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message.id, OutboxMessage.claim == token,
               OutboxMessage.status == MessageStatus.pending)
        .values(claimed_until=now + LEASE).execution_options(synchronize_session=False)
    )
    db.session.commit()
    return renewed.rowcount == 1


def _record(message: OutboxMessage, outcome: Outcome, now: datetime) -> str:
    """Store one delivery's outcome on the message and in its attempt log. Returns the final
    outcome's name, for counting."""
    message.claim, message.claimed_until = None, None
    if outcome.status is AttemptOutcome.deferred:
        message.next_attempt_at = outcome.not_before
        return AttemptOutcome.deferred.value
    if outcome.status is not AttemptOutcome.skipped:
        message.attempts += 1
    status = outcome.status
    detail = outcome.detail
    if status in (AttemptOutcome.retry, AttemptOutcome.unknown):
        if message.attempts >= MAX_ATTEMPTS:
            status, detail = AttemptOutcome.failed, f"已尝试{message.attempts}次仍未成功：{detail}"
        else:
            wait = UNKNOWN_WAIT if status is AttemptOutcome.unknown else BACKOFF[message.attempts - 1]
            message.next_attempt_at = now + wait
    db.session.add(DeliveryAttempt(message=message, at=now, outcome=status, detail=detail, robot_id=outcome.robot_id))
    if status is AttemptOutcome.sent:
        message.status, message.sent_at, message.last_error = MessageStatus.sent, now, ""
    elif status is AttemptOutcome.failed:
        message.status, message.last_error = MessageStatus.failed, detail
    elif status is AttemptOutcome.skipped:
        message.status, message.last_error = MessageStatus.skipped, detail
    else:
        message.last_error = detail
    return status.value


def drain(config, *, clock: Callable[[], datetime] = utcnow, limit: int | None = None,
          channels: Collection[Channel] | None = None, seconds: float | None = None) -> DrainResult:
    """Send what the outbox holds and is due, committing each message's outcome as it goes.
    ``channels`` (default: all, the bell and the robots before email) and ``seconds`` (a deadline
    for the whole drain: what is left goes to the next one). Returns the counts of its outcomes."""
    if channels is None:
        started = time.monotonic()
        result = drain(config, clock=clock, limit=limit, channels=NOT_EMAIL, seconds=seconds)
        left = None if seconds is None else seconds - (time.monotonic() - started)
        if (limit is None or result.done < limit) and (left is None or left > 0):
            result.add(drain(config, clock=clock, limit=None if limit is None else limit - result.done, channels=EMAIL,
                             seconds=left))
        return result
    result = DrainResult()
    deliverer = Deliverer(config, clock())
    end = None if seconds is None else time.monotonic() + seconds
    try:
        while limit is None or result.done < limit:
            if end is not None and time.monotonic() > end:
                break
            now = clock()
            token, batch = _claim(now, CLAIM_BATCH if limit is None else min(CLAIM_BATCH, limit - result.done), channels)
            if not batch:
                break
            # First what needs no server (the bell, the skips), while the claim is fresh: one commit.
            remote = []
            for message in batch:
                now = clock()
                outcome = deliverer.settle_locally(message, now)
                if outcome is None:
                    remote.append(message)
                    continue
                status = _record(message, outcome, now)
                setattr(result, status, getattr(result, status) + 1)
            db.session.commit()
            # Then each network send, under a renewed claim, committed at once: a crash after
            # this commit never sends it again.
            for position, message in enumerate(remote):
                if end is not None and time.monotonic() > end:
                    _release(token, [m.id for m in remote[position:]])
                    break
                now = clock()
                if not _still_mine(message, token, now):
                    continue
                joined = _joined(message, token, now, deliverer)
                try:
                    outcome = deliverer.deliver(message, now, joined)
                except Exception as error:  # a bug in a channel must not stop the others
                    log.exception("delivering outbox message %s", message.id)
                    db.session.rollback()
                    outcome = Outcome(AttemptOutcome.retry, f"发送时出错：{type(error).__name__}")
                status = _record(message, outcome, now)
                for other in joined:  # the same post: the same outcome, one robot send counted
                    _record(other, replace(outcome, robot_id=None, detail=f"与第{message.id}号消息合并发送：{outcome.detail}"),
                            now)
                db.session.commit()
                setattr(result, status, getattr(result, status) + 1 + len(joined))
    finally:
        deliverer.close()
        db.session.rollback()
    return result


# A minute's events to the same group robot go as one post (the generic webhook gets each alone).
JOINED_KINDS = (MessageKind.event, MessageKind.urge)
GROUP_ROBOTS = (Channel.wecom, Channel.dingtalk, Channel.feishu)
JOINED_MAX = 10  # lines of one post: what a robot's markdown holds (3800 bytes) whole; the rest go next


def _joined(message: OutboxMessage, token: str, now: datetime, deliverer: Deliverer) -> list[OutboxMessage]:
    """The other pending event messages of ``message``'s minute bound for the same group robot,
    claimed for this sender (none already claimed by another)."""
    if message.kind not in JOINED_KINDS or message.channel not in GROUP_ROBOTS:
        return []
    robot = deliverer.robot_for(message.recipient, message.channel)
    minute = message.created_at.replace(second=0, microsecond=0)
    free = (OutboxMessage.status == MessageStatus.pending,
            or_(OutboxMessage.claim == token, OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now))
    candidates = db.session.scalars(
        select(OutboxMessage).where(
            OutboxMessage.id != message.id, OutboxMessage.channel == message.channel,
            OutboxMessage.kind.in_(JOINED_KINDS), OutboxMessage.created_at >= minute,
            OutboxMessage.created_at < minute + timedelta(minutes=1), *free)
        .options(joinedload(OutboxMessage.recipient).joinedload(User.unit)).order_by(OutboxMessage.id).limit(CLAIM_BATCH)
    ).all()
    ids = [other.id for other in candidates if deliverer.robot_for(other.recipient, other.channel) is robot]
    ids = ids[:JOINED_MAX - 1]
    if not ids:
        return []
    db.session.execute(
        update(OutboxMessage).where(OutboxMessage.id.in_(ids), *free)
        .values(claim=token, claimed_until=now + LEASE).execution_options(synchronize_session=False))
    db.session.commit()
    return list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(ids), OutboxMessage.claim == token,
                                                               OutboxMessage.status == MessageStatus.pending)
                                   .order_by(OutboxMessage.id)))


def _release(token: str, ids: list[int]) -> None:
    """Give back claimed messages this drain has no time left for: the next drain takes them."""
    db.session.execute(
        update(OutboxMessage).where(OutboxMessage.id.in_(ids), OutboxMessage.claim == token)
        .values(claim=None, claimed_until=None).execution_options(synchronize_session=False)
    )
    db.session.commit()


def pending_count(day: date | None = None) -> int:
    query = select(func.count(OutboxMessage.id)).where(OutboxMessage.status == MessageStatus.pending)
    if day is not None:
        query = query.where(OutboxMessage.day == day)
    return db.session.scalar(query) or 0


PRUNE_BATCH = 5000


def prune(now: datetime, keep_days: int) -> dict:
    """Forget notifications, and messages done with (sent, failed, not sent), older than
    ``keep_days``, with their delivery attempts; pending messages stay. In batches; flushes."""
    cutoff = now - timedelta(days=keep_days)
    removed = {"notifications": 0, "outbox_messages": 0}
    while True:
        ids = list(db.session.scalars(select(Notification.id).where(Notification.created_at < cutoff).limit(PRUNE_BATCH)))
        if not ids:
            break
        removed["notifications"] += db.session.execute(delete(Notification).where(Notification.id.in_(ids))).rowcount
    done = (MessageStatus.sent, MessageStatus.failed, MessageStatus.skipped)
    while True:
        ids = list(db.session.scalars(select(OutboxMessage.id).where(
            OutboxMessage.created_at < cutoff, OutboxMessage.status.in_(done)).limit(PRUNE_BATCH)))
        if not ids:
            break
        db.session.execute(update(Notification).where(Notification.message_id.in_(ids)).values(message_id=None))
        db.session.execute(delete(DeliveryAttempt).where(DeliveryAttempt.message_id.in_(ids)))
        removed["outbox_messages"] += db.session.execute(delete(OutboxMessage).where(OutboxMessage.id.in_(ids))).rowcount
    db.session.flush()
    return removed
