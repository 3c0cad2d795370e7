"""Year-end rollover: unresolved items of year Y join year Y+1's report, once, keeping what they are."""

import json
import re
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from tests.conftest import StatementCounter, at_once
from tracker.errors import Conflict, Forbidden, Invalid
from tracker.extensions import db
from tracker.importing import services as importing
from tracker.items import queries, workflow
from tracker.items.models import CarryOver, Evidence, Item, ItemEvent, Report, Status
from tracker.items.workflow import Action
from tracker.rollover import jobs
from tracker.rollover import services as rollover
from tracker.rollover.models import RolloverRun


def _state():
    """Everything a rollover may touch, to compare before and after a second run."""
    items = db.session.execute(
        select(Item.id, Item.year, Item.report_id, Item.status, Item.deadline, Item.owner_id, Item.carry_count,
               Item.carried_over_from_year, Item.version).order_by(Item.id)
    ).all()
    counts = [db.session.scalar(select(func.count()).select_from(model)) for model in (Report, CarryOver, ItemEvent,
                                                                                         RolloverRun)]
    return items, counts


def _close(make, item, supervisor):
    kw = {"now": make.now, "today": make.today}
    if item.status is Status.open:
        workflow.perform(item, Action.start, item.owner, **kw)
    make.evidence(item, item.owner)
    workflow.perform(item, Action.submit, item.owner, summary="已完成", **kw)
    workflow.perform(item, Action.approve, supervisor, **kw)
    db.session.commit()


def _badges(item) -> str:
    from flask import render_template_string

    return render_template_string('{% from "_macros/ui.html" import carried %}{{ carried(item) }}', item=item)


def _roll(year, make, **kw):
    result = rollover.carry_over_year(year, today=date(year + 1, 1, 1), now=make.now, **kw)
    db.session.commit()
    return result


def test_three_years_carry_what_is_open_and_never_what_is_closed(make, org):
    report_2024 = make.report(org.county_a, 2024)
    closed = make.item(org.county_a, org.off_a, report=report_2024, status="closed", supervisor=org.sup_a)
    later_closed = make.item(org.county_a, org.off_a, report=report_2024, status="in_progress")
    stubborn = make.item(org.county_a, org.off_a, report=report_2024, deadline_days=-40, status="in_progress")
    make.evidence(stubborn, org.off_a)
    waiting = make.item(org.county_a, org.off_a2, report=report_2024, status="pending_review")
    other_unit = make.item(org.county_b, org.off_b, report=make.report(org.county_b, 2024))
    deadline_before, evidence_before = stubborn.deadline, stubborn.evidence[0].id
    history_before = len(queries.item_history(stubborn))

    first = _roll(2024, make)
    assert first.to_json() == {"year": 2024, "carried": 4, "reports": 2, "created_reports": 2}
    drafts = db.session.scalars(select(Report).where(Report.year == 2025).order_by(Report.unit_id)).all()
    assert [(r.unit_id, r.is_draft) for r in drafts] == [(org.county_a.id, True), (org.county_b.id, True)]
    db.session.expire_all()
    for item in (later_closed, stubborn, waiting):
        assert (item.year, item.report_id, item.carried_over_from_year, item.carry_count) == (2025, drafts[0].id, 2024, 1)
    assert (other_unit.year, other_unit.report_id) == (2025, drafts[1].id)
    assert (closed.year, closed.report_id, closed.carry_count, closed.carried_over_from_year) == (2024, report_2024.id, 0, None)
    # Same item: same id, owner, evidence, status and deadline; still overdue; one more history row.
    assert stubborn.deadline == deadline_before and stubborn.is_overdue(make.today)
    assert (stubborn.owner_id, stubborn.status, stubborn.evidence[0].id) == (org.off_a.id, Status.in_progress, evidence_before)
    history = queries.item_history(stubborn)
    assert len(history) == history_before + 1 and history[-1].action.value == "carry_over"
    assert waiting.status is Status.pending_review

    before = _state()
    assert _roll(2024, make).to_json() == {"year": 2024, "carried": 0, "reports": 0, "created_reports": 0}
    assert _state() == before, "a second rollover changed something"

    # 2025: the year's own report is imported into the draft; one carried item is closed meanwhile.
    stored, new_items = importing.import_report(
        unit=org.county_a, year=2025, title="甲县局2025年度法治政府建设情况报告",
        drafts=[importing.Draft("执法力量不足", "执法力量不足，人员老化。", ["enforcement_capacity"], "")],
        actor=org.sup_a, now=make.now, filename="2025.docx", sha256=None, deadline=None,
    )
    db.session.commit()
    assert stored.id == drafts[0].id and not stored.is_draft and stored.title.startswith("甲县局2025")
    _close(make, later_closed, org.sup_a)

    second = _roll(2025, make)
    assert (second.carried, second.reports, second.created_reports) == (4, 2, 2)
    db.session.expire_all()
    assert (stubborn.year, stubborn.carried_over_from_year, stubborn.carry_count) == (2026, 2025, 2)
    assert (waiting.carry_count, other_unit.carry_count, new_items[0].carry_count) == (2, 2, 1)
    assert (later_closed.year, later_closed.carry_count, later_closed.status) == (2025, 1, Status.closed)
    assert (closed.year, closed.carry_count) == (2024, 0)
    assert db.session.scalar(select(func.count(CarryOver.id)).where(CarryOver.item_id == closed.id)) == 0
    assert [c.from_year for c in db.session.scalars(select(CarryOver).where(CarryOver.item_id == stubborn.id)
                                                    .order_by(CarryOver.id))] == [2024, 2025]

    before = _state()
    assert _roll(2025, make).carried == 0
    assert _state() == before
    assert _roll(2026, make).carried == 4  # and the year after, the count goes on
    db.session.expire_all()
    assert stubborn.carry_count == 3


