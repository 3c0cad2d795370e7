"""The state machine of CONTRACT.md: every (status, action, role) at the service every door calls,
and a case of each action and each refusal through the item page's form.

The expected outcome is written out here from CONTRACT.md's table, independently of
tracker.items.workflow.TRANSITIONS, so that a wrong table in the code fails these tests.
"""

import io
import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from tests.conftest import PDF
from tracker.errors import DomainError
from tracker.extensions import db
from tracker.items import queries, workflow
from tracker.items.models import ExtensionRequest, ExtensionStatus, Item, ItemEvent, Status
from tracker.items.workflow import Action
from tracker.reminders.models import Notification

STATUSES = ["open", "in_progress", "pending_review", "closed"]
ACTIONS = ["start", "submit", "approve_first", "approve", "return", "reopen", "withdraw", "request_extension",
           "approve_extension", "reject_extension"]
# role name → attribute of the org fixture; the item belongs to 甲县局 and is owned by off_a.
ROLES = {
    "owner": "off_a",
    "colleague": "off_a2",  # official of the same unit, not the owner: sees, may not act
    "official_below": "off_team",  # official of a unit below: does not see the item
    "unit_supervisor": "sup_a",
    "upper_supervisor": "city_sup",
    "admin": "admin",
    "other_supervisor": "sup_b",  # supervisor of a sibling county: does not see the item
}
REVIEWERS = {"unit_supervisor", "upper_supervisor", "admin"}
INVISIBLE = {"official_below", "other_supervisor"}

# CONTRACT.md: action → (statuses it starts from, status after (None: unchanged), who)
EXPECTED = {
    "start": ({"open"}, "in_progress", "owner"),
    "submit": ({"in_progress"}, "pending_review", "owner"),
    "approve_first": ({"pending_review"}, "pending_review", "reviewer"),  # 初审: under 两级审核 only
    "approve": ({"pending_review"}, "closed", "reviewer"),
    "return": ({"pending_review"}, "in_progress", "reviewer"),
    "reopen": ({"closed"}, "in_progress", "reviewer"),
    "withdraw": ({"pending_review"}, "in_progress", "owner"),
    "request_extension": ({"open", "in_progress", "pending_review"}, None, "owner"),
    "approve_extension": ({"open", "in_progress", "pending_review"}, None, "reviewer"),
    "reject_extension": ({"open", "in_progress", "pending_review"}, None, "reviewer"),
}

TWO_LEVEL_ONLY = {"approve_first"}


def _may_act(role: str, who: str) -> bool:
    return role == "owner" if who == "owner" else role in REVIEWERS


def _snapshot(item_id: int) -> dict:
    db.session.expire_all()
    item = db.session.get(Item, item_id)
    return {
        "status": item.status.value,
        "deadline": item.deadline,
        "version": item.version,
        "events": db.session.scalar(select(func.count(ItemEvent.id)).where(ItemEvent.item_id == item_id)),
        "extensions": [
            (r.status.value, r.new_deadline)
            for r in db.session.scalars(select(ExtensionRequest).where(ExtensionRequest.item_id == item_id))
        ],
    }


def _item_in(make, org, status: str, action: str) -> Item:
    item = make.item(org.county_a, org.off_a, status=status, supervisor=org.sup_a)
    if status in ("open", "in_progress"):  # so that submit is refused only for status or role; the
        make.evidence(item, org.sup_a)  # supervisor's file, as the owner's would start an open item
    if action in ("approve_extension", "reject_extension") and status != "closed":
        workflow.perform(item, Action.request_extension, org.off_a, now=make.now, today=make.today,
                         deadline=item.deadline + timedelta(days=60), comment="需要更多时间")
        db.session.commit()
    return item


def _fields(item: Item, action: str, version: int) -> dict:
    return {"action": action, "version": version, "comment": "意见", "summary": "已完成整改",
            "deadline": (item.deadline + timedelta(days=30)).isoformat()}


def _through_the_service(make, actor, item_id: int, fields: dict) -> int:
    """The action as every door takes it: load what the actor may see, perform, commit once.
    Returns the status a door answers with."""
    try:
        item = queries.load_item(item_id, actor)
        workflow.perform(item, workflow.parse_action(fields["action"]), actor, now=make.now, today=make.today,
                         comment=fields["comment"], summary=fields["summary"],
                         deadline=date.fromisoformat(fields["deadline"]), expected_version=fields["version"])
    except DomainError as refused:
        db.session.rollback()
        return refused.status_code
    db.session.commit()
    return 302


