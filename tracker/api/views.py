"""The JSON API under /api/v1 (CONTRACT.md): a second door onto the services the pages use.

Every handler: authenticate the bearer token → parse → authorise (404/403 as the pages) →
call one service → commit once → answer JSON. Errors are {"error": "…", "field": "…"}.
"""

import io
from datetime import date

from flask import Blueprint, current_app, g, jsonify, render_template, request, send_file, url_for
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

from tracker import clock
from tracker.api import openapi
from tracker.errors import DomainError, Forbidden, Invalid
from tracker.extensions import csrf, db
from tracker.importing import services as importing
from tracker.items import evidence as evidence_files
from tracker.items import queries, services, workflow
from tracker.items.models import Item
from tracker.items.schemas import (
    EventSchema,
    EvidenceSchema,
    ItemDetailSchema,
    ItemPageSchema,
    ItemPatchSchema,
    ItemSchema,
    ProgressSchema,
    TransitionSchema,
)
from tracker.officedoc import DOCX_TYPE
from tracker.org import permissions, signin
from tracker.org.services import find_unit
from tracker.org.tokens import user_for_token
from tracker.org.views import client
from tracker.reminders import queries as reminder_queries
from tracker.reminders import services as reminder_services
from tracker.reports import queries as report_queries
from tracker.reports.schemas import ReportPageSchema, ReportSchema
from tracker.stats import rollup
from tracker.stats.schemas import StatsSchema
from tracker.urging import services as urging
from tracker.urging.document import urge_document, urge_filename
from tracker.web import params
from tracker.web.params import Params
from tracker.web.work import run, unit_of_work

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)



class Unauthorized(DomainError):
    status_code = 401


class Malformed(DomainError):
    status_code = 400


def error(message: str, status: int, field: str | None = None):
    body = {"error": message}
    if field:
        body["field"] = field
    response = jsonify(body)
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="tracker"'
    return response


PUBLIC = frozenset({"api.openapi_json", "api.docs"})


@bp.get("/openapi.json")
def openapi_json():
    return openapi.spec(url_for("api.openapi_json").rsplit("/", 1)[0])


@bp.get("/docs")
def docs():
    return render_template("api/docs.html", spec=openapi.spec(), paths=openapi.PATHS)


@bp.before_request
def authenticate():
    """Every call needs ``Authorization: Bearer <token>``; the token is never logged."""
    if request.endpoint in PUBLIC:
        return None
    now, zone = clock.utcnow(), clock.local_zone()
    refusal = signin.token_refusal(request.remote_addr or "", now, zone)
    if refusal is not None:  # this address sent too many wrong tokens: no more guesses for now
        db.session.rollback()
        return error(refusal, 429)
    scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    user = user_for_token(secret.strip(), now=now) if scheme.lower() == "bearer" else None
    if user is None:
        db.session.rollback()
        if secret.strip():  # a token was offered, and it was wrong: count it against the address
            signin.token_failed(client(), now, signin.Policy.from_config(current_app.config), zone)
            db.session.commit()
        return error("需要有效的访问令牌（Authorization: Bearer …）。", 401)
    db.session.commit()  # last_used_at, in a transaction of its own before the call's
    g.api_user = user


@bp.errorhandler(DomainError)
def domain_error(exc: DomainError):
    db.session.rollback()
    return error(exc.message, exc.status_code, exc.field)


@bp.errorhandler(StaleDataError)
def stale(exc):
    db.session.rollback()
    return error("该事项已被修改，请重新读取后再试。", 409)


@bp.errorhandler(HTTPException)
def http_error(exc: HTTPException):
    messages = {404: "不存在，或您无权查看。", 405: "不支持该请求方法。", 413: "文件过大。", 400: "请求格式错误。"}
    return error(messages.get(exc.code, exc.description or "请求出错。"), exc.code or 400)


def _user():
    return g.api_user


def _today() -> date:
    return clock.local_today()