def test_items_without_a_report_are_carried_too(make, org):
    """Nothing is lost: an item entered by hand for the year is carried like a report's."""
    loose = make.item(org.team_a, org.off_team, year=2024)
    assert _roll(2024, make).carried == 1
    db.session.expire_all()
    draft = db.session.get(Report, loose.report_id)
    assert (loose.year, draft.unit_id, draft.year, draft.is_draft) == (2025, org.team_a.id, 2025, True)
    assert draft.title == "甲大队2025年度整改事项（含上年度遗留问题）"


def test_an_existing_report_of_next_year_receives_the_items(make, org):
    make.report(org.county_a, 2024)
    imported = make.report(org.county_a, 2025)
    item = make.item(org.county_a, org.off_a, year=2024)
    result = _roll(2024, make)
    assert (result.reports, result.created_reports) == (1, 0)
    db.session.expire_all()
    assert item.report_id == imported.id


def test_a_supervisor_rolls_over_only_their_units(make, org):
    in_a = make.item(org.team_a, org.off_team, year=2024)
    in_b = make.item(org.county_b, org.off_b, year=2024)
    with pytest.raises(Forbidden):
        rollover.carry_over_year(2024, today=date(2025, 1, 1), now=make.now, actor=org.sup_a, unit=org.county_b)
    with pytest.raises(Forbidden):
        rollover.carry_over_year(2024, today=date(2025, 1, 1), now=make.now, actor=org.sup_a)  # all units: admins only
    with pytest.raises(Forbidden):
        rollover.carry_over_year(2024, today=date(2025, 1, 1), now=make.now, actor=org.off_a, unit=org.county_a)
    assert _roll(2024, make, actor=org.sup_a, unit=org.county_a, source="web").carried == 1
    db.session.expire_all()
    assert (in_a.year, in_b.year) == (2025, 2024)
    run = db.session.scalar(select(RolloverRun))
    assert (run.unit_id, run.actor_id, run.source.value, run.carried) == (org.county_a.id, org.sup_a.id, "web", 1)
    # A partial run is not the year's rollover: the scheduler's catch-up still owes the rest.
    assert rollover.year_end_due(date(2025, 1, 3)) == 2024


