"""Who may see and do what across units (CONTRACT.md, Roles); the item predicates build on these
in ``tracker.items.permissions``.

- official: sees the items of their own unit; updates the items they own.
- supervisor: sees every item of their unit and all units below; assigns, reviews, extends.
- admin: manages units, users and categories, and can do what a supervisor can, everywhere.

Views, the API, the CLI and templates all ask these predicates; none repeats their logic.
"""

from sqlalchemy import ColumnElement, false, select, true

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
