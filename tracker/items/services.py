"""Changing items outside the status workflow: creating, editing, assigning, progress notes.

Services take the actor and the time as arguments, check the rules, flush and never commit.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select

from tracker import clock
from tracker.errors import Conflict, DomainError, Forbidden, Invalid, NotFound
from tracker.extensions import db
from tracker.formats import iso
from tracker.items import permissions, workflow
from tracker.items.history import record
from tracker.items.models import Category, EventAction, Item, ItemCategory, MeasureType, Report, ReviewStage, Status
from tracker.org import permissions as org_permissions
from tracker.org.models import Unit, User
from tracker.org.queries import two_level_review

TITLE_MAX = 200
TEXT_MAX = 20000
NOTE_MAX = 2000
CO_UNITS_MAX = 20
IMMEDIATE_DAYS = 30  # 立行立改's default deadline, from the item's creation (TRACKER_IMMEDIATE_DEADLINE_DAYS)
EARLIEST_YEAR, LATEST_YEAR = 2000, 2100

# The fields an owner may change on their own item; everything else needs a supervisor.
EDITABLE_FIELDS = frozenset({"title", "text", "measures", "categories", "owner", "deadline", "unit", "leader",
                             "co_units", "measure_type", "review_every_days"})
LEADER_MAX = 64


def check_year(year: int) -> int:
    if not EARLIEST_YEAR <= year <= LATEST_YEAR:
        raise Invalid(f"年度应在{EARLIEST_YEAR}至{LATEST_YEAR}之间。", field="year")
    return year


def check_deadline(deadline: date, today: date) -> date:
    if deadline < today:
        raise Invalid("整改时限不能早于今天。", field="deadline")
    if deadline.year > LATEST_YEAR:
        raise Invalid("整改时限不合理，请检查年份。", field="deadline")
    return deadline


def _check_text(value: str, field: str, label: str, maximum: int, required: bool) -> str:
    # Browsers send a textarea's line breaks as CRLF: stored as LF, an unchanged text stays unchanged.
    value = (value or "").replace("\r\n", "\n").replace("\r", "\n").strip()
    if required and not value:
        raise Invalid(f"请填写{label}。", field=field)
    if len(value) > maximum:
        raise Invalid(f"{label}不能超过{maximum}字。", field=field)
    return value


def categories_by_code(codes: Iterable[str]) -> list[Category]:
    """The categories named by ``codes``, in the order given; an unknown code is an error."""
    codes = list(dict.fromkeys(c for c in codes if c))
    found = {c.code: c for c in db.session.scalars(select(Category).where(Category.code.in_(codes)))}
    unknown = [c for c in codes if c not in found]
    if unknown:
        raise Invalid(f"未知的问题类别：{'、'.join(unknown)}。", field="categories")
    return [found[c] for c in codes]


def _set_categories(item: Item, categories: Sequence[Category]) -> None:
    item.category_links = [
        ItemCategory(category=category, position=position)
        for position, category in enumerate(categories)
    ]


def find_user(username: str) -> User | None:
    return db.session.scalar(select(User).where(User.username == username.strip()))


def find_person(name_or_username: str) -> User:
    """A user by username (any case) or by a 姓名 no one else active has."""
    value = name_or_username.strip()
    by_username = db.session.scalar(select(User).where(func.lower(User.username) == value.lower()))
    if by_username is not None:
        return by_username
    named = list(db.session.scalars(select(User).where(User.name == value, User.active.is_(True)).limit(5)))
    if len(named) == 1:
        return named[0]
    if named:
        options = "、".join(u.username for u in named)
        raise Invalid(f"有多位用户名叫“{value}”，请填写用户名：{options}。", field="owner")
    raise Invalid(f"找不到用户“{value}”。", field="owner")


def check_owner(owner: User | None, unit: Unit) -> User:
    if owner is None or not org_permissions.eligible_owner(owner, unit):
        raise Invalid("责任人不存在、已停用，或不属于该事项的单位及其下级单位。", field="owner")
    return owner


def create_item(
    *,
    unit: Unit,
    year: int,
    title: str,
    actor: User | None,
    now: datetime,
    text: str = "",
    categories: Sequence[Category] = (),
    measures: str = "",
    report: Report | None = None,
    owner: User | None = None,
    deadline: date | None = None,
    today: date | None = None,
    leader: str = "",
    co_units: Sequence[Unit] = (),
    measure_type: MeasureType = MeasureType.deadline,
    immediate_days: int = IMMEDIATE_DAYS,
) -> Item:
    """Create an item in status open and record its creation.

    ``actor`` must supervise ``unit`` (None: the system, e.g. the demo loader). With ``today``
    given, a deadline before it is refused; imports of past years' reports pass None.
    """
    if actor is not None and not org_permissions.supervises_unit(actor, unit):
        raise Forbidden("您只能在督办范围内的单位新增事项。", field="unit")
    if owner is not None:
        check_owner(owner, unit)
    if deadline is not None and today is not None:
        check_deadline(deadline, today)
    if deadline is None and measure_type is MeasureType.immediate:  # 立行立改: a short deadline by default
        deadline = clock.to_local(now).date() + timedelta(days=immediate_days)
    item = Item(
        unit=unit,
        year=check_year(year),
        report=report,
        title=_check_text(title, "title", "标题", TITLE_MAX, required=True),
        text=_check_text(text, "text", "问题描述", TEXT_MAX, required=False),
        measures=_check_text(measures, "measures", "整改措施", TEXT_MAX, required=False),
        owner=owner,
        deadline=deadline,
        leader=_check_text(leader, "leader", "责任领导", LEADER_MAX, required=False),
        measure_type=measure_type,
        created_at=now,
        updated_at=now,
    )
    item.co_units = _check_co_units(list(co_units), unit)
    _set_categories(item, categories)
    db.session.add(item)
    record(item, actor, EventAction.create, now=now, details={
        "title": item.title,
        "owner": owner.username if owner else None,
        "deadline": iso(deadline),
        "categories": [c.code for c in categories],
        **({"leader": item.leader} if item.leader else {}),
        **({"co_units": [u.name for u in item.co_units]} if item.co_units else {}),
        **({"measure_type": item.measure_type.value} if item.measure_type is not MeasureType.deadline else {}),
    })
    db.session.flush()
    return item


REVIEW_DAYS_MAX = 366


def check_review_days(value) -> int | None:
    """A 长期坚持 item's own cadence of progress notes, in days (None: LONG_TERM_REVIEW_DAYS)."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= REVIEW_DAYS_MAX:
        raise Invalid(f"进展报送周期应为1至{REVIEW_DAYS_MAX}天。", field="review_every_days")
    return value