def test_bad_years_are_refused_in_words(make, org, today):
    for year in (1999, 2100):
        with pytest.raises(Invalid, match="结转年度应在2000至2099之间"):
            rollover.carry_over_year(year, today=today, now=make.now)
    current = make.item(org.county_a, org.off_a, year=today.year)
    for year in (today.year, today.year + 1):  # a year not over yet keeps its open work
        with pytest.raises(Invalid, match=f"{year}年度尚未结束，只能结转{today.year - 1}年度及以前的事项。"):
            rollover.carry_over_year(year, today=today, now=make.now)
    db.session.expire_all()
    assert (current.year, current.carry_count) == (today.year, 0)


def test_an_item_reopened_after_its_rollover_is_carried_the_next_year(make, org):
    """Nothing is stranded: a closed item reopened later, or a year nobody rolled over, comes along
    with the next rollover, and its count still says since when it is unfinished."""
    report = make.report(org.county_a, 2024)
    item = make.item(org.county_a, org.off_a, report=report, status="closed", supervisor=org.sup_a)
    assert _roll(2024, make).carried == 0
    workflow.perform(item, Action.reopen, org.sup_a, comment="复查发现问题反弹", now=make.now, today=make.today)
    db.session.commit()
    assert _roll(2025, make).carried == 1
    db.session.expire_all()
    assert (item.year, item.carry_count, item.carried_over_from_year) == (2026, 2, 2024)
    carry = db.session.scalar(select(CarryOver).where(CarryOver.item_id == item.id))
    assert (carry.from_year, carry.from_report_id) == (2024, report.id)
    assert "连续2年未完成" in _badges(item)


def test_two_rollovers_at_once_carry_each_item_once(app, make, org):
    for _ in range(30):
        make.item(org.county_a, org.off_a, year=2024)
    for _ in range(5):
        make.item(org.county_b, org.off_b, year=2024)
    def carry():
        carried = rollover.carry_over_year(2024, today=date(2025, 1, 1), now=datetime.now().astimezone(),
                                           source="cli").carried
        db.session.commit()
        return carried

    results, errors = at_once(app, 2, carry)
    assert not errors and sum(results) == 35
    assert db.session.scalar(select(func.count(CarryOver.id))) == 35
    assert db.session.scalar(select(func.count(Item.id)).where(Item.year == 2025, Item.carry_count == 1)) == 35
    assert db.session.scalar(select(func.count(Report.id)).where(Report.year == 2025)) == 2
    assert db.session.scalar(select(func.count(ItemEvent.id)).where(ItemEvent.action == "carry_over")) == 35


def test_an_edit_based_on_a_page_read_before_the_rollover_is_refused_not_lost(make, org):
    """The rollover bumps the item's version, so a form opened before it gets a 409, not a silent overwrite."""
    item = make.item(org.county_a, org.off_a, year=2024)
    stale_version = item.version
    _roll(2024, make)
    db.session.expire_all()
    from tracker.items import services

    with pytest.raises(Conflict):
        services.update_item(item, org.sup_a, {"measures": "新措施"}, now=make.now, today=make.today,
                             expected_version=stale_version)


def test_cli_rollover(app, make, org):
    make.item(org.county_a, org.off_a, year=2024)
    runner = app.test_cli_runner()
    first = runner.invoke(args=["tracker", "rollover", "--year", "2024"])
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout) == {"year": 2024, "carried": 1, "reports": 1, "created_reports": 1}
    again = runner.invoke(args=["tracker", "rollover", "--year", "2024"])
    assert json.loads(again.stdout)["carried"] == 0
    bad = runner.invoke(args=["tracker", "rollover", "--year", "1888"])
    assert bad.exit_code == 1 and bad.stderr == "结转年度应在2000至2099之间。\n"
    assert runner.invoke(args=["tracker", "rollover"]).exit_code == 2
    assert runner.invoke(args=["tracker", "rollover", "--year", "去年"]).exit_code == 2


