"""系统管理 of the organisation: units, users, and the sign-in log with its locks."""

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from tracker import clock
from tracker.admin import bp, get_or_404, unit_choices
from tracker.forms import ButtonForm
from tracker.org import queries as org_queries
from tracker.org import services, signin
from tracker.org.forms import UnitForm, UserForm
from tracker.org.models import Unit, User
from tracker.org.services import user_changed
from tracker.web.pages import done
from tracker.web.params import Params
from tracker.web.work import run, submitted


@bp.route("/units", methods=["GET", "POST"])
def units():
    all_units = org_queries.all_units()
    form = UnitForm()
    form.parent.choices = unit_choices(all_units, "（无，顶级单位）")
    status = 200
    if request.method == "POST":
        outcome = submitted(
            form, lambda: services.create_unit(form.name.data, get_or_404(Unit, form.parent.data) if form.parent.data else None)
        )
        if outcome.ok:
            return done(f"已创建单位“{outcome.result.name}”。", url_for("admin.units"))
        status = outcome.status
    return render_template("admin/units.html", units=all_units, form=form), status


@bp.route("/units/<id:unit_id>", methods=["GET", "POST"])
def edit_unit(unit_id: int):
    unit = get_or_404(Unit, unit_id)
    form = UnitForm(obj=unit if request.method == "GET" else None)
    form.parent.choices = unit_choices([u for u in org_queries.all_units() if not u.is_within(unit)], "（无，顶级单位）")
    if request.method == "GET":
        form.parent.data = unit.parent_id or 0
    status = 200
    if request.method == "POST":
        outcome = submitted(form, lambda: services.update_unit(
            unit, name=form.name.data, parent=get_or_404(Unit, form.parent.data) if form.parent.data else None,
            short_name=form.short_name.data, two_level_review=form.two_level_review.data,
        ))
        if outcome.ok:
            return done("已保存。", url_for("admin.units"))
        status = outcome.status
    return render_template("admin/unit_edit.html", unit=unit, form=form), status


@bp.get("/users")
def users():
    """The users, a hundred a page (a province has thousands), with a search box."""
    params = Params(request.args, strict=False)
    search = params.text("q", max_length=64) or ""
    page = org_queries.users_page(search=search, page=params.integer("page", 1) or 1)
    locked = {row.subject for row in signin.current_locks(clock.utcnow()) if row.kind == "user"}
    return render_template("admin/users.html", users=page.items, page=page, search=search, locked=locked)


@bp.get("/sign-ins")
def sign_ins():
    """Accounts and addresses locked now (with 解锁), and the sign-in log, newest first."""
    args = Params(request.args, strict=False)
    username = args.text("username", "", max_length=64)
    events, next_before = signin.sign_in_log(username=username, before=args.record_id("before"))
    return render_template("admin/sign_ins.html", events=events, next_before=next_before, username=username,
                           locks=signin.current_locks(clock.utcnow()), unlock_form=ButtonForm())


@bp.post("/sign-ins/unlock")
def unlock():
    if not ButtonForm().validate_on_submit():
        abort(400)
    row = run(lambda: signin.unlock(request.form.get("key", "")[:120], actor=current_user, now=clock.utcnow()))
    if row is None:
        flash("该锁定已不存在（可能已到期或已被解除）。", "info")
    else:
        flash(f"已解除{'账号' if row.kind == 'user' else '地址'} {row.subject} 的锁定。", "success")
    return redirect(url_for("admin.sign_ins"))


@bp.route("/users/new", methods=["GET", "POST"])
@bp.route("/users/<id:user_id>", methods=["GET", "POST"])
def edit_user(user_id: int | None = None):
    user = get_or_404(User, user_id) if user_id else None
    form = UserForm(obj=user if request.method == "GET" else None)
    form.unit.choices = unit_choices(org_queries.all_units())
    if request.method == "GET" and user is not None:
        form.role.data = user.role.value
        form.unit.data = user.unit_id
    status = 200
    if request.method == "POST":
        def save() -> User:
            unit = get_or_404(Unit, form.unit.data or 0)
            role = services.parse_role(form.role.data)
            if user is None:
                return services.create_user(
                    form.username.data, role=role, unit=unit, password=form.password.data,
                    name=form.name.data, email=form.email.data, temporary=True,
                )
            return services.update_user(
                user, name=form.name.data, role=role, unit=unit, email=form.email.data,
                active=form.active.data, password=form.password.data or None, actor=current_user, now=clock.utcnow(),
            )

        outcome = submitted(form, save)
        if outcome.ok:
            saved = outcome.result
            message = f"已保存用户“{saved.username}”。"
            if form.password.data:
                message += "临时密码已生效：其已有的登录均已退出，下次登录时须修改密码。"
            response = done(message, url_for("admin.users"))
            if user is not None:  # an edit, not a new user: the domains above may have a word on it
                user_changed.send(current_app._get_current_object(), user=saved)
            return response
        status = outcome.status
        user = get_or_404(User, user_id) if user_id else None
    return render_template("admin/user_edit.html", user=user, form=form), status
