"""The JSON API: tokens, each endpoint and its status codes, the permission matrix."""

import io
import logging
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from tests.conftest import PDF
from tests.reports import sample_text
from tracker.api.openapi import spec
from tracker.extensions import db
from tracker.items.models import Evidence, Item, ItemEvent, Report
from tracker.org.tokens import revoke_token


def test_no_bad_or_revoked_token_is_401(app, org, make, api):
    client = app.test_client()
    assert client.get("/api/v1/items").status_code == 401
    assert client.get("/api/v1/items", headers={"Authorization": "Bearer trk_nope"}).status_code == 401
    assert client.get("/api/v1/items", headers={"Authorization": "Basic abc"}).status_code == 401
    caller = api(org.off_a)
    assert caller.get("/items").status_code == 200
    token = db.session.scalar(select(__import__("tracker.org.models", fromlist=["ApiToken"]).ApiToken))
    assert token.last_used_at is not None
    revoke_token(token, org.off_a, now=make.now)
    db.session.commit()
    response = caller.get("/items")
    assert response.status_code == 401 and "访问令牌" in response.json["error"]


def test_inactive_users_tokens_stop_working(org, api):
    caller = api(org.off_a)
    org.off_a.active = False
    db.session.commit()
    assert caller.get("/items").status_code == 401


def test_list_filters_pages_and_scope(org, make, api):
    mine = make.item(org.county_a, org.off_a, deadline_days=-5, year=2023)
    make.item(org.county_a, org.off_a2, year=2024, status="in_progress")
    make.item(org.county_b, org.off_b)
    official = api(org.off_a)
    body = official.get("/items").json
    assert body["total"] == 2 and {i["unit"] for i in body["items"]} == {"甲县局"}
    assert official.get("/items?year=2023").json["items"][0]["id"] == mine.id
    assert official.get("/items?overdue=1").json["items"][0]["light"] == "red"
    assert official.get("/items?status=in_progress").json["total"] == 1
    assert official.get("/items?owner=off_a").json["total"] == 1
    paged = api(org.city_sup).get("/items?per_page=2&page=2").json
    assert (paged["total"], paged["page"], paged["per_page"], len(paged["items"])) == (3, 2, 2, 1)
    assert api(org.city_sup).get("/items?unit=甲县局").json["total"] == 2
    for bad, field in (("status=done", "status"), ("year=1900", "year"), ("page=0", "page"),
                       ("per_page=9999", "per_page"), ("unit=无此单位", "unit"), ("overdue=maybe", "overdue")):
        response = official.get(f"/items?{bad}")
        assert response.status_code == 422 and response.json["field"] == field, bad


def test_overdue_most_overdue_first(org, make, api):
    a = make.item(org.county_a, org.off_a, deadline_days=-3)
    b = make.item(org.county_a, org.off_a, deadline_days=-30)
    make.item(org.county_a, org.off_a, deadline_days=3)
    assert [i["id"] for i in api(org.sup_a).get("/overdue").json["items"]] == [b.id, a.id]


def test_item_with_evidence_and_history(org, make, api):
    item = make.item(org.county_a, org.off_a, status="pending_review", supervisor=org.sup_a)
    body = api(org.off_a).get(f"/items/{item.id}").json
    assert set(spec()["components"]["schemas"]["Item"]["required"]) <= set(body)
    assert body["evidence"][0]["filename"] == "佐证.pdf"
    assert [e["action"] for e in body["history"]] == ["create", "start", "evidence_added", "submit"]
    assert body["history"][0]["actor"] is None and body["history"][1]["actor"] == "off_a"


def test_patch_as_supervisor_and_history_names_the_token_user(org, make, api, today):
    item = make.item(org.county_a, None)
    deadline = (today + timedelta(days=60)).isoformat()
    response = api(org.sup_a).patch(f"/items/{item.id}", json={
        "owner": "off_a", "deadline": deadline, "categories": ["case_file_quality", "other"], "title": "新标题"})
    assert response.status_code == 200, response.json
    assert (response.json["owner"], response.json["deadline"], response.json["categories"]) == (
        "off_a", deadline, ["case_file_quality", "other"])
    event = db.session.scalar(select(ItemEvent).where(ItemEvent.action == "edit"))
    assert event.actor_id == org.sup_a.id and event.details["title"]["new"] == "新标题"


