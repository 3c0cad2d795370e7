"""Keeping ``item_states``: what each item was on every day, so that any day's figures are one
condition away (:func:`as_of`), in the past as today, without replaying the history at each look.

Every flush that creates an item or changes its status, deadline, year, unit or close record
writes the item's new state from that day on, in the same transaction (:func:`_track`); a move to
another unit or a new primary category relabels all its days (figures follow today's tree and
classification); bulk
updates by SQL call :func:`snapshot` themselves (the year-end rollover). :func:`rebuild` makes the
table again from the items and their history: the migration that created it, ``refresh-stats``
after a restore or a bulk load by SQL, and the benchmarks' seeding.
"""

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime
from itertools import chain
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, and_, delete, event, insert, inspect, or_, select, update
from sqlalchemy.orm import Session

from tracker.items.models import EventAction, Item, ItemCategory, ItemEvent, ItemState, Status, live

TRACKED = ("status", "deadline", "year", "unit_id", "closed_on", "closed_deadline")
STATES = ItemState.__table__
BATCH = 2000


def as_of(day: date, today: date | None = None):
    """SQL condition on ``ItemState``: the row that says what its item was at the end of ``day``
    (an item created after ``day`` has none). From ``today`` on, that is the current row
    (``valid_to`` IS NULL: no state ends after the day it was replaced), which an index finds."""
    if today is not None and day >= today:
        return and_(ItemState.valid_to.is_(None), ItemState.valid_from <= day)
    return and_(ItemState.valid_from <= day, or_(ItemState.valid_to.is_(None), ItemState.valid_to > day))


def _row(item_id: int, unit_id: int, year: int, status, deadline, closed_on, closed_deadline, category_id,
         created_on) -> dict:
    return {"item_id": item_id, "unit_id": unit_id, "year": year, "status": Status(status), "deadline": deadline,
            "closed_on": closed_on, "closed_deadline": closed_deadline, "category_id": category_id,
            "created_on": created_on}


def snapshot(connection: Connection, rows: list[dict], day: date) -> None:
    """Record each row (``_row``'s keys) as its item's state from ``day`` on: a state begun the
    same day (or later, when clocks disagree) is replaced, the one before it ends on ``day``."""
    if not rows:
        return
    ids = [row["item_id"] for row in rows]
    for start in range(0, len(ids), BATCH):
        chunk = ids[start:start + BATCH]
        connection.execute(delete(STATES).where(STATES.c.item_id.in_(chunk), STATES.c.valid_from >= day))
        connection.execute(
            update(STATES)
            .where(STATES.c.item_id.in_(chunk), or_(STATES.c.valid_to.is_(None), STATES.c.valid_to > day))
            .values(valid_to=day)
        )
    connection.execute(insert(STATES), [{**row, "valid_from": day, "valid_to": None} for row in rows])


def snapshot_items(connection: Connection, ids: list[int], day: date, zone: ZoneInfo) -> None:
    """:func:`snapshot` of items as they are in the database now (after an UPDATE by SQL)."""
    for start in range(0, len(ids), BATCH):
        found = connection.execute(_current(ids[start:start + BATCH])).all()
        snapshot(connection, [_row(*values[:8], _local_day(values[8], zone)) for values in found], day)


def _current(ids: list[int]):
    primary = (select(ItemCategory.category_id).where(ItemCategory.item_id == Item.id)
               .order_by(ItemCategory.position).limit(1).scalar_subquery())
    return select(Item.id, Item.unit_id, Item.year, Item.status, Item.deadline, Item.closed_on,
                  Item.closed_deadline, primary, Item.created_at).where(Item.id.in_(ids)).order_by(Item.id)


def forget(connection: Connection, ids: list[int]) -> int:
    """Withdrawn items are in no figure, of any day. Returns how many states went."""
    return sum(connection.execute(delete(STATES).where(STATES.c.item_id.in_(ids[start:start + BATCH]))).rowcount
               for start in range(0, len(ids), BATCH))


def _primary_category(item: Item) -> int | None:
    links = item.category_links
    return links[0].category_id if links else None


def _local_day(moment: datetime | None, zone: ZoneInfo) -> date:
    moment = moment or datetime.now(UTC)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(zone).date()


@event.listens_for(Session, "after_flush")
def _track(session: Session, _context) -> None:
    """After each flush, in its transaction: the new state of every item created or changed in it."""
    changed = [
        obj for obj in chain(session.new, session.dirty)
        if isinstance(obj, Item) and (obj in session.new or _changed(obj, (*TRACKED, "category_links")))
    ]
    if not changed:
        return
    from tracker import clock  # the configured zone; flushes run inside the app

    zone = clock.local_zone()
    connection = session.connection()
    by_day: dict[date, list[dict]] = defaultdict(list)
    recorded: dict[int, datetime] = {}
    for obj in session.new:
        if isinstance(obj, ItemEvent) and obj.item is not None and obj.at is not None:
            recorded[id(obj.item)] = max(recorded.get(id(obj.item), obj.at), obj.at)
    for item in changed:
        if item not in session.new:  # its unit and primary category label every day of it: figures follow today's
            attrs = inspect(item).attrs
            if attrs.unit_id.history.has_changes():
                connection.execute(update(STATES).where(STATES.c.item_id == item.id).values(unit_id=item.unit_id))
            if attrs.category_links.history.has_changes():
                connection.execute(update(STATES).where(STATES.c.item_id == item.id)
                                   .values(category_id=_primary_category(item)))
            if not _changed(item, TRACKED):
                continue
        # The moment of the change: that of the history row recorded with it (every change has
        # one), else the item's own. (updated_at is not it: set to the value it already has, the
        # column's onupdate writes the clock's time instead.)
        moment = recorded.get(id(item)) or (item.created_at if item in session.new else item.updated_at)
        by_day[_local_day(moment, zone)].append(_row(
            item.id, item.unit_id, item.year, item.status or Status.open, item.deadline, item.closed_on,
            item.closed_deadline, _primary_category(item), _local_day(item.created_at, zone),
        ))
    for day, rows in by_day.items():
        snapshot(connection, rows, day)


