"""The downloads: the ledger (.xlsx) of a list's items, and a report's section draft (.docx)."""

import io
import tempfile

from flask import Blueprint, redirect, render_template, request, send_file, url_for
from flask_login import current_user

from tracker import clock
from tracker.exports import background, ledger, section
from tracker.items import queries
from tracker.org import queries as org_queries
from tracker.web.pages import guard
from tracker.web.work import run

bp = Blueprint("exports", __name__)


guard(bp)


@bp.get("/items/export.xlsx")
def ledger_xlsx():
    """The ledger (整改台账) of the items the user may see, with the list page's filters: written
    within the request up to EXPORT_INLINE_ROWS rows, else built in the background (a page follows it)."""
    args = background.list_args(request.args)
    today = clock.local_today()
    rows = background.count(current_user, args, today)
    if rows > background.inline_rows():
        export, new = run(lambda: background.record(current_user, args, rows, now=clock.utcnow()))
        if new:
            background.launch(export.id)
        return redirect(url_for("exports.export_page", export_id=export.id))
    flt = queries.ItemFilter.from_args(args, strict=False, user=current_user)
    # On disk, not in memory; send_file closes it when sent.
    out = tempfile.TemporaryFile()  # noqa: SIM115
    ledger.write_ledger(out, queries.filtered_items(current_user, flt, today), today=today,
                        creator=current_user.display_name, scope=ledger.ledger_scope(flt, current_user, today))
    out.seek(0)
    return send_file(out, mimetype=ledger.XLSX_TYPE, as_attachment=True,
                     download_name=f"{ledger.SHEET_TITLE}-{today:%Y%m%d}.xlsx", max_age=0)


@bp.get("/exports/<id:export_id>")
def export_page(export_id: int):
    """How far a background export has got; the file once it is written."""
    now = clock.utcnow()
    export = background.export_of(current_user, export_id, now=now)
    others = [other for other in background.recent(current_user, now=now) if other.id != export.id]
    return render_template("exports/progress.html", export=export, others=others, keep=background.keep_for())


@bp.get("/exports/<id:export_id>/file")
def export_file(export_id: int):
    return background.send(current_user, export_id, now=clock.utcnow())


@bp.get("/reports/<id:unit_id>/<year:year>/section.docx")
def section_docx(unit_id: int, year: int):
    """The section for ``year``'s report: what became of ``year - 1``'s problems, then ``year``'s
    (who may see the unit's report is the report's own rule: a 404 otherwise)."""
    unit = org_queries.report_unit(unit_id)
    data = section.report_section(unit, year, user=current_user, today=clock.local_today())
    return send_file(io.BytesIO(data), mimetype=section.DOCX_TYPE, as_attachment=True,
                     download_name=section.section_filename(unit, year), max_age=0)
