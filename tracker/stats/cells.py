"""The materialised roll-up behind today's figures: one row per unit, year and primary category
with its figures as of today and its twelve months (new, closed, overdue at each month's end),
rebuilt from ``item_states`` by the scheduler every ``STATS_REFRESH_MINUTES`` (default 1) and by
``refresh-stats``. A province's dashboard then sums a few thousand small rows instead of grouping
every item; a page more than ``STATS_MAX_AGE_MINUTES`` (default 10) behind, or asking another
day, is computed from ``item_states`` directly (``rollup.live_figures``).
"""

import time
from datetime import date, datetime, timedelta

from sqlalchemy import (
    Column,
    Connection,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    Table,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.orm import Mapped, mapped_column

from tracker.extensions import db
from tracker.items.models import ItemState
from tracker.items.states import as_of
from tracker.types import UTCDateTime

MONTHS = 12
FIGURE_NAMES = ("items", "open", "in_progress", "pending_review", "closed", "overdue", "red", "yellow", "green",
                "closed_on_time")
CREATED = tuple(f"created_{i}" for i in range(MONTHS))  # 0: the oldest of the twelve months
CLOSED = tuple(f"closed_{i}" for i in range(MONTHS))
OVERDUE = tuple(f"overdue_{i}" for i in range(MONTHS))

cells = Table(
    "rollup_cells", db.metadata,
    Column("id", Integer, primary_key=True),
    Column("unit_id", ForeignKey("units.id"), nullable=False),
    Column("year", Integer, nullable=False),
    Column("category_id", ForeignKey("categories.id"), nullable=True),
    *[Column(name, Integer, nullable=False, default=0, server_default="0")
      for name in (*FIGURE_NAMES, *CREATED, *CLOSED, *OVERDUE)],
    Index("ix_rollup_cells_unit_id_year", "unit_id", "year"),
)


class RollupRun(db.Model):
    """When the roll-up was last rebuilt, and for which day (one row, id 1)."""

    __tablename__ = "rollup_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    refreshed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    cells: Mapped[int] = mapped_column(Integer, default=0)
    seconds: Mapped[float] = mapped_column(Float, default=0.0)


def refresh(connection: Connection, today: date, now: datetime) -> dict:
    """Rebuild every cell from ``item_states`` as of ``today``, in the caller's transaction, in
    the database itself (INSERT … SELECT, UPDATE … FROM): four statements whatever the size."""
    from tracker.stats import rollup  # the figures' definitions (rollup imports this module)

    started = time.perf_counter()
    starts, ends = rollup.month_bounds(today)
    key = (ItemState.unit_id, ItemState.year, ItemState.category_id)
    keys = ("unit_id", "year", "category_id")
    connection.execute(delete(cells))
    connection.execute(insert(cells).from_select(
        [*keys, *FIGURE_NAMES, *_interleaved()],
        select(*key, *rollup.figure_columns(today), *rollup.month_columns(starts, ends))
        .where(as_of(today, today)).group_by(*key)))
    # Overdue at past month ends, also for a year or category an item no longer has (carried over).
    overdue = (select(*key, *[column.label(name) for column, name in zip(rollup.overdue_columns(ends), OVERDUE, strict=True)])
               .where(*rollup.overdue_window(ends)).group_by(*key).subquery())
    same = [cells.c.unit_id == overdue.c.unit_id, cells.c.year == overdue.c.year,
            cells.c.category_id.is_not_distinct_from(overdue.c.category_id)]
    connection.execute(insert(cells).from_select(
        list(keys), select(overdue.c.unit_id, overdue.c.year, overdue.c.category_id)
        .where(~select(cells.c.id).where(*same).exists())))
    connection.execute(update(cells).where(*same).values({name: overdue.c[name] for name in OVERDUE}))
    count = connection.scalar(select(func.count()).select_from(cells))
    seconds = round(time.perf_counter() - started, 3)
    connection.execute(delete(RollupRun.__table__))
    connection.execute(insert(RollupRun.__table__).values(id=1, day=today, refreshed_at=now, cells=count,
                                                          seconds=seconds))
    return {"day": today.isoformat(), "cells": count, "seconds": seconds}


def _interleaved() -> list[str]:
    """The month columns in the order rollup.month_columns gives them: created, closed, per month."""
    return [name for i in range(MONTHS) for name in (CREATED[i], CLOSED[i])]


def fresh_run(today: date, now: datetime, max_age: timedelta) -> RollupRun | None:
    """The last rebuild, if it was for ``today`` and is recent enough to show."""
    run = db.session.get(RollupRun, 1)
    if run is None or run.day != today or now - run.refreshed_at > max_age:
        return None
    return run


def read(unit_ids: list[int], year: int | None, category_id: int | None):
    """Sums of the cells of those units: by unit (figures and months) and by primary category
    (figures): two statements over at most units × years × categories small rows."""
    conditions = [cells.c.unit_id.in_(unit_ids)]
    if year is not None:
        conditions.append(cells.c.year == year)
    if category_id is not None:
        conditions.append(cells.c.category_id == category_id)
    month_names = (*CREATED, *CLOSED, *OVERDUE)
    by_unit = db.session.execute(
        select(cells.c.unit_id, *[func.sum(cells.c[name]) for name in (*FIGURE_NAMES, *month_names)])
        .where(*conditions).group_by(cells.c.unit_id)
    ).all()
    by_category = db.session.execute(
        select(cells.c.category_id, *[func.sum(cells.c[name]) for name in FIGURE_NAMES])
        .where(*conditions).group_by(cells.c.category_id)
    ).all()
    return by_unit, by_category
