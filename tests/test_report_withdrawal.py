"""Undoing an import: a supervisor withdraws a report while none of its problems has been worked
on, an admin at any time; the report and its items stay, marked, out of every list and figure,
and the same file can be imported again (under the right unit)."""

import io

from sqlalchemy import func, select

from tests.reports import sample_text
from tracker.extensions import db
from tracker.items.models import Item, ItemState, Report
from tracker.reminders.models import Notification


def _import(api, org, make):
    make.unit("呼兰区交通运输局", org.city)
    data = sample_text("004_a88482b488a96b1d.txt").encode("gb18030")
    stored = api(org.city_sup).post("/reports/import", data={"file": (io.BytesIO(data), "r.txt")})
    assert stored.status_code == 201
    return db.session.get(Report, stored.json["report_id"]), stored.json["item_ids"], data


def _withdraw(client, report, reason="导入单位有误，应为呼兰区交通运输局"):
    return client.post(f"/reports/{report.id}/withdraw", data={"reason": reason})


def test_a_supervisor_withdraws_an_untouched_import_and_it_leaves_every_list(org, make, api, login):
    report, ids, data = _import(api, org, make)
    city = login(org.city_sup)
    page = city.get(f"/reports/{report.unit_id}/{report.year}").get_data(as_text=True)
    assert "撤回这次导入" in page
    assert db.session.scalar(select(func.count()).select_from(ItemState).where(ItemState.item_id.in_(ids))) == 3
    no_reason = _withdraw(city, report, reason=" ")
    assert no_reason.status_code == 422 and "请填写撤回理由" in no_reason.get_data(as_text=True)
    assert db.session.get(Report, report.id).withdrawn_at is None
    answer = _withdraw(city, report)
    assert answer.status_code == 302
    assert "已撤回" in city.get(answer.headers["Location"]).get_data(as_text=True)
    db.session.expire_all()
    withdrawn = db.session.get(Report, report.id)
    assert withdrawn.withdrawn_by_id == org.city_sup.id and "呼兰区" in withdrawn.withdrawn_reason
    assert all(db.session.get(Item, i).withdrawn_at is not None for i in ids)  # kept, marked
    # out of the lists, the item pages, the API, the reports and the figures
    listing = city.get("/items?per_page=100").get_data(as_text=True)
    assert all(f'data-item-id="{i}"' not in listing for i in ids)
    assert city.get(f"/items/{ids[0]}").status_code == 404
    assert api(org.city_sup).get(f"/items/{ids[0]}").status_code == 404
    assert all(r["id"] != report.id for r in api(org.city_sup).get("/reports").json["reports"])
    assert db.session.scalar(select(func.count()).select_from(ItemState).where(ItemState.item_id.in_(ids))) == 0
    assert api(org.city_sup).get("/stats").json["totals"]["items"] == 0
    from tracker import clock
    from tracker.items import states

    states.rebuild(db.session.connection(), clock.local_zone())  # refresh-stats leaves them out too
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(ItemState).where(ItemState.item_id.in_(ids))) == 0
    # the admin's list says who withdrew what, when and why; the admin may still open the items
    admin = login(org.admin)
    listed = admin.get("/admin/withdrawn-reports").get_data(as_text=True)
    assert f'data-report-id="{report.id}"' in listed and org.city_sup.display_name in listed and "呼兰区" in listed
    assert admin.get(f"/items/{ids[0]}").status_code == 200
    # the same file can be imported again
    again = api(org.city_sup).post("/reports/import", data={"file": (io.BytesIO(data), "r.txt")})
    assert again.status_code == 201


def test_once_work_has_started_only_an_admin_may_withdraw(org, make, api, login):
    report, ids, _ = _import(api, org, make)
    assert api(org.city_sup).post(f"/items/{ids[0]}/progress", json={"note": "已召开专题会议"}).status_code == 201
    city = login(org.city_sup)
    refused = _withdraw(city, report)
    assert refused.status_code == 409 and "请联系系统管理员" in refused.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Report, report.id).withdrawn_at is None and db.session.get(Item, ids[0]).withdrawn_at is None
    assert "撤回这次导入" not in city.get(f"/reports/{report.unit_id}/{report.year}").get_data(as_text=True)
    assert _withdraw(login(org.sup_b), report).status_code == 404  # not his unit: not even seen
    assert _withdraw(login(org.admin), report).status_code == 302
    db.session.expire_all()
    assert db.session.get(Report, report.id).withdrawn_by_id == org.admin.id


