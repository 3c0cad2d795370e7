"""The reminder pass: who hears about what, on which day (before, on and after the deadline,
escalation, review waits, catch-up after missed days, working days), and that a pass written
twice or at once writes each reminder once."""

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from tests.conftest import at_once
from tracker.extensions import db
from tracker.items.models import ExtensionRequest, ItemEvent
from tracker.items.workflow import Action, perform
from tracker.reminders import rules, services
from tracker.reminders.models import Channel, OutboxMessage, ReminderPass

D = date(2027, 3, 10)  # a Wednesday
ZONE = ZoneInfo("Asia/Shanghai")
NOW = datetime(2027, 3, 10, 1, 0, tzinfo=UTC)


def run(app, day: date, **changes):
    rule = replace(rules.current_rule(app.config), **changes)
    result = services.run_pass(day, NOW, rule, ZONE)
    db.session.commit()
    return result


def owed(day: date, channel: Channel = Channel.inapp) -> dict[str, dict[str, list[str]]]:
    """{username: {section: [item titles]}} of the messages a pass wrote for ``day``."""
    found = {}
    for message in db.session.scalars(select(OutboxMessage).where(OutboxMessage.day == day, OutboxMessage.channel == channel)):
        found[message.recipient.username] = {s["key"]: [i["title"] for i in s["items"]] for s in message.payload["sections"]}
    return found


def item_due(make, org, deadline: date, title: str = "事项", owner=None, unit=None):
    return make.item(unit or org.county_a, owner if owner is not None else org.off_a,
                     deadline_days=(deadline - make.today).days, title=title)


# Before, on and after the deadline, with the default rule: 7,3,1,0 days before; every 3 days
# overdue; supervisors from 1 day overdue (repeating every 3 days too).
@pytest.mark.parametrize(("offset", "owner_told", "supervisor_told"), [
    (8, False, False),
    (7, True, False),
    (5, False, False),
    (3, True, False),
    (1, True, False),
    (0, True, False),   # on the day itself
    (-1, True, True),   # overdue day 1: the owner again, and the unit's supervisors
    (-2, False, False),
    (-3, False, False),
    (-4, True, True),   # every 3 days while overdue
    (-7, True, True),
    (-8, False, False),
])
def test_who_is_told_on_each_day_around_the_deadline(app, make, org, offset, owner_told, supervisor_told):
    item_due(make, org, D + timedelta(days=offset), "执法案卷不规范")
    run(app, D)
    told = owed(D)
    assert ("mine" in told.get("off_a", {})) is owner_told
    assert ("escalated" in told.get("sup_a", {})) is supervisor_told
    assert "city_sup" not in told  # the nearest unit with supervisors, not every one above it


def test_the_day_itself_is_always_a_reminder_day(app, make, org):
    item_due(make, org, D, "今天到期")
    run(app, D, days_before=(7, 3))  # an admin left 0 out of the list
    assert owed(D)["off_a"]["mine"] == ["今天到期"]


def test_a_digest_lists_all_of_an_owners_items_once(app, make, org):
    for offset, title in [(7, "普法宣传不到位"), (3, "以罚代管"), (0, "案卷质量差"), (-1, "执法力量不足"), (20, "还早")]:
        item_due(make, org, D + timedelta(days=offset), title)
    run(app, D)
    messages = db.session.scalars(select(OutboxMessage).where(OutboxMessage.recipient_id == org.off_a.id)).all()
    assert sorted(m.channel.value for m in messages) == ["email", "inapp"]  # one per channel, never one per item
    mine = owed(D)["off_a"]["mine"]
    assert sorted(mine) == sorted(["普法宣传不到位", "以罚代管", "案卷质量差", "执法力量不足"])
    entry = {i["title"]: i for s in messages[0].payload["sections"] for i in s["items"]}
    assert entry["执法力量不足"]["light"] == "red" and entry["执法力量不足"]["days_left"] == -1
    assert entry["以罚代管"]["light"] == "yellow" and entry["以罚代管"]["reason"] == "剩余3天"
    assert entry["案卷质量差"]["reason"] == "今天到期"


