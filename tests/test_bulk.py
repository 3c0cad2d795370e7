"""批量修改 (issue 18): one change to many items through the single-item service, all or nothing
(or skipping the refused ones), with each item's history and version, and "all that match"."""

import re

from sqlalchemy import func, select

from tracker.extensions import db
from tracker.items.models import EventAction, Item, ItemEvent, MeasureType
from tracker.reminders.models import Notification


def _bulk(client, ids, **fields):
    data = {"item_ids": [str(i) for i in ids], "next": fields.pop("next", "/items"), **fields}
    return client.post("/items/bulk", data)


def _message(client, response) -> str:
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    return " ".join(re.findall(r'<div class="alert[^"]*"[^>]*>\s*(.*?)\s*(?:<button|</div>)', page, re.S))


def test_a_bulk_change_goes_through_the_item_service_with_history_and_notice(org, make, login):
    items = [make.item(org.county_a, org.off_a, title=f"事项{n}") for n in range(3)]
    supervisor = login(org.sup_a)
    answer = _bulk(supervisor, [i.id for i in items], deadline="2027-06-30", category="case_file_quality",
                   leader="李局长", owner="off_a2")
    assert answer.status_code == 302 and "已修改 3 个事项" in _message(supervisor, answer)
    assert "已修改 3 个事项" in _message(supervisor, _bulk(supervisor, [i.id for i in items], measure_type="long_term"))
    db.session.expire_all()
    for item in db.session.scalars(select(Item).order_by(Item.id)):
        assert item.leader == "李局长" and item.measure_type is MeasureType.long_term
        assert item.categories[0].code == "case_file_quality" and "other" in [c.code for c in item.categories]
        assert item.owner.username == "off_a2"
    edits = list(db.session.scalars(select(ItemEvent).where(ItemEvent.action == EventAction.edit).order_by(ItemEvent.id)))
    assert len(edits) == 6  # one history row per item and change
    assert all(e.details["deadline"]["new"] == "2027-06-30" for e in edits[:3])
    assert db.session.scalar(select(func.count(Notification.id)).where(Notification.user_id == org.off_a2.id)) == 3


def test_one_refused_item_refuses_the_batch_unless_asked_to_skip(org, make, login, today):
    mine = [make.item(org.county_a, org.off_a, title=f"甲县事项{n}") for n in range(2)]
    closed = make.item(org.county_a, org.off_a, title="已销号的事项", status="closed", supervisor=org.sup_a)
    supervisor = login(org.sup_a)
    refused = _bulk(supervisor, [*[i.id for i in mine], closed.id], leader="王局长")
    assert "未修改：“已销号的事项”：已销号，不能再修改。" in _message(supervisor, refused)
    db.session.expire_all()
    assert [i.leader for i in db.session.scalars(select(Item).order_by(Item.id))] == ["", "", ""]  # nothing changed
    skipped = _bulk(supervisor, [*[i.id for i in mine], closed.id], leader="王局长", skip="1")
    said = _message(supervisor, skipped)
    assert "已修改 2 个事项" in said and "跳过1个不能修改的事项：“已销号的事项”：已销号" in said
    db.session.expire_all()
    assert [i.leader for i in db.session.scalars(select(Item).order_by(Item.id))] == ["王局长", "王局长", ""]


def test_other_units_items_and_units_outside_the_subtree_are_refused(org, make, login):
    ours = make.item(org.county_a, org.off_a, title="甲县事项")
    theirs = make.item(org.county_b, org.off_b, title="乙县事项")
    supervisor = login(org.sup_a)
    assert "部分事项不存在，或您无权查看" in _message(supervisor, _bulk(supervisor, [ours.id, theirs.id], leader="张"))
    moved = _bulk(supervisor, [ours.id], to_unit="乙县局")
    assert "未修改：“甲县事项”" in _message(supervisor, moved)
    db.session.expire_all()
    assert db.session.get(Item, ours.id).unit_id == org.county_a.id
    down = _bulk(supervisor, [ours.id], to_unit="甲大队")
    assert "已修改 1 个事项" in _message(supervisor, down)
    db.session.expire_all()
    assert db.session.get(Item, ours.id).unit_id == org.team_a.id
    assert "请填写要修改的内容" in _message(supervisor, _bulk(supervisor, [ours.id]))
    assert "日期应为真实存在的 YYYY-MM-DD" in _message(supervisor, _bulk(supervisor, [ours.id], deadline="2027-02-30"))


