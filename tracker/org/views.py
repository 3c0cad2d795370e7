"""Sign-in, sign-out and the user's own profile."""

import logging

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_url, login_user, logout_user
from sqlalchemy.exc import SQLAlchemyError

from tracker import clock
from tracker.errors import DomainError
from tracker.extensions import db, login_manager
from tracker.forms import ButtonForm
from tracker.org import services, signin, tokens
from tracker.org.forms import LoginForm, PasswordForm, TokenForm
from tracker.org.models import ApiToken, SessionEnd, SignInOutcome, User
from tracker.web.pages import STATIC_ENDPOINTS, done, safe_next
from tracker.web.work import run, submitted, unit_of_work

bp = Blueprint("auth", __name__)
log = logging.getLogger(__name__)

# What a user with a temporary password may still reach.
PASSWORD_FIRST_EXEMPT = frozenset({"auth.profile", "auth.logout", "auth.logout_everywhere", "auth.login", *STATIC_ENDPOINTS})


def load_user(user_id: str) -> User | None:
    """The user of this browser's session, if the session is still live in the database."""
    secret = session.get("sid")
    loaded = signin.load_session(secret, user_id, now=clock.utcnow(), policy=policy())
    if loaded.expired:
        db.session.commit()
        session.pop("sid", None)
        g.session_expired = True
    if loaded.touch:
        g.touch_session = secret
    return loaded.user


def sign_in_first():
    expired = g.get("session_expired", False)
    flash("登录已超时，请重新登录。" if expired else "请先登录。", "warning")
    return redirect(login_url("auth.login", next_url=request.url))


@bp.record_once
def _wire_sign_in(state) -> None:
    """Flask-Login asks this package who is signed in, and where to send who is not."""
    login_manager.login_view = "auth.login"
    login_manager.login_message = "请先登录。"
    login_manager.login_message_category = "warning"
    login_manager.user_loader(load_user)
    login_manager.unauthorized_handler(sign_in_first)


@bp.before_app_request
def password_first():
    """A user with a temporary password changes it before anything else."""
    if request.endpoint in PASSWORD_FIRST_EXEMPT or request.path.startswith("/api/"):
        return None
    if current_user.is_authenticated and current_user.must_change_password:
        return redirect(url_for("auth.profile"))  # which says why, above the form
    return None


@bp.teardown_app_request
def touch_session(_error):
    """Mark the session as seen, in a transaction of its own after the request's."""
    secret = g.pop("touch_session", None)
    if secret:
        try:
            with db.engine.begin() as connection:
                connection.execute(signin.touch_statement(secret, clock.utcnow()))
        except SQLAlchemyError:  # a busy or missing database: the next request tries again
            log.warning("could not record a session as seen", exc_info=True)


def client() -> signin.Client:
    """Where this request comes from: the address (behind TRACKER_TRUSTED_PROXIES, the proxy's
    X-Forwarded-For) and the browser."""
    return signin.Client(request.remote_addr or "", request.headers.get("User-Agent", ""))


def policy() -> signin.Policy:
    return signin.Policy.from_config(current_app.config)


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("items.home"))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = signin.sign_in(form.username.data, form.password.data, client=client(), now=clock.utcnow(),
                                  policy=policy(), zone=clock.local_zone())
        except DomainError as error:
            form.password.errors.append(error.message)
            status = error.status_code
        else:
            session["sid"] = run(lambda: signin.start_session(user, client=client(), now=clock.utcnow()))
            login_user(user)
            if user.must_change_password:
                return redirect(url_for("auth.profile"))  # which says why, above the form
            return redirect(safe_next(request.args.get("next"), url_for("items.home")))
    elif form.is_submitted():
        status = 422
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
@login_required
def logout():
    if ButtonForm().validate_on_submit():
        now = clock.utcnow()
        with unit_of_work():
            signin.end_session(session.get("sid"), reason=SessionEnd.signed_out, now=now)
            signin.record(SignInOutcome.signed_out, user=current_user, client=client(), now=now)
        logout_user()
        session.clear()
        flash("您已退出登录。", "info")
    return redirect(url_for("auth.login"))


@bp.post("/logout/everywhere")
@login_required
def logout_everywhere():
    """End every session of this user: this browser and any other, with any copy of a cookie."""
    if not ButtonForm().validate_on_submit():
        abort(400)
    now = clock.utcnow()
    with unit_of_work():
        ended = signin.end_sessions(current_user, reason=SessionEnd.signed_out_all, now=now)
        signin.record(SignInOutcome.signed_out_all, user=current_user, client=client(), now=now,
                      detail=f"共{ended}处登录")
    logout_user()
    session.clear()
    flash(f"已在所有设备退出登录（共{ended}处）。", "info")
    return redirect(url_for("auth.login"))


def _profile_page(form: PasswordForm, status: int = 200, new_token: str | None = None):
    return render_template(
        "auth/profile.html", form=form, tokens=tokens.user_tokens(current_user), token_form=TokenForm(),
        new_token=new_token,
        sessions=signin.live_sessions(current_user), current_sid=signin.fingerprint(session.get("sid") or ""),
    ), status


@bp.post("/profile/tokens")
@login_required
def create_token():
    form = TokenForm()
    if not form.validate_on_submit():
        return _profile_page(PasswordForm(formdata=None), 422)
    _, secret = run(lambda: tokens.create_token(current_user, name=form.name.data or "", now=clock.utcnow()))
    # Shown in this response only: never stored, never flashed into the session cookie.
    response, status = _profile_page(PasswordForm(formdata=None), 201, new_token=secret)
    return response, status, {"Cache-Control": "no-store"}


@bp.post("/profile/tokens/<id:token_id>/revoke")
@login_required
def revoke_token(token_id: int):
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != current_user.id or not ButtonForm().validate_on_submit():
        abort(404)
    run(lambda: tokens.revoke_token(token, current_user, now=clock.utcnow()))
    flash("令牌已撤销，使用它的脚本将无法再访问。", "success")
    return redirect(url_for("auth.profile"))


@bp.route("/profile", methods=["GET", "POST"])
@login_required
def profile():
    form = PasswordForm()
    status = 200
    if request.method == "POST":
        outcome = submitted(
            form,
            lambda: services.change_password(current_user, form.current.data, form.new.data, now=clock.utcnow(),
                                             keep_session=session.get("sid"), client=client(), policy=policy(),
                                             zone=clock.local_zone()),
            aliases={"password": "new"},
        )
        if outcome.ok:
            ended = outcome.result
            return done("密码已修改。" + (f"其他{ended}处登录已退出。" if ended else ""), url_for("auth.profile"))
        status = outcome.status
    return _profile_page(form, status)
