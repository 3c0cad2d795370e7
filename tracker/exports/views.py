"""The downloads: the ledger (.xlsx) of a list's items, and a report's section draft (.docx)."""

import io
import tempfile

from flask import Blueprint, request, send_file
from flask_login import current_user

from tracker import clock
from tracker.exports import ledger, section
from tracker.items import queries
from tracker.org import queries as org_queries
from tracker.web.pages import guard

bp = Blueprint("exports", __name__)


guard(bp)


@bp.get("/items/export.xlsx")
def ledger_xlsx():
    """The ledger (整改台账) of the items the user may see, with the list page's filters."""
    today = clock.local_today()
    flt = queries.ItemFilter.from_args(request.args, strict=False, user=current_user)
    # On disk, not in memory (100,000 rows make a sizeable file); send_file closes it when sent.
    out = tempfile.TemporaryFile()  # noqa: SIM115
    ledger.write_ledger(out, queries.filtered_items(current_user, flt, today), today=today,
                        creator=current_user.display_name)
    out.seek(0)
    return send_file(out, mimetype=ledger.XLSX_TYPE, as_attachment=True,
                     download_name=f"{ledger.SHEET_TITLE}-{today:%Y%m%d}.xlsx", max_age=0)


@bp.get("/reports/<id:unit_id>/<year:year>/section.docx")
def section_docx(unit_id: int, year: int):
    """The section for ``year``'s report: what became of ``year - 1``'s problems, then ``year``'s
    (who may see the unit's report is the report's own rule: a 404 otherwise)."""
    unit = org_queries.report_unit(unit_id)
    data = section.report_section(unit, year, user=current_user, today=clock.local_today())
    return send_file(io.BytesIO(data), mimetype=section.DOCX_TYPE, as_attachment=True,
                     download_name=section.section_filename(unit, year), max_age=0)
