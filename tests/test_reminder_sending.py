"""Sending reminders to real servers: an SMTP server (aiosmtpd) and local HTTP servers standing
in for the WeCom, DingTalk, Feishu and generic webhook endpoints. Nothing is mocked."""

import base64
import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from tests.conftest import at_once
from tests.servers import RobotServer, SMTPServer, free_port
from tracker.extensions import db
from tracker.items.models import Item
from tracker.reminders import jobs, rules, services
from tracker.reminders.models import (
    Channel,
    ChatRobot,
    DeliveryAttempt,
    MessageStatus,
    Notification,
    OutboxMessage,
)

D = date(2027, 3, 10)
ZONE = ZoneInfo("Asia/Shanghai")
ROOT = Path(__file__).resolve().parent.parent


def owners_with_items(make, org, count: int, channels: str, *, items_each: int = 1):
    """``count`` officials of 甲县局, each with items due on D, reminded by ``channels``."""
    people = []
    for n in range(count):
        person = make.user(f"owner{n}", "official", org.county_a, name=f"责任人{n}", email=f"owner{n}@example.gov.cn")
        person.notify_channels = channels
        for k in range(items_each):
            make.item(org.county_a, person, deadline_days=(D - make.today).days + (k % 2) * 3, title=f"整改事项{n}-{k}")
        people.append(person)
    db.session.commit()
    return people


def robot(kind: str, url: str, unit, secret: str = "") -> ChatRobot:
    found = ChatRobot(unit_id=unit.id, kind=Channel(kind), name=f"{kind}群", url=url, secret=secret)
    db.session.add(found)
    db.session.commit()
    return found


def statuses() -> dict[str, int]:
    rows = db.session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status))
    return {status.value: n for status, n in rows}


@pytest.fixture
def smtp(app):
    with SMTPServer() as server:
        app.config.update(server.config())
        yield server


@pytest.fixture
def robot_server(app):
    """A robot endpoint on this machine: on the intranet's addresses, so allowed by name, as an
    operator allows an intranet robot (TRACKER_ROBOT_ALLOWED_HOSTS)."""
    app.config["ROBOT_ALLOWED_HOSTS"] = "127.0.0.1"
    with RobotServer() as server:
        yield server


# Email -----------------------------------------------------------------------------------------

def test_a_digest_of_several_items_is_one_email_whose_chinese_decodes(app, make, org, smtp):
    owners_with_items(make, org, 1, "email,inapp", items_each=3)
    run = jobs.remind(D)
    assert run.to_json() | {"pending": 0} == {
        "date": "2027-03-10", "recipients": 1, "messages": 2, "sent": 2, "skipped": 0, "failed": 0, "unknown": 0, "pending": 0,
        "window": ["2027-03-10", "2027-03-10"],
    }
    assert len(smtp.messages) == 1
    mail = smtp.messages[0]
    assert mail.envelope_to == ["owner0@example.gov.cn"]
    assert str(mail["Subject"]).startswith("【整改提醒】3月10日：责任人0，您有3项整改事项需要关注")
    assert mail["From"].addresses[0].display_name == "整改跟踪系统"
    assert mail["To"].addresses[0].display_name == "责任人0"
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    for k in range(3):
        assert f"整改事项0-{k}" in text and f"整改事项0-{k}" in html
    assert "今天到期" in text and "剩余3天" in text
    first_item = db.session.scalar(select(func.min(Item.id)))
    assert f'href="http://127.0.0.1:5000/items/{first_item}"' in html


def test_the_same_pass_twice_sends_nothing_new(app, make, org, smtp):
    owners_with_items(make, org, 2, "email")
    first = jobs.remind(D).to_json()
    second = jobs.remind(D).to_json()
    assert (first["messages"], first["sent"]) == (2, 2)
    assert (second["recipients"], second["messages"], second["sent"], second["skipped"], second["failed"]) == (0, 0, 0, 0, 0)
    assert len(smtp.messages) == 2


def test_without_an_smtp_server_email_is_recorded_as_skipped_not_lost(app, make, org):
    owners_with_items(make, org, 1, "email,inapp")
    result = jobs.remind(D).to_json()
    assert (result["sent"], result["skipped"]) == (1, 1)
    message = db.session.scalar(select(OutboxMessage).where(OutboxMessage.channel == Channel.email))
    assert message.status is MessageStatus.skipped and "TRACKER_MAIL_SERVER" in message.last_error
    assert db.session.scalar(select(func.count(Notification.id)).where(Notification.kind == "reminder")) == 1  # the bell still rings


