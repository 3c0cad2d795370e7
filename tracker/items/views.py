"""Item pages: my items, lists, overdue, review queue, an item with its actions and evidence."""

from urllib.parse import quote

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from sqlalchemy import select

from tracker import clock
from tracker.errors import DomainError, Invalid
from tracker.extensions import db
from tracker.forms import ButtonForm
from tracker.items import evidence as evidence_files
from tracker.items import history, permissions, queries, saved, search, services, workflow
from tracker.items.forms import (
    AssignForm,
    EvidenceForm,
    ItemForm,
    MeasuresForm,
    NewItemForm,
    ProgressForm,
    TransitionForm,
)
from tracker.items.models import Light, MeasureType, SavedList, SavedView, Status, UrgeLevel
from tracker.org import permissions as org_permissions
from tracker.org import queries as org_queries
from tracker.org.models import Unit, User
from tracker.web.pages import done, guard, safe_next
from tracker.web.params import Params
from tracker.web.work import first_error, run, submitted

bp = Blueprint("items", __name__)


guard(bp)


class _Predicates:
    """``perm`` in templates: every predicate of items.permissions and org.permissions."""

    def __getattr__(self, name: str):
        return getattr(permissions, name, None) or getattr(org_permissions, name)


@bp.app_context_processor
def item_words() -> dict:
    return {"perm": _Predicates(), "Status": Status, "Light": Light, "UrgeLevel": UrgeLevel, "MeasureType": MeasureType}


bp.add_app_template_global(history.action_title, "history_title")
bp.add_app_template_global(saved.KEPT, "saved_view_keys")  # what a view keeps of a list's address


@bp.app_template_global("co_operating")
def co_operating(item) -> bool:
    """The 配合 badge: the signed-in user sees ``item`` as one of its 配合单位."""
    return current_user.is_authenticated and permissions.only_co_operates(current_user, item)
bp.add_app_template_global(history.describe, "history_lines")


def _page_args() -> tuple[int, int]:
    config = current_app.config
    return Params(request.args, strict=False).page(per_page=config["PER_PAGE"], max_per_page=config["MAX_PER_PAGE"])


def _filter_from_args() -> queries.ItemFilter:
    """The list's filters from the address; a bad one is ignored."""
    return queries.ItemFilter.from_args(request.args, strict=False, user=current_user)


@bp.get("/")
def home():
    """Officials start from their own items, supervisors from the 统计看板."""
    if not org_permissions.is_supervisor(current_user):
        return redirect(url_for("items.mine"))
    return redirect(url_for("stats.dashboard"))


@bp.get("/my")
def mine():
    page, per_page = _page_args()
    include_closed = Params(request.args, strict=False).flag("closed")
    today = clock.local_today()
    result = queries.my_items(
        current_user, today=today, include_closed=include_closed, page=page, per_page=per_page
    )
    return render_template("items/mine.html", page=result, include_closed=include_closed)


@bp.get("/items")
def index():
    page, per_page = _page_args()
    flt = _filter_from_args()
    sort = request.args.get("sort", "deadline")
    today = clock.local_today()
    result = queries.list_items(current_user, flt, today=today, sort=sort, page=page, per_page=per_page)
    return render_template(
        "items/index.html",
        page=result,
        flt=flt,
        docs=search.documents([item.id for item in result.items]) if flt.q else {},
        my_views=saved.visible_views(current_user), view_url=view_url,
        sort=sort if sort in queries.SORTS else "deadline",
        sorts=queries.SORT_TITLES,
        **_unit_filter(flt),
        years=queries.item_years(current_user),
        categories=queries.all_categories(),
        assign_form=AssignForm(),
    )


@bp.get("/overdue")
def overdue():
    page, per_page = _page_args()
    flt = _filter_from_args()
    today = clock.local_today()
    result = queries.overdue_items(current_user, today=today, page=page, per_page=per_page, flt=flt)
    return render_template(
        "items/overdue.html", page=result, flt=flt, **_unit_filter(flt), my_views=saved.visible_views(current_user),
        view_url=view_url,
    )