def _check(status, action, role, answered: int, before: dict, after: dict, actor_id: int, item_id: int) -> None:
    sources, target, who = EXPECTED[action]
    if role in INVISIBLE:
        assert answered == 404
    elif not _may_act(role, who):
        assert answered == 403
    elif status not in sources or action in TWO_LEVEL_ONLY:  # 甲县局 has one review
        assert answered == 409
    else:
        assert answered == 302
        assert after["status"] == (target or status)
        assert after["events"] == before["events"] + 1
        last = db.session.scalar(select(ItemEvent).where(ItemEvent.item_id == item_id).order_by(ItemEvent.id.desc()))
        assert (last.action.value, last.actor_id) == (action, actor_id)
        if action == "approve_extension":
            assert after["deadline"] == before["deadline"] + timedelta(days=60)
            assert after["extensions"] == [("approved", before["deadline"] + timedelta(days=60))]
        elif action == "reject_extension":
            assert after["deadline"] == before["deadline"]
            assert after["extensions"][0][0] == "rejected"
        elif action == "request_extension":
            assert after["deadline"] == before["deadline"]  # only a request until approved
            assert after["extensions"] == [("pending", before["deadline"] + timedelta(days=30))]
        return
    assert after == before, "a refused action changed the item"


@pytest.mark.parametrize("role", list(ROLES))
@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("status", STATUSES)
def test_transition_matrix(org, make, status, action, role):
    """Every (status, action, role), at the service every door calls."""
    item = _item_in(make, org, status, action)
    before = _snapshot(item.id)
    actor = getattr(org, ROLES[role])
    answered = _through_the_service(make, actor, item.id, _fields(item, action, before["version"]))
    _check(status, action, role, answered, before, _snapshot(item.id), actor.id, item.id)


# One case of each action and of each refusal through the item page's form: the matrix's answers
# are what a browser gets.
OVER_HTTP = [
    ("open", "start", "owner"), ("in_progress", "submit", "owner"), ("pending_review", "approve", "unit_supervisor"),
    ("pending_review", "return", "upper_supervisor"), ("closed", "reopen", "admin"),
    ("in_progress", "request_extension", "owner"), ("open", "approve_extension", "unit_supervisor"),
    ("pending_review", "reject_extension", "admin"), ("pending_review", "withdraw", "owner"),
    ("pending_review", "withdraw", "unit_supervisor"),  # 403: the owner's own request
    ("open", "start", "official_below"), ("pending_review", "approve", "other_supervisor"),  # 404
    ("open", "start", "colleague"), ("pending_review", "approve", "owner"),  # 403
    ("closed", "submit", "owner"), ("open", "approve", "admin"), ("closed", "request_extension", "owner"),  # 409
]


# 两级审核 (set on 市局, so 甲县局's close-outs have it): who may take each review action at each
# stage. 初审 by any reviewer over the item; 复审 only from a unit above the first reviewer's (sup_a
# of 甲县局 passed the 初审: city_sup and admin may, sup_a may not).
TWO_LEVEL = {
    # (stage, action): the roles it is taken by; other reviewers get 409 (wrong stage) or 403
    ("first", "approve_first"): ({"unit_supervisor", "upper_supervisor", "admin"}, "second"),
    ("first", "approve"): (set(), None),
    ("first", "return"): ({"unit_supervisor", "upper_supervisor", "admin"}, "single"),
    ("second", "approve_first"): (set(), None),
    ("second", "approve"): ({"upper_supervisor", "admin"}, "single"),
    ("second", "return"): ({"upper_supervisor", "admin"}, "single"),
}


