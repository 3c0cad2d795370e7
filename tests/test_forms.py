"""Bad input on the forms: a Chinese message beside the field, status 422, nothing changed."""

import html
import re

import pytest
from sqlalchemy import func, select

from tracker.extensions import db
from tracker.items import services
from tracker.items.models import Category, Item, ItemEvent
from tracker.org.models import Unit, User


def _events() -> int:
    return db.session.scalar(select(func.count(ItemEvent.id)))


def _beside_field(page: str, message: str) -> bool:
    return f'<div class="invalid-feedback d-block">{message}' in page


@pytest.mark.parametrize("field,value,message", [
    ("title", "", "请填写标题。"),
    ("title", "长" * 201, "标题不能超过200字。"),
    ("deadline", "2024-02-30", "日期无效"),
    ("deadline", "明天", "日期无效"),
    ("deadline", "2001-01-01", "整改时限不能早于今天。"),
    ("owner", "无此人", "找不到用户“无此人”"),
    ("primary_category", "no_such", "未知的问题类别"),
])
def test_item_edit_rejects_bad_input_beside_the_field(org, make, login, field, value, message):
    item = make.item(org.county_a, org.off_a, title="原标题")
    data = {"title": "原标题", "text": "问题描述", "measures": "", "primary_category": "other",
            "owner": org.off_a.username, "year": "2023", "version": item.version}
    data[field] = value
    before = (_events(), item.version)
    page = login(org.sup_a).post(f"/items/{item.id}/edit", data=data)
    assert page.status_code == 422
    assert _beside_field(page.get_data(as_text=True), message)
    db.session.refresh(item)
    assert (_events(), item.version, item.title) == (*before, "原标题")


def test_owner_of_another_unit_is_refused(org, make, login):
    item = make.item(org.county_a, org.off_a)
    page = login(org.sup_a).post(f"/items/{item.id}/edit", data={
        "title": item.title, "primary_category": "other", "owner": org.off_b.username, "year": "2023"})
    assert page.status_code == 422
    assert "责任人不存在、已停用，或不属于该事项的单位" in page.get_data(as_text=True)
    db.session.refresh(item)
    assert item.owner_id == org.off_a.id


def test_edit_records_old_and_new_values(org, make, login, today):
    item = make.item(org.county_a, None, title="旧标题")
    page = login(org.sup_a).post(f"/items/{item.id}/edit", data={
        "title": "新标题", "text": "新描述", "measures": "措施", "primary_category": "legal_publicity",
        "other_categories": ["case_file_quality"], "owner": org.off_a.username,
        "deadline": f"{today.year + 1}-06-30", "year": "2023"})
    assert page.status_code == 302
    db.session.refresh(item)
    assert [c.code for c in item.categories] == ["legal_publicity", "case_file_quality"]
    event = db.session.scalar(select(ItemEvent).where(ItemEvent.action == "edit"))
    assert event.details["owner"] == {"old": None, "new": "off_a", "old_name": None, "new_name": "张三"}
    assert event.details["deadline"]["new"] == f"{today.year + 1}-06-30"
    assert event.details["title"] == {"old": "旧标题", "new": "新标题"}


def test_owner_may_write_measures_only(org, make, login):
    item = make.item(org.county_a, org.off_a, title="原标题")
    c = login(org.off_a)
    assert c.post(f"/items/{item.id}/edit", data={"measures": "一、制定方案", "title": "篡改"}).status_code == 302
    db.session.refresh(item)
    assert (item.measures, item.title) == ("一、制定方案", "原标题")


def test_progress_note_empty_or_too_long(org, make, login):
    item = make.item(org.county_a, org.off_a)
    c = login(org.off_a)
    for note, message in (("", "请填写进展情况。"), ("字" * 2001, "进展情况不能超过2000字。")):
        page = c.post(f"/items/{item.id}/progress", data={"note": note})
        assert page.status_code == 422
        assert _beside_field(page.get_data(as_text=True), message)
    assert _events() == 1  # only the creation


def test_new_item_form_errors(org, login):
    c = login(org.sup_a)
    page = c.post("/items/new", data={"unit": str(org.county_b.id), "year": "1999", "title": "",
                                      "primary_category": "other"})
    assert page.status_code == 422
    text = page.get_data(as_text=True)
    assert "年度应在2000至2100之间。" in text and "请填写标题。" in text
    page = c.post("/items/new", data={"unit": str(org.county_b.id), "year": "2024", "title": "越权",
                                      "primary_category": "other"})
    assert page.status_code == 403
    assert _beside_field(page.get_data(as_text=True), "您只能在督办范围内的单位新增事项。")
    assert db.session.scalar(select(func.count(Item.id))) == 0