def test_escalation_goes_to_the_nearest_unit_upward_that_has_supervisors(app, make, org):
    item_due(make, org, D - timedelta(days=1), "大队的问题", owner=org.off_team, unit=org.team_a)
    item_due(make, org, D - timedelta(days=1), "乙县的问题", owner=org.off_b, unit=org.county_b)
    run(app, D)
    told = owed(D)
    assert told["sup_a"]["escalated"] == ["大队的问题"]  # 甲大队 has no supervisor: 甲县局's
    assert told["sup_b"]["escalated"] == ["乙县的问题"]
    assert "city_sup" not in told


def test_escalation_waits_the_configured_days(app, make, org):
    item_due(make, org, D - timedelta(days=1), "刚逾期")
    item_due(make, org, D - timedelta(days=3), "逾期三天")
    run(app, D, escalate_after_days=3)
    told = owed(D)
    assert told["sup_a"]["escalated"] == ["逾期三天"]
    assert told["off_a"]["mine"] == ["刚逾期"]  # overdue day 3 is not an owner day (1, 4, 7…)


def test_an_item_without_owner_is_brought_to_the_supervisors(app, make, org):
    make.item(org.county_a, None, deadline_days=(D + timedelta(days=3) - make.today).days, title="无人认领")
    run(app, D)
    told = owed(D)
    assert told["sup_a"]["escalated"] == ["无人认领"]
    assert "无责任人" in db.session.scalar(select(OutboxMessage).where(OutboxMessage.recipient_id == org.sup_a.id)).payload[
        "sections"][0]["items"][0]["reason"]