@pytest.mark.parametrize("role", list(ROLES))
@pytest.mark.parametrize("stage,action", list(TWO_LEVEL))
def test_two_level_review_matrix(org, make, stage, action, role):
    org.city.two_level_review = True
    db.session.commit()
    item = make.item(org.county_a, org.off_a, status="pending_review")
    assert item.review_waiting.name == "first"
    if stage == "second":
        workflow.perform(item, Action.approve_first, org.sup_a, now=make.now, today=make.today)
        db.session.commit()
    before = _snapshot(item.id)
    actor = getattr(org, ROLES[role])
    answered = _through_the_service(make, actor, item.id, _fields(item, action, before["version"]))
    allowed, after_stage = TWO_LEVEL[(stage, action)]
    after = _snapshot(item.id)
    if role in INVISIBLE:
        assert answered == 404
    elif role in allowed:
        assert answered == 302
        done = db.session.get(Item, item.id)
        expected_status = {"approve_first": "pending_review", "approve": "closed", "return": "in_progress"}[action]
        assert after["status"] == expected_status and done.review_stage == {"single": 0, "second": 2}[after_stage]
        assert done.first_approver_id == (actor.id if action == "approve_first" else None)
    elif role in REVIEWERS and not (stage == "second" and role == "unit_supervisor" and action != "approve_first"):
        assert answered == 409  # a reviewer, at the wrong stage
        assert after == before
    else:
        assert answered == 403  # the owner, a colleague, or the first reviewer at the second review
        assert after == before


def test_two_level_review_on_the_pages_notifies_the_level_above_and_says_who_passed_the_first(org, make, login):
    org.city.two_level_review = True
    db.session.commit()
    item = make.item(org.county_a, org.off_a, status="pending_review")
    county = login(org.sup_a)
    card = county.get("/review").get_data(as_text=True)
    assert "初审通过，报上级复审" in card and "待初审" in card and "审核通过并销号</button>" not in card
    county.post(f"/items/{item.id}/transition", data={"action": "approve_first", "version": item.version})
    db.session.refresh(item)
    assert item.status.value == "pending_review" and item.review_waiting.name == "second"
    told = db.session.scalars(select(Notification).where(Notification.user_id == org.city_sup.id,
                                                         Notification.kind == "submitted")).all()
    assert len(told) == 1 and "待您复审" in told[0].title
    assert "初审已通过，等待上级单位复审" in county.get("/review").get_data(as_text=True)
    refused = county.post(f"/items/{item.id}/transition", data={"action": "approve", "version": item.version})
    assert refused.status_code == 403 and "您已做过初审" in refused.get_data(as_text=True)
    city = login(org.city_sup)
    card = city.get("/review").get_data(as_text=True)
    assert "待复审" in card and f"初审：{org.sup_a.display_name}" in card
    city.post(f"/items/{item.id}/transition", data={"action": "approve", "version": item.version})
    db.session.refresh(item)
    assert item.status.value == "closed"
    actions = [e.action.value for e in db.session.scalars(select(ItemEvent).where(ItemEvent.item_id == item.id)
                                                          .order_by(ItemEvent.id))]
    assert actions[-2:] == ["approve_first", "approve"]


def test_an_admin_sets_two_level_review_on_a_unit(org, login):
    answer = login(org.admin).post(f"/admin/units/{org.city.id}", data={
        "name": org.city.name, "parent": 0, "short_name": "", "two_level_review": "y"}, follow_redirects=True)
    assert "已保存" in answer.get_data(as_text=True)
    db.session.refresh(org.city)
    assert org.city.two_level_review is True


@pytest.mark.parametrize("status,action,role", OVER_HTTP)
def test_transitions_through_the_page(org, make, login, status, action, role):
    item = _item_in(make, org, status, action)
    before = _snapshot(item.id)
    actor = getattr(org, ROLES[role])
    response = login(actor).post(f"/items/{item.id}/transition", data=_fields(item, action, before["version"]))
    _check(status, action, role, response.status_code, before, _snapshot(item.id), actor.id, item.id)


def test_submit_needs_summary_and_evidence(org, make, login):
    item = make.item(org.county_a, org.off_a, status="in_progress")
    c = login(org.off_a)
    no_summary = c.post(f"/items/{item.id}/transition", data={"action": "submit", "summary": " "})
    assert no_summary.status_code == 422
    assert "请填写整改完成情况" in no_summary.get_data(as_text=True)
    no_evidence = c.post(f"/items/{item.id}/transition", data={"action": "submit", "summary": "已完成"})
    assert no_evidence.status_code == 422
    assert "请先上传至少一份佐证材料" in no_evidence.get_data(as_text=True)
    assert _snapshot(item.id)["status"] == "in_progress"


@pytest.mark.parametrize("action,status,message", [
    ("return", "pending_review", "请填写退回意见。"), ("reopen", "closed", "请填写重新打开的理由。")])