def _changed(item: Item, names) -> bool:
    attrs = inspect(item).attrs
    return any(getattr(attrs, name).history.has_changes() for name in names)


# What the history says each action changed: the workflow's status moves carry "from"/"to".
_STATUS_ACTIONS = frozenset({EventAction.start, EventAction.submit, EventAction.approve, EventAction.return_,
                             EventAction.reopen, EventAction.withdraw})
_HISTORY_ACTIONS = _STATUS_ACTIONS | {EventAction.edit, EventAction.approve_extension, EventAction.carry_over}


def rebuild(connection: Connection, zone: ZoneInfo, ids: Iterable[int] | None = None, *,
            leave_out_withdrawn: bool = True) -> dict:
    """Write ``item_states`` again for the items ``ids`` (None: every item) from their history,
    in batches: the state before each change is read back from what the change recorded, and the
    last state is the item as it is now; items withdrawn with their report get none (the
    migration that first fills the table, before withdrawal existed, says False). Returns
    ``{"items", "states"}``."""
    items = states = 0
    last = 0
    wanted = None if ids is None else sorted(set(ids))
    while True:
        if wanted is None:
            batch_ids = list(connection.scalars(
                select(Item.id).where(Item.id > last).order_by(Item.id).limit(BATCH)))
        else:
            batch_ids, wanted = wanted[:BATCH], wanted[BATCH:]
        if not batch_ids:
            break
        last = batch_ids[-1]
        history = defaultdict(list)
        for item_id, at, action, details in connection.execute(
            select(ItemEvent.item_id, ItemEvent.at, ItemEvent.action, ItemEvent.details)
            .where(ItemEvent.item_id.in_(batch_ids), ItemEvent.action.in_(_HISTORY_ACTIONS))
            .order_by(ItemEvent.item_id, ItemEvent.at, ItemEvent.id)
        ):
            history[item_id].append((_local_day(at, zone), EventAction(action), details or {}))
        rows = []
        for values in connection.execute(_current(batch_ids)):
            spans = _spans(_row(*values[:8], _local_day(values[8], zone)), history[values[0]])
            rows.extend(spans)
        connection.execute(delete(STATES).where(STATES.c.item_id.in_(batch_ids)))
        if rows:
            connection.execute(insert(STATES), rows)
        items += len(batch_ids)
        states += len(rows)
    if leave_out_withdrawn:
        states -= forget(connection, list(connection.scalars(select(Item.id).where(~live()))))
    return {"items": items, "states": states}


def _spans(now: dict, events: list[tuple[date, EventAction, dict]]) -> list[dict]:
    """The rows of one item: ``now`` is its state today, ``events`` its history, oldest first."""
    first = dict(now, status=Status.open, closed_on=None, closed_deadline=None)
    for _day, action, details in events:  # the first recorded change of each field says what it was before
        if action in _STATUS_ACTIONS and "from" in details:
            first["status"] = Status(details["from"])
            break
    else:
        first["status"] = now["status"]
        first["closed_on"], first["closed_deadline"] = now["closed_on"], now["closed_deadline"]
    for _day, action, details in events:
        change = _deadline_change(action, details)
        if change is not None:
            first["deadline"] = change[0]
            break
    for _day, action, details in events:
        if action is EventAction.carry_over and "from_year" in details:
            first["year"] = int(details["from_year"])
            break

    created = now["created_on"]
    state, days = dict(first), {created: dict(first)}
    for day, action, details in events:
        day = max(day, created)
        if action in _STATUS_ACTIONS and "to" in details:
            state["status"] = Status(details["to"])
            if state["status"] is Status.closed:
                state["closed_on"], state["closed_deadline"] = day, state["deadline"]
            else:
                state["closed_on"] = state["closed_deadline"] = None
        change = _deadline_change(action, details)
        if change is not None:
            state["deadline"] = change[1]
        if action is EventAction.carry_over and "to_year" in details:
            state["year"] = int(details["to_year"])
        days[day] = dict(state)  # the state at the end of the day
    last_day = max(days)
    days[last_day] = dict(now)  # what the item is now wins over what the history says

    rows: list[dict] = []
    for day in sorted(days):
        if rows and all(rows[-1][key] == days[day][key] for key in TRACKED):
            continue
        if rows:
            rows[-1]["valid_to"] = day
        rows.append({**days[day], "valid_from": day, "valid_to": None})
    return rows


def _deadline_change(action: EventAction, details: dict) -> tuple[date | None, date | None] | None:
    """(old, new) deadline of a change that moved it, as its history row recorded; else None."""
    if action is EventAction.approve_extension and "new_deadline" in details:
        return _date(details.get("old_deadline")), _date(details["new_deadline"])
    if action is EventAction.edit and isinstance(details.get("deadline"), dict):
        return _date(details["deadline"].get("old")), _date(details["deadline"].get("new"))
    return None


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None
