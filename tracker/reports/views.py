"""Report pages: the reports list with the year-end rollover button, a unit's report for a
year with its own and carried-over problems, and the report section draft (.docx)."""


from flask import Blueprint, abort, render_template, url_for
from flask_login import current_user

from tracker import clock
from tracker.errors import Invalid
from tracker.extensions import db
from tracker.forms import db_id
from tracker.importing import originals
from tracker.importing import services as importing
from tracker.org import permissions
from tracker.org import queries as org_queries
from tracker.org.models import Unit
from tracker.reports import queries
from tracker.reports.forms import RolloverForm, WithdrawForm
from tracker.rollover import services as rollover
from tracker.rollover.models import RolloverSource
from tracker.web.pages import done, guard
from tracker.web.work import run, submitted

bp = Blueprint("reports", __name__, url_prefix="/reports")


guard(bp)

def _rollover_form(form: RolloverForm | None = None) -> RolloverForm:
    form = form or RolloverForm(year=clock.year_just_ended(clock.local_today()))
    units = org_queries.supervised_units(current_user)
    form.unit.choices = ([("", "全部单位")] if permissions.can_roll_over(current_user, None) else []) + [
        (str(u.id), u.indented_name) for u in units
    ]
    return form


@bp.get("")
def index(form: RolloverForm | None = None, status: int = 200):
    """Reports of the units the user supervises, newest first, with item counts by status."""
    if not permissions.is_supervisor(current_user):
        abort(403)
    return render_template(
        "reports/index.html", reports=queries.report_years(current_user), form=_rollover_form(form),
        runs=queries.rollover_runs(current_user),
    ), status


@bp.post("/rollover")
def roll_over():
    if not permissions.is_supervisor(current_user):
        abort(403)
    form = _rollover_form(RolloverForm())

    def carry():
        unit = None
        if form.unit.data:
            try:
                unit = db.session.get(Unit, db_id(form.unit.data))
            except ValueError:
                unit = None
            if unit is None:
                raise Invalid("请选择督办范围内的单位。", field="unit")
        return rollover.carry_over_year(form.year.data, today=clock.local_today(), now=clock.utcnow(),
                                        actor=current_user, unit=unit, source=RolloverSource.web)

    outcome = submitted(form, carry)
    if not outcome.ok:
        return index(form, outcome.status)
    result = outcome.result
    if not result.carried:
        return done(f"{result.year}年度没有需要结转的事项：未销号的事项均已结转。", url_for("reports.index"))
    message = f"已将{result.year}年度未销号的{result.carried}个事项结转至{result.year + 1}年度（{result.reports}份报告"
    message += f"，其中新建草稿{result.created_reports}份）。" if result.created_reports else "）。"
    return done(message, url_for("reports.index"))


@bp.get("/<id:unit_id>/<year:year>")
def show(unit_id: int, year: int, *, status: int = 200, withdraw: tuple[int, WithdrawForm] | None = None):
    unit = org_queries.report_unit(unit_id)
    report = queries.report_year(unit, year, current_user)
    return render_template("reports/show.html", report=report, counts=report.counts(), limit=queries.ROW_LIMIT,
                           withdraw=withdraw), status


@bp.get("/<id:report_id>/original")
def original(report_id: int):
    """The file a report was imported from, for those who may see the report."""
    return originals.send(run(lambda: originals.original(report_id, current_user)))


@bp.post("/<id:report_id>/withdraw")
def withdraw(report_id: int):
    """撤回导入: the whole report and its items, out of every list (see importing.withdraw_report)."""
    report = queries.find_report(report_id, current_user)
    form = WithdrawForm()
    outcome = submitted(form, lambda: importing.withdraw_report(
        report, current_user, reason=form.reason.data, now=clock.utcnow()))
    if outcome.ok:
        return done(f"已撤回《{report.title}》及其{outcome.result}个问题；如需要，可在正确的单位或年度下重新导入。",
                    url_for("reports.index"))
    return show(report.unit_id, report.year, status=outcome.status, withdraw=(report.id, form))


bp.add_app_template_global(importing.can_withdraw, "can_withdraw_report")
bp.add_app_template_global(WithdrawForm, "WithdrawForm")


