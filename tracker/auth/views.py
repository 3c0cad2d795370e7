"""Sign-in, sign-out and the user's own profile."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user

from tracker import clock
from tracker.api import tokens
from tracker.api.models import ApiToken
from tracker.auth import services
from tracker.auth.forms import LoginForm, PasswordForm, TokenForm
from tracker.extensions import db
from tracker.forms import ButtonForm
from tracker.reminders import services as reminders
from tracker.reminders.models import Channel
from tracker.web import safe_next, submit

bp = Blueprint("auth", __name__)


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("items.home"))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        user = services.authenticate(form.username.data, form.password.data)
        if user is not None:
            login_user(user)
            return redirect(safe_next(request.args.get("next"), url_for("items.home")))
        form.password.errors.append("用户名或密码不正确，或账号已停用。")
        status = 422
    elif form.is_submitted():
        status = 422
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
@login_required
def logout():
    if ButtonForm().validate_on_submit():
        logout_user()
        flash("您已退出登录。", "info")
    return redirect(url_for("auth.login"))


def _profile_page(form: PasswordForm, status: int = 200, new_token: str | None = None):
    return render_template(
        "auth/profile.html", form=form, tokens=tokens.user_tokens(current_user), token_form=TokenForm(),
        new_token=new_token, channels=Channel, chosen=reminders.user_channels(current_user),
    ), status


@bp.post("/profile/channels")
@login_required
def save_channels():
    if not ButtonForm().validate_on_submit():
        abort(400)
    reminders.set_user_channels(current_user, request.form.getlist("channel"))
    db.session.commit()
    chosen = reminders.user_channels(current_user)
    if not chosen:
        flash("已保存：您不会收到任何提醒。", "warning")
    else:
        flash("提醒方式已保存：" + "、".join(c.title for c in chosen) + "。", "success")
    return redirect(url_for("auth.profile") + "#channels")


@bp.post("/profile/tokens")
@login_required
def create_token():
    form = TokenForm()
    if not form.validate_on_submit():
        return _profile_page(PasswordForm(formdata=None), 422)
    _, secret = tokens.create_token(current_user, name=form.name.data or "", now=clock.utcnow())
    db.session.commit()
    # Shown in this response only: never stored, never flashed into the session cookie.
    response, status = _profile_page(PasswordForm(formdata=None), 201, new_token=secret)
    return response, status, {"Cache-Control": "no-store"}


@bp.post("/profile/tokens/<int(max=2147483647):token_id>/revoke")
@login_required
def revoke_token(token_id: int):
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != current_user.id or not ButtonForm().validate_on_submit():
        abort(404)
    tokens.revoke_token(token, current_user, now=clock.utcnow())
    db.session.commit()
    flash("令牌已撤销，使用它的脚本将无法再访问。", "success")
    return redirect(url_for("auth.profile"))


@bp.route("/profile", methods=["GET", "POST"])
@login_required
def profile():
    form = PasswordForm()
    status = 200
    if request.method == "POST":
        done, status = submit(
            form,
            lambda: services.change_password(current_user, form.current.data, form.new.data),
            done=lambda _: "密码已修改。",
            to=lambda _: url_for("auth.profile"),
            aliases={"password": "new"},
        )
        if done:
            return done
    return _profile_page(form, status)
