"""What every page shares: sign-in loading, guards, error pages, security headers, template globals."""

import contextlib
import logging
from collections.abc import Callable
from datetime import date, datetime
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from flask import (
    Flask,
    Response,
    abort,
    current_app,
    flash,
    g,
    has_request_context,
    jsonify,
    redirect,
    render_template,
    request,
)
from flask_login import current_user, login_required
from flask_wtf.csrf import CSRFError
from markupsafe import escape
from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

from tracker import clock, storable
from tracker.errors import DomainError
from tracker.extensions import db
from tracker.formats import NO_DEADLINE, chinese_date
from tracker.storable import is_storable

if TYPE_CHECKING:
    from tracker.org.models import User

log = logging.getLogger(__name__)

ERROR_TITLES = {
    400: "请求无效",
    403: "没有权限",
    404: "页面不存在",
    405: "不支持的操作",
    409: "操作冲突",
    413: "文件过大",
    415: "文件类型不支持",
    422: "输入有误",
    429: "尝试次数过多",
    500: "系统出错",
    503: "暂时无法服务",
}
ERROR_MESSAGES = {
    400: "请求无效，请返回上一页重试。",
    403: "您没有执行此操作的权限。",
    404: "您要找的页面或事项不存在，或您无权查看。",
    405: "该页面不支持这种操作。",
    409: "该事项在您打开页面后已有变动，请刷新页面后重试。",
    413: "上传的文件过大。",
    415: "不支持该文件类型。",
    422: "输入有误，请检查后重试。",
    429: "尝试次数过多，请稍后再试。",
    500: "系统出错了，我们已记录下来。请稍后再试。",
    503: "数据库暂时无法连接，请稍后再试。",
}


# The page shown when even the error page cannot be rendered: no template, no database.
PLAIN_ERROR = (
    '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>{title} · 整改跟踪</title></head>'
    '<body><h1>{title}</h1><p id="error-message">{message}</p><p><a href="/">回到首页</a></p></body></html>'
)


def error_page(status: int, message: str | None = None, *, bare: bool = False):
    """tracker's own error page (JSON under /api/). ``bare``: when the database is down, the page
    asks nothing of it: no signed-in user, no unread count."""
    if request.path.startswith("/api/"):  # the API answers in JSON, even where no route matched
        response = jsonify({"error": message or ERROR_MESSAGES.get(status, "出错了。")})
        response.status_code = status
        return response
    if status == 413:
        limit = current_app.config["MAX_UPLOAD_MB"]
        message = message or f"上传的文件超过 {limit} MB 的上限，请压缩或拆分后再上传。"
    title, message = ERROR_TITLES.get(status, "出错了"), message or ERROR_MESSAGES.get(status, "出错了。")
    g.bare = bare or g.get("bare", False)
    try:
        return render_template("errors/error.html", status=status, title=title, message=message, bare=g.bare), status
    except Exception:
        log.exception("the error page could not be rendered")
        return Response(PLAIN_ERROR.format(title=escape(title), message=escape(message)), status, mimetype="text/html")


def safe_next(target: str | None, default: str) -> str:
    """``target`` if it is a local path (no scheme, no host, no //host), else ``default``."""
    if (
        target
        and target.startswith("/")
        and not target.startswith("//")
        and "\\" not in target
        and target.isprintable()  # no CR/LF or other control characters in a Location header
    ):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return default


def guard(blueprint, allowed: "Callable[[User], bool] | None" = None) -> None:
    """Every page of ``blueprint`` needs a signed-in user, and ``allowed(user)`` when given (else 403)."""

    @blueprint.before_request
    @login_required
    def require_user():
        if allowed is not None and not allowed(current_user):
            abort(403)


def done(message: str, to: str) -> Response:
    """After a form POST has been saved: say so, and go where the user should look next."""
    flash(message, "success")
    return redirect(to)


STATIC_ENDPOINTS = frozenset({"static", "bootstrap.static"})
# Every script and style sheet comes from the app itself; nothing inline, nothing framed.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def unstorable_input() -> bool:
    """Whether the request carries text no database can store (NUL, lone surrogates) in its query
    string, form fields, upload names or JSON body: the one check every door passes through."""
    texts = [text for pair in (*request.args.items(multi=True), *request.form.items(multi=True)) for text in pair]
    texts += [upload.filename or "" for upload in request.files.values()]
    if request.is_json:
        pending = [request.get_json(silent=True)]
        while pending:  # iteratively: a deep body must not recurse
            value = pending.pop()
            if isinstance(value, str):
                texts.append(value)
            elif isinstance(value, dict):
                texts.extend(value)
                pending.extend(value.values())
            elif isinstance(value, list):
                pending.extend(value)
    return not all(is_storable(text) for text in texts if isinstance(text, str))


def register_web(app: Flask) -> None:
    @app.before_request
    def refuse_unstorable():
        try:
            refused = unstorable_input()
        except RecursionError:
            return error_page(400, "请求体无法解析：嵌套过深。")
        if refused:
            return error_page(400, storable.MESSAGE)
        return None

    @app.errorhandler(DomainError)
    def domain_error(error: DomainError):
        db.session.rollback()
        return error_page(error.status_code, error.message)

    @app.errorhandler(StaleDataError)
    def stale(error):
        db.session.rollback()
        return error_page(409)

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return error_page(400, "页面已过期或来源不明，请刷新页面后重新提交。")

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if error.code is None or error.code < 400:
            return error
        return error_page(error.code)

    @app.errorhandler(SQLAlchemyError)
    def database_error(error: SQLAlchemyError):
        log.exception("database error on %s %s", request.method, request.path)
        with contextlib.suppress(SQLAlchemyError):
            db.session.rollback()
        if "database is locked" in str(error):  # SQLite: another writer held on past the busy timeout
            return error_page(409, "其他人正在保存数据，请稍后重试。", bare=True)
        unreachable = isinstance(error, OperationalError | InterfaceError) or getattr(error, "connection_invalidated", False)
        return error_page(503 if unreachable else 500, bare=True)

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        log.exception("unhandled error on %s %s", request.method, request.path)
        with contextlib.suppress(SQLAlchemyError):
            db.session.rollback()
        return error_page(500, bare=True)

    @app.context_processor
    def shared():
        return {"today": clock.local_today(), "signed_in": signed_in()}

    app.add_template_filter(date_cn)
    app.add_template_filter(local_time)
    app.add_template_filter(days_label)
    app.add_template_filter(filesize)
    from tracker.items import search  # the search words marked in lists

    app.add_template_filter(search.marked, "marked")
    app.add_template_global(search.hit, "search_hit")

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if request.endpoint not in STATIC_ENDPOINTS:
            # Pages show what only their user may see: no browser or proxy keeps a copy.
            response.headers["Cache-Control"] = "no-store"
            response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        return response




def signed_in() -> bool:
    """A signed-in user, on a page that may ask the database about them (not a bare error page)."""
    return has_request_context() and not g.get("bare") and current_user.is_authenticated


def date_cn(value: date | None) -> str:
    """2024年3月31日"""
    return chinese_date(value)


def local_time(value: datetime | None) -> str:
    if value is None:
        return "—"
    return clock.to_local(value).strftime("%Y-%m-%d %H:%M")


def days_label(days: int | None) -> str:
    if days is None:
        return NO_DEADLINE
    if days < 0:
        return f"逾期{-days}天"
    if days == 0:
        return "今天到期"
    return f"剩余{days}天"


def filesize(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size / 1024 / 1024:.1f} MB"