def test_return_and_reopen_need_a_comment(org, make, login, action, status, message):
    item = make.item(org.county_a, org.off_a, status=status, supervisor=org.sup_a)
    before = _snapshot(item.id)
    page = login(org.sup_a).post(f"/items/{item.id}/transition", data={"action": action, "comment": ""})
    assert page.status_code == 422
    text = page.get_data(as_text=True)
    assert f'<div class="invalid-feedback d-block">{message}' in text  # beside the comment field
    assert "未能提交" in text  # and said at the top, where a phone user looks
    assert _snapshot(item.id) == before


def test_supervisor_who_owns_an_item_cannot_approve_it(org, make, login):
    item = make.item(org.county_a, org.sup_a, status="pending_review")
    own = login(org.sup_a).post(f"/items/{item.id}/transition", data={"action": "approve"})
    assert own.status_code == 403
    assert "责任人不能审核自己的事项" in own.get_data(as_text=True)
    assert _snapshot(item.id)["status"] == "pending_review"
    assert login(org.city_sup).post(f"/items/{item.id}/transition", data={"action": "approve"}).status_code == 302
    assert _snapshot(item.id)["status"] == "closed"


def test_every_earlier_deadline_is_kept(org, make, login):
    item = make.item(org.county_a, org.off_a, deadline_days=10)
    first = item.deadline
    owner, supervisor = login(org.off_a), login(org.sup_a)
    for days in (40, 90):
        new = make.today + timedelta(days=days)
        assert owner.post(f"/items/{item.id}/transition", data={
            "action": "request_extension", "deadline": new.isoformat(), "comment": "原因"}).status_code == 302
        assert supervisor.post(f"/items/{item.id}/transition", data={"action": "approve_extension"}).status_code == 302
    requests = db.session.scalars(select(ExtensionRequest).order_by(ExtensionRequest.id)).all()
    assert [(r.old_deadline, r.new_deadline, r.status) for r in requests] == [
        (first, make.today + timedelta(days=40), ExtensionStatus.approved),
        (make.today + timedelta(days=40), make.today + timedelta(days=90), ExtensionStatus.approved),
    ]
    page = owner.get(f"/items/{item.id}").get_data(as_text=True)
    second = make.today + timedelta(days=40)
    assert f"整改时限：{first.year}年{first.month}月{first.day}日 → {second.year}年{second.month}月{second.day}日" in page


@pytest.mark.parametrize("deadline,message", [
    ("", "请填写申请延期到的日期"),
    ("2020-01-01", "不能早于今天"),
    ("2024-02-30", "日期无效"),
])
def test_extension_request_with_a_bad_deadline_is_refused(org, make, login, deadline, message):
    item = make.item(org.county_a, org.off_a)
    before = _snapshot(item.id)
    page = login(org.off_a).post(f"/items/{item.id}/transition",
                                 data={"action": "request_extension", "deadline": deadline, "comment": "原因"})
    assert page.status_code == 422
    assert message in page.get_data(as_text=True)
    assert _snapshot(item.id) == before


def test_a_stale_form_is_refused_with_409(org, make, login):
    item = make.item(org.county_a, org.off_a, status="pending_review", supervisor=org.sup_a)
    stale_version = item.version
    assert login(org.off_a).post(f"/items/{item.id}/transition", data={
        "action": "request_extension", "deadline": (item.deadline + timedelta(days=5)).isoformat(),
        "comment": "原因"}).status_code == 302
    page = login(org.sup_a).post(f"/items/{item.id}/transition",
                                 data={"action": "approve", "version": stale_version})
    assert page.status_code == 409
    assert "已有变动" in page.get_data(as_text=True)
    assert _snapshot(item.id)["status"] == "pending_review"


def test_unknown_action_is_a_clear_error(org, make, login):
    item = make.item(org.county_a, org.off_a)
    page = login(org.off_a).post(f"/items/{item.id}/transition", data={"action": "explode"})
    assert page.status_code == 422
    assert "未知的操作" in page.get_data(as_text=True)


def test_only_the_workflow_assigns_status():
    """STYLE.md: nothing but tracker/items/workflow.py sets Item.status."""
    import pathlib
    import re

    root = pathlib.Path(__file__).resolve().parent.parent / "tracker"
    offenders = [
        str(path) for path in root.rglob("*.py")
        if path.name != "workflow.py" and re.search(r"\bitem\.status\s*=[^=]", path.read_text())
    ]
    assert offenders == []