def test_new_item_is_created_with_history(org, login):
    page = login(org.sup_a).post("/items/new", data={
        "unit": str(org.team_a.id), "year": "2024", "title": "执法案卷不规范", "text": "案卷瑕疵",
        "primary_category": "case_file_quality", "owner": org.off_team.username})
    assert page.status_code == 302
    item = db.session.scalar(select(Item))
    assert (item.unit_id, item.owner_id, item.status.value) == (org.team_a.id, org.off_team.id, "open")
    assert [e.action.value for e in item.events] == ["create"]


def test_bulk_assign_with_unknown_owner_changes_nothing(org, make, login):
    items = [make.item(org.county_a, None) for _ in range(3)]
    c = login(org.sup_a)
    page = c.post("/items/assign", data={"item_ids": [str(i.id) for i in items], "owner": "nobody"},
                  follow_redirects=True)
    assert "找不到用户“nobody”" in page.get_data(as_text=True)
    assert all(db.session.get(Item, i.id).owner_id is None for i in items)


def test_bulk_assign_sets_owner_and_deadline(org, make, login, today):
    items = [make.item(org.county_a, None) for _ in range(3)]
    deadline = f"{today.year + 1}-03-31"
    page = login(org.sup_a).post("/items/assign", data={
        "item_ids": [str(i.id) for i in items], "owner": "off_a", "deadline": deadline}, follow_redirects=True)
    assert "已分派 3 个事项" in page.get_data(as_text=True)
    for i in items:
        item = db.session.get(Item, i.id)
        assert (item.owner_id, item.deadline.isoformat()) == (org.off_a.id, deadline)


def test_bulk_assign_refuses_items_outside_the_supervisors_units(org, make, login):
    mine, other = make.item(org.county_a, None), make.item(org.county_b, None)
    page = login(org.sup_a).post("/items/assign", data={
        "item_ids": [str(mine.id), str(other.id)], "owner": "off_a"}, follow_redirects=True)
    assert "部分事项不存在" in page.get_data(as_text=True)
    assert db.session.get(Item, mine.id).owner_id is None


@pytest.mark.parametrize("data,message", [
    ({"name": "", "parent": "0"}, "请填写单位名称。"),
    ({"name": "甲县局", "parent": "1"}, "同一上级下已有名为“甲县局”的单位。"),
    ({"name": "a/b", "parent": "0"}, "不能含“/”"),
])
def test_admin_unit_form_errors(org, login, data, message):
    units = db.session.scalar(select(func.count(Unit.id)))
    page = login(org.admin).post("/admin/units", data=data)
    assert page.status_code in (409, 422)
    assert message in page.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Unit.id))) == units


@pytest.mark.parametrize("data,message", [
    ({"username": "x", "password": "longenough1"}, "用户名应为2至64位"),
    ({"username": "off_a", "password": "longenough1"}, "用户名“off_a”已被使用。"),
    ({"username": "newbie", "password": "short"}, "密码应为8至128位。"),
    ({"username": "newbie", "password": ""}, "请为新用户设置密码。"),
    ({"username": "newbie", "password": "longenough1", "email": "not-an-email"}, "邮箱格式不正确。"),
])
def test_admin_user_form_errors(org, login, data, message):
    users = db.session.scalar(select(func.count(User.id)))
    form = {"name": "新人", "role": "official", "unit": str(org.county_a.id), "active": "y", **data}
    page = login(org.admin).post("/admin/users/new", data=form)
    assert page.status_code in (409, 422), page.get_data(as_text=True)
    assert message in page.get_data(as_text=True)
    assert db.session.scalar(select(func.count(User.id))) == users


def test_admin_creates_user_who_can_sign_in(org, login, client):
    page = login(org.admin).post("/admin/users/new", data={
        "username": "wang", "name": "王五", "role": "official", "unit": str(org.team_a.id),
        "email": "wang@example.gov.cn", "password": "longenough1", "active": "y"})
    assert page.status_code == 302
    client.login("wang", "longenough1")
    # The admin knows the password: the new user must choose their own before anything else.
    first = client.get("/my")
    assert first.status_code == 302 and first.headers["Location"] == "/profile"
    assert "临时密码" in client.get("/profile").get_data(as_text=True)
    changed = client.post("/profile", data={"current": "longenough1", "new": "my-own-secret-9", "confirm": "my-own-secret-9"})
    assert changed.status_code == 302
    assert "王五" in client.get("/my").get_data(as_text=True)


