"""Who may see and do what across units (CONTRACT.md, Roles); the item predicates build on these
in ``tracker.items.permissions``.

- official: sees the items of their own unit; updates the items they own.
- supervisor: sees every item of their unit and all units below; assigns, reviews, extends.
- admin: manages units, users and categories, and can do what a supervisor can, everywhere.

Views, the API, the CLI and templates all ask these predicates; none repeats their logic.
"""

from flask import has_request_context, request
from sqlalchemy import ColumnElement, bindparam, false, select, true

from tracker.extensions import db
from tracker.org.models import ApiToken, Role, Unit, User


def is_admin(user: User) -> bool:
    return user.role is Role.admin


def is_supervisor(user: User) -> bool:
    """A supervisor or an admin: someone who oversees units rather than owning items."""
    return user.role in (Role.supervisor, Role.admin)


def supervises_unit(user: User, unit: Unit) -> bool:
    """True when ``user`` supervises ``unit``: an admin anywhere, a supervisor over their subtree."""
    if user.role is Role.admin:
        return True
    return user.role is Role.supervisor and unit.is_within(user.unit)


def can_view_unit(user: User, unit: Unit) -> bool:
    return supervises_unit(user, unit) or unit.id == user.unit_id


def can_roll_over(user: User, unit: Unit | None) -> bool:
    """Year-end rollover: of ``unit`` and the units below it by whoever supervises it; of every
    unit (``unit`` None) by an admin only."""
    return is_admin(user) if unit is None else supervises_unit(user, unit)


def can_revoke_token(user: User, token: ApiToken) -> bool:
    """An API token is revoked by its own user, or by an admin."""
    return token.user_id == user.id or is_admin(user)


def can_manage(user: User) -> bool:
    """Units, users, categories and settings."""
    return is_admin(user)


def eligible_owner(user: User, unit: Unit) -> bool:
    """Who may own an item of ``unit``: an active user of that unit or of any unit below it (a
    city report's problem may go to its 执法支队), or a supervisor over it."""
    return user.active and (user.unit.is_within(unit) or supervises_unit(user, unit))


def visible_units_clause(user: User) -> ColumnElement[bool]:
    """SQL condition on ``Unit`` for the units whose items ``user`` may see."""
    if user.role is Role.admin:
        return true()
    if user.role is Role.supervisor:
        return Unit.path.startswith(user.unit.path, autoescape=True)
    return Unit.id == user.unit_id


def supervised_units_clause(user: User) -> ColumnElement[bool]:
    """SQL condition on ``Unit`` for the units ``user`` supervises (none for an official)."""
    if user.role is Role.official:
        return false()
    return visible_units_clause(user)


def units_below(unit: Unit):
    """SELECT of the ids of ``unit`` and every unit below it."""
    return select(Unit.id).where(Unit.path.startswith(unit.path, autoescape=True))


def unit_ids_below(unit: Unit) -> list[int]:
    """The ids of ``unit`` and every unit below it, read once per request (one indexed read of the
    small units table). Lists filter ``items.unit_id`` by these numbers rather than by a subquery:
    with a subquery PostgreSQL scans every item for a supervisor of part of the tree, with the
    numbers it reads the unit index (issue 17: a team's count at 10^6, 88 → 7 ms)."""
    # Kept for the request only (not across a job's work, where units may change).
    cache = request.environ.setdefault("tracker.unit_ids_below", {}) if has_request_context() else {}
    if unit.path not in cache:
        cache[unit.path] = list(db.session.scalars(units_below(unit).order_by(Unit.id)))
    return cache[unit.path]


def in_ids(column, ids: list[int]):
    """``column IN (ids)``, the ids written into the statement as numbers (they are the database's
    own integers): hundreds of bound parameters cost the driver more than the query."""
    return column.in_(bindparam(None, ids, expanding=True, literal_execute=True))  # a name of its own per use
