"""督办单: who may issue them, their numbers (also under two issuers at once), what the owner is
told, the badge in the lists, and the notice as a Word document."""

import io
import re
import threading

import docx
import pytest

from tracker.extensions import db
from tracker.items.models import ItemEvent, Status
from tracker.reminders.models import MessageKind, Notification, OutboxMessage
from tracker.urging import services
from tracker.urging.models import Urge


def issue(api, user, item, **body):
    return api(user).post(f"/items/{item.id}/urge", json={"level": "yellow", **body})


def test_a_notice_is_numbered_per_issuing_unit_and_year_and_kept_in_history(org, make, api, today):
    org.city.short_name = "市交"
    db.session.commit()
    first = make.item(org.county_a, org.off_a, deadline_days=-3)
    second = make.item(org.county_b, org.off_b)
    answers = [issue(api, org.city_sup, first), issue(api, org.city_sup, second, level="red"),
               issue(api, org.sup_a, first, level="notice")]
    assert [a.status_code for a in answers] == [201, 201, 201]
    assert [a.json["number"] for a in answers] == [
        f"市交督〔{today.year}〕第1号", f"市交督〔{today.year}〕第2号", f"甲县局督〔{today.year}〕第1号"]
    assert answers[0].json["level"] == "yellow" and answers[0].json["issued_by"] == "city_sup"
    event = db.session.scalars(db.select(ItemEvent).where(ItemEvent.item_id == first.id, ItemEvent.action == "urge")).first()
    assert event.details["number"] == f"市交督〔{today.year}〕第1号" and event.details["level"] == "yellow"
    urge = db.session.get(Urge, answers[0].json["id"])
    assert urge.days_overdue == 3


def test_the_owner_hears_at_once_on_the_bell_and_through_the_outbox(org, make, api, login):
    org.off_a.notify_channels = "inapp,email"
    db.session.commit()
    item = make.item(org.county_a, org.off_a)
    answer = issue(api, org.city_sup, item, comment="请本周内完成。")
    assert answer.status_code == 201
    bell = db.session.scalars(db.select(Notification).where(Notification.user_id == org.off_a.id,
                                                            Notification.kind == "urged")).all()
    assert len(bell) == 1 and answer.json["number"] in bell[0].title and "请本周内完成。" in bell[0].body
    mail = db.session.scalars(db.select(OutboxMessage).where(OutboxMessage.recipient_id == org.off_a.id)).all()
    assert [(m.channel.value, m.kind) for m in mail] == [("email", MessageKind.urge)]
    page = login(org.off_a).get("/notifications").get_data(as_text=True)
    assert answer.json["number"] in page


def test_a_notice_about_an_item_without_owner_reaches_the_units_supervisors(org, make):
    item = make.item(org.team_a, None)
    assert [u.username for u in services.recipients(item)] == ["sup_a"]  # the team has none; its county does


def test_two_issuers_at_once_get_two_numbers(app, org, make, today):
    items = [make.item(org.county_a, org.off_a), make.item(org.county_b, org.off_b)]
    ids = [i.id for i in items]
    barrier, numbers, errors = threading.Barrier(2), [], []

    def run(item_id):
        with app.app_context():
            try:
                from tracker.items.models import Item
                from tracker.org.models import User

                item = db.session.get(Item, item_id)
                user = db.session.get(User, org.city_sup.id)
                barrier.wait()
                notice = services.issue(item, user, services.parse_level("red"), now=make.now, today=today)
                db.session.commit()
                numbers.append(notice.serial)
            except Exception as error:  # noqa: BLE001 (reported below)
                db.session.rollback()
                errors.append(repr(error))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i,)) for i in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors and sorted(numbers) == [1, 2]


@pytest.mark.parametrize("who, status", [("off_a", 403), ("sup_b", 404), ("off_b", 404)])
def test_only_a_supervisor_over_the_unit_may_issue(org, make, api, who, status):
    item = make.item(org.county_a, org.off_a)
    answer = issue(api, getattr(org, who), item)
    assert answer.status_code == status
    assert not db.session.scalar(db.select(db.func.count(Urge.id)))


