"""Attacks through the servers tracker talks to: robot addresses at internal services (in every
spelling), robots that redirect, answer with banners or trickle; mail servers that greet forever,
say nothing, or go silent after taking a message. Real sockets and real servers throughout."""

import re
import socket
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from tests.servers import HostileSMTP, InternalService, RedirectingRobot, RobotServer
from tests.test_reminder_sending import ZONE, D, owners_with_items, robot, statuses
from tracker.extensions import db
from tracker.reminders import jobs, rules, services
from tracker.reminders.models import Channel, ChatRobot, DeliveryAttempt, MessageStatus, OutboxMessage
from tracker.reminders.outbound import INTERNAL, AllowList

INTERNAL_URLS = [
    "http://127.0.0.1:6379/", "http://[::1]/hook", "http://169.254.169.254/latest/meta-data/", "http://0x7f000001/",
    "http://2130706433/", "http://127.1/", "http://10.0.0.5/robot", "http://192.168.1.20/", "http://localhost:5432/",
    "http://[::ffff:127.0.0.1]/", "http://0.0.0.0:8080/", "http://100.64.0.1/",
]


def _pass(app):
    services.run_pass(D, datetime.now(UTC), rules.current_rule(app.config), ZONE)
    db.session.commit()


# Robot addresses -------------------------------------------------------------------------------

@pytest.mark.parametrize("url", INTERNAL_URLS)
def test_an_admin_cannot_point_a_robot_at_an_internal_address(org, login, url):
    page = login(org.admin).post("/admin/robots", {"unit": org.city.id, "kind": "webhook", "name": "x", "url": url,
                                                   "active": "y"})
    assert page.status_code == 422
    assert INTERNAL in page.get_data(as_text=True)
    assert db.session.scalar(select(func.count(ChatRobot.id))) == 0


def test_public_addresses_and_allowed_hosts_may_be_saved(app, org, login):
    admin = login(org.admin)
    public = admin.post("/admin/robots", {"unit": org.city.id, "kind": "wecom", "url": "https://8.8.8.8/cgi-bin/webhook/send"})
    assert public.status_code == 302
    app.config["ROBOT_ALLOWED_HOSTS"] = "localhost, 10.20.0.0/16"
    for url in ("http://localhost:8080/hook", "http://10.20.3.4/robot/send"):
        assert admin.post("/admin/robots", {"unit": org.city.id, "kind": "webhook", "url": url}).status_code == 302
    assert admin.post("/admin/robots", {"unit": org.city.id, "kind": "webhook", "url": "http://10.21.0.1/"}).status_code == 422


def test_the_allow_list_reads_names_addresses_and_networks():
    allow = AllowList.parse(" Robot.Intranet.gov.cn., 10.8.0.0/16 ; 192.168.1.7 , [fd00::1]")
    assert allow.allows_name("robot.intranet.gov.cn") and not allow.allows_name("robot.intranet.gov.cn.evil")
    assert allow.allows_address("10.8.200.1") and allow.allows_address("192.168.1.7") and allow.allows_address("fd00::1")
    assert not allow.allows_address("192.168.1.8") and not allow.allows_address("::ffff:127.0.0.1")
    assert AllowList().allows_address("8.8.8.8") and not AllowList().allows_address("224.0.0.1")


@pytest.mark.parametrize("address", [
    "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
    "64:ff9b:1::a00:1",  # NAT64, local-use prefix: cannot be told
    "2002:7f00:1::",  # 6to4 of 127.0.0.1
    "2001:0:4136:e378:8000:63bf:f5ff:fffe",  # Teredo of 10.0.0.1
    "::7f00:1",  # IPv4-compatible 127.0.0.1
    "::ffff:0:7f00:1",  # IPv4-translated 127.0.0.1
    "::ffff:169.254.169.254",
])
def test_ipv6_spellings_of_internal_ipv4_addresses_are_refused(address):
    assert not AllowList().allows_address(address)


def test_ipv6_spellings_of_public_ipv4_addresses_are_judged_by_them():
    assert AllowList().allows_address("2002:808:808::1") and AllowList().allows_address("64:ff9b::808:808")


def test_a_robot_stored_before_the_check_is_refused_on_the_socket(app, make, org):
    """An address that passed when saved and resolves to an internal one when sending (DNS
    rebinding), or a row written straight into the database: the connected address decides."""
    with RobotServer() as server:
        robot(kind="webhook", url=server.url.replace("127.0.0.1", "localhost") + "/hook", unit=org.county_a)
        owners_with_items(make, org, 1, "webhook")
        jobs.remind(D)
        assert server.requests == []  # not one byte reached it
    message = db.session.scalar(select(OutboxMessage).where(OutboxMessage.channel == Channel.webhook))
    assert message.status is MessageStatus.failed and INTERNAL in message.last_error


