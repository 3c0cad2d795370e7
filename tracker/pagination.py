"""Bounded pages of a query: one COUNT and one page of rows, whatever the size of the table."""

import math
from dataclasses import dataclass

from sqlalchemy import Select, func, select

from tracker.extensions import db


@dataclass
class Page:
    items: list
    total: int  # with ``exact`` false: more than this many (the count stopped there)
    page: int
    per_page: int
    exact: bool = True
    more: bool = False  # with ``exact`` false: there is a page after this one

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages if self.exact else self.more


def paginate(query: Select, key, order, page: int, per_page: int, *, clamp: bool = True, options=(),
             count_cap: int | None = None) -> Page:
    """One page of ``query`` ordered by ``order``, counting ``key``. Pages clamp a page past the
    end to the last one; the API does not (``clamp=False``): there a page past the end is empty,
    so a client paging until empty stops.

    With ``count_cap`` the count stops there (a page says "共1万余项": counting a province's
    million items cost 90 ms a page, issue 17), and a page past the end is not clamped.

    The page's keys are sorted first, and only its rows are then loaded with ``options`` (joined
    units, owners…): joining onto every matching row before the sort made PostgreSQL sort whole
    rows of a province, spilling to disk (issue 17: 858 → 157 ms for page 1 at 10^6)."""
    total = _count(query, key, count_cap)
    exact = count_cap is None or total <= count_cap
    pages = max(1, math.ceil(total / per_page))
    page = min(max(1, page), pages) if clamp and exact else max(1, page)
    keys = list(db.session.scalars(
        query.with_only_columns(key).order_by(*order).limit(per_page + 1).offset((page - 1) * per_page)))
    more, keys = len(keys) > per_page, keys[:per_page]
    # The query again, for the page's keys only: its own options (joined units…) and ``options``.
    return Page(_load(query, key, keys, options), total if exact else count_cap, page, per_page, exact, more)


def paginate_parts(base: Select, parts: list[Select], key, order, page: int, per_page: int, *, clamp: bool = True,
                   options=(), count_cap: int | None = None, rows: Select | None = None) -> Page:
    """``paginate`` over ``parts`` of ``base`` listed one after the other, each in ``order`` (a
    search's title matches, then the rest), so that no part is sorted by a key ranking it above
    the other: ``base`` is counted (up to ``count_cap``), and each part read only as far as the
    page reaches; a part is counted only when the page lies past its end. The page's rows are
    loaded by their keys from ``rows`` (default ``base``). A fixed number of statements."""
    total = _count(base, key, count_cap)
    exact = count_cap is None or total <= count_cap
    pages = max(1, math.ceil(total / per_page))
    page = min(max(1, page), pages) if clamp and exact else max(1, page)
    skip, wanted, keys = (page - 1) * per_page, per_page + 1, []
    for number, part in enumerate(parts):
        found = list(db.session.scalars(part.with_only_columns(key).order_by(*order).limit(wanted).offset(skip)))
        keys += found
        wanted -= len(found)
        if wanted == 0 or number == len(parts) - 1:
            break
        # The part ended within the page (the next starts at its top) or before it (by how much?).
        skip = 0 if found else skip - _count(part, key, skip)
    more, keys = len(keys) > per_page, keys[:per_page]
    return Page(_load(base if rows is None else rows, key, keys, options), total if exact else count_cap, page,
                per_page, exact, more)


def _load(query: Select, key, keys: list, options) -> list:
    """The rows of ``query`` with these keys, in their order (none: no statement)."""
    if not keys:
        return []
    loaded = {getattr(row, key.key): row for row in db.session.scalars(
        query.where(key.in_(keys)).order_by(None).options(*options)).unique()}
    return [loaded[k] for k in keys if k in loaded]


def _count(query: Select, key, cap: int | None) -> int:
    """How many rows ``query`` has, counting no further than ``cap`` + 1 (None: all)."""
    if cap is None:
        return db.session.scalar(query.with_only_columns(func.count(key)).order_by(None))
    capped = query.with_only_columns(key).order_by(None).limit(cap + 1).subquery()
    return db.session.scalar(select(func.count()).select_from(capped))
