"""The item fields offices' ledgers have (CONTRACT.md): leader 责任领导, co_units 配合单位 and
measure_type 整改类型, on the pages, in the API and in history; and what a 配合单位 may do."""

from datetime import timedelta

from sqlalchemy import select

from tracker.extensions import db
from tracker.items import workflow
from tracker.items.models import Item, ItemEvent, MeasureType
from tracker.items.workflow import Action


def test_a_supervisor_sets_leader_co_units_and_type_on_the_edit_page_and_history_says_so(org, make, login):
    item = make.item(org.county_a, org.off_a)
    sup = login(org.sup_a)
    page = sup.get(f"/items/{item.id}/edit").get_data(as_text=True)
    assert 'name="leader"' in page and 'name="measure_type"' in page and 'name="co_units"' in page
    answer = sup.post(f"/items/{item.id}/edit", data={
        "title": item.title, "primary_category": "other", "owner": org.off_a.username, "version": item.version,
        "leader": "王副局长", "measure_type": "long_term", "co_units": [str(org.county_b.id), str(org.team_a.id)]})
    assert answer.status_code == 302
    db.session.refresh(item)
    assert (item.leader, item.measure_type) == ("王副局长", MeasureType.long_term)
    assert sorted(u.name for u in item.co_units) == sorted([org.county_b.name, org.team_a.name])
    shown = sup.get(f"/items/{item.id}").get_data(as_text=True)
    assert "王副局长" in shown and "长期坚持" in shown and org.county_b.name in shown
    last = db.session.scalar(select(ItemEvent).where(ItemEvent.item_id == item.id).order_by(ItemEvent.id.desc()))
    assert last.details["leader"] == {"old": "", "new": "王副局长"}
    assert last.details["measure_type"] == {"old": "deadline", "new": "long_term"}
    assert "整改类型：限期整改 → 长期坚持" in shown
    bad = sup.post(f"/items/{item.id}/edit", data={"title": item.title, "primary_category": "other",
                                                   "version": item.version, "measure_type": "someday"})
    assert bad.status_code == 422 and "整改类型应为" in bad.get_data(as_text=True)


def test_the_api_shows_and_patches_the_fields(org, make, api):
    item = make.item(org.county_a, org.off_a)
    client = api(org.sup_a)
    shown = client.get(f"/items/{item.id}").json
    assert (shown["leader"], shown["co_units"], shown["measure_type"]) == ("", [], "deadline")
    patched = client.patch(f"/items/{item.id}", json={"leader": "李局长", "co_units": [org.county_b.name],
                                                      "measure_type": "immediate"})
    assert patched.status_code == 200
    assert (patched.json["leader"], patched.json["co_units"], patched.json["measure_type"]) == (
        "李局长", [org.county_b.name], "immediate")
    assert client.patch(f"/items/{item.id}", json={"measure_type": "x"}).json["field"] == "measure_type"
    assert client.patch(f"/items/{item.id}", json={"co_units": ["无此单位"]}).json["field"] == "co_units"
    assert client.patch(f"/items/{item.id}", json={"co_units": "乙县局"}).status_code == 422
    assert shown["review_every_days"] is None
    assert client.patch(f"/items/{item.id}", json={"review_every_days": 60}).json["review_every_days"] == 60
    refused = client.patch(f"/items/{item.id}", json={"review_every_days": 400})
    assert refused.status_code == 422 and refused.json["field"] == "review_every_days"


def test_an_immediate_item_gets_a_short_deadline_by_default(org, login, today):
    answer = login(org.sup_a).post("/items/new", data={
        "unit": str(org.county_a.id), "year": "2024", "title": "立即整改的问题", "primary_category": "other",
        "measure_type": "immediate"})
    assert answer.status_code == 302
    item = db.session.scalar(select(Item).where(Item.title == "立即整改的问题"))
    assert item.measure_type is MeasureType.immediate and item.deadline == today + timedelta(days=30)