def test_a_close_keeps_its_day_and_the_deadline_then_in_force(org, make, api):
    """closed_on_time: the close day against the deadline in force at the close, not today's."""
    kw = {"now": make.now, "today": make.today}
    late = make.item(org.county_a, org.off_a, deadline_days=5, status="pending_review", supervisor=org.sup_a)
    workflow.perform(late, Action.approve, org.sup_a, now=make.now, today=make.today + timedelta(days=6))
    on_time = make.item(org.county_a, org.off_a, deadline_days=5, status="in_progress")
    workflow.perform(on_time, Action.request_extension, org.off_a, comment="需要更多时间",
                     deadline=make.today + timedelta(days=20), **kw)
    workflow.perform(on_time, Action.approve_extension, org.sup_a, **kw)  # the deadline moves to day 20
    make.evidence(on_time, org.off_a)
    workflow.perform(on_time, Action.submit, org.off_a, summary="已完成", **kw)
    workflow.perform(on_time, Action.approve, org.sup_a, now=make.now, today=make.today + timedelta(days=10))
    db.session.commit()
    assert (late.closed_on, late.closed_deadline, late.closed_on_time) == (
        make.today + timedelta(days=6), make.today + timedelta(days=5), False)
    assert (on_time.closed_deadline, on_time.closed_on_time) == (make.today + timedelta(days=20), True)
    supervisor = api(org.sup_a)
    assert supervisor.get(f"/items/{late.id}").json["closed_on_time"] is False
    assert supervisor.get(f"/items/{on_time.id}").json["closed_on_time"] is True

    workflow.perform(late, Action.reopen, org.sup_a, comment="复查发现问题反弹", **kw)  # the record goes with the close
    db.session.commit()
    assert (late.closed_on, late.closed_deadline, late.closed_on_time) == (None, None, None)
    answer = supervisor.get(f"/items/{late.id}").json
    assert answer["closed_on_time"] is None and answer["closed_at"] is None



# The review loop as offices work it -----------------------------------------------------------

def test_every_action_of_the_matrix_is_a_row_of_the_one_transition_table():
    assert {a.value for a in workflow.TRANSITIONS} == set(EXPECTED)
    for action, (sources, target, who) in EXPECTED.items():
        rule = workflow.TRANSITIONS[workflow.Action(action)]
        assert {s.value for s in rule.sources} == sources
        assert (rule.target.value if rule.target else None, rule.who.value) == (target, "owner" if who == "owner" else "reviewer")


def test_a_returned_item_is_marked_until_resubmitted_and_the_box_starts_from_the_last_summary(org, make, login, api):
    item = make.item(org.county_a, org.off_a, status="pending_review", supervisor=org.sup_a)
    sup = login(org.sup_a)
    sup.post(f"/items/{item.id}/transition", data={"action": "return", "comment": "佐证材料不全，请补充会议纪要。"})
    owner = login(org.off_a)
    page = owner.get(f"/items/{item.id}").get_data(as_text=True)
    assert 'id="returned"' in page and "佐证材料不全，请补充会议纪要。" in page
    assert re.search(r'<textarea[^>]*id="submit-summary"[^>]*>\s*已完成整改</textarea>', page)  # starts from the last
    for url in ("/my", "/items"):
        assert "returned-badge" in owner.get(url).get_data(as_text=True), url
    assert api(org.off_a).get(f"/items/{item.id}").json["returned"] == "佐证材料不全，请补充会议纪要。"
    owner.post(f"/items/{item.id}/transition", data={"action": "submit", "summary": "已补充会议纪要。"})
    assert api(org.off_a).get(f"/items/{item.id}").json["returned"] is None
    assert 'id="returned"' not in owner.get(f"/items/{item.id}").get_data(as_text=True)
    summaries = [e.details["summary"] for e in db.session.scalars(
        select(ItemEvent).where(ItemEvent.item_id == item.id, ItemEvent.action == "submit").order_by(ItemEvent.id))]
    assert summaries == ["已完成整改", "已补充会议纪要。"]  # every submission kept in history


def test_the_owner_withdraws_a_submitted_close_out(org, make, login):
    item = make.item(org.county_a, org.off_a, status="pending_review", supervisor=org.sup_a)
    page = login(org.off_a).get(f"/items/{item.id}").get_data(as_text=True)
    assert 'data-action="withdraw"' in page
    answer = login(org.off_a).post(f"/items/{item.id}/transition", data={"action": "withdraw", "comment": "还需补充材料"})
    assert answer.status_code == 302
    assert _snapshot(item.id)["status"] == "in_progress"
    last = db.session.scalar(select(ItemEvent).where(ItemEvent.item_id == item.id).order_by(ItemEvent.id.desc()))
    assert (last.action.value, last.comment, last.details) == ("withdraw", "还需补充材料",
                                                                {"from": "pending_review", "to": "in_progress"})