def _unit_filter(flt: queries.ItemFilter) -> dict:
    """The unit filter's choices: a select of the units, or (many units) a box naming the one chosen."""
    units = org_queries.unit_choices(current_user)
    chosen = db.session.get(Unit, flt.unit_id) if units is None and flt.unit_id else None
    return {"units": units, "unit_ref": org_queries.unit_refs([chosen])[chosen.id] if chosen else ""}


@bp.get("/items/unit-suggestions")
def unit_suggestions():
    """The unit filter box's suggestions as one types: units one may see whose name holds ``q``."""
    units = org_queries.suggest_units(current_user, Params(request.args, strict=False).text("q", "", max_length=64))
    refs = org_queries.unit_refs(units)
    return jsonify([{"value": refs[u.id], "label": refs[u.id]} for u in units])


@bp.get("/review")
def review():
    if not org_permissions.is_supervisor(current_user):
        abort(403)
    page, per_page = _page_args()
    queue = queries.review_queue(current_user, page=page, per_page=per_page)
    return render_template(
        "items/review.html",
        page=queue,
        facts=queries.review_facts([item.id for item in queue.items]),
        actions={item.id: workflow.available_actions(current_user, item, None) for item in queue.items},
        rules=workflow.TRANSITIONS,
        images=evidence_files.PREVIEWABLE - {"application/pdf"},
        extensions=queries.pending_extensions(current_user),
        form=TransitionForm(),
    )


@bp.get("/items/owner-suggestions")
def owner_suggestions():
    """The owner boxes' suggestions as one types: ``q`` in a 姓名, username or unit name, among
    those who may own an item of ``item`` or ``unit`` (else of the units one supervises)."""
    if not org_permissions.is_supervisor(current_user):
        abort(403)
    args = Params(request.args, strict=False)
    unit = None
    if args.record_id("item"):
        unit = queries.load_item(args.record_id("item"), current_user, need=permissions.can_revise).unit
    elif args.record_id("unit"):
        unit = db.session.get(Unit, args.record_id("unit"))
        if unit is None or not org_permissions.supervises_unit(current_user, unit):
            abort(404)
    people = org_queries.suggest_owners(current_user, args.text("q", "", max_length=64), unit)
    return jsonify([{"value": u.username, "label": f"{u.display_name}（{u.unit.name}）"} for u in people])


@bp.post("/items/assign")
def assign():
    form = AssignForm()
    back = safe_next(request.form.get("next"), url_for("items.index"))
    outcome = submitted(form, lambda: services.assign_items(
        form.item_ids.data or [], current_user, owner_username=form.owner.data,
        deadline=form.deadline.data, now=clock.utcnow(), today=clock.local_today(),
    ))
    if outcome.ok:
        return done(f"已分派 {outcome.result} 个事项。", back)
    flash(first_error(form) or "输入有误，请检查后重试。", "danger")
    return redirect(back)


def item_page(
    item, *, status: int = 200, forms: dict | None = None, error_action: str | None = None,
    page_error: str | None = None,
):
    """The item page; ``forms`` replaces the blank forms with submitted ones carrying errors.

    ``page_error`` is shown at the top when the form it belongs to is not on the page
    (an action the user may not take, or no longer can)."""
    pending = workflow.pending_extension(item)
    forms = forms or {}
    transition_forms = {}
    for action in workflow.available_actions(current_user, item, pending):
        form = forms.get(action.value) or TransitionForm(formdata=None)
        if action is workflow.Action.submit and form.summary.data is None:
            form.summary.data = item.summary  # a resubmission starts from the last one
        form.action.data = action.value
        form.version.data = item.version
        transition_forms[action] = form
    return (
        render_template(
            "items/item.html",
            item=item,
            today=clock.local_today(),
            pending=pending,
            actions=transition_forms,
            rules=workflow.TRANSITIONS,
            error_action=error_action,
            page_error=page_error,
            history=queries.item_history(item),
            owners=org_queries.suggest_owners(current_user, "", item.unit) if permissions.can_revise(current_user, item)
            else [],
            evidence_form=forms.get("evidence") or EvidenceForm(formdata=None),
            progress_form=forms.get("progress") or ProgressForm(formdata=None),
            remove_form=ButtonForm(formdata=None),
            accept=evidence_files.ACCEPT,
            previewable=evidence_files.PREVIEWABLE,
            allowed_text=evidence_files.ALLOWED_TEXT,
            max_mb=current_app.config["MAX_UPLOAD_MB"],
        ),
        status,
    )