def test_admin_cannot_move_a_unit_under_itself(org, login):
    page = login(org.admin).post(f"/admin/units/{org.county_a.id}", data={
        "name": "甲县局", "parent": str(org.team_a.id)})
    assert page.status_code == 422
    assert "不能把单位移到它自己或它的下级单位之下" in page.get_data(as_text=True)


def test_moving_a_unit_moves_its_subtree(org, make, login):
    item = make.item(org.team_a, org.off_team, title="大队事项")
    assert login(org.admin).post(f"/admin/units/{org.county_a.id}", data={
        "name": "甲县局", "parent": str(org.county_b.id)}).status_code == 302
    # 乙县局's supervisor now oversees 甲县局 and 甲大队 below it
    assert "大队事项" in login(org.sup_b).get("/items").get_data(as_text=True)
    assert item.title in login(org.sup_a).get("/items").get_data(as_text=True)


def test_admin_category_form(org, login):
    c = login(org.admin)
    assert c.post("/admin/categories", data={"code": "Bad Code", "name": "x"}).status_code == 422
    assert c.post("/admin/categories", data={"code": "legal_publicity", "name": "重复"}).status_code == 409
    assert c.post("/admin/categories", data={"code": "law_review", "name": "法制审核"}).status_code == 302
    assert db.session.scalar(select(Category.name).where(Category.code == "law_review")) == "法制审核"


def test_password_change(org, login, client):
    c = login(org.off_a)
    page = c.post("/profile", data={"current": "wrong", "new": "newpassword1", "confirm": "newpassword1"})
    assert page.status_code == 422 and "当前密码不正确。" in page.get_data(as_text=True)
    page = c.post("/profile", data={"current": "secret-pass-1", "new": "newpassword1", "confirm": "different1"})
    assert page.status_code == 422 and "两次输入的新密码不一致。" in page.get_data(as_text=True)
    assert c.post("/profile", data={"current": "secret-pass-1", "new": "newpassword1",
                                    "confirm": "newpassword1"}).status_code == 302
    client.login("off_a", "newpassword1")


@pytest.mark.parametrize("url", ["/items?year=abc&unit=-1&status=bogus&page=x&per_page=100000",
                                 "/overdue?page=999999", "/my?page=-3"])
def test_bad_query_parameters_never_500(org, login, url):
    assert login(org.sup_a).get(url).status_code == 200


def _rendered_form(page: str, action_marker: str = 'method="post" novalidate') -> dict:
    """The fields a browser would send for the first form on ``page``: what it renders, as filled."""
    form = page.split(action_marker, 1)[1].split("</form>", 1)[0]
    data: dict = {}
    for tag in re.findall(r"<(?:input|textarea)[^>]*>", form):
        name = re.search(r'name="([^"]+)"', tag)
        if not name or 'type="checkbox"' in tag and "checked" not in tag:
            continue
        value = re.search(r'value="([^"]*)"', tag)
        data.setdefault(name.group(1), html.unescape(value.group(1)) if value else "")
    for name, body in re.findall(r'<textarea[^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', form, re.S):
        data[name] = html.unescape(body.strip("\n"))
    for attributes, body in re.findall(r'<select([^>]*)>(.*?)</select>', form, re.S):
        name = re.search(r'name="([^"]+)"', attributes).group(1)
        chosen = [a or b for a, b in re.findall(r'<option selected value="([^"]*)"|<option value="([^"]*)" selected', body)]
        if "multiple" in attributes:  # a browser sends each option chosen, and nothing when none is
            if chosen:
                data[name] = chosen
        else:
            first = re.search(r'<option[^>]*value="([^"]*)"', body)
            data[name] = chosen[0] if chosen else (first.group(1) if first else "")
    return data


def test_supervisor_edit_page_saves_what_the_browser_sends(org, make, login, today):
    """Post exactly the fields the edit page renders, changing only the title."""
    item = make.item(org.county_a, org.off_a, title="原标题", categories=("legal_publicity", "other"))
    c = login(org.sup_a)
    data = _rendered_form(c.get(f"/items/{item.id}/edit").get_data(as_text=True))
    assert "year" not in data and data["owner"] == org.off_a.username
    data["title"] = "新标题"
    assert c.post(f"/items/{item.id}/edit", data=data).status_code == 302
    db.session.refresh(item)
    assert item.title == "新标题"
    assert [cat.code for cat in item.categories] == ["legal_publicity", "other"]
    assert item.owner_id == org.off_a.id


