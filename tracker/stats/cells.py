"""The materialised roll-up behind today's figures: one row per unit, year and primary category
with its figures as of today and its twelve months (new, closed, overdue at each month's end),
rebuilt from ``item_states`` by the scheduler every ``STATS_REFRESH_MINUTES`` (default 1) and by
``refresh-stats``. A province's dashboard then sums a few thousand small rows instead of grouping
every item; a page more than ``STATS_MAX_AGE_MINUTES`` (default 10) behind, or asking another
day, is computed from ``item_states`` directly (``rollup.live_figures``).
"""

import time
from datetime import date, datetime, timedelta

from sqlalchemy import Column, Connection, Date, Float, ForeignKey, Index, Integer, Table, delete, func, insert, select
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
BATCH = 5000

cells = Table(
    "rollup_cells", db.metadata,
    Column("id", Integer, primary_key=True),
    Column("unit_id", ForeignKey("units.id"), nullable=False),
    Column("year", Integer, nullable=False),
    Column("category_id", ForeignKey("categories.id"), nullable=True),
    *[Column(name, Integer, nullable=False, default=0) for name in (*FIGURE_NAMES, *CREATED, *CLOSED, *OVERDUE)],
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
    """Rebuild every cell from ``item_states`` as of ``today``, in the caller's transaction."""
    from tracker.stats import rollup  # the figures' definitions (rollup imports this module)

    started = time.perf_counter()
    starts, ends = rollup.month_bounds(today)
    key = (ItemState.unit_id, ItemState.year, ItemState.category_id)
    found: dict[tuple, dict] = {}
    for unit_id, year, category_id, *values in connection.execute(
        select(*key, *rollup.figure_columns(today), *rollup.month_columns(starts, ends))
        .where(as_of(today, today)).group_by(*key)
    ):
        row = found.setdefault((unit_id, year, category_id), _blank(unit_id, year, category_id))
        for name, value in zip((*FIGURE_NAMES, *_interleaved()), values, strict=True):
            row[name] = value
    for unit_id, year, category_id, *values in connection.execute(
        select(*key, *rollup.overdue_columns(ends)).where(*rollup.overdue_window(ends)).group_by(*key)
    ):
        row = found.setdefault((unit_id, year, category_id), _blank(unit_id, year, category_id))
        row.update(zip(OVERDUE, values, strict=True))
    connection.execute(delete(cells))
    rows = list(found.values())
    for start in range(0, len(rows), BATCH):
        connection.execute(insert(cells), rows[start:start + BATCH])
    seconds = round(time.perf_counter() - started, 3)
    connection.execute(delete(RollupRun.__table__))
    connection.execute(insert(RollupRun.__table__).values(id=1, day=today, refreshed_at=now, cells=len(rows),
                                                          seconds=seconds))
    return {"day": today.isoformat(), "cells": len(rows), "seconds": seconds}


def _interleaved() -> list[str]:
    """The month columns in the order rollup.month_columns gives them: created, closed, per month."""
    return [name for i in range(MONTHS) for name in (CREATED[i], CLOSED[i])]


def _blank(unit_id: int, year: int, category_id: int | None) -> dict:
    return {"unit_id": unit_id, "year": year, "category_id": category_id,
            **dict.fromkeys((*FIGURE_NAMES, *CREATED, *CLOSED, *OVERDUE), 0)}


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
