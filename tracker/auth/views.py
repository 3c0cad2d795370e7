"""Sign-in, sign-out and the user's own profile."""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user

from tracker.auth import services
from tracker.auth.forms import LoginForm, PasswordForm
from tracker.forms import ButtonForm
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
    return render_template("auth/profile.html", form=form), status
