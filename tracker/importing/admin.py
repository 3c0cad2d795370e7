"""系统管理 of the keywords that classify imported problems."""

from flask import abort, flash, redirect, render_template, request, url_for

from tracker.admin import bp, get_or_404
from tracker.forms import ButtonForm
from tracker.importing import classify, services
from tracker.importing.forms import RuleForm
from tracker.importing.models import CategoryRule
from tracker.items.models import Category
from tracker.items.queries import all_categories
from tracker.web.pages import done
from tracker.web.work import run, submitted


@bp.route("/rules", methods=["GET", "POST"])
def rules():
    """The keywords (and their weights) that assign categories to imported problems."""
    categories = all_categories()
    form = RuleForm()
    form.category.choices = [(c.id, c.name) for c in categories]
    status = 200
    if request.method == "POST":
        outcome = submitted(
            form, lambda: classify.add_rule(get_or_404(Category, form.category.data or 0), form.keyword.data, form.weight.data)
        )
        if outcome.ok:
            rule = outcome.result
            return done(f"已为“{rule.category.name}”添加关键词“{rule.keyword}”。", url_for("admin.rules"))
        status = outcome.status
    by_category = classify.rules_by_category()
    return render_template(
        "admin/rules.html", categories=categories, by_category=by_category, form=form, remove_form=ButtonForm()
    ), status


@bp.post("/rules/<id:rule_id>/remove")
def remove_rule(rule_id: int):
    rule = get_or_404(CategoryRule, rule_id)
    if not ButtonForm().validate_on_submit():
        abort(400)
    keyword = rule.keyword
    run(lambda: classify.remove_rule(rule))
    flash(f"已删除关键词“{keyword}”。", "success")
    return redirect(url_for("admin.rules"))


@bp.get("/withdrawn-reports")
def withdrawn_reports():
    """Imports undone: which report, how many problems, who imported and who withdrew it, when, why."""
    return render_template("admin/withdrawn_reports.html", rows=services.withdrawn_reports())