def test_the_scheduler_rolls_last_year_over_on_new_year_and_catches_up_in_january(app, make, org):
    make.item(org.county_a, org.off_a, year=2025)
    assert rollover.year_end_due(date(2026, 2, 1)) is None  # past January: left to people
    assert rollover.year_end_due(date(2026, 1, 1)) == 2025
    assert jobs.catch_up(date(2026, 1, 1)).carried == 1
    assert rollover.year_end_due(date(2026, 1, 20)) is None
    assert jobs.catch_up(date(2026, 1, 20)) is None
    assert jobs.year_end(date(2026, 1, 1)).carried == 0  # the 02:00 job after a catch-up: nothing left


def test_history_says_where_the_item_went(make, org, login):
    item = make.item(org.county_a, org.off_a, year=2024)
    _roll(2024, make)
    page = login(org.off_a).get(f"/items/{item.id}").get_data(as_text=True)
    assert "年度结转" in page and "未在2024年度完成，结转至2025年度继续整改（上年度遗留）" in page
    assert "上年度遗留" in page and "已结转 1 次" in page


def test_badges_wherever_items_are_listed(make, org, login, today):
    once = make.item(org.county_a, org.off_a, year=2024, title="遗留一年", deadline_days=-3)
    twice = make.item(org.county_a, org.off_a, year=2023, title="遗留两年", deadline_days=-3)
    make.item(org.county_a, org.off_a, year=2025, title="今年的问题", deadline_days=-3)
    _roll(2023, make)
    _roll(2024, make)
    db.session.expire_all()
    assert (once.carry_count, twice.carry_count) == (1, 2)
    official, supervisor = login(org.off_a), login(org.sup_a)
    pages = {"/items": supervisor, "/my": official, "/overdue": supervisor, f"/items/{twice.id}": official}
    for url, client in pages.items():
        page = client.get(url).get_data(as_text=True)
        assert "连续2年未完成" in page, url
        if url != f"/items/{twice.id}":
            assert page.count("上年度遗留") == 1, url  # the item carried once; not the one of this year
    _close(make, twice, org.sup_a)
    workflow.perform(once, Action.start, org.off_a, now=make.now, today=today)
    make.evidence(once, org.off_a)
    workflow.perform(once, Action.submit, org.off_a, summary="完成", now=make.now, today=today)
    db.session.commit()
    review = supervisor.get("/review").get_data(as_text=True)
    assert "上年度遗留" in review
    # Once closed it is no longer "unfinished", but it stays a carried-over item.
    closed_page = official.get(f"/items/{twice.id}").get_data(as_text=True)
    assert "连续2年未完成" not in closed_page and "上年度遗留" in closed_page


def test_rollover_button(make, org, login, today):
    make.item(org.team_a, org.off_team, year=today.year - 1)
    make.item(org.county_b, org.off_b, year=today.year - 1)
    sup_a = login(org.sup_a)
    page = sup_a.get("/reports").get_data(as_text=True)
    assert "年度结转" in page and "全部单位" not in page and "乙县局" not in page
    refused = sup_a.post("/reports/rollover", data={"year": today.year - 1, "unit": str(org.county_b.id)})
    assert refused.status_code == 403 and "您只能结转督办范围内单位的事项。" in refused.get_data(as_text=True)
    assert sup_a.post("/reports/rollover", data={"year": today.year - 1, "unit": ""}).status_code == 403
    for bad in ({"year": "去年", "unit": ""}, {"year": "1999", "unit": ""}, {"year": "", "unit": ""},
                {"year": today.year - 1, "unit": "x"}, {"year": today.year - 1, "unit": "²"},
                {"year": today.year - 1, "unit": "99999999999999999999"},
                {"year": today.year, "unit": str(org.county_a.id)}):
        response = sup_a.post("/reports/rollover", data=bad)
        assert response.status_code == 422, bad
    assert db.session.scalar(select(func.count(CarryOver.id))) == 0
    done = sup_a.post("/reports/rollover", data={"year": today.year - 1, "unit": str(org.county_a.id)},
                      follow_redirects=True)
    text = done.get_data(as_text=True)
    assert f"已将{today.year - 1}年度未销号的1个事项结转至{today.year}年度（1份报告，其中新建草稿1份）。" in text
    assert "草稿" in text and org.sup_a.display_name in text.split('id="rollover-runs"')[1]
    again = sup_a.post("/reports/rollover", data={"year": today.year - 1, "unit": str(org.county_a.id)},
                       follow_redirects=True)
    assert "没有需要结转的事项" in again.get_data(as_text=True)
    assert login(org.off_a).post("/reports/rollover", data={"year": 2024, "unit": ""}).status_code == 403
    admin = login(org.admin)
    assert "全部单位" in admin.get("/reports").get_data(as_text=True)
    assert admin.post("/reports/rollover", data={"year": today.year - 1, "unit": ""}).status_code == 302
    assert db.session.scalar(select(func.count(Item.id)).where(Item.year == today.year - 1)) == 0