def test_a_stale_version_refuses_the_change(org, make, login, today):
    item = make.item(org.county_a, org.off_a, title="被别人改过的事项")
    shown = item.version
    supervisor = login(org.sup_a)
    assert "已修改 1 个事项" in _message(supervisor, _bulk(supervisor, [item.id], leader="甲", **{f"v{item.id}": str(shown)}))
    stale = _bulk(supervisor, [item.id], leader="乙", **{f"v{item.id}": str(shown)})  # the version the list showed before
    assert "未修改：“被别人改过的事项”" in _message(supervisor, stale)
    db.session.expire_all()
    assert db.session.get(Item, item.id).leader == "甲"


def test_all_that_match_is_confirmed_first_and_bounded(org, make, login, monkeypatch):
    from tracker.items import services

    for n in range(4):
        make.item(org.county_a, org.off_a, title=f"案卷问题{n}", year=2024)
    make.item(org.county_a, org.off_a, title="其他问题", year=2023)
    supervisor = login(org.sup_a)
    asked = supervisor.post("/items/bulk", {"all": "1", "next": "/items?year=2024", "leader": "赵局长",
                                            "category": "case_file_quality", "measure_type": "immediate"})
    page = asked.get_data(as_text=True)
    assert asked.status_code == 200 and '<strong id="bulk-count">4</strong>' in page and "责任领导改为 赵局长" in page
    assert "主类别改为 案卷质量" in page and "整改类型改为 立行立改" in page
    db.session.expire_all()
    assert db.session.scalar(select(func.count(Item.id)).where(Item.leader == "赵局长")) == 0  # not yet
    confirmed = supervisor.post("/items/bulk", {"all": "1", "next": "/items?year=2024", "leader": "赵局长", "confirm": "1"})
    assert confirmed.status_code == 302
    assert "已修改 4 个事项" in _message(supervisor, confirmed)
    db.session.expire_all()
    assert db.session.scalar(select(func.count(Item.id)).where(Item.leader == "赵局长")) == 4
    monkeypatch.setattr(services, "BULK_MAX", 3)
    too_many = supervisor.post("/items/bulk", {"all": "1", "next": "/items?year=2024", "leader": "钱局长"})
    assert "符合条件的事项超过3项" in _message(supervisor, too_many)


def test_an_item_the_service_refuses_half_way_is_skipped_and_the_rest_changed(org, make, login):
    """The owner named cannot own the team's item (he works above it): with skip, the county's
    item gets him and the team's is left as it was, its history untouched."""
    county = make.item(org.county_a, org.off_a2, title="县局事项")
    team = make.item(org.team_a, org.off_team, title="大队事项")
    supervisor = login(org.sup_a)
    refused = _bulk(supervisor, [county.id, team.id], owner="off_a", leader="孙局长")
    assert "未修改：“大队事项”" in _message(supervisor, refused)
    skipped = _bulk(supervisor, [county.id, team.id], owner="off_a", leader="孙局长", skip="1")
    said = _message(supervisor, skipped)
    assert "已修改 1 个事项" in said and "跳过1个不能修改的事项：“大队事项”" in said
    db.session.expire_all()
    county, team = db.session.get(Item, county.id), db.session.get(Item, team.id)
    assert (county.owner.username, county.leader) == ("off_a", "孙局长")
    assert (team.owner.username, team.leader) == ("off_team", "")
    assert db.session.scalar(select(func.count(ItemEvent.id)).where(ItemEvent.item_id == team.id,
                                                                   ItemEvent.action == EventAction.edit)) == 0
