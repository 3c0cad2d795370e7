"""系统管理 of 督办: the rule that suggests levels, automatic notices, the monthly bulletin."""

from flask import render_template, request, url_for
from flask_login import current_user

from tracker.admin import bp
from tracker.urging import services
from tracker.urging.forms import UrgeRuleForm
from tracker.web.pages import done
from tracker.web.work import submitted


@bp.route("/urge-rule", methods=["GET", "POST"])
def urge_rule():
    rule = services.current_rule()
    form = UrgeRuleForm(obj=rule if request.method == "GET" else None)
    status = 200
    if request.method == "POST":
        outcome = submitted(form, lambda: services.update_rule(
            current_user, yellow_after_days=form.yellow_after_days.data, red_after_days=form.red_after_days.data,
            red_after_yellows=form.red_after_yellows.data, auto_issue=form.auto_issue.data,
            monthly_bulletin=form.monthly_bulletin.data,
        ))
        if outcome.ok:
            return done("督办规则已保存。", url_for("admin.urge_rule"))
        status = outcome.status
    return render_template("admin/urge_rule.html", form=form, rule=rule), status
