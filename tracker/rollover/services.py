"""Year-end rollover: every item of year Y (or before) that is not closed joins year Y+1's report.

The item keeps its identity (id, history, owner, evidence, deadline — an overdue deadline stays
overdue); its ``year`` and ``report`` move on, ``carried_over_from_year`` says from where and
``carry_count`` counts the years it has moved. A ``CarryOver`` row remembers the report it left,
so that report still lists it. Running a rollover twice changes nothing: the second run finds
nothing of year Y or before left open, and each move is guarded by ``year <= Y AND not closed``
in the UPDATE itself, so two runs at once move each item once.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import insert, select, update

from tracker import clock
from tracker.errors import Forbidden, Invalid
from tracker.extensions import db, insert_ignore
from tracker.items import states
from tracker.items.models import CarryOver, EventAction, Item, ItemEvent, Report, Status, live
from tracker.items.services import EARLIEST_YEAR, LATEST_YEAR
from tracker.org import permissions
from tracker.org.models import Unit, User
from tracker.rollover.models import RolloverRun, RolloverSource

BATCH = 500


@dataclass
class RolloverResult:
    year: int
    carried: int = 0
    reports: int = 0  # next year's reports that received items
    created_reports: int = 0  # of which drafts created by this run

    def to_json(self) -> dict:
        return {"year": self.year, "carried": self.carried, "reports": self.reports,
                "created_reports": self.created_reports}


def check_rollover_year(year: int, today: date) -> int:
    """A year that is over: rolling the current year over would move this year's open work away."""
    if not EARLIEST_YEAR <= year < LATEST_YEAR:
        raise Invalid(f"结转年度应在{EARLIEST_YEAR}至{LATEST_YEAR - 1}之间。", field="year")
    if year >= today.year:
        raise Invalid(f"{year}年度尚未结束，只能结转{clock.year_just_ended(today)}年度及以前的事项。", field="year")
    return year


def draft_title(unit: Unit, year: int) -> str:
    return f"{unit.name}{year}年度整改事项（含上年度遗留问题）"


def carry_over_year(
    year: int, *, today: date, now: datetime, actor: User | None = None, unit: Unit | None = None,
    source: RolloverSource = RolloverSource.cli,
) -> RolloverResult:
    """Carry every item of ``year`` that is not closed into ``year + 1``.

    Items of earlier years that are not closed come along too: one reopened after its year's
    rollover, or left behind when a year was not rolled over. Their ``carry_count`` grows by the
    years they move, so ``year - carry_count`` stays the year whose report first listed them.
    ``unit`` limits the run to that unit and the units below it; ``actor`` (None: the system)
    must supervise it. For each unit with such items, year + 1's report is found or created as a
    draft. Flushes; the caller commits.
    """
    check_rollover_year(year, today)
    if actor is not None and not permissions.can_roll_over(actor, unit):
        raise Forbidden("您只能结转督办范围内单位的事项。" if unit else "只有系统管理员可以结转全部单位。")
    query = select(Item.id, Item.unit_id, Item.report_id, Item.year).where(
        Item.year <= year, Item.status != Status.closed, live())
    if unit is not None:
        query = query.where(Item.unit_id.in_(permissions.units_below(unit)))
    by_unit: dict[int, list[tuple[int, tuple[int | None, int]]]] = defaultdict(list)
    for item_id, unit_id, report_id, item_year in db.session.execute(query.order_by(Item.unit_id, Item.id)):
        by_unit[unit_id].append((item_id, (report_id, item_year)))

    result = RolloverResult(year)
    if not by_unit:
        return result
    run = RolloverRun(year=year, unit_id=unit.id if unit else None, actor_id=actor.id if actor else None,
                      source=source, at=now)
    db.session.add(run)
    db.session.flush()
    targets, created = _next_reports(list(by_unit), year + 1, now)
    receiving = set()
    for unit_id, rows in by_unit.items():
        target = targets[unit_id]
        for start in range(0, len(rows), BATCH):
            batch = dict(rows[start:start + BATCH])
            moved = _move(list(batch), year, target, now)
            states.snapshot_items(db.session.connection(), moved, today, clock.local_zone())
            if not moved:
                continue
            receiving.add(target)
            db.session.execute(insert(CarryOver), [
                {"item_id": item_id, "from_year": batch[item_id][1], "from_report_id": batch[item_id][0],
                 "to_report_id": target, "run_id": run.id, "carried_at": now} for item_id in moved
            ])
            db.session.execute(insert(ItemEvent), [
                {"item_id": item_id, "actor_id": actor.id if actor else None, "action": EventAction.carry_over, "at": now,
                 "comment": "", "details": {"from_year": batch[item_id][1], "to_year": year + 1, "report_id": target}}
                for item_id in moved
            ])
            result.carried += len(moved)
    result.reports = len(receiving)
    result.created_reports = len(created & receiving)
    if result.carried:
        run.carried, run.reports, run.created_reports = result.carried, result.reports, result.created_reports
    else:  # another run moved them meanwhile: this one leaves no trace
        db.session.delete(run)
    db.session.flush()
    return result


def _move(ids: list[int], year: int, report_id: int, now: datetime) -> list[int]:
    """Move the items still of ``year`` or before and not closed; the ids actually moved.
    (On the right of SET, ``Item.year`` is the value before the update, on both engines.)"""
    statement = (
        update(Item)
        .where(Item.id.in_(ids), Item.year <= year, Item.status != Status.closed)
        .values(year=year + 1, report_id=report_id, carried_over_from_year=Item.year,
                carry_count=Item.carry_count + (year + 1 - Item.year), version=Item.version + 1, updated_at=now)
        .returning(Item.id)
        .execution_options(synchronize_session=False)
    )
    return list(db.session.scalars(statement))


def _next_reports(unit_ids: list[int], year: int, now: datetime) -> tuple[dict[int, int], set[int]]:
    """Each unit's report for ``year``: its first imported one, else its draft, created if missing
    (at most one draft per unit and year: the unique index makes a racing second insert a no-op)."""
    def existing() -> dict[int, int]:
        found: dict[int, int] = {}
        for report_id, unit_id in db.session.execute(
            select(Report.id, Report.unit_id)
            .where(Report.unit_id.in_(unit_ids), Report.year == year, Report.withdrawn_at.is_(None))
            .order_by(Report.is_draft, Report.id)
        ):
            found.setdefault(unit_id, report_id)
        return found

    found = existing()
    missing = [unit_id for unit_id in unit_ids if unit_id not in found]
    if not missing:
        return found, set()
    units = db.session.scalars(select(Unit).where(Unit.id.in_(missing)).order_by(Unit.id))  # one lock order
    db.session.execute(insert_ignore(Report), [
        {"unit_id": u.id, "year": year, "title": draft_title(u, year), "is_draft": True, "created_at": now}
        for u in units
    ])
    found = existing()
    return found, {found[unit_id] for unit_id in missing}



def last_full_run(year: int) -> RolloverRun | None:
    """The latest rollover of ``year`` over all units (by the scheduler or the CLI)."""
    return db.session.scalar(
        select(RolloverRun).where(RolloverRun.year == year, RolloverRun.unit_id.is_(None))
        .order_by(RolloverRun.id.desc()).limit(1)
    )


def year_end_due(today: date) -> int | None:
    """The year the scheduler should roll over on ``today``: last year, during January, if no
    rollover of it over all units has carried anything yet (the server may have been down on
    1 January). A run that finds nothing to carry leaves no record, so it may run again: harmless."""
    year = clock.year_just_ended(today)
    if today.month != 1 or last_full_run(year) is not None:
        return None
    return year