@pytest.mark.parametrize("action, label", [("approve_extension", "批准意见"), ("reject_extension", "不批准的理由")])
def test_both_extension_decisions_keep_their_comment_and_show_it(org, make, login, action, label):
    item = _item_in(make, org, "in_progress", action)
    review = login(org.sup_a).get("/review").get_data(as_text=True)
    assert review.count('name="comment"') >= 2  # a box for each decision
    login(org.sup_a).post(f"/items/{item.id}/transition", data={"action": action, "comment": "请按期完成，不再延期。"})
    page = login(org.off_a).get(f"/items/{item.id}").get_data(as_text=True)
    assert f"{label}：请按期完成，不再延期。" in page and "理由：需要更多时间" in page


@pytest.mark.parametrize("work", ["progress", "evidence"])
def test_the_owners_first_work_on_an_open_item_starts_it(org, make, login, work):
    item = make.item(org.county_a, org.off_a)
    if work == "progress":
        answer = login(org.off_a).post(f"/items/{item.id}/progress", data={"note": "已召开专题会议。"})
    else:
        answer = login(org.off_a).post(f"/items/{item.id}/evidence", data={"file": (io.BytesIO(PDF), "纪要.pdf")},
                                       content_type="multipart/form-data")
    assert answer.status_code == 302
    assert _snapshot(item.id)["status"] == "in_progress"
    actions = [e.action.value for e in db.session.scalars(
        select(ItemEvent).where(ItemEvent.item_id == item.id).order_by(ItemEvent.id))]
    assert actions[-2:] == ["start", "progress" if work == "progress" else "evidence_added"]


def test_a_supervisors_note_on_an_open_item_does_not_start_it(org, make, login):
    item = make.item(org.county_a, org.off_a)
    assert login(org.sup_a).post(f"/items/{item.id}/progress", data={"note": "请尽快开始。"}).status_code == 302
    assert _snapshot(item.id)["status"] == "open"


def test_a_supervisor_assigns_from_the_item_page(org, make, login):
    item = make.item(org.county_a, None)
    sup = login(org.sup_a)
    page = sup.get(f"/items/{item.id}").get_data(as_text=True)
    assert 'id="assign"' in page and '<option value="off_a2">' in page
    answer = sup.post("/items/assign", data={"item_ids": item.id, "owner": "off_a2", "next": f"/items/{item.id}"})
    assert answer.status_code == 302 and answer.headers["Location"].endswith(f"/items/{item.id}")
    db.session.expire_all()
    assert db.session.get(Item, item.id).owner_id == org.off_a2.id
    assert 'id="assign"' not in login(org.off_a).get(f"/items/{item.id}").get_data(as_text=True)


def test_review_cards_show_the_evidence_its_images_and_earlier_returns(org, make, login):
    item = make.item(org.county_a, org.off_a, status="pending_review", supervisor=org.sup_a)
    workflow.perform(item, Action.return_, org.sup_a, now=make.now, today=make.today, comment="请补充照片")
    db.session.commit()
    photo = make.evidence(item, org.off_a, data=b"\x89PNG\r\n\x1a\n" + b"\0" * 100, filename="现场照片.png")
    workflow.perform(item, Action.submit, org.off_a, now=make.now, today=make.today, summary="已补充现场照片")
    db.session.commit()
    page = login(org.sup_a).get("/review").get_data(as_text=True)
    card = page[page.index(f'data-item-id="{item.id}"'):]
    assert 'data-evidence-count="2"' in card and "曾退回1次" in card
    assert card.count('class="evidence-thumb"') == 1 and f"/evidence/{photo.id}?inline=1" in card


def test_an_item_may_go_to_an_owner_anywhere_below_its_unit_who_then_sees_and_works_on_it(org, make, login, api):
    item = make.item(org.county_a, None, title="县局的问题")
    page = login(org.sup_a).get(f"/items/{item.id}").get_data(as_text=True)
    assert '<option value="off_team">' in page  # 甲大队, below 甲县局, is offered
    assert api(org.sup_a).patch(f"/items/{item.id}", json={"owner": "off_team"}).status_code == 200
    team = login(org.off_team)
    assert "县局的问题" in team.get("/my").get_data(as_text=True)
    assert team.post(f"/items/{item.id}/progress", data={"note": "大队已开始整改。"}).status_code == 302
    assert _snapshot(item.id)["status"] == "in_progress"  # his first work started it
    refused = api(org.sup_a).patch(f"/items/{item.id}", json={"owner": "off_b"})  # a sibling county's
    assert refused.status_code == 422 and "下级单位" in refused.json["error"]