def test_report_page_lists_found_and_carried_problems_with_counts(make, org, login):
    report_2024 = make.report(org.county_a, 2024)
    gone_on = make.item(org.county_a, org.off_a, report=report_2024, title="未完成的问题", status="in_progress")
    make.item(org.county_a, org.off_a, report=report_2024, title="已销号的问题", status="closed", supervisor=org.sup_a)
    _roll(2024, make)
    report_2025 = db.session.scalar(select(Report).where(Report.year == 2025))
    make.item(org.county_a, org.off_a, report=report_2025, title="新发现的问题")
    supervisor = login(org.sup_a)

    page_2024 = supervisor.get(f"/reports/{org.county_a.id}/2024").get_data(as_text=True)
    found = page_2024.split('id="found-table"')[1].split("</table>")[0]
    assert "未完成的问题" in found and "已销号的问题" in found and "已结转至2025年度" in found
    assert 'data-status="closed">已销号 1<' in page_2024 and 'data-status="in_progress">整改中 1<' in page_2024
    assert "已结转下一年度 1" in page_2024 and "共 2 个问题" in page_2024

    page_2025 = supervisor.get(f"/reports/{org.county_a.id}/2025").get_data(as_text=True)
    found = page_2025.split('id="found-table"')[1].split("</table>")[0]
    carried = page_2025.split('id="carried-table"')[1].split("</table>")[0]
    assert "新发现的问题" in found and "未完成的问题" not in found
    assert "未完成的问题" in carried and "上年度遗留" in carried and f'data-item-id="{gone_on.id}"' in carried
    assert "共 2 个问题" in page_2025 and "上年度遗留 1" in page_2025

    listing = supervisor.get("/reports").get_data(as_text=True)
    row = listing.split(f'data-report-id="{report_2024.id}"')[1].split("</tr>")[0]
    assert [int(n) for n in re.findall(r"<td[^>]*>(\d+)</td>", row)] == [2024, 2, 1, 1]  # year, problems, closed, carried on
    row = listing.split(f'data-report-id="{report_2025.id}"')[1].split("</tr>")[0]
    assert [int(n) for n in re.findall(r"<td[^>]*>(\d+)</td>", row)] == [2025, 2, 0, 0]

    assert supervisor.get(f"/reports/{org.county_a.id}/2030").status_code == 404
    assert login(org.sup_b).get(f"/reports/{org.county_a.id}/2024").status_code == 404
    assert supervisor.get(f"/reports/{org.county_a.id}/99999").status_code == 404
    assert supervisor.get("/reports/99999999999/2024").status_code == 404
    # An official sees the report of their own unit, with only what they may see.
    assert login(org.off_a).get(f"/reports/{org.county_a.id}/2024").status_code == 200
    assert login(org.off_b).get(f"/reports/{org.county_a.id}/2024").status_code == 404


def test_report_page_statements_do_not_grow_with_items(make, org, login):
    report = make.report(org.county_a, 2024)
    supervisor = login(org.sup_a)

    def statements() -> int:
        with StatementCounter(db.engine) as counted:
            assert supervisor.get(f"/reports/{org.county_a.id}/2024").status_code == 200
        return counted.count

    make.item(org.county_a, org.off_a, report=report)
    few = statements()
    for _ in range(15):
        make.item(org.county_a, org.off_a2, report=report, categories=("legal_publicity", "other"))
    assert statements() == few