@bp.get("/items/<id:item_id>")
def show(item_id: int):
    return item_page(queries.load_item(item_id, current_user))


@bp.get("/items/<id:item_id>/transition")
@bp.get("/items/<id:item_id>/progress")
@bp.get("/items/<id:item_id>/evidence")
def back_to_item(item_id: int):
    """A failed form leaves its POST address in the address bar; reloading or reopening it
    comes back to the item page rather than to an error."""
    return redirect(url_for("items.show", item_id=item_id))


@bp.post("/items/<id:item_id>/transition")
def transition(item_id: int):
    item = queries.load_item(item_id, current_user)
    form = TransitionForm()
    action_value = form.action.data or ""

    def act() -> workflow.Action:
        action = workflow.parse_action(action_value)
        workflow.perform(
            item, action, current_user,
            now=clock.utcnow(), today=clock.local_today(),
            comment=form.comment.data or "", summary=form.summary.data or "",
            deadline=form.deadline.data, expected_version=form.version.data,
        )
        return action

    outcome = submitted(form, act)
    if outcome.ok:
        return done(f"已{outcome.result.title}：{item.title}",
                    safe_next(request.form.get("next"), url_for("items.show", item_id=item.id)))
    return item_page(
        queries.load_item(item_id, current_user), status=outcome.status, forms={action_value: form},
        error_action=action_value, page_error=first_error(form),
    )


@bp.post("/items/<id:item_id>/progress")
def progress(item_id: int):
    item = queries.load_item(item_id, current_user, need=permissions.works_on)
    form = ProgressForm()
    outcome = submitted(form, lambda: services.add_progress(item, current_user, form.note.data, now=clock.utcnow()),
                        aliases={"": "note"})
    if outcome.ok:
        return done("进展情况已记录。", url_for("items.show", item_id=item.id) + "#history")
    return item_page(queries.load_item(item_id, current_user), status=outcome.status, forms={"progress": form},
                      page_error=first_error(form))


@bp.post("/items/<id:item_id>/evidence")
def upload(item_id: int):
    item = queries.load_item(item_id, current_user, need=permissions.works_on)  # before the files are read
    form = EvidenceForm()
    outcome = submitted(form, lambda: evidence_files.add_evidence_files(
        item, current_user, [(upload.stream, upload.filename or "") for upload in form.file.data],
        now=clock.utcnow(), description=form.description.data or "",
        max_bytes=current_app.config["MAX_UPLOAD_MB"] * 1024 * 1024,
    ), aliases={"": "file"})
    if outcome.ok:
        names = [evidence.filename for evidence in outcome.result]
        return done(f"已上传{len(names)}个文件：{'、'.join(names)}。", url_for("items.show", item_id=item.id) + "#evidence")
    return item_page(queries.load_item(item_id, current_user), status=outcome.status, forms={"evidence": form},
                      page_error=first_error(form))


@bp.get("/evidence/<id:evidence_id>")
def download(evidence_id: int):
    evidence = queries.load_evidence(evidence_id, current_user)
    inline = (request.args.get("inline") == "1" and evidence.content_type in evidence_files.PREVIEWABLE
              and not evidence_files.carries_script(evidence))
    response = evidence_files.send(evidence, etag=evidence.sha256, max_age=0)
    # Shown or saved, the file runs with no rights of this site: no script, no same origin.
    response.headers["Content-Security-Policy"] = "sandbox"
    # RFC 6266: the original (Chinese) name in filename*, a readable ASCII name for old clients.
    ascii_name = f"evidence-{evidence.id}.{evidence_files.extension(evidence.filename) or 'bin'}"
    response.headers.set(
        "Content-Disposition", "inline" if inline else "attachment",
        filename=ascii_name, **{"filename*": "UTF-8''" + quote(evidence.filename, safe="")},
    )
    return response


