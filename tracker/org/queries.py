"""Units and users as the pages list them: a fixed number of statements whatever their number."""

from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload

from tracker.errors import NotFound
from tracker.extensions import db
from tracker.org import permissions
from tracker.org.models import Role, Unit, User
from tracker.pagination import Page, paginate


def report_unit(unit_id: int) -> Unit:
    """The unit a report page or download names; who may see its report is the report's own rule
    (reports.queries.report_year, exports.section.report_section)."""
    unit = db.session.get(Unit, unit_id)
    if unit is None:
        raise NotFound("报告不存在，或您无权查看。")
    return unit


def all_units() -> list[Unit]:
    """Every unit, in tree order (by path)."""
    return list(db.session.scalars(select(Unit).order_by(Unit.path)))


def users_page(*, search: str = "", page: int = 1, per_page: int = 100) -> Page:
    """A page of users with their units, by unit in tree order, then username; ``search`` finds a
    part of a username, a 姓名 or a unit's name (LIKE wildcards taken as plain characters)."""
    query = select(User).join(User.unit).options(joinedload(User.unit))
    search = (search or "").strip()[:64]
    if search:
        query = query.where(or_(User.username.contains(search, autoescape=True), User.name.contains(search, autoescape=True),
                                Unit.name.contains(search, autoescape=True)))
    return paginate(query, User.id, (Unit.path, User.username), page, per_page)


UNIT_SELECT_MAX = 60  # a list's unit filter is a select up to this many units, else a box that suggests


def unit_choices(user: User) -> list[Unit] | None:
    """The units of a list's unit filter, in tree order, when few enough for a select; None when
    not (a province's 616 units added 40 KB to every list page, issue 17): the page then offers
    a box that suggests units as one types."""
    units = list(db.session.scalars(select(Unit).where(permissions.visible_units_clause(user)).order_by(Unit.path)
                                    .limit(UNIT_SELECT_MAX + 1)))
    return units if len(units) <= UNIT_SELECT_MAX else None


def unit_refs(units: list[Unit]) -> dict[int, str]:
    """How a person names each unit in a box: its name, or its path of names ("乙县局/执法大队")
    when another unit has the same name. Two statements whatever the number of units."""
    if not units:
        return {}
    repeated = set(db.session.scalars(select(Unit.name).where(Unit.name.in_(sorted({u.name for u in units})))
                                      .group_by(Unit.name).having(func.count(Unit.id) > 1)))
    above = {int(part) for u in units if u.name in repeated for part in u.path.strip("/").split("/")}
    names = dict(db.session.execute(select(Unit.id, Unit.name).where(Unit.id.in_(sorted(above)))).all()) if above else {}
    return {u.id: "/".join(names.get(int(part), "") for part in u.path.strip("/").split("/")) if u.name in repeated
            else u.name for u in units}


def suggest_units(user: User, query: str, limit: int = 20) -> list[Unit]:
    """Units the user may see whose name holds ``query``, in tree order: one statement."""
    words = (query or "").strip()[:64]
    statement = select(Unit).where(permissions.visible_units_clause(user))
    if words:
        statement = statement.where(Unit.name.contains(words, autoescape=True))
    return list(db.session.scalars(statement.order_by(Unit.path).limit(limit)))


def visible_units(user: User) -> list[Unit]:
    """Units the user may see items of, in tree order (by path)."""
    return list(
        db.session.scalars(
            select(Unit).where(permissions.visible_units_clause(user)).order_by(Unit.path)
        )
    )


def units_around(user: User, unit: Unit) -> list[Unit]:
    """The dashboard's unit picker, in tree order: every unit ``user`` supervises when few enough
    for a select (UNIT_SELECT_MAX); in a larger tree, the way from his own unit down to ``unit``,
    and ``unit``'s units one level down (the roll-up's rows lead further). A province's 616
    options made the dashboard's select 40 KB."""
    units = list(db.session.scalars(select(Unit).where(permissions.supervised_units_clause(user)).order_by(Unit.path)
                                    .limit(UNIT_SELECT_MAX + 1)))
    if len(units) <= UNIT_SELECT_MAX:
        return units
    above = [int(part) for part in unit.path.strip("/").split("/")]
    return list(db.session.scalars(select(Unit).where(permissions.supervised_units_clause(user),
                                                      or_(Unit.id.in_(above), Unit.parent_id == unit.id))
                                   .order_by(Unit.path)))


def supervised_units(user: User) -> list[Unit]:
    """Units ``user`` supervises, in tree order: the choices where a unit is picked for an action."""
    return list(
        db.session.scalars(
            select(Unit).where(permissions.supervised_units_clause(user)).order_by(Unit.path)
        )
    )


SUGGESTED = 20


def suggest_owners(user: User | None, query: str, unit: Unit | None = None, limit: int = SUGGESTED) -> list[User]:
    """People to offer as an owner, matching ``query`` in their 姓名, username or unit name: those
    who may own an item of ``unit`` (permissions.eligible_owner: its staff and that of the units
    below it, supervisors above it, admins), or with no unit those of the units ``user``
    supervises. One statement; at most ``limit``, its own unit's people first."""
    words = (query or "").strip()[:64]
    if unit is not None:
        reach = or_(Unit.path.startswith(unit.path, autoescape=True),
                    (User.role == Role.supervisor) & User.unit_id.in_(unit.lineage), User.role == Role.admin)
        first = User.unit_id != unit.id
    else:
        reach, first = permissions.supervised_units_clause(user), User.unit_id != user.unit_id
    statement = select(User).join(User.unit).where(User.active.is_(True), reach)
    if words:
        statement = statement.where(or_(User.name.contains(words, autoescape=True),
                                        User.username.icontains(words, autoescape=True),
                                        Unit.name.contains(words, autoescape=True)))
    return list(db.session.scalars(
        statement.options(joinedload(User.unit)).order_by(first, Unit.path, User.username).limit(limit)))


def active_admins() -> list[User]:
    return list(db.session.scalars(select(User).where(User.active.is_(True), User.role == Role.admin)
                                   .order_by(User.id)))


def two_level_review(unit: Unit) -> bool:
    """Do close-outs of ``unit`` need two reviews (set on it or on a unit above it)?"""
    return bool(db.session.scalar(
        select(Unit.id).where(Unit.id.in_(unit.lineage), Unit.two_level_review.is_(True)).limit(1)))


def nearest_supervisors(unit: Unit, *, besides: set[int] = frozenset()) -> list[User]:
    """The active supervisors of ``unit``, or of the nearest unit above it that has any (leaving
    out the users ``besides``): who reviews, or hears about, an item of ``unit``."""
    lineage = unit.lineage
    found = [user for user in db.session.scalars(
        select(User).where(User.active.is_(True), User.role == Role.supervisor, User.unit_id.in_(lineage))
        .order_by(User.id)) if user.id not in besides]
    for unit_id in reversed(lineage):
        nearest = [user for user in found if user.unit_id == unit_id]
        if nearest:
            return nearest
    return []