def test_import_of_the_year_after_a_draft_is_one_report(make, org):
    make.item(org.county_a, org.off_a, year=2024)
    _roll(2024, make)
    importing.import_report(
        unit=org.county_a, year=2025, title="甲县局2025年度报告",
        drafts=[importing.Draft("问题甲", "问题甲。", ["other"], "")], actor=None, now=make.now,
        filename="a.txt", sha256=None, deadline=None,
    )
    db.session.commit()
    reports = db.session.scalars(select(Report).where(Report.year == 2025)).all()
    assert len(reports) == 1 and reports[0].title == "甲县局2025年度报告" and not reports[0].is_draft
    assert len(reports[0].items) == 2


def test_evidence_and_deadline_survive_and_overdue_stays_overdue(make, org, today):
    item = make.item(org.county_a, org.off_a, year=2024, deadline_days=-100, status="in_progress")
    make.evidence(item, org.off_a, filename="照片.pdf")
    _roll(2024, make)
    db.session.expire_all()
    assert item.deadline == today - timedelta(days=100)
    assert queries.overdue_items(org.sup_a, today=today).total == 1
    assert db.session.scalar(select(Evidence.filename).where(Evidence.item_id == item.id)) == "照片.pdf"


def test_reminders_name_carried_items_as_such(app, make, org, login, today):
    """The bell and the digest say 上年度遗留 too: they list items."""
    from tracker import clock
    from tracker.reminders import digest, rules
    from tracker.reminders import services as reminders
    from tracker.reminders.models import OutboxMessage

    make.item(org.county_a, org.off_a, year=2024, title="遗留的问题", deadline_days=-1)
    _roll(2024, make)
    reminders.run_pass(today, make.now, rules.current_rule(app.config), clock.local_zone())
    db.session.commit()
    reminders.drain(app.config)
    message = db.session.scalar(select(OutboxMessage).where(OutboxMessage.recipient_id == org.off_a.id).limit(1))
    assert "【上年度遗留】遗留的问题" in digest.text(message.payload, "主题", "http://tracker.local")
    page = login(org.off_a).get("/notifications").get_data(as_text=True)
    assert "遗留的问题" in page and "carried-badge" in page and "上年度遗留" in page


def test_the_api_lists_a_report_with_the_items_it_carried_on_as_the_page_does(make, org, api):
    # The bug this fixes: GET /api/v1/reports/<id> left out the items a report had carried on to
    # the next year, while its page listed them.
    report_2024 = make.report(org.county_a, 2024)
    gone_on = make.item(org.county_a, org.off_a, report=report_2024, title="未完成的问题", status="in_progress")
    closed = make.item(org.county_a, org.off_a, report=report_2024, title="已销号的问题", status="closed",
                       supervisor=org.sup_a)
    _roll(2024, make)
    report_2025 = db.session.scalar(select(Report).where(Report.year == 2025))
    found_2025 = make.item(org.county_a, org.off_a, report=report_2025, title="新发现的问题")
    supervisor = api(org.sup_a)

    one = supervisor.get(f"/reports/{report_2024.id}").json
    assert [item["id"] for item in one["items"]] == [gone_on.id, closed.id]
    assert one["items"][0]["report_id"] == report_2025.id and one["items"][0]["year"] == 2025
    later = supervisor.get(f"/reports/{report_2025.id}").json
    assert [item["id"] for item in later["items"]] == [gone_on.id, found_2025.id]
    listing = {r["id"]: [item["id"] for item in r["items"]] for r in supervisor.get("/reports").json["reports"]}
    assert listing == {report_2024.id: [gone_on.id, closed.id], report_2025.id: [gone_on.id, found_2025.id]}
    # Another county's supervisor sees neither.
    assert api(org.sup_b).get(f"/reports/{report_2024.id}").status_code == 404