def _json_body() -> dict:
    """The JSON object sent (NUL and lone surrogates were refused for every door before this)."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise Malformed("请求体应为 JSON 对象（Content-Type: application/json）。")
    return body


# Items of each report in the list of reports (items_per_report); a report's own page gives them all, a page at a time.
REPORT_ITEMS = 20


def _page_params() -> tuple[int, int]:
    config = current_app.config
    return Params(request.args).page(per_page=config["PER_PAGE"], max_per_page=config["MAX_PER_PAGE"])


def _filter() -> queries.ItemFilter:
    return queries.ItemFilter.from_args(request.args, strict=True)


def _page_json(page: queries.Page) -> dict:
    today = _today()
    return ItemPageSchema(items=[ItemSchema.of(item, today) for item in page.items], page=page.page,
                          per_page=page.per_page, total=page.total).dump()


def _item(item_id: int) -> Item:
    return queries.load_item(item_id, _user())


def _item_with_history(item: Item) -> dict:
    return ItemDetailSchema(
        **dict(ItemSchema.of(item, _today())), evidence=[EvidenceSchema.of(e) for e in item.evidence],
        history=[EventSchema.of(e) for e in queries.item_history(item)],
    ).dump()


def _expected_version(body: dict | None = None) -> int | None:
    """The version the caller read: ``If-Match: "3"`` or ``"version": 3`` in the body."""
    header = request.headers.get("If-Match", "").strip().removeprefix("W/").strip('"')
    if header and header != "*":  # "*": any version
        return params.integer(header, "If-Match")
    if body and body.get("version") is not None:
        return params.integer(body["version"], "version")
    return None


@bp.get("/items")
def list_items():
    page, per_page = _page_params()
    result = queries.list_items(_user(), _filter(), today=_today(), sort="id", page=page, per_page=per_page,
                                clamp=False)
    return _page_json(result)


@bp.get("/overdue")
def overdue():
    page, per_page = _page_params()
    return _page_json(queries.overdue_items(_user(), today=_today(), page=page, per_page=per_page, flt=_filter(),
                                            clamp=False))


@bp.get("/items/<id:item_id>")
def get_item(item_id: int):
    return _item_with_history(_item(item_id))


@bp.patch("/items/<id:item_id>")
def patch_item(item_id: int):
    item = _item(item_id)
    body = _json_body()
    patch = ItemPatchSchema.parse(body)
    changes = {name: getattr(patch, name) for name in patch.model_fields_set}
    if "owner" in changes:
        changes["owner"] = services.find_person(changes["owner"])
    if "categories" in changes:
        changes["categories"] = services.categories_by_code(changes["categories"])
    if "unit" in changes:
        changes["unit"] = _unit_named(changes["unit"])
    if "co_units" in changes:
        changes["co_units"] = [_unit_named(name, "co_units") for name in changes["co_units"] or []]
    with unit_of_work():
        services.update_item(item, _user(), changes, now=clock.utcnow(), today=_today(),
                             expected_version=_expected_version(body))
    return ItemSchema.of(item, _today()).dump()


def _unit_named(name: str | None, field: str = "unit"):
    try:
        return find_unit(name or "")
    except DomainError as error:
        raise Invalid(error.message, field=field) from None


@bp.post("/items/<id:item_id>/progress")
def add_progress(item_id: int):
    item = _item(item_id)
    body = _json_body()
    note = ProgressSchema.parse(body).note
    event = run(lambda: services.add_progress(item, _user(), note, now=clock.utcnow()))
    return EventSchema.of(event).dump(), 201


@bp.post("/items/<id:item_id>/evidence")
def add_evidence(item_id: int):
    item = _item(item_id)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise Invalid("请用 multipart 字段 file 上传文件。", field="file")
    evidence = run(lambda: evidence_files.add_evidence(
        item, _user(), upload.stream, upload.filename, now=clock.utcnow(),
        description=request.form.get("description", ""),
        max_bytes=current_app.config["MAX_UPLOAD_MB"] * 1024 * 1024,
    ))
    return EvidenceSchema.of(evidence).dump(), 201


@bp.get("/evidence/<id:evidence_id>")
def get_evidence(evidence_id: int):
    evidence = queries.load_evidence(evidence_id, _user())
    # The whole file every time (no 304/206): scripts fetch evidence to archive it.
    response = evidence_files.send(evidence, as_attachment=True, download_name=evidence.filename, conditional=False,
                                   max_age=0)
    response.headers["Content-Security-Policy"] = "sandbox"
    return response


@bp.post("/items/<id:item_id>/transition")
def transition(item_id: int):
    item = _item(item_id)
    body = _json_body()
    asked = TransitionSchema.parse(body)
    # CONTRACT.md's body is {action, comment, deadline}: for submit, the comment says what was done.
    summary = asked.summary or (asked.comment if asked.action is workflow.Action.submit else "")
    with unit_of_work():
        workflow.perform(
            item, asked.action, _user(), now=clock.utcnow(), today=_today(), comment=asked.comment,
            summary=summary, deadline=asked.deadline, expected_version=_expected_version(body),
        )
    return ItemSchema.of(item, _today()).dump()


def _supervisors_only() -> None:
    if not permissions.is_supervisor(_user()):
        raise Forbidden("只有督办人可以查看报告。")


@bp.get("/reports")
def list_reports():
    _supervisors_only()
    page, per_page = _page_params()
    per_report = Params(request.args).integer("items_per_report", REPORT_ITEMS, high=current_app.config["MAX_PER_PAGE"])
    result = report_queries.reports_page(_user(), page=page, per_page=per_page, clamp=False)
    items = report_queries.report_items([r.id for r in result.items], _user(), per_report=per_report)
    today = _today()
    return ReportPageSchema(reports=[ReportSchema.of(r, items[r.id], today, per_page=per_report) for r in result.items],
                            page=result.page, per_page=result.per_page, total=result.total).dump()


@bp.get("/reports/<id:report_id>")
def get_report(report_id: int):
    _supervisors_only()
    report = report_queries.find_report(report_id, _user())
    args = Params(request.args)
    page = args.integer("items_page", 1, high=10**6)
    per_page = args.integer("items_per_page", current_app.config["MAX_PER_PAGE"], high=current_app.config["MAX_PER_PAGE"])
    listed = report_queries.report_items([report.id], _user(), per_report=per_page, offset=(page - 1) * per_page)
    return ReportSchema.of(report, listed[report.id], _today(), page=page, per_page=per_page).dump()


@bp.post("/items/<id:item_id>/urge")
def urge(item_id: int):
    body = _json_body()
    item = _item(item_id)
    notice = run(lambda: urging.issue(
        item, _user(), urging.parse_level(body.get("level")), comment=params.text(body.get("comment") or "", "comment"),
        reply_by=params.day(body["reply_by"], "reply_by") if body.get("reply_by") else None,
        now=clock.utcnow(), today=_today(),
    ))
    return {"id": notice.id, "number": notice.number, "level": notice.level.value, "item_id": notice.item_id,
            "issued_at": notice.issued_at.isoformat(), "issued_by": _user().username,
            "reply_by": notice.reply_by.isoformat()}, 201


@bp.get("/urges/<id:urge_id>.docx")
def urge_docx(urge_id: int):
    notice = urging.load_urge(urge_id, _user())
    return send_file(io.BytesIO(urge_document(notice)), mimetype=DOCX_TYPE, as_attachment=True,
                     download_name=urge_filename(notice))


@bp.get("/notifications")
def list_notifications():
    page, per_page = _page_params()
    listed = reminder_queries.notifications(_user(), unread_only=Params(request.args).flag("unread"), page=page,
                                            per_page=per_page, clamp=False)
    return {"items": [{"id": n.id, "at": n.created_at.isoformat(), "kind": n.kind, "item_id": n.item_id,
                       "title": n.title, "text": n.body, "read": n.read_at is not None} for n in listed.items],
            "page": listed.page, "per_page": listed.per_page, "total": listed.total}


@bp.post("/notifications/read")
def read_notifications():
    body = _json_body()
    if body.get("all") is True:
        count = run(lambda: reminder_services.mark_all_read(_user(), clock.utcnow()))
    else:
        ids = body.get("ids")
        if not isinstance(ids, list) or len(ids) > 1000:
            raise Invalid("请用 ids 给出要标为已读的通知（最多1000个），或用 all: true 全部标为已读。", field="ids")
        chosen = [params.record_id(value, "ids") for value in ids]
        count = run(lambda: reminder_services.mark_read(_user(), chosen, clock.utcnow()))
    return {"read": count}


@bp.get("/stats")
def stats():
    flt = rollup.StatsFilter.from_args(request.args, strict=True)
    return StatsSchema.of(rollup.rollup_for(_user(), flt, _today())).dump()


@bp.post("/reports/import")
def import_report():
    if not permissions.is_supervisor(_user()):
        raise Forbidden("只有督办人可以导入报告。")
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise Invalid("请用 multipart 字段 file 上传报告。", field="file")
    form = Params(request.form, strict=False)
    dry_run = form.flag("dry_run")
    unit_name = (request.form.get("unit") or "").strip() or None
    year = params.year(request.form["year"]) if request.form.get("year") else None
    preview = importing.preview_report(data=upload.read(), filename=upload.filename)
    if dry_run:
        return importing.preview_to_json(preview, unit_name=unit_name, year=year)
    report, items = run(lambda: importing.import_preview(
        preview, actor=_user(), now=clock.utcnow(), filename=upload.filename,
        deadlines=importing.DeadlineRule.from_config(current_app.config),
        allow_duplicate=form.flag("allow_duplicate"), unit_name=unit_name, year=year,
    ))
    return importing.preview_to_json(preview, report, [i.id for i in items]), 201