@pytest.mark.parametrize("body,status,field", [
    ({"title": "owner may not"}, 403, None),
    ({"deadline": "2024-02-30"}, 422, "deadline"),
    ({"colour": "red"}, 422, "colour"),
    ({"owner": "nobody"}, 422, "owner"),
    ({"categories": "legal_publicity"}, 422, "categories"),
    ({"measures": 5}, 422, "measures"),
])
def test_patch_refusals(org, make, api, body, status, field):
    item = make.item(org.county_a, org.off_a)
    response = api(org.off_a).patch(f"/items/{item.id}", json=body)
    assert response.status_code == status and response.json["error"]
    assert response.json.get("field") == field or status == 403
    db.session.refresh(item)
    assert item.version == 1


def test_patch_with_a_stale_version_is_409_and_malformed_json_400(org, make, api):
    item = make.item(org.county_a, org.off_a)
    caller = api(org.off_a)
    assert caller.patch(f"/items/{item.id}", json={"measures": "一"}, headers={"If-Match": '"1"'}).status_code == 200
    stale = caller.patch(f"/items/{item.id}", json={"measures": "二"}, headers={"If-Match": '"1"'})
    assert stale.status_code == 409
    assert caller.patch(f"/items/{item.id}", data="{not json", content_type="application/json").status_code == 400


def test_progress_evidence_and_download(org, make, api):
    item = make.item(org.county_a, org.off_a)
    owner = api(org.off_a)
    assert owner.post(f"/items/{item.id}/progress", json={"note": "已开会部署"}).status_code == 201
    assert owner.post(f"/items/{item.id}/progress", json={"note": ""}).json["field"] == "note"
    uploaded = owner.post(f"/items/{item.id}/evidence", data={"file": (io.BytesIO(PDF), "纪要.pdf"),
                                                              "description": "会议纪要"})
    assert uploaded.status_code == 201
    assert {"id", "filename", "size", "sha256", "content_type", "uploaded_at", "uploaded_by"} <= set(uploaded.json)
    assert owner.get(f"/evidence/{uploaded.json['id']}").data == PDF
    renamed = owner.post(f"/items/{item.id}/evidence", data={"file": (io.BytesIO(b"MZ" + b"\0" * 40), "x.pdf")})
    assert renamed.status_code == 415 and renamed.json["field"] == "file"
    # encoded in memory: the test client would spool a large body to a file it never closes
    boundary, body = encode_multipart({"file": FileStorage(io.BytesIO(PDF + b"0" * (2 * 1024 * 1024)), "big.pdf")})
    big = owner.post(f"/items/{item.id}/evidence", data=body, content_type=f"multipart/form-data; boundary={boundary}")
    assert big.status_code == 413 and "error" in big.json
    assert db.session.scalar(select(func.count(Evidence.id))) == 1


def test_transitions(org, make, api):
    item = make.item(org.county_a, org.off_a, status="pending_review", supervisor=org.sup_a)
    assert api(org.off_a).post(f"/items/{item.id}/transition", json={"action": "approve"}).status_code == 403
    missing = api(org.sup_a).post(f"/items/{item.id}/transition", json={"action": "return"})
    assert missing.status_code == 422 and missing.json["field"] == "comment"
    assert api(org.sup_a).post(f"/items/{item.id}/transition", json={"action": "start"}).status_code == 403
    done = api(org.sup_a).post(f"/items/{item.id}/transition", json={"action": "approve"})
    assert done.status_code == 200 and done.json["status"] == "closed"
    again = api(org.city_sup).post(f"/items/{item.id}/transition", json={"action": "approve"})
    assert again.status_code == 409
    assert api(org.sup_a).post(f"/items/{item.id}/transition", json={"action": "fly"}).json["field"] == "action"


def test_reports_and_import(org, make, api):
    make.unit("呼兰区交通运输局", org.city)
    supervisor = api(org.city_sup)
    data = sample_text("004_a88482b488a96b1d.txt").encode("gb18030")
    dry = supervisor.post("/reports/import", data={"file": (io.BytesIO(data), "r.txt"), "dry_run": "1"})
    assert dry.status_code == 200 and dry.json["report_id"] is None and len(dry.json["problems"]) == 3
    stored = supervisor.post("/reports/import", data={"file": (io.BytesIO(data), "r.txt")})
    assert stored.status_code == 201 and len(stored.json["item_ids"]) == 3
    again = supervisor.post("/reports/import", data={"file": (io.BytesIO(data), "r.txt")})
    assert again.status_code == 409
    assert api(org.off_a).post("/reports/import", data={"file": (io.BytesIO(data), "r.txt")}).status_code == 403
    bad = supervisor.post("/reports/import", data={"file": (io.BytesIO(b"PK\x03\x04x"), "r.docx")})
    assert bad.status_code == 422 and "不是有效的 .docx" in bad.json["error"]
    listing = supervisor.get("/reports").json
    assert listing["total"] == 1 and len(listing["reports"][0]["items"]) == 3
    report_id = stored.json["report_id"]
    assert supervisor.get(f"/reports/{report_id}").json["title"].startswith("呼兰区")
    assert api(org.sup_b).get(f"/reports/{report_id}").status_code == 404
    assert db.session.scalar(select(func.count(Report.id))) == 1