@bp.post("/evidence/<id:evidence_id>/remove")
def remove_evidence(evidence_id: int):
    evidence = queries.load_evidence(evidence_id, current_user)
    if not ButtonForm().validate_on_submit():
        abort(400)
    run(lambda: evidence_files.remove_evidence(evidence, current_user, now=clock.utcnow()))
    return done(f"已撤回“{evidence.filename}”。", url_for("items.show", item_id=evidence.item_id) + "#evidence")


# The services name the list of categories; the form shows the primary one as its own field.
CATEGORY_FIELD = {"categories": "primary_category"}


def _category_choices(form: ItemForm) -> None:
    categories = queries.all_categories()
    choices = [(c.code, c.name) for c in categories]
    form.primary_category.choices = choices
    form.other_categories.choices = choices


def _chosen_categories(form: ItemForm):
    codes = [form.primary_category.data or ""] + list(form.other_categories.data or [])
    return services.categories_by_code(codes)


def _unit_field_choices(form: ItemForm) -> None:
    """配合单位 may be any unit; 整改类型 one of three."""
    form.co_units.choices = [(u.id, u.indented_name) for u in org_queries.all_units()]
    form.measure_type.choices = [(kind.value, kind.title) for kind in MeasureType]


def _co_units_from(form: ItemForm) -> list[Unit]:
    """The 配合单位 ticked: units of the system (an unknown id is refused, not dropped)."""
    ids = sorted(set(form.co_units.data or []))
    units = list(db.session.scalars(select(Unit).where(Unit.id.in_(ids)))) if ids else []
    if len(units) != len(ids):
        raise DomainError("配合单位不存在，请重新选择。", field="co_units")
    return units


def _owner_from(form: ItemForm) -> User | None:
    """The owner typed in the box (a username, or a 姓名 nobody else has); None when left empty."""
    words = (form.owner.data or "").strip()
    return services.find_person(words) if words else None


@bp.route("/items/<id:item_id>/edit", methods=["GET", "POST"])
def edit(item_id: int):
    # an owner whose item is under review is told why when saving (409)
    item = queries.load_item(item_id, current_user, need=permissions.works_on)
    supervising = permissions.can_edit_item(current_user, item)
    form_class = ItemForm if supervising else MeasuresForm
    form = form_class(obj=None if request.method == "POST" else item)
    if supervising:
        _category_choices(form)
        form.unit.choices = [(u.id, u.indented_name) for u in org_queries.supervised_units(current_user)]
        _unit_field_choices(form)
    if request.method == "GET":
        form.version.data = item.version
        if supervising:
            form.owner.data = item.owner.username if item.owner else ""
            form.co_units.data = [u.id for u in item.co_units]
            form.measure_type.data = item.measure_type.value
            form.review_every_days.data = item.review_every_days
            form.unit.data = item.unit_id
            codes = [c.code for c in item.categories]
            form.primary_category.data = codes[0] if codes else "other"
            form.other_categories.data = codes[1:]
    status = 200
    if request.method == "POST":

        def save() -> dict:
            changes = {"measures": form.measures.data}
            if supervising:
                changes.update(title=form.title.data, text=form.text.data, categories=_chosen_categories(form))
                owner = _owner_from(form)
                if owner is not None and owner.id != item.owner_id:  # the same owner is no change
                    changes["owner"] = owner
                if form.unit.data and form.unit.data != item.unit_id:
                    changes["unit"] = db.session.get(Unit, form.unit.data)
                if form.deadline.data is not None:
                    changes["deadline"] = form.deadline.data
                changes.update(leader=form.leader.data or "", co_units=_co_units_from(form),
                               measure_type=services.parse_measure_type(form.measure_type.data),
                               review_every_days=form.review_every_days.data)
            return services.update_item(
                item, current_user, changes, now=clock.utcnow(), today=clock.local_today(),
                expected_version=form.version.data,
            )

        outcome = submitted(form, save, aliases=CATEGORY_FIELD)
        if outcome.ok:
            diff = outcome.result
            cleared = "unit" in diff and diff.get("owner", {}).get("new", "") is None
            message = "已保存修改。" if diff else "内容没有变化，未作修改。"
            if cleared:
                message += f"原责任人不能负责{item.unit.name}的事项，已取消分派，请重新分派。"
            return done(message, url_for("items.show", item_id=item.id))
        status = outcome.status
    owners = org_queries.suggest_owners(current_user, "", item.unit) if supervising else []
    return render_template("items/edit.html", form=form, item=item, supervising=supervising, owners=owners), status


