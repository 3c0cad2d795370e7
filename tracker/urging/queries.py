"""The items a supervisor should press now: their suggested level is above their last notice."""

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from tracker.extensions import db
from tracker.items.models import Item, UrgeLevel
from tracker.org import permissions
from tracker.org.models import Unit
from tracker.urging import services
from tracker.urging.models import Urge

SHOWN = 20  # on the dashboard; the count says how many more


@dataclass
class DueItem:
    item: Item
    suggested: UrgeLevel


@dataclass
class Due:
    items: list[DueItem]
    total: int


def due_for_urging(unit: Unit, today: date) -> Due:
    """Items of ``unit``'s subtree to press, most overdue first: two statements, and one for the
    yellow notices of the items shown."""
    rule = services.current_rule()
    condition = (Item.unit_id.in_(permissions.units_below(unit)), services.suggested_clause(rule, today))
    total = db.session.scalar(select(func.count(Item.id)).where(*condition)) or 0
    items = list(db.session.scalars(
        select(Item).where(*condition).options(joinedload(Item.unit), joinedload(Item.owner))
        .order_by(Item.deadline.asc().nulls_last(), Item.id).limit(SHOWN)
    ))
    yellows = dict(db.session.execute(
        select(Urge.item_id, func.count(Urge.id))
        .where(Urge.item_id.in_([item.id for item in items]), Urge.level == UrgeLevel.yellow)
        .group_by(Urge.item_id)
    ).all())
    return Due([DueItem(item, services.suggested_level(item, yellows.get(item.id, 0), today, rule)) for item in items],
               total)