def test_a_closed_item_or_a_bad_level_or_date_is_refused_and_nothing_is_kept(org, make, api, today):
    closed = make.item(org.county_a, org.off_a, status="closed", supervisor=org.sup_a)
    assert issue(api, org.city_sup, closed).status_code == 409
    item = make.item(org.county_a, org.off_a)
    bad = issue(api, org.city_sup, item, level="purple")
    assert bad.status_code == 422 and bad.json["field"] == "level"
    late = issue(api, org.city_sup, item, reply_by="2020-01-01")
    assert late.status_code == 422 and late.json["field"] == "reply_by"
    assert not db.session.scalar(db.select(db.func.count(Urge.id)))
    assert not db.session.scalar(db.select(db.func.count(Notification.id)).where(Notification.kind == "urged"))


def test_the_item_page_issues_a_notice_and_lists_show_its_badge(org, make, login):
    item = make.item(org.county_a, org.off_a, deadline_days=-5)
    sup = login(org.city_sup)
    page = sup.get(f"/items/{item.id}").get_data(as_text=True)
    assert 'id="urge-form"' in page
    answer = sup.post(f"/items/{item.id}/urge", data={"level": "red", "comment": ""})
    assert answer.status_code == 302
    for url in ("/items", "/overdue", f"/items/{item.id}"):
        assert "红牌督办" in sup.get(url).get_data(as_text=True), url
    owner_view = login(org.off_a).get(f"/items/{item.id}").get_data(as_text=True)
    assert "红牌督办" in owner_view and 'id="urge-form"' not in owner_view  # the owner sees it, cannot issue


def test_a_bad_date_on_the_page_is_one_sentence_and_no_notice(org, make, login):
    item = make.item(org.county_a, org.off_a)
    answer = login(org.city_sup).post(f"/items/{item.id}/urge", data={"level": "notice", "reply_by": "2020-01-01"})
    assert answer.status_code == 422 and "反馈期限不能早于今天。" in answer.get_data(as_text=True)
    assert not db.session.scalar(db.select(db.func.count(Urge.id)))


def test_the_notice_document_says_who_what_by_when(org, make, api, login, today):
    item = make.item(org.county_a, org.off_a, deadline_days=-4, title="执法案卷不规范")
    notice = issue(api, org.city_sup, item, level="red", comment="请限期整改。").json
    response = api(org.city_sup).get(f"/urges/{notice['id']}.docx")
    assert response.status_code == 200
    text = "\n".join(p.text for p in docx.Document(io.BytesIO(response.data)).paragraphs)
    assert notice["number"] in text and "红牌督办通知单" in text and "甲县局：" in text
    assert "执法案卷不规范" in text and "已逾期4天" in text and "请限期整改。" in text and "前将整改情况" in text
    assert login(org.off_a).get(f"/urges/{notice['id']}.docx").status_code == 200  # the owner may read it
    assert api(org.off_b).get(f"/urges/{notice['id']}.docx").status_code == 404
    assert item.status is Status.open


