"""Event notifications (CONTRACT.md's kinds): who hears of each change, on which channels, once;
the notifications API; the bell's pages; pruning."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tracker.extensions import db
from tracker.items import services, workflow
from tracker.items.workflow import Action
from tracker.reminders import services as reminder_services
from tracker.reminders.models import Channel, MessageKind, MessageStatus, Notification, OutboxMessage


def _heard(user, kind: str) -> list[Notification]:
    return list(db.session.scalars(select(Notification).where(Notification.user_id == user.id, Notification.kind == kind)))


def _mail(user) -> list[OutboxMessage]:
    return list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.recipient_id == user.id,
                                                               OutboxMessage.kind == MessageKind.event)))


def _perform(make, item, action, actor, **kw):
    workflow.perform(item, action, actor, now=make.now, today=make.today, **kw)
    db.session.commit()


@pytest.fixture
def channels(org):
    for user in (org.off_a, org.sup_a, org.city_sup):
        user.notify_channels = "inapp,email"
    db.session.commit()


def test_the_owner_hears_of_an_assignment_and_the_reviewers_of_a_submission(org, make, channels):
    item = make.item(org.county_a, None)
    services.update_item(item, org.sup_a, {"owner": org.off_a}, now=make.now, today=make.today)
    db.session.commit()
    assigned = _heard(org.off_a, "assigned")
    assert len(assigned) == 1 and assigned[0].item_id == item.id and "分派给您" in assigned[0].title
    assert _heard(org.sup_a, "assigned") == []  # not the one who did it
    make.advance(item, "pending_review")
    submitted = _heard(org.sup_a, "submitted")
    assert len(submitted) == 1 and "已完成整改" in submitted[0].body  # the summary
    assert _heard(org.city_sup, "submitted") == []  # the unit's own supervisors review first
    assert _mail(org.sup_a) == [] and _mail(org.off_a) == []  # digest kinds: the bell only, by default


@pytest.mark.parametrize("action, kind", [(Action.return_, "returned"), (Action.approve, "approved")])
def test_the_owner_hears_the_review_and_a_return_reaches_his_mail_at_once(org, make, channels, action, kind):
    item = make.item(org.county_a, org.off_a, status="pending_review", supervisor=org.sup_a)
    _perform(make, item, action, org.sup_a, comment="请补充会议纪要")
    heard = _heard(org.off_a, kind)
    assert len(heard) == 1 and heard[0].item_id == item.id
    mail = _mail(org.off_a)
    if kind == "returned":
        assert [(m.channel, m.status) for m in mail] == [(Channel.email, MessageStatus.pending)]
        assert "请补充会议纪要" in heard[0].body and "请补充会议纪要" in mail[0].payload["sections"][0]["items"][0]["reason"]
    else:
        assert mail == []


def test_extension_requests_and_decisions_reach_the_other_side(org, make, channels):
    item = make.item(org.county_a, org.off_a, status="in_progress")
    _perform(make, item, Action.request_extension, org.off_a, deadline=item.deadline + timedelta(days=30),
             comment="需要更多时间")
    assert len(_heard(org.sup_a, "extension_requested")) == 1
    _perform(make, item, Action.reject_extension, org.sup_a, comment="不同意")
    assert len(_heard(org.off_a, "extension_rejected")) == 1 and len(_mail(org.off_a)) == 1
    closed = make.item(org.county_a, org.off_a, status="closed", supervisor=org.sup_a)
    _perform(make, closed, Action.reopen, org.sup_a, comment="复查发现问题")
    assert len(_heard(org.off_a, "reopened")) == 1


def test_each_event_is_one_message_whatever_the_drains(app, org, make, channels):
    item = make.item(org.county_a, org.off_a, status="pending_review", supervisor=org.sup_a)
    _perform(make, item, Action.return_, org.sup_a, comment="退回一")
    workflow.perform(item, Action.submit, org.off_a, now=make.now, today=make.today, summary="再次提交")
    db.session.commit()
    _perform(make, item, Action.return_, org.sup_a, comment="退回二")
    keys = [m.key for m in _mail(org.off_a)]
    assert len(keys) == 2 and len(set(keys)) == 2  # two returns, two messages, each its own key
    first = reminder_services.drain(app.config, channels={Channel.email}, seconds=5)
    again = reminder_services.drain(app.config, channels={Channel.email}, seconds=5)
    assert first.done == 2 and again.done == 0  # settled once (no mail server here: not sent, not lost)


def test_the_api_lists_and_marks_notifications(org, make, api):
    item = make.item(org.county_a, org.off_a, status="pending_review", supervisor=org.sup_a)
    _perform(make, item, Action.return_, org.sup_a, comment="请补充")
    client = api(org.off_a)
    listed = client.get("/notifications?unread=1").json
    kinds = [n["kind"] for n in listed["items"]]
    assert kinds[0] == "returned" and "assigned" in kinds and listed["total"] == len(kinds)
    first = listed["items"][0]
    assert set(first) == {"id", "at", "kind", "item_id", "title", "text", "read"} and first["item_id"] == item.id
    assert client.post("/notifications/read", json={"ids": [first["id"]]}).json == {"read": 1}
    assert first["id"] not in [n["id"] for n in client.get("/notifications?unread=1").json["items"]]
    assert api(org.sup_a).post("/notifications/read", json={"ids": [first["id"]]}).json == {"read": 0}  # not his
    assert client.post("/notifications/read", json={"all": True}).json["read"] == listed["total"] - 1
    assert client.post("/notifications/read", json={"ids": "x"}).status_code == 422


def test_the_bell_shows_pages_of_twenty_and_a_digest_s_first_lines(org, make, login):
    for n in range(25):
        make.item(org.county_a, org.off_a, title=f"事项{n}")
    page = login(org.off_a).get("/notifications").get_data(as_text=True)
    assert page.count('id="notification-') == 20 and "分页" in page
    second = login(org.off_a).get("/notifications?page=2").get_data(as_text=True)
    assert second.count('id="notification-') == 5
    db.session.add(Notification(user_id=org.off_a.id, title="【整改提醒】", payload={"sections": [{
        "key": "mine", "title": "您负责的整改事项", "items": [
            {"id": 1, "title": f"长清单{n}", "unit": "甲县局", "owner": None, "deadline": None, "light": "red",
             "reason": "已逾期", "carried": ""} for n in range(40)]}]}))
    db.session.commit()
    page = login(org.off_a).get("/notifications").get_data(as_text=True)
    assert "长清单4<" in page and "长清单5<" not in page and "等40项" in page and "查看完整清单" in page


def test_old_notifications_and_sent_messages_are_pruned_pending_ones_kept(app, org, make, now):
    from tracker import housekeeping

    old = now - timedelta(days=200)
    db.session.add_all([
        Notification(user_id=org.off_a.id, title="旧", created_at=old),
        Notification(user_id=org.off_a.id, title="新", created_at=now),
        OutboxMessage(recipient_id=org.off_a.id, channel=Channel.email, day=old.date(), subject="旧的已发",
                      status=MessageStatus.sent, created_at=old),
        OutboxMessage(recipient_id=org.off_a.id, channel=Channel.email, day=old.date(), key="k", subject="旧的待发",
                      status=MessageStatus.pending, created_at=old),
    ])
    db.session.commit()
    result = housekeeping.run()
    assert (result["notifications"], result["outbox_messages"]) == (1, 1)
    assert [n.title for n in db.session.scalars(select(Notification))] == ["新"]
    assert db.session.scalar(select(func.count(OutboxMessage.id))) == 1  # the pending one waits


def _pass(app, make, days: int = 1):
    from zoneinfo import ZoneInfo

    from tracker.reminders import rules

    return reminder_services.run_pass(make.today + timedelta(days=days), make.now + timedelta(days=days),
                                      rules.current_rule(app.config), ZoneInfo("Asia/Shanghai"))


def _digests(user, channel) -> list[OutboxMessage]:
    return list(db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.recipient_id == user.id, OutboxMessage.channel == channel,
        OutboxMessage.kind == MessageKind.digest)))


def test_kinds_sent_later_by_default_come_once_in_the_next_daily_digest_not_on_the_bell_twice(app, org, make, channels):
    item = make.item(org.county_a, org.off_a, deadline_days=90)
    make.advance(item, "pending_review")  # 提交销号: the supervisor's mail waits for the digest
    db.session.commit()
    assert _mail(org.sup_a) == []
    _pass(app, make)
    mail = _digests(org.sup_a, Channel.email)
    assert len(mail) == 1 and "1条整改动态" in mail[0].subject
    section = mail[0].payload["sections"][-1]
    assert section["title"] == "近期动态" and [i["id"] for i in section["items"]] == [item.id]
    assert section["items"][0]["reason"].startswith("待您审核：")
    assert _digests(org.sup_a, Channel.inapp) == []  # the bell had it at once: no second bell line
    _pass(app, make, days=2)
    assert len(_digests(org.sup_a, Channel.email)) == 1  # the next day's pass does not tell it again


def test_a_person_chooses_per_channel_what_is_sent_at_once(app, org, make, login, channels):
    org.sup_a.notify_channels = "inapp,email,wecom"
    db.session.commit()
    page = login(org.sup_a).get("/profile").get_data(as_text=True)
    assert 'value="email:returned"' in page and 'value="wecom:submitted"' in page and "通知时机" in page
    client = login(org.sup_a)
    answer = client.post("/profile/at-once", data={"at_once": ["email:submitted", "wecom:urged", "bogus:x"]},
                         follow_redirects=True)
    assert "通知时机已保存" in answer.get_data(as_text=True)
    db.session.refresh(org.sup_a)
    assert reminder_services.at_once_channels(org.sup_a, "submitted") == [Channel.email]
    assert reminder_services.at_once_channels(org.sup_a, "extension_requested") == []
    item = make.item(org.county_a, org.off_a, deadline_days=90)
    make.advance(item, "pending_review")
    db.session.commit()
    assert [m.channel for m in _mail(org.sup_a)] == [Channel.email]  # at once by mail, not to the group
    _pass(app, make)
    wecom = _digests(org.sup_a, Channel.wecom)
    assert len(wecom) == 1 and wecom[0].payload["sections"][-1]["title"] == "近期动态"
    assert _digests(org.sup_a, Channel.email) == []  # mail had it at once; nothing else was owed


def test_an_official_who_wants_returns_only_in_the_digest_gets_no_mail_at_once(app, org, make, login, channels):
    login(org.off_a).post("/profile/at-once", data={"at_once": []})
    db.session.refresh(org.off_a)
    item = make.item(org.county_a, org.off_a, status="pending_review", supervisor=org.sup_a)
    _perform(make, item, Action.return_, org.sup_a, comment="请补充照片")
    assert len(_heard(org.off_a, "returned")) == 1 and _mail(org.off_a) == []  # the bell still has it
    _pass(app, make)
    lines = [i["reason"] for m in _digests(org.off_a, Channel.email) for s in m.payload["sections"]
             if s["title"] == "近期动态" for i in s["items"]]
    assert any("请补充照片" in line for line in lines)


def test_a_minutes_events_reach_a_work_group_as_one_post(app, org, make):
    """Three supervisors of 甲县局 in its WeCom group: a submission is posted once, with the
    return of another item in the same minute; nothing goes before the minute has ended."""
    from tests.servers import RobotServer
    from tracker.reminders.models import ChatRobot

    app.config["ROBOT_ALLOWED_HOSTS"] = "127.0.0.1"
    second = make.user("sup_a2", "supervisor", org.county_a, name="副局长")
    for person in (org.sup_a, second, org.off_a):
        person.notify_channels = "inapp,wecom"
        person.notify_at_once = {"wecom": ["submitted", "returned"]}
    db.session.commit()
    submitted = make.item(org.county_a, org.off_a, title="普法台账不全", deadline_days=90)
    returned = make.item(org.county_a, org.off_a, title="案卷归档滞后", status="pending_review", supervisor=org.sup_a)
    with RobotServer() as server:
        db.session.add(ChatRobot(unit_id=org.county_a.id, kind=Channel.wecom, name="甲县局群",
                                 url=server.url + "/cgi-bin/webhook/send?key=k"))
        db.session.commit()
        make.advance(submitted, "pending_review")
        workflow.perform(returned, Action.return_, org.sup_a, now=make.now, today=make.today, comment="补充卷宗目录")
        db.session.commit()
        waiting = list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.channel == Channel.wecom)))
        assert len(waiting) == 5  # two submissions to two reviewers each, the return to its owner
        assert reminder_services.drain(app.config, clock=lambda: make.now, seconds=5).done == 0  # the minute is on
        later = make.now.replace(second=0, microsecond=0) + timedelta(minutes=1, seconds=1)
        result = reminder_services.drain(app.config, clock=lambda: later, seconds=5)
        assert result.sent == 5 and len(server.requests) == 1
        content = server.requests[0][2]["markdown"]["content"]
        assert content.count("普法台账不全") == 1 and content.count("案卷归档滞后") == 2  # submitted, then returned
        assert "补充卷宗目录" in content and "【整改动态】3条" in content
        assert reminder_services.drain(app.config, clock=lambda: later, seconds=5).done == 0
        assert len(server.requests) == 1


def _trigger(kind, make, org):
    """Bring about one event of ``kind`` on a fresh item; who should hear of it."""
    from tracker.items.models import UrgeLevel
    from tracker.urging import services as urging

    later = make.today + timedelta(days=60)
    if kind == "assigned":
        item = make.item(org.county_a, None)
        services.update_item(item, org.sup_a, {"owner": org.off_a}, now=make.now, today=make.today)
        return org.off_a
    if kind == "submitted":
        make.item(org.county_a, org.off_a, status="pending_review")
        return org.sup_a
    if kind in ("returned", "approved"):
        item = make.item(org.county_a, org.off_a, status="pending_review")
        workflow.perform(item, Action.return_ if kind == "returned" else Action.approve, org.sup_a, now=make.now,
                         today=make.today, comment="意见")
        return org.off_a
    if kind == "reopened":
        item = make.item(org.county_a, org.off_a, status="closed", supervisor=org.sup_a)
        workflow.perform(item, Action.reopen, org.sup_a, now=make.now, today=make.today, comment="复查发现问题")
        return org.off_a
    item = make.item(org.county_a, org.off_a, status="in_progress")
    if kind == "urged":
        urging.issue(item, org.sup_a, UrgeLevel.notice, now=make.now, today=make.today)
        return org.off_a
    workflow.perform(item, Action.request_extension, org.off_a, now=make.now, today=make.today, deadline=later,
                     comment="需要时间")
    if kind == "extension_requested":
        return org.sup_a
    decision = Action.approve_extension if kind == "extension_approved" else Action.reject_extension
    workflow.perform(item, decision, org.sup_a, now=make.now, today=make.today)
    return org.off_a


@pytest.mark.parametrize("kind", ["assigned", "submitted", "returned", "approved", "reopened", "extension_requested",
                                  "extension_approved", "extension_rejected", "urged"])
def test_every_kind_reaches_the_bell_at_once_and_mail_at_once_only_by_default_or_choice(org, make, channels, kind):
    heard_by = _trigger(kind, make, org)
    db.session.commit()
    told = _heard(heard_by, kind)
    assert len(told) == 1 and told[0].read_at is None
    mail = [m for m in db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.recipient_id == heard_by.id, OutboxMessage.kind.in_([MessageKind.event, MessageKind.urge])))]
    default_now = kind in ("returned", "urged", "extension_approved", "extension_rejected")  # CONTRACT.md
    assert [m.channel for m in mail] == ([Channel.email] if default_now else [])


def test_what_went_at_once_is_not_listed_again_when_the_choice_changes_before_the_digest(app, org, make, channels):
    item = make.item(org.county_a, org.off_a, status="pending_review", supervisor=org.sup_a)
    _perform(make, item, Action.return_, org.sup_a, comment="补充材料")
    assert [m.channel for m in _mail(org.off_a)] == [Channel.email]  # at once, by default
    reminder_services.set_at_once(org.off_a, [])  # later that day: nothing at once any more
    assigned_later = make.item(org.county_a, None)
    reminder_services.set_at_once(org.off_a, ["email:assigned"])  # and then assignments at once
    services.update_item(assigned_later, org.sup_a, {"owner": org.off_a}, now=make.now, today=make.today)
    db.session.commit()
    _pass(app, make)
    listed = [(i["id"], i["reason"]) for m in _digests(org.off_a, Channel.email) for s in m.payload["sections"]
              if s["title"] == "近期动态" for i in s["items"]]
    assert (item.id, "分派给您：由系统操作") in listed  # its assignment at creation waited for the digest
    assert not any("补充材料" in reason for _, reason in listed)  # the return was mailed already: not twice
    assert all(item_id != assigned_later.id for item_id, _ in listed)  # mailed at once too


def test_a_busy_minute_goes_to_a_group_in_posts_of_ten_lines(app, org, make):
    from tests.servers import RobotServer
    from tracker.reminders.models import ChatRobot

    app.config["ROBOT_ALLOWED_HOSTS"] = "127.0.0.1"
    org.off_a.notify_channels = "inapp,wecom"
    db.session.commit()
    items = [make.item(org.county_a, org.off_a, status="pending_review", supervisor=org.sup_a) for _ in range(15)]
    with RobotServer() as server:
        db.session.add(ChatRobot(unit_id=org.county_a.id, kind=Channel.wecom, url=server.url + "/send?key=k"))
        db.session.commit()
        for item in items:
            workflow.perform(item, Action.return_, org.sup_a, now=make.now, today=make.today, comment="补充")
        db.session.commit()
        later = make.now.replace(second=0, microsecond=0) + timedelta(minutes=1, seconds=1)
        result = reminder_services.drain(app.config, clock=lambda: later, seconds=10)
        posted = [body["markdown"]["content"] for _path, _query, body in server.requests]
    assert result.sent == 15 and len(posted) == 2  # 10 lines, then 5: every line shown, none cut
    assert sum(p.count("补充") for p in posted) == 15 and not any("未列出" in p for p in posted)