@bp.route("/items/new", methods=["GET", "POST"])
def create():
    if not org_permissions.is_supervisor(current_user):
        abort(403)
    form = NewItemForm()
    units = org_queries.supervised_units(current_user)
    form.unit.choices = [(u.id, u.indented_name) for u in units]
    _unit_field_choices(form)
    _category_choices(form)
    if request.method == "GET":
        form.year.data = clock.local_today().year
        form.primary_category.data = "other"
    status = 200
    if request.method == "POST":

        def save():
            unit = db.session.get(Unit, form.unit.data) if form.unit.data else None
            if unit is None:
                raise DomainError("请选择责任单位。", field="unit")
            return services.create_item(
                unit=unit, year=form.year.data, title=form.title.data, text=form.text.data or "",
                measures=form.measures.data or "", categories=_chosen_categories(form),
                actor=current_user, now=clock.utcnow(), today=clock.local_today(),
                owner=_owner_from(form), deadline=form.deadline.data, leader=form.leader.data or "",
                co_units=_co_units_from(form), measure_type=services.parse_measure_type(form.measure_type.data),
                immediate_days=int(current_app.config["IMMEDIATE_DEADLINE_DAYS"]),
            )

        outcome = submitted(form, save, aliases=CATEGORY_FIELD)
        if outcome.ok:
            return done("事项已创建。", url_for("items.show", item_id=outcome.result.id))
        status = outcome.status
    return render_template("items/new.html", form=form, owners=org_queries.suggest_owners(current_user, "")), status


# 我的视图 ---------------------------------------------------------------------------------------

LIST_ENDPOINTS = {SavedList.items: "items.index", SavedList.overdue: "items.overdue"}


def view_url(view: SavedView) -> str:
    return url_for(LIST_ENDPOINTS[view.list], **view.args)


@bp.get("/views")
def views_page():
    from tracker.exports.ledger import ledger_scope  # the filters in words, as a ledger's scope row says them

    today = clock.local_today()

    def described(view: SavedView) -> str:
        scope = ledger_scope(queries.ItemFilter.from_args(view.args, strict=False, user=current_user), None, today)
        return "；".join(scope.filters) or "全部事项"

    return render_template("items/views.html", views=saved.visible_views(current_user, limit=saved.PER_USER + saved.SHOWN),
                           form=ButtonForm(), view_url=view_url, described=described)


@bp.post("/views")
def save_view():
    """Keep the list the form was on (its filters are posted beside the name) as one of 我的视图."""
    chosen = request.form.get("list", "items")
    saved_list = SavedList(chosen) if chosen in {m.value for m in SavedList} else SavedList.items
    back = url_for(LIST_ENDPOINTS[saved_list], **saved.kept_args(request.form))
    if not ButtonForm().validate_on_submit():
        flash("页面已过期，请刷新后再保存。", "danger")
        return redirect(back)
    try:
        view = run(lambda: saved.save(current_user, request.form.get("name", ""), saved_list, request.form,
                                      shared=request.form.get("shared") == "1", weekly=request.form.get("weekly") == "1",
                                      now=clock.utcnow()))
    except DomainError as error:
        flash(error.message, "danger")
        return redirect(back)
    return done(f"已保存视图“{view.name}”" + ("，每周一 09:00 发送给您。" if view.weekly else "。"), back)


