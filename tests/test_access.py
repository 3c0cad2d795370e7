"""Who may reach what: anonymous visitors, other units, other roles, the next parameter."""

import re

import pytest
from sqlalchemy import func, select

from tracker.extensions import db
from tracker.items.models import ItemEvent

# The pages anyone may open; every other rule of app.url_map needs a signed-in user (the API has
# its own door: a token, tested in test_api).
PUBLIC = {"static", "bootstrap.static", "auth.login"}


def _protected(app, method: str) -> list[str]:
    paths = set()
    for rule in app.url_map.iter_rules():
        if method in rule.methods and rule.endpoint not in PUBLIC and not rule.endpoint.startswith("api."):
            paths.add(re.sub(r"<(?:[a-z]+(?:\([^)]*\))?:)?([a-z_]+)>", lambda m: "2023" if m.group(1) == "year" else "1",
                             rule.rule))
    return sorted(paths)


def test_anonymous_gets_are_sent_to_sign_in(app, client, org, make):
    item = make.item(org.county_a, org.off_a)
    make.evidence(item, org.off_a)
    pages = _protected(app, "GET")
    assert len(pages) >= 30
    wrong = [(url, r.status_code, r.headers.get("Location")) for url in pages
             if not ((r := client.get(url)).status_code == 302 and r.headers["Location"].startswith("/login?next="))]
    assert wrong == []


def test_anonymous_posts_are_refused_and_change_nothing(app, client, org, make):
    item = make.item(org.county_a, org.off_a)
    events = db.session.scalar(select(func.count(ItemEvent.id)))
    forms = _protected(app, "POST")
    assert len(forms) >= 25
    wrong = [(url, r.status_code) for url in forms
             if not ((r := client.post(url, data={"action": "start", "note": "x", "name": "新单位", "code": "new_cat"}))
                     .status_code == 302 and "/login" in r.headers["Location"])]
    assert wrong == []
    assert db.session.scalar(select(func.count(ItemEvent.id))) == events
    assert item.status.value == "open"


def test_sign_in_with_wrong_password_says_so_in_chinese(client, org):
    page = client.post("/login", data={"username": "off_a", "password": "wrong-password"})
    assert page.status_code == 422
    assert "用户名或密码不正确" in page.get_data(as_text=True)


def test_inactive_user_cannot_sign_in(client, org, login):
    org.off_a.active = False
    db.session.commit()
    page = client.post("/login", data={"username": "off_a", "password": "secret-pass-1"})
    assert page.status_code == 422


@pytest.mark.parametrize("target,expected", [
    ("/items", "/items"),
    ("https://evil.example/", "/"),
    ("//evil.example/", "/"),
    ("/\\evil.example", "/"),
    ("javascript:alert(1)", "/"),
])
def test_next_goes_only_to_local_paths(client, org, target, expected):
    client._refresh_token()
    response = client.post(f"/login?next={target}", data={"username": "off_a", "password": "secret-pass-1"})
    assert response.headers["Location"] == expected  # "/" is home: anything not local goes there


def test_sign_out_is_a_post(org, login):
    c = login(org.off_a)
    assert c.get("/logout").status_code == 405
    assert c.post("/logout").status_code == 302
    assert c.get("/my").status_code == 302  # signed out: sent to sign in


def test_post_without_csrf_token_is_refused(org, make, login):
    item = make.item(org.county_a, org.off_a)
    c = login(org.off_a)
    response = c.post(f"/items/{item.id}/transition", data={"action": "start", "csrf_token": ""})
    assert response.status_code == 400
    assert "页面已过期" in response.get_data(as_text=True)
    db.session.refresh(item)
    assert item.status.value == "open"


def _other_unit_urls(item_id, evidence_id):
    return [
        ("get", f"/items/{item_id}"), ("get", f"/items/{item_id}/edit"), ("get", f"/evidence/{evidence_id}"),
        ("post", f"/items/{item_id}/transition"), ("post", f"/items/{item_id}/progress"),
        ("post", f"/items/{item_id}/evidence"), ("post", f"/evidence/{evidence_id}/remove"),
        ("post", f"/items/{item_id}/edit"),
    ]


@pytest.mark.parametrize("who", ["off_b", "sup_b", "off_team"])
def test_items_and_evidence_of_another_unit_are_404(org, make, login, who):
    item = make.item(org.county_a, org.off_a)
    evidence = make.evidence(item, org.off_a)
    c = login(getattr(org, who))
    for method, url in _other_unit_urls(item.id, evidence.id):
        response = getattr(c, method)(url, data={"action": "start", "note": "x"}) if method == "post" else c.get(url)
        assert response.status_code == 404, (method, url)
        assert "不存在" in response.get_data(as_text=True)
    assert item.title not in c.get("/items").get_data(as_text=True)
    assert item.title not in c.get(f"/items?unit={org.county_a.id}").get_data(as_text=True)
    assert item.title not in c.get("/overdue").get_data(as_text=True)


def test_missing_item_is_404(org, login):
    assert login(org.admin).get("/items/999999").status_code == 404


def test_supervisor_sees_units_below_but_not_beside(org, make, login):
    below = make.item(org.team_a, org.off_team, title="大队的问题")
    beside = make.item(org.county_b, org.off_b, title="乙县的问题")
    page = login(org.sup_a).get("/items").get_data(as_text=True)
    assert below.title in page and beside.title not in page
    city = login(org.city_sup).get("/items").get_data(as_text=True)
    assert below.title in city and beside.title in city


def test_official_sees_own_unit_but_changes_only_own_items(org, make, login):
    item = make.item(org.county_a, org.off_a)
    colleague = login(org.off_a2)
    assert colleague.get(f"/items/{item.id}").status_code == 200
    assert colleague.get(f"/items/{item.id}/edit").status_code == 403
    assert colleague.post(f"/items/{item.id}/progress", data={"note": "进展"}).status_code == 403
    assert colleague.post(f"/items/{item.id}/evidence", data={}).status_code == 403


@pytest.mark.parametrize("who", ["off_a", "sup_a", "city_sup"])
def test_only_admins_reach_administration(org, login, who):
    c = login(getattr(org, who))
    for url in ("/admin/units", "/admin/users", "/admin/categories"):
        assert c.get(url).status_code == 403
    assert c.post("/admin/units", data={"name": "新单位", "parent": "0"}).status_code == 403


def test_officials_have_no_review_queue_or_item_creation(org, login):
    c = login(org.off_a)
    assert c.get("/review").status_code == 403
    assert c.get("/items/new").status_code == 403
