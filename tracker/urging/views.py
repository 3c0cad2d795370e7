"""督办单 on pages: issued from the item page, downloaded as .docx."""

import io

from flask import Blueprint, request, send_file, url_for
from flask_login import current_user

from tracker import clock
from tracker.errors import NotFound
from tracker.extensions import db
from tracker.items import permissions, queries
from tracker.items.models import UrgeLevel
from tracker.items.views import item_page
from tracker.officedoc import DOCX_TYPE
from tracker.org.models import Unit
from tracker.stats import rollup
from tracker.urging import bulletin, services
from tracker.urging.document import urge_document, urge_filename
from tracker.urging.forms import UrgeForm
from tracker.web.pages import done, guard
from tracker.web.params import Params
from tracker.web.work import first_error, submitted

bp = Blueprint("urging", __name__)
guard(bp)


@bp.app_template_global()
def urging_panel(item) -> dict:
    """What the item page shows of its notices: the list, and the form for those who may issue one."""
    may_issue = permissions.may_urge_now(current_user, item)
    urges = services.item_urges(item)
    return {"urges": urges, "form": UrgeForm(formdata=None) if may_issue else None, "levels": list(UrgeLevel),
            "suggested": services.suggested_level(item, urges, clock.local_today())}


@bp.post("/items/<id:item_id>/urge")
def urge(item_id: int):
    item = queries.load_item(item_id, current_user, need=permissions.can_urge_item)
    form = UrgeForm()
    outcome = submitted(form, lambda: services.issue(
        item, current_user, services.parse_level(form.level.data), comment=form.comment.data or "",
        reply_by=form.reply_by.data, now=clock.utcnow(), today=clock.local_today(),
    ))
    if outcome.ok:
        notice = outcome.result
        return done(f"已发出{notice.level.title}单 {notice.number}，并已通知责任人。",
                    url_for("items.show", item_id=item.id) + "#urges")
    return item_page(queries.load_item(item_id, current_user), status=outcome.status, page_error=first_error(form))


@bp.get("/bulletin.docx")
def bulletin_docx():
    """The 情况通报 for the dashboard's unit and a period (``unit``, ``from``, ``to``)."""
    args = Params(request.args)
    today = clock.local_today()
    unit_id = args.record_id("unit")
    unit = db.session.get(Unit, unit_id) if unit_id else rollup.default_unit(current_user)
    if unit is None:
        raise NotFound("单位不存在。")
    start, end = bulletin.check_period(args.day("from"), args.day("to"), today)
    made = bulletin.bulletin_for(current_user, unit, start, end, today)
    return send_file(io.BytesIO(bulletin.bulletin_document(made)), mimetype=DOCX_TYPE, as_attachment=True,
                     download_name=bulletin.bulletin_filename(made))


@bp.get("/urges/<id:urge_id>.docx")
def document(urge_id: int):
    notice = services.load_urge(urge_id, current_user)
    return send_file(io.BytesIO(urge_document(notice)), mimetype=DOCX_TYPE, as_attachment=True,
                     download_name=urge_filename(notice))