# role → (own unit, unit below, other unit) expectations for reading and changing an item
MATRIX = {
    "off_a": {"county_a": (200, 403), "team_a": (404, 404), "county_b": (404, 404)},
    "sup_a": {"county_a": (200, 200), "team_a": (200, 200), "county_b": (404, 404)},
    "city_sup": {"county_a": (200, 200), "team_a": (200, 200), "county_b": (200, 200)},
    "admin": {"county_a": (200, 200), "team_a": (200, 200), "county_b": (200, 200)},
}
OWNERS = {"county_a": "off_a2", "team_a": "off_team", "county_b": "off_b"}


@pytest.mark.parametrize("role", list(MATRIX))
@pytest.mark.parametrize("place", ["county_a", "team_a", "county_b"])
def test_permission_matrix(org, make, api, role, place):
    item = make.item(getattr(org, place), getattr(org, OWNERS[place]))
    caller = api(getattr(org, role))
    read, write = MATRIX[role][place]
    assert caller.get(f"/items/{item.id}").status_code == read
    assert caller.patch(f"/items/{item.id}", json={"title": "改"}).status_code == write
    assert caller.post(f"/items/{item.id}/progress", json={"note": "进展"}).status_code == (
        201 if write == 200 else write)
    visible = {i["id"] for i in caller.get("/items").json["items"]}
    assert (item.id in visible) == (read == 200)


def test_token_never_in_logs_and_shown_once(app, org, make, api, caplog, login):
    caplog.set_level(logging.DEBUG)
    caller = api(org.off_a)
    caller.get("/items")
    caller.get("/items/999999")
    assert caller.secret not in caplog.text
    c = login(org.off_a)
    page = c.post("/profile/tokens", data={"name": "省平台"}).get_data(as_text=True)
    secret = page.split('class="user-select-all">')[1].split("<")[0]
    assert secret.startswith("trk_")
    assert page.count(secret) == 1  # once, in the page body
    assert secret not in page.split("</title>")[0]  # never in the title, which browsers keep in history
    assert secret not in c.get("/profile").get_data(as_text=True)
    assert "省平台" in c.get("/profile").get_data(as_text=True)
    assert app.test_client().get("/api/v1/items", headers={"Authorization": f"Bearer {secret}"}).status_code == 200


def test_create_token_cli_prints_the_token_alone(app, org):
    result = app.test_cli_runner().invoke(args=["tracker", "create-token", "off_a"])
    assert result.exit_code == 0
    assert result.stdout.count("\n") == 1 and result.stdout.startswith("trk_")
    unknown = app.test_cli_runner().invoke(args=["tracker", "create-token", "nobody"])
    assert unknown.exit_code == 1 and "找不到用户" in unknown.stderr


def test_openapi_describes_exactly_the_routes(app):
    documented = {(path, method) for path, ops in spec()["paths"].items() for method in ops}
    served = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("api.") and rule.endpoint not in ("api.openapi_json", "api.docs"):
            path = rule.rule.removeprefix("/api/v1")
            for name in rule.arguments:
                path = path.replace(f"<id:{name}>", f"{{{name}}}")
            served |= {(path, m.lower()) for m in rule.methods - {"HEAD", "OPTIONS"}}
    assert documented == served
    assert app.test_client().get("/api/v1/openapi.json").json["openapi"].startswith("3.")
    assert "JSON 接口" in app.test_client().get("/api/v1/docs").get_data(as_text=True)


def test_item_count_unchanged_by_refusals(org, make, api):
    item = make.item(org.county_a, org.off_a)
    api(org.off_b).patch(f"/items/{item.id}", json={"title": "x"})
    assert db.session.get(Item, item.id).title == item.title