def test_new_item_owner_must_belong_to_the_unit(org, login):
    page = login(org.sup_a).post("/items/new", data={
        "unit": str(org.county_a.id), "year": "2024", "title": "问题", "primary_category": "other",
        "owner": org.off_b.username})
    assert page.status_code == 422
    assert "责任人不存在、已停用，或不属于该事项的单位" in page.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Item.id))) == 0


def test_owner_cannot_change_while_under_review(org, make, login):
    """Otherwise a supervisor could submit their own item, hand it to someone else and approve it."""
    item = make.item(org.county_a, org.sup_a, status="pending_review")
    c = login(org.sup_a)
    page = c.post(f"/items/{item.id}/edit", data={
        "title": item.title, "primary_category": "other", "owner": org.off_a.username})
    assert page.status_code == 409
    assert "正在审核中，不能更换责任人" in page.get_data(as_text=True)
    db.session.refresh(item)
    assert item.owner_id == org.sup_a.id
    assert c.post(f"/items/{item.id}/transition", data={"action": "approve"}).status_code == 403


@pytest.mark.parametrize("url", [
    "/items?page=--1", "/items?year=--2024", "/items?page=%C2%B2", "/my?per_page=%C2%B2",
    "/items?unit=99999999999999999999999", "/items/99999999999999999999999",
    "/evidence/99999999999999999999999", "/admin/users/99999999999999999999999",
])
def test_odd_numbers_in_urls_never_500(org, login, url):
    assert login(org.admin).get(url).status_code in (200, 404)


@pytest.mark.parametrize("url,data", [
    ("/items/new", {"unit": "99999999999999999999999", "year": "2024", "title": "x", "primary_category": "other"}),
    ("/items/new", {"unit": "1", "year": "2024", "title": "x", "primary_category": "other",
                    "owner": "99999999999999999999999"}),
    ("/items/assign", {"item_ids": "99999999999999999999999", "owner": "off_a"}),
    ("/admin/users/new", {"username": "abc", "password": "longenough1", "role": "official",
                          "unit": "99999999999999999999999"}),
])
def test_odd_numbers_in_forms_never_500(org, login, url, data):
    response = login(org.admin).post(url, data=data)
    assert response.status_code in (302, 403, 404, 422)
    assert db.session.scalar(select(func.count(Item.id))) == 0


def test_control_characters_in_next_are_ignored(org, make, login, client):
    item = make.item(org.county_a, org.off_a)
    response = login(org.off_a).post(f"/items/{item.id}/transition",
                                     data={"action": "start", "next": "/x\r\nSet-Cookie: a=b"})
    assert response.status_code == 302 and response.headers["Location"] == f"/items/{item.id}"
    client._refresh_token()
    signed_in = client.post("/login?next=/x%0D%0AX:%20y", data={"username": "off_a", "password": "secret-pass-1"})
    assert signed_in.status_code == 302 and signed_in.headers["Location"] == "/"


def test_creation_history_records_owner_deadline_and_categories(org, make):
    item = make.item(org.county_a, org.off_a, categories=("legal_publicity", "other"))
    created = item.events[0]
    assert created.details == {"title": item.title, "owner": "off_a", "deadline": item.deadline.isoformat(),
                               "categories": ["legal_publicity", "other"]}


def test_failed_form_url_reopened_returns_to_the_item(org, make, login):
    item = make.item(org.county_a, org.off_a)
    c = login(org.off_a)
    for tail in ("transition", "progress", "evidence"):
        response = c.get(f"/items/{item.id}/{tail}")
        assert response.status_code == 302 and response.headers["Location"] == f"/items/{item.id}"


def test_closed_item_takes_no_notes_and_owner_cannot_edit_under_review(org, make, login):
    closed = make.item(org.county_a, org.off_a, status="closed", supervisor=org.sup_a)
    c = login(org.off_a)
    refused = c.post(f"/items/{closed.id}/progress", data={"note": "还有进展"})
    assert refused.status_code == 409 and "事项已销号，不能再填写进展情况" in refused.get_data(as_text=True)
    reviewing = make.item(org.county_a, org.off_a, status="pending_review")
    page = c.post(f"/items/{reviewing.id}/edit", data={"measures": "改了"})
    assert page.status_code == 409 and "责任人暂不能修改整改措施" in page.get_data(as_text=True)