def test_a_supervisor_moves_an_item_within_his_subtree_and_an_ineligible_owner_is_cleared(org, make, login, api):
    item = make.item(org.county_a, org.off_a, title="归错单位的问题")
    sup = login(org.city_sup)
    page = sup.post(f"/items/{item.id}/edit", data={
        "title": item.title, "primary_category": "other", "owner": org.off_a.username, "unit": str(org.county_b.id),
        "version": item.version})
    assert page.status_code == 302
    followed = sup.get(f"/items/{item.id}").get_data(as_text=True)
    assert "原责任人不能负责乙县局的事项，已取消分派" in followed
    assert "责任单位：甲县局 → 乙县局" in followed
    db.session.expire_all()
    moved = db.session.get(Item, item.id)
    assert (moved.unit_id, moved.owner_id) == (org.county_b.id, None)
    # through the API, a move the supervisor does not oversee is refused, one he does is made
    again = make.item(org.county_a, org.off_a)
    refused = api(org.sup_a).patch(f"/items/{again.id}", json={"unit": "乙县局"})
    assert refused.status_code == 403 and _snapshot(again.id)["version"] == again.version
    down = api(org.sup_a).patch(f"/items/{again.id}", json={"unit": "甲大队"})
    assert down.status_code == 200 and down.json["unit"] == "甲大队" and down.json["owner"] is None
    kept = make.item(org.county_a, org.city_sup)
    assert api(org.city_sup).patch(f"/items/{kept.id}", json={"unit": "乙县局"}).json["owner"] == "city_sup"
    assert api(org.city_sup).patch(f"/items/{kept.id}", json={"unit": "没有的单位"}).json["field"] == "unit"


def test_a_close_out_waiting_for_its_second_review_reminds_the_level_above(app, org, make):
    from zoneinfo import ZoneInfo

    from tracker.reminders import planning, rules

    org.city.two_level_review = True
    db.session.commit()
    item = make.item(org.county_a, org.off_a, status="pending_review")
    workflow.perform(item, Action.approve_first, org.sup_a, now=make.now, today=make.today)
    db.session.commit()
    rule = rules.current_rule(app.config)
    day = make.today + timedelta(days=rule.review_wait_days)
    digests = planning.decide(day, day, day, rule, ZoneInfo("Asia/Shanghai"))
    waiting = {d.recipient.username for d in digests if any(e.item_id == item.id for e in d.sections.get("review", ()))}
    assert waiting == {org.city_sup.username}  # not sup_a, who passed the 初审


def test_the_second_review_is_for_the_level_above_the_unit_the_first_was_passed_in(org, make):
    org.city.two_level_review = True
    db.session.commit()
    item = make.item(org.county_a, org.off_a, status="pending_review")
    workflow.perform(item, Action.approve_first, org.sup_a, now=make.now, today=make.today)
    colleague = make.user("sup_a2", "supervisor", org.county_a)
    org.sup_a.unit = org.team_a  # the first reviewer moves below his county afterwards
    db.session.commit()
    with pytest.raises(DomainError) as refused:
        workflow.perform(item, Action.approve, colleague, now=make.now, today=make.today)
    db.session.rollback()
    assert refused.value.status_code == 403  # 甲县局 passed the 初审: its people don't pass the 复审
    workflow.perform(item, Action.approve, org.city_sup, now=make.now, today=make.today)
    db.session.commit()
    assert item.status is Status.closed


def test_a_first_review_at_the_top_unit_is_told_to_the_admins(org, make):
    org.city.two_level_review = True
    db.session.commit()
    item = make.item(org.city, make.user("city_off", "official", org.city), status="pending_review")
    workflow.perform(item, Action.approve_first, org.city_sup, now=make.now, today=make.today)
    db.session.commit()
    told = db.session.scalars(select(Notification).where(Notification.kind == "submitted",
                                                         Notification.user_id == org.admin.id)).all()
    assert len(told) == 1 and "待您复审" in told[0].title