def test_a_co_unit_sees_the_item_and_adds_progress_but_neither_submits_nor_reviews(org, make, login, api):
    item = make.item(org.county_a, org.off_a, status="in_progress")
    item.co_units = [org.county_b]
    db.session.commit()
    helper, helper_sup = org.off_b, org.sup_b  # of 乙县局, the 配合单位
    listing = login(helper).get("/items").get_data(as_text=True)
    assert f'data-item-id="{item.id}"' in listing and "co-badge" in listing
    assert login(helper).get(f"/items/{item.id}").status_code == 200
    assert api(helper).post(f"/items/{item.id}/progress", json={"note": "已配合开展联合检查"}).status_code == 201
    assert api(helper).post(f"/items/{item.id}/transition", json={"action": "submit", "summary": "x"}).status_code == 403
    make.evidence(item, org.off_a)
    workflow.perform(item, Action.submit, org.off_a, now=make.now, today=make.today, summary="已完成")
    db.session.commit()
    assert api(helper_sup).post(f"/items/{item.id}/transition", json={"action": "approve"}).status_code == 403
    assert f'data-item-id="{item.id}"' not in login(helper_sup).get("/review").get_data(as_text=True)
    item.co_units = []
    db.session.commit()
    assert login(helper).get(f"/items/{item.id}").status_code == 404  # no longer 配合: not seen


def test_a_long_term_item_is_reminded_by_its_progress_cadence_not_its_deadline(app, org, make, login):
    from zoneinfo import ZoneInfo

    from tracker.items import services
    from tracker.reminders import planning, rules

    rule = rules.current_rule(app.config)
    assert rule.long_term_days == 90
    item = make.item(org.county_a, org.off_a, deadline_days=0, title="长期坚持的普法工作")  # due today
    services.update_item(item, org.sup_a, {"measure_type": MeasureType.long_term}, now=make.now, today=make.today)
    db.session.commit()
    zone = ZoneInfo("Asia/Shanghai")

    def told(days: int) -> list[str]:
        day = make.today + timedelta(days=days)
        return [e.reason for d in planning.decide(day, day, day, rule, zone) if d.recipient.id == org.off_a.id
                for e in d.sections.get("mine", ()) if e.item_id == item.id]

    assert told(0) == [] and told(30) == []  # its deadline is no reminder
    assert told(90) == ["长期坚持事项，已90天未报送进展（每90天至少一次）"]
    services.add_progress(item, org.off_a, "本季度开展普法宣传3次", now=make.now + timedelta(days=60))
    db.session.commit()
    assert told(90) == [] and len(told(150)) == 1  # 90 days from the last note
    # The item's own cadence, set on the edit page: a note owed every 30 days, from the last one.
    answer = login(org.sup_a).post(f"/items/{item.id}/edit", data={
        "title": item.title, "primary_category": "other", "owner": org.off_a.username, "version": item.version,
        "measure_type": "long_term", "review_every_days": "30"})
    assert answer.status_code == 302
    db.session.refresh(item)
    assert item.review_every_days == 30
    assert told(90) == ["长期坚持事项，已30天未报送进展（每30天至少一次）"] and told(100) == []
    assert "每30天至少报送一次进展" in login(org.off_a).get(f"/items/{item.id}").get_data(as_text=True)
    bad = login(org.sup_a).post(f"/items/{item.id}/edit", data={
        "title": item.title, "primary_category": "other", "version": item.version, "measure_type": "long_term",
        "review_every_days": "0"})
    assert bad.status_code == 422 and "进展报送周期应为1至366天" in bad.get_data(as_text=True)


def test_the_ledger_shows_the_fields_and_the_latest_progress_note(org, make, login):
    import io

    from openpyxl import load_workbook

    from tracker.exports.ledger import HEADERS
    from tracker.items import services

    item = make.item(org.county_a, org.off_a, year=2024, title="执法案卷不规范")
    services.update_item(item, org.sup_a, {"leader": "王副局长", "co_units": [org.county_b, org.team_a],
                                           "measure_type": MeasureType.long_term}, now=make.now, today=make.today)
    services.add_progress(item, org.off_a, "已开展案卷评查", now=make.now)
    services.add_progress(item, org.off_a, "已整改问题案卷11卷", now=make.now + timedelta(days=1))
    db.session.commit()
    sheet = load_workbook(io.BytesIO(login(org.sup_a).get("/items/export.xlsx").data)).active
    row = dict(zip(HEADERS, next(sheet.iter_rows(min_row=4, values_only=True)), strict=True))
    assert (row["事项编号"], row["责任领导"], row["整改类型"]) == (item.id, "王副局长", "长期坚持")
    assert set(row["配合单位"].split("、")) == {org.county_b.name, org.team_a.name}
    assert row["整改进展"].endswith("：已整改问题案卷11卷")  # the latest, with its day