def test_reviewers_hear_of_close_outs_and_extensions_that_waited(app, make, org, now):
    waited = item_due(make, org, D + timedelta(days=30), "等审核")
    make.advance(waited, "pending_review")
    fresh = item_due(make, org, D + timedelta(days=30), "刚提交")
    make.advance(fresh, "pending_review")
    asked = item_due(make, org, D + timedelta(days=30), "申请延期")
    perform(asked, Action.request_extension, org.off_a, now=now, today=make.today,
            deadline=D + timedelta(days=60), comment="需要更多时间")
    db.session.commit()
    three_days_ago = datetime(2027, 3, 7, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai, three days before D
    event = db.session.scalar(select(ItemEvent).where(ItemEvent.item_id == waited.id, ItemEvent.action == "submit"))
    event.at = three_days_ago
    db.session.scalar(select(ExtensionRequest).where(ExtensionRequest.item_id == asked.id)).requested_at = three_days_ago
    fresh_event = db.session.scalar(select(ItemEvent).where(ItemEvent.item_id == fresh.id, ItemEvent.action == "submit"))
    fresh_event.at = datetime(2027, 3, 9, 2, 0, tzinfo=UTC)
    db.session.commit()
    run(app, D)
    told = owed(D)
    assert sorted(told["sup_a"]["review"]) == ["申请延期", "等审核"]
    assert "off_a" not in told  # the owner waits for the reviewer; nothing to do meanwhile


def test_a_missed_day_is_caught_up_once(app, make, org):
    item_due(make, org, D + timedelta(days=5), "七天前那天停机了")  # its 7-days-before day is D-2
    run(app, D - timedelta(days=3))  # the last pass before the server went down
    run(app, D)  # D-2 and D-1 were missed
    assert owed(D)["off_a"]["mine"] == ["七天前那天停机了"]
    run(app, D + timedelta(days=1))
    assert owed(D + timedelta(days=1)) == {}  # not again the next day


def test_the_first_pass_ever_does_not_dig_up_the_past(app, make, org):
    item_due(make, org, D + timedelta(days=5), "五天后到期")
    run(app, D)
    assert owed(D) == {}


def test_the_same_pass_twice_writes_nothing_new(app, make, org):
    item_due(make, org, D, "今天到期")
    first = run(app, D)
    second = run(app, D)
    assert (first.messages, first.recipients) == (2, 1)
    assert (second.messages, second.recipients) == (0, 0)
    assert db.session.scalar(select(func.count(OutboxMessage.id))) == 2
    assert db.session.scalar(select(func.count(ReminderPass.id))) == 1


def test_two_passes_at_once_write_each_reminder_once(app, make, org):
    for n in range(5):
        owner, unit = [(org.off_a, org.county_a), (org.off_a2, org.county_a), (org.off_team, org.team_a)][n % 3]
        item_due(make, org, D + timedelta(days=n % 2), f"事项{n}", owner=owner, unit=unit)
    _, errors = at_once(app, 2, lambda: run(app, D))
    assert not errors
    keys = db.session.execute(select(OutboxMessage.recipient_id, OutboxMessage.channel)).all()
    assert len(keys) == len(set(keys)) == 6  # three owners × (bell, email)


# Working days ------------------------------------------------------------------------------

FRIDAY = date(2027, 3, 12)


def test_on_working_days_only_friday_covers_the_weekend(app, make, org):
    item_due(make, org, FRIDAY + timedelta(days=2), "周日到期")  # due on Sunday
    item_due(make, org, FRIDAY + timedelta(days=9), "下周日到期")  # its 7-days-before day is this Sunday
    run(app, FRIDAY, working_days_only=True)
    assert sorted(owed(FRIDAY)["off_a"]["mine"]) == ["下周日到期", "周日到期"]
    saturday = FRIDAY + timedelta(days=1)
    result = run(app, saturday, working_days_only=True)
    assert result.window is None and owed(saturday) == {}
    monday = FRIDAY + timedelta(days=3)
    run(app, monday, working_days_only=True)
    assert owed(monday)["off_a"]["mine"] == ["周日到期"]  # overdue day 1 falls on Monday itself
    assert run(app, monday, working_days_only=True).window == (monday, monday)


def test_holidays_and_make_up_working_days(app, make, org):
    monday = FRIDAY + timedelta(days=3)
    rules.set_calendar_day(monday, "holiday", "清明节")
    saturday = FRIDAY + timedelta(days=1)
    rules.set_calendar_day(date(2027, 3, 20), "workday", "调休上班")
    db.session.commit()
    item_due(make, org, monday, "清明节当天到期")
    run(app, FRIDAY, working_days_only=True)
    assert owed(FRIDAY)["off_a"]["mine"] == ["清明节当天到期"]  # told before the long weekend
    assert run(app, saturday, working_days_only=True).window is None
    make_up = run(app, date(2027, 3, 20), working_days_only=True)
    # A make-up Saturday is a working day: its pass owes from the day after Friday's window
    # (which ran through the Monday holiday) up to Sunday, the day before the next working day.
    assert make_up.window == (date(2027, 3, 16), date(2027, 3, 21))


def test_bad_rule_values_are_refused_in_plain_words(app, org):
    with pytest.raises(Exception) as refused:
        rules.update_settings(org.admin, days_before="七,三", overdue_repeat_days="3", escalate_after_days="1",
                              review_wait_days="3", remind_at="09:00", working_days_only=False)
    assert "逗号分隔的整数" in refused.value.message
    with pytest.raises(Exception) as refused:
        rules.update_settings(org.admin, days_before="7,3", overdue_repeat_days="0", escalate_after_days="1",
                              review_wait_days="3", remind_at="09:00", working_days_only=False)
    assert "逾期重复提醒间隔" in refused.value.message
    with pytest.raises(Exception) as refused:
        rules.update_settings(org.admin, days_before="7,3", overdue_repeat_days="3", escalate_after_days="1",
                              review_wait_days="3", remind_at="25:00", working_days_only=False)
    assert "时:分" in refused.value.message
    assert rules.settings_row() is None  # nothing half-written


def test_an_admins_settings_override_the_configuration(app, org):
    rules.update_settings(org.admin, days_before="10，5", overdue_repeat_days="2", escalate_after_days="0",
                          review_wait_days="5", remind_at="8:30", working_days_only=True)
    db.session.commit()
    rule = rules.current_rule(app.config)
    assert rule.days_before == (10, 5) and rule.overdue_repeat_days == 2 and rule.escalate_after_days == 0
    assert rule.remind_at == "08:30" and rule.working_days_only and rule.review_wait_days == 5