def test_smtp_down_is_retried_with_backoff_then_failed_with_the_reason(app, make, org):
    app.config.update({"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": free_port()})  # nothing listens there
    owners_with_items(make, org, 1, "email")
    services.run_pass(D, datetime.now(UTC), rules.current_rule(app.config), ZONE)
    db.session.commit()
    start = datetime.now(UTC)
    moments = [start, start + timedelta(seconds=30), start + timedelta(minutes=1, seconds=1), start + timedelta(minutes=7),
               start + timedelta(minutes=23), start + timedelta(minutes=84)]
    outcomes = [services.drain(app.config, clock=lambda t=t: t) for t in moments]
    assert [o.retry for o in outcomes] == [1, 0, 1, 1, 1, 0]  # the 30-second drain waits for the 1-minute backoff
    assert outcomes[-1].failed == 1
    message = db.session.scalar(select(OutboxMessage))
    assert message.status is MessageStatus.failed and message.attempts == 5
    assert "已尝试5次仍未成功" in message.last_error and "无法连接邮件服务器 127.0.0.1" in message.last_error
    log = db.session.scalars(select(DeliveryAttempt.outcome).order_by(DeliveryAttempt.id)).all()
    assert [o.value for o in log] == ["retry", "retry", "retry", "retry", "failed"]


def test_a_refused_address_fails_at_once_with_the_servers_words(app, make, org, smtp):
    smtp.handler.reply = "550 5.1.1 mailbox unavailable"
    owners_with_items(make, org, 1, "email")
    assert jobs.remind(D).to_json()["failed"] == 1
    message = db.session.scalar(select(OutboxMessage))
    assert message.attempts == 1 and "550" in message.last_error and "mailbox unavailable" in message.last_error


def test_a_passing_refusal_is_retried(app, make, org, smtp):
    smtp.handler.reply = "451 4.3.0 try again later"
    owners_with_items(make, org, 1, "email")
    jobs.remind(D)
    message = db.session.scalar(select(OutboxMessage))
    assert message.status is MessageStatus.pending and message.attempts == 1 and "451" in message.last_error
    smtp.handler.reply = "250 OK"
    services.drain(app.config, clock=lambda: datetime.now(UTC) + timedelta(minutes=2))
    assert len(smtp.messages) == 1 and db.session.scalar(select(OutboxMessage.status)) is MessageStatus.sent


# Work-chat robots ------------------------------------------------------------------------------

def test_wecom_gets_one_markdown_digest_and_its_errcode_is_checked(app, make, org, robot_server):
    robot(kind="wecom", url=robot_server.url + "/cgi-bin/webhook/send?key=abc", unit=org.city)  # found upward
    owners_with_items(make, org, 1, "wecom", items_each=2)
    assert jobs.remind(D).to_json()["sent"] == 1
    path, query, body = robot_server.requests[0]
    assert (path, query) == ("/cgi-bin/webhook/send", {"key": "abc"})
    assert body["msgtype"] == "markdown" and "整改事项0-0" in body["markdown"]["content"]
    assert "整改事项0-1" in body["markdown"]["content"]


def test_a_robot_answering_errcode_fails_with_the_reason(app, make, org, robot_server):
    robot_server.answer = {"errcode": 93000, "errmsg": "invalid webhook url"}
    robot(kind="wecom", url=robot_server.url + "/send?key=wrong", unit=org.county_a)
    owners_with_items(make, org, 1, "wecom")
    assert jobs.remind(D).to_json()["failed"] == 1  # HTTP 200, but the robot said no
    message = db.session.scalar(select(OutboxMessage))
    assert message.status is MessageStatus.failed
    assert message.last_error == "企业微信机器人返回错误 93000：invalid webhook url"


def test_a_busy_robot_is_retried(app, make, org, robot_server):
    robot_server.answer = {"errcode": 45009, "errmsg": "api freq out of limit"}
    robot(kind="wecom", url=robot_server.url + "/send?key=k", unit=org.county_a)
    owners_with_items(make, org, 1, "wecom")
    jobs.remind(D)
    assert db.session.scalar(select(OutboxMessage.status)) is MessageStatus.pending


def test_dingtalk_requests_are_signed(app, make, org, robot_server):
    secret = "SEC0123456789abcdef"
    robot(kind="dingtalk", url=robot_server.url + "/robot/send?access_token=t0k", unit=org.county_a, secret=secret)
    owners_with_items(make, org, 1, "dingtalk")
    assert jobs.remind(D).to_json()["sent"] == 1
    _, query, body = robot_server.requests[0]
    expected = base64.b64encode(
        hmac.new(secret.encode(), f"{query['timestamp']}\n{secret}".encode(), hashlib.sha256).digest()
    ).decode()
    assert query["access_token"] == "t0k" and query["sign"] == expected
    assert abs(int(query["timestamp"]) / 1000 - datetime.now(UTC).timestamp()) < 60
    assert body["msgtype"] == "markdown" and body["markdown"]["title"].startswith("【整改提醒】")


def test_feishu_requests_are_signed_and_its_code_is_checked(app, make, org, robot_server):
    secret = "feishu-secret"
    robot(kind="feishu", url=robot_server.url + "/open-apis/bot/v2/hook/x", unit=org.county_a, secret=secret)
    robot_server.answer = {"code": 19021, "msg": "sign match fail or timestamp is not within one hour from current time"}
    owners_with_items(make, org, 1, "feishu")
    assert jobs.remind(D).to_json()["failed"] == 1
    _, _, body = robot_server.requests[0]
    expected = base64.b64encode(hmac.new(f"{body['timestamp']}\n{secret}".encode(), b"", hashlib.sha256).digest()).decode()
    assert body["sign"] == expected and "整改事项0-0" in body["content"]["text"]
    assert "19021" in db.session.scalar(select(OutboxMessage.last_error))


