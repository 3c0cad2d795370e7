"""Administration: units, users and categories (admins only)."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from tracker.admin.forms import CategoryForm, RuleForm, UnitForm, UserForm
from tracker.auth import permissions, services
from tracker.auth.models import Unit, User
from tracker.errors import DomainError, NotFound
from tracker.extensions import db
from tracker.forms import ButtonForm
from tracker.importing import classify
from tracker.importing.models import CategoryRule
from tracker.items import categories as category_service
from tracker.items.models import Category
from tracker.items.queries import all_categories, items_owned_outside_reach

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
@login_required
def require_admin():
    if not permissions.can_manage(current_user):
        abort(403)


def _units() -> list[Unit]:
    return list(db.session.scalars(select(Unit).order_by(Unit.path)))


def _unit_choices(units, blank: str | None = None):
    choices = [(0, blank)] if blank else []
    return choices + [(u.id, "　" * u.depth + u.name) for u in units]


def _attach(form, error: DomainError) -> None:
    target = getattr(form, error.field or "", None)
    if target is not None and hasattr(target, "errors"):
        target.errors = [*target.errors, error.message]
    else:
        form.form_errors.append(error.message)


def _get(model, object_id: int):
    found = db.session.get(model, object_id)
    if found is None:
        raise NotFound("要找的记录不存在。")
    return found


@bp.route("/units", methods=["GET", "POST"])
def units():
    all_units = _units()
    form = UnitForm()
    form.parent.choices = _unit_choices(all_units, "（无，顶级单位）")
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                parent = _get(Unit, form.parent.data) if form.parent.data else None
                unit = services.create_unit(form.name.data, parent)
            except DomainError as error:
                db.session.rollback()
                _attach(form, error)
                status = error.status_code
            else:
                db.session.commit()
                flash(f"已创建单位“{unit.name}”。", "success")
                return redirect(url_for("admin.units"))
        else:
            status = 422
    return render_template("admin/units.html", units=all_units, form=form), status


@bp.route("/units/<int(max=2147483647):unit_id>", methods=["GET", "POST"])
def edit_unit(unit_id: int):
    unit = _get(Unit, unit_id)
    all_units = _units()
    form = UnitForm(obj=unit if request.method == "GET" else None)
    form.parent.choices = _unit_choices([u for u in all_units if not u.is_within(unit)], "（无，顶级单位）")
    if request.method == "GET":
        form.parent.data = unit.parent_id or 0
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                parent = _get(Unit, form.parent.data) if form.parent.data else None
                services.update_unit(unit, name=form.name.data, parent=parent)
            except DomainError as error:
                db.session.rollback()
                _attach(form, error)
                status = error.status_code
            else:
                db.session.commit()
                flash("已保存。", "success")
                return redirect(url_for("admin.units"))
        else:
            status = 422
    return render_template("admin/unit_edit.html", unit=unit, form=form), status


@bp.get("/users")
def users():
    rows = db.session.scalars(
        select(User).join(User.unit).options(joinedload(User.unit)).order_by(Unit.path, User.username)
    ).all()
    return render_template("admin/users.html", users=rows)


@bp.route("/users/new", methods=["GET", "POST"])
@bp.route("/users/<int(max=2147483647):user_id>", methods=["GET", "POST"])
def edit_user(user_id: int | None = None):
    user = _get(User, user_id) if user_id else None
    form = UserForm(obj=user if request.method == "GET" else None)
    form.unit.choices = _unit_choices(_units())
    if request.method == "GET" and user is not None:
        form.role.data = user.role.value
        form.unit.data = user.unit_id
    status = 200
    if request.method == "POST":
        if user is None and not form.password.data:
            form.password.errors = ["请为新用户设置密码。"]
            status = 422
        elif form.validate_on_submit():
            try:
                unit = _get(Unit, form.unit.data or 0)
                role = services.parse_role(form.role.data)
                if user is None:
                    user = services.create_user(
                        form.username.data, role=role, unit=unit, password=form.password.data,
                        name=form.name.data, email=form.email.data,
                    )
                else:
                    services.update_user(
                        user, name=form.name.data, role=role, unit=unit, email=form.email.data,
                        active=form.active.data, password=form.password.data or None, actor=current_user,
                    )
            except DomainError as error:
                db.session.rollback()
                _attach(form, error)
                status = error.status_code
                user = _get(User, user_id) if user_id else None
            else:
                db.session.commit()
                flash(f"已保存用户“{user.username}”。", "success")
                stranded = items_owned_outside_reach(user)
                if stranded:
                    flash(f"{user.display_name}仍是{stranded}个未销号事项的责任人，但已不在这些事项的单位，"
                          "请在事项清单中重新分派。", "warning")
                return redirect(url_for("admin.users"))
        else:
            status = 422
    return render_template("admin/user_edit.html", user=user, form=form), status


@bp.route("/categories", methods=["GET", "POST"])
def categories():
    form = CategoryForm()
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                category = category_service.create_category(form.code.data, form.name.data, form.position.data)
            except DomainError as error:
                db.session.rollback()
                _attach(form, error)
                status = error.status_code
            else:
                db.session.commit()
                flash(f"已添加类别“{category.name}”。", "success")
                return redirect(url_for("admin.categories"))
        else:
            status = 422
    return render_template("admin/categories.html", categories=all_categories(), form=form), status


@bp.route("/categories/<int(max=2147483647):category_id>", methods=["GET", "POST"])
def edit_category(category_id: int):
    category = _get(Category, category_id)
    form = CategoryForm(obj=category if request.method == "GET" else None)
    status = 200
    if request.method == "POST":
        form.code.data = category.code  # the code is fixed once data refers to it
        if form.validate_on_submit():
            try:
                category_service.update_category(category, form.name.data, form.position.data)
            except DomainError as error:
                db.session.rollback()
                _attach(form, error)
                status = error.status_code
            else:
                db.session.commit()
                flash("已保存。", "success")
                return redirect(url_for("admin.categories"))
        else:
            status = 422
    return render_template("admin/category_edit.html", category=category, form=form), status


@bp.route("/rules", methods=["GET", "POST"])
def rules():
    """The keywords (and their weights) that assign categories to imported problems."""
    categories = all_categories()
    form = RuleForm()
    form.category.choices = [(c.id, c.name) for c in categories]
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                rule = classify.add_rule(_get(Category, form.category.data or 0), form.keyword.data, form.weight.data)
            except DomainError as error:
                db.session.rollback()
                _attach(form, error)
                status = error.status_code
            else:
                db.session.commit()
                flash(f"已为“{rule.category.name}”添加关键词“{rule.keyword}”。", "success")
                return redirect(url_for("admin.rules"))
        else:
            status = 422
    by_category: dict[int, list[CategoryRule]] = {}
    for rule in db.session.scalars(select(CategoryRule).order_by(CategoryRule.weight.desc(), CategoryRule.keyword)):
        by_category.setdefault(rule.category_id, []).append(rule)
    return render_template(
        "admin/rules.html", categories=categories, by_category=by_category, form=form, remove_form=ButtonForm()
    ), status


@bp.post("/rules/<int(max=2147483647):rule_id>/remove")
def remove_rule(rule_id: int):
    rule = _get(CategoryRule, rule_id)
    if not ButtonForm().validate_on_submit():
        abort(400)
    keyword = rule.keyword
    classify.remove_rule(rule)
    db.session.commit()
    flash(f"已删除关键词“{keyword}”。", "success")
    return redirect(url_for("admin.rules"))
