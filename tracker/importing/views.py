"""Importing a report in the browser: upload or paste → preview and edit → confirm."""

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select

from tracker import clock
from tracker.errors import DomainError
from tracker.extensions import db
from tracker.forms import ButtonForm
from tracker.importing import classify, ledger
from tracker.importing import services as importing
from tracker.importing.forms import ConfirmForm, LedgerUploadForm, UploadForm
from tracker.items import queries
from tracker.items.models import REPORT_KINDS
from tracker.org import permissions
from tracker.org import queries as org_queries
from tracker.org import services as org_services
from tracker.org.models import Unit
from tracker.web.pages import done, guard
from tracker.web.work import run, submitted

bp = Blueprint("importing", __name__, url_prefix="/reports")


guard(bp, permissions.is_supervisor)


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.secret_key, salt="report-import")


def _supervised_units() -> list[Unit]:
    return org_queries.supervised_units(current_user)


def _fill_choices(form: ConfirmForm, units: list[Unit]) -> None:
    form.unit.choices = [(0, "（请选择单位）")] + [(u.id, u.indented_name) for u in units]
    form.new_unit_parent.choices = [(0, "（无，顶级单位）")] + [(u.id, u.indented_name) for u in units]
    categories = [(c.code, c.name) for c in queries.all_categories()]
    for row in form.rows:
        row.form.primary_category.choices = categories
        row.form.other_categories.choices = categories


@bp.route("/import", methods=["GET", "POST"])
def upload():
    form = UploadForm()
    status = 200
    if form.validate_on_submit():
        upload = form.file.data
        try:
            if upload and upload.filename:
                preview = importing.preview_report(data=upload.read(), filename=upload.filename)
            else:
                preview = importing.preview_report(pasted=form.pasted.data)
        except DomainError as error:
            (form.file if upload and upload.filename else form.pasted).errors = [error.message]
            status = error.status_code
        else:
            return _preview_page(_confirm_form(preview), preview.match, preview.parsed.plans, preview.duplicate,
                                 kind=preview.parsed.kind, ocr=preview.parsed.ocr)
    elif form.is_submitted():
        status = 422
    return render_template("importing/upload.html", form=form), status


def _confirm_form(preview: importing.Preview) -> ConfirmForm:
    """The preview's form. The unit is the system's unit the report names, when the user may import
    for it; else none is chosen (never the user's own unit by default) and the page says why."""
    parsed = preview.parsed
    units = _supervised_units()
    found = preview.match.found
    chosen = found if found is not None and any(u.id == found.id for u in units) else None
    year = importing.report_year(parsed, clock.local_today())
    data = {
        "token": _serializer().dumps({"sha256": preview.sha256, "filename": preview.filename, "written": parsed.unit,
                                      "kind": parsed.kind, "fingerprint": parsed.fingerprint}),
        "unit": chosen.id if chosen else 0,
        "new_unit_name": parsed.unit or "",
        "new_unit_parent": current_user.unit_id,
        "year": year,
        "title": parsed.title,
        "deadline": importing.DeadlineRule.from_config(current_app.config).for_year(year, clock.local_today()),
        "rows": [
            {"include": True, "merge_up": False, "title": p.title, "text": p.text, "measures": measures,
             "progress": p.progress, "primary_category": p.categories[0], "other_categories": p.categories[1:],
             "proposed": p.categories[0]}
            for p, measures in zip(parsed.problems, preview.measures, strict=True)
        ],
    }
    form = ConfirmForm(formdata=None, data=data)
    _fill_choices(form, units)
    return form


@bp.route("/import/learn", methods=["GET", "POST"])
def learn():
    """After an import whose categories a person corrected: offer each problem's key phrase as a
    keyword of the category chosen, so that the rules learn from those who use them."""
    offered = session.get("learn") or {}
    found = queries.items_by_ids(current_user, [int(i) for i in offered.get("items", []) if isinstance(i, int)])
    back = url_for("items.index", report=offered["report"], sort="id") if offered.get("report") else url_for("items.index")
    if request.method == "POST":
        if not ButtonForm().validate_on_submit():
            abort(400)

        def add() -> list[str]:
            added = []
            for item in found:
                if request.form.get(f"learn-{item.id}") and item.categories:
                    try:
                        rule = classify.learn(item.categories[0], request.form.get(f"phrase-{item.id}", ""))
                    except DomainError:  # too short: left out, the others are added
                        continue
                    if rule is not None:
                        added.append(f"“{rule.keyword}”→{rule.category.name}")
            return added

        added = run(add)
        session.pop("learn", None)
        return done("已加入归类规则：" + "、".join(added) + "。" if added else "没有加入新的归类规则。", back)
    return render_template("importing/learn.html", items=found, key_phrase=classify.key_phrase, back=back)