@bp.get("/views/<id:view_id>")
def open_view(view_id: int):
    return redirect(view_url(saved.load(view_id, current_user)))


@bp.post("/views/<id:view_id>/delete")
def delete_view(view_id: int):
    view = saved.load(view_id, current_user, own=True)
    if not ButtonForm().validate_on_submit():
        abort(400)
    name = view.name
    run(lambda: saved.delete(view))
    return done(f"已删除视图“{name}”。", url_for("items.views_page"))


# 批量修改 ---------------------------------------------------------------------------------------

def _bulk_changes(form) -> dict:
    """The changes a bulk form asks for, parsed; Invalid names the field that is wrong."""
    from tracker.org.services import find_unit
    from tracker.web import params

    changes: dict = {}
    if (owner := (form.get("owner") or "").strip()):
        changes["owner"] = services.find_person(owner)
    if form.get("deadline"):
        changes["deadline"] = params.day(form["deadline"], "deadline")
    if form.get("category"):
        changes["primary_category"] = services.categories_by_code([form["category"]])[0]
    if form.get("measure_type"):
        changes["measure_type"] = services.parse_measure_type(form["measure_type"])
    if (leader := (form.get("leader") or "").strip()):
        changes["leader"] = leader
    if (unit := (form.get("to_unit") or "").strip()):
        changes["unit"] = find_unit(unit)
    return changes


def _bulk_ids(form, back: str) -> list[int]:
    """The items ticked, or (``all=1``) every item of the list the form was on, up to BULK_MAX + 1."""
    from urllib.parse import parse_qs, urlsplit

    from werkzeug.datastructures import MultiDict

    from tracker.web import params

    if form.get("all") != "1":
        return [params.record_id(value, "item_ids") for value in form.getlist("item_ids")[:services.BULK_MAX + 1]]
    flt = queries.ItemFilter.from_args(MultiDict(parse_qs(urlsplit(back).query)), strict=False, user=current_user)
    return queries.matching_ids(current_user, flt, clock.local_today(), overdue=urlsplit(back).path.startswith("/overdue"),
                                limit=services.BULK_MAX + 1)


@bp.post("/items/bulk")
def bulk():
    """One change to the items ticked in a list, or to all that match it (confirmed first)."""
    back = safe_next(request.form.get("next"), url_for("items.index"))
    if not ButtonForm().validate_on_submit():
        flash("页面已过期，请刷新后重试。", "danger")
        return redirect(back)
    try:
        changes = _bulk_changes(request.form)
        ids = _bulk_ids(request.form, back)
        if request.form.get("all") == "1" and request.form.get("confirm") != "1":
            if len(ids) > services.BULK_MAX:
                raise Invalid(f"符合条件的事项超过{services.BULK_MAX}项，请缩小筛选范围后再批量修改。")
            if not changes:
                raise Invalid("请填写要修改的内容。")
            return render_template("items/bulk_confirm.html", count=len(ids), fields=request.form, changes=changes, back=back)
        versions = {item_id: int(value) for item_id in ids
                    if (value := request.form.get(f"v{item_id}", "")).isdigit()}
        result = run(lambda: services.change_items(ids, current_user, changes, now=clock.utcnow(), today=clock.local_today(),
                                                   versions=versions, skip_refused=request.form.get("skip") == "1"))
    except DomainError as error:
        flash(f"未修改：{error.message}", "danger")
        return redirect(back)
    skipped = "；".join(f"“{title}”：{reason}" for title, reason in result.skipped[:10])
    if result.skipped:
        flash(f"跳过{len(result.skipped)}个不能修改的事项：{skipped}" + ("……" if len(result.skipped) > 10 else ""), "warning")
    return done(f"已修改 {result.changed} 个事项，每个事项的变更已记入其历史。", back)