def test_a_redirect_to_an_internal_service_is_not_followed(app, make, org, login):
    app.config["ROBOT_ALLOWED_HOSTS"] = "127.0.0.1"
    with InternalService() as internal, RedirectingRobot(internal.url) as redirecting:
        robot(kind="webhook", url=redirecting.url, unit=org.county_a)
        owners_with_items(make, org, 2, "webhook")
        jobs.remind(D)
        assert redirecting.requests == 2 and internal.requests == []  # the POST body was never replayed there
    details = db.session.scalars(select(DeliveryAttempt.detail)).all()
    assert details and all("重定向（HTTP 307）" in d for d in details)
    log = login(org.city_sup).get("/reminders/log").get_data(as_text=True)
    assert "SSH-2.0" not in log and "internal-db" not in log


def test_no_banner_or_error_text_of_the_other_side_reaches_the_send_log(app, make, org, login):
    """A port that speaks another protocol answers with its banner; requests puts it in its error."""
    app.config["ROBOT_ALLOWED_HOSTS"] = "127.0.0.1"
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)

    def banner():
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                conn.recv(65536)
                conn.sendall(InternalService.BANNER.encode() + b"\r\n")

    threading.Thread(target=banner, daemon=True).start()
    try:
        robot(kind="wecom", url=f"http://127.0.0.1:{listener.getsockname()[1]}/cgi-bin/webhook/send?key=k", unit=org.county_a)
        owners_with_items(make, org, 1, "wecom")
        jobs.remind(D)
    finally:
        listener.close()
    details = " ".join(db.session.scalars(select(DeliveryAttempt.detail)))
    assert details and "SSH" not in details and "password" not in details and "internal-db" not in details
    assert "无法连接企业微信机器人" in details


def test_a_robots_own_error_message_is_kept_short_and_plain(app, make, org):
    app.config["ROBOT_ALLOWED_HOSTS"] = "127.0.0.1"
    with RobotServer() as server:
        server.answer = {"errcode": 93000, "errmsg": "invalid webhook url\x1b[31m " + "x" * 500}
        robot(kind="wecom", url=server.url + "/send", unit=org.county_a)
        owners_with_items(make, org, 1, "wecom")
        jobs.remind(D)
    detail = db.session.scalar(select(DeliveryAttempt.detail))
    assert detail.startswith("企业微信机器人返回错误 93000：invalid webhook url") and "\x1b" not in detail
    assert len(detail) < 100


def test_a_title_cannot_make_links_in_robot_markdown(app, make, org):
    app.config["ROBOT_ALLOWED_HOSTS"] = "127.0.0.1"
    with RobotServer() as server:
        robot(kind="wecom", url=server.url + "/send", unit=org.county_a)
        owner = owners_with_items(make, org, 1, "wecom")[0]
        item = make.item(org.county_a, owner, deadline_days=(D - make.today).days,
                         title="执法](http://evil.example/) [点这里 <font color=\"warning\">**紧急**</font>")
        jobs.remind(D)
        content = server.requests[0][2]["markdown"]["content"]
    assert "](http://evil.example" not in content and "<font" not in content and "**紧急**" not in content
    # one link per line, ours: each item's reminder and its assignment under 近期动态
    assert len(re.findall(r"\]\(http://127\.0\.0\.1:5000/items/\d+\)", content)) == 4
    assert all(link.startswith("http://127.0.0.1:5000") for link in re.findall(r"\]\((.*?)\)", content))
    assert f"/items/{item.id})" in content and "执法］\\(http://evil.example/\\)" not in content


def test_a_slow_robot_is_bounded_by_the_drains_deadline(app, make, org):
    """A robot that takes a second per message, and a drain that may last two: what is left is
    handed back unclaimed, for the next drain, not held."""
    app.config["ROBOT_ALLOWED_HOSTS"] = "127.0.0.1"
    with RobotServer() as server:
        server.delay = 1.0
        robot(kind="webhook", url=server.url + "/hook", unit=org.county_a)
        owners_with_items(make, org, 8, "webhook")
        _pass(app)
        start = time.perf_counter()
        first = services.drain(app.config, channels=services.NOT_EMAIL, seconds=2)
        assert time.perf_counter() - start < 5
        assert 1 <= first.sent <= 4
        left = db.session.scalars(select(OutboxMessage).where(OutboxMessage.status == MessageStatus.pending)).all()
        assert len(left) == 8 - first.sent and all(m.claim is None for m in left)
        server.delay = 0
        assert services.drain(app.config, channels=services.NOT_EMAIL).sent == 8 - first.sent
    assert statuses() == {"sent": 8}


