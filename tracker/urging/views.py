"""督办单 on pages: issued from the item page, downloaded as .docx."""

import io

from flask import Blueprint, flash, redirect, request, send_file, url_for
from flask_login import current_user

from tracker import clock
from tracker.errors import DomainError, NotFound
from tracker.extensions import db
from tracker.forms import ButtonForm
from tracker.items import permissions, queries
from tracker.items.models import UrgeLevel
from tracker.items.views import item_page
from tracker.officedoc import DOCX_TYPE
from tracker.org.models import Unit
from tracker.stats import rollup
from tracker.urging import bulletin, services
from tracker.urging import queries as urging_queries
from tracker.urging.document import urge_document, urge_filename
from tracker.urging.forms import UrgeForm
from tracker.web import params
from tracker.web.pages import done, guard, safe_next
from tracker.web.params import Params
from tracker.web.work import first_error, run, submitted

bp = Blueprint("urging", __name__)
guard(bp)


@bp.app_template_global()
def urging_panel(item) -> dict:
    """What the item page shows of its notices: the list, and the form for those who may issue one."""
    may_issue = permissions.may_urge_now(current_user, item)
    return {"urges": services.item_urges(item), "form": UrgeForm(formdata=None) if may_issue else None,
            "levels": list(UrgeLevel), "suggested": services.suggested_level(item, clock.local_today(), services.current_rule())}


@bp.app_template_global()
def urging_due(unit_ids: list[int]) -> urging_queries.Due:
    """The dashboard's 建议督办: the items of those units whose suggested level is above their last notice."""
    return urging_queries.due_for_urging(unit_ids, clock.local_today())


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


@bp.post("/urges/batch")
def batch():
    """督办单 for the items ticked in a list or on the dashboard: each at the level chosen, or at its
    suggested level (``level=suggested``); all or none."""
    back = safe_next(request.form.get("next"), url_for("stats.dashboard"))
    if not ButtonForm().validate_on_submit():
        flash("页面已过期，请刷新后重试。", "danger")
        return redirect(back)
    form = Params(request.form, strict=False)
    chosen = request.form.get("level", "suggested")
    try:
        level = None if chosen == "suggested" else services.parse_level(chosen)
        ids = [params.record_id(value, "item_ids") for value in request.form.getlist("item_ids")[:services.BATCH_MAX + 1]]
        notices = run(lambda: services.issue_many(
            [queries.load_item(item_id, current_user) for item_id in dict.fromkeys(ids)], current_user, level,
            comment=form.text("comment", max_length=services.COMMENT_MAX) or "", now=clock.utcnow(),
            today=clock.local_today()))
    except DomainError as error:
        flash(f"未发出督办单：{error.message}", "danger")
        return redirect(back)
    levels = "、".join(f"{level.title}{n}份" for level in UrgeLevel
                      if (n := sum(1 for notice in notices if notice.level is level)))
    return done(f"已发出督办单{len(notices)}份（{levels}），并已通知各责任人。", back)


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
