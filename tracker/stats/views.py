"""The 统计看板: a supervisor's figures across their tree of units, as of any day."""

from flask import Blueprint, render_template, request
from flask_login import current_user
from sqlalchemy import select

from tracker import clock
from tracker.extensions import db
from tracker.items import saved
from tracker.items.models import Category, Report
from tracker.org import permissions
from tracker.org.queries import units_around
from tracker.stats import rollup
from tracker.web.pages import guard

bp = Blueprint("stats", __name__)
guard(bp, permissions.is_supervisor)


@bp.get("/dashboard")
def dashboard():
    flt = rollup.StatsFilter.from_args(request.args, strict=False)
    today = clock.local_today()
    result = rollup.rollup_for(current_user, flt, today)
    sort = request.args.get("sort", "overdue")
    rows = rollup.sorted_rows(result.rows, sort)
    return render_template(
        "stats/dashboard.html", r=result, rows=rows, sort=sort if sort in rollup.SORT_KEYS else "overdue",
        flt=flt, units=units_around(current_user, result.unit), years=_years(),
        categories=list(db.session.scalars(select(Category).order_by(Category.position, Category.id))),
        chart=_chart(result, rows), my_views=saved.visible_views(current_user),
    )


def _years() -> list[int]:
    """The years the picker offers: those of the reports (a small table), newest first."""
    return list(db.session.scalars(select(Report.year).distinct().order_by(Report.year.desc())))


def _chart(result: rollup.Rollup, rows: list[rollup.UnitRow]) -> dict:
    """What the charts draw (tracker/static/dashboard.js): the same figures as the tables."""
    return {
        "units": {"names": [("本级" if row.own else row.unit.name) for row in rows],
                  "red": [row.totals.red for row in rows], "yellow": [row.totals.yellow for row in rows],
                  "green": [row.totals.green for row in rows], "closed": [row.totals.closed for row in rows]},
        "categories": {"names": [row.category.name for row in result.categories],
                       "items": [row.totals.items for row in result.categories],
                       "closed": [row.totals.closed for row in result.categories]},
        "months": {"names": [row.label for row in result.months], "created": [row.created for row in result.months],
                   "closed": [row.closed for row in result.months], "overdue": [row.overdue for row in result.months]},
    }