def parse_measure_type(value) -> MeasureType:
    """整改类型 from a form or a JSON body (default: 限期整改)."""
    if value in (None, ""):
        return MeasureType.deadline
    try:
        return MeasureType(value)
    except ValueError:
        raise Invalid("整改类型应为立行立改（immediate）、限期整改（deadline）或长期坚持（long_term）。",
                      field="measure_type") from None


def _check_co_units(units: list[Unit], responsible: Unit) -> list[Unit]:
    """配合单位: other units than the responsible one, each once, at most 20."""
    chosen = []
    for unit in units:
        if unit.id != responsible.id and unit not in chosen:
            chosen.append(unit)
    if len(chosen) > CO_UNITS_MAX:
        raise Invalid(f"配合单位最多{CO_UNITS_MAX}个。", field="co_units")
    return chosen


def update_item(
    item: Item,
    actor: User,
    changes: dict,
    *,
    now: datetime,
    today: date,
    expected_version: int | None = None,
) -> dict:
    """Apply field ``changes`` (title, text, measures, categories, owner, deadline, unit) to ``item``.

    ``owner`` is a ``User`` (or None), ``categories`` a list of ``Category``, ``deadline`` a date,
    ``unit`` a ``Unit`` of the actor's subtree (the owner is cleared if not eligible there).
    An owner may change only the measures; a supervisor over the unit may change everything.
    Records one history row listing each changed field with its old and new value; returns
    that mapping (empty when nothing changed).
    """
    unknown = set(changes) - EDITABLE_FIELDS
    if unknown:
        raise Invalid(f"不能修改的字段：{'、'.join(sorted(unknown))}。", field=sorted(unknown)[0])
    if expected_version is not None and expected_version != item.version:
        raise Conflict("该事项在您打开页面后已有变动，请刷新页面后重试。")
    supervising = permissions.can_edit_item(actor, item)
    if not permissions.can_change_fields(actor, item, changes):
        raise Forbidden("您没有修改该事项的权限。")
    if not supervising and not permissions.can_edit_measures(actor, item):
        raise Conflict(f"事项当前状态为“{item.status.title}”，责任人暂不能修改整改措施。")
    if item.status is Status.closed:
        raise Conflict("事项已销号，不能修改；如需修改请先重新打开。")

    diff: dict = {}
    for field, label, maximum, required in (
        ("title", "标题", TITLE_MAX, True),
        ("text", "问题描述", TEXT_MAX, False),
        ("measures", "整改措施", TEXT_MAX, False),
    ):
        if field in changes:
            value = _check_text(changes[field], field, label, maximum, required)
            if value != getattr(item, field):
                diff[field] = {"old": getattr(item, field), "new": value}
                setattr(item, field, value)
    if "deadline" in changes:
        deadline = changes["deadline"]
        if deadline is None:
            raise Invalid("请填写整改时限。", field="deadline")
        if deadline != item.deadline:
            check_deadline(deadline, today)
            diff["deadline"] = {"old": iso(item.deadline), "new": deadline.isoformat()}
            item.deadline = deadline
    if "unit" in changes:  # before the owner: who may own it depends on the unit
        _move(item, actor, changes["unit"], diff, keep_owner="owner" in changes)
    if "owner" in changes:
        owner = changes["owner"]
        if owner is None or owner.id != item.owner_id:
            if item.status is Status.pending_review:
                # the reviewer must not become the owner of what they review, nor the submitter stop being it
                raise Conflict(f"事项“{item.title}”正在审核中，不能更换责任人。", field="owner")
            check_owner(owner, item.unit)
            diff["owner"] = {
                "old": item.owner.username if item.owner else None,
                "new": owner.username,
                "old_name": item.owner.display_name if item.owner else None,
                "new_name": owner.display_name,
            }
            item.owner = owner
    if "leader" in changes:
        leader = _check_text(changes["leader"] or "", "leader", "责任领导", LEADER_MAX, required=False)
        if leader != item.leader:
            diff["leader"] = {"old": item.leader, "new": leader}
            item.leader = leader
    if "co_units" in changes:
        units = _check_co_units(list(changes["co_units"] or []), item.unit)
        if [u.id for u in units] != [u.id for u in item.co_units]:
            diff["co_units"] = {"old": [u.name for u in item.co_units], "new": [u.name for u in units]}
            item.co_units = units
    if "measure_type" in changes:
        kind = changes["measure_type"]
        if not isinstance(kind, MeasureType):
            raise Invalid("整改类型应为立行立改、限期整改或长期坚持。", field="measure_type")
        if kind is not item.measure_type:
            diff["measure_type"] = {"old": item.measure_type.value, "new": kind.value}
            item.measure_type = kind
    if "review_every_days" in changes:
        days = check_review_days(changes["review_every_days"])
        if days != item.review_every_days:
            diff["review_every_days"] = {"old": item.review_every_days, "new": days}
            item.review_every_days = days
    if "categories" in changes:
        categories = list(changes["categories"])
        if not categories:
            raise Invalid("请至少选择一个问题类别。", field="categories")
        old = [c.code for c in item.categories]
        new = [c.code for c in categories]
        if old != new:
            diff["categories"] = {"old": old, "new": new}
            _set_categories(item, categories)
    if diff:
        item.updated_at = now
        record(item, actor, EventAction.edit, now=now, details=diff)
        db.session.flush()
    return diff