def test_withdrawn_items_are_not_carried_over_nor_reminded(app, org, make, api, login):
    from datetime import date

    from tests.test_events import _pass
    from tracker.rollover import services as rollover

    report, ids, _ = _import(api, org, make)
    assert _withdraw(login(org.city_sup), report).status_code == 302
    db.session.query(Item).filter(Item.id.in_(ids)).update({"deadline": make.today}, synchronize_session=False)
    db.session.commit()
    _pass(app, make, days=0)
    db.session.commit()
    told = " ".join(str(n.payload) for n in db.session.scalars(select(Notification)))
    assert all(db.session.get(Item, i).title not in told for i in ids)  # due today, yet nobody is reminded
    result = rollover.carry_over_year(report.year, today=date(report.year + 1, 1, 1), now=make.now)
    db.session.commit()
    assert result.carried == 0 and all(db.session.get(Item, i).year == report.year for i in ids)


def test_problems_already_carried_on_go_with_the_report_and_those_carried_in_stay(org, make, api, login):
    from datetime import date

    from tracker.items.models import CarryOver
    from tracker.rollover import services as rollover

    report, ids, data = _import(api, org, make)  # 呼兰区's 2023 report
    unit = report.unit
    older = make.item(unit, year=report.year - 1, title="上上年度遗留的问题")  # carried into the 2023 draft?
    rollover.carry_over_year(report.year, today=date(report.year + 1, 1, 1), now=make.now)
    db.session.commit()
    assert all(db.session.get(Item, i).year == report.year + 1 for i in ids)  # on to next year's draft
    city = login(org.city_sup)
    answer = _withdraw(city, report)
    assert answer.status_code == 302
    assert "及其3个问题" in city.get(answer.headers["Location"]).get_data(as_text=True)
    db.session.expire_all()
    assert all(db.session.get(Item, i).withdrawn_at is not None for i in ids)
    assert db.session.get(Item, older.id).withdrawn_at is None  # not the import's: kept
    # the next year's draft that received them: the older problem still listed there, these not
    draft = db.session.get(Item, older.id).report
    assert draft.is_draft and draft.withdrawn_at is None
    assert db.session.scalar(select(func.count()).select_from(CarryOver).where(CarryOver.item_id == older.id)) >= 1


def test_an_import_that_filled_the_year_end_draft_gives_the_carried_problems_a_draft_back(org, make, api, login):
    from datetime import date

    from tracker.rollover import services as rollover

    unit = make.unit("呼兰区交通运输局", org.city)
    carried = make.item(unit, year=2022, title="2022年度未完成的问题")
    rollover.carry_over_year(2022, today=date(2023, 1, 1), now=make.now)  # → 呼兰区's 2023 draft
    db.session.commit()
    data = sample_text("004_a88482b488a96b1d.txt").encode("gb18030")
    stored = api(org.city_sup).post("/reports/import", data={"file": (io.BytesIO(data), "r.txt")})
    report = db.session.get(Report, stored.json["report_id"])
    assert db.session.get(Item, carried.id).report_id == report.id  # the import filled the draft
    assert _withdraw(login(org.city_sup), report).status_code == 302
    db.session.expire_all()
    kept = db.session.get(Item, carried.id)
    assert kept.withdrawn_at is None and kept.report.is_draft and kept.report.year == 2023
    assert all(db.session.get(Item, i).withdrawn_at is not None for i in stored.json["item_ids"])
    page = login(org.city_sup).get(f"/reports/{unit.id}/2023").get_data(as_text=True)
    assert "2022年度未完成的问题" in page  # still listed as the year's carried problem


def test_an_assignment_of_a_withdrawn_problem_is_not_in_the_next_digest(app, org, make, api, login):
    from tests.test_events import _pass
    from tracker.reminders.models import OutboxMessage

    report, ids, _ = _import(api, org, make)
    org.off_a.notify_channels = "inapp,email"
    helper = make.user("hulan_off", "official", report.unit, name="呼兰区责任人")
    helper.notify_channels = "inapp,email"
    db.session.commit()
    assert api(org.city_sup).patch(f"/items/{ids[0]}", json={"owner": "hulan_off"}).status_code == 200
    assert _withdraw(login(org.city_sup), report).status_code == 302  # an assignment is not work
    _pass(app, make)
    db.session.commit()
    mail = db.session.scalars(select(OutboxMessage).where(OutboxMessage.recipient_id == helper.id)).all()
    assert all(s["title"] != "近期动态" for m in mail for s in m.payload["sections"])
