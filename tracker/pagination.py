"""Bounded pages of a query: one COUNT and one page of rows, whatever the size of the table."""

import math
from dataclasses import dataclass

from sqlalchemy import Select, func

from tracker.extensions import db


@dataclass
class Page:
    items: list
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def paginate(query: Select, key, order, page: int, per_page: int, *, clamp: bool = True, options=()) -> Page:
    """One page of ``query`` ordered by ``order``, counting ``key``. Pages clamp a page past the
    end to the last one; the API does not (``clamp=False``): there a page past the end is empty,
    so a client paging until empty stops.

    The page's keys are sorted first, and only its rows are then loaded with ``options`` (joined
    units, owners…): joining onto every matching row before the sort made PostgreSQL sort whole
    rows of a province, spilling to disk (issue 17: 858 → 157 ms for page 1 at 10^6)."""
    total = db.session.scalar(query.with_only_columns(func.count(key)).order_by(None))
    pages = max(1, math.ceil(total / per_page))
    page = min(max(1, page), pages) if clamp else max(1, page)
    keys = list(db.session.scalars(
        query.with_only_columns(key).order_by(*order).limit(per_page).offset((page - 1) * per_page)))
    if not keys:
        return Page([], total, page, per_page)
    # The query again, for the page's keys only: its own options (joined units…) and ``options``.
    loaded = {getattr(row, key.key): row for row in db.session.scalars(
        query.where(key.in_(keys)).order_by(None).options(*options)).unique()}
    return Page([loaded[k] for k in keys if k in loaded], total, page, per_page)