def _move(item: Item, actor: User, unit: Unit | None, diff: dict, *, keep_owner: bool) -> None:
    """Move ``item`` to ``unit`` (one the actor supervises). Its owner stays if he may own an item
    there, else the item is left unassigned (``diff`` says so, and the history row)."""
    if unit is None:
        raise Invalid("请选择责任单位。", field="unit")
    if unit.id == item.unit_id:
        return
    if not org_permissions.supervises_unit(actor, unit):
        raise Forbidden("只能把事项移到您督办的单位。", field="unit")
    diff["unit"] = {"old": item.unit.name, "new": unit.name}
    item.unit = unit
    if item.review_stage:  # a close-out under review starts its review over, as the new unit's rules say
        item.review_stage = ReviewStage.first if two_level_review(unit) else ReviewStage.single
        item.first_approver_id = item.first_review_unit_id = None
    if item.owner is not None and not keep_owner and not org_permissions.eligible_owner(item.owner, unit):
        diff["owner"] = {"old": item.owner.username, "new": None, "old_name": item.owner.display_name,
                         "new_name": None}
        item.owner = None


BULK_MAX = 500  # items one bulk change may touch ("all that match" included)
BULK_FIELDS = frozenset({"owner", "deadline", "primary_category", "measure_type", "leader", "unit"})


@dataclass
class BulkResult:
    changed: int
    skipped: list[tuple[str, str]]  # (title, reason) of the items refused, when asked to skip them