def _preview_page(form: ConfirmForm, match, plans, duplicate, status: int = 200, kind: str | None = None,
                  ocr: bool = False):
    supervised = {u.id for u in _supervised_units()}
    return render_template(
        "importing/preview.html", form=form, match=match, plans=plans, duplicate=duplicate, kind=kind, ocr=ocr,
        late_deadline=importing.DeadlineRule.from_config(current_app.config).why_late(form.year.data,
                                                                                     clock.local_today()),
        report_kinds=REPORT_KINDS,
        split_mark=importing.SPLIT_MARK, may_create_unit=permissions.is_admin(current_user),
        outside=match.found is not None and match.found.id not in supervised,
    ), status


@bp.post("/import/confirm")
def confirm():
    form = ConfirmForm()
    units = _supervised_units()
    _fill_choices(form, units)
    try:
        meta = _serializer().loads(form.token.data or "")
    except BadSignature:
        flash("导入信息已失效，请重新上传报告。", "danger")
        return redirect(url_for("importing.upload"))
    chosen = db.session.get(Unit, form.unit.data) if form.unit.data else None
    duplicate = importing.find_duplicate(meta.get("sha256"), meta.get("fingerprint"), unit=chosen,
                                         year=form.year.data if isinstance(form.year.data, int) else None,
                                         title=form.title.data)

    def store():
        if form.create_unit.data and permissions.is_admin(current_user):
            parent = db.session.get(Unit, form.new_unit_parent.data) if form.new_unit_parent.data else None
            unit = org_services.create_unit(form.new_unit_name.data, parent)
        else:
            unit = db.session.get(Unit, form.unit.data) if form.unit.data else None
        if unit is None:
            raise DomainError("请选择报告单位：报告中的单位不在系统中时，请选择它所属的单位。", field="unit")
        rows = [
            {"include": row.include.data, "merge_up": row.merge_up.data, "title": row.title.data or "",
             "text": row.text.data or "", "measures": row.measures.data or "", "progress": row.progress.data or "",
             "categories": [row.primary_category.data, *(row.other_categories.data or [])],
             "proposed": row.proposed.data or "", "deadline": row.deadline.data}
            for row in form.rows
        ]
        drafts = importing.drafts_from_rows(rows)
        report, items = importing.import_report(
            unit=unit, year=form.year.data, title=form.title.data, drafts=drafts,
            actor=current_user, now=clock.utcnow(), filename=meta.get("filename"), sha256=meta.get("sha256"),
            deadline=form.deadline.data, allow_duplicate=form.allow_duplicate.data, kind=meta.get("kind"),
            fingerprint=meta.get("fingerprint"),
        )
        return report, items, [item.id for item, draft in zip(items, drafts, strict=True) if draft.corrected]

    outcome = submitted(form, store, aliases={"rows": "", "name": "new_unit_name"})
    if outcome.ok:
        report, items, corrected = outcome.result
        message = f"已导入《{report.title}》：{len(items)}个问题。请为它们分派责任人和整改时限。"
        if corrected:  # offered to the one who corrected them, for those items only
            session["learn"] = {"report": report.id, "items": corrected[:200]}
            return done(message + f"您改了{len(corrected)}个问题的类别，可让归类规则记住。", url_for("importing.learn"))
        return done(message, url_for("items.index", report=report.id, sort="id"))
    return _preview_page(form, importing.unit_of_name(meta.get("written")), [], duplicate, outcome.status,
                         kind=meta.get("kind"))


# 导入台账: upload an existing ledger → preview (columns, names to map) → confirm ---------------------

def _ledger_serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.secret_key, salt="ledger-import")


