"""A unit's report for a year, as the report page and the report section read it: the problems
it found and those carried into it, including those it has since carried on to the next year."""

from dataclasses import dataclass, field

from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload, selectinload

from tracker.errors import NotFound
from tracker.extensions import db
from tracker.items import permissions
from tracker.items.models import CarryOver, EventAction, Item, ItemEvent, Report, Status, live
from tracker.org import permissions as org_permissions
from tracker.org.models import Unit, User
from tracker.org.permissions import in_ids
from tracker.pagination import Page, paginate
from tracker.rollover.models import RolloverRun

ROW_LIMIT = 2000  # a report lists tens of problems; this bounds a page whatever happens


@dataclass
class ReportYear:
    unit: Unit
    year: int
    reports: list[Report]
    found: list[Item] = field(default_factory=list)  # problems this year's report found
    carried_in: list[Item] = field(default_factory=list)  # 上年度遗留: carried in from earlier years

    @property
    def items(self) -> list[Item]:
        return self.found + self.carried_in

    @property
    def is_draft(self) -> bool:
        return all(report.is_draft for report in self.reports)

    def carried_on(self, item: Item) -> bool:
        """Whether ``item`` was not closed this year and went on to the next year's report."""
        return item.year > self.year

    def counts(self) -> dict:
        by_status = {status: 0 for status in Status}
        for item in self.items:
            by_status[item.status] += 1
        return {"by_status": by_status, "total": len(self.items),
                "carried_on": sum(1 for item in self.items if self.carried_on(item))}


def report_year(unit: Unit, year: int, user: User | None) -> ReportYear:
    """``unit``'s report(s) for ``year`` with their items; NotFound when there is none or ``user``
    (None: the system) may not see the unit. A fixed number of statements, whatever the rows."""
    if user is not None and not org_permissions.can_view_unit(user, unit):
        raise NotFound("报告不存在，或您无权查看。")
    reports = list(db.session.scalars(
        select(Report).where(Report.unit_id == unit.id, Report.year == year, Report.withdrawn_at.is_(None))
        .order_by(Report.is_draft, Report.id)
    ))
    if not reports:
        raise NotFound(f"{unit.name}没有{year}年度的报告。")
    query = (
        select(Item)
        .where(_in_reports([report.id for report in reports]), live())
        .options(joinedload(Item.owner), joinedload(Item.unit), selectinload(Item.category_links), selectinload(Item.co_units))
        .order_by(Item.id)
        .limit(ROW_LIMIT)
    )
    if user is not None:
        query = query.where(permissions.visible_items_clause(user))
    result = ReportYear(unit, year, reports)
    for item in db.session.scalars(query):
        (result.carried_in if item.origin_year < year else result.found).append(item)
    return result


def _in_reports(report_ids: list[int], moved_on: list[int] | None = None):
    """SQL condition on ``Item``: the items of these reports, those they hold and those they have
    carried on to a later year (whose ``report_id`` is now the later report; ``moved_on``, when the
    caller has read them)."""
    # The moved ones as numbers (one indexed read of carry_overs): with a subquery beside the OR,
    # PostgreSQL walked the whole primary key for a 30-item report (issue 17).
    if moved_on is None:
        moved_on = list(db.session.scalars(select(CarryOver.item_id).where(CarryOver.from_report_id.in_(report_ids))))
    held = Item.report_id.in_(report_ids)
    return or_(held, in_ids(Item.id, moved_on)) if moved_on else held


@dataclass
class Listed:
    """Some of a report's items (a page of them), and how many it has in all."""

    items: list[Item]
    total: int


