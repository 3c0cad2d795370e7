"""The roll-up of a unit's subtree (统计看板, ``GET /stats``, 情况通报): the figures of its own
items and of each direct child's whole subtree, by category and by month, as of any day.

Read from ``item_states`` (the state of each item on each day, ``tracker.items.states``), grouped
over units and primary categories: for today from the materialised roll-up (``stats.cells``,
rebuilt every minute), for any other day from ``item_states`` directly; a fixed number of
statements whatever the number of items or units, and a city's
figures read the rows of its own units by index, never the whole table.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from flask import current_app
from sqlalchemy import ColumnElement, func, or_, select

from tracker import clock
from tracker.errors import DomainError, Forbidden, Invalid
from tracker.extensions import db
from tracker.items.models import YELLOW_WITHIN_DAYS, Category, ExtensionRequest, ItemState, Status
from tracker.items.states import as_of
from tracker.org import permissions
from tracker.org.models import Unit, User, path_ids
from tracker.org.services import find_unit
from tracker.stats import cells
from tracker.web.params import Params

MONTHS = cells.MONTHS  # the months series: this many, ending with the as-of day's month
FIGURES = cells.FIGURE_NAMES


@dataclass
class Totals:
    """The figures of a set of items as of a day (CONTRACT.md's T)."""

    items: int = 0
    open: int = 0
    in_progress: int = 0
    pending_review: int = 0
    closed: int = 0
    overdue: int = 0
    red: int = 0
    yellow: int = 0
    green: int = 0
    closed_on_time: int = 0

    @property
    def completion_rate(self) -> float:
        """完成率: closed / items, 0 without items."""
        return round(self.closed / self.items, 4) if self.items else 0.0

    @property
    def on_time_rate(self) -> float:
        """按期完成率: closed on time / closed, 0 when nothing is closed."""
        return round(self.closed_on_time / self.closed, 4) if self.closed else 0.0

    @property
    def working(self) -> int:
        """Not closed: 待整改, 整改中 and 待审核 together."""
        return self.items - self.closed

    def add(self, other: "Totals") -> None:
        for name in FIGURES:
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class UnitRow:
    unit: Unit
    own: bool  # the unit's own items (本级), not a child's subtree
    totals: Totals = field(default_factory=Totals)
    rank_by_rate: int | None = None  # 1: the highest 完成率 among the child units
    rank_by_overdue: int | None = None  # 1: the fewest overdue


@dataclass
class CategoryRow:
    category: Category
    totals: Totals


@dataclass
class MonthRow:
    month: date  # its first day
    created: int
    closed: int
    overdue: int  # at the month's end (or on the as-of day, for its own month)

    @property
    def label(self) -> str:
        return f"{self.month.year}-{self.month.month:02d}"


@dataclass
class StatsFilter:
    unit_id: int | None = None
    year: int | None = None
    category: str | None = None  # a category's code
    as_of: date | None = None  # None: today

    @classmethod
    def from_args(cls, args: Mapping, *, strict: bool) -> "StatsFilter":
        """``unit`` (an id on pages; a unit's name or path in the API and the CLI), ``year``,
        ``category`` (a code), ``as_of`` (YYYY-MM-DD). ``strict``: a bad value is an ``Invalid``
        naming it; on pages it is ignored."""
        params = Params(args, strict=strict)
        unit_id = params.record_id("unit") if not strict else _unit_by_name(params.text("unit"))
        return cls(unit_id=unit_id, year=params.year("year"), category=params.text("category", max_length=50),
                   as_of=params.day("as_of"))


def _unit_by_name(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return find_unit(value).id
    except DomainError as error:
        raise Invalid(error.message, field="unit") from None


@dataclass
class Rollup:
    unit: Unit
    as_of: date
    today: date
    year: int | None
    category: Category | None
    totals: Totals
    rows: list[UnitRow]
    categories: list[CategoryRow]
    months: list[MonthRow]
    pending_extensions: int
    unit_ids: list[int]  # the subtree's, for the pages that show more of it (建议督办)
    refreshed_at: datetime | None = None  # read from the roll-up rebuilt then; None: computed now

    @property
    def is_past(self) -> bool:
        return self.as_of < self.today


def default_unit(user: User) -> Unit:
    """Whose figures a user sees first: an admin the top of the tree, anyone else their own unit."""
    if permissions.is_admin(user):
        top = path_ids(user.unit.path)[0]
        return db.session.get(Unit, top) or user.unit
    return user.unit


def rollup_for(user: User, flt: StatsFilter, today: date) -> Rollup:
    """The roll-up ``user`` asked for; Forbidden unless they supervise the unit (officials see
    their own items in their lists, not a unit's figures)."""
    unit = db.session.get(Unit, flt.unit_id) if flt.unit_id else default_unit(user)
    if unit is None or not permissions.supervises_unit(user, unit):
        raise Forbidden("只有该单位及其上级单位的督办人才能查看统计。")
    return rollup(unit, flt, today)


def rollup(unit: Unit, flt: StatsFilter, today: date) -> Rollup:
    """The figures of ``unit``'s subtree as of ``flt.as_of`` (default ``today``)."""
    day = flt.as_of or today
    category = None
    if flt.category:
        category = db.session.scalar(select(Category).where(Category.code == flt.category))
        if category is None:
            raise Invalid("没有这个问题类别。", field="category")
    units = list(db.session.scalars(
        select(Unit).where(Unit.path.startswith(unit.path, autoescape=True)).order_by(Unit.path)))
    ids = [member.id for member in units]
    scope = _scope(ids, flt.year, category, day, today)

    unit_rows, row_of = _unit_rows(unit, units)
    starts, ends = month_bounds(day)
    max_age = timedelta(minutes=float(current_app.config.get("STATS_MAX_AGE_MINUTES", 10)))
    run = cells.fresh_run(today, clock.utcnow(), max_age) if day == today else None
    if run is not None:
        by_unit, by_category_rows = cells.read(ids, flt.year, category.id if category else None)
    else:
        by_unit, by_category_rows = _live(ids, flt.year, category, day, today, starts, ends)
    totals = Totals()
    created, closed, overdue = [0] * MONTHS, [0] * MONTHS, [0] * MONTHS
    n = len(FIGURES)
    for unit_id, *values in by_unit:
        found = Totals(*values[:n])
        totals.add(found)
        if unit_id in row_of:
            row_of[unit_id].totals.add(found)
        for i in range(MONTHS):
            created[i] += values[n + i] or 0
            closed[i] += values[n + MONTHS + i] or 0
            overdue[i] += values[n + 2 * MONTHS + i] or 0
    _rank(unit_rows)
    by_category = {category_id: Totals(*values) for category_id, *values in by_category_rows}
    categories = [category] if category else list(db.session.scalars(select(Category).order_by(Category.position, Category.id)))
    category_rows = [CategoryRow(c, by_category.get(c.id, Totals())) for c in categories]
    months = [MonthRow(start, created[i], closed[i], overdue[i]) for i, start in enumerate(starts)]

    return Rollup(
        unit=unit, as_of=day, today=today, year=flt.year, category=category, totals=totals, rows=unit_rows,
        categories=category_rows, months=months,
        pending_extensions=_pending_extensions(scope, day), unit_ids=ids,
        refreshed_at=run.refreshed_at if run is not None else None,
    )


def _unit_rows(unit: Unit, units: list[Unit]) -> tuple[list[UnitRow], dict[int, UnitRow]]:
    """本级, then a row per direct child; and the row each unit of the subtree counts in."""
    rows = {unit.id: UnitRow(unit, own=True)}
    depth = len(path_ids(unit.path))
    for member in units:
        if member.id != unit.id and len(path_ids(member.path)) == depth + 1:
            rows[member.id] = UnitRow(member, own=False)
    row_of = {member.id: rows[unit.id] if member.id == unit.id else rows[path_ids(member.path)[depth]]
              for member in units}
    return list(rows.values()), row_of


def _scope(unit_ids: list[int], year: int | None, category: Category | None, day: date,
           today: date) -> list[ColumnElement[bool]]:
    """The states of those units (a subtree) as of ``day``, of that year and category."""
    return [as_of(day, today), *_within(unit_ids, year, category)]


def _within(unit_ids: list[int], year: int | None, category: Category | None) -> list[ColumnElement[bool]]:
    # The ids themselves, not a subquery: the planner then knows how few units a county has and
    # reads their rows by index (a subquery made it scan every state at 10^6).
    conditions = [ItemState.unit_id.in_(unit_ids)]
    if year is not None:
        conditions.append(ItemState.year == year)
    if category is not None:  # its primary category: each item counts in one category
        conditions.append(ItemState.category_id == category.id)
    return conditions


def figure_columns(day: date) -> list:
    """Totals' columns, in FIGURES order, as aggregates over ``ItemState`` rows as of ``day``."""
    working = ItemState.status != Status.closed
    overdue = working & (ItemState.deadline < day)
    near = day + timedelta(days=YELLOW_WITHIN_DAYS)
    closed = ItemState.status == Status.closed
    return [
        func.count(),
        count_where(ItemState.status == Status.open),
        count_where(ItemState.status == Status.in_progress),
        count_where(ItemState.status == Status.pending_review),
        count_where(closed),
        count_where(overdue),
        count_where(overdue),  # red: overdue, by the traffic light's own rule
        count_where(working & (ItemState.deadline >= day) & (ItemState.deadline <= near)),
        count_where(working & (ItemState.deadline > near)),
        count_where(closed & (ItemState.closed_on <= ItemState.closed_deadline)),
    ]


def count_where(condition) -> ColumnElement[int]:
    """COUNT(*) FILTER (WHERE …): PostgreSQL, and SQLite from 3.30."""
    return func.count().filter(condition)


def month_starts(day: date, n: int = MONTHS) -> list[date]:
    """The first days of the ``n`` months ending with ``day``'s month, oldest first."""
    starts, start = [], day.replace(day=1)
    for _ in range(n):
        starts.append(start)
        start = (start - timedelta(days=1)).replace(day=1)
    return starts[::-1]


def month_bounds(day: date) -> tuple[list[date], list[date]]:
    """First and last days of the MONTHS months ending with ``day``'s (the last one ends on ``day``)."""
    starts = month_starts(day)
    ends = [min(next_start - timedelta(days=1), day) for next_start in [*starts[1:], _next_month(starts[-1])]]
    return starts, ends


def month_columns(starts: list[date], ends: list[date]) -> list:
    """New and closed in each month, interleaved (created_0, closed_0, created_1, …)."""
    return [column for start, end in zip(starts, ends, strict=True) for column in (
        count_where(ItemState.created_on.between(start, end)),
        count_where((ItemState.status == Status.closed) & ItemState.closed_on.between(start, end)),
    )]


def overdue_columns(ends: list[date]) -> list:
    """Overdue at the end of each month, over the states of those days (with ``overdue_window``)."""
    return [count_where(as_of(end) & (ItemState.deadline < end)) for end in ends]


def overdue_window(ends: list[date]) -> list:
    """The states that can be overdue at one of those month ends."""
    return [ItemState.status != Status.closed, ItemState.deadline < ends[-1], ItemState.valid_from <= ends[-1],
            or_(ItemState.valid_to.is_(None), ItemState.valid_to > ends[0])]


def _live(ids: list[int], year: int | None, category: Category | None, day: date, today: date,
          starts: list[date], ends: list[date]):
    """The roll-up's rows computed from ``item_states`` now: by unit (figures, then the months'
    new, closed and overdue), and by primary category. Three statements."""
    within = _within(ids, year, category)
    scope = [as_of(day, today), *within]
    n = len(FIGURES)
    by_unit: dict[int, list[int]] = {}
    for unit_id, *values in db.session.execute(
        select(ItemState.unit_id, *figure_columns(day), *month_columns(starts, ends)).where(*scope)
        .group_by(ItemState.unit_id)
    ):
        months = values[n:]
        by_unit[unit_id] = [*values[:n], *months[0::2], *months[1::2], *[0] * MONTHS]
    for unit_id, *values in db.session.execute(
        select(ItemState.unit_id, *overdue_columns(ends)).where(*within, *overdue_window(ends))
        .group_by(ItemState.unit_id)
    ):
        row = by_unit.setdefault(unit_id, [0] * (n + 2 * MONTHS) + [0] * MONTHS)
        row[n + 2 * MONTHS:] = values
    by_category = db.session.execute(
        select(ItemState.category_id, *figure_columns(day)).where(*scope).group_by(ItemState.category_id)).all()
    return [(unit_id, *values) for unit_id, values in by_unit.items()], by_category


def _next_month(start: date) -> date:
    return (start + timedelta(days=32)).replace(day=1)


def _pending_extensions(scope: list, day: date) -> int:
    """Extension requests waiting for a decision at the end of local ``day``."""
    end = clock.day_start(day + timedelta(days=1))
    return db.session.scalar(
        select(func.count(ExtensionRequest.id))
        .join(ItemState, ItemState.item_id == ExtensionRequest.item_id)
        .where(*scope, ExtensionRequest.requested_at < end,
               or_(ExtensionRequest.decided_at.is_(None), ExtensionRequest.decided_at >= end))
    ) or 0


def _rank(rows: list[UnitRow]) -> None:
    """Competition ranks (1, 2, 2, 4) of the child units, by 完成率 (highest first) and by overdue
    count (fewest first); the unit's own items are not a peer of its children, and a unit without
    items has nothing to be ranked on."""
    peers = [row for row in rows if not row.own and row.totals.items]
    for attribute, key in (("rank_by_rate", lambda r: -r.totals.completion_rate),
                           ("rank_by_overdue", lambda r: r.totals.overdue)):
        ordered = sorted(peers, key=key)
        for position, row in enumerate(ordered, start=1):
            previous = ordered[position - 2] if position > 1 else None
            same = previous is not None and key(previous) == key(row)
            setattr(row, attribute, getattr(previous, attribute) if same else position)


SORT_KEYS = {
    "overdue": lambda r: (-r.totals.overdue, r.unit.path),
    "items": lambda r: (-r.totals.items, r.unit.path),
    "closed": lambda r: (-r.totals.closed, r.unit.path),
    "rate": lambda r: (-r.totals.completion_rate, r.unit.path),
    "on_time": lambda r: (-r.totals.on_time_rate, r.unit.path),
    "red": lambda r: (-r.totals.red, r.unit.path),
    "yellow": lambda r: (-r.totals.yellow, r.unit.path),
    "pending_review": lambda r: (-r.totals.pending_review, r.unit.path),
    "name": lambda r: (r.unit.path,),
}


def sorted_rows(rows: list[UnitRow], sort: str) -> list[UnitRow]:
    """The unit table in the order asked (default: most overdue first); 本级 stays on top."""
    key = SORT_KEYS.get(sort, SORT_KEYS["overdue"])
    return [row for row in rows if row.own] + sorted((row for row in rows if not row.own), key=key)
