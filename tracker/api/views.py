"""The JSON API under /api/v1 (CONTRACT.md): a second door onto the services the pages use.

Every handler: authenticate the bearer token → parse → authorise (404/403 as the pages) →
call one service → commit once → answer JSON. Errors are {"error": "…", "field": "…"}.
"""

import re
from datetime import date

from flask import Blueprint, current_app, g, jsonify, render_template, request, send_file, url_for
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

from tracker import clock
from tracker.api import openapi, serialize
from tracker.api.tokens import user_for_token
from tracker.auth import permissions, signin
from tracker.auth.services import find_unit
from tracker.auth.views import client
from tracker.errors import DomainError, Forbidden, Invalid, NotFound
from tracker.extensions import csrf, db
from tracker.importing import services as importing
from tracker.items import evidence as evidence_files
from tracker.items import queries, services, workflow
from tracker.items.models import Item, Report, Status
from tracker.reports import queries as report_queries

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)

MAX_ID = 2**31 - 1
ITEM_FIELDS = {"owner", "deadline", "measures", "title", "text", "categories"}


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
    db.session.commit()  # last_used_at
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


def _int(name: str, value, *, low: int = 1, high: int = MAX_ID) -> int:
    text = str(value).strip()
    if not re.fullmatch(r"[0-9]{1,10}", text) or not low <= int(text) <= high:
        raise Invalid(f"{name} 应为 {low} 至 {high} 之间的整数。", field=name)
    return int(text)


def _date(name: str, value) -> date:
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise Invalid("日期应为 YYYY-MM-DD 格式的字符串。", field=name)
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise Invalid("日期应为真实存在的 YYYY-MM-DD。", field=name) from None