def test_remaining_status_codes(org, make, api):
    item = make.item(org.county_a, org.off_a)
    closed = make.item(org.county_a, org.off_a, status="closed", supervisor=org.sup_a)
    owner = api(org.off_a)
    nul = owner.get("/items?owner=a%00b")
    assert nul.status_code == 400 and "空字符" in nul.get_data(as_text=True)  # readable, not \u-escaped
    assert owner.post(f"/items/{item.id}/progress", json={"note": "a\u0000b"}).status_code == 400
    assert owner.post(f"/items/{closed.id}/progress", json={"note": "还有"}).status_code == 409
    assert owner.post(f"/items/{item.id}/evidence", data={}).json["field"] == "file"
    assert owner.post(f"/items/{closed.id}/evidence", data={"file": (io.BytesIO(PDF), "a.pdf")}).status_code == 409
    assert api(org.off_a2).post(f"/items/{item.id}/evidence", data={"file": (io.BytesIO(PDF), "a.pdf")}).status_code == 403
    assert api(org.off_b).post(f"/items/{item.id}/evidence", data={"file": (io.BytesIO(PDF), "a.pdf")}).status_code == 404
    assert owner.get("/evidence/424242").status_code == 404
    assert api(org.off_b).post(f"/items/{item.id}/transition", json={"action": "start"}).status_code == 404
    assert owner.get("/items/2147483647").status_code == 404
    assert owner.get("/no/such/endpoint").json["error"]
    assert owner.delete(f"/items/{item.id}").status_code == 405
    png = api(org.city_sup).post("/reports/import", data={"file": (io.BytesIO(b"\x89PNG\r\n\x1a\n"), "r.png")})
    assert png.status_code == 415 and png.json["error"]


def test_evidence_download_checks_permission(org, make, api):
    item = make.item(org.county_a, org.off_a)
    evidence = make.evidence(item, org.off_a)
    assert api(org.off_a2).get(f"/evidence/{evidence.id}").data == PDF
    assert api(org.off_b).get(f"/evidence/{evidence.id}").status_code == 404


@pytest.mark.parametrize("raw", ['{"measures": "\\ud800"}', '{"\\ud800": 1}', "[" * 5000 + "]" * 5000])
def test_undecodable_or_nested_json_is_400(org, make, api, raw):
    item = make.item(org.county_a, org.off_a)
    response = api(org.off_a).patch(f"/items/{item.id}", data=raw, content_type="application/json")
    assert response.status_code == 400 and response.json["error"]


@pytest.mark.parametrize("deadline", [20991231, "20991231", "2099-W01-1", "2099-02-30"])
def test_deadlines_must_be_yyyy_mm_dd(org, make, api, deadline):
    item = make.item(org.county_a, None)
    response = api(org.sup_a).patch(f"/items/{item.id}", json={"deadline": deadline})
    assert response.status_code == 422 and response.json["field"] == "deadline"


def test_paging_past_the_end_is_empty(org, make, api):
    for _ in range(3):
        make.item(org.county_a, org.off_a)
    body = api(org.sup_a).get("/items?per_page=2&page=3").json
    assert (body["items"], body["page"], body["total"]) == ([], 3, 3)


def test_reports_are_for_supervisors_as_on_the_pages(org, make, api):
    assert api(org.off_a).get("/reports").status_code == 403
    assert api(org.sup_a).get("/reports").status_code == 200


def test_owner_by_name_or_any_case_and_search_is_literal(org, make, api):
    item = make.item(org.county_a, None)
    assert api(org.sup_a).patch(f"/items/{item.id}", json={"owner": "OFF_A"}).json["owner"] == "off_a"
    assert api(org.sup_a).get("/items?owner=%25").json["total"] == 0  # "%" is a character, not a wildcard


def test_submit_as_contract_md_writes_it(org, make, api):
    """CONTRACT.md's transition body is {action, comment, deadline}: submit's comment is the summary."""
    item = make.item(org.county_a, org.off_a, status="in_progress")
    make.evidence(item, org.off_a)
    owner = api(org.off_a)
    assert owner.post(f"/items/{item.id}/transition", json={"action": "submit"}).json["field"] == "summary"
    done = owner.post(f"/items/{item.id}/transition", json={"action": "submit", "comment": "已补充执法人员3名"})
    assert done.status_code == 200 and done.json["status"] == "pending_review"
    assert done.json["summary"] == "已补充执法人员3名"


@pytest.mark.parametrize("unit", ["/", " / / ", "//"])
def test_a_unit_filter_of_slashes_only_is_422(org, api, unit):
    """Found by schemathesis: a unit path with no names in it was a 500."""
    answer = api(org.city_sup).get("/items", query_string={"unit": unit})
    assert answer.status_code == 422 and answer.get_json()["field"] == "unit"