def test_a_robot_that_trickles_its_answer_is_cut_off(app, make, org):
    """A server that sends a byte of its answer every 0.3 s keeps every read within its timeout:
    only the deadline of the whole request ends it."""
    app.config.update({"ROBOT_ALLOWED_HOSTS": "127.0.0.1", "ROBOT_REQUEST_SECONDS": 2})
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    stop = threading.Event()

    def trickle():
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                conn.recv(65536)
                for byte in b"HTTP/1.1 200 OK\r\nX-Pad: " + b"a" * 1000:
                    if stop.wait(0.3):
                        return
                    try:
                        conn.sendall(bytes([byte]))
                    except OSError:
                        break

    threading.Thread(target=trickle, daemon=True).start()
    try:
        robot(kind="webhook", url=f"http://127.0.0.1:{listener.getsockname()[1]}/hook", unit=org.county_a)
        owners_with_items(make, org, 1, "webhook")
        _pass(app)
        start = time.perf_counter()
        drained = services.drain(app.config, channels=services.NOT_EMAIL)
        assert time.perf_counter() - start < 6
    finally:
        stop.set()
        listener.close()
    assert drained.retry == 1
    assert "无法连接通用 Webhook机器人" in db.session.scalar(select(DeliveryAttempt.detail))


# Mail servers ----------------------------------------------------------------------------------

@pytest.fixture
def quick_deadlines(app):
    app.config.update({"MAIL_TIMEOUT_SECONDS": 1, "MAIL_SESSION_SECONDS": 2, "MAIL_MESSAGE_SECONDS": 2,
                       "ROBOT_ALLOWED_HOSTS": "127.0.0.1"})


def test_endless_greeting_lines_cannot_hold_the_sender(app, make, org, quick_deadlines):
    """Before: an SMTP server sending 220- lines for ever hung the sender; no robot message went out."""
    with HostileSMTP("endless_greeting") as mail, RobotServer() as chat:
        app.config.update(mail.config())
        robot(kind="webhook", url=chat.url + "/hook", unit=org.county_a)
        owners_with_items(make, org, 3, "email,webhook")
        start = time.perf_counter()
        run = jobs.remind(D)
        elapsed = time.perf_counter() - start
    assert elapsed < 10  # one 2-second session deadline, then the other mails wait for the next drain
    assert len(chat.acknowledged) == 3  # the robots were not kept waiting
    assert run.drained.retry == 1 and run.drained.deferred == 2
    detail = db.session.scalar(select(DeliveryAttempt.detail).where(DeliveryAttempt.outcome == "retry"))
    assert "2秒内未完成连接和问候" in detail


def test_robots_go_out_while_the_email_drain_is_stuck(app, make, org):
    """The two drains run apart, as the scheduler runs them: a mail server that never answers holds
    only the email drain."""
    app.config.update({"MAIL_TIMEOUT_SECONDS": 30, "MAIL_SESSION_SECONDS": 6, "ROBOT_ALLOWED_HOSTS": "127.0.0.1"})
    with HostileSMTP("silent") as mail, RobotServer() as chat:
        app.config.update(mail.config())
        robot(kind="webhook", url=chat.url + "/hook", unit=org.county_a)
        owners_with_items(make, org, 3, "email,webhook")
        _pass(app)

        def email():
            with app.app_context():
                services.drain(app.config, channels=services.EMAIL)
                db.session.remove()

        stuck = threading.Thread(target=email)
        stuck.start()
        time.sleep(0.5)
        start = time.perf_counter()
        robots = services.drain(app.config, channels=services.NOT_EMAIL)
        assert time.perf_counter() - start < 3 and robots.sent == 3 and len(chat.acknowledged) == 3
        assert stuck.is_alive()  # still waiting on the mail server, and nobody waits on it
        stuck.join(15)
        assert mail.connections == 1  # one try per drain, not one per mail


def test_a_silence_after_the_body_is_unknown_and_resent_hours_later_with_the_same_id(app, make, org, quick_deadlines):
    """Before: the server had the mail, the sender recorded a retry, and sent it again a minute later."""
    with HostileSMTP("stall_after_data") as mail:
        app.config.update(mail.config())
        owners_with_items(make, org, 1, "email")
        _pass(app)
        start = datetime.now(UTC)
        first = services.drain(app.config, clock=lambda: start)
        assert first.unknown == 1 and len(mail.bodies) == 1
        message = db.session.scalar(select(OutboxMessage))
        assert message.status is MessageStatus.pending and message.attempts == 1
        assert message.next_attempt_at >= start + timedelta(hours=6)
        assert "可能已送达" in message.last_error
        for minutes in (1, 5, 60, 300):  # the usual backoff would have resent it at each of these
            assert services.drain(app.config, clock=lambda m=minutes: start + timedelta(minutes=m)).done == 0
        assert len(mail.bodies) == 1
        services.drain(app.config, clock=lambda: start + timedelta(hours=6, seconds=1))
        assert len(mail.bodies) == 2
    ids = [re.search(rb"Message-ID:\s*(<[^>]+>)", body, re.I).group(1) for body in mail.bodies]
    assert ids[0] == ids[1] and ids[0].startswith(b"<tracker.")


def test_the_send_log_says_unknown(app, make, org, login, quick_deadlines):
    with HostileSMTP("stall_after_data") as mail:
        app.config.update(mail.config())
        owners_with_items(make, org, 1, "email")
        jobs.remind(D)
    assert "结果未知" in login(org.city_sup).get("/reminders/log").get_data(as_text=True)