def change_items(
    item_ids: Sequence[int],
    actor: User,
    changes: dict,
    *,
    now: datetime,
    today: date,
    versions: dict[int, int] | None = None,
    skip_refused: bool = False,
) -> BulkResult:
    """One change to many items (批量修改), each through ``update_item``: its permission checks,
    its history row and its notifications, and the version the list showed (``versions``).

    ``changes``: ``owner`` (a User), ``deadline``, ``primary_category`` (a Category, put first and
    kept with the others), ``measure_type``, ``leader``, ``unit``. All or nothing: the first item
    refused refuses the batch, its title and reason in the message. With ``skip_refused`` the
    refused ones are left as they were and listed, and the others changed: the work is rolled back
    and done again without an item that ``update_item`` refused half-way (a savepoint would do,
    but SQLite's driver commits a savepoint taken before its first write)."""
    ids = list(dict.fromkeys(item_ids))
    if not ids:
        raise Invalid("请至少选择一个事项。", field="item_ids")
    if len(ids) > BULK_MAX:
        raise Invalid(f"一次最多修改{BULK_MAX}个事项，请缩小筛选范围。", field="item_ids")
    if not changes:
        raise Invalid("请填写要修改的内容。", field="owner")
    unknown = set(changes) - BULK_FIELDS
    if unknown:
        raise Invalid(f"不能批量修改：{'、'.join(sorted(unknown))}。")
    skipped: dict[int, tuple[str, str]] = {}
    while True:
        try:
            return _change_all([i for i in ids if i not in skipped], actor, changes, now=now, today=today,
                               versions=versions or {}, skip_refused=skip_refused, skipped=skipped, everything=len(ids))
        except _Again:
            db.session.rollback()


class _Again(Exception):
    """An item was refused half-way through its change: start again without it."""


def _change_all(ids: list[int], actor: User, changes: dict, *, now, today, versions, skip_refused, skipped, everything
                ) -> BulkResult:
    from tracker.items.queries import items_by_ids

    items = items_by_ids(actor, ids)
    if len(items) + len(skipped) != everything:
        raise NotFound("部分事项不存在，或您无权查看。", field="item_ids")
    changed, half_way = 0, False
    for item in items:
        try:
            before = _refusal(item, actor, versions.get(item.id))  # refused before anything is changed
            if before is not None:
                raise before
            if _change_one(item, actor, changes, now=now, today=today, version=versions.get(item.id)):
                changed += 1
        except DomainError as error:
            if not skip_refused:
                error.message = f"“{item.title}”：{error.message}"
                raise
            skipped[item.id] = (item.title, error.message)
            half_way = half_way or before is None
    if half_way:  # once per pass, without every item refused half-way in it
        raise _Again
    return BulkResult(changed, list(skipped.values()))


def _refusal(item: Item, actor: User, version: int | None) -> DomainError | None:
    if not permissions.can_revise(actor, item):
        if permissions.can_edit_item(actor, item):
            return Conflict("已销号，不能再修改。")
        return Forbidden("您无权修改该事项。")
    if version is not None and version != item.version:
        return Conflict("事项已被他人修改，请刷新后重试。")
    return None


def _change_one(item: Item, actor: User, changes: dict, *, now: datetime, today: date, version: int | None) -> dict:
    changes = dict(changes)
    category = changes.pop("primary_category", None)
    if category is not None:
        others = [link.category for link in item.category_links if link.category_id != category.id]
        changes["categories"] = [category, *others]
    return update_item(item, actor, changes, now=now, today=today, expected_version=version)


def assign_items(
    item_ids: Sequence[int],
    actor: User,
    *,
    owner_username: str | None,
    deadline: date | None,
    now: datetime,
    today: date,
) -> int:
    """Give many items an owner and/or a deadline at once; all or none. Returns how many changed."""
    owner = find_person(owner_username) if (owner_username or "").strip() else None
    if owner is None and deadline is None:
        raise Invalid("请填写责任人或整改时限。", field="owner")
    changes = {key: value for key, value in (("owner", owner), ("deadline", deadline)) if value is not None}
    return change_items(item_ids, actor, changes, now=now, today=today).changed


def add_progress(item: Item, actor: User, note: str, *, now: datetime):
    """A progress note (进展情况) from the owner or a supervisor."""
    if item.status is Status.closed:
        raise Conflict("事项已销号，不能再填写进展情况；如需继续整改请先重新打开。")
    if not permissions.can_add_progress(actor, item):
        raise Forbidden("只有责任人或督办人可以填写进展情况。")
    note = _check_text(note, "note", "进展情况", NOTE_MAX, required=True)
    workflow.start_on_work(item, actor, now=now)  # an open item's owner at work has started it
    # Otherwise the item row itself is not touched: a note must not collide with a concurrent edit.
    event = record(item, actor, EventAction.progress, now=now, comment=note)
    db.session.flush()
    return event


