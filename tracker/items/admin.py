"""系统管理 of the problem categories."""

from flask import flash, render_template, request, url_for

from tracker.admin import bp, get_or_404
from tracker.items import categories as category_service
from tracker.items.forms import CategoryForm
from tracker.items.models import Category
from tracker.items.queries import all_categories, items_owned_outside_reach
from tracker.org.services import user_changed
from tracker.web.pages import done
from tracker.web.work import submitted


def warn_of_stranded_items(_app, user) -> None:
    """After an admin moved or changed a user: the open items they own but could not be given now."""
    stranded = items_owned_outside_reach(user)
    if stranded:
        flash(f"{user.display_name}仍是{stranded}个未销号事项的责任人，但已不在这些事项的单位，"
              "请在事项清单中重新分派。", "warning")


bp.record_once(lambda _state: user_changed.connect(warn_of_stranded_items))


@bp.route("/categories", methods=["GET", "POST"])
def categories():
    form = CategoryForm()
    status = 200
    if request.method == "POST":
        outcome = submitted(form, lambda: category_service.create_category(form.code.data, form.name.data, form.position.data))
        if outcome.ok:
            return done(f"已添加类别“{outcome.result.name}”。", url_for("admin.categories"))
        status = outcome.status
    return render_template("admin/categories.html", categories=all_categories(), form=form), status


@bp.route("/categories/<id:category_id>", methods=["GET", "POST"])
def edit_category(category_id: int):
    category = get_or_404(Category, category_id)
    form = CategoryForm(obj=category if request.method == "GET" else None)
    status = 200
    if request.method == "POST":
        form.code.data = category.code  # the code is fixed once data refers to it
        outcome = submitted(form, lambda: category_service.update_category(category, form.name.data, form.position.data))
        if outcome.ok:
            return done("已保存。", url_for("admin.categories"))
        status = outcome.status
    return render_template("admin/category_edit.html", category=category, form=form), status