def _bulletin_text(data: bytes) -> str:
    document = docx.Document(io.BytesIO(data))
    cells = [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    return "\n".join([p.text for p in document.paragraphs] + cells)


def test_the_bulletin_ranks_units_names_the_longest_overdue_and_praises_and_criticises(org, make, api, login, today):
    late = make.item(org.county_a, org.off_a, deadline_days=-20, title="案卷评查整改滞后")
    make.item(org.county_a, org.off_a, status="closed", supervisor=org.sup_a)
    make.item(org.county_b, org.off_b, status="closed", supervisor=org.sup_b)
    red = issue(api, org.city_sup, late, level="red").json
    start = today.replace(day=1).isoformat()
    answer = login(org.city_sup).get(f"/bulletin.docx?unit={org.city.id}&from={start}&to={today.isoformat()}")
    assert answer.status_code == 200
    text = _bulletin_text(answer.data)
    assert "关于整改工作推进情况的通报" in text and "本期新增整改事项3项，销号2项" in text
    assert "共有整改事项3项，已销号2项，完成率66.7%" in text
    table = text[text.index("排名\n单位"):]
    assert table.index("乙县局\n1\n100.0%\n0") < table.index("甲县局\n2\n50.0%\n1")  # ranked by 完成率
    assert "“案卷评查整改滞后”" in text and "已逾期20天" in text
    assert red["number"] in text
    assert "乙县局无逾期事项，予以表扬。" in text and "甲县局本期有事项被红牌督办，予以通报批评" in text


def test_the_bulletin_command_writes_the_same_document_and_refuses_bad_input(app, org, make, tmp_path, today):
    make.item(org.county_a, org.off_a, deadline_days=-2)
    out = tmp_path / "通报.docx"
    runner = app.test_cli_runner()
    result = runner.invoke(args=["tracker", "bulletin", "--unit", "市局", "--from", today.replace(day=1).isoformat(),
                                 "--to", today.isoformat(), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "共有整改事项1项" in _bulletin_text(out.read_bytes())
    for args, message in ((["--from", "2024-02-30", "--to", "2024-03-01"], "日期"),
                          (["--from", "2024-03-01", "--to", "2024-02-01"], "结束日期不能早于开始日期"),
                          (["--from", "2023-01-01", "--to", "2024-12-31"], "最长覆盖一年")):
        bad = tmp_path / "bad.docx"
        result = runner.invoke(args=["tracker", "bulletin", "--unit", "市局", *args, "--out", str(bad)])
        assert result.exit_code == 1 and message in result.output and not bad.exists()


def test_only_supervisors_over_the_unit_get_its_bulletin(org, login, today):
    query = f"from={today.isoformat()}&to={today.isoformat()}"
    assert login(org.sup_a).get(f"/bulletin.docx?unit={org.city.id}&{query}").status_code == 403
    assert login(org.off_a).get(f"/bulletin.docx?unit={org.county_a.id}&{query}").status_code == 403
    assert login(org.sup_a).get(f"/bulletin.docx?unit={org.county_a.id}&{query}").status_code == 200
    bad = login(org.sup_a).get(f"/bulletin.docx?unit={org.county_a.id}&from=2024-13-01&to=2024-12-01")
    assert bad.status_code == 422 and "日期" in bad.get_data(as_text=True)


def test_an_admin_gives_a_unit_the_short_name_its_numbers_begin_with(org, make, login, api, today):
    admin = login(org.admin)
    answer = admin.post(f"/admin/units/{org.city.id}", data={"name": "市局", "parent": "0", "short_name": "市交"})
    assert answer.status_code == 302
    item = make.item(org.county_a, org.off_a)
    assert issue(api, org.city_sup, item).json["number"] == f"市交督〔{today.year}〕第1号"
    assert "市交" in admin.get(f"/admin/units/{org.city.id}").get_data(as_text=True)


# Suggested levels, batches, the rule, the scheduler's notices and bulletins -----------------------

def _rule(**changes):
    rule = services.current_rule()
    values = {"yellow_after_days": rule.yellow_after_days, "red_after_days": rule.red_after_days,
              "red_after_yellows": rule.red_after_yellows, "auto_issue": rule.auto_issue,
              "monthly_bulletin": rule.monthly_bulletin, **changes}
    from tracker.org.models import User

    services.update_rule(db.session.scalar(db.select(User).where(User.username == "admin")), **values)
    db.session.commit()


def test_the_dashboard_lists_items_whose_suggested_level_is_above_their_last_notice(org, make, api, login):
    long_late = make.item(org.county_a, org.off_a, deadline_days=-20, title="逾期二十天")
    late = make.item(org.county_b, org.off_b, deadline_days=-3, title="逾期三天")
    make.item(org.county_a, org.off_a, deadline_days=5, title="未到期")
    yellowed = make.item(org.county_b, org.off_b, deadline_days=-2, title="已黄牌")
    issue(api, org.city_sup, yellowed, level="yellow")
    page = login(org.city_sup).get("/dashboard").get_data(as_text=True)
    due = page[page.index('id="due-table"'):page.index("</table>", page.index('id="due-table"'))]
    assert "逾期二十天" in due and "逾期三天" in due and "未到期" not in due and "已黄牌" not in due
    assert due.index("逾期二十天") < due.index("逾期三天")  # most overdue first
    row = due[due.index(f'data-item-id="{long_late.id}"'):]
    assert "红牌督办" in row.split("</tr>")[0]
    assert "黄牌督办" in due[due.index(f'data-item-id="{late.id}"'):].split("</tr>")[0]


def test_a_batch_issues_each_its_suggested_level_all_or_none(org, make, login):
    a = make.item(org.county_a, org.off_a, deadline_days=-20)
    b = make.item(org.county_b, org.off_b, deadline_days=-3)
    sup = login(org.city_sup)
    answer = sup.post("/urges/batch", data={"item_ids": [a.id, b.id], "level": "suggested", "next": "/dashboard"})
    assert answer.status_code == 302
    levels = dict(db.session.execute(db.select(Urge.item_id, Urge.level)).all())
    assert (levels[a.id].value, levels[b.id].value) == ("red", "yellow")
    assert "已发出督办单2份（黄牌督办1份、红牌督办1份）" in sup.get("/dashboard").get_data(as_text=True)
    closed = make.item(org.county_a, org.off_a, status="closed", supervisor=org.sup_a)
    fresh = make.item(org.county_a, org.off_a, deadline_days=-5)
    refused = sup.post("/urges/batch", data={"item_ids": [fresh.id, closed.id], "level": "notice", "next": "/items"})
    assert refused.status_code == 302
    assert "已销号，不能再督办" in sup.get("/items").get_data(as_text=True)
    assert not db.session.scalar(db.select(db.func.count(Urge.id)).where(Urge.item_id == fresh.id))  # none of the batch


def test_a_batch_from_the_list_is_refused_for_an_item_the_supervisor_does_not_oversee(org, make, login):
    mine = make.item(org.county_a, org.off_a, deadline_days=-5)
    other = make.item(org.county_b, org.off_b, deadline_days=-5)
    sup = login(org.sup_a)
    sup.post("/urges/batch", data={"item_ids": [mine.id, other.id], "level": "yellow", "next": "/items"})
    assert not db.session.scalar(db.select(db.func.count(Urge.id)))
    assert "不存在，或您无权查看" in sup.get("/items").get_data(as_text=True)


def test_the_admin_sets_the_rule_and_bad_values_are_refused(org, make, login):
    admin = login(org.admin)
    bad = admin.post("/admin/urge-rule", data={"yellow_after_days": "10", "red_after_days": "5", "red_after_yellows": "2"})
    assert bad.status_code == 422 and "红牌的逾期天数应大于黄牌的天数" in bad.get_data(as_text=True)
    ok = admin.post("/admin/urge-rule", data={"yellow_after_days": "5", "red_after_days": "30", "red_after_yellows": "3"})
    assert ok.status_code == 302
    item = make.item(org.county_a, org.off_a, deadline_days=-20)
    page = login(org.city_sup).get(f"/items/{item.id}").get_data(as_text=True)
    assert 'value="yellow" selected' in page  # 20 days: yellow under the new rule, red under the default
    assert login(org.city_sup).get("/admin/urge-rule").status_code == 403


def test_nothing_is_issued_automatically_unless_the_admin_turns_it_on(org, make, today, now):
    from tracker.urging import jobs

    item = make.item(org.team_a, org.off_team, deadline_days=-20)
    assert jobs.auto_issue(today, now) == 0
    _rule(auto_issue=True)
    assert jobs.auto_issue(today, now) == 1
    urge = db.session.scalar(db.select(Urge))
    assert (urge.level.value, urge.issuing_unit.name, urge.issued_by_id) == ("red", "甲县局", None)  # the unit above
    assert db.session.scalar(db.select(Notification).where(Notification.user_id == org.off_team.id,
                                                           Notification.kind == "urged")) is not None
    assert jobs.auto_issue(today, now) == 0  # a second run: nothing due any more
    assert item.id == urge.item_id


def test_the_monthly_bulletin_reaches_each_supervisor_once_with_its_download(org, make, login, now):
    from datetime import date

    from tracker.urging import jobs

    first = date(2026, 12, 1)
    assert jobs.monthly_bulletins(first, now) == 0  # off
    _rule(monthly_bulletin=True)
    assert jobs.monthly_bulletins(date(2026, 12, 2), now) == 0  # not the 1st
    assert jobs.monthly_bulletins(first, now) == 3  # city_sup, sup_a, sup_b
    assert jobs.monthly_bulletins(first, now) == 0
    page = login(org.sup_a).get("/notifications").get_data(as_text=True)
    assert "【情况通报】甲县局2026年11月整改情况通报" in page
    link = re.search(r'href="(/bulletin\.docx\?[^"]+)"', page).group(1).replace("&amp;", "&")
    document = login(org.sup_a).get(link)
    assert document.status_code == 200 and "2026年11月1日至2026年11月30日" in _bulletin_text(document.data)


def test_the_bulletin_names_the_units_own_items_when_they_got_a_red_notice(org, make, api, login, today):
    own = make.item(org.city, None, deadline_days=-30)
    issue(api, org.admin, own, level="red")
    answer = login(org.city_sup).get(f"/bulletin.docx?unit={org.city.id}&from={today.isoformat()}&to={today.isoformat()}")
    text = _bulletin_text(answer.data)
    assert "市局本级本期有事项被红牌督办，予以通报批评" in text
    last = [p.text for p in docx.Document(io.BytesIO(answer.data)).paragraphs][-2:]
    assert last == ["市局", date_cn(today)]  # signed and dated


def date_cn(day) -> str:
    return f"{day.year}年{day.month}月{day.day}日"