def test_a_generic_webhook_gets_the_digest_as_json(app, make, org, robot_server):
    robot(kind="webhook", url=robot_server.url + "/hook", unit=org.county_a)
    robot_server.answer = {"ok": True}
    owners_with_items(make, org, 1, "webhook", items_each=2)
    jobs.remind(D)
    body = robot_server.requests[0][2]
    assert body["event"] == "tracker.reminder" and body["recipient"]["username"] == "owner0"
    assert [i["title"] for i in body["sections"][0]["items"]] == ["整改事项0-0", "整改事项0-1"]


def test_no_robot_for_the_unit_is_skipped_with_the_reason(app, make, org):
    owners_with_items(make, org, 1, "dingtalk")
    assert jobs.remind(D).to_json()["skipped"] == 1
    assert db.session.scalar(select(OutboxMessage.last_error)) == "本单位及上级单位均未配置钉钉机器人"


def test_a_robots_rate_limit_of_20_a_minute_is_kept(app, make, org, robot_server):
    robot(kind="wecom", url=robot_server.url + "/send?key=k", unit=org.county_a)
    owners_with_items(make, org, 25, "wecom")
    services.run_pass(D, datetime.now(UTC), rules.current_rule(app.config), ZONE)
    db.session.commit()
    start = datetime.now(UTC)
    first = services.drain(app.config, clock=lambda: start)
    assert (first.sent, first.deferred, len(robot_server.requests)) == (20, 5, 20)
    assert services.drain(app.config, clock=lambda: start + timedelta(seconds=30)).sent == 0
    later = services.drain(app.config, clock=lambda: start + timedelta(seconds=62))
    assert later.sent == 5 and len(robot_server.requests) == 25
    assert statuses() == {"sent": 25}


# Concurrency and crashes -----------------------------------------------------------------------

def test_two_senders_at_once_send_each_message_once(app, make, org, smtp):
    owners_with_items(make, org, 12, "email")
    services.run_pass(D, datetime.now(UTC), rules.current_rule(app.config), ZONE)
    db.session.commit()
    _, errors = at_once(app, 3, lambda: services.drain(app.config))
    assert not errors
    received = sorted(m.envelope_to[0] for m in smtp.messages)
    assert received == sorted(f"owner{n}@example.gov.cn" for n in range(12))
    assert statuses() == {"sent": 12}


def _remind_process(database_url: str, extra: dict, tmp_path) -> subprocess.Popen:
    env = {**os.environ, "TRACKER_DATABASE_URL": database_url, "TRACKER_SECRET_KEY": "test",
           "TRACKER_UPLOAD_DIR": str(tmp_path / "uploads"), **{f"TRACKER_{k}": str(v) for k, v in extra.items()}}
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "tracker", "remind", "--date", D.isoformat()],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def test_two_remind_processes_at_once_send_no_duplicate(app, make, org, smtp, database_url, tmp_path):
    owners_with_items(make, org, 8, "email,inapp")
    processes = [_remind_process(database_url, smtp.config(), tmp_path) for _ in range(2)]
    outputs = [p.communicate(timeout=120) for p in processes]
    assert all(p.returncode == 0 for p in processes), outputs
    results = [json.loads(out) for out, _ in outputs]
    assert sum(r["messages"] for r in results) == 16 and sum(r["sent"] for r in results) == 16
    received = sorted(m.envelope_to[0] for m in smtp.messages)
    assert received == sorted(f"owner{n}@example.gov.cn" for n in range(8))
    db.session.expire_all()
    assert db.session.scalar(select(func.count(Notification.id)).where(Notification.kind == "reminder")) == 8


def test_a_sender_killed_mid_drain_sends_the_rest_on_restart_and_nothing_twice(
        app, make, org, robot_server, database_url, tmp_path):
    robot(kind="webhook", url=robot_server.url + "/hook", unit=org.county_a)
    robot_server.answer = {"errcode": 0}
    owners_with_items(make, org, 8, "webhook")
    robot_server.hold_at = 5  # the fifth request hangs: the process is killed while it waits
    process = _remind_process(database_url, {"ROBOT_ALLOWED_HOSTS": "127.0.0.1"}, tmp_path)
    assert robot_server.holding.wait(60), process.stderr.read() if process.poll() is not None else "no fifth request"
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=10)  # reaps it and closes its pipes
    robot_server.release.set()
    db.session.expire_all()
    assert statuses() == {"sent": 4, "pending": 4}
    # The restarted sender: the killed one's claim runs out after its lease, then the rest go.
    after_lease = datetime.now(UTC) + services.LEASE + timedelta(seconds=1)
    assert services.drain(app.config, clock=lambda: after_lease).sent == 4
    recipients = [body["recipient"]["username"] for body in robot_server.acknowledged]
    assert sorted(recipients) == sorted(f"owner{n}" for n in range(8))  # each acknowledged exactly once
    assert statuses() == {"sent": 8}