def report_items(report_ids: list[int], user: User, *, per_report: int | None = None, offset: int = 0) -> dict[int, Listed]:
    """Each report's items as its page lists them (held and carried on), visible to ``user``, by
    id: ``per_report`` of them from ``offset`` (None: all), with the whole count. The ids are read
    first and cut, then only the rows shown are loaded: four statements whatever the reports hold."""
    if not report_ids:
        return {}
    carried = db.session.execute(
        select(CarryOver.from_report_id, CarryOver.item_id).where(CarryOver.from_report_id.in_(report_ids))
    ).all()
    held = db.session.execute(
        select(Item.id, Item.report_id).where(_in_reports(report_ids, [item_id for _, item_id in carried]),
                                              permissions.visible_items_clause(user))
    ).all()
    ids: dict[int, set[int]] = {report_id: set() for report_id in report_ids}
    visible = {item_id for item_id, _ in held}
    for item_id, report_id in held:
        if report_id in ids:
            ids[report_id].add(item_id)
    for report_id, item_id in carried:
        if item_id in visible:
            ids[report_id].add(item_id)
    end = None if per_report is None else offset + per_report
    shown = {report_id: sorted(item_ids)[offset:end] for report_id, item_ids in ids.items()}
    wanted = sorted({item_id for item_ids in shown.values() for item_id in item_ids})
    rows = {item.id: item for item in db.session.scalars(
        select(Item).where(in_ids(Item.id, wanted))
        .options(joinedload(Item.unit), joinedload(Item.owner), selectinload(Item.category_links), selectinload(Item.co_units))
    )} if wanted else {}
    return {report_id: Listed([rows[item_id] for item_id in shown[report_id]], len(ids[report_id])) for report_id in report_ids}


def reports_page(user: User, *, page: int, per_page: int, clamp: bool = True) -> Page:
    """A page of the reports ``user`` supervises, newest first (the reports list and the API)."""
    return paginate(reports_query(user), Report.id, (Report.year.desc(), Report.id.desc()), page, per_page,
                    clamp=clamp)


def find_report(report_id: int, user: User) -> Report:
    """A report of a unit ``user`` supervises; NotFound otherwise."""
    report = db.session.scalar(reports_query(user).where(Report.id == report_id))
    if report is None:
        raise NotFound("报告不存在，或您无权查看。")
    return report


def latest_notes(item_ids: list[int]) -> dict[int, ItemEvent]:
    """Each item's latest progress note (the owner's own words on where things stand)."""
    if not item_ids:
        return {}
    latest = (
        select(func.max(ItemEvent.id))
        .where(ItemEvent.item_id.in_(item_ids), ItemEvent.action == EventAction.progress)
        .group_by(ItemEvent.item_id)
    )
    return {event.item_id: event for event in db.session.scalars(select(ItemEvent).where(ItemEvent.id.in_(latest)))}


def reports_query(user: User):
    """Reports of the units ``user`` supervises (officials have none), with their units."""
    return (
        select(Report)
        .where(Report.unit_id.in_(select(Unit.id).where(org_permissions.supervised_units_clause(user))),
               Report.withdrawn_at.is_(None))
        .options(joinedload(Report.unit))
    )


def report_years(user: User, limit: int = 500) -> list[tuple[Report, dict, int]]:
    """The reports of the units ``user`` supervises, newest first, each with the counts by status of
    the items still in it and the number it carried on to the next year: three statements."""
    reports = list(db.session.scalars(
        reports_query(user).order_by(Report.year.desc(), Report.id.desc()).limit(limit)
    ))
    ids = [r.id for r in reports]
    counts: dict = {}
    carried_on: dict = {}
    if ids:
        for report_id, status, n in db.session.execute(
            select(Item.report_id, Item.status, func.count(Item.id))
            .where(Item.report_id.in_(ids))
            .group_by(Item.report_id, Item.status)
        ):
            counts.setdefault(report_id, {})[status] = n
        carried_on = dict(db.session.execute(
            select(CarryOver.from_report_id, func.count(CarryOver.id))
            .where(CarryOver.from_report_id.in_(ids))
            .group_by(CarryOver.from_report_id)
        ).all())
    return [(report, counts.get(report.id, {}), carried_on.get(report.id, 0)) for report in reports]


def rollover_runs(user: User, limit: int = 10) -> list[RolloverRun]:
    """The latest rollovers of the units ``user`` supervises, and those over all units."""
    return list(db.session.scalars(
        select(RolloverRun)
        .where(RolloverRun.unit_id.is_(None)
               | RolloverRun.unit_id.in_(select(Unit.id).where(org_permissions.supervised_units_clause(user))))
        .options(joinedload(RolloverRun.unit), joinedload(RolloverRun.actor))
        .order_by(RolloverRun.id.desc())
        .limit(limit)
    ))