def _json_body() -> dict:
    """The JSON object sent (NUL and lone surrogates were refused for every door before this)."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise Malformed("请求体应为 JSON 对象（Content-Type: application/json）。")
    return body


def _text(body: dict, name: str) -> str:
    value = body.get(name, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise Invalid(f"{name} 应为字符串。", field=name)
    return value


def _page_params() -> tuple[int, int]:
    page = _int("page", request.args.get("page", 1), high=10**6)
    per_page = _int("per_page", request.args.get("per_page", current_app.config["PER_PAGE"]),
                    high=current_app.config["MAX_PER_PAGE"])
    return page, per_page


def _filter() -> queries.ItemFilter:
    args = request.args
    flt = queries.ItemFilter()
    if args.get("status"):
        if args["status"] not in Status._value2member_map_:
            raise Invalid("status 应为 open、in_progress、pending_review 或 closed。", field="status")
        flt.status = Status(args["status"])
    if args.get("overdue") not in (None, "", "0", "1", "true", "false"):
        raise Invalid("overdue 应为 1 或 0。", field="overdue")
    flt.overdue = args.get("overdue") in ("1", "true")
    if args.get("unit"):
        try:
            flt.unit_id = find_unit(args["unit"]).id
        except DomainError as exc:
            raise Invalid(exc.message, field="unit") from None
    if args.get("year"):
        flt.year = _int("year", args["year"], low=2000, high=2100)
    if args.get("category"):
        flt.category = args["category"][:50]
    if args.get("owner"):
        flt.owner = args["owner"][:64]
    if args.get("report"):
        flt.report_id = _int("report", args["report"])
    return flt


def _page_json(page: queries.Page) -> dict:
    today = _today()
    return {"items": [serialize.item_json(i, today) for i in page.items], "page": page.page,
            "per_page": page.per_page, "total": page.total}


def _item(item_id: int) -> Item:
    return queries.load_item(item_id, _user())


def _item_with_history(item: Item) -> dict:
    data = serialize.item_json(item, _today())
    data["evidence"] = [serialize.evidence_json(e) for e in item.evidence]
    data["history"] = [serialize.event_json(e) for e in queries.item_history(item)]
    return data


def _expected_version(body: dict | None = None) -> int | None:
    """The version the caller read: ``If-Match: "3"`` or ``"version": 3`` in the body."""
    header = request.headers.get("If-Match", "").strip().removeprefix("W/").strip('"')
    if header and header != "*":  # "*": any version
        return _int("If-Match", header)
    if body and body.get("version") is not None:
        return _int("version", body["version"])
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


@bp.get("/items/<int(max=2147483647):item_id>")
def get_item(item_id: int):
    return _item_with_history(_item(item_id))


@bp.patch("/items/<int(max=2147483647):item_id>")
def patch_item(item_id: int):
    item = _item(item_id)
    body = _json_body()
    unknown = set(body) - ITEM_FIELDS - {"version"}
    if unknown:
        raise Invalid(f"不能修改的字段：{'、'.join(sorted(unknown))}。", field=sorted(unknown)[0])
    changes: dict = {}
    for name in ("measures", "title", "text"):
        if name in body:
            changes[name] = _text(body, name)
    if "deadline" in body:
        changes["deadline"] = _date("deadline", body["deadline"]) if body["deadline"] is not None else None
    if "owner" in body:
        if not isinstance(body["owner"], str):
            raise Invalid("owner 应为用户名。", field="owner")
        changes["owner"] = services.find_person(body["owner"])
    if "categories" in body:
        codes = body["categories"]
        if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
            raise Invalid("categories 应为类别代码的列表。", field="categories")
        changes["categories"] = services.categories_by_code(codes)
    services.update_item(item, _user(), changes, now=clock.utcnow(), today=_today(),
                         expected_version=_expected_version(body))
    db.session.commit()
    return serialize.item_json(item, _today())


@bp.post("/items/<int(max=2147483647):item_id>/progress")
def add_progress(item_id: int):
    item = _item(item_id)
    body = _json_body()
    event = services.add_progress(item, _user(), _text(body, "note"), now=clock.utcnow())
    db.session.commit()
    return serialize.event_json(event), 201


@bp.post("/items/<int(max=2147483647):item_id>/evidence")
def add_evidence(item_id: int):
    item = _item(item_id)
    if not permissions.works_on(_user(), item):
        raise Forbidden("只有责任人或督办人可以上传佐证材料。")
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise Invalid("请用 multipart 字段 file 上传文件。", field="file")
    evidence = evidence_files.add_evidence(
        item, _user(), upload.stream, upload.filename, now=clock.utcnow(),
        description=request.form.get("description", ""),
        max_bytes=current_app.config["MAX_UPLOAD_MB"] * 1024 * 1024,
    )
    db.session.commit()
    return serialize.evidence_json(evidence), 201


@bp.get("/evidence/<int(max=2147483647):evidence_id>")
def get_evidence(evidence_id: int):
    evidence = queries.load_evidence(evidence_id, _user())
    path = evidence_files.stored_file(evidence)
    # The whole file every time (no 304/206): scripts fetch evidence to archive it.
    response = send_file(path, mimetype=evidence.content_type, as_attachment=True, download_name=evidence.filename,
                         conditional=False, max_age=0)
    response.headers["Content-Security-Policy"] = "sandbox"
    return response


@bp.post("/items/<int(max=2147483647):item_id>/transition")
def transition(item_id: int):
    item = _item(item_id)
    body = _json_body()
    action = workflow.parse_action(_text(body, "action"))
    deadline = _date("deadline", body["deadline"]) if body.get("deadline") else None
    comment = _text(body, "comment")
    # CONTRACT.md's body is {action, comment, deadline}: for submit, the comment says what was done.
    summary = _text(body, "summary") or (comment if action is workflow.Action.submit else "")
    workflow.perform(
        item, action, _user(), now=clock.utcnow(), today=_today(), comment=comment,
        summary=summary, deadline=deadline, expected_version=_expected_version(body),
    )
    db.session.commit()
    return serialize.item_json(item, _today())


def _visible_reports():
    if not permissions.is_supervisor(_user()):
        raise Forbidden("只有督办人可以查看报告。")
    return report_queries.reports_query(_user())


def _report_items(report_ids: list[int]) -> dict[int, list[Item]]:
    items: dict[int, list[Item]] = {rid: [] for rid in report_ids}
    if report_ids:
        for item in db.session.scalars(
            select(Item).where(Item.report_id.in_(report_ids), permissions.visible_items_clause(_user()))
            .options(joinedload(Item.unit), joinedload(Item.owner), selectinload(Item.category_links))
            .order_by(Item.id)
        ):
            items[item.report_id].append(item)
    return items


@bp.get("/reports")
def list_reports():
    page, per_page = _page_params()
    query = _visible_reports()
    total = db.session.scalar(query.with_only_columns(db.func.count(Report.id)).order_by(None))
    reports = db.session.scalars(
        query.order_by(Report.year.desc(), Report.id.desc()).limit(per_page).offset((page - 1) * per_page)
    ).all()
    items = _report_items([r.id for r in reports])
    today = _today()
    return {"reports": [serialize.report_json(r, items[r.id], today) for r in reports],
            "page": page, "per_page": per_page, "total": total}


@bp.get("/reports/<int(max=2147483647):report_id>")
def get_report(report_id: int):
    report = db.session.scalar(_visible_reports().where(Report.id == report_id))
    if report is None:
        raise NotFound("报告不存在，或您无权查看。")
    return serialize.report_json(report, _report_items([report.id])[report.id], _today())


@bp.post("/reports/import")
def import_report():
    if not permissions.is_supervisor(_user()):
        raise Forbidden("只有督办人可以导入报告。")
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise Invalid("请用 multipart 字段 file 上传报告。", field="file")
    dry_run = request.form.get("dry_run", "").lower() in ("1", "true", "yes")
    preview = importing.preview_report(data=upload.read(), filename=upload.filename)
    parsed = preview.parsed
    if request.form.get("unit"):
        parsed.unit = request.form["unit"]
    if request.form.get("year"):
        parsed.year = _int("year", request.form["year"], low=2000, high=2100)
    if dry_run:
        return importing.preview_to_json(preview)
    report, items = importing.import_preview(
        preview, actor=_user(), now=clock.utcnow(), filename=upload.filename,
        deadline_month_day=current_app.config["IMPORT_DEFAULT_DEADLINE"],
        allow_duplicate=request.form.get("allow_duplicate", "").lower() in ("1", "true", "yes"),
    )
    db.session.commit()
    return importing.preview_to_json(preview, report, [i.id for i in items]), 201