@bp.route("/import-ledger", methods=["GET", "POST"])
def ledger_upload():
    form = LedgerUploadForm()
    units = _supervised_units()
    form.unit.choices = [(u.id, u.indented_name) for u in units]
    status = 200
    if request.method == "GET":
        form.unit.data = current_user.unit_id
    elif form.validate_on_submit():
        upload = form.file.data
        unit = next((u for u in units if u.id == form.unit.data), None)
        try:
            if not upload or not upload.filename:
                raise DomainError("请选择要导入的台账文件（.xlsx）。", field="file")
            if unit is None:
                raise DomainError("请选择台账所属的单位。", field="unit")
            data = upload.read()
            sheet = ledger.read_ledger(data, upload.filename)
            token = {"sha256": ledger.keep(data), "filename": upload.filename[:255], "unit": unit.id,
                     "year": form.year.data}
            preview = ledger.preview_ledger(sheet, unit=unit, year=form.year.data, sha256=token["sha256"],
                                            filename=token["filename"], today=clock.local_today(), actor=current_user)
        except DomainError as error:
            (form.unit if error.field == "unit" else form.file).errors = [error.message]
            status = error.status_code
        else:
            return _ledger_page(preview, token)
    else:
        status = 422
    return render_template("importing/ledger_upload.html", form=form), status


def _ledger_page(preview: ledger.LedgerPreview, token: dict, error: str | None = None, status: int = 200):
    return render_template(
        "importing/ledger_preview.html", preview=preview, token=_ledger_serializer().dumps(token), error=error,
        fields=ledger.FIELDS, units=_supervised_units() if preview.unknown_units else [],
        all_units=list(db.session.scalars(select(Unit).order_by(Unit.path))) if preview.unknown_units else [],
        shown=preview.drafts[:ledger.SHOWN_ROWS], form=ButtonForm(),
        category_names={c.code: c.name for c in queries.all_categories()},
    ), status


def _choices(earlier: dict) -> ledger.Choices:
    """The preview's answers: those given before (carried in the signed token, since a name once
    mapped is no longer asked), then those posted now: ``column-<i>`` a field for column i;
    ``unit-name-<n>`` with ``unit-for-<n>`` a unit id, ``owner-name-<n>`` with ``owner-for-<n>`` a username."""
    columns = {int(index): key for index, key in (earlier.get("columns") or {}).items() if str(index).isdigit()}
    for key, value in request.form.items():
        if key.startswith("column-") and key[7:].isdigit() and int(key[7:]) < 200:
            columns[int(key[7:])] = value or None
    units = {str(name): int(unit) for name, unit in (earlier.get("units") or {}).items() if isinstance(unit, int)}
    owners = {str(name): str(user) for name, user in (earlier.get("owners") or {}).items()}
    for key, name in request.form.items():
        if key.startswith("unit-name-") and (chosen := request.form.get("unit-for-" + key[10:], "")).isdigit():
            units[name] = int(chosen)
        if key.startswith("owner-name-") and (chosen := request.form.get("owner-for-" + key[11:], "").strip()):
            owners[name] = chosen[:64]
    return ledger.Choices(columns=columns, units=units, owners=owners,
                          undated=bool(request.form.get("undated") or earlier.get("undated")),
                          allow_duplicate=bool(request.form.get("allow_duplicate") or earlier.get("allow_duplicate")))


@bp.post("/import-ledger/confirm")
def ledger_confirm():
    if not ButtonForm().validate_on_submit():
        abort(400)
    try:
        token = _ledger_serializer().loads(request.form.get("token", ""))
    except BadSignature:
        flash("导入信息已失效，请重新上传台账。", "danger")
        return redirect(url_for("importing.ledger_upload"))
    unit = next((u for u in _supervised_units() if u.id == token.get("unit")), None)
    if unit is None:
        abort(403)
    choices = _choices(token.get("choices") or {})
    token["choices"] = {"columns": choices.columns, "units": choices.units, "owners": choices.owners,
                        "undated": choices.undated, "allow_duplicate": choices.allow_duplicate}
    try:
        sheet = ledger.read_ledger(ledger.kept(token.get("sha256", "")), token.get("filename", ""))
        preview = ledger.preview_ledger(sheet, unit=unit, year=token.get("year"), sha256=token["sha256"],
                                        filename=token.get("filename", ""), today=clock.local_today(), choices=choices,
                                        actor=current_user)
    except DomainError as error:
        flash(error.message, "danger")
        return redirect(url_for("importing.ledger_upload"))
    if request.form.get("action") != "import":
        return _ledger_page(preview, token)
    try:
        reports, created = run(lambda: ledger.import_ledger(preview, actor=current_user, now=clock.utcnow()))
    except DomainError as error:
        return _ledger_page(preview, token, error.message, error.status_code)
    to = url_for("items.index", report=reports[0].id, sort="id") if len(reports) == 1 else url_for("items.index")
    return done(f"已导入台账“{token.get('filename')}”：{len(created)}个事项。", to)