def test_whitespace_password_and_duplicate_category_name_are_refused(org, login):
    c = login(org.admin)
    page = c.post("/admin/users/new", data={"username": "kong", "name": "空", "password": " " * 8,
                                            "role": "official", "unit": str(org.county_a.id), "active": "y"})
    assert page.status_code == 422 and "密码不能全是空格" in page.get_data(as_text=True)
    page = c.post("/admin/categories", data={"code": "new_cat", "name": "普法宣传"})
    assert page.status_code == 409 and "已有名为“普法宣传”的类别" in page.get_data(as_text=True)


def test_bulk_assign_by_name(org, make, login):
    item = make.item(org.county_a, None)
    page = login(org.sup_a).post("/items/assign", data={"item_ids": [str(item.id)], "owner": "张三"},
                                 follow_redirects=True)
    assert "已分派 1 个事项" in page.get_data(as_text=True)
    db.session.refresh(item)
    assert item.owner_id == org.off_a.id


def test_moving_a_user_warns_about_items_they_still_own(org, make, login):
    make.item(org.county_a, org.off_a)
    page = login(org.admin).post(f"/admin/users/{org.off_a.id}", data={
        "username": "off_a", "name": "张三", "role": "official", "unit": str(org.county_b.id), "active": "y"},
        follow_redirects=True)
    assert "仍是1个未销号事项的责任人" in page.get_data(as_text=True)


def test_extension_history_reads_as_what_happened(org, make, login, today):
    from datetime import timedelta

    item = make.item(org.county_a, org.off_a, status="in_progress", deadline_days=10)
    new = today + timedelta(days=40)
    owner = login(org.off_a)
    owner.post(f"/items/{item.id}/transition", data={"action": "request_extension", "deadline": new.isoformat(),
                                                      "comment": "原因"})
    login(org.sup_a).post(f"/items/{item.id}/transition", data={"action": "reject_extension"})
    page = owner.get(f"/items/{item.id}").get_data(as_text=True)
    assert f"申请延至{new.year}年{new.month}月{new.day}日未获批准" in page


def test_saving_an_unchanged_multi_line_text_changes_nothing(org, make, login):
    item = make.item(org.county_a, org.off_a)
    services.update_item(item, org.sup_a, {"measures": "一、建立制度\n二、加强培训"}, now=make.now, today=make.today)
    db.session.commit()
    version = item.version
    page = login(org.sup_a).post(f"/items/{item.id}/edit", data={
        "title": item.title, "text": item.text, "measures": "一、建立制度\r\n二、加强培训", "primary_category": "other",
        "owner": org.off_a.username, "unit": str(org.county_a.id), "version": version})
    assert page.status_code == 302
    db.session.refresh(item)
    assert item.version == version  # the browser's CRLF is not a change


def test_owner_boxes_suggest_people_as_one_types_within_reach(org, make, login):
    item = make.item(org.county_a)
    sup = login(org.sup_a)
    found = sup.get(f"/items/owner-suggestions?item={item.id}&q=张").json
    assert {"value": org.off_a.username, "label": f"{org.off_a.display_name}（{org.county_a.name}）"} in found
    by_unit = {p["value"] for p in sup.get(f"/items/owner-suggestions?item={item.id}&q={org.team_a.name}").json}
    assert org.off_team.username in by_unit  # a unit below: may own the county's item
    everyone = {p["value"] for p in sup.get("/items/owner-suggestions?q=").json}
    assert org.off_a.username in everyone and org.off_b.username not in everyone  # not his county
    assert sup.get("/items/owner-suggestions?q=%25").json == []  # a LIKE wildcard is a plain character
    assert len(sup.get("/items/owner-suggestions?q=" + "长" * 500).json) == 0  # cut, answered, not an error
    assert sup.get(f"/items/owner-suggestions?unit={org.county_b.id}").status_code == 404
    assert login(org.off_a).get("/items/owner-suggestions?q=张").status_code == 403
    page = sup.get(f"/items/{item.id}/edit").get_data(as_text=True)
    assert 'data-suggest="/items/owner-suggestions?item=' in page and 'id="owner-choices"' in page


def test_the_edit_form_takes_an_owner_by_name_and_says_when_nobody_has_it(org, make, login):
    item = make.item(org.county_a)
    sup = login(org.sup_a)
    fields = {"title": item.title, "primary_category": "other", "version": item.version}
    unknown = sup.post(f"/items/{item.id}/edit", data=fields | {"owner": "无此人"})
    assert unknown.status_code == 422 and "找不到用户“无此人”" in unknown.get_data(as_text=True)
    assert sup.post(f"/items/{item.id}/edit", data=fields | {"owner": org.off_a.name}).status_code == 302
    db.session.refresh(item)
    assert item.owner_id == org.off_a.id
