"""Who may see and do what to an item: one predicate per action, asked by the services, the
doors and the templates alike, with the SQL twins that lists filter by. Built on the unit and role
predicates of ``tracker.org.permissions``."""

from flask import has_request_context, request
from sqlalchemy import ColumnElement, false, select

from tracker.extensions import db
from tracker.items.models import WORKING, Evidence, Item, Status, item_co_units, live
from tracker.org.models import Role, User
from tracker.org.permissions import can_view_unit, in_ids, is_admin, supervises_unit, unit_ids_below


def can_view_item(user: User, item: Item) -> bool:
    """Its unit's people, the supervisors over it and its owner; an item withdrawn with its
    report, only admins (read only: nobody acts on it)."""
    if item.withdrawn_at is not None:
        return is_admin(user)
    return can_view_unit(user, item.unit) or item.owner_id == user.id or co_operates(user, item)


def co_operates(user: User, item: Item) -> bool:
    """One of a 配合单位 (its staff, or a supervisor over it): sees the item and adds progress notes;
    submitting stays the owner's, reviewing the responsible unit's supervisors'."""
    return item.withdrawn_at is None and any(can_view_unit(user, unit) for unit in item.co_units)


def only_co_operates(user: User, item: Item) -> bool:
    """Sees the item only as one of a 配合单位: the 配合 badge in lists."""
    return not (can_view_unit(user, item.unit) or item.owner_id == user.id) and co_operates(user, item)


def is_owner(user: User, item: Item) -> bool:
    return item.owner_id is not None and item.owner_id == user.id and item.withdrawn_at is None


def can_supervise_item(user: User, item: Item) -> bool:
    return item.withdrawn_at is None and supervises_unit(user, item.unit)


def works_on(user: User, item: Item) -> bool:
    """The item's owner or a supervisor over it: who may add files, notes and measures at all
    (whether the item's status allows it now is a separate question, answered with 409)."""
    return is_owner(user, item) or can_supervise_item(user, item)


def can_review_item(user: User, item: Item) -> bool:
    """Approve, return, reopen, decide extensions: a supervisor over the unit, never the owner."""
    return can_supervise_item(user, item) and not is_owner(user, item)


def can_review_second(user: User, item: Item) -> bool:
    """复审 of a close-out that passed its 初审: a reviewer of the item from a unit above the first
    reviewer's (or an admin), never the first reviewer himself."""
    first = item.first_review_unit
    if not can_review_item(user, item) or first is None or user.id == item.first_approver_id:
        return False
    return is_admin(user) or (first.is_within(user.unit) and first.id != user.unit_id)


def can_urge_item(user: User, item: Item) -> bool:
    """Issue a 督办单: a supervisor over the item's unit, not its owner (whether the item is still
    open is asked separately, and answered with 409)."""
    return can_supervise_item(user, item) and not is_owner(user, item)


def may_urge_now(user: User, item: Item) -> bool:
    """Whether the item page offers the 督办 form: one who may urge it, while it is not closed."""
    return can_urge_item(user, item) and item.status is not Status.closed


def can_edit_item(user: User, item: Item) -> bool:
    """Change title, text, categories, owner and deadline."""
    return can_supervise_item(user, item)


def can_revise(user: User, item: Item) -> bool:
    """Edit or assign the item now: a supervisor over it, until it is closed (then it must be
    reopened first). The item page's 编辑 button, the list's assign checkbox, and the services."""
    return can_edit_item(user, item) and item.status is not Status.closed


OWNER_FIELDS = frozenset({"measures"})


def can_change_fields(user: User, item: Item, fields) -> bool:
    """Who may change these fields at all: a supervisor over the item any of them, its owner only
    the measures (whether its status allows it now is asked separately, and answered with 409)."""
    return can_edit_item(user, item) or (set(fields) <= OWNER_FIELDS and is_owner(user, item))


def can_edit_measures(user: User, item: Item) -> bool:
    """Owners while they work on it; supervisors until it is closed. Under review, what was
    submitted stays as the reviewer sees it."""
    if can_supervise_item(user, item):
        return item.status is not Status.closed
    return is_owner(user, item) and item.status in WORKING


def can_add_progress(user: User, item: Item) -> bool:
    return item.status is not Status.closed and (is_owner(user, item) or can_supervise_item(user, item)
                                                 or co_operates(user, item))


def can_upload_evidence(user: User, item: Item) -> bool:
    """New files while the item is being worked on; the reviewer judges what was submitted."""
    return item.status in WORKING and (is_owner(user, item) or can_supervise_item(user, item))


def can_remove_evidence(user: User, evidence: Evidence, item: Item) -> bool:
    """The item's owner or a supervisor may withdraw a file while the item is being worked on,
    not once it is under review or closed."""
    if evidence.removed_at is not None or item.status not in WORKING:
        return False
    return is_owner(user, item) or can_supervise_item(user, item)


def visible_items_clause(user: User) -> ColumnElement[bool]:
    """SQL condition on ``Item`` for the items ``user`` may see (no join needed).

    Written on ``items.unit_id`` and ``items.owner_id`` so that both of their indexes can serve it.
    """
    if user.role is Role.admin:
        return live()
    if user.role is Role.supervisor:
        below = unit_ids_below(user.unit)
        reach = in_ids(Item.unit_id, below)
        co = select(item_co_units.c.item_id).where(in_ids(item_co_units.c.unit_id, below))
        # A supervisor's tree is read from an index alone where nothing else is asked.
        clause = reach | (Item.owner_id == user.id) if _owns_outside(user, reach) else reach
    else:
        reach = Item.unit_id == user.unit_id
        co = select(item_co_units.c.item_id).where(item_co_units.c.unit_id == user.unit_id)
        clause = reach | (Item.owner_id == user.id)  # one unit: the two indexes combined cost less
    # The items its units co-operate on, as a list of ids: a subquery here would keep the planner
    # from combining the unit and owner indexes (one short indexed read, once per request; none
    # for most people).
    helped = _per_request("tracker.co_items", user.id, lambda: list(db.session.scalars(co.limit(CO_ITEMS_MAX))))
    if helped:
        clause = clause | Item.id.in_(helped)
    return live() & clause


CO_ITEMS_MAX = 10_000


def _owns_outside(user: User, reach) -> bool:
    """Whether ``user`` owns an item outside ``reach`` (his units), read once per request through
    the owner index. Rarely so; and only then does the condition need ``OR owner_id = …``, with
    which PostgreSQL cannot read a list or its count from an index alone (a city's filtered count
    at 10^6: 132 → 22 ms)."""
    return _per_request("tracker.owns_outside", user.id, lambda: db.session.scalar(
        select(Item.id).where(Item.owner_id == user.id, ~reach, live()).limit(1)) is not None)


def _per_request(name: str, key, read):
    """``read()``, kept for the rest of the request (not across a job's work, where items change)."""
    cache = request.environ.setdefault(name, {}) if has_request_context() else {}
    if key not in cache:
        cache[key] = read()
    return cache[key]


def supervised_items_clause(user: User) -> ColumnElement[bool]:
    """SQL condition on ``Item`` for the items ``user`` supervises (none for an official)."""
    if user.role is Role.admin:
        return live()
    if user.role is Role.supervisor:
        return live() & in_ids(Item.unit_id, unit_ids_below(user.unit))
    return false()
