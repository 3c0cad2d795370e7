"""The items a supervisor should press now: their suggested level is above their last notice."""

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from tracker.extensions import db
from tracker.items.models import Item, UrgeLevel
from tracker.urging import services

SHOWN = 20  # on the dashboard; the count says how many more
COUNTED = 1000


@dataclass
class DueItem:
    item: Item
    suggested: UrgeLevel


@dataclass
class Due:
    items: list[DueItem]
    total: int  # up to COUNTED + 1

    @property
    def total_label(self) -> str:
        return f"{COUNTED}+" if self.total > COUNTED else str(self.total)


def due_for_urging(unit_ids: list[int], today: date) -> Due:
    """Items of those units to press, most overdue first: two statements (the count stops at
    COUNTED, shown as "COUNTED+")."""
    rule = services.current_rule()
    condition = (Item.unit_id.in_(unit_ids), services.suggested_clause(rule, today))
    total = db.session.scalar(select(func.count()).select_from(
        select(Item.id).where(*condition).limit(COUNTED + 1).subquery())) or 0
    # The page's ids first, then their rows with unit and owner: a join before the LIMIT would sort
    # every due row with its unit and owner attached.
    shown = select(Item.id).where(*condition).order_by(Item.deadline.asc().nulls_last(), Item.id).limit(SHOWN)
    items = list(db.session.scalars(
        select(Item).where(Item.id.in_(shown)).options(joinedload(Item.unit), joinedload(Item.owner))
        .order_by(Item.deadline.asc().nulls_last(), Item.id)
    ))
    return Due([DueItem(item, services.suggested_level(item, today, rule)) for item in items], total)
