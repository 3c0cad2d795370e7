"""Read-only queries behind the item pages. Each list is a fixed number of SQL statements
(one count, one page of rows, one for their categories), whatever the number of rows."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import Select, false, func, or_, select
from sqlalchemy.orm import joinedload, selectinload

from tracker.errors import DomainError, Forbidden, Invalid, NotFound
from tracker.extensions import db
from tracker.items import permissions, search
from tracker.items.models import (
    YELLOW_WITHIN_DAYS,
    CarryOver,
    Category,
    EventAction,
    Evidence,
    ExtensionRequest,
    ExtensionStatus,
    Item,
    ItemCategory,
    ItemEvent,
    Light,
    Status,
    live,
)
from tracker.org import permissions as org_permissions
from tracker.org.models import Unit, User
from tracker.org.services import find_unit
from tracker.pagination import Page, paginate, paginate_parts
from tracker.web.params import Params

# The names the list pages' addresses give their filters (ItemFilter.from_args): what an export or a
# saved view keeps of an address.
LIST_ARGS = ("q", "unit", "unit_name", "year", "category", "status", "owner", "overdue", "open", "report", "mine", "own",
             "primary", "light", "on_time")


@dataclass
class ItemFilter:
    unit_id: int | None = None  # that unit and every unit below it
    unit_only: bool = False  # only ``unit_id``'s own items (本级), not those of the units below it
    year: int | None = None
    category: str | None = None
    primary_category: bool = False  # ``category`` must be the item's first (primary) one
    status: Status | None = None
    owner: str | None = None  # username or part of a name
    overdue: bool = False
    open_only: bool = False
    report_id: int | None = None
    owner_id: int | None = None  # the 我的整改事项 list: the items this user owns
    light: Light | None = None  # the traffic light as of today
    closed_on_time: bool | None = None  # closed on or before the deadline then in force (or after it)
    q: search.Query = search.Query(())  # words that must all occur in the item's document (items.search)

    @classmethod
    def from_args(cls, args: Mapping, *, strict: bool, user: User | None = None) -> "ItemFilter":
        """The list filters as every door receives them: ``unit`` (an id on pages, a unit's name or
        path in the API and the CLI), ``year``, ``category`` (a code), ``status``, ``owner``, ``overdue``, ``open``,
        ``report``; on pages also ``open``, ``mine`` (the items ``user`` owns), ``own`` (the unit's own
        items only), ``primary`` (the category is the first), ``light`` and ``on_time``. ``strict`` (the
        API, the CLI): a bad value is an ``Invalid`` naming it; else (the pages) a bad value is
        ignored, as if it were not in the address."""
        params = Params(args, strict=strict)
        pages_only = not strict  # ``open`` and ``mine`` are the pages' own (CONTRACT.md's API has neither)
        return cls(
            owner_id=user.id if pages_only and user is not None and params.flag("mine") else None,
            unit_id=_unit_id(params),
            unit_only=pages_only and params.flag("own"),
            year=params.year("year"),
            category=params.text("category", max_length=50),
            primary_category=pages_only and params.flag("primary"),
            status=params.member("status", Status),
            owner=params.text("owner", max_length=64),
            overdue=params.flag("overdue"),
            open_only=pages_only and params.flag("open"),
            light=params.member("light", Light) if pages_only else None,
            closed_on_time=params.optional_flag("on_time") if pages_only else None,
            report_id=params.record_id("report"),
            q=search.parse(args.get("q"), strict=strict),
        )


def _unit_id(params: Params) -> int | None:
    """The pages' links name a unit by id (or, typed in the unit box of a large tree, ``unit_name``
    by its name or path); the API and the CLI by its name or path."""
    if not params.strict:
        typed = params.text("unit_name", max_length=300)
        if params.record_id("unit") is None and typed:
            try:
                return find_unit(typed).id
            except DomainError:  # a page ignores a filter it cannot read
                return None
        return params.record_id("unit")
    value = params.text("unit")
    if value is None:
        return None
    try:
        return find_unit(value).id
    except DomainError as error:
        raise Invalid(error.message, field="unit") from None


SORTS = {
    "deadline": (Item.deadline.asc().nulls_last(), Item.id.asc()),
    # No deadline counts as the latest: last from early to late, first from late to early (the
    # deadline index read backwards; NULLS LAST here made PostgreSQL sort a province's items).
    "-deadline": (Item.deadline.desc().nulls_first(), Item.id.desc()),
    "updated": (Item.updated_at.desc(), Item.id.desc()),
    "id": (Item.id.asc(),),
    "-id": (Item.id.desc(),),
    "status": (Item.status.asc(), Item.deadline.asc().nulls_last(), Item.id.asc()),
    "unit": (Unit.path.asc(), Item.id.asc()),
    "year": (Item.year.desc(), Item.id.asc()),
}
SORT_TITLES = {
    "deadline": "整改时限（早→晚）",
    "-deadline": "整改时限（晚→早）",
    "updated": "最近更新",
    "status": "状态",
    "unit": "单位",
    "year": "年度",
    "id": "编号",
}


def load_item(item_id: int, user: User, need: Callable[[User, Item], bool] | None = None) -> Item:
    """The item with its unit, owner, report and categories; NotFound when missing or not visible,
    Forbidden when ``need(user, item)`` (a predicate of ``permissions``) says no."""
    item = db.session.scalar(
        select(Item)
        .where(Item.id == item_id)
        .options(
            joinedload(Item.unit),
            joinedload(Item.owner),
            joinedload(Item.report),
            selectinload(Item.category_links), selectinload(Item.co_units),
            # the evidence list names each file's uploader: one statement, not one per uploader
            selectinload(Item.evidence).joinedload(Evidence.uploaded_by),
        )
    )
    if item is None or not permissions.can_view_item(user, item):
        raise NotFound("事项不存在，或您无权查看。")
    if need is not None and not need(user, item):
        raise Forbidden("您没有执行此操作的权限。")
    return item


def load_evidence(evidence_id: int, user: User) -> Evidence:
    """An evidence row whose item ``user`` may see; NotFound otherwise (as for the item itself)."""
    evidence = db.session.get(Evidence, evidence_id)
    if evidence is None:
        raise NotFound("文件不存在，或您无权查看。")
    load_item(evidence.item_id, user)
    return evidence


def item_history(item: Item) -> list[ItemEvent]:
    return list(
        db.session.scalars(
            select(ItemEvent)
            .where(ItemEvent.item_id == item.id)
            .options(joinedload(ItemEvent.actor))
            .order_by(ItemEvent.id)
        )
    )


def _visible(user: User) -> Select:
    return select(Item).where(permissions.visible_items_clause(user))


def filtered_items(user: User | None, flt: ItemFilter, today: date) -> Select:
    """The items ``user`` may see (None: every item, for the operator's CLI) matching ``flt``."""
    return _apply(select(Item).where(live()) if user is None else _visible(user), flt, today)


def units_below(unit: Unit) -> Select:
    """Ids of ``unit`` and every unit below it."""
    return org_permissions.units_below(unit)


def _apply(query: Select, flt: ItemFilter, today: date) -> Select:
    if flt.unit_id is not None:
        unit = db.session.get(Unit, flt.unit_id)
        if unit is None:
            query = query.where(false())
        else:
            query = query.where(Item.unit_id == unit.id if flt.unit_only
                                else org_permissions.in_ids(Item.unit_id, org_permissions.unit_ids_below(unit)))
    if flt.year is not None:
        query = query.where(Item.year == flt.year)
    if flt.report_id is not None:  # its items, including those it has carried on to a later year
        query = query.where(or_(
            Item.report_id == flt.report_id,
            Item.id.in_(select(CarryOver.item_id).where(CarryOver.from_report_id == flt.report_id)),
        ))
    if flt.category:
        # The category's id first (one row): the items' links are then read from their index alone.
        category_id = db.session.scalar(select(Category.id).where(Category.code == flt.category))
        links = select(ItemCategory.item_id).where(ItemCategory.category_id == (category_id or 0))
        if flt.primary_category:
            links = links.where(ItemCategory.position == 0)
        query = query.where(Item.id.in_(links))
    if flt.status is not None:
        query = query.where(Item.status == flt.status)
    if flt.open_only:
        query = query.where(Item.status != Status.closed)
    if flt.overdue:
        query = query.where(overdue_clause(today))
    if flt.owner:
        owners = select(User.id).where(
            or_(User.username == flt.owner.strip(), User.name.contains(flt.owner.strip(), autoescape=True))
        )
        query = query.where(Item.owner_id.in_(owners))
    if flt.owner_id is not None:
        query = query.where(Item.owner_id == flt.owner_id)
    if flt.light is not None:
        query = query.where(light_clause(flt.light, today))
    if flt.closed_on_time is not None:
        on_time = Item.closed_on <= Item.closed_deadline
        query = query.where(Item.status == Status.closed, on_time if flt.closed_on_time else ~on_time)
    if flt.q:
        query = query.where(search.matches(flt.q))
    return query


def light_clause(light: Light, today: date):
    """SQL twin of ``traffic_light``: the items showing ``light`` on ``today``."""
    working = (Item.status != Status.closed) & Item.deadline.is_not(None)
    soon = today + timedelta(days=YELLOW_WITHIN_DAYS)
    if light is Light.red:
        return working & (Item.deadline < today)
    if light is Light.yellow:
        return working & (Item.deadline >= today) & (Item.deadline <= soon)
    if light is Light.green:
        return working & (Item.deadline > soon)
    return (Item.status == Status.closed) | Item.deadline.is_(None)


def overdue_clause(today: date):
    """Overdue (CONTRACT.md): a deadline before today, not closed. Derived, never stored."""
    return (Item.deadline < today) & (Item.status != Status.closed)


PAGE_COUNT_CAP = 10_000  # a list page counts its items up to this; beyond, "共1万余项" (the API counts all)
SEARCH_COUNT_CAP = 1_000  # the same for a searched list: each match costs a read of its document


ROW_OPTIONS = (joinedload(Item.unit), joinedload(Item.owner), selectinload(Item.category_links), selectinload(Item.co_units))


def _paginate(query: Select, order, page: int, per_page: int, clamp: bool = True, options=(), q: search.Query | None = None
              ) -> Page:
    """Pages (``clamp``) count up to PAGE_COUNT_CAP; the API (CONTRACT.md's ``total``) counts exactly.
    With a search ``q``: the items whose title holds it, then the others."""
    cap = PAGE_COUNT_CAP if clamp else None
    if q:
        cap = SEARCH_COUNT_CAP if clamp else None  # a frequent word matches much: its pages say "超过 1,000 项"
        in_title = search.matches(q, title_only=True)
        # The page's rows by their ids alone: the ids came from the filtered parts, and the search's
        # condition would be worked out again for nothing.
        return paginate_parts(query, [query.where(in_title), query.where(~in_title)], Item.id, order, page, per_page,
                              clamp=clamp, count_cap=cap, options=(*ROW_OPTIONS, *options), rows=select(Item))
    return paginate(query, Item.id, order, page, per_page, clamp=clamp, count_cap=cap, options=(*ROW_OPTIONS, *options))


def list_items(
    user: User, flt: ItemFilter, *, today: date, sort: str = "deadline", page: int = 1, per_page: int = 50,
    clamp: bool = True,
) -> Page:
    order = SORTS.get(sort, SORTS["deadline"])
    query = _apply(_visible(user), flt, today)
    if sort == "unit":
        query = query.join(Item.unit)
    return _paginate(query, order, page, per_page, clamp, q=flt.q)  # with a search, what the title holds first


def matching_ids(user: User, flt: ItemFilter, today: date, *, overdue: bool, limit: int) -> list[int]:
    """The ids of the items of a list (事项清单, or the 逾期清单 with ``overdue``), up to ``limit``:
    "all that match" of a bulk change."""
    query = filtered_items(user, flt, today)
    if overdue:
        query = query.where(overdue_clause(today))
    return list(db.session.scalars(query.with_only_columns(Item.id).order_by(Item.id).limit(limit)))


def overdue_items(
    user: User, *, today: date, page: int = 1, per_page: int = 50, flt: ItemFilter | None = None, clamp: bool = True
) -> Page:
    """Overdue items the user may see, most overdue first."""
    flt = flt or ItemFilter()
    query = _apply(_visible(user), flt, today).where(overdue_clause(today))
    return _paginate(query, (Item.deadline.asc(), Item.id.asc()), page, per_page, clamp, q=flt.q)


def my_items(user: User, *, today: date, include_closed: bool, page: int = 1, per_page: int = 50) -> Page:
    """The items ``user`` owns: most urgent first (no deadline last), closed ones only on request."""
    query = select(Item).where(Item.owner_id == user.id, live())
    if not include_closed:
        query = query.where(Item.status != Status.closed)
    order = (
        (Item.status == Status.closed).asc(),
        Item.deadline.asc().nulls_last(),
        Item.id.asc(),
    )
    return _paginate(query, order, page, per_page)


def review_queue(user: User, *, page: int = 1, per_page: int = 50) -> Page:
    """Items awaiting close-out review under the user's units, oldest request first."""
    query = (
        select(Item)
        .where(permissions.supervised_items_clause(user), Item.status == Status.pending_review)
    )
    return _paginate(query, (Item.updated_at.asc(), Item.id.asc()), page, per_page,
                     options=(selectinload(Item.first_approver), selectinload(Item.first_review_unit)))


@dataclass
class ReviewFacts:
    """What a review card shows beside an item: its evidence, and how often it was returned."""

    evidence: list[Evidence]
    returns: int


def review_facts(item_ids: list[int]) -> dict[int, ReviewFacts]:
    """For the items of a review page: two statements whatever their number."""
    facts = {item_id: ReviewFacts([], 0) for item_id in item_ids}
    for evidence in db.session.scalars(
        select(Evidence).where(Evidence.item_id.in_(item_ids), Evidence.removed_at.is_(None)).order_by(Evidence.id)
    ):
        facts[evidence.item_id].evidence.append(evidence)
    for item_id, returns in db.session.execute(
        select(ItemEvent.item_id, func.count(ItemEvent.id))
        .where(ItemEvent.item_id.in_(item_ids), ItemEvent.action == EventAction.return_).group_by(ItemEvent.item_id)
    ):
        facts[item_id].returns = returns
    return facts


def pending_extensions(user: User, limit: int = 200) -> list[ExtensionRequest]:
    """Extension requests awaiting a decision under the user's units, oldest first."""
    return list(
        db.session.scalars(
            select(ExtensionRequest)
            .join(ExtensionRequest.item)
            .where(
                permissions.supervised_items_clause(user),
                ExtensionRequest.status == ExtensionStatus.pending,
            )
            .options(
                joinedload(ExtensionRequest.item).joinedload(Item.unit),
                joinedload(ExtensionRequest.item).joinedload(Item.owner),
                joinedload(ExtensionRequest.requested_by),
            )
            .order_by(ExtensionRequest.requested_at.asc(), ExtensionRequest.id.asc())
            .limit(limit)
        )
    )


def count_pending_extensions(user: User) -> int:
    return db.session.scalar(
        select(func.count(ExtensionRequest.id))
        .join(ExtensionRequest.item)
        .where(
            permissions.supervised_items_clause(user),
            ExtensionRequest.status == ExtensionStatus.pending,
        )
    )






def item_years(user: User) -> list[int]:
    """The years the user has items in, newest first, for the year picker: found one by one, each
    the smallest year after the last (a recursive query the (unit_id, year) and year indexes answer
    in a few probes a year), not by reading every visible item (240 ms at 10^6, issue 17)."""
    visible = permissions.visible_items_clause(user)
    years = select(func.min(Item.year).label("year")).where(visible).cte("years", recursive=True)
    after = select(func.min(Item.year)).where(visible, Item.year > years.c.year).scalar_subquery()
    years = years.union_all(select(after).where(years.c.year.is_not(None)))
    return list(db.session.scalars(select(years.c.year).where(years.c.year.is_not(None)).order_by(years.c.year.desc())))


def all_categories() -> list[Category]:
    return list(db.session.scalars(select(Category).order_by(Category.position, Category.id)))


def items_by_ids(user: User, ids: list[int]) -> list[Item]:
    """The visible items among ``ids``, with their units and owners."""
    if not ids:
        return []
    return list(
        db.session.scalars(
            _visible(user)
            .where(Item.id.in_(ids))
            .options(joinedload(Item.unit), joinedload(Item.owner), selectinload(Item.category_links), selectinload(Item.co_units))
            .order_by(Item.id)
        )
    )




def items_owned_outside_reach(user: User, limit: int = 1000) -> int:
    """Unclosed items ``user`` owns but could no longer be given (after a move to another unit)."""
    owned = db.session.scalars(
        select(Item)
        .where(Item.owner_id == user.id, Item.status != Status.closed, live())
        .options(joinedload(Item.unit))
        .limit(limit)
    )
    return sum(1 for item in owned if not org_permissions.eligible_owner(user, item.unit))

